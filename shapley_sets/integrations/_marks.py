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
from numba import prange, types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import overload

from shapley_sets._jit import njit
from shapley_sets.engines._kernels import run_rows_in_tasks
from shapley_sets.adapters.arrays import to_numpy
from shapley_sets.grpo._checks import response_keep

__all__ = ["Marks", "read_marks", "expand_marks"]

_ALL_VALID = np.ones((1, 1), dtype=np.bool_)
#: Candidates per row read in the first pass; a row with more is read again.
_FIRST_WIDTH = 32


# The kernels read the float32 rewards as int32 bit patterns: a token is a
# mark iff its bits are not all zero (+0.0 is the only float with no bit set;
# -0.0 has the sign bit), an integer test that measured about twice as fast
# as comparing floats and testing the sign. A mask is read in its own dtype:
# a token is valid iff its entry is nonzero (so -0.0 is padding, as 0.0 is).

#: Tokens tested for a mark at once: one 64-bit word of "is a mark" bits,
#: built by a loop that vectorises; its set bits are then visited by their
#: trailing-zero count. Marks are rare: with a branch per token or per small
#: block, the mispredicted branches cost twice the reading (measured).
_BLOCK = 64
#: Longest row whose float32 mask is counted in float32 (exact below 2**24).
_FLOAT_COUNT_MAX = 1 << 24


def _mask_row(vrow):
    """One row of a mask: whether an entry is other than 0/1 (NaN included),
    and its count of valid tokens if they are exactly its first ones, else -1.

    A stub for numba, which compiles the overload below for the mask's
    dtype: branch-free reductions over the row in its own lanes, which LLVM
    vectorises (numba promotes narrower integer arithmetic to int64, which
    measured 1.6x slower on a float32 mask's bits).
    """
    raise NotImplementedError


@overload(_mask_row, jit_options={"fastmath": {"reassoc"}})
def _mask_row_impl(vrow):
    if isinstance(vrow.dtype, types.Float):
        def mask_row_float(vrow):
            # a - a*a is 0 iff a is 0 (or -0.0, padding as well) or 1; -1
            # gives -2, NaN and inf give NaN. So the sum of its magnitudes is
            # 0 iff no entry is bad, in any order of addition (reassoc lets
            # the sums vectorise). The count and the rises (a 0 followed by a
            # 1: none in a prefix) are sums of 0s and 1s, exact in float32
            # below 2**24 tokens.
            zero = np.float32(0.0)
            first = vrow[0]
            bad, count, rises = abs(first - first * first), first, zero
            for j in range(1, vrow.shape[0]):
                a = vrow[j]
                bad += abs(a - a * a)
                count += a
                rises += max(a - vrow[j - 1], zero)
            return bad != 0, int(count) if rises == 0 else -1
        return mask_row_float
    if vrow.dtype == types.int64:
        def mask_row_int64(vrow):
            # v & ~1 is 0 iff v is 0 or 1; v & ~previous is 1 at a rise.
            first = vrow[0]
            bad, count, rises = first & ~1, first, first & 0
            for j in range(1, vrow.shape[0]):
                v = vrow[j]
                bad |= v & ~1
                count += v
                rises |= v & ~vrow[j - 1]
            return bad != 0, count if rises == 0 else -1
        return mask_row_int64

    def mask_row_other(vrow):
        bad, count, last = 0, 0, 0
        for j in range(vrow.shape[0]):
            v = vrow[j]
            nz = v != 0
            bad += nz & (v != 1)
            count += nz
            last = max(last, j if nz else 0)
        return bad != 0, count if count == 0 or last + 1 == count else -1
    return mask_row_other


@njit(cache=True, inline="always")
def _scan(bits, values, valid, use_valid, i, start, stop, c, phi, ends):
    width = phi.shape[1]
    for j in range(start, stop):
        if bits[i, j] != 0 and (not use_valid or valid[i, j] != 0):
            if c < width:
                phi[i, c] = values[i, j] + 0.0  # -0.0 becomes 0.0
                ends[i, c] = j
            c += 1
    return c


