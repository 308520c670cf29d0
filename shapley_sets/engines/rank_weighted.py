"""Rank-weighted utilities in O(K log K) per set: the step decomposition
(docs/math.md#rank-weighted-utilities; every semivalue, docs/math.md#semivalues).

Sorted decreasingly, a set's scores are a sum of steps
``Δ_j · (1, …, 1, 0, …, 0)`` (j ones); a rank-weighted utility is linear in
the sorted scores, so a candidate's Shapley value is the same sum of its
values in the step games. In step game j there are two kinds of player (in
the top j or not), so its Shapley values are two numbers, ``P_top[j]`` and
``P_bot[j]``, that depend only on (K, weights): tables built once and cached.
Each set then costs a sort and two prefix sums.

A semivalue weights the coalitions of size s by p_K(s) instead of the
Shapley value's 1/K: the same tables with other size weights.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import prange

from .._cache import ByteCache, also_clear
from .._jit import njit
from ..utilities.rank_weighted import _PRESETS, RankWeighted, TopK, _TopMSum
from ._kernels import SETS_PER_TASK, kernel_input, rank_buffer_length, rank_into, run_in_chunks
from .preset_tables import preset_step_tables
from .weights import SHAPLEY

__all__ = [
    "rank_weighted_semivalue",
    "rank_weighted_shapley",
    "step_tables",
    "top_k_semivalue",
    "top_k_shapley",
    "top_m_kernel",
    "top_m_shares",
]

#: The weighting kinds the rank-weighted engines serve (all of them).
WEIGHTINGS = ("shapley", "banzhaf", "loo", "beta", "sizes")

# Step tables per (utility, K, weighting): 16 (K + 1) bytes each, so the
# bound holds every size of a ragged batch up to K ~ 4000 at once.
_TABLE_CACHE = ByteCache("rank-weighted step tables", 256 << 20)


def _read_only(*tables):
    # numba compiles read-only and writable arrays separately: every table
    # reaches the kernel read-only (as the caches hand them out), so that
    # one compiled specialisation serves every call. Cached tables must not
    # be written anyway.
    for table in tables:
        table.flags.writeable = False


@njit(cache=True)
def _step_tables_kernel(weights, k, size_weights, uniform, p_top, p_bot):
    """``P_top``, ``P_bot`` of the weight table ``weights[s, r]`` (read at
    1 <= r <= s <= K only) for sets of K, with size weights p_K(s) (unused
    when ``uniform``: the Shapley value's 1/K, summed then divided once).
    O(K²) time, O(K) memory besides the weights (docs/math.md#step-tables).

    With M of the n = K − 1 others in the top, F(M) = Σ_s p_K(s) E[h(s, a)],
    a ~ Hypergeom(n, M, s), for h(s, a) = W(s+1, a+1) − W(s, a) (top player,
    M = j − 1) and W(s+1, a) − W(s, a) (bottom player, M = j). Removing the n
    others one at a time, in a uniformly random order, leaves a uniformly
    random coalition of every size s, and the number of top members then
    falls from c to c − 1 with chance c / s: so
    ``R_s(c) = p_K(s) h(s, c) + ((s − c) R_{s−1}(c) + c R_{s−1}(c − 1)) / s``
    and F(M) = R_n(M). Each step is a convex mix of the previous row (no
    factorials, nothing to overflow, no cancellation but the weights' own).
    """
    # Serial on purpose: numba threads are reserved for independent sets, and
    # the tables are built once per (weights, K, weighting) and cached.
    start = 0
    if not uniform:
        while start < k and size_weights[start] == 0.0:
            start += 1  # R_s = 0 below the first size that counts (loo: one row)
    top = np.zeros(k + 1)  # R_s(c) of the top player's h, c = 0..s
    bot = np.zeros(k + 1)
    lo = np.zeros(k + 2)   # W(s, a), a = 0..s + 1 (W(s, a) = W(s, s) for a > s)
    hi = np.zeros(k + 2)   # W(s + 1, a)
    acc = 0.0
    for r in range(1, start + 1):
        acc += weights[start, r]
        lo[r] = acc
    lo[start + 1] = acc
    for s in range(start, k):
        acc = 0.0
        for r in range(1, s + 2):
            acc += weights[s + 1, r]
            hi[r] = acc
        hi[s + 2] = acc
        ws = 1.0 if uniform else size_weights[s]
        # c descending: R_{s−1}(c) and R_{s−1}(c − 1) are read before they
        # are overwritten (R_{s−1}(s) = 0).
        for c in range(s, 0, -1):
            top[c] = ws * (hi[c + 1] - lo[c]) + ((s - c) * top[c] + c * top[c - 1]) / s
            bot[c] = ws * (hi[c] - lo[c]) + ((s - c) * bot[c] + c * bot[c - 1]) / s
        top[0] = ws * (hi[1] - lo[0]) + top[0]
        bot[0] = ws * (hi[0] - lo[0]) + bot[0]
        lo, hi = hi, lo
    for j in range(1, k + 1):
        p_top[j] = top[j - 1] / k if uniform else top[j - 1]
        p_bot[j] = bot[j] / k if uniform else bot[j]
    p_bot[k] = 0.0


def step_tables(u: RankWeighted, k: int, weighting=SHAPLEY) -> tuple[np.ndarray, np.ndarray]:
    """The step-game Shapley (or semivalue) tables ``(P_top, P_bot)`` of ``u``
    for sets of K.

    ``P_top[j]`` (``P_bot[j]``) is the Shapley value, in the step game
    ``U_j(S) = W(|S|, |S ∩ {1..j}|)``, ``W(s, a) = Σ_{k <= a} w(s, k)``, of a
    candidate inside (outside) the top j; index 0 is unused and
    ``P_bot[K] = 0``. Built in O(K²) from size-stratified hypergeometric
    means weighted by the size weights p_K(s), by a recurrence over the
    sizes (docs/math.md#step-tables), or in O(K) to O(K²) by the presets'
    closed forms (:mod:`shapley_sets.engines.preset_tables`); cached per
    (u, K, weighting) in a cache bounded in bytes (``ss.clear_caches``).

    Args:
        u: a :class:`~shapley_sets.RankWeighted` utility.
        k: the number of present candidates, an int >= 1.
        weighting: a :class:`~shapley_sets.engines.weights.Weighting`
            (default the Shapley value).

    Returns:
        Two read-only float64 arrays of length ``k + 1``.

    Raises:
        ValueError, TypeError: the weights cannot be evaluated up to K (see
            :class:`~shapley_sets.RankWeighted`).

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.engines.rank_weighted import step_tables
        >>> top, bot = step_tables(ss.RankWeighted.mean(), 2)
        >>> top.tolist(), bot.tolist()
        ([0.0, 0.75, 0.5], [0.0, -0.25, 0.0])
    """
    return _step_tables(u, int(k), weighting)


def _step_tables(u: RankWeighted, k: int, weighting, table: np.ndarray | None = None):
    """:func:`step_tables`, reading the weights from ``table`` (``u``'s weight
    table for sets of K or more) when given."""
    key = (u, k, weighting)
    cached = _TABLE_CACHE.get(key)
    if cached is not None:
        return cached
    tables = None
    if type(u.weights) in _PRESETS:
        tables = preset_step_tables(u.weights, k, weighting)
        if tables is not None:
            _read_only(*tables)
    if tables is None:
        size_weights = None if weighting.is_shapley else weighting.size_weights(k)
        tables = _build_step_tables(_kernel_weights(u, k) if table is None else table, k,
                                    size_weights)
    _TABLE_CACHE.put(key, tables)
    return tables


def _kernel_weights(u: RankWeighted, k: int) -> np.ndarray:
    """A C-contiguous read-only array holding w(s, r) at 1 <= r <= s <= K
    (other entries unread, so never copied into a zeroed table)."""
    w = u.weights
    if isinstance(w, np.ndarray):  # private, read-only, finite where read
        u._check_shape(k)
        return _kernel_array(w)
    table = u.weight_table(k)
    # weight_table slices the largest table evaluated so far: its base
    # serves every smaller K without a copy.
    base = table.base
    if (not table.flags.c_contiguous and isinstance(base, np.ndarray) and base.ndim == 2
            and base.flags.c_contiguous and base.shape[0] > k and base.shape[1] > k
            and np.shares_memory(base, table)):
        return _kernel_array(base)
    return _kernel_array(table)


def _build_step_tables(weights: np.ndarray, k: int,
                       size_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Step tables of the weight table ``weights[s, r]`` (at least
    ``(k + 1, k + 1)``; only 1 <= r <= s <= k is read) for sets of K, with
    size weights p_K(s) (None: the Shapley value's 1/K)."""
    if weights.shape[0] < k + 1 or weights.shape[1] < k + 1:
        raise ValueError(f"a weight table for sets of K = {k} needs shape ({k + 1}, {k + 1}), "
                         f"got {weights.shape}")
    p_top = np.zeros(k + 1)
    p_bot = np.zeros(k + 1)
    if k >= 1:
        uniform = size_weights is None
        sizes = _NO_TABLE if uniform else _kernel_array(size_weights)
        _step_tables_kernel(_kernel_array(weights), k, sizes, uniform, p_top, p_bot)
    _read_only(p_top, p_bot)
    return p_top, p_bot


def _kernel_array(values) -> np.ndarray:
    # One compiled specialisation per rank: C-contiguous, read-only float64.
    arr = np.asarray(values)
    if arr.dtype != np.float64 or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


@njit(cache=True)
def _needed_sizes(mask):
    """``needed[c]`` is True iff some set has exactly c present candidates."""
    n, k = mask.shape
    needed = np.zeros(k + 1, dtype=np.bool_)
    for s in range(n):
        c = 0
        for j in range(k):
            c += mask[s, j]
        needed[c] = True
    return needed


@njit(cache=True)
def _step_chunk(x, mask, floor, clip, p_top, p_bot, offsets, has_bottom, out, start, stop):
    """Shapley values of sets ``start..stop`` from their steps and the step
    tables of their sizes: ``p_top[offsets[c] + p]`` is the table entry of
    position p in a set of c present candidates (``p_bot`` likewise, read
    only when ``has_bottom``: a top-m sum's steps give nothing to the
    candidates below them).

    Scores are taken relative to ``floor`` and, with ``clip``, floored at 0:
    best-of with a floor is the top-1 sum of those gains.
    """
    # Gathering and scattering are written out here, not in helpers: inlined
    # helpers measured about 20% slower at K = 16.
    k = x.shape[1]
    values = np.empty(rank_buffer_length(k))
    columns = np.empty(k, dtype=np.int64)
    ordered = np.empty(k)
    rank = np.empty(k, dtype=np.int64)
    steps = np.empty(k)
    result = np.empty(k)
    for s in range(start, stop):
        count = 0
        for j in range(k):
            count += mask[s, j]
        if count == k:  # a full set: no columns to keep
            for j in range(k):
                g = x[s, j] - floor
                values[j] = g if (g > 0.0 or not clip) else 0.0
        else:
            for j in range(k):
                out[s, j] = 0.0
            if count == 0:
                continue
            count = 0
            for j in range(k):
                if mask[s, j]:
                    g = x[s, j] - floor
                    values[count] = g if (g > 0.0 or not clip) else 0.0
                    columns[count] = j
                    count += 1
        rank_into(values, count, ordered, rank)
        base = offsets[count]
        # Ascending rank r is decreasing position p = count - r; the step
        # below position p is Δ_p = x_p - x_{p+1}, with x_{count+1} = 0.
        # A candidate is inside the top of the steps at and below it...
        above = 0.0
        previous = 0.0
        for r in range(count):
            step = ordered[r] - previous
            previous = ordered[r]
            steps[r] = step
            above += step * p_top[base + count - r]
            result[r] = above
        # ...and outside the top of the steps above it.
        if has_bottom:
            below = 0.0
            for r in range(count - 1, -1, -1):
                result[r] += below
                below += steps[r] * p_bot[base + count - r]
        if count == k:
            for i in range(k):
                out[s, i] = result[rank[i]]
        else:
            for i in range(count):
                out[s, columns[i]] = result[rank[i]]


@njit(cache=True, parallel=True)
def _step_kernel(x, mask, floor, clip, p_top, p_bot, offsets, has_bottom, out):
    n = x.shape[0]
    for task in prange((n + SETS_PER_TASK - 1) // SETS_PER_TASK):
        _step_chunk(x, mask, floor, clip, p_top, p_bot, offsets, has_bottom, out,
                    task * SETS_PER_TASK, min(n, (task + 1) * SETS_PER_TASK))


_NO_TABLE = np.zeros(0)
_read_only(_NO_TABLE)


def _run_steps(x2d, mask2d, p_top, p_bot, offsets, floor=0.0, clip=False):
    """Run the step kernel; ``p_bot=None`` for utilities whose steps give
    nothing to the candidates below them (top-m sums)."""
    out = np.empty(x2d.shape)
    if x2d.size:
        has_bottom = p_bot is not None
        run_in_chunks(_step_chunk, _step_kernel, x2d.shape[0], x2d, mask2d,
                      float(floor), bool(clip), p_top,
                      p_bot if has_bottom else _NO_TABLE, offsets, has_bottom, out)
    return out


def _as_2d(x, mask):
    k = x.shape[-1]
    return kernel_input(x.reshape(-1, k)), mask.reshape(-1, k)


def top_m_kernel(x2d: np.ndarray, mask2d: np.ndarray, m: int, floor: float = 0.0,
                 clip: bool = False, weighting=SHAPLEY) -> np.ndarray:
    """Top-m-sum semivalues of C-contiguous ``(n, K)`` scores from their step
    shares (closed forms, no table build, for the probabilistic weightings).

    The scores used are ``x - floor``, floored at 0 when ``clip``; with
    ``m = 1`` and ``clip`` this is best-of with a floor (for the Shapley
    value the airport game, bit for bit: a step shared by q candidates adds
    ``step * (1 / q)``).
    """
    share_of, offsets = top_m_shares(x2d.shape[1], mask2d, int(m), weighting)
    return _run_steps(x2d, mask2d, share_of, None, offsets, floor, clip)


def top_m_shares(k: int, mask2d, m: int, weighting):
    """``(share_of, offsets)`` of the top-m sum of sets of up to K = ``k``
    candidates: ``share_of[offsets[c] + j]`` is what the step below position
    j gives each of the j candidates above it, in a set of c present
    candidates (``mask2d``, ``(n, K)``, says which sizes occur)."""
    sizes = _present_sizes(mask2d) if not weighting.probabilistic else None
    if not sizes:  # one table for every size (or no set to read one)
        return _top_m_tables(k, m, weighting if weighting.probabilistic else SHAPLEY)
    # A caller's size weights depend on the set's size: one step table each.
    p_top, _, offsets = _tables_per_size(RankWeighted.top_m_sum(m), sizes, k, weighting,
                                         bottom=False)
    return p_top, offsets


@functools.lru_cache(maxsize=64)
def _top_m_tables(k: int, m: int, weighting=SHAPLEY) -> tuple[np.ndarray, np.ndarray]:
    # The top-m sum's step tables in closed form: the step below position j
    # counts for a candidate above it when fewer than m of the other j - 1
    # above it are in the coalition; those below get nothing. For a
    # probabilistic weighting each other candidate joins with probability t,
    # so the share is E_t[P(Binomial(j - 1, t) < m)], whatever the set's size:
    # one table serves every set size. Cached: a call on one set should not
    # pay for building it.
    if weighting.is_shapley:
        q = np.arange(k + 1, dtype=np.float64)
        q[0] = 1.0
        share_of = np.where(q <= m, 1.0, m / q)  # E_t over Uniform(0, 1): min(m, j) / j
    elif m == 1:
        share_of = np.array(weighting.absent_chance(k))
    else:
        others = np.arange(-1, k)  # j - 1 for j = 0..k (j = 0 unused)
        others[0] = 0
        if weighting.kind == "banzhaf":
            # bdtr is NaN where n < m - 1 (the cdf is 1 there)
            from scipy import special  # ~0.2 s to import: only here, not at import

            share_of = np.where(others < m, 1.0, special.bdtr(m - 1, np.maximum(others, m), 0.5))
        elif weighting.kind == "loo":
            share_of = (others < m).astype(np.float64)
        else:
            share_of = _beta_binomial_cdf(m - 1, others, weighting)
    offsets = np.zeros(k + 1, dtype=np.int64)
    _read_only(share_of, offsets)
    return share_of, offsets


also_clear(_top_m_tables.cache_clear)


def _beta_binomial_cdf(top: int, n: np.ndarray, weighting) -> np.ndarray:
    """P(BetaBinomial(n, α, β) <= top) for every n of ``n``, by the pmf's
    ratio recurrence from pmf(0; n) = E[(1 − t)^n] (never underflows: it
    decays like a power of n), as accurate as the pmf recurrence."""
    alpha, beta = weighting.alpha, weighting.beta
    n = n.astype(np.float64)
    pmf = np.asarray(weighting.absent_chance(int(n.max()) + 1))[n.astype(np.int64) + 1].copy()
    total = pmf.copy()
    for a in range(min(top, int(n.max()))):
        pmf *= np.maximum(n - a, 0.0) * (a + alpha) / ((a + 1.0) * np.maximum(n - a - 1.0 + beta, beta))
        total += pmf
    # n <= top is certain; the sum would say 0 where pmf(0; n) underflows (t near 1:
    # α/β beyond ~1e150), and there only that lower tail is that small
    return np.where(n <= top, 1.0, np.minimum(total, 1.0))


def _present_sizes(mask2d) -> list[int]:
    """The distinct numbers of present candidates of the sets, zero left out."""
    if mask2d.all():
        return [mask2d.shape[1]] if mask2d.size else []
    return [int(c) for c in np.flatnonzero(_needed_sizes(mask2d)) if c > 0]


def _tables_per_size(u: RankWeighted, sizes, k: int, weighting, bottom: bool = True):
    """``(p_top, p_bot, offsets)``: the step tables of every set size in
    ``sizes`` concatenated, ``offsets[c]`` where size c's begins."""
    table = None
    if type(u.weights) not in _PRESETS and not isinstance(u.weights, np.ndarray):
        missing = [c for c in sizes if _TABLE_CACHE.get((u, c, weighting)) is None]
        if missing:  # evaluate a callable once, for the largest set still to build
            table = _kernel_weights(u, max(missing))
    offsets = np.full(k + 1, -1, dtype=np.int64)
    p_bot: np.ndarray | None
    if len(sizes) == 1:
        p_top, p_bot = _step_tables(u, sizes[0], weighting, table)
        offsets[sizes[0]] = 0
    else:
        tables = [_step_tables(u, c, weighting, table) for c in sizes]
        p_top = np.concatenate([t for t, _ in tables])
        p_bot = np.concatenate([b for _, b in tables]) if bottom else None
        start = 0
        for c in sizes:
            offsets[c] = start
            start += c + 1
    _read_only(*(t for t in (p_top, p_bot, offsets) if t is not None))
    return p_top, p_bot, offsets


def top_m_sum_shapley(m: int, x: np.ndarray, mask: np.ndarray, weighting=SHAPLEY) -> np.ndarray:
    """Shapley values (or semivalues) of the top-m sum (closed form, no table)."""
    x2d, mask2d = _as_2d(x, mask)
    if not _present_sizes(mask2d):
        return np.zeros(x.shape)
    return top_m_kernel(x2d, mask2d, m, weighting=weighting).reshape(x.shape)


def top_k_semivalue(u: TopK, x: np.ndarray, mask: np.ndarray, weighting) -> np.ndarray:
    return top_m_sum_shapley(u.k, x, mask, weighting)


def top_k_shapley(u: TopK, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return top_m_sum_shapley(u.k, x, mask)


def rank_weighted_semivalue(u: RankWeighted, x: np.ndarray, mask: np.ndarray,
                            weighting) -> np.ndarray:
    if type(u.weights) is _TopMSum:
        return top_m_sum_shapley(u.weights.m, x, mask, weighting)
    x2d, mask2d = _as_2d(x, mask)
    k = x2d.shape[1]
    sizes = _present_sizes(mask2d) if x2d.size else []
    if not sizes:
        return np.zeros(x.shape)
    p_top, p_bot, offsets = _tables_per_size(u, sizes, k, weighting)
    return _run_steps(x2d, mask2d, p_top, p_bot, offsets).reshape(x.shape)


def rank_weighted_shapley(u: RankWeighted, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return rank_weighted_semivalue(u, x, mask, SHAPLEY)
