"""The order-statistics kernels' internal fast paths must not change a bit:
ranking of distinct values vs values with ties, and full sets (no column
bookkeeping) vs the same sets with absent candidates around them."""

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines._kernels import rank_buffer_length, rank_into


def _rank(values):
    count = values.shape[0]
    ordered = np.full(count, np.nan)
    rank = np.full(count, -1, dtype=np.int64)
    # junk past count: rank_into may use that room, never read it as values
    buffer = np.full(rank_buffer_length(count), -7.0)
    buffer[:count] = values
    rank_into(buffer, count, ordered, rank)
    np.testing.assert_array_equal(buffer[:count], values)
    return ordered, rank


@pytest.mark.parametrize("count", [0, 1, 2, 3, 8, 9, 16, 17, 32, 33, 64, 65, 130])
@pytest.mark.parametrize("kind", ["distinct", "ties", "signed zeros", "all equal"])
def test_rank_into_sorts_and_ranks(count, kind):
    rng = np.random.default_rng(count)
    if kind == "distinct":
        values = rng.standard_normal(count)
    elif kind == "ties":
        values = rng.integers(-3, 4, count).astype(np.float64)
    elif kind == "signed zeros":
        values = rng.choice([-0.0, 0.0, 1.0, -1.0], count)
    else:
        values = np.full(count, 2.5)
    ordered, rank = _rank(values)
    np.testing.assert_array_equal(ordered, np.sort(values))
    assert np.all((rank >= 0) & (rank < max(count, 1)))
    np.testing.assert_array_equal(ordered[rank], values)


def test_rank_into_sum_shortcut_is_not_fooled_by_one_tie():
    # one tie among otherwise distinct values: the ranks no longer sum to
    # count(count - 1)/2, so the hole left by the tie must be filled
    values = np.array([5.0, 1.0, 3.0, 3.0, 9.0])
    ordered, rank = _rank(values)
    np.testing.assert_array_equal(ordered, [1.0, 3.0, 3.0, 5.0, 9.0])
    np.testing.assert_array_equal(ordered[rank], values)


SORT_BASED = [
    ss.BestOf(),
    ss.BestOf(0.3),
    ss.TopK(3),
    ss.RankWeighted.mean(),
    ss.RankWeighted.discounted(),
    ss.RankWeighted.worst_of(),
]


@pytest.mark.parametrize("utility", SORT_BASED, ids=repr)
@pytest.mark.parametrize("ties", [False, True])
def test_full_sets_match_the_same_sets_padded_with_absent_candidates(utility, ties):
    rng = np.random.default_rng(7)
    n, k, pad = 700, 9, 4  # more than one parallel task
    x = rng.standard_normal((n, k))
    if ties:
        x = np.round(x, 0)
    full = ss.shapley(utility, x)
    # the same candidates at random columns among absent, junk-valued ones
    wide = rng.standard_normal((n, k + pad)) * 100
    mask = np.zeros((n, k + pad), dtype=bool)
    for s in range(n):
        columns = np.sort(rng.choice(k + pad, k, replace=False))
        wide[s, columns] = x[s]
        mask[s, columns] = True
    padded = ss.shapley(utility, wide, mask=mask)
    np.testing.assert_array_equal(padded[mask].reshape(n, k), full)
    assert np.all(padded[~mask] == 0.0)


def test_expected_best_with_one_user_type_is_best_of_bit_for_bit():
    rng = np.random.default_rng(3)
    x = np.round(rng.random((600, 12)), 1)
    mask = rng.random((600, 12)) < 0.7
    best = ss.shapley(ss.BestOf(0.2), x, mask=mask)
    expected = ss.shapley(ss.ExpectedBest([1.0], floors=[0.2]), x[:, None, :], mask=mask)
    np.testing.assert_array_equal(expected, best)
