"""Best-of in O(K log K): the airport game (MATH.md §4)."""

from __future__ import annotations

import numpy as np

from ..utilities.best_of import BestOf
from ._kernels import kernel_input
from .rank_weighted import top_m_kernel

__all__ = ["best_of_kernel", "best_of_shapley"]


def best_of_kernel(x2d: np.ndarray, mask2d: np.ndarray, floor: float) -> np.ndarray:
    """Run the best-of kernel on C-contiguous ``(n, K)`` arrays.

    Best-of is the rank-weighted family's top-1 sum of the gains
    ``max(x - floor, 0)``; it shares the top-m closed-form kernel, which
    gives the airport game's values bit for bit.
    """
    return top_m_kernel(x2d, mask2d, 1, floor, clip=True)


def best_of_shapley(u: BestOf, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    k = x.shape[-1]
    x2d = kernel_input(x.reshape(-1, k))
    mask2d = mask.reshape(-1, k)
    return best_of_kernel(x2d, mask2d, u.floor).reshape(x.shape)
