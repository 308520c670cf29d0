"""Caches of tables that depend only on (K, weights, weighting), bounded in bytes.

Step tables, quadrature rules and weight tables are built once and reused by
every later call. A bound on the number of entries would either thrash (a
ragged batch with hundreds of distinct set sizes) or hold gigabytes (a few
tables at K in the thousands), so each cache is bounded by the bytes of the
arrays it holds and evicts the least recently used. :func:`clear_caches`
empties all of them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = ["ByteCache", "clear_caches", "cache_bytes"]

_ALL: list["ByteCache"] = []


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 64


class ByteCache:
    """A least-recently-used mapping holding at most ``max_bytes`` of arrays.

    Values are arrays or tuples of arrays (counted by ``nbytes``); a value
    larger than the whole bound is returned to the caller but not kept.
    Thread-safe.

    Examples:
        >>> import numpy as np
        >>> from shapley_sets._cache import ByteCache
        >>> cache = ByteCache("example", max_bytes=8 * 10)
        >>> cache.put("a", np.zeros(6)); cache.put("b", np.zeros(6))
        >>> cache.get("a") is None, cache.get("b").shape, cache.nbytes
        (True, (6,), 48)
    """

    def __init__(self, name: str, max_bytes: int):
        self.name = name
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._bytes = 0
        self._lock = threading.Lock()
        _ALL.append(self)

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key):
        """The value stored under ``key`` (now the most recent), or None."""
        with self._lock:
            try:
                self._data.move_to_end(key)
            except KeyError:
                return None
            return self._data[key]

    def put(self, key, value) -> None:
        """Store ``value`` as the most recent entry, evicting the oldest ones
        until the bound holds."""
        size = _nbytes(value)
        with self._lock:
            if key in self._data:
                self._bytes -= self._sizes.pop(key)
                del self._data[key]
            if size > self.max_bytes:
                return
            self._data[key] = value
            self._sizes[key] = size
            self._bytes += size
            while self._bytes > self.max_bytes:
                old, _ = self._data.popitem(last=False)
                self._bytes -= self._sizes.pop(old)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()
            self._sizes.clear()
            self._bytes = 0


def cache_bytes() -> dict:
    """Bytes held by each table cache, by name.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets._cache import cache_bytes
        >>> ss.clear_caches()
        >>> sum(cache_bytes().values())
        0
    """
    return {c.name: c.nbytes for c in _ALL}


def clear_caches() -> None:
    """Empty every table cache of the library (step tables, quadrature rules,
    weight tables, size weights).

    Tables are rebuilt on the next call that needs them; results do not
    change. Use it to give memory back after work at large K.

    Examples:
        >>> import shapley_sets as ss
        >>> _ = ss.shapley(ss.RankWeighted.mean(), [3.0, 1.0, 2.0])
        >>> ss.clear_caches()
        >>> ss.shapley(ss.RankWeighted.mean(), [3.0, 1.0, 2.0]).round(4).tolist()
        [1.4167, -0.0833, 0.6667]
    """
    for cache in _ALL:
        cache.clear()
    for hook in _CLEAR_HOOKS:
        hook()


_CLEAR_HOOKS: list = []


def also_clear(fn) -> None:
    """Have :func:`clear_caches` also call ``fn()`` (e.g. an ``lru_cache``'s
    ``cache_clear``)."""
    _CLEAR_HOOKS.append(fn)
