"""``SetFunction``: a set utility given by the caller's own function."""

from __future__ import annotations

import contextlib
import gc
import inspect
import math
import numbers
import threading
from itertools import compress
from typing import Any, Callable

import numpy as np

from .._validation import set_label
from .calling import call_all
from .candidates import CandidateBatch

__all__ = ["SetFunction"]

# Beyond this many coalitions in all, a call that exceeds max_calls before
# sharing is refused without counting what sharing would save.
_PLANNED_ROWS = 1 << 23


def _check_count(value, name: str, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer or None, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value}")
    return int(value)


def _is_async(fn) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)
    )


def _short(obj, width: int = 40) -> str:
    text = repr(obj)
    return text if len(text) <= width else text[: width - 3] + "..."


class SetFunction:
    """A set utility over the caller's own candidates, given by a function.

    ``fn`` sees the candidates of one coalition (a list, in the set's order)
    and returns what that coalition is worth: an LLM judge rating a list of
    ideas, a learned set reward model, a simulator. With ``batched=True`` it
    receives a list of coalitions and returns one value per coalition, so a
    judge can score many in one request. ``async def`` functions are run as
    coroutines, at most ``concurrency`` at a time (from inside a running
    event loop, on a private loop in a worker thread: they must not use
    objects bound to the caller's loop).

    The input ``x`` of ``ss.shapley(u, x)`` and friends is a batch of sets: a
    list of lists of candidates (ragged allowed; results are padded with 0)
    or an array ``(..., K)`` of candidates (an object array for arbitrary
    objects), with an optional ``mask``.

    Within one call every coalition is evaluated at most once: coalitions are
    compared as multisets of candidates, two candidates being the same when
    they are equal hashable objects of one type (strings, numbers, tuples) or
    the very same object (dicts, lists and other unhashable objects: two equal
    but distinct dicts are different candidates). So identical coalitions of
    different sets of a batch share one evaluation. Nothing is cached between
    calls.

    Args:
        fn: ``fn(candidates: list) -> float``, or with ``batched=True``
            ``fn(coalitions: list[list]) -> sequence of floats``; may be an
            ``async def`` function.
        batched: whether ``fn`` takes a list of coalitions.
        empty_value: U(∅), when known (often 0). Without it the empty
            coalition is evaluated by calling ``fn([])`` when a result needs it.
        max_calls: the most coalitions one call (``ss.shapley``,
            ``ss.shapley_estimate``, ...) may evaluate; a call that needs more
            raises ``ValueError`` stating the number needed, before any
            evaluation. None: no limit.
        concurrency: for an ``async`` fn, the most coroutines in flight
            (default 16); for a plain fn, the number of threads it is called
            from (default 1: one call at a time, in the calling thread).
        batch_size: with ``batched=True``, the most coalitions per request
            (default: all of a call's coalitions in one request).

    Attributes:
        last_calls: coalitions evaluated by this thread's most recent call
            through this utility (0 before any); thread-local, so concurrent
            threads each see their own.
        last_requests: invocations of ``fn`` in that call (with
            ``batched=True``, requests of several coalitions each).
        total_calls: coalitions evaluated over the object's lifetime, all
            threads together.

    Raises:
        TypeError: ``fn`` is not callable, or an option has a wrong type.
        ValueError: ``empty_value`` is not finite, or a count is not positive.

    Examples:
        >>> import shapley_sets as ss
        >>> def judge(ideas):  # a stand-in for an LLM judge: distinct topics
        ...     return float(len({idea.split()[0] for idea in ideas}))
        >>> u = ss.SetFunction(judge, empty_value=0.0)
        >>> sets = [["solar roof", "solar farm", "wind farm"], ["wind mill"]]
        >>> ss.shapley(u, sets).round(3).tolist()
        [[0.5, 0.5, 1.0], [1.0, 0.0, 0.0]]
        >>> u.last_calls  # 7 coalitions of the first set, 1 of the second
        8
        >>> ss.leave_one_out(u, sets).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """

    core_ndim = 1

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        batched: bool = False,
        empty_value: float | None = None,
        max_calls: int | None = None,
        concurrency: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        if not isinstance(batched, bool):
            raise TypeError(f"batched must be True or False, got {batched!r}")
        if empty_value is not None:
            if isinstance(empty_value, bool) or not isinstance(empty_value, numbers.Real):
                raise TypeError(f"empty_value must be a real number or None, got {empty_value!r}")
            empty_value = float(empty_value)
            if not math.isfinite(empty_value):
                raise ValueError(f"empty_value must be finite, got {empty_value}")
        self.fn = fn
        self.batched = batched
        self.empty_value = empty_value
        self.max_calls = _check_count(max_calls, "max_calls")
        self.concurrency = _check_count(concurrency, "concurrency")
        self.batch_size = _check_count(batch_size, "batch_size")
        self.is_async = _is_async(fn)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._total = 0

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        opts = [f"batched={self.batched}"] if self.batched else []
        if self.empty_value is not None:
            opts.append(f"empty_value={self.empty_value!r}")
        if self.max_calls is not None:
            opts.append(f"max_calls={self.max_calls}")
        return f"SetFunction({', '.join([name] + opts)})"

    @property
    def last_calls(self) -> int:
        """Coalitions evaluated by this thread's latest call (thread-local)."""
        return getattr(self._local, "calls", 0)

    @property
    def last_requests(self) -> int:
        """Invocations of ``fn`` in this thread's latest call."""
        return getattr(self._local, "requests", 0)

    @property
    def total_calls(self) -> int:
        """Coalitions evaluated over the object's lifetime, all threads."""
        with self._lock:
            return self._total

    def _record(self, calls: int, requests: int) -> None:
        self._local.calls = calls
        self._local.requests = requests
        with self._lock:
            self._total += calls

    # -- evaluation ----------------------------------------------------------
    def _check_bound(self, per_set: np.ndarray, what: str) -> None:
        """Raise before building anything when the evaluations that sets need on
        their own (``per_set``, before sharing across sets) exceed ``max_calls``
        for sure, or would be too many to plan; :meth:`_evaluate` checks the
        exact count (after sharing) otherwise."""
        if self.max_calls is None or not len(per_set):
            return
        lower, upper = int(np.max(per_set)), int(np.sum(per_set))
        if lower > self.max_calls or (upper > self.max_calls and upper > _PLANNED_ROWS):
            s = int(np.argmax(per_set))
            exact = "" if len(per_set) == 1 else f" (set {s} alone needs {lower:,}; the batch up to {upper:,})"
            need = f"{lower:,}" if len(per_set) == 1 else f"at least {lower:,}"
            raise ValueError(
                f"{what} needs {need} evaluations of fn{exact}, more than "
                f"max_calls={self.max_calls:,}; raise max_calls, or use "
                "ss.shapley_estimate(u, x, budget=...) for an estimate with error bars"
            )

    def calls_needed(self, x: Any, weights: Any = "shapley", *, mask: Any = None) -> int:
        """How many evaluations of ``fn`` the exact values of ``weights`` on
        ``x`` would make (identical coalitions of different sets counted once,
        U(∅) free with ``empty_value``), without calling ``fn``.

        Args:
            x, mask: the batch, as for :func:`shapley_sets.shapley`.
            weights: ``"shapley"``, ``"banzhaf"``, ``"loo"``, ... as for
                :func:`shapley_sets.semivalue`, or ``"value"`` (U of each set).

        Returns:
            The number of evaluations.

        Raises:
            ValueError: K above the enumeration cap (25) for a weighting that
                needs every coalition; the errors of the input.

        Examples:
            >>> import shapley_sets as ss
            >>> u = ss.SetFunction(len, empty_value=0.0)
            >>> sets = [["a", "b", "c"], ["c", "b", "a"], ["a", "d"]]
            >>> u.calls_needed(sets), u.calls_needed(sets, "loo"), u.calls_needed(sets, "value")
            (9, 7, 2)
        """
        from .exact import count_calls

        return count_calls(self, x, mask, weights)

    def _evaluate(self, batch: CandidateBatch, requests: list, *, what: str,
                  dry_run: bool = False) -> Any:
        """Values of the coalitions ``requests[s]`` (bool ``(C_s, n_s)`` over the
        present candidates of set s, rows distinct) of every set of ``batch``.

        Identical coalitions (as multisets of candidates) are evaluated once;
        the empty one costs nothing when ``empty_value`` is given. The number
        of distinct evaluations is checked against ``max_calls`` before the
        first one. ``what`` names the computation in that error.
        """
        sets = [s for s, r in enumerate(requests) if r is not None and len(r)]
        out = [None if r is None else np.empty(len(r)) for r in requests]
        if not sets:
            if dry_run:
                return 0
            self._record(0, 0)
            return out
        counts = np.array([len(requests[s]) for s in sets], dtype=np.int64)
        owner = np.repeat(np.asarray(sets, dtype=np.int64), counts)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        empty = np.concatenate([~requests[s].any(axis=1) for s in sets])
        free = empty if self.empty_value is not None else np.zeros(len(empty), dtype=bool)
        todo = np.flatnonzero(~free)
        first, inverse = self._shared(batch, requests, sets, todo, empty)
        needed = len(first)
        if dry_run:
            return needed
        if self.max_calls is not None and needed > self.max_calls:
            raise ValueError(
                f"{what} needs {needed:,} evaluations of fn ({_breakdown(requests, free, owner)}), "
                f"more than max_calls={self.max_calls:,}; raise max_calls, or use "
                "ss.shapley_estimate(u, x, budget=...) for an estimate with error bars"
            )
        reps = todo[first]  # increasing: the coalitions go to fn set by set
        rep_owner = owner[reps]
        local = reps - offsets[np.searchsorted(sets, rep_owner)]
        coalitions = []
        cut = np.flatnonzero(np.diff(rep_owner)) + 1
        with _gc_paused():
            for chunk_rows, chunk_local in zip(np.split(reps, cut), np.split(local, cut)):
                s = int(owner[chunk_rows[0]])
                coalitions.extend(_coalition_lists(batch.sets[s], requests[s], chunk_local))

        def describe(c: int) -> str:
            s, row = int(rep_owner[c]), requests[int(rep_owner[c])][local[c]]
            where = set_label(batch.batch_shape, s)
            pos = batch.positions[s][row].tolist()
            shown = ", ".join(_short(v) for v in coalitions[c][:6])
            more = ", ..." if len(coalitions[c]) > 6 else ""
            return f"{where}, the coalition of candidates {pos} ([{shown}{more}])"

        values, invoked = call_all(
            self.fn, coalitions, describe, batched=self.batched, is_async=self.is_async,
            concurrency=self.concurrency, batch_size=self.batch_size,
        )
        self._record(needed, invoked)
        flat = np.empty(len(empty))
        flat[free] = self.empty_value if self.empty_value is not None else 0.0
        flat[todo] = values[inverse]
        for j, s in enumerate(sets):
            out[s] = flat[offsets[j] : offsets[j + 1]]
        return out

    @staticmethod
    def _shared(batch, requests, sets, todo, empty) -> tuple[np.ndarray, np.ndarray]:
        """Among the rows ``todo`` (flat over ``sets``), the first of each distinct
        coalition (increasing) and, per row, the index of its distinct coalition."""
        ids = np.concatenate([batch.ids[s] for s in sets])
        if len(np.unique(ids)) == len(ids):
            # No candidate appears twice in the batch: only empty coalitions
            # (one per set) can coincide; every other row is its own coalition.
            first = np.arange(len(todo))
            inverse = np.arange(len(todo))
            is_empty = np.flatnonzero(empty[todo])
            if len(is_empty) > 1:
                keep = np.ones(len(todo), dtype=bool)
                keep[is_empty[1:]] = False
                first = np.flatnonzero(keep)
                inverse = np.cumsum(keep) - 1
                inverse[is_empty] = inverse[is_empty[0]]
            return first, inverse
        # A coalition is a multiset of candidate ids: hash it as a sum of random
        # 64-bit words per id (order-free), group equal hashes, then check
        # every grouped row against its group's first row exactly, so a hash
        # collision can cost time but never a wrong value.
        words = _hash_words(int(ids.max()) + 1)
        hashed = np.concatenate([_row_hashes(requests[s], words[batch.ids[s]]) for s in sets])[todo]
        _, first, inverse, count = np.unique(hashed, return_index=True, return_inverse=True,
                                              return_counts=True)
        inverse = inverse.ravel()
        grouped = np.flatnonzero(count[inverse] > 1)
        if len(grouped):
            keys = _sorted_keys(batch, requests, sets, todo[grouped])
            rep = np.searchsorted(grouped, first[inverse[grouped]])
            if not np.array_equal(keys, keys[rep]):
                first, inverse = _distinct_rows(_sorted_keys(batch, requests, sets, todo))
        # Renumber the distinct coalitions in order of first appearance.
        keep = np.zeros(len(todo), dtype=bool)
        keep[first] = True
        rank = (np.cumsum(keep) - 1)[first]
        return np.flatnonzero(keep), rank[inverse]


