"""Best-of: the user picks the best candidate of the set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._scalars import check_finite_real
from .base import Utility

if TYPE_CHECKING:
    from .rank_weighted import RankWeighted

__all__ = ["BestOf"]


@dataclass(frozen=True)
class BestOf(Utility):
    """``U(S) = max(floor, max_{j∈S} x_j)``, ``U(∅) = floor``.

    The utility of a set whose user keeps its best candidate. Its exact
    Shapley values are the airport game's, O(K log K) per set
    (docs/math.md#airport-game): sorted increasingly, each candidate shares every step
    below its own score equally with the candidates above that step.

    Args:
        floor: the value of the empty set (what the user has without any
            candidate); candidates below it are worth nothing.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.shapley(ss.BestOf(), [1.0, 3.0, 2.0]).tolist()
        [0.3333333333333333, 1.8333333333333333, 0.8333333333333333]
        >>> float(ss.value(ss.BestOf(floor=2.0), [1.0, 3.0, 2.0]))
        3.0
    """

    floor: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "floor", check_finite_real("floor", self.floor))

    def as_rank_weighted(self) -> "RankWeighted":
        """Best-of as a member of the rank-weighted family (docs/math.md#rank-weighted-utilities).

        ``BestOf(floor=b)`` is ``RankWeighted.top_m_sum(1)`` (``w(s, k) = 1``
        if k = 1) applied to the gains ``max(x - b, 0)``, plus the constant
        ``b``, which changes no Shapley value. So it is literally a
        rank-weighted utility of ``x`` only when ``b = 0`` and the scores are
        non-negative; otherwise pass the gains. The airport closed form
        remains the registered engine of ``BestOf`` itself.

        Returns:
            ``RankWeighted.top_m_sum(1)``; ``ss.shapley(u, x)`` equals
            ``ss.shapley(u.as_rank_weighted(), np.maximum(x - u.floor, 0))``.

        Examples:
            >>> import numpy as np
            >>> import shapley_sets as ss
            >>> u = ss.BestOf(floor=1.0)
            >>> x = np.array([0.5, 3.0, 2.0])
            >>> u.as_rank_weighted()
            RankWeighted.top_m_sum(1)
            >>> np.allclose(ss.shapley(u, x), ss.shapley(u.as_rank_weighted(), np.maximum(x - u.floor, 0)))
            True
        """
        from .rank_weighted import RankWeighted

        return RankWeighted.top_m_sum(1)

    def rescaled(self, c: float) -> "BestOf":
        """``BestOf(floor=c·floor)``: best-of scales with its scores.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.BestOf(3.0).rescaled(0.25)
            BestOf(floor=0.75)
        """
        return dataclasses.replace(self, floor=self.floor * c)

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        picked = np.where(members, x[..., None, :], -np.inf).max(axis=-1, initial=-np.inf)
        return np.maximum(picked, self.floor)
