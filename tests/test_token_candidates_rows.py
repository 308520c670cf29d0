"""token_candidates on batches of many rows: tokenizer-like (monotone)
offsets, the parallel path, the thread count, and which error is reported."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from shapley_sets.engines import _kernels
from shapley_sets.grpo import token_candidates
from test_token_candidates import reference_ids


def _batch(seed, n, t, k=6):
    """Consecutive tokens of 1..7 characters (zero-length ones among them),
    right padding, and sorted spans with gaps, some empty."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(0, 8, size=(n, t))
    ends = np.cumsum(lens, axis=1)
    offsets = np.stack([ends - lens, ends], -1)
    for i in range(n):
        offsets[i, rng.integers(t // 2, t + 1):] = 0  # padding (0, 0)
    cuts = np.sort(rng.integers(0, ends[:, -1:] + 1, size=(n, 2 * k)), axis=1)
    spans = cuts.reshape(n, k, 2)
    spans[::4, 1, 1] = spans[::4, 1, 0]  # empty candidates
    return offsets, spans


@pytest.mark.parametrize("seed", range(3))
def test_tokenizer_like_offsets_match_the_definition(seed):
    offsets, spans = _batch(seed, 9, 300)
    mask = np.random.default_rng(seed).random(offsets.shape[:2]) < 0.9
    want = np.array(reference_ids(offsets.tolist(), spans.tolist()))
    np.testing.assert_array_equal(token_candidates(offsets, spans), want)
    np.testing.assert_array_equal(token_candidates(offsets, spans.tolist(), response_mask=mask),
                                  np.where(mask, want, -1))


@pytest.fixture
def small_tasks(monkeypatch):
    """Tasks of 1,024 tokens, so that a small batch takes the parallel path."""
    monkeypatch.setattr(_kernels, "TOKENS_PER_TASK", 1024)
    return 1024


def test_many_rows_take_the_parallel_path_and_the_thread_count_does_not_matter(small_tasks):
    t = 128
    n = 3 * (small_tasks // t) + 5  # several tasks
    offsets, spans = _batch(7, n, t)
    want = np.array(reference_ids(offsets.tolist(), spans.tolist()))
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            np.testing.assert_array_equal(token_candidates(offsets, spans), want)
    finally:
        numba.set_num_threads(before)


def test_the_first_completion_with_an_error_is_named_on_every_path(small_tasks):
    t = 128
    n = 3 * (small_tasks // t) + 5
    offsets, spans = _batch(8, n, t)
    last = n - 2  # in the last task
    offsets[last, 3] = (9, 4)
    with pytest.raises(ValueError, match=rf"completion {last}, token 3 has \(9, 4\)"):
        token_candidates(offsets, spans)
    middle = n // 2
    spans[middle, 2] = (int(spans[middle, 1, 0]), int(spans[middle, 3, 1]))  # overlaps candidates 1 and 3
    with pytest.raises(ValueError, match=rf"spans of completion {middle} overlap: candidate 1 .* candidate 2"):
        token_candidates(offsets, spans)
