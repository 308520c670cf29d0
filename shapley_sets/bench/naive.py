"""Straightforward vectorised numpy implementations of the closed forms.

What one would write without numba: the same formulas as the engines
(docs/math.md), sorting and prefix sums over whole ``(n, K)`` arrays. The
benchmark times them beside ``ss.shapley`` and checks that both agree; they
take no mask (every candidate present) and do not validate their input.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.stats import hypergeom

__all__ = [
    "grpo_normalise",
    "best_of",
    "top_k",
    "rank_weighted",
    "rank_weighted_tables",
    "any_success",
    "expected_best",
    "pairwise",
    "additive",
]


def grpo_normalise(x: np.ndarray) -> np.ndarray:
    """Plain GRPO's per-group normalisation of ``(n, G)`` rewards, the
    baseline cost every engine is compared with.

    Examples:
        >>> import numpy as np
        >>> from shapley_sets.bench import naive
        >>> naive.grpo_normalise(np.array([[1.0, 2.0, 3.0]])).tolist()
        [[-1.0, 0.0, 1.0]]
    """
    return (x - x.mean(1, keepdims=True)) / x.std(1, ddof=1, keepdims=True)


def _scatter(order: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    out = np.empty_like(sorted_values)
    np.put_along_axis(out, order, sorted_values, axis=-1)
    return out


def best_of(x: np.ndarray, floor=0.0) -> np.ndarray:
    """Airport-game Shapley values of ``max(floor, max_S x)`` for ``(..., K)``
    scores; ``floor`` broadcasts against ``x[..., :1]``.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> naive.best_of(np.array([1.0, 3.0, 2.0])).round(4).tolist()
        [0.3333, 1.8333, 0.8333]
    """
    y = np.maximum(x - floor, 0.0)
    k = y.shape[-1]
    order = np.argsort(y, axis=-1)
    ys = np.take_along_axis(y, order, axis=-1)
    steps = np.diff(ys, axis=-1, prepend=0.0)
    shares = np.cumsum(steps / np.arange(k, 0, -1), axis=-1)
    return _scatter(order, shares)


def top_k(x: np.ndarray, m: int) -> np.ndarray:
    """Shapley values of the sum of the ``m`` largest scores (docs/math.md#top-m-closed-form).

    Examples:
        >>> from shapley_sets.bench import naive
        >>> naive.top_k(np.array([1.0, 3.0, 2.0]), 3).tolist()
        [1.0, 3.0, 2.0]
    """
    k = x.shape[-1]
    order = np.argsort(-x, axis=-1)
    xs = np.take_along_axis(x, order, axis=-1)
    deltas = xs - np.concatenate([xs[..., 1:], np.zeros_like(xs[..., :1])], axis=-1)
    j = np.arange(1, k + 1)
    weighted = deltas * (np.minimum(m, j) / j)
    # phi at sorted position i sums the steps j >= i: a reversed cumsum.
    shares = np.cumsum(weighted[..., ::-1], axis=-1)[..., ::-1]
    return _scatter(order, shares)


@functools.lru_cache(maxsize=64)
def rank_weighted_tables(k: int, weights) -> tuple[np.ndarray, np.ndarray]:
    """``P_top``, ``P_bot`` (index j = 1..K at position j-1) of the step games
    of a rank-weighted utility, ``weights(s, r)`` for 1 <= r <= s <= K.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> top, bot = naive.rank_weighted_tables(3, lambda s, r: float(r == 1))
        >>> top.round(4).tolist(), bot.round(4).tolist()
        ([1.0, 0.5, 0.3333], [0.0, 0.0, 0.0])
    """
    w = np.zeros((k + 1, k + 1))
    for s in range(1, k + 1):
        for r in range(1, s + 1):
            w[s, r] = float(weights(s, r))
    # W[s, a] = sum of w(s, r) over r <= min(a, s); a runs 0..K+1.
    cum = np.zeros((k + 1, k + 2))
    cum[:, 1 : k + 1] = np.cumsum(w[:, 1:], axis=1)
    cum[:, k + 1] = cum[:, k]
    sizes = np.arange(k)[:, None]
    a = np.arange(k + 1)[None, :]
    p_top = np.empty(k)
    p_bot = np.empty(k)
    for j in range(1, k + 1):
        h_top = hypergeom.pmf(a, k - 1, j - 1, sizes)
        h_bot = hypergeom.pmf(a, k - 1, j, sizes)
        gain_top = cum[sizes + 1, np.minimum(a + 1, k + 1)] - cum[sizes, a]
        gain_bot = cum[sizes + 1, a] - cum[sizes, a]
        p_top[j - 1] = np.nansum(h_top * gain_top) / k
        p_bot[j - 1] = np.nansum(h_bot * gain_bot) / k
    return p_top, p_bot


def rank_weighted(x: np.ndarray, weights) -> np.ndarray:
    """Shapley values of ``Σ_r weights(|S|, r) · (r-th largest score in S)``
    by the step decomposition, tables cached per K (docs/math.md#step-decomposition).

    Examples:
        >>> from shapley_sets.bench import naive
        >>> naive.rank_weighted(np.array([1.0, 3.0, 2.0]), lambda s, r: float(r == 1)).round(4).tolist()
        [0.3333, 1.8333, 0.8333]
    """
    k = x.shape[-1]
    p_top, p_bot = rank_weighted_tables(k, weights)
    order = np.argsort(-x, axis=-1)
    xs = np.take_along_axis(x, order, axis=-1)
    deltas = xs - np.concatenate([xs[..., 1:], np.zeros_like(xs[..., :1])], axis=-1)
    above = np.cumsum((deltas * p_top)[..., ::-1], axis=-1)[..., ::-1]
    below = np.cumsum(deltas * p_bot, axis=-1) - deltas * p_bot
    return _scatter(order, above + below)


def any_success(p: np.ndarray) -> np.ndarray:
    """Shapley values of ``1 - Π_S (1 - p_j)``: ``p_i ∫ Π_{j≠i} (1 - t p_j) dt``
    by Gauss-Legendre on ``ceil(K/2)`` nodes, leave-one-out products from
    prefix and suffix products.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> naive.any_success(np.array([1.0, 1.0, 0.0])).round(6).tolist()
        [0.5, 0.5, 0.0]
    """
    k = p.shape[-1]
    nodes, node_weights = np.polynomial.legendre.leggauss(max(1, (k + 1) // 2))
    t = (nodes + 1.0) / 2.0
    factors = 1.0 - t.reshape((-1,) + (1,) * p.ndim) * p
    ones = np.ones_like(factors[..., :1])
    before = np.cumprod(np.concatenate([ones, factors[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, factors[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    integral = np.tensordot(node_weights / 2.0, before * after, axes=1)
    return p * integral


def expected_any_success(p: np.ndarray, weights) -> np.ndarray:
    """Shapley values of ``Σ_u π_u (1 − Π_S (1 − p_uj))`` for ``(..., M, K)``
    probabilities: the π-weighted sum of the user types' :func:`any_success`.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> p = np.array([[0.9, 0.0, 0.5], [0.0, 0.9, 0.5]])
        >>> naive.expected_any_success(p, [0.5, 0.5]).round(4).tolist()
        [0.3375, 0.3375, 0.275]
    """
    return np.einsum("...mk,m->...k", any_success(p), np.asarray(weights, dtype=np.float64))


def expected_best(x: np.ndarray, weights, floors) -> np.ndarray:
    """Shapley values of ``Σ_u π_u max(b_u, max_S x_u)`` for ``(..., M, K)``
    scores: the π-weighted sum of the user types' airport games.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> x = np.array([[1.0, 3.0, 2.0], [2.0, 0.0, 0.0]])
        >>> naive.expected_best(x, [0.5, 0.5], [0.0, 0.0]).round(4).tolist()
        [1.1667, 0.9167, 0.4167]
    """
    floors = np.asarray(floors, dtype=np.float64)[:, None]
    per_type = best_of(x, floors)
    return np.einsum("...mk,m->...k", per_type, np.asarray(weights, dtype=np.float64))


def pairwise(q: np.ndarray, distances: np.ndarray, lam: float) -> np.ndarray:
    """Shapley values of ``Σ_S q_j − λ Σ_{i<j∈S} D_ij``: ``q_i − (λ/2) Σ_{j≠i} D_ij``.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> d = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> naive.pairwise(np.array([1.0, 2.0]), d, 0.5).tolist()
        [0.75, 1.75]
    """
    off_diagonal = distances.sum(-1) - np.diagonal(distances, axis1=-2, axis2=-1)
    return q - 0.5 * lam * off_diagonal


def additive(x: np.ndarray) -> np.ndarray:
    """Shapley values of ``Σ_S x_j``: ``x`` itself.

    Examples:
        >>> from shapley_sets.bench import naive
        >>> naive.additive(np.array([1.0, -2.0])).tolist()
        [1.0, -2.0]
    """
    return np.array(x, dtype=np.float64, copy=True)
