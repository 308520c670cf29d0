"""Expected best over user types in O(M·K log K): one airport game per user
type, summed with the types' weights (additivity, MATH.md §6)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..utilities.expected_best import ExpectedBest
from ._kernels import SETS_PER_TASK
from .best_of import airport_add
from .registry import register_engine

__all__ = ["expected_best_shapley"]


@njit(cache=True)
def _expected_best_set(x, mask, floors, weights, out, gains, order):
    for j in range(out.shape[0]):
        out[j] = 0.0
    for u in range(x.shape[0]):
        # a weightless user type is a null game: skipping it is exact
        if weights[u] != 0.0:
            airport_add(x[u], mask, floors[u], weights[u], gains, order, out)


@njit(cache=True, parallel=True)
def _expected_best_kernel(x, mask, floors, weights, out):
    n, m, k = x.shape
    n_tasks = (n + SETS_PER_TASK - 1) // SETS_PER_TASK
    for task in prange(n_tasks):
        gains = np.empty(2 * k)
        order = np.empty(2 * k, dtype=np.int64)
        for s in range(task * SETS_PER_TASK, min(n, (task + 1) * SETS_PER_TASK)):
            _expected_best_set(x[s], mask[s], floors, weights, out[s], gains, order)


@register_engine(ExpectedBest, name="expected best (weighted airport games)",
                 complexity="O(M·K log K)")
def expected_best_shapley(u: ExpectedBest, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m, k = x.shape[-2:]
    n = int(np.prod(mask.shape[:-1], dtype=np.int64))
    x3d = np.ascontiguousarray(x.reshape(n, m, k))
    mask2d = mask.reshape(n, k)
    out = np.empty((n, k), dtype=np.float64)
    if out.size:
        _expected_best_kernel(x3d, mask2d, u.floor_array(m), u.weight_array(m), out)
    return out.reshape(mask.shape)
