"""ss.semivalue, ss.banzhaf, ss.leave_one_out: the weightings, the reference
engine against exact rational arithmetic, and the errors."""

from fractions import Fraction

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines.weights import as_weighting

from exact import rational_semivalue, table_of

WEIGHTINGS = ["shapley", "banzhaf", "loo", ("beta", 2, 3), ("beta", 1, 4), ("beta", 3, 1)]


@pytest.mark.parametrize("weights", WEIGHTINGS, ids=str)
@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_size_weights_sum_to_one_and_match_coalition_weights(weights, k):
    from math import comb

    w = as_weighting(weights)
    p = w.size_weights(k)
    q = w.coalition_weights(k)
    assert p.shape == q.shape == (k,)
    assert abs(p.sum() - 1.0) < 1e-14
    np.testing.assert_allclose(q * [comb(k - 1, s) for s in range(k)], p, rtol=1e-13, atol=0)


@pytest.mark.parametrize("weights", WEIGHTINGS + [[Fraction(1, 6), Fraction(1, 2), 0, Fraction(1, 3)]], ids=str)
def test_reference_matches_rational_arithmetic(weights):
    rng = np.random.default_rng(7)
    k = 4
    for _ in range(20):
        table = rng.integers(-5, 6, size=1 << k).astype(float)
        table[0] = rng.integers(-2, 3)
        numeric = weights if not isinstance(weights, list) else np.array([float(f) for f in weights])
        got = ss.exact_shapley(table, numeric)
        want = rational_semivalue(table.tolist(), weights)
        np.testing.assert_allclose(got, [float(v) for v in want], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("weights", WEIGHTINGS, ids=str)
def test_masked_set_uses_its_own_size(weights):
    # integer scores with ties and negatives; floor 1 so the empty set is worth 1
    x = np.array([[3.0, -1.0, 3.0, 2.0, 0.0], [1.0, 4.0, 4.0, -2.0, 2.0]])
    mask = np.array([[True, True, False, True, True], [False, True, True, True, False]])
    u = ss.BestOf(floor=1.0)
    got = ss.semivalue(u, x, weights, mask=mask)
    for s in range(2):
        present = np.flatnonzero(mask[s]).tolist()
        table = table_of(5, lambda S: max([1.0] + [x[s, j] for j in S if j in present]))
        want = rational_semivalue(table, weights, present)
        np.testing.assert_allclose(got[s], [float(v) for v in want], rtol=1e-13, atol=1e-13)
        assert np.all(got[s][~mask[s]] == 0.0)


def test_shorthands_and_beta_one_one_are_the_named_weightings():
    x = np.array([[0.9, 0.2, 0.8, 0.5], [0.1, 0.7, 0.7, 0.3]])
    u = ss.TopK(2)
    np.testing.assert_array_equal(ss.banzhaf(u, x), ss.semivalue(u, x, "banzhaf"))
    np.testing.assert_array_equal(ss.leave_one_out(u, x), ss.semivalue(u, x, "loo"))
    np.testing.assert_array_equal(ss.semivalue(u, x, ("beta", 1, 1)), ss.shapley(u, x))
    np.testing.assert_array_equal(ss.semivalue(u, x, "shapley"), ss.shapley(u, x))
    full = ss.value(u, x)
    for k in range(4):
        drop = np.ones(4, dtype=bool)
        drop[k] = False
        np.testing.assert_allclose(ss.leave_one_out(u, x)[:, k], full - ss.value(u, x, mask=drop),
                                   rtol=1e-15, atol=1e-15)


def test_callable_size_weights_serve_ragged_batches():
    def uniform_sizes(k):  # the Shapley value's p_K(s) = 1/K
        return np.full(k, 1.0 / k)

    x = np.array([[3.0, 1.0, 2.0, 5.0], [1.0, 2.0, 0.5, 4.0]])
    mask = np.array([[True, True, True, True], [True, False, True, False]])
    for u in (ss.BestOf(), ss.RankWeighted.mean(), ss.AnySuccess()):
        xx = x if not isinstance(u, ss.AnySuccess) else x / 5.0
        np.testing.assert_allclose(ss.semivalue(u, xx, uniform_sizes, mask=mask),
                                   ss.shapley(u, xx, mask=mask), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("weights, kind, words", [
    ("owen", ValueError, "'shapley', 'banzhaf'"),
    (("beta", 0, 1), ValueError, "α"),
    (("beta", 1, -2), ValueError, "β"),
    (("beta", 1, float("nan")), ValueError, "β"),
    (("beta", "1", 1), TypeError, "α"),
    (("gamma", 1, 1), ValueError, "('beta', α, β)"),
    ([0.5, 0.6, -0.1], ValueError, "non-negative"),
    ([0.5, 0.6], ValueError, "sum to 1"),
    ([0.5, float("nan")], ValueError, "finite"),
    ([[0.5, 0.5]], ValueError, "1-D"),
    (["a", "b"], TypeError, "dtype"),
    (None, TypeError, "weights"),
])
def test_bad_weights_are_named(weights, kind, words):
    with pytest.raises(kind, match="weights") as info:
        ss.semivalue(ss.BestOf(), [1.0, 2.0], weights)
    assert words in str(info.value)


def test_size_weights_of_the_wrong_length_name_the_set():
    with pytest.raises(ValueError, match=r"set \(1,\) has 2"):
        ss.semivalue(ss.BestOf(), [[1.0, 2.0, 3.0]] * 2, [0.0, 0.0, 1.0],
                     mask=[[True, True, True], [True, False, True]])
    with pytest.raises(ValueError, match="K = 3"):
        ss.semivalue(ss.BestOf(), [1.0, 2.0], [0.0, 0.0, 1.0])


def test_callable_size_weights_are_checked():
    with pytest.raises(ValueError, match=r"weights\(3\) must sum to 1"):
        ss.semivalue(ss.BestOf(), [1.0, 2.0, 3.0], lambda k: np.ones(k))
    with pytest.raises(ValueError, match=r"weights\(3\) must hold K = 3"):
        ss.semivalue(ss.BestOf(), [1.0, 2.0, 3.0], lambda k: np.ones(k + 1) / (k + 1))
    with pytest.raises(ValueError, match=r"weights\(3\) raised ZeroDivisionError"):
        ss.semivalue(ss.BestOf(), [1.0, 2.0, 3.0], lambda k: 1 / 0)


def test_unserved_weighting_beyond_the_reference_cap_says_so():
    class Size(ss.Utility):
        def coalition_values(self, x, members):
            return np.asarray(members).sum(-1).astype(float)

    with pytest.raises(ValueError, match="no fast engine for the banzhaf weighting"):
        ss.semivalue(Size(), np.zeros(30), "banzhaf")
    np.testing.assert_allclose(ss.banzhaf(Size(), np.zeros(4), mask=[1, 0, 1, 1]), [1, 0, 1, 1])


def test_empty_inputs():
    assert ss.banzhaf(ss.BestOf(), np.zeros((0, 3))).shape == (0, 3)
    assert ss.leave_one_out(ss.BestOf(), np.zeros((2, 0))).shape == (2, 0)
