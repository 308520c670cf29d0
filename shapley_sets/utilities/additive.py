"""Additive: every candidate is worth its own value, whatever the others."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Utility

__all__ = ["Additive"]


@dataclass(frozen=True)
class Additive(Utility):
    """``U(S) = Σ_{j∈S} x_j``, ``U(∅) = 0``.

    Candidates do not interact, so each one's Shapley value is its own value
    ``φ_i = x_i`` (0 when absent). Useful alone as a baseline and as a term
    of a combination, e.g. ``ss.BestOf() + 0.1 * ss.Additive()``.

    The input ``x`` is the values of shape ``(..., K)``.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.shapley(ss.Additive(), [0.5, -1.0, 2.0], mask=[True, False, True]).tolist()
        [0.5, 0.0, 2.0]
        >>> float(ss.value(ss.Additive(), [0.5, -1.0, 2.0]))
        1.5
    """

    def rescaled(self, c: float) -> "Additive":
        """The same utility: a sum scales with its values.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.Additive().rescaled(0.5)
            Additive()
        """
        return self

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        return np.where(members, x[..., None, :], 0.0).sum(axis=-1)
