"""Kernels of the layout-A encoding in verl's ``token_level_rewards``.

A mark is a token whose value is nonzero or ``-0.0``: the last token of a
candidate, holding its Shapley value. :func:`read_marks` collects each
row's marks (values and positions) in one pass; :func:`expand_marks` writes
the per-token advantages run by run from the positions, so the estimator
never builds the (N, T) candidate ids nor a float64 copy of its answer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from shapley_sets.adapters.arrays import to_numpy

__all__ = ["Marks", "read_marks", "expand_marks"]

_ALL_VALID = np.ones((1, 1), dtype=np.bool_)
#: Candidates per row read in the first pass; a row with more is read again.
_FIRST_WIDTH = 64


# The kernels read the float32 rewards as int32 bit patterns: a token is a
# mark iff its bits are not all zero (+0.0 is the only float with no bit set;
# -0.0 has the sign bit), an integer test that measured about twice as fast
# as comparing floats and testing the sign. A float32 mask is read the same
# way, without its sign bit (so -0.0 is padding, as 0.0 is).


@njit(cache=True, inline="always")
def _valid(valid, i, j, float_bits):
    if float_bits:
        return (valid[i, j] & 0x7FFFFFFF) != 0
    return valid[i, j] != 0


@njit(cache=True)
def _read(bits, valid, use_valid, float_bits, counts, phi, ends):
    """Per row: the count of marks and, up to phi's width, their values and
    positions; returns the largest count."""
    n, t = bits.shape
    width = phi.shape[1]
    values = bits.view(np.float32)
    most = 0
    for i in range(n):
        c = 0
        for j in range(t):
            # Marks are rare: the mask is only read where there is one.
            if bits[i, j] != 0 and (not use_valid or _valid(valid, i, j, float_bits)):
                if c < width:
                    phi[i, c] = values[i, j] + 0.0  # -0.0 becomes 0.0
                    ends[i, c] = j
                c += 1
        counts[i] = c
        most = max(most, c)
    return most


@njit(cache=True, inline="always")
def _fill(out, valid, use_valid, float_bits, i, start, stop, value):
    # Branch-free over a run of tokens (a select, not a test per token), so
    # LLVM vectorises it.
    zero = np.float32(0.0)
    if not use_valid:
        for j in range(start, stop):
            out[i, j] = value
    elif float_bits:
        for j in range(start, stop):
            out[i, j] = value if (valid[i, j] & 0x7FFFFFFF) != 0 else zero
    else:
        for j in range(start, stop):
            out[i, j] = value if valid[i, j] != 0 else zero


@njit(cache=True)
def _expand(valid, use_valid, float_bits, counts, ends, cand, set_adv, out):
    """Candidate c of row i owns the tokens after mark c - 1 up to mark c;
    the tokens after the last mark get ``set_adv[i]``; padding gets 0."""
    n, t = out.shape
    for i in range(n):
        start = 0
        for c in range(counts[i]):
            stop = ends[i, c] + 1
            _fill(out, valid, use_valid, float_bits, i, start, stop, np.float32(cand[i, c]))
            start = stop
        _fill(out, valid, use_valid, float_bits, i, start, t, np.float32(set_adv[i]))


@njit(cache=True)
def _ids(bits, valid, use_valid, float_bits, counts, ids):
    n, t = bits.shape
    for i in range(n):
        c = 0
        for j in range(t):
            if (use_valid and not _valid(valid, i, j, float_bits)) or c >= counts[i]:
                ids[i, j] = -1
            else:
                ids[i, j] = c
                if bits[i, j] != 0:
                    c += 1


class Marks(NamedTuple):
    """The marks of a batch: ``phi`` (N, K) float64, ``present`` (N, K) bool,
    ``counts`` (N,), the marks' token positions ``ends`` (N, >= K), and the
    rewards (as int32 bits) and mask they were read from."""

    phi: np.ndarray
    present: np.ndarray
    counts: np.ndarray
    ends: np.ndarray
    bits: np.ndarray
    valid: np.ndarray
    use_valid: bool
    float_bits: bool


def read_marks(token_level_rewards, response_mask=None) -> Marks:
    """The candidates of every row of an encoded (N, T) rewards tensor or array.

    Marks on tokens outside ``response_mask`` are ignored. K is the largest
    count of marks in a row (at least 1).
    """
    r = to_numpy(token_level_rewards)
    if r.ndim != 2:
        raise ValueError(f"token_level_rewards must have shape (N, T), got {r.shape}")
    bits = np.ascontiguousarray(r, dtype=np.float32).view(np.int32)
    valid, use_valid, float_bits = _ALL_VALID, False, False
    if response_mask is not None:
        m = to_numpy(response_mask)
        if m.shape != r.shape:
            raise ValueError(f"response_mask must have shape {r.shape}, got {m.shape}")
        if m.dtype.kind not in "biuf":
            raise TypeError(f"response_mask must be boolean or numeric, got dtype {m.dtype}")
        # Read as it is (nonzero = valid), with no converted copy, when it is
        # bool, integer or float32 (as bits); other floats are compared once.
        m = np.ascontiguousarray(m)
        float_bits = m.dtype == np.float32
        if m.dtype.kind == "f" and not float_bits:
            m = m != 0
        valid, use_valid = (m.view(np.int32) if float_bits else m), True
    n = bits.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    phi = np.zeros((n, _FIRST_WIDTH))
    ends = np.zeros((n, _FIRST_WIDTH), dtype=np.int64)
    most = _read(bits, valid, use_valid, float_bits, counts, phi, ends)
    if most > _FIRST_WIDTH:
        phi = np.zeros((n, most))
        ends = np.zeros((n, most), dtype=np.int64)
        _read(bits, valid, use_valid, float_bits, counts, phi, ends)
    k = max(most, 1)
    phi = np.ascontiguousarray(phi[:, :k])
    present = np.arange(k)[None, :] < counts[:, None]
    return Marks(phi, present, counts, ends, bits, valid, use_valid, float_bits)


def expand_marks(marks: Marks, cand: np.ndarray, set_adv: np.ndarray) -> np.ndarray:
    """(N, T) float32 advantages: each candidate's tokens its ``cand[i, k]``,
    tokens after a row's last mark ``set_adv[i]``, padding 0."""
    out = np.empty(marks.bits.shape, dtype=np.float32)
    _expand(marks.valid, marks.use_valid, marks.float_bits, marks.counts, marks.ends,
            np.ascontiguousarray(cand, dtype=np.float64), np.ascontiguousarray(set_adv, dtype=np.float64), out)
    return out


def mark_ids(marks: Marks) -> np.ndarray:
    """(N, T) int64 candidate id of every token (-1: padding or after the last mark)."""
    ids = np.empty(marks.bits.shape, dtype=np.int64)
    _ids(marks.bits, marks.valid, marks.use_valid, marks.float_bits, marks.counts, ids)
    return ids
