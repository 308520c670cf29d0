"""BestOf: the airport closed form against the reference engine and by hand."""

import numba
import numpy as np
import pytest

import shapley_sets as ss


def test_known_values_and_efficiency():
    x = np.array([1.0, 3.0, 2.0])
    phi = ss.shapley(ss.BestOf(), x)
    np.testing.assert_allclose(phi, [1 / 3, 1 / 3 + 1 / 2 + 1, 1 / 3 + 1 / 2], rtol=1e-15)
    assert phi.sum() == pytest.approx(3.0, rel=1e-15)


def test_ties_get_exactly_equal_values():
    x = np.array([[2.0, 5.0, 2.0, 5.0, -1.0]])
    phi = ss.shapley(ss.BestOf(), x)
    assert phi[0, 0] == phi[0, 2] and phi[0, 1] == phi[0, 3]
    assert phi[0, 4] == 0.0


def test_floor_is_best_of_on_gains_above_it():
    x = np.array([0.5, 2.0, 1.5, -3.0])
    floor = 1.0
    phi = ss.shapley(ss.BestOf(floor), x)
    np.testing.assert_allclose(phi, ss.shapley(ss.BestOf(), np.maximum(x - floor, 0)), rtol=1e-15)
    assert phi.sum() == pytest.approx(2.0 - floor)
    np.testing.assert_allclose(phi, ss.reference_shapley(ss.BestOf(floor), x), rtol=1e-14)


def test_negative_scores_with_default_floor_are_worth_nothing():
    np.testing.assert_array_equal(ss.shapley(ss.BestOf(), [-1.0, -2.0]), [0.0, 0.0])
    phi = ss.shapley(ss.BestOf(floor=-5.0), [-1.0, -2.0])
    np.testing.assert_allclose(phi, ss.reference_shapley(ss.BestOf(floor=-5.0), [-1.0, -2.0]))
    assert phi.sum() == pytest.approx(4.0)


def test_single_candidate_gets_everything():
    assert ss.shapley(ss.BestOf(floor=0.25), [[0.75]]).tolist() == [[0.5]]


def test_all_masked_set_is_all_zero():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    mask = np.array([[False, False], [True, False]])
    phi = ss.shapley(ss.BestOf(), x, mask=mask)
    assert phi.tolist() == [[0.0, 0.0], [3.0, 0.0]]
    assert ss.value(ss.BestOf(floor=0.5), x, mask=mask).tolist() == [0.5, 3.0]


def test_mask_means_the_smaller_set():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 9))
    mask = rng.random((50, 9)) < 0.6
    phi = ss.shapley(ss.BestOf(0.1), x, mask=mask)
    for s in range(50):
        present = np.flatnonzero(mask[s])
        if present.size:
            np.testing.assert_allclose(
                phi[s, present], ss.shapley(ss.BestOf(0.1), x[s, present]), rtol=1e-14
            )


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1.0, 1e150, 1e300])
def test_huge_and_tiny_magnitudes(scale):
    x = np.array([0.3, 0.9, 0.1, 0.9]) * scale
    phi = ss.shapley(ss.BestOf(), x)
    np.testing.assert_allclose(phi, ss.reference_shapley(ss.BestOf(), x), rtol=1e-14)
    assert phi.sum() == pytest.approx(0.9 * scale, rel=1e-14)


def test_overflowing_answers_raise_instead_of_inf():
    with pytest.raises(ValueError, match="beyond the float64 range"):
        ss.shapley(ss.BestOf(floor=-1e308), [1e308])  # φ = 2e308
    # overflowing differences with a finite answer: computed at a smaller scale
    np.testing.assert_allclose(ss.shapley(ss.BestOf(floor=-1e308), [5e307, 1e308]),
                               [7.5e307, 1.25e308], rtol=1e-15)


@pytest.mark.parametrize("k", [1024, 4096])
def test_large_k_is_finite_and_efficient(k):
    rng = np.random.default_rng(k)
    x = rng.normal(size=(3, k)) * 10
    phi = ss.shapley(ss.BestOf(), x)
    assert np.isfinite(phi).all()
    want = np.maximum(x.max(-1), 0)
    np.testing.assert_allclose(phi.sum(-1), want, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.float32, np.bool_])
def test_int_bool_and_float32_scores_are_upcast(dtype):
    x = np.array([[3, 1, 2]]).astype(dtype)
    phi = ss.shapley(ss.BestOf(), x)
    assert phi.dtype == np.float64
    np.testing.assert_allclose(phi, ss.shapley(ss.BestOf(), x.astype(np.float64)), rtol=1e-7)


def test_results_do_not_depend_on_thread_count(two_threads):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5000, 17))
    mask = rng.random(x.shape) < 0.8
    numba.set_num_threads(1)
    one = ss.shapley(ss.BestOf(0.2), x, mask=mask)
    numba.set_num_threads(2)
    two = ss.shapley(ss.BestOf(0.2), x, mask=mask)
    assert np.array_equal(one, two)


def test_floor_validation():
    with pytest.raises(ValueError, match="floor must be a finite number"):
        ss.BestOf(np.inf)
    with pytest.raises(TypeError, match="floor must be a real number"):
        ss.BestOf("1")
    with pytest.raises(TypeError, match="floor"):
        ss.BestOf(True)


def test_best_of_is_immutable_and_hashable():
    u = ss.BestOf(1.0)
    with pytest.raises(AttributeError):
        u.floor = 2.0
    assert hash(u) == hash(ss.BestOf(1)) and u == ss.BestOf(1)


@pytest.mark.parametrize("seed", range(5))
def test_best_of_and_top_k_match_exact_rational_arithmetic(seed):
    from fractions import Fraction

    from exact import rational_shapley, table_of

    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 8))
    x = rng.integers(-5, 6, size=k)  # small integers: ties and negatives
    floor = int(rng.integers(-3, 3))
    m = int(rng.integers(1, k + 1))
    games = {
        ss.BestOf(floor): lambda s: max([floor] + [int(x[j]) for j in s]),
        ss.TopK(m): lambda s: sum(sorted((int(x[j]) for j in s), reverse=True)[:m]),
    }
    for u, value_of in games.items():
        exact = rational_shapley(table_of(k, value_of))
        got = ss.shapley(u, x)
        for g, e in zip(got, exact):
            assert abs(Fraction(float(g)) - e) <= Fraction(1, 10**12)
