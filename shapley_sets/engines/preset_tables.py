"""Step tables of the RankWeighted presets in closed form: O(K) or O(K²)
per (K, weighting), without the (K + 1)² weight table that the general
O(K²) build reads (docs/math.md, "Step tables of the presets").

``P_top[j] = Σ_s p_K(s) E[W(s+1, a+1) − W(s, a)]`` with a the number of
top-j candidates in a random coalition of size s, and ``P_bot`` likewise
(see :func:`shapley_sets.engines.rank_weighted.step_tables`). For the
presets ``W`` is simple enough that these expectations have closed forms:

- mean, ``W(s, a) = a/s``: only ``E[a] = s·M/(K−1)`` is needed;
- worst-of, ``W(s, a) = [a = s >= 1]``: only ``P(a = s)`` is needed;
- top-m mean: the mean below m and the top-m sum's shares above it;
- discounted, ``W(s, a) = D(a)``: the law of a mixed over s, which for a
  probabilistic weighting is the beta-binomial (binomial, point mass) law
  of the number of the j − 1 others that join.
"""

from __future__ import annotations

import numpy as np
from .._jit import njit

from ..utilities.rank_weighted import _Discounted, _Mean, _TopMMean, _WorstOf

__all__ = ["preset_step_tables"]

# Terms of the walked pmf below this fraction of its mode are dropped, as in
# the general build (they add under 1e-26 of the sum).
_TAIL = 1e-30


def preset_step_tables(weights, k: int, weighting):
    """``(P_top, P_bot)`` of a preset weight object for sets of K, or None
    when there is no closed form for this (preset, weighting)."""
    kind = type(weights)
    if kind is _TopMMean and weights.m >= k:
        kind = _Mean  # every size up to K counts all its scores
    if kind is _Mean:
        return _mean(k, _sizes(weighting, k))
    if kind is _WorstOf:
        return _worst_of(k, _sizes(weighting, k))
    if kind is _TopMMean and weighting.probabilistic:
        return _top_m_mean(k, weights.m, weighting)
    if kind is _Discounted and weighting.probabilistic:
        return _discounted(k, weights.discounts(k), weighting)
    return None


def _sizes(weighting, k):
    return np.full(k, 1.0 / k) if weighting.is_shapley else weighting.size_weights(k)


def _mean(k, p):
    # Marginal of i to T, |T| = s: x_i/(s+1) − sum_T/(s(s+1)), and
    # E[sum_T] = s/(K−1) Σ_{l≠i} x_l: φ_i = A x_i − B Σ_{l≠i} x_l, which in
    # steps reads P_top[j] = A − B (j − 1), P_bot[j] = −B j.
    s = np.arange(k, dtype=np.float64)
    a = float(np.sum(p / (s + 1)))
    b = float(np.sum(p[1:] / (s[1:] + 1))) / (k - 1) if k > 1 else 0.0
    j = np.arange(k + 1, dtype=np.float64)
    top = a - b * (j - 1)
    bot = -b * j
    top[0] = bot[0] = bot[k] = 0.0
    return top, bot


def _worst_of(k, p):
    # A top-j candidate adds 1 only to the empty coalition; a candidate below
    # removes 1 from a non-empty coalition inside the top j, which has
    # probability C(j, s)/C(K−1, s) at size s: a running product over s.
    top = np.full(k + 1, float(p[0]))
    top[0] = 0.0
    bot = np.zeros(k + 1)
    n = k - 1
    j = np.arange(k + 1, dtype=np.float64)
    inside = np.ones(k + 1)
    for s in range(1, k):
        inside = inside * np.maximum(j - (s - 1), 0.0) / (n - (s - 1))
        if not inside[s:k].any():
            break
        bot -= p[s] * inside
    bot[0] = bot[k] = 0.0
    return top, bot


def _top_m_mean(k, m, weighting):
    # Sizes s < m are means of s + 1 <= m scores; at s >= m a top candidate
    # adds 1/m when fewer than m of the top j − 1 others are in, which
    # summed over all s is the top-m sum's share (the sizes below m, where
    # it always holds, taken back out).
    from .rank_weighted import _top_m_tables

    p = _sizes(weighting, k)
    n = k - 1
    share = _top_m_tables(k, m, weighting)[0]
    s = np.arange(m, dtype=np.float64)
    below = p[:m]
    mean_part = float(np.sum(below[1:] / (s[1:] + 1)))
    j = np.arange(k + 1, dtype=np.float64)
    top = below[0] + mean_part - (j - 1) / n * mean_part + (share - float(np.sum(below))) / m
    bot = -(j / n) * mean_part
    top[0] = bot[0] = bot[k] = 0.0
    return top, bot


def _discounted(k, d, weighting):
    # W(s, a) = D(a) = d_1 + … + d_a whatever s: a top candidate adds
    # d_{a+1}, one below adds nothing, and a is the number of the j − 1
    # other top candidates that join: P_top[j] = E[d_{a+1}].
    top = np.zeros(k + 1)
    bot = np.zeros(k + 1)
    d = np.ascontiguousarray(d, dtype=np.float64)
    if weighting.is_shapley:  # a is uniform on 0..j−1
        top[1:] = np.cumsum(d) / np.arange(1, k + 1)
    elif weighting.kind == "loo":  # all j − 1 join
        top[1:] = d
    elif weighting.kind == "banzhaf":
        _mixed_discounts(d, 0.0, 0.0, True, top)
    else:
        _mixed_discounts(d, weighting.alpha, weighting.beta, False, top)
    return top, bot


@njit(cache=True)
def _mixed_discounts(d, alpha, beta, binomial_half, top):
    """``top[j] = E[d[a]]`` (0-based d: d[a] is d_{a+1}), a ~ Binomial(j − 1,
    1/2) or BetaBinomial(j − 1, α, β), for j = 1..K: each pmf walked out from
    its mode by its ratio recurrence and normalised (no factorials).

    With α < 1 and β < 1 the beta-binomial is U-shaped: the "mode" found is
    its least term, and each end may outweigh it by any factor (about 1/α),
    so neither walk may stop early on the total the other has gathered."""
    k = d.shape[0]
    can_stop = binomial_half or not (alpha < 1.0 and beta < 1.0)
    for j in range(1, k + 1):
        n = j - 1
        if binomial_half:
            mode = n // 2
        else:
            # the beta-binomial's mode is near n·(α − 1)/(α + β − 2), clamped
            guess = (n * (alpha - 1.0)) / (alpha + beta - 2.0) if alpha + beta != 2.0 else n / 2.0
            mode = int(min(max(guess, 0.0), float(n)))
        total = 1.0
        acc = d[mode]
        p = 1.0
        for a in range(mode, n):
            if binomial_half:
                p *= (n - a) / (a + 1.0)
            else:
                p *= ((n - a) * (a + alpha)) / ((a + 1.0) * (n - a - 1.0 + beta))
            if can_stop and p < _TAIL * total:
                break
            total += p
            acc += p * d[a + 1]
        p = 1.0
        for a in range(mode, 0, -1):
            if binomial_half:
                p *= a / (n - a + 1.0)
            else:
                p *= (a * (n - a + beta)) / ((n - a + 1.0) * (a - 1.0 + alpha))
            if can_stop and p < _TAIL * total:
                break
            total += p
            acc += p * d[a - 1]
        top[j] = acc / total