def _hash_words(n: int) -> np.ndarray:
    """Odd random 64-bit words, one per candidate id (fixed: runs repeat)."""
    rng = np.random.default_rng(0x5E7)
    return rng.integers(0, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def _is_every_coalition(members: np.ndarray) -> bool:
    """Whether ``members`` lists every coalition of its n candidates in code
    order (bit j of row m set iff candidate j is in it), as exact values ask."""
    n = members.shape[1]
    if len(members) != 1 << n or n > 25:
        return False
    return bool(np.array_equal(members @ (1 << np.arange(n, dtype=np.int64)), np.arange(1 << n)))


def _row_hashes(members: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Σ of the members' words per row (uint64, wrapping)."""
    if _is_every_coalition(members):
        out = np.zeros(1, dtype=np.uint64)
        for w in words:  # the rows with bit j are those without it, plus w_j
            out = np.concatenate([out, out + w])
        return out
    return np.where(members, words[None, :], np.uint64(0)).sum(axis=1, dtype=np.uint64)


def _sorted_keys(batch, requests, sets, flat_rows: np.ndarray) -> np.ndarray:
    """Rows ``flat_rows`` (flat over ``sets``) as sorted id vectors, padded."""
    sizes = np.array([len(requests[s]) for s in sets], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    width = max(requests[s].shape[1] for s in sets)
    big = np.iinfo(np.int64).max
    which = np.searchsorted(offsets, flat_rows, side="right") - 1
    out = np.full((len(flat_rows), width), big, dtype=np.int64)
    for j in np.unique(which):
        s, pick = sets[j], np.flatnonzero(which == j)
        key = np.where(requests[s][flat_rows[pick] - offsets[j]], batch.ids[s][None, :], big)
        key.sort(axis=1)
        out[pick, : key.shape[1]] = key
    return out


@contextlib.contextmanager
def _gc_paused():
    # Building many small lists triggers the cyclic garbage collector over and
    # over (each pass scans every list built so far); none of them can form a
    # cycle, so collection waits until they are built.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _coalition_lists(cands: list, members: np.ndarray, rows: np.ndarray) -> list:
    """The candidate lists of coalitions ``members[rows]`` of one set."""
    if _is_every_coalition(members):
        # each list is a shorter one plus one candidate, built by doubling
        every: list = [[]]
        for c in cands:
            every += [prev + [c] for prev in every]
        return [every[r] for r in rows.tolist()]
    return [list(compress(cands, row)) for row in members[rows].tolist()]


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First occurrence of each distinct row and, per row, its distinct index."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if rows.shape[1] == 0:  # every row is the empty coalition
        return np.zeros(1, dtype=np.int64), np.zeros(len(rows), dtype=np.int64)
    rows = np.ascontiguousarray(rows)
    view = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _breakdown(requests, free, owner) -> str:
    per_set = np.bincount(owner[~free], minlength=len(requests))
    n = len(requests)
    if n == 1:
        return "one set"
    return f"{n} sets, {int(per_set.max()):,} for the largest, before sharing identical coalitions"