@njit(cache=True)
def _read_rows(bits, valid, use_valid, counts, phi, ends, prefix, bad, start, stop):
    """Rows start..stop-1: the count of marks and, up to phi's width, their
    values and positions; ``prefix[i]`` the row's count of valid tokens when
    they are its first ones, else -1; ``bad[i]`` whether its mask holds a
    value other than 0/1."""
    t = bits.shape[1]
    values = bits.view(np.float32)
    full = t - t % _BLOCK
    width = phi.shape[1]
    one = np.uint64(1)
    for i in range(start, stop):
        if use_valid and t:
            bad[i], prefix[i] = _mask_row(valid[i])
        else:
            prefix[i] = t
        c = 0
        row = bits[i]
        for j0 in range(0, full, _BLOCK):
            word = np.uint64(0)
            for jj in range(_BLOCK):
                word |= np.uint64(row[j0 + jj] != 0) << np.uint64(jj)
            while word != 0:
                j = j0 + trailing_zeros(word)
                word &= word - one
                if not use_valid or valid[i, j] != 0:
                    if c < width:
                        phi[i, c] = values[i, j] + 0.0  # -0.0 becomes 0.0
                        ends[i, c] = j
                    c += 1
        counts[i] = _scan(bits, values, valid, use_valid, i, full, t, c, phi, ends)


