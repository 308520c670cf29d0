"""Token -> candidate maps from a tokenizer's character offsets.

Layout A needs, for every response token, the candidate it belongs to
(:func:`shapley_sets.grpo.token_advantages`' ``candidate_ids``). Reward code
knows where each candidate lies in the *text*; a fast tokenizer knows which
characters each *token* covers (``return_offsets_mapping=True``).
:func:`token_candidates` joins the two.
"""

from __future__ import annotations

import array
import itertools
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..adapters.arrays import first_tensor, is_tensor, to_numpy
from ._checks import check_batch_memory, response_keep
from ._span_kernels import BAD_OFFSET, OK, OVERLAP, map_tokens

__all__ = ["token_candidates"]

_NO_KEEP = np.ones((1, 1), dtype=np.bool_)


def token_candidates(offsets: Any, spans: Any, *, response_mask: Any = None) -> Any:
    """Per-token candidate ids from token offsets and candidates' character spans.

    A token covering characters ``[a, b)`` belongs to the candidate whose span
    ``[start, end)`` covers most of those characters, the earlier candidate on
    a tie; a token overlapping no span gets -1, and so does every zero-length
    token (``(0, 0)``: padding, special tokens), so left and right padding
    need no mask.

    Args:
        offsets: the tokens' character offsets, an (N, T, 2) integer array or
            tensor (a fast tokenizer's ``offset_mapping``), or nested lists
            of N rows of ``(a, b)`` pairs (rows may differ in length; short
            rows are padded with zero-length tokens).
        spans: per completion, its candidates' character spans in candidate
            order: a sequence of N sequences of ``(start, end)`` pairs
            (lengths may differ; :func:`candidate_spans` returns this), or an
            (N, K, 2) integer array. A candidate with ``start == end`` is
            empty and owns no token; non-empty spans must not overlap.
        response_mask: optional (N, T) bool/0-1 mask; tokens where it is
            False/0 get -1.

    Returns:
        (N, T) int64 candidate ids in [-1, K_i), numpy, or an int64 tensor on
        ``offsets``' device when ``offsets`` is a tensor; ready for
        :func:`token_advantages` and the verl encoding.

    Raises:
        TypeError: non-integer offsets or spans, ``spans`` not a sequence of
            sequences of pairs, a non-boolean mask.
        ValueError: shapes; a span with ``start < 0`` or ``end < start``, or
            two overlapping spans (naming completion and candidates); a token
            with ``a < 0`` or ``b < a`` (naming completion and token).

    Examples:
        >>> text = "1. red\\n2. blue"          # candidates "red" (3, 6) and "blue" (10, 14)
        >>> offsets = [[(0, 2), (3, 6), (6, 7), (7, 9), (10, 12), (12, 14), (0, 0)]]
        >>> token_candidates(offsets, [[(3, 6), (10, 14)]])
        array([[-1,  0, -1, -1,  1,  1, -1]])
        >>> token_candidates([[(0, 4), (4, 8)]], [[(0, 2), (2, 5), (5, 8)]])  # (0, 4): a tie, the earlier wins
        array([[0, 2]])
    """
    off = _offsets_array(offsets, mask_bytes=int(response_mask is not None))
    n, t = off.shape[0], off.shape[1]
    starts, ends, row_ptr = _flat_spans(spans, n)
    keep, has_keep = _NO_KEEP, False
    if response_mask is not None:
        m = to_numpy(response_mask, "response_mask")
        if m.shape != (n, t):
            raise ValueError(f"response_mask must have the shape of offsets' tokens {(n, t)}, got {m.shape}")
        if m.dtype.kind not in "biuf":
            raise TypeError(f"response_mask must be boolean or 0/1, got dtype {m.dtype}")
        # the one rule of every mask argument: booleans, or numbers each 0 or 1
        keep = response_keep(m)
        has_keep = True
    out = np.empty((n, t), dtype=np.int64)
    err = np.zeros((n, 3), dtype=np.int64)
    map_tokens(off, starts, ends, row_ptr, keep, has_keep, out, err)
    failed = np.flatnonzero(err[:, 0])
    code = err[failed[0], 0] if failed.size else OK
    if code == BAD_OFFSET:
        i, j = int(failed[0]), int(err[failed[0], 1])
        raise ValueError(
            f"offsets must be character intervals (a, b) with 0 <= a <= b; completion {i}, token {j} "
            f"has {tuple(int(v) for v in off[i, j])}"
        )
    if code == OVERLAP:
        i = int(failed[0])
        c1, c2 = (int(v) for v in err[i, 1:])
        s1, s2 = (int(row_ptr[i]) + c for c in (c1, c2))
        raise ValueError(
            f"spans of completion {i} overlap: candidate {c1} {(int(starts[s1]), int(ends[s1]))} and "
            f"candidate {c2} {(int(starts[s2]), int(ends[s2]))}; a character can belong to one candidate only"
        )
    x = first_tensor(offsets)
    if x is None:
        return out
    torch = sys.modules["torch"]
    ids = torch.from_numpy(out)
    return ids if x.device.type == "cpu" else ids.to(x.device)


