"""Numba kernel of :func:`shapley_sets.grpo.token_candidates` (compute only).

The Python layer checks the span arrays' values; the kernel reports, by
code, the two things only a pass over the data can find (a token offset
pair that is not an interval, overlapping spans), and never reads past them.
"""

from __future__ import annotations

import numpy as np
from .._jit import njit

#: Error codes written to ``err[0]`` (``err[1:]`` = row, then two positions).
OK, BAD_OFFSET, OVERLAP = 0, 1, 2


@njit(cache=True)
def map_tokens_to_spans(offsets, starts, ends, row_ptr, keep, has_keep, out, err):
    """``out[i, t]``: the candidate whose span covers most of token t's characters.

    ``offsets`` (N, T, 2) int64 character intervals [a, b) of the tokens;
    row i's spans are ``starts/ends[row_ptr[i]:row_ptr[i+1]]`` in candidate
    order. Zero-length tokens, tokens overlapping no span and tokens where
    ``keep`` is False get -1; a tie goes to the earlier candidate. Spans are
    sorted by start per row (insertion sort: already sorted input is linear)
    so each token is matched by a forward sweep; a token that starts before
    its predecessor re-seeks by bisection, so offsets need not be monotone.
    Serial: rows are independent, but on a busy 2-core machine two threads
    measured slower than one on 512 x 1,024 tokens.
    """
    n, t = offsets.shape[0], offsets.shape[1]
    width = 0
    for i in range(n):
        width = max(width, row_ptr[i + 1] - row_ptr[i])
    s_buf = np.empty(width, dtype=np.int64)
    e_buf = np.empty(width, dtype=np.int64)
    c_buf = np.empty(width, dtype=np.int64)
    for i in range(n):
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
                err[0], err[1] = OVERLAP, i
                err[2], err[3] = min(c_buf[p - 1], c_buf[p]), max(c_buf[p - 1], c_buf[p])
                return
        p = 0
        prev = -1
        for j in range(t):
            if has_keep and not keep[i, j]:
                out[i, j] = -1
                continue
            a, b = offsets[i, j, 0], offsets[i, j, 1]
            if a < 0 or b <= a:
                if a < 0 or b < a:
                    err[0], err[1], err[2] = BAD_OFFSET, i, j
                    return
                out[i, j] = -1  # zero-length: padding, special tokens
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
                out[i, j] = -1
            elif b <= e_buf[p]:
                out[i, j] = c_buf[p]  # the spans after p start at or after e_buf[p] >= b
            else:
                best, best_cover = -1, 0
                q = p
                while q < m and s_buf[q] < b:
                    cover = min(b, e_buf[q]) - max(a, s_buf[q])
                    if cover > best_cover or (cover == best_cover and c_buf[q] < best):
                        best, best_cover = c_buf[q], cover
                    q += 1
                out[i, j] = best
