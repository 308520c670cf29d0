"""The utility protocol: what a set is worth.

A utility is a small immutable object that can evaluate the set function U on
any coalition of any set in a batch. That one method is all the reference
engine needs, so every utility - built in or written by a user - can always be
checked against brute force. Fast exact engines are registered separately
(:mod:`shapley_sets.engines.registry`) and looked up by the utility's type.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Utility", "LinearCombination", "rescale"]


def rescale(u, c: float):
    """``u.rescaled(c)`` where it belongs to ``u``'s value function, else None.

    A subclass that defines its own ``coalition_values`` but inherits
    ``rescaled`` gets None: its values need not scale like its parent's.

    Examples:
        >>> import numpy as np, shapley_sets as ss
        >>> from shapley_sets.utilities.base import rescale
        >>> rescale(ss.BestOf(1.0), 0.5)
        BestOf(floor=0.5)
        >>> class Capped(ss.BestOf):
        ...     def coalition_values(self, x, members):
        ...         return np.minimum(super().coalition_values(x, members), 1.0)
        >>> rescale(Capped(), 0.5) is None
        True
    """
    mro = type(u).__mro__

    def first(attr):
        return next((i for i, cls in enumerate(mro) if attr in vars(cls)), len(mro))

    if first("rescaled") > first("coalition_values"):
        return None
    rescaled = getattr(u, "rescaled", None)
    return None if rescaled is None else rescaled(c)


class Utility:
    """Base class of permutation-invariant set utilities.

    Subclasses implement :meth:`coalition_values`; they may override
    :meth:`check_input` to reject inputs outside the utility's domain (for
    example probabilities outside [0, 1]).

    Attributes:
        core_ndim: number of trailing axes of ``x`` that describe one set; 1
            for scores ``(..., K)``, 2 for per-user-type scores ``(..., M, K)``.
            The candidate axis is always the last one.

    Utilities with the same kind of input compose linearly, and so do their
    Shapley values (the additivity axiom)::

        >>> import shapley_sets as ss
        >>> u = ss.BestOf() + 0.5 * ss.BestOf(floor=1.0)
        >>> ss.shapley(u, [3.0, 1.0]).round(3).tolist()
        [3.5, 0.5]
    """

    core_ndim: ClassVar[int] = 1

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        """U of many coalitions of every set of a batch.

        Args:
            x: validated float64 input of shape ``batch + core`` (for scores,
                ``(..., K)``).
            members: bool array broadcastable to ``batch + (C, K)``;
                ``members[..., c, j]`` is True iff candidate j belongs to
                coalition c.

        Returns:
            float64 array ``batch + (C,)`` of coalition values.

        Examples:
            >>> import numpy as np, shapley_sets as ss
            >>> members = np.array([[False, False], [True, False], [True, True]])
            >>> ss.BestOf(floor=1.0).coalition_values(np.array([3.0, 5.0]), members).tolist()
            [1.0, 3.0, 5.0]
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define coalition_values(x, members), the value of each coalition "
            "(a subclass of ss.Utility names its game there)"
        )

    def check_input(self, x: np.ndarray) -> None:
        """Raise ``ValueError`` if the finite float64 input ``x`` is outside the
        utility's domain. The default accepts every finite input."""

    def rescaled(self, c: float) -> "Utility | None":
        """The utility ``V`` with ``V(c·x) = c·U(x)`` on every coalition, for a
        power of two ``0 < c < 1``, or None if there is none (the default).

        The public functions use it where an intermediate result overflows
        float64 though the answer does not: they compute with ``V`` on
        ``c·x`` and divide by ``c``. It is used only when the class that
        defines it also defines ``coalition_values`` or inherits it (see
        :func:`rescale`).

        Examples:
            >>> import shapley_sets as ss
            >>> ss.BestOf(floor=2.0).rescaled(0.5)
            BestOf(floor=1.0)
            >>> ss.AnySuccess().rescaled(0.5) is None
            True
        """
        return None

    # -- composition -------------------------------------------------------
    #: numpy defers to these operators: ``u * np.array([1, 2])`` is then a
    #: TypeError, not an object array of utilities scaled one entry each.
    __array_ufunc__ = None

    def __add__(self, other: Utility) -> "LinearCombination":
        if not isinstance(other, Utility):
            return NotImplemented
        return LinearCombination.of((1.0, self), (1.0, other))

    def __sub__(self, other: Utility) -> "LinearCombination":
        if not isinstance(other, Utility):
            return NotImplemented
        return LinearCombination.of((1.0, self), (-1.0, other))

    def __mul__(self, coef: float) -> "LinearCombination":
        if isinstance(coef, np.ndarray):
            raise TypeError(f"a utility can only be scaled by one real number, got an array of shape {coef.shape}")
        if isinstance(coef, bool) or not isinstance(coef, numbers.Real):
            return NotImplemented
        coef = float(coef)
        if not np.isfinite(coef):
            raise ValueError(f"a utility can only be scaled by a finite number, got {coef}")
        return LinearCombination.of((coef, self))

    __rmul__ = __mul__

    def __neg__(self) -> "LinearCombination":
        return LinearCombination.of((-1.0, self))


