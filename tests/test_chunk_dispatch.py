"""Serial chunk vs parallel wrapper: a batch of at most SETS_PER_TASK sets runs
each engine's serial chunk directly (no thread-pool launch), a larger batch its
parallel wrapper; a set's values must not depend on which path computed it."""

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines import _kernels
from shapley_sets.engines._kernels import SETS_PER_TASK
from shapley_sets.engines.reference import exact_shapley_table

K = 13
UTILITIES = [
    ss.BestOf(0.2),
    ss.TopK(3),
    ss.RankWeighted.mean(),
    ss.RankWeighted.discounted(),
    ss.AnySuccess(),
    ss.ExpectedBest([0.5, 2.0, 0.0], floors=[0.1, 0.0, -1.0], normalize=False),
]


def _inputs(utility, n, rng):
    if isinstance(utility, ss.ExpectedBest):
        x = rng.random((n, 3, K))
    else:
        x = rng.random((n, K))
    x[:, ..., ::3] = np.round(x[:, ..., ::3], 1)  # ties
    mask = rng.random((n, K)) < 0.8
    mask[0] = True  # one set without a mask (the engines' unmasked fast paths)
    return x, mask


@pytest.mark.parametrize("n_small", [1, 7, SETS_PER_TASK])
@pytest.mark.parametrize("utility", UTILITIES, ids=repr)
def test_small_batch_matches_the_same_sets_in_a_large_batch(utility, n_small):
    rng = np.random.default_rng(23)
    x, mask = _inputs(utility, n_small, rng)
    big_x, big_mask = _inputs(utility, 3 * SETS_PER_TASK + 5, rng)
    at = SETS_PER_TASK + 100  # inside the second task of the large batch
    big_x[at:at + n_small] = x
    big_mask[at:at + n_small] = mask
    small = ss.shapley(utility, x, mask=mask)
    large = ss.shapley(utility, big_x, mask=big_mask)
    assert np.array_equal(small, large[at:at + n_small])
    # one set on its own, without a batch axis
    assert np.array_equal(ss.shapley(utility, x[0], mask=mask[0]), small[0])


@pytest.mark.parametrize("n_small", [1, 5])
def test_reference_table_small_batch_matches_large_batch(n_small):
    rng = np.random.default_rng(29)
    k = 10
    tables = rng.normal(size=(n_small, 1 << k))
    big = rng.normal(size=(200, 1 << k))  # 200 × 2^10 entries: the parallel path
    big[50:50 + n_small] = tables
    small = exact_shapley_table(tables)
    assert np.array_equal(small, exact_shapley_table(big)[50:50 + n_small])
    assert np.array_equal(exact_shapley_table(tables[0]), small[0])


def test_small_batches_skip_the_parallel_wrapper():
    calls = []

    def chunk(out, start, stop):
        calls.append(("chunk", start, stop))

    def parallel(out):
        calls.append(("parallel",))

    _kernels.run_in_chunks(chunk, parallel, SETS_PER_TASK, None)
    _kernels.run_in_chunks(chunk, parallel, SETS_PER_TASK + 1, None)
    assert calls == [("chunk", 0, SETS_PER_TASK), ("parallel",)]
