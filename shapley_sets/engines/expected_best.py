"""Expected best over user types in O(M·K log K): one airport game per user
type, summed with the types' weights (additivity, docs/math.md, "Sums of
simple games"); any semivalue by the best-of step shares of its weighting."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..utilities.expected_best import ExpectedBest
from ._kernels import SETS_PER_TASK, rank_buffer_length, rank_into, run_in_chunks
from .rank_weighted import WEIGHTINGS, top_m_shares
from .registry import register_engine
from .weights import SHAPLEY

__all__ = ["expected_best_semivalue", "expected_best_shapley"]


@njit(cache=True)
def _expected_best_chunk(x, mask, floors, weights, share_of, offsets, out, start, stop):
    """``share_of[offsets[c] + q]``: the share of a step reached by q of a set
    of c present candidates (the Shapley value's 1/q, or a semivalue's)."""
    m, k = x.shape[1], x.shape[2]
    columns = np.empty(k, dtype=np.int64)
    gains = np.empty(rank_buffer_length(k))
    ordered = np.empty(k)
    rank = np.empty(k, dtype=np.int64)
    share_at = np.empty(k)
    # Multiplying by the share tables the best-of kernel uses (1/q for the
    # Shapley value) gives its values bit for bit for one user type.
    for s in range(start, stop):
        # The present candidates are the same for every user type: gather
        # their columns once per set.
        count = 0
        for j in range(k):
            out[s, j] = 0.0
            if mask[s, j]:
                columns[count] = j
                count += 1
        base = offsets[count]
        for u in range(m):
            weight = weights[u]
            # a weightless user type is a null game: skipping it is exact
            if weight == 0.0:
                continue
            floor = floors[u]
            if count == k:  # no mask: read the row straight
                for c in range(k):
                    g = x[s, u, c] - floor
                    gains[c] = g if g > 0.0 else 0.0
            else:
                for c in range(count):
                    g = x[s, u, columns[c]] - floor
                    gains[c] = g if g > 0.0 else 0.0
            rank_into(gains, count, ordered, rank)
            # The airport game: sorted increasingly, the step from the
            # (r-1)-th to the r-th gain is shared equally by the count - r
            # candidates that reach it.
            share = 0.0
            previous = 0.0
            for r in range(count):
                share += (ordered[r] - previous) * share_of[base + count - r]
                previous = ordered[r]
                share_at[r] = share
            for c in range(count):
                out[s, columns[c]] += weight * share_at[rank[c]]


@njit(cache=True, parallel=True)
def _expected_best_kernel(x, mask, floors, weights, share_of, offsets, out):
    n = x.shape[0]
    for task in prange((n + SETS_PER_TASK - 1) // SETS_PER_TASK):
        _expected_best_chunk(x, mask, floors, weights, share_of, offsets, out,
                             task * SETS_PER_TASK, min(n, (task + 1) * SETS_PER_TASK))


def expected_best_semivalue(u: ExpectedBest, x: np.ndarray, mask: np.ndarray,
                            weighting) -> np.ndarray:
    m, k = x.shape[-2:]
    n = int(np.prod(mask.shape[:-1], dtype=np.int64))
    x3d = np.ascontiguousarray(x.reshape(n, m, k))
    mask2d = mask.reshape(n, k)
    out = np.empty((n, k), dtype=np.float64)
    if out.size:
        share_of, offsets = top_m_shares(k, mask2d, 1, weighting)
        run_in_chunks(_expected_best_chunk, _expected_best_kernel, n,
                      x3d, mask2d, u.floor_array(m), u.weight_array(m), share_of, offsets, out)
    return out.reshape(mask.shape)


@register_engine(ExpectedBest, name="expected best (weighted airport games)",
                 complexity="O(M·K log K)", semivalue=expected_best_semivalue,
                 weightings=WEIGHTINGS)
def expected_best_shapley(u: ExpectedBest, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return expected_best_semivalue(u, x, mask, SHAPLEY)
