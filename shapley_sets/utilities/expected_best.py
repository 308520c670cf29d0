"""Expected best over user types: the utility that rewards diverse sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from .base import Utility

__all__ = ["ExpectedBest"]


def _as_vector(values, name: str) -> tuple:
    if isinstance(values, (bool, np.bool_)):
        raise TypeError(f"{name} must be real numbers, got {values!r}")
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name} must be a 1-D array with one entry per user type, got shape {arr.shape}"
        )
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} must be finite; found {arr[bad[0]]} at user type {bad[0]}")
    return tuple(float(v) for v in arr)


@dataclass(frozen=True)
class ExpectedBest(Utility):
    """``U(S) = Σ_u π_u · max(b_u, max_{j∈S} x_{u,j})``, ``U(∅) = Σ_u π_u b_u``.

    M user types each keep their own best candidate of the set (or their
    floor ``b_u`` when nothing in the set beats it); the set is worth the
    weighted average over user types. A set of near-duplicates pleases only
    the users who like that one kind of candidate, so this utility rewards
    diverse sets (facility location). By additivity its Shapley values are
    ``Σ_u π_u · best-of(x_u, floor b_u)`` (docs/math.md#sums-of-simple-games), O(M·K log K) per set.

    The input ``x`` has shape ``(..., M, K)``: ``x[..., u, j]`` is user type
    u's score of candidate j. A mask has shape ``(..., K)`` (a candidate is
    present for every user type or for none).

    Args:
        weights: the user types' weights π, a 1-D sequence of M non-negative
            finite numbers (they need not sum to 1), or None (the default)
            for uniform weights 1/M with M read from ``x``.
        floors: what a user type has without any candidate: a finite number
            shared by all types, or a 1-D sequence of M numbers.

    Raises:
        TypeError: non-numeric ``weights`` or ``floors``.
        ValueError: negative or non-finite weights, non-finite floors,
            ``weights``/``floors`` of the wrong shape or of different lengths;
            when called, an ``x`` whose number of user types (axis -2) is not
            the length of ``weights``/``floors``.

    Examples:
        >>> import shapley_sets as ss
        >>> x = [[1.0, 0.0, 0.9],    # user type 0 likes candidates 0 and 2
        ...      [0.0, 1.0, 0.9]]    # user type 1 likes candidates 1 and 2
        >>> u = ss.ExpectedBest()    # uniform weights 1/2
        >>> float(ss.value(u, x))
        1.0
        >>> ss.shapley(u, x).round(4).tolist()   # the all-rounder earns most
        [0.275, 0.275, 0.45]
        >>> v = ss.ExpectedBest([3.0, 1.0], floors=0.5)
        >>> float(ss.value(v, x)), ss.shapley(v, x).round(4).tolist()
        (4.0, [0.9, 0.3, 0.8])
    """

    core_ndim: ClassVar[int] = 2

    weights: Sequence[float] | np.ndarray | None = None
    floors: float | Sequence[float] | np.ndarray = 0.0

    def __post_init__(self):
        if self.weights is not None:
            weights = _as_vector(self.weights, "weights")
            negative = [u for u, w in enumerate(weights) if w < 0]
            if negative:
                raise ValueError(
                    f"weights must be non-negative; found {weights[negative[0]]} at user type "
                    f"{negative[0]}"
                )
            object.__setattr__(self, "weights", weights)
        floors = self.floors
        if np.ndim(floors) == 0:
            if isinstance(floors, (bool, np.bool_)) or np.asarray(floors).dtype.kind not in "iuf":
                raise TypeError(f"floors must be a real number or a 1-D sequence, got {floors!r}")
            if not np.isfinite(floors):
                raise ValueError(f"floors must be finite, got {floors}")
            object.__setattr__(self, "floors", float(floors))
        else:
            floors = _as_vector(floors, "floors")
            if self.weights is not None and len(floors) != len(self.weights):
                raise ValueError(
                    f"floors has {len(floors)} entries but weights has {len(self.weights)}: "
                    "both need one entry per user type"
                )
            object.__setattr__(self, "floors", floors)

    def n_types(self) -> int | None:
        """M fixed by ``weights`` or ``floors``, or None if any M fits."""
        if self.weights is not None:
            return len(self.weights)
        if isinstance(self.floors, tuple):
            return len(self.floors)
        return None

    def weight_array(self, m: int) -> np.ndarray:
        """The weights π as a float64 array of length ``m``."""
        if self.weights is None:
            return np.full(m, 1.0 / m)
        return np.array(self.weights, dtype=np.float64)

    def floor_array(self, m: int) -> np.ndarray:
        """The floors b as a float64 array of length ``m``."""
        if isinstance(self.floors, tuple):
            return np.array(self.floors, dtype=np.float64)
        return np.full(m, self.floors)

    def check_input(self, x: np.ndarray) -> None:
        m = x.shape[-2]
        want = self.n_types()
        if want is not None and want != m:
            name = "weights" if self.weights is not None else "floors"
            raise ValueError(
                f"{name} has {want} entries (one per user type) but x has M = {m} user "
                f"types on axis -2 (x's shape {x.shape} is batch + (M, K))"
            )

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        m = x.shape[-2]
        # batch + (M, C, K): user type u's scores restricted to coalition c
        picked = np.where(members[..., None, :, :], x[..., :, None, :], -np.inf)
        best = np.maximum(picked.max(axis=-1, initial=-np.inf), self.floor_array(m)[:, None])
        return np.einsum("...uc,u->...c", best, self.weight_array(m))
