"""Any-success (noisy-or, pass@k): the set succeeds if one candidate does."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_in_range
from .base import Utility

__all__ = ["AnySuccess"]


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
