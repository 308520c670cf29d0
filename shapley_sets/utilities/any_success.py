"""Any-success (noisy-or, pass@k): the set succeeds if one candidate does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_in_range
from .base import Utility
from .expected_best import check_user_types, type_weight_array, user_type_weights

__all__ = ["AnySuccess", "ExpectedAnySuccess"]


@dataclass(frozen=True)
class AnySuccess(Utility):
    """``U(S) = 1 - Π_{j∈S} (1 - p_j)``, ``U(∅) = 0``.

    Candidate j succeeds independently with probability ``p_j``; a set is
    worth the probability that at least one of its candidates succeeds
    (noisy-or, pass@k). Its exact Shapley values are
    ``φ_i = p_i ∫_0^1 Π_{j≠i} (1 - t p_j) dt`` (docs/math.md#any-success), computed by
    Gauss-Legendre quadrature that is exact for this polynomial, O(K²) per
    set. With binary outcomes (``p ∈ {0, 1}``) the successes share the set's
    reward equally and the failures get 0: pass@k credit.

    The input ``x`` is the probabilities ``p`` of shape ``(..., K)``.

    Raises:
        ValueError: (when called) a probability outside [0, 1], naming the set
            and the candidate.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.shapley(ss.AnySuccess(), [0.5, 0.5]).tolist()
        [0.375, 0.375]
        >>> float(ss.value(ss.AnySuccess(), [0.5, 0.5]))
        0.75
        >>> ss.shapley(ss.AnySuccess(), [1.0, 0.0, 1.0, 1.0]).round(12).tolist()
        [0.333333333333, 0.0, 0.333333333333, 0.333333333333]
    """

    def check_input(self, x: np.ndarray) -> None:
        check_in_range(x, "x", 0.0, 1.0)

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        # 1 - Π(1 - p) through log1p/expm1 keeps full relative accuracy when
        # every p is tiny, where the plain product would cancel to noise.
        with np.errstate(divide="ignore"):
            logs = np.log1p(-x)
        total = np.where(members, logs[..., None, :], 0.0).sum(axis=-1)
        return 0.0 - np.expm1(total)  # not -expm1: U(∅) is +0.0


@dataclass(frozen=True)
class ExpectedAnySuccess(Utility):
    """``U(S) = Σ_u π_u · (1 − Π_{j∈S} (1 − p_{u,j}))``, ``U(∅) = 0``.

    A user drawn from M types (type u with probability ``π_u``) accepts each
    candidate j of the set independently with probability ``p_{u,j}``; the
    set is worth the probability that the user accepts at least one (code
    suggestions, pass@k over a population of users). A semivalue is linear
    in the utility, so its values are ``Σ_u π_u`` times each type's
    :class:`AnySuccess` values (docs/math.md#sums-of-simple-games),
    O(M·K²) per set.

    The input ``x`` has shape ``(..., M, K)``: ``x[..., u, j]`` is the
    probability that user type u accepts candidate j. A mask has shape
    ``(..., K)``. As for :class:`ExpectedBest`, M is part of the utility
    (the length of ``weights``, or ``n_types``), never read from ``x``.

    Args:
        weights: the user types' probabilities π, a 1-D sequence of M
            non-negative finite numbers that sum to 1 (see ``normalize``), or
            None for uniform weights 1/M (then ``n_types`` is required).
        n_types: M, required without ``weights``.
        normalize: weights that do not sum to 1 (within 1e-9): None (the
            default) refuses them, True divides them by their sum, False uses
            them as given (a weighted sum rather than an expectation).

    Raises:
        TypeError: non-numeric ``weights`` or ``n_types``; no way to know M.
        ValueError: negative or non-finite weights, weights that do not sum
            to 1 with ``normalize=None`` (or sum to 0), ``weights`` and
            ``n_types`` disagreeing on M; when called, an ``x`` whose axis
            -2 is not M, or a probability outside [0, 1] (naming the set and
            the candidate).

    Examples:
        >>> import shapley_sets as ss
        >>> p = [[0.9, 0.0, 0.5],    # user type 0 accepts candidate 0 or 2
        ...      [0.0, 0.9, 0.5]]    # user type 1 accepts candidate 1 or 2
        >>> u = ss.ExpectedAnySuccess([0.5, 0.5])
        >>> round(float(ss.value(u, p)), 4)
        0.95
        >>> ss.shapley(u, p).round(4).tolist()
        [0.3375, 0.3375, 0.275]
        >>> ss.shapley(ss.ExpectedAnySuccess(n_types=2), p).round(4).tolist()
        [0.3375, 0.3375, 0.275]
    """

    core_ndim: ClassVar[int] = 2

    weights: ArrayLike | None = None
    n_types: int | None = field(default=None, kw_only=True)
    normalize: bool | None = field(default=None, kw_only=True)

    def __post_init__(self):
        weights, n_types, normalize = user_type_weights(
            type(self).__name__, self.weights, self.n_types, self.normalize
        )
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "n_types", n_types)
        object.__setattr__(self, "normalize", normalize)

    def weight_array(self, m: int) -> np.ndarray:
        """The weights π as a float64 array of length ``m``."""
        return type_weight_array(self.weights, m)

    def check_input(self, x: np.ndarray) -> None:
        check_user_types(x, self.n_types, "weights" if self.weights is not None else "n_types")
        check_in_range(x, "x", 0.0, 1.0, core_ndim=2)

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        with np.errstate(divide="ignore"):
            logs = np.log1p(-x)  # batch + (M, K)
        # batch + (C, M): each type's log-probability that it accepts no member of coalition c
        total = np.where(members[..., :, None, :], logs[..., None, :, :], 0.0).sum(axis=-1)
        return (0.0 - np.expm1(total)) @ self.weight_array(x.shape[-2])
