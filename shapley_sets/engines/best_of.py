"""Best-of in O(K log K): the airport game (docs/math.md, "Rank-weighted
utilities"), and its semivalues (same sort, other step shares)."""

from __future__ import annotations

import numpy as np

from ..utilities.best_of import BestOf
from .rank_weighted import WEIGHTINGS, top_m_kernel
from .registry import register_engine
from .weights import SHAPLEY

__all__ = ["best_of_kernel", "best_of_semivalue", "best_of_shapley"]


def best_of_kernel(x2d: np.ndarray, mask2d: np.ndarray, floor: float,
                   weighting=SHAPLEY) -> np.ndarray:
    """Run the best-of kernel on C-contiguous ``(n, K)`` arrays.

    Best-of is the rank-weighted family's top-1 sum of the gains
    ``max(x - floor, 0)``; it shares the top-m closed-form kernel, which
    gives the airport game's values bit for bit. For another weighting the
    step below position j gives each of the j candidates above it the chance
    that none of the other j - 1 is in the coalition.
    """
    return top_m_kernel(x2d, mask2d, 1, floor, clip=True, weighting=weighting)


def best_of_semivalue(u: BestOf, x: np.ndarray, mask: np.ndarray, weighting) -> np.ndarray:
    k = x.shape[-1]
    x2d = np.ascontiguousarray(x.reshape(-1, k))
    mask2d = mask.reshape(-1, k)
    return best_of_kernel(x2d, mask2d, u.floor, weighting).reshape(x.shape)


@register_engine(BestOf, name="best-of (airport game)", complexity="O(K log K)",
                 semivalue=best_of_semivalue, weightings=WEIGHTINGS)
def best_of_shapley(u: BestOf, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return best_of_semivalue(u, x, mask, SHAPLEY)
