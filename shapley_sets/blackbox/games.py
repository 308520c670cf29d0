"""One interface over the sets of a batch for the estimators: how many present
candidates each set has, and the values of chosen coalitions of each set,
whether the utility is a :class:`SetFunction` or a structured utility."""

from __future__ import annotations

import numpy as np

from .._validation import coalition_values_of, set_label
from .candidates import parse_candidates, scatter
from .set_function import SetFunction

__all__ = ["Game", "make_game"]

# Coalitions of a structured utility are evaluated in chunks of about this
# many membership entries, whatever the batch.
_MEMBER_BUDGET = 1 << 22


class Game:
    """The sets of a batch seen as cooperative games over their present candidates.

    Attributes:
        sizes: int64 array, present candidates per set (flat batch order).
        empty_free: True when U(∅) costs no evaluation (``empty_value``).
        batch_shape, k: the shape of results, ``batch_shape + (k,)``.
    """

    sizes: np.ndarray
    empty_free: bool
    batch_shape: tuple
    k: int

    def values(self, requests: list, what: str) -> list:
        """Per set, the values of the coalitions ``requests[s]`` (bool rows over
        its present candidates, distinct; None for none)."""
        raise NotImplementedError

    def scatter(self, per_set: list) -> np.ndarray:
        """Per-set vectors over present candidates into ``batch_shape + (k,)``."""
        raise NotImplementedError


class _BlackBoxGame(Game):
    def __init__(self, u: SetFunction, x, mask):
        self.u = u
        self.batch = parse_candidates(x, mask)
        self.sizes = self.batch.sizes
        self.empty_free = u.empty_value is not None
        self.batch_shape, self.k = self.batch.batch_shape, self.batch.k

    def values(self, requests, what):
        return self.u._evaluate(self.batch, requests, what=what)

    def scatter(self, per_set):
        return self.batch.scatter(per_set)


class _StructuredGame(Game):
    def __init__(self, u, x, mask):
        from .._api import _prepare

        self.u = u
        self.x, full = _prepare(u, x, mask)
        core = getattr(u, "core_ndim", 1)
        self.batch_shape = self.x.shape[: self.x.ndim - core]
        self.k = self.x.shape[-1]
        n_sets = int(np.prod(self.batch_shape, dtype=np.int64))
        mask2 = full.reshape(n_sets, self.k)
        self.positions = [np.flatnonzero(row) for row in mask2]
        self.sizes = np.array([len(p) for p in self.positions], dtype=np.int64)
        self.empty_free = False

    def values(self, requests, what):
        # One call over the whole batch (utilities may hold per-set data, such
        # as Pairwise's matrices, so sets are never regrouped); sets with fewer
        # coalitions are padded with empty ones, evaluated and dropped.
        counts = [0 if r is None else len(r) for r in requests]
        c_max = max(counts, default=0)
        out = [None if r is None else np.empty(len(r)) for r in requests]
        if c_max == 0:
            return out
        n_sets = len(requests)
        step = max(1, _MEMBER_BUDGET // max(1, n_sets * self.k))
        for start in range(0, c_max, step):
            stop = min(c_max, start + step)
            members = np.zeros((n_sets, stop - start, self.k), dtype=bool)
            for s, r in enumerate(requests):
                if counts[s] > start:
                    block = r[start:stop]
                    members[s, : len(block)][:, self.positions[s]] = block
            with np.errstate(over="ignore", invalid="ignore"):  # found and reported just below
                vals = coalition_values_of(
                    self.u, self.x, members.reshape(self.batch_shape + members.shape[1:])
                ).reshape(n_sets, stop - start)
            if not np.isfinite(vals).all():
                s = int(np.flatnonzero(~np.isfinite(vals).all(axis=1))[0])
                raise ValueError(
                    f"{type(self.u).__name__} returned a non-finite coalition value for "
                    f"{set_label(self.batch_shape, s)} in {what} (beyond the float64 range, about "
                    "±1.8e308, or NaN); rescale x"
                )
            for s in range(n_sets):
                if counts[s] > start:
                    out[s][start : min(stop, counts[s])] = vals[s, : min(stop, counts[s]) - start]
        return out

    def scatter(self, per_set):
        return scatter(per_set, self.positions, self.batch_shape, self.k)


def make_game(u, x, mask) -> Game:
    """The :class:`Game` of utility ``u`` on input ``x`` (validated here)."""
    if isinstance(u, SetFunction):
        return _BlackBoxGame(u, x, mask)
    return _StructuredGame(u, x, mask)
