"""A batch of sets of the caller's own candidate objects.

Candidates may be anything (strings, dicts, ids). Each one gets an integer
id, equal for two candidates when they are the same: equal hashable objects
of the same type, or (for unhashable objects such as dicts and lists) the
very same object. Coalitions are then compared as multisets of ids, which is
what lets identical coalitions of different sets share one evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import prepare_mask
from ..adapters.arrays import is_tensor

__all__ = ["CandidateBatch", "parse_candidates", "scatter"]

_IDENTITY = object()


def _key(obj):
    # The type is part of the key so that 1, 1.0 and True stay apart: a judge
    # may well tell them apart.
    try:
        hash(obj)
    except TypeError:
        return (_IDENTITY, id(obj))
    return (type(obj), obj)


@dataclass(frozen=True, eq=False)
class CandidateBatch:
    """Validated sets: present candidates only, with their output positions.

    Attributes:
        sets: per set (flat batch order), its present candidates in order.
        positions: per set, int64 positions of those candidates on the
            output's candidate axis.
        ids: per set, int64 ids of its candidates (see the module docstring).
        batch_shape: shape of the batch (``(n,)`` for a list of n sets).
        k: length of the output's candidate axis.
    """

    sets: list
    positions: list
    ids: list
    batch_shape: tuple
    k: int

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(s) for s in self.sets], dtype=np.int64)

    def scatter(self, per_set: list) -> np.ndarray:
        """Per-set value vectors (over present candidates) into ``batch + (k,)``."""
        return scatter(per_set, self.positions, self.batch_shape, self.k)


def scatter(per_set: list, positions: list, batch_shape: tuple, k: int) -> np.ndarray:
    """Per-set vectors over present candidates into a zero-padded
    ``batch_shape + (k,)`` array (absent candidates get exactly 0)."""
    out = np.zeros((len(per_set), k), dtype=np.float64)
    for s, vals in enumerate(per_set):
        out[s, positions[s]] = vals
    return out.reshape(tuple(batch_shape) + (k,))


def _as_set(item, index: int) -> list:
    if isinstance(item, (str, bytes)) or not isinstance(item, (list, tuple, np.ndarray)):
        raise TypeError(
            "x must be a batch of sets: a list of sets, each a list (or tuple) of "
            f"candidates; set {index} is a {type(item).__name__}. For one set pass "
            "[candidates]"
        )
    if isinstance(item, np.ndarray):
        if item.ndim != 1:
            raise ValueError(f"set {index} of x must be 1-D, got an array of shape {item.shape}")
        return item.tolist() if item.dtype != object else list(item)
    return list(item)


def parse_candidates(x, mask=None) -> CandidateBatch:
    """Validate ``x`` (a list of sets, or an array ``(..., K)`` of candidates)
    and ``mask`` into a :class:`CandidateBatch`; the inputs are never modified."""
    if is_tensor(x):
        raise TypeError("x is a torch tensor; pass a list of sets of candidates or a numpy array")
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            raise ValueError("x must have at least one axis (candidates on the last axis), got a 0-d array")
        batch_shape, k = x.shape[:-1], x.shape[-1]
        flat = x.reshape(-1, k) if k else np.zeros((int(np.prod(batch_shape, dtype=np.int64)), 0))
        rows = [list(r) if x.dtype == object else r.tolist() for r in flat]
    elif isinstance(x, (list, tuple)):
        rows = [_as_set(item, i) for i, item in enumerate(x)]
        batch_shape = (len(rows),)
        k = max((len(r) for r in rows), default=0)
    else:
        raise TypeError(
            f"x must be a list of sets of candidates or a numpy array, got {type(x).__name__}"
        )
    # The number of sets spelled out: reshape(-1, 0) cannot infer it when no set has a candidate.
    present = prepare_mask(mask, tuple(batch_shape) + (k,)).reshape(int(np.prod(batch_shape, dtype=np.int64)), k)
    interned: dict = {}
    sets, positions, ids = [], [], []
    for s, row in enumerate(rows):
        pos = np.flatnonzero(present[s, : len(row)]).astype(np.int64)
        members = [row[j] for j in pos]
        sets.append(members)
        positions.append(pos)
        ids.append(np.fromiter((interned.setdefault(_key(c), len(interned)) for c in members),
                               dtype=np.int64, count=len(members)))
    return CandidateBatch(sets, positions, ids, tuple(batch_shape), int(k))
