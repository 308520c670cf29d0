"""Numba kernel of :func:`shapley_sets.grpo.token_candidates` (compute only).

The Python layer checks the span arrays' values; the kernel reports, by
code and per row, the two things only a pass over the data can find (a
token offset pair that is not an interval, overlapping spans), and never
reads past them in that row.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import njit
from ..engines._kernels import run_rows_in_tasks

#: Error codes written to ``err[i, 0]`` for row i (``err[i, 1:]``: two positions).
OK, BAD_OFFSET, OVERLAP = 0, 1, 2


@njit(cache=True)
def _same_case_run(row, keep_row, has_keep, o, j, prev, low, high, value):
    """From token j on, the tokens that the case of the token before them
    takes too: non-empty, kept, not starting before their predecessor (so the
    sweep's span stays), ending after ``low`` and by ``high``; each gets
    ``value``. Returns the first token not taken and the last start.

    A function of its own, called once a run: LLVM compiles this loop
    tighter outside the sweep's control flow (512 x 1,024 tokens in one
    span per row measured 1.19 -> 0.79 ms; runs of ~60 tokens, as in the
    adapter benchmark, gain little)."""
    t = row.shape[0]
    while j < t:
        a, b = row[j, 0], row[j, 1]
        same = (a >= prev) & (b > a) & (b > low) & (b <= high)
        if has_keep:
            same &= keep_row[j]
        if not same:
            break
        o[j] = value
        prev = a
        j += 1
    return j, prev


@njit(cache=True)
def _best_cover(a, b, s_buf, e_buf, c_buf, q, m):
    """The candidate covering most of [a, b) among sorted spans q.. (those
    before q end by a), the earlier candidate on a tie; -1 if none does."""
    best, best_cover = -1, 0
    while q < m and s_buf[q] < b:
        cover = min(b, e_buf[q]) - max(a, s_buf[q])
        if cover > best_cover or (cover == best_cover and c_buf[q] < best):
            best, best_cover = c_buf[q], cover
        q += 1
    return best


@njit(cache=True)
def _sorted_spans(starts, ends, lo, hi, s_buf, e_buf, c_buf):
    """Row spans ``lo..hi-1`` less the empty ones into the buffers, sorted by
    start (insertion sort: already sorted input is linear); their count."""
    m = 0
    for q in range(lo, hi):
        s, e = starts[q], ends[q]
        if e == s:
            continue  # an empty candidate owns no token
        p = m
        while p > 0 and s_buf[p - 1] > s:
            s_buf[p], e_buf[p], c_buf[p] = s_buf[p - 1], e_buf[p - 1], c_buf[p - 1]
            p -= 1
        s_buf[p], e_buf[p], c_buf[p] = s, e, q - lo
        m += 1
    return m


#: Tokens counted at once around the guess of :func:`_first_end_after`.
_WINDOW = 16


@njit(cache=True)
def _first_end_after(f, lo, hi, x, guess):
    """The first token of ``lo..hi-1`` ending after x (hi if none) in the
    flat row ``f`` (a_0, b_0, a_1, b_1, ...), token ends being
    nondecreasing there; ``guess`` is where it likely is.

    It counts the tokens ending by x among the 16 around the guess, a loop
    of fixed length without a branch (vector compares), and bisects only
    when the answer is outside them: a bisection's ten data-dependent
    branches are a coin toss each."""
    if hi - lo >= _WINDOW:
        w = min(max(guess - _WINDOW // 2, lo), hi - _WINDOW)
        seg = f[2 * w:2 * w + 2 * _WINDOW]
        count = 0
        for q in range(_WINDOW):
            count += seg[2 * q + 1] <= x
        if (count > 0 or w == lo) and (count < _WINDOW or w + _WINDOW == hi):
            return w + count
    n = hi - lo
    base = lo
    while n > 0:
        half = n >> 1
        if f[2 * (base + half) + 1] <= x:
            base += half + 1
            n -= half + 1
        else:
            n = half
    return base


@njit(cache=True)
def _fill(o, start, stop, value):
    """``o[start:stop] = value``, as vector stores: through a 0-based view,
    whose indices LLVM sees are not negative (no wraparound per element)."""
    seg = o[start:stop]
    for j in range(seg.shape[0]):
        seg[j] = value


@njit(cache=True)
def _map_ordered_row(f, keep_row, has_keep, o, s_buf, e_buf, c_buf, m):
    """The ids of the row of flat offsets ``f`` (a_0, b_0, a_1, b_1, ...)
    into ``o`` when its tokens are in text order; False (``o`` partly
    written) when not.

    In text order: the zero-length tokens before the first and after the
    last non-empty one (padding, special tokens) aside, a_0 >= 0 and
    a_0 <= b_0 <= a_1 <= b_1 <= ..., the form of a tokenizer's offsets
    (characters split over several tokens, which share their offsets, and
    bad pairs are not: the sweep takes them). One branch-free pass checks
    it. Then the tokens inside one elementary interval of the span
    boundaries s_0 < e_0 <= s_1 < ... form consecutive ranges, whose ends
    :func:`_first_end_after` finds, each filled with one value; only the
    token that a boundary cuts is decided by the rule (:func:`_best_cover`).
    On 512 x 1,024 tokens, 8 spans a row, :func:`token_candidates` measured
    1.36 ms by the sweep alone and 0.98 ms so.
    """
    t = f.shape[0] // 2
    lo = 0
    while lo < t and f[2 * lo] == f[2 * lo + 1] and f[2 * lo] >= 0:
        lo += 1
    hi = t
    while hi > lo and f[2 * hi - 2] == f[2 * hi - 1] and f[2 * hi - 2] >= 0:
        hi -= 1
    if hi == lo:  # no non-empty token
        for j in range(t):
            o[j] = -1
        return True
    g = f[2 * lo:2 * hi]  # 0-based: LLVM then vectorizes the pass
    bad = np.int64(g[0] < 0)
    empty = np.int64(0)
    for q in range(1, g.shape[0]):
        bad |= np.int64(g[q] < g[q - 1])
        empty |= np.int64(g[q] == g[q - 1]) & q  # at an odd q: a zero-length token
    if bad:
        return False
    per_char = (hi - lo) / (f[2 * hi - 1] - f[2 * lo])  # tokens per character; token lo is not empty
    _fill(o, np.int64(0), lo, np.int64(-1))
    cursor = lo
    last_cut, last_x = lo, f[2 * lo]
    for k in range(2 * m):
        p = k >> 1
        x = e_buf[p] if k & 1 else s_buf[p]
        value = c_buf[p] if k & 1 else -1
        # The next cut, by the row's mean token length from the last one:
        # from the last cut and boundary, not from the cursor, so that the
        # searches do not wait for the fills and the rule.
        cut = _first_end_after(f, lo, hi, x, last_cut + int(min((x - last_x) * per_char, hi - lo)))
        last_cut, last_x = cut, x
        _fill(o, cursor, cut, value)  # they start at or after the boundary before x and end by x
        if cut >= cursor and cut < hi and f[2 * cut] < x:  # a < x < b: decided by the rule
            o[cut] = _best_cover(f[2 * cut], f[2 * cut + 1], s_buf, e_buf, c_buf, p, m)
            cut += 1
        cursor = max(cursor, cut)
    _fill(o, cursor, t, np.int64(-1))
    span = o[lo:hi]  # zero-length and masked tokens: -1, in a branch-free pass
    if has_keep:
        kept = keep_row[lo:hi]
        for j in range(span.shape[0]):
            span[j] = span[j] if (g[2 * j + 1] > g[2 * j]) & kept[j] else -1
    elif empty:
        for j in range(span.shape[0]):
            span[j] = span[j] if g[2 * j + 1] > g[2 * j] else -1
    return True


@njit(cache=True)
def _sweep_row(row, keep_row, has_keep, o, s_buf, e_buf, c_buf, m):
    """Row ``row``'s ids into ``o`` for any offsets, by a forward sweep; the
    first kept token that is not an interval (its index), or -1.

    A token that starts before its predecessor re-seeks by bisection, so
    offsets need not be monotone."""
    t = row.shape[0]
    p = 0
    prev = -1
    j = 0
    while j < t:
        if has_keep and not keep_row[j]:
            o[j] = -1
            j += 1
            continue
        a, b = row[j, 0], row[j, 1]
        if a < 0 or b <= a:
            if a < 0 or b < a:
                return j
            o[j] = -1  # zero-length: padding, special tokens
            j += 1
            continue
        if a < prev:
            lo, hi = 0, m  # first span ending after a
            while lo < hi:
                mid = (lo + hi) // 2
                if e_buf[mid] <= a:
                    lo = mid + 1
                else:
                    hi = mid
            p = lo
        else:
            while p < m and e_buf[p] <= a:
                p += 1
        prev = a
        # Spans before p end at or before a; span p is the first that may overlap.
        if p == m or b <= s_buf[p]:
            # a gap: the tokens that end by span p's start (all of them after the last span)
            value, low, high = -1, a, s_buf[p] if p < m else np.iinfo(np.int64).max
        elif b <= e_buf[p]:
            value, low, high = c_buf[p], s_buf[p], e_buf[p]  # inside span p: tokens ending in it
        else:
            o[j] = _best_cover(a, b, s_buf, e_buf, c_buf, p, m)
            j += 1
            continue
        o[j] = value
        j, prev = _same_case_run(row, keep_row, has_keep, o, j + 1, prev, low, high, value)
    return -1


@njit(cache=True)
def map_tokens_to_spans(offsets, starts, ends, row_ptr, keep, has_keep, out, err, first, last):
    """``out[i, t]``: the candidate whose span covers most of token t's characters.

    ``offsets`` (N, T, 2) int64 character intervals [a, b) of the tokens;
    row i's spans are ``starts/ends[row_ptr[i]:row_ptr[i+1]]`` in candidate
    order. Zero-length tokens, tokens overlapping no span and tokens where
    ``keep`` is False get -1; a tie goes to the earlier candidate. Spans are
    sorted by start per row; rows in text order are mapped by ranges
    (:func:`_map_ordered_row`), any other row by a sweep (:func:`_sweep_row`),
    which also finds the first bad offset pair.
    Rows ``first..last-1``; a row with an error stops there, the others go on.
    """
    width = 0
    for i in range(first, last):
        width = max(width, row_ptr[i + 1] - row_ptr[i])
    s_buf = np.empty(width, dtype=np.int64)
    e_buf = np.empty(width, dtype=np.int64)
    c_buf = np.empty(width, dtype=np.int64)
    flat = offsets.reshape((offsets.shape[0], 2 * offsets.shape[1]))
    for i in range(first, last):
        m = _sorted_spans(starts, ends, row_ptr[i], row_ptr[i + 1], s_buf, e_buf, c_buf)
        for p in range(1, m):
            if e_buf[p - 1] > s_buf[p]:
                err[i, 0] = OVERLAP
                err[i, 1], err[i, 2] = min(c_buf[p - 1], c_buf[p]), max(c_buf[p - 1], c_buf[p])
                break
        if err[i, 0] != OK:
            continue
        keep_row, o = keep[i if has_keep else 0], out[i]
        if _map_ordered_row(flat[i], keep_row, has_keep, o, s_buf, e_buf, c_buf, m):
            continue
        bad = _sweep_row(offsets[i], keep_row, has_keep, o, s_buf, e_buf, c_buf, m)
        if bad >= 0:
            err[i, 0], err[i, 1] = BAD_OFFSET, bad


@njit(cache=True, parallel=True)
def map_tokens_to_spans_tasks(offsets, starts, ends, row_ptr, keep, has_keep, out, err, rows):
    """:func:`map_tokens_to_spans` on numba's threads, ``rows`` rows a task."""
    n = offsets.shape[0]
    for task in prange((n + rows - 1) // rows):
        map_tokens_to_spans(offsets, starts, ends, row_ptr, keep, has_keep, out, err,
                            task * rows, min(n, (task + 1) * rows))


def map_tokens(offsets, starts, ends, row_ptr, keep, has_keep, out, err) -> None:
    """:func:`map_tokens_to_spans` over every row: serial, or in parallel
    tasks for large batches (the launch guards of :func:`run_rows_in_tasks`)."""
    run_rows_in_tasks(map_tokens_to_spans, map_tokens_to_spans_tasks, offsets.shape[0], offsets.shape[1],
                      offsets, starts, ends, row_ptr, keep, has_keep, out, err)
