"""The step tables' former O(K³) build, kept as a test oracle for the O(K²)
recurrence of shapley_sets.engines.rank_weighted (docs/math.md#step-tables):
an independent route to the same numbers, by walking every
Hypergeom(K − 1, m, s) pmf from its mode (terms below 1e-30 of the mode's
dropped, under 1e-26 of the sum)."""

import numpy as np
from numba import njit

_TAIL = 1e-30


@njit(cache=False)
def _hypergeometric_pair(cum, n_pop, m, d, pair):
    """The marginals of a top candidate and of one below under
    a ~ Hypergeom(n_pop, m, d) for the pair (m top others, coalition size d),
    and, when ``pair``, for (d top others, size m): the pmf is symmetric in
    its two arguments, so one walk serves both.

    Returns ``(top_md, bot_md, top_dm, bot_dm)`` with ``top_md`` =
    E[cum[d + 1, a + 1] - cum[d, a]], ``bot_md`` = E[cum[d + 1, a] - cum[d, a]]
    and the same with the rows m in place of d. The pmf is walked outwards
    from its mode by its ratio recurrence, starting from 1 and normalised by
    the total at the end: no factorials, no log-gamma, no overflow at any K.
    """
    n_fail = n_pop - m
    lo = max(0, d - n_fail)
    hi = min(d, m)
    mode = (d + 1) * (m + 1) // (n_pop + 2)
    mode = min(max(mode, lo), hi)
    total = 1.0
    top = cum[d + 1, mode + 1] - cum[d, mode]
    bot = cum[d + 1, mode] - cum[d, mode]
    top2 = 0.0
    bot2 = 0.0
    if pair:
        top2 = cum[m + 1, mode + 1] - cum[m, mode]
        bot2 = cum[m + 1, mode] - cum[m, mode]
    p = 1.0
    for a in range(mode, hi):
        p *= ((m - a) * (d - a)) / ((a + 1.0) * (n_fail - d + a + 1))
        if p < _TAIL:
            break
        total += p
        top += p * (cum[d + 1, a + 2] - cum[d, a + 1])
        bot += p * (cum[d + 1, a + 1] - cum[d, a + 1])
        if pair:
            top2 += p * (cum[m + 1, a + 2] - cum[m, a + 1])
            bot2 += p * (cum[m + 1, a + 1] - cum[m, a + 1])
    p = 1.0
    for a in range(mode, lo, -1):
        p *= (a * (n_fail - d + a)) / ((m - a + 1.0) * (d - a + 1))
        if p < _TAIL:
            break
        total += p
        top += p * (cum[d + 1, a] - cum[d, a - 1])
        bot += p * (cum[d + 1, a - 1] - cum[d, a - 1])
        if pair:
            top2 += p * (cum[m + 1, a] - cum[m, a - 1])
            bot2 += p * (cum[m + 1, a - 1] - cum[m, a - 1])
    return top / total, bot / total, top2 / total, bot2 / total


@njit(cache=False)
def _step_tables_kernel(cum, k, size_weights, uniform, p_top, p_bot):
    # Serial on purpose: numba threads are reserved for independent sets, and
    # the tables are built once per (weights, K, weighting) and cached.
    # ``uniform``: the Shapley value's p_K(s) = 1/K, summed then divided once.
    # With m of the K - 1 others in the top and a coalition of s, one walk of
    # Hypergeom(K - 1, m, s) serves the top candidate of step m + 1 and the
    # one below step m, and, the pmf being symmetric in (m, s), the same for
    # (s, m): a quarter of the walks of one per (step, kind, size).
    # Sizes whose weight is below _TAIL of the largest are skipped, as the
    # hypergeometric tails are: leave-one-out reads one size, Banzhaf the
    # O(sqrt K) sizes around K/2.
    cut = 0.0
    if not uniform:
        for s in range(k):
            cut = max(cut, size_weights[s])
        cut *= _TAIL
    top = np.zeros(k + 1)
    bot = np.zeros(k + 1)
    for m in range(k):
        wm = 1.0 if uniform else size_weights[m]
        use_m = wm != 0.0 and wm >= cut
        for s in range(m, k):
            ws = 1.0 if uniform else size_weights[s]
            use_s = ws != 0.0 and ws >= cut
            pair = use_m and s != m
            if not (use_s or pair):
                continue
            t, b, t2, b2 = _hypergeometric_pair(cum, k - 1, m, s, pair)
            if use_s:  # m top others, coalition of s
                top[m + 1] += ws * t
                bot[m] += ws * b
            if pair:  # s top others, coalition of m
                top[s + 1] += wm * t2
                bot[s] += wm * b2
    for j in range(1, k + 1):
        p_top[j] = top[j] / k if uniform else top[j]
        p_bot[j] = bot[j] / k if uniform else bot[j]
    p_bot[k] = 0.0


def hypergeometric_step_tables(weights, k, size_weights=None):
    """``(P_top, P_bot)`` by the hypergeometric walks, O(K³)."""
    cum = np.zeros((k + 1, k + 2))
    cum[:, : k + 1] = np.cumsum(np.asarray(weights, dtype=float)[: k + 1, : k + 1], axis=1)
    cum[:, k + 1] = cum[:, k]
    p_top = np.zeros(k + 1)
    p_bot = np.zeros(k + 1)
    uniform = size_weights is None
    sizes = np.zeros(k) if uniform else np.ascontiguousarray(size_weights, dtype=np.float64)
    _step_tables_kernel(cum, k, sizes, uniform, p_top, p_bot)
    return p_top, p_bot