def _int_array(values, name: str) -> np.ndarray:
    arr = to_numpy(values, name)
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers (character positions), got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds a position beyond int64's range")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _offsets_array(offsets, mask_bytes: int) -> np.ndarray:
    if is_tensor(offsets) or isinstance(offsets, np.ndarray):
        raw = to_numpy(offsets, "offsets")
        if raw.ndim == 3:
            # per token: the ids (8 bytes), the offsets as contiguous int64
            # unless they are (16), the mask as booleans
            copy = raw.dtype != np.int64 or not raw.flags.c_contiguous
            check_batch_memory(raw.shape[:2], "offsets", 8 + 16 * copy + mask_bytes)
        off = _int_array(raw, "offsets")
    else:
        if not isinstance(offsets, Sequence) or isinstance(offsets, (str, bytes)):
            raise TypeError(f"offsets must be an (N, T, 2) array or nested lists, got {type(offsets).__name__}")
        rows = [_offset_row(r, i) for i, r in enumerate(offsets)]
        t = max((r.shape[0] for r in rows), default=0)
        off = np.zeros((len(rows), t, 2), dtype=np.int64)
        for i, r in enumerate(rows):
            off[i, : r.shape[0]] = r
    if off.ndim != 3 or off.shape[2] != 2:
        raise ValueError(f"offsets must have shape (N, T, 2), got {off.shape}")
    return off


def _pairs_array(spans) -> np.ndarray:
    """The (P, 2) int64 array of every completion's pairs, in order.

    From one flat list of numbers: ``array("q")`` takes Python and numpy
    integers only (a float, a string or None is a TypeError, never a
    truncation) and converts about 3x faster than numpy's inference; what
    it refuses goes through numpy's inference, whose dtype names the
    problem. A list of pairs would be slower still: numpy discovers its
    nesting pair by pair."""
    try:
        pairs = list(itertools.chain.from_iterable(spans))
        pairs_ok = set(map(len, pairs)) <= {2}
    except TypeError:  # a completion or a pair that is not a sequence
        pairs_ok = False
    flat = None
    if pairs_ok:
        values = list(itertools.chain.from_iterable(pairs))
        try:
            return np.frombuffer(array.array("q", values), dtype=np.int64).reshape(-1, 2)
        except (TypeError, OverflowError):
            flat = np.array(values)
    if flat is None or flat.ndim != 1 or flat.dtype.kind in "OSUV":
        i = next((i for i, row in enumerate(spans) if not _is_pair_list(row)), 0)
        raise TypeError(f"spans[{i}] must be a sequence of (start, end) pairs of integers, got {spans[i]!r:.80}")
    return _int_array(flat, "spans").reshape(-1, 2)


def _is_pair_list(row) -> bool:
    if not isinstance(row, Sequence) or isinstance(row, (str, bytes)):
        return False
    return all(isinstance(p, Sequence) and not isinstance(p, (str, bytes)) and len(p) == 2
               and all(isinstance(v, (numbers.Number, np.number)) for v in p) for p in row)


def _offset_row(row, i: int) -> np.ndarray:
    """Row i of nested-list offsets as a (T_i, 2) int64 array (an empty row: (0, 2))."""
    try:
        arr = np.asarray(row)
    except ValueError:  # ragged: numpy cannot make one array of it
        arr = None
    if arr is not None and arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr is None or arr.ndim != 2 or arr.shape[1] != 2:
        got = "a ragged row" if arr is None else f"shape {arr.shape}"
        raise ValueError(f"offsets[{i}] must be a list of (a, b) pairs, got {got}")
    return _int_array(arr, f"offsets[{i}]")


def _flat_spans(spans, n: int):
    """``starts``, ``ends`` and ``row_ptr`` (N + 1,) of the spans, validated."""
    if is_tensor(spans) or isinstance(spans, np.ndarray):
        arr = _int_array(spans, "spans")
        if arr.ndim != 3 or arr.shape[0] != n or arr.shape[2] != 2:
            raise ValueError(f"spans as an array must have shape ({n}, K, 2), got {arr.shape}")
        flat = arr.reshape(-1, 2)
        row_ptr = np.arange(n + 1, dtype=np.int64) * arr.shape[1]
    else:
        if not isinstance(spans, Sequence) or isinstance(spans, (str, bytes)):
            raise TypeError(f"spans must be a sequence of N sequences of (start, end) pairs, got {type(spans).__name__}")
        if len(spans) != n:
            raise ValueError(f"spans must hold one list per completion ({n}), got {len(spans)}")
        flat = _pairs_array(spans)
        counts = np.fromiter(map(len, spans), dtype=np.int64, count=n)
        row_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=row_ptr[1:])
    starts, ends = np.ascontiguousarray(flat[:, 0]), np.ascontiguousarray(flat[:, 1])
    bad = (starts < 0) | (ends < starts)
    if bad.any():
        q = int(np.flatnonzero(bad)[0])
        i = int(np.searchsorted(row_ptr, q, side="right")) - 1
        raise ValueError(
            f"spans must be (start, end) with 0 <= start <= end; completion {i}, candidate "
            f"{q - int(row_ptr[i])} has {(int(starts[q]), int(ends[q]))}"
        )
    return starts, ends, row_ptr
