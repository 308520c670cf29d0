"""Expected best over user types: the utility that rewards diverse sets."""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .base import Utility

__all__ = ["ExpectedBest", "check_user_types", "type_weight_array", "user_type_weights"]


_SUM_TOL = 1e-9


def _normalized(weights: tuple, normalize) -> tuple:
    total = math.fsum(weights)
    if normalize is False:
        return weights
    if normalize is True:
        if total <= 0:
            raise ValueError("weights sum to 0: at least one user type needs a positive weight")
        return tuple(w / total for w in weights)
    if abs(total - 1.0) > _SUM_TOL:
        raise ValueError(
            f"weights sum to {total:.12g}, not 1: pass normalize=True to divide them by "
            "their sum, or normalize=False to use them as given (U is then a weighted "
            "sum, not an expectation)"
        )
    return weights


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


def user_type_weights(who: str, weights, n_types, normalize, sizes: dict | None = None, *,
                      how: str = "pass weights (one per user type) or n_types=M") -> tuple:
    """The checked ``(weights, M, normalize)`` of a utility over M user types.

    ``weights`` becomes a tuple of floats (or stays None: uniform), M comes
    from ``n_types``, the weights or the other per-type fields in ``sizes``
    (name -> length), which must all agree; ``normalize`` becomes None when
    the weights sum to 1, so that equal utilities compare (and cache) equal.
    """
    if normalize is not None and not isinstance(normalize, bool):
        raise TypeError(f"normalize must be None, True or False, got {normalize!r}")
    sizes = dict(sizes or {})
    if weights is not None:
        weights = _as_vector(weights, "weights")
        negative = [u for u, w in enumerate(weights) if w < 0]
        if negative:
            raise ValueError(
                f"weights must be non-negative; found {weights[negative[0]]} at user type "
                f"{negative[0]}"
            )
        weights = _normalized(weights, normalize)
        if abs(math.fsum(weights) - 1.0) <= _SUM_TOL:
            normalize = None  # an expectation however it was spelt: one canonical form
        for name, size in sizes.items():
            if size != len(weights):
                raise ValueError(
                    f"{name} has {size} entries but weights has {len(weights)}: "
                    "both need one entry per user type"
                )
        sizes = {"weights": len(weights), **sizes}
    m = n_types
    if m is not None:
        if isinstance(m, bool) or not isinstance(m, numbers.Integral):
            raise TypeError(f"n_types must be an int (the number of user types M), got {m!r}")
        if m < 1:
            raise ValueError(f"n_types must be >= 1, got {m}")
        for name, size in sizes.items():
            if size != m:
                raise ValueError(f"n_types = {m} but {name} has {size} entries (one per user type)")
        m = int(m)
    elif sizes:
        m = next(iter(sizes.values()))
    else:
        raise TypeError(
            f"{who} needs the number of user types M: {how}; it is not read from x, whose "
            "axis -2 must then be M (x has shape batch + (M, K))"
        )
    return weights, m, normalize


def type_weight_array(weights: Any, m: int) -> np.ndarray:
    """The weights π as a float64 array of length ``m`` (uniform for None)."""
    return np.full(m, 1.0 / m) if weights is None else np.array(weights, dtype=np.float64)


