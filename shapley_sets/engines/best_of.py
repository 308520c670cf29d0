"""Best-of in O(K log K): the airport game (MATH.md §4)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..utilities.best_of import BestOf
from ._kernels import SETS_PER_TASK, argsort_ascending
from .registry import register_engine

__all__ = ["best_of_shapley"]


@njit(cache=True, parallel=True)
def _best_of_kernel(x, mask, floor, out):
    n, k = x.shape
    n_tasks = (n + SETS_PER_TASK - 1) // SETS_PER_TASK
    for task in prange(n_tasks):
        gains = np.empty(k)
        order = np.empty(k, dtype=np.int64)
        for s in range(task * SETS_PER_TASK, min(n, (task + 1) * SETS_PER_TASK)):
            count = 0
            for j in range(k):
                out[s, j] = 0.0
                if mask[s, j]:
                    g = x[s, j] - floor
                    gains[count] = g if g > 0.0 else 0.0
                    order[count] = j
                    count += 1
            argsort_ascending(gains, count, order)
            # Sorted increasingly, the step from the (r-1)-th to the r-th gain
            # is shared equally by the count - r candidates that reach it.
            share = 0.0
            previous = 0.0
            for r in range(count):
                share += (gains[r] - previous) / (count - r)
                previous = gains[r]
                out[s, order[r]] = share


def best_of_kernel(x2d: np.ndarray, mask2d: np.ndarray, floor: float) -> np.ndarray:
    """Run the best-of kernel on C-contiguous ``(n, K)`` arrays."""
    out = np.empty(x2d.shape, dtype=np.float64)
    if x2d.size:
        _best_of_kernel(x2d, mask2d, float(floor), out)
    return out


@register_engine(BestOf, name="best-of (airport game)", complexity="O(K log K)")
def best_of_shapley(u: BestOf, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    k = x.shape[-1]
    x2d = np.ascontiguousarray(x.reshape(-1, k))
    mask2d = mask.reshape(-1, k)
    return best_of_kernel(x2d, mask2d, u.floor).reshape(x.shape)
