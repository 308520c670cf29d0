"""A utility given by an explicit value table, for testing any attribution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..utilities.base import Utility

__all__ = ["TableGame", "coalition_codes"]


def coalition_codes(members: np.ndarray) -> np.ndarray:
    """Integer code of each coalition: bit j set iff ``members[..., j]``.

    Examples:
        >>> from shapley_sets.testing import coalition_codes
        >>> coalition_codes([[True, False, True], [False, True, False]]).tolist()
        [5, 2]
    """
    members = np.asarray(members)
    if members.dtype != np.bool_:
        raise TypeError(f"members must be a boolean array (True = in the coalition), got dtype {members.dtype}")
    k = members.shape[-1] if members.ndim else 0
    if k > 62:  # the codes are int64
        raise ValueError(f"coalition codes need K <= 62 candidates (int64 bits), got K = {k}")
    return (members.astype(np.int64) << np.arange(k, dtype=np.int64)).sum(axis=-1)


@dataclass(frozen=True, eq=False)
class TableGame(Utility):
    """Any set function, given as a value table ``(..., 2**K)``.

    Its input ``x`` only carries the batch shape and K (use
    ``np.zeros(table.shape[:-1] + (K,))``); ``table[..., m]`` is U of the
    coalition whose members are the set bits of ``m``. It lets the axiom
    checker and the reference engine treat a bare table as a utility.

    Examples:
        >>> import numpy as np, shapley_sets as ss
        >>> from shapley_sets.testing import TableGame
        >>> g = TableGame(np.array([0.0, 1.0, 2.0, 4.0]))
        >>> ss.shapley(g, np.zeros(2)).tolist()
        [1.5, 2.5]
    """

    table: np.ndarray

    def __post_init__(self):
        table = np.array(self.table, dtype=np.float64)  # private copy
        length = table.shape[-1] if table.ndim else 0
        if table.ndim == 0 or length & (length - 1) or length == 0:
            raise ValueError(f"table's last axis must have length 2**K, got shape {table.shape}")
        table.setflags(write=False)
        object.__setattr__(self, "table", table)

    @property
    def k(self) -> int:
        return self.table.shape[-1].bit_length() - 1

    def check_input(self, x: np.ndarray) -> None:
        if x.shape[-1] != self.k:
            raise ValueError(f"x must have K = {self.k} candidates on its last axis, got {x.shape[-1]}")
        try:
            np.broadcast_shapes(self.table.shape[:-1], x.shape[:-1])
        except ValueError:
            raise ValueError(
                f"the table's batch shape {self.table.shape[:-1]} does not broadcast "
                f"with x's batch shape {x.shape[:-1]}"
            ) from None

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        codes = coalition_codes(members)
        batch = np.broadcast_shapes(x.shape[:-1], self.table.shape[:-1], codes.shape[:-1])
        table = np.broadcast_to(self.table, batch + self.table.shape[-1:])
        codes = np.broadcast_to(codes, batch + codes.shape[-1:])
        return np.take_along_axis(table, codes, axis=-1)

    def permuted(self, perm: ArrayLike) -> "TableGame":
        """The same game with candidate ``perm[j]`` renamed ``j``.

        Examples:
            >>> import numpy as np
            >>> from shapley_sets.testing import TableGame
            >>> TableGame(np.array([0.0, 1.0, 2.0, 4.0])).permuted([1, 0]).table.tolist()
            [0.0, 2.0, 1.0, 4.0]
        """
        perm = np.asarray(perm)
        codes = np.arange(self.table.shape[-1])
        old_codes = np.zeros_like(codes)
        for new_j, old_j in enumerate(perm):
            old_codes |= ((codes >> new_j) & 1) << int(old_j)
        return TableGame(self.table[..., old_codes])
