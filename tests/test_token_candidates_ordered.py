"""token_candidates on rows in text order (the path that maps whole ranges
of tokens at once) and on the rows that leave it for the sweep: against the
brute-force definition, and the error each input raises."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapley_sets.grpo import token_candidates
from shapley_sets.grpo._span_kernels import _map_ordered_row, _sorted_spans
from test_token_candidates import reference_ids


def reference_error(offsets, spans, keep):
    """The message regex of the first completion with an error, or None:
    in a completion, overlapping spans (the first overlapping neighbours
    in text order) come before a kept token that is not an interval."""
    for i, (row, cands) in enumerate(zip(offsets, spans)):
        order = sorted((s, c) for c, (s, e) in enumerate(cands) if e > s)
        for (s1, c1), (s2, c2) in zip(order, order[1:]):
            if cands[c1][1] > s2:
                lo, hi = min(c1, c2), max(c1, c2)
                return rf"spans of completion {i} overlap: candidate {lo} .* candidate {hi} "
        for j, (a, b) in enumerate(row):
            if keep[i][j] and (a < 0 or b < a):
                return rf"completion {i}, token {j} has {re.escape(str((a, b)))}"
    return None


@st.composite
def ordered_rows(draw):
    """Rows of tokens in text order (gaps, zero-length tokens in the middle
    and at either end, long tokens over 1 to 3 spans), then some rows
    spoilt: shared or decreasing offsets, a bad pair, overlapping spans."""
    n = draw(st.integers(1, 4))
    t = draw(st.integers(0, 40))
    offsets, spans, keep = [], [], []
    for _ in range(n):
        row, pos = [], draw(st.integers(0, 3))
        for _ in range(t):
            pos += draw(st.sampled_from([0, 0, 0, 1, 2]))  # gaps between tokens
            width = draw(st.sampled_from([0, 1, 1, 2, 3, 5, 9]))  # 0: a zero-length token
            row.append((pos, pos + width))
            pos += width
        left, right = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        for j in [*range(min(left, t)), *range(max(t - right, 0), t)]:
            row[j] = (0, 0)  # left and right padding
        offsets.append(row)
        cuts = sorted(draw(st.lists(st.integers(0, pos + 2), max_size=12)))  # ties: touching and empty spans
        pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        spans.append(draw(st.permutations(pairs)))
        keep.append(draw(st.lists(st.booleans(), min_size=t, max_size=t)) if draw(st.booleans()) else [True] * t)
    for i in range(n):
        row = offsets[i]
        spoil = draw(st.sampled_from(["none"] * 4 + ["shared", "decrease", "bad", "padding inside", "overlap"]))
        if spoil == "overlap" and len(spans[i]) >= 2 and spans[i][0][1] > spans[i][0][0]:
            s, e = spans[i][0]
            spans[i] = spans[i] + [(s, e + 1)]
        elif row and spoil != "none" and spoil != "overlap":
            j = draw(st.integers(0, len(row) - 1))
            a, b = row[j]
            row[j] = {"shared": (max(a - 1, 0), b), "decrease": (a + 7, b + 7), "bad": draw(
                st.sampled_from([(b + 1, b), (-1, b), (-2, -1)])), "padding inside": (0, 0)}[spoil]
    return offsets, spans, keep


@settings(max_examples=400, deadline=None)
@given(ordered_rows())
def test_ordered_and_spoilt_rows_match_the_definition_and_its_errors(case):
    offsets, spans, keep = case
    t = len(offsets[0])
    off = np.array(offsets, dtype=np.int64).reshape(len(offsets), t, 2)
    mask = np.array(keep, dtype=bool).reshape(len(offsets), t)
    for kwargs, kept in (({}, [[True] * t for _ in offsets]), ({"response_mask": mask}, keep)):
        message = reference_error(offsets, spans, kept)
        if message is not None:
            with pytest.raises(ValueError, match=message):
                token_candidates(off, spans, **kwargs)
            continue
        want = np.array(reference_ids(offsets, spans), dtype=np.int64).reshape(len(offsets), t)
        np.testing.assert_array_equal(token_candidates(off, spans, **kwargs), np.where(mask, want, -1)
                                      if kwargs else want)


def _ordered(row, cands, keep=None):
    """What the text-order path does with one row: its ids, or None where it
    leaves the row to the sweep."""
    f = np.array(row, dtype=np.int64).reshape(-1)
    starts = np.array([s for s, _ in cands] + [0], dtype=np.int64)
    ends = np.array([e for _, e in cands] + [0], dtype=np.int64)
    bufs = [np.empty(max(len(cands), 1), dtype=np.int64) for _ in range(3)]
    m = _sorted_spans(starts, ends, 0, len(cands), *bufs)
    has_keep = keep is not None
    keep_row = np.array(keep if has_keep else [True], dtype=np.bool_)
    o = np.full(len(row), 99, dtype=np.int64)
    return o.tolist() if _map_ordered_row(f, keep_row, has_keep, o, *bufs, m) else None


def test_the_text_order_path_takes_tokenizer_rows_and_leaves_the_others():
    cands = [(2, 5), (5, 6), (6, 9), (12, 20)]
    row = [(0, 0), (0, 2), (2, 4), (4, 8), (8, 8), (8, 13), (13, 20), (21, 22), (0, 0)]
    # (4, 8) straddles three spans (1, 1 and 2 characters); (8, 13) two, one character each: a tie
    assert _ordered(row, cands) == reference_ids([row], [cands])[0] == [-1, -1, 0, 2, -1, 2, 3, -1, -1]
    assert _ordered(row, cands, [True] * 6 + [False] * 3) == [-1, -1, 0, 2, -1, 2, -1, -1, -1]
    assert _ordered([(0, 0)] * 3, cands) == [-1] * 3
    assert _ordered(row, []) == [-1] * len(row)
    for spoilt in ([(0, 2), (1, 2)],  # a character over two tokens: shared offsets
                   [(4, 6), (0, 2)],  # out of order
                   [(0, 2), (0, 0), (2, 4)],  # padding inside
                   [(0, 2), (3, 1)], [(-1, 2)]):  # not intervals: the sweep names them
        assert _ordered(spoilt, cands) is None


def test_long_rows_find_their_cuts_far_from_the_guess():
    """Token lengths that change along the row (1 then 50 characters) put
    the cuts far from where the mean length guesses them."""
    rng = np.random.default_rng(3)
    lens = np.r_[np.ones(600, dtype=np.int64), np.full(400, 50), rng.integers(1, 8, 1000)]
    ends = np.cumsum(lens)
    off = np.stack([ends - lens, ends], -1)[None]
    cuts = np.sort(rng.integers(0, ends[-1], 40))
    spans = [[(int(cuts[i]), int(cuts[i + 1])) for i in range(0, 40, 2)]]
    want = reference_ids(off.tolist(), spans)
    assert token_candidates(off, spans).tolist() == want
