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
def _same_case_run(offsets, keep, has_keep, out, i, j, prev, low, high, value):
    """From token j on, the tokens that the case of the token before them
    takes too: non-empty, kept, not starting before their predecessor (so the
    sweep's span stays), ending after ``low`` and by ``high``; each gets
    ``value``. Returns the first token not taken and the last start.

    A function of its own, called once a run: LLVM compiles this loop
    tighter outside the sweep's control flow (512 x 1,024 tokens in one
    span per row measured 1.19 -> 0.79 ms; runs of ~60 tokens, as in the
    adapter benchmark, gain little)."""
    t = offsets.shape[1]
    while j < t:
        a, b = offsets[i, j, 0], offsets[i, j, 1]
        same = (a >= prev) & (b > a) & (b > low) & (b <= high)
        if has_keep:
            same &= keep[i, j]
        if not same:
            break
        out[i, j] = value
        prev = a
        j += 1
    return j, prev


@njit(cache=True)
def map_tokens_to_spans(offsets, starts, ends, row_ptr, keep, has_keep, out, err, first, last):
    """``out[i, t]``: the candidate whose span covers most of token t's characters.

    ``offsets`` (N, T, 2) int64 character intervals [a, b) of the tokens;
    row i's spans are ``starts/ends[row_ptr[i]:row_ptr[i+1]]`` in candidate
    order. Zero-length tokens, tokens overlapping no span and tokens where
    ``keep`` is False get -1; a tie goes to the earlier candidate. Spans are
    sorted by start per row (insertion sort: already sorted input is linear)
    so each token is matched by a forward sweep; a token that starts before
    its predecessor re-seeks by bisection, so offsets need not be monotone.
    Rows ``first..last-1``; a row with an error stops there, the others go on.
    """
    t = offsets.shape[1]
    width = 0
    for i in range(first, last):
        width = max(width, row_ptr[i + 1] - row_ptr[i])
    s_buf = np.empty(width, dtype=np.int64)
    e_buf = np.empty(width, dtype=np.int64)
    c_buf = np.empty(width, dtype=np.int64)
    for i in range(first, last):
        m = 0
        for q in range(row_ptr[i], row_ptr[i + 1]):
            s, e = starts[q], ends[q]
            if e == s:
                continue  # an empty candidate owns no token
            c = q - row_ptr[i]
            p = m
            while p > 0 and s_buf[p - 1] > s:
                s_buf[p], e_buf[p], c_buf[p] = s_buf[p - 1], e_buf[p - 1], c_buf[p - 1]
                p -= 1
            s_buf[p], e_buf[p], c_buf[p] = s, e, c
            m += 1
        for p in range(1, m):
            if e_buf[p - 1] > s_buf[p]:
                err[i, 0] = OVERLAP
                err[i, 1], err[i, 2] = min(c_buf[p - 1], c_buf[p]), max(c_buf[p - 1], c_buf[p])
                break
        if err[i, 0] != OK:
            continue
        p = 0
        prev = -1
        j = 0
        while j < t:
            if has_keep and not keep[i, j]:
                out[i, j] = -1
                j += 1
                continue
            a, b = offsets[i, j, 0], offsets[i, j, 1]
            if a < 0 or b <= a:
                if a < 0 or b < a:
                    err[i, 0], err[i, 1] = BAD_OFFSET, j
                    break
                out[i, j] = -1  # zero-length: padding, special tokens
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
                best, best_cover = -1, 0
                q = p
                while q < m and s_buf[q] < b:
                    cover = min(b, e_buf[q]) - max(a, s_buf[q])
                    if cover > best_cover or (cover == best_cover and c_buf[q] < best):
                        best, best_cover = c_buf[q], cover
                    q += 1
                out[i, j] = best
                j += 1
                continue
            out[i, j] = value
            j, prev = _same_case_run(offsets, keep, has_keep, out, i, j + 1, prev, low, high, value)


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
