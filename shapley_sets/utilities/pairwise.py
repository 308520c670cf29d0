"""Pairwise (2-additive) utilities: quality minus a diversity penalty."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._scalars import check_finite_real
from .._validation import as_float_array, check_finite, set_label
from .base import Utility

__all__ = ["Pairwise"]

# Float-computed distance matrices (1 - E @ E.T and the like) are often
# symmetric only up to rounding; asymmetry up to this many units of the
# largest |D| is averaged away, anything larger is a user error.
_SYMMETRY_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class Pairwise(Utility):
    """``U(S) = Σ_{j∈S} q_j - λ Σ_{i<j∈S} D_ij``, ``U(∅) = 0``.

    A 2-additive game: every candidate brings its quality ``q_j``, and every
    pair of candidates in the set costs ``λ D_ij`` (for a diversity penalty,
    ``D_ij`` is the similarity of i and j). Its exact Shapley values are
    ``φ_i = q_i - (λ/2) Σ_{j≠i, j∈S} D_ij`` (docs/math.md#sums-of-simple-games), O(K²) per set.

    The input ``x`` is the qualities ``q`` of shape ``(..., K)``, so a
    pairwise term composes with other utilities of scores, e.g.
    ``ss.BestOf() + ss.Pairwise(D, lam=0.1)``.

    Args:
        distances: the symmetric matrix ``D``, shape ``(K, K)`` for one matrix
            shared by every set, or ``batch + (K, K)`` (any leading axes that
            broadcast against the sets' batch axes) for one matrix per set.
            It is copied and stored read-only. Its diagonal is never used
            (pairs are i < j) but must be finite. Asymmetry within 1e-12 of
            the largest ``|D|`` of a matrix (rounding) is averaged away.
        lam: the penalty weight λ, a finite real number.

    Raises:
        TypeError: non-numeric ``distances`` or ``lam``.
        ValueError: ``distances`` not a (…, K, K) array, with NaN/inf, or not
            symmetric (naming the set and the pair (i, j)); when called, a
            ``distances`` that does not broadcast to the sets'
            ``batch + (K, K)``.

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> D = np.array([[0.0, 0.9, 0.1],
        ...               [0.9, 0.0, 0.2],
        ...               [0.1, 0.2, 0.0]])
        >>> u = ss.Pairwise(D, lam=0.5)
        >>> ss.shapley(u, [1.0, 1.0, 0.5]).round(3).tolist()
        [0.75, 0.725, 0.425]
        >>> float(ss.value(u, [1.0, 1.0, 0.5]))
        1.9
        >>> ss.shapley(ss.BestOf() + u, [1.0, 1.0, 0.5]).round(3).tolist()
        [1.167, 1.142, 0.592]
    """

    distances: np.ndarray
    lam: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "lam", check_finite_real("lam", self.lam))

        d = as_float_array(self.distances, "distances", min_ndim=2)
        if d.shape[-1] != d.shape[-2]:
            raise ValueError(
                f"distances must be square on its last two axes (…, K, K), got shape {d.shape}"
            )
        check_finite(d, "distances", core_ndim=2)
        d = np.array(d, dtype=np.float64, order="C")  # our own copy
        dt = np.swapaxes(d, -1, -2)
        gap = np.abs(d - dt)
        if gap.any():
            scale = np.abs(d).max(axis=(-2, -1), keepdims=True)
            bad = gap > _SYMMETRY_RTOL * scale
            if bad.any():
                first = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), d.shape)
                batch = d.shape[:-2]
                flat = int(np.ravel_multi_index(first[:-2], batch)) if batch else 0
                i, j = int(first[-2]), int(first[-1])
                raise ValueError(
                    f"distances must be symmetric; at {set_label(batch, flat)}, pair ({i}, {j}): "
                    f"D[{i}, {j}] = {d[first]} but D[{j}, {i}] = {dt[first]}"
                )
            d = np.where(d == dt, d, 0.5 * d + 0.5 * dt)
        d.flags.writeable = False
        object.__setattr__(self, "distances", d)

    # Arrays have no single truth value: compare by content, hash by identity
    # of content (shape, lam and bytes).
    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.lam == other.lam and np.array_equal(self.distances, other.distances) and (
            self.distances.shape == other.distances.shape
        )

    def __hash__(self):
        return hash((type(self), self.lam, self.distances.shape, self.distances.tobytes()))

    def __repr__(self):
        return f"Pairwise(distances=<array {self.distances.shape}>, lam={self.lam})"

    def permuted(self, perm: ArrayLike) -> "Pairwise":
        """The same utility with candidates relabelled: ``D[perm][:, perm]``.

        Examples:
            >>> import shapley_sets as ss
            >>> u = ss.Pairwise([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
            >>> u.permuted([2, 0, 1]).distances.tolist()
            [[0.0, 2.0, 3.0], [2.0, 0.0, 1.0], [3.0, 1.0, 0.0]]
        """
        perm = np.asarray(perm)
        return Pairwise(self.distances[..., perm, :][..., :, perm], self.lam)

    def rescaled(self, c: float) -> "Pairwise":
        """``Pairwise(c·D, lam)``: qualities and penalties scale together.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.Pairwise([[0.0, 2.0], [2.0, 0.0]]).rescaled(0.5).distances.tolist()
            [[0.0, 1.0], [1.0, 0.0]]
        """
        return Pairwise(self.distances * c, self.lam)

    def check_input(self, x: np.ndarray) -> None:
        k = x.shape[-1]
        batch = x.shape[:-1]
        d = self.distances
        ok = d.shape[-1] == k
        if ok:
            try:
                ok = np.broadcast_shapes(d.shape[:-2], batch) == batch
            except ValueError:
                ok = False
        if not ok:
            raise ValueError(
                f"distances of shape {d.shape} does not broadcast to the sets' "
                f"batch + (K, K) = {batch + (k, k)} (x has shape {x.shape})"
            )

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        m = np.asarray(members, dtype=bool).astype(np.float64)
        quality = (m * x[..., None, :]).sum(axis=-1)
        upper = np.triu(self.distances, 1)
        # Σ_{i<j} m_i D_ij m_j for every coalition (row of m)
        penalty = (np.matmul(m, upper) * m).sum(axis=-1)
        return quality - self.lam * penalty
