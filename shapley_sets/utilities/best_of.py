"""Best-of: the user picks the best candidate of the set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Utility

__all__ = ["BestOf"]


@dataclass(frozen=True)
class BestOf(Utility):
    """``U(S) = max(floor, max_{j∈S} x_j)``, ``U(∅) = floor``.

    The utility of a set whose user keeps its best candidate. Its exact
    Shapley values are the airport game's, O(K log K) per set
    (MATH.md §4): sorted increasingly, each candidate shares every step
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
        floor = self.floor
        if isinstance(floor, bool) or not np.isscalar(floor) or not np.isreal(floor):
            raise TypeError(f"floor must be a real number, got {floor!r}")
        if not np.isfinite(floor):
            raise ValueError(f"floor must be finite, got {floor}")
        object.__setattr__(self, "floor", float(floor))

    def coalition_values(self, x, members):
        members = np.asarray(members, dtype=bool)
        picked = np.where(members, x[..., None, :], -np.inf).max(axis=-1, initial=-np.inf)
        return np.maximum(picked, self.floor)