@njit(cache=True, parallel=True)
def _read_tasks(bits, valid, use_valid, counts, phi, ends, prefix, bad, rows):
    n = bits.shape[0]
    for task in prange((n + rows - 1) // rows):
        _read_rows(bits, valid, use_valid, counts, phi, ends, prefix, bad,
                   task * rows, min(n, (task + 1) * rows))


@njit(cache=True, inline="always")
def _fill_masked(out, valid, i, start, stop, value):
    # Branch-free over a run of tokens (a select, not a test per token), so
    # LLVM vectorises it.
    zero = np.float32(0.0)
    for j in range(start, stop):
        out[i, j] = value if valid[i, j] != 0 else zero


@njit(cache=True)
def _expand_rows(valid, prefix, counts, ends, cand, set_adv, out, first, last):
    """Candidate c of row i owns the tokens after mark c - 1 up to mark c;
    the tokens after the last mark get ``set_adv[i]``; padding gets 0.

    A row whose valid tokens are its first ``prefix[i]`` is written without
    reading its mask, by slice assignments of a row view (vector stores:
    about 4x faster than element stores, measured)."""
    t = out.shape[1]
    for i in range(first, last):
        start = 0
        if prefix[i] >= 0:
            row = out[i]
            for c in range(counts[i]):
                stop = ends[i, c] + 1  # marks lie on valid tokens
                row[start:stop] = np.float32(cand[i, c])
                start = stop
            stop = max(start, prefix[i])
            row[start:stop] = np.float32(set_adv[i])
            row[stop:] = np.float32(0.0)
        else:
            for c in range(counts[i]):
                stop = ends[i, c] + 1
                _fill_masked(out, valid, i, start, stop, np.float32(cand[i, c]))
                start = stop
            _fill_masked(out, valid, i, start, t, np.float32(set_adv[i]))


@njit(cache=True, parallel=True)
def _expand_tasks(valid, prefix, counts, ends, cand, set_adv, out, rows):
    n = out.shape[0]
    for task in prange((n + rows - 1) // rows):
        _expand_rows(valid, prefix, counts, ends, cand, set_adv, out,
                     task * rows, min(n, (task + 1) * rows))


@njit(cache=True)
def _ids(bits, valid, use_valid, counts, ids):
    n, t = bits.shape
    for i in range(n):
        c = 0
        for j in range(t):
            if (use_valid and valid[i, j] == 0) or c >= counts[i]:
                ids[i, j] = -1
            else:
                ids[i, j] = c
                if bits[i, j] != 0:
                    c += 1


@njit(cache=True)
def _most(counts, bad):
    """The most marks in a row, and whether any row's mask is bad."""
    most, any_bad = 0, False
    for i in range(counts.shape[0]):
        most = max(most, counts[i])
        any_bad |= bad[i]
    return most, any_bad


@njit(cache=True)
def _columns(counts, wide, phi, present):
    """``phi``: the first K columns of ``wide``; ``present[i, c]``: c < counts[i].
    Returns the flat index of the first present value that is not finite (-1
    if none)."""
    n, k = phi.shape
    first = -1
    for i in range(n):
        for c in range(k):
            v = wide[i, c]
            phi[i, c] = v
            present[i, c] = c < counts[i]
            if first < 0 and c < counts[i] and not np.isfinite(v):
                first = i * k + c
    return first


class Marks(NamedTuple):
    """The marks of a batch: ``phi`` (N, K) float64, ``present`` (N, K) bool,
    ``counts`` (N,), the marks' token positions ``ends`` (N, >= K), the
    rewards (as int32 bits) and mask (in its dtype) they were read from, per
    row its count of valid tokens where they are its first ones (else -1),
    and the flat index into ``phi`` of the first present value that is not
    finite (-1 if none)."""

    phi: np.ndarray
    present: np.ndarray
    counts: np.ndarray
    ends: np.ndarray
    bits: np.ndarray
    valid: np.ndarray
    use_valid: bool
    prefix: np.ndarray
    nonfinite: int


def read_marks(token_level_rewards, response_mask=None) -> Marks:
    """The candidates of every row of an encoded (N, T) rewards tensor or array.

    Marks on tokens outside ``response_mask`` are ignored. K is the largest
    count of marks in a row (at least 1). The mask must be boolean or hold
    only 0 and 1 (the kernel checks it in the same pass).
    """
    r = to_numpy(token_level_rewards, "token_level_rewards")
    if r.ndim != 2:
        raise ValueError(f"token_level_rewards must have shape (N, T), got {r.shape}")
    bits = np.ascontiguousarray(r, dtype=np.float32).view(np.int32)
    valid, use_valid = _ALL_VALID, False
    m = None
    if response_mask is not None:
        m = to_numpy(response_mask, "response_mask")
        if m.shape != r.shape:
            raise ValueError(f"response_mask must have shape {r.shape}, got {m.shape}")
        if m.dtype.kind not in "biuf":
            raise TypeError(f"response_mask must be boolean or numeric, got dtype {m.dtype}")
        # Read as it is (nonzero = valid), with no converted copy, when it is
        # bool, integer or float32; other floats are checked and compared once.
        m = np.ascontiguousarray(m)
        if m.dtype.kind == "f" and (m.dtype != np.float32 or m.shape[1] >= _FLOAT_COUNT_MAX):
            m = response_keep(m)
        valid, use_valid = m, True
    n = bits.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    prefix = np.empty(n, dtype=np.int64)
    phi = np.zeros((n, _FIRST_WIDTH))
    ends = np.zeros((n, _FIRST_WIDTH), dtype=np.int64)
    bad = np.zeros(n, dtype=np.bool_)
    t = bits.shape[1]
    run_rows_in_tasks(_read_rows, _read_tasks, n, t, bits, valid, use_valid, counts, phi, ends, prefix, bad)
    most, any_bad = _most(counts, bad)
    if any_bad:
        assert m is not None  # bad entries are found only in a mask
        response_keep(m)  # raises, naming the entry
    if most > _FIRST_WIDTH:
        phi = np.zeros((n, most))
        ends = np.zeros((n, most), dtype=np.int64)
        run_rows_in_tasks(_read_rows, _read_tasks, n, t, bits, valid, use_valid, counts, phi, ends, prefix, bad)
    k = max(most, 1)
    wide = phi
    phi, present = np.empty((n, k)), np.empty((n, k), dtype=np.bool_)
    nonfinite = _columns(counts, wide, phi, present)
    return Marks(phi, present, counts, ends, bits, valid, use_valid, prefix, nonfinite)


def expand_marks(marks: Marks, cand: np.ndarray, set_adv: np.ndarray) -> np.ndarray:
    """(N, T) float32 advantages: each candidate's tokens its ``cand[i, k]``,
    tokens after a row's last mark ``set_adv[i]``, padding 0."""
    out = np.empty(marks.bits.shape, dtype=np.float32)
    n, t = marks.bits.shape[0], marks.bits.shape[-1]
    run_rows_in_tasks(_expand_rows, _expand_tasks, n, t, marks.valid, marks.prefix, marks.counts,
              marks.ends, np.ascontiguousarray(cand, dtype=np.float64),
              np.ascontiguousarray(set_adv, dtype=np.float64), out)
    return out


def mark_ids(marks: Marks) -> np.ndarray:
    """(N, T) int64 candidate id of every token (-1: padding or after the last mark)."""
    ids = np.empty(marks.bits.shape, dtype=np.int64)
    _ids(marks.bits, marks.valid, marks.use_valid, marks.counts, ids)
    return ids