@dataclass(frozen=True)
class LinearCombination(Utility):
    """``Σ coef_t · U_t`` for utilities that share one kind of input.

    Built by ``u + v``, ``u - v``, ``a * u``; nested combinations are
    flattened. Its Shapley values are the same combination of the terms'
    Shapley values, each computed by its own fastest exact engine.

    Examples:
        >>> import shapley_sets as ss
        >>> u = 2 * ss.BestOf() - ss.BestOf(floor=1.0)
        >>> u.terms[0][0], u.terms[1][0]
        (2.0, -1.0)
        >>> float(ss.value(u, [3.0, 0.5]))
        3.0
    """

    terms: tuple

    @staticmethod
    def of(*pairs: tuple[float, Utility]) -> "LinearCombination":
        """``Σ coef · u`` from ``(coef, u)`` pairs, flattening nested combinations.

        Raises:
            TypeError: a term that is not a utility instance, a coefficient
                that is not a finite real number, or utilities that take
                different kinds of input.

        Examples:
            >>> import shapley_sets as ss
            >>> u = ss.LinearCombination.of((2.0, ss.BestOf()), (1.0, ss.TopK(2)))
            >>> len(u.terms), float(ss.value(u, [1.0, 3.0]))
            (2, 10.0)
        """
        flat: list[tuple[float, Utility]] = []
        for coef, u in pairs:
            if not isinstance(u, Utility):
                hint = (f": pass ss.{u.__name__}(), not ss.{u.__name__} (the class)"
                        if isinstance(u, type) else "")
                raise TypeError(f"every term must be a utility instance, got {u!r}{hint}")
            if isinstance(coef, bool) or not isinstance(coef, numbers.Real) or not np.isfinite(coef):
                raise TypeError(f"every coefficient must be a finite real number, got {coef!r}")
            if isinstance(u, LinearCombination):
                flat.extend((coef * c, t) for c, t in u.terms)
            else:
                flat.append((float(coef), u))
        ndims = {u.core_ndim for _, u in flat}
        if len(ndims) > 1:
            names = ", ".join(type(u).__name__ for _, u in flat)
            raise TypeError(
                f"cannot combine utilities with different inputs ({names}): "
                "their inputs have different numbers of per-set axes"
            )
        return LinearCombination(tuple(flat))

    @property
    def core_ndim(self) -> int:  # type: ignore[override]
        return self.terms[0][1].core_ndim

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        (coef, u), *rest = self.terms
        total = coef * u.coalition_values(x, members)
        for coef, u in rest:
            total = total + coef * u.coalition_values(x, members)
        return total

    def check_input(self, x: np.ndarray) -> None:
        for _, u in self.terms:
            u.check_input(x)

    def rescaled(self, c: float) -> "LinearCombination | None":
        """Every term rescaled, or None if one of them cannot be.

        Examples:
            >>> import shapley_sets as ss
            >>> (ss.BestOf(2.0) + ss.Additive()).rescaled(0.5).terms[0][1]
            BestOf(floor=1.0)
        """
        terms = [(coef, rescale(u, c)) for coef, u in self.terms]
        if any(u is None for _, u in terms):
            return None
        return LinearCombination(tuple(terms))

    def permuted(self, perm: ArrayLike) -> "LinearCombination":
        """The combination with candidates relabelled by ``perm`` in every term
        that depends on candidate labels (e.g. ``Pairwise``'s matrix).

        Examples:
            >>> import numpy as np, shapley_sets as ss
            >>> d = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
            >>> u = ss.BestOf() + ss.Pairwise(d)
            >>> v = u.permuted([2, 1, 0])
            >>> np.allclose(ss.shapley(v, [3.0, 2.0, 1.0]), ss.shapley(u, [1.0, 2.0, 3.0])[::-1])
            True
        """
        return LinearCombination(tuple(
            (coef, u.permuted(perm) if hasattr(u, "permuted") else u) for coef, u in self.terms
        ))