def check_user_types(x: np.ndarray, m: int | None, given: str) -> None:
    """Refuse an ``x`` whose axis -2 is not the utility's M user types."""
    if x.shape[-2] != m:
        raise ValueError(
            f"the utility has M = {m} user types (from {given}) but x has "
            f"{x.shape[-2]} on axis -2 (x's shape {x.shape} is read as batch + (M, K)); for a "
            "batch of sets of one user type add the axis: x[..., None, :]"
        )


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

    The number of user types M is part of the utility, never guessed from
    ``x``: it is the length of ``weights`` or of ``floors``, or ``n_types``,
    and an ``x`` whose axis -2 is not M is refused (a batch of 1,000 sets of
    8 candidates passed as shape (1000, 8) is one set with 1,000 user types,
    and is refused instead of read so).

    Args:
        weights: the user types' probabilities π, a 1-D sequence of M
            non-negative finite numbers that sum to 1 (see ``normalize``), or
            None for uniform weights 1/M.
        floors: what a user type has without any candidate: a finite number
            shared by all types, or a 1-D sequence of M numbers.
        n_types: M, required when neither ``weights`` nor ``floors`` gives it.
        normalize: what to do with weights that do not sum to 1 (within
            1e-9): None (the default) refuses them, True divides them by their
            sum, False uses them as given (U is then a weighted sum rather
            than an expectation).

    Raises:
        TypeError: non-numeric ``weights``, ``floors`` or ``n_types``; no way
            to know M.
        ValueError: negative or non-finite weights, weights that do not sum to
            1 with ``normalize=None`` (or sum to 0), non-finite floors,
            ``weights``/``floors``/``n_types`` of the wrong shape or
            disagreeing on M; when called, an ``x`` whose number of user types
            (axis -2) is not M.

    Examples:
        >>> import shapley_sets as ss
        >>> x = [[1.0, 0.0, 0.9],    # user type 0 likes candidates 0 and 2
        ...      [0.0, 1.0, 0.9]]    # user type 1 likes candidates 1 and 2
        >>> u = ss.ExpectedBest(n_types=2)    # uniform weights 1/2
        >>> float(ss.value(u, x))
        1.0
        >>> ss.shapley(u, x).round(4).tolist()   # the all-rounder earns most
        [0.275, 0.275, 0.45]
        >>> v = ss.ExpectedBest([0.75, 0.25], floors=0.5)
        >>> float(ss.value(v, x)), ss.shapley(v, x).round(4).tolist()
        (1.0, [0.225, 0.075, 0.2])
        >>> ss.ExpectedBest([3.0, 1.0], normalize=True).weights
        (0.75, 0.25)
        >>> ss.ExpectedBest([3.0, 1.0])
        Traceback (most recent call last):
        ...
        ValueError: weights sum to 4, not 1: pass normalize=True to divide them by their sum, or normalize=False to use them as given (U is then a weighted sum, not an expectation)
    """

    core_ndim: ClassVar[int] = 2

    # Annotated with what the constructor accepts; __post_init__ stores
    # tuples of floats (hashable, so equal utilities cache equal).
    weights: ArrayLike | None = None
    floors: float | ArrayLike = 0.0
    n_types: int | None = field(default=None, kw_only=True)
    normalize: bool | None = field(default=None, kw_only=True)

    def __post_init__(self):
        sizes = {}
        floors = self.floors
        if np.ndim(floors) == 0:
            if isinstance(floors, (bool, np.bool_)) or np.asarray(floors).dtype.kind not in "iuf":
                raise TypeError(f"floors must be a real number or a 1-D sequence, got {floors!r}")
            if not np.isfinite(floors):
                raise ValueError(f"floors must be finite, got {floors}")
            floors = float(floors)
        else:
            floors = _as_vector(floors, "floors")
            sizes["floors"] = len(floors)
        weights, n_types, normalize = user_type_weights(
            "ExpectedBest", self.weights, self.n_types, self.normalize, sizes,
            how="pass weights (one per user type), floors as a sequence, or n_types=M",
        )
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "floors", floors)
        object.__setattr__(self, "n_types", n_types)
        object.__setattr__(self, "normalize", normalize)

    def weight_array(self, m: int) -> np.ndarray:
        """The weights π as a float64 array of length ``m``."""
        return type_weight_array(self.weights, m)

    def floor_array(self, m: int) -> np.ndarray:
        """The floors b as a float64 array of length ``m``."""
        if isinstance(self.floors, tuple):
            return np.array(self.floors, dtype=np.float64)
        return np.full(m, self.floors)

    def check_input(self, x: np.ndarray) -> None:
        given = ("weights" if self.weights is not None
                 else "floors" if isinstance(self.floors, tuple) else "n_types")
        check_user_types(x, self.n_types, given)

    def rescaled(self, c: float) -> "ExpectedBest":
        """The same weights with the floors scaled by ``c``.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.ExpectedBest(floors=[2.0, 4.0]).rescaled(0.5).floors
            (1.0, 2.0)
        """
        floors = (tuple(f * c for f in self.floors) if isinstance(self.floors, tuple)
                  else float(self.floors) * c)  # type: ignore[arg-type]  # a float after __post_init__
        return dataclasses.replace(self, floors=floors, normalize=False)

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        m = x.shape[-2]
        # batch + (M, C, K): user type u's scores restricted to coalition c
        picked = np.where(members[..., None, :, :], x[..., :, None, :], -np.inf)
        best = np.maximum(picked.max(axis=-1, initial=-np.inf), self.floor_array(m)[:, None])
        return np.einsum("...uc,u->...c", best, self.weight_array(m))
