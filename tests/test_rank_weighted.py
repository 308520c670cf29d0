"""The rank-weighted family (docs/math.md#rank-weighted-utilities): RankWeighted, its presets, TopK and
BestOf as a member. Exactness against the reference engine on random cases
is in tests/test_engine_matrix.py; here: exact rational tables, closed forms
against tables, large K, bad input, thread independence."""

import itertools
import math
from fractions import Fraction

import numba
import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines.rank_weighted import _build_step_tables, step_tables


# -- the step tables, exactly ---------------------------------------------------
def _brute_force_tables(w, k):
    """P_top, P_bot by enumerating the step games' coalitions in Fractions."""
    wf = [[Fraction(float(w[s][a])) for a in range(k + 1)] for s in range(k + 1)]

    def big_w(s, a):
        return sum((wf[s][i] for i in range(1, min(a, s) + 1)), Fraction(0))

    def shapley_of(player, top):
        others = [p for p in range(k) if p != player]
        total = Fraction(0)
        for size in range(k):
            weight = Fraction(1, k * math.comb(k - 1, size))
            for coalition in itertools.combinations(others, size):
                a = sum(1 for p in coalition if p in top)
                a_with = a + (player in top)
                total += weight * (big_w(size + 1, a_with) - big_w(size, a))
        return total

    p_top = [Fraction(0)] * (k + 1)
    p_bot = [Fraction(0)] * (k + 1)
    for j in range(1, k + 1):
        top = set(range(j))
        p_top[j] = shapley_of(0, top)
        if j < k:
            p_bot[j] = shapley_of(k - 1, top)
    return p_top, p_bot


def _weight_tables(k, rng):
    integer = np.tril(rng.integers(-3, 4, size=(k + 1, k + 1))).astype(float)
    dyadic = np.tril(rng.integers(-8, 9, size=(k + 1, k + 1)) / 4.0)
    for table in (integer, dyadic):
        table[0, :] = 0.0
        table[:, 0] = 0.0
    presets = [
        ss.RankWeighted.mean(), ss.RankWeighted.worst_of(), ss.RankWeighted.top_m_mean(2),
        ss.RankWeighted.discounted(), ss.RankWeighted.top_m_sum(2),
    ]
    return [integer, dyadic] + [u.weight_table(k) for u in presets]


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_step_tables_match_exact_rational_brute_force(k):
    rng = np.random.default_rng(k)
    for w in _weight_tables(k, rng):
        p_top, p_bot = _build_step_tables(np.asarray(w, dtype=float), k)
        want_top, want_bot = _brute_force_tables(w, k)
        scale = max(1.0, float(np.abs(w).sum()))
        for j in range(1, k + 1):
            assert abs(Fraction(p_top[j]) - want_top[j]) <= 1e-15 * scale, (j, w)
            assert abs(Fraction(p_bot[j]) - want_bot[j]) <= 1e-15 * scale, (j, w)


@pytest.mark.parametrize("k", [256, 1024])
def test_large_tables_are_finite_and_efficient(k):
    # In step game j the top j and the other K - j share W(K, j) (efficiency).
    for u in (ss.RankWeighted.mean(), ss.RankWeighted.top_m_mean(5), ss.RankWeighted.discounted()):
        p_top, p_bot = step_tables(u, k)
        assert np.isfinite(p_top).all() and np.isfinite(p_bot).all()
        j = np.arange(1, k + 1)
        cum = np.cumsum(u.weight_table(k)[k])
        np.testing.assert_allclose(j * p_top[1:] + (k - j) * p_bot[1:], cum[1:], rtol=1e-11, atol=1e-11)


def test_step_tables_are_cached_and_read_only():
    u = ss.RankWeighted.top_m_mean(3)
    first = step_tables(u, 12)
    assert step_tables(ss.RankWeighted.top_m_mean(3), 12) is first
    assert not first[0].flags.writeable and not first[1].flags.writeable


# -- closed forms against the tables -------------------------------------------
def _top_m_array(m, k):
    w = np.zeros((k + 1, k + 1))
    w[:, 1 : m + 1] = 1.0
    return w


@pytest.mark.parametrize("m", [1, 2, 3, 7, 30])
def test_top_k_closed_form_matches_tables(m):
    rng = np.random.default_rng(m)
    k = 20
    x = rng.normal(size=(200, k)) * 10.0 - 3.0  # negative scores too
    mask = rng.random((200, k)) < 0.8
    closed = ss.shapley(ss.TopK(m), x, mask=mask)
    tables = ss.shapley(ss.RankWeighted(_top_m_array(m, k)), x, mask=mask)
    preset = ss.shapley(ss.RankWeighted.top_m_sum(m), x, mask=mask)
    np.testing.assert_allclose(closed, tables, rtol=1e-12, atol=1e-12 * np.abs(x).max())
    np.testing.assert_array_equal(closed, preset)


def test_top_k_with_negative_scores_matches_reference():
    x = np.array([[-1.0, -3.0, 2.0, -0.5, -7.0], [-1.0, -1.0, -2.0, -9.0, -0.25]])
    for m in (1, 2, 4, 6):
        np.testing.assert_allclose(
            ss.shapley(ss.TopK(m), x), ss.reference_shapley(ss.TopK(m), x), rtol=1e-13, atol=1e-13
        )


def test_top_m_sum_1_agrees_with_best_of():
    rng = np.random.default_rng(3)
    x = rng.random((100, 9))  # non-negative: BestOf() is top-1 here
    x[:, 3] = x[:, 5]  # ties
    mask = rng.random(x.shape) < 0.7
    best = ss.shapley(ss.BestOf(), x, mask=mask)
    np.testing.assert_array_equal(ss.shapley(ss.RankWeighted.top_m_sum(1), x, mask=mask), best)
    np.testing.assert_array_equal(ss.shapley(ss.TopK(1), x, mask=mask), best)
    np.testing.assert_allclose(
        ss.shapley(ss.RankWeighted(_top_m_array(1, 9)), x, mask=mask), best, rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("floor", [0.0, 0.4, -1.0])
def test_best_of_is_top_1_on_its_gains(floor):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 7))
    u = ss.BestOf(floor=floor)
    gains = np.maximum(x - floor, 0.0)
    np.testing.assert_allclose(
        ss.shapley(u, x), ss.shapley(u.as_rank_weighted(), gains), rtol=1e-13, atol=1e-15
    )


def test_worst_of_is_minus_best_of_of_minus_scores():
    x = -np.random.default_rng(5).random((30, 6))  # non-positive: no floor is active
    np.testing.assert_allclose(
        ss.shapley(ss.RankWeighted.worst_of(), x), -ss.shapley(ss.BestOf(), -x), rtol=1e-13, atol=1e-15
    )


def test_mean_of_equal_sizes_is_size_scaled_additive():
    # with no mask, U(S) = mean(S) gives every coalition size its own scale;
    # efficiency and symmetry are what we can state in closed form
    x = np.array([2.0, 2.0, 5.0, -1.0])
    phi = ss.shapley(ss.RankWeighted.mean(), x)
    assert phi[0] == phi[1]
    assert phi.sum() == pytest.approx(x.mean(), rel=1e-14)


# -- masks, ties, large K ------------------------------------------------------
def test_masked_set_equals_the_compacted_set():
    rng = np.random.default_rng(6)
    k = 12
    x = rng.normal(size=(40, k))
    mask = rng.random((40, k)) < 0.6
    w = rng.normal(size=(k + 1, k + 1))
    for u in (ss.RankWeighted(w), ss.RankWeighted.discounted(), ss.TopK(3)):
        phi = ss.shapley(u, x, mask=mask)
        for s in range(40):
            present = mask[s]
            alone = ss.shapley(u, x[s, present]) if present.any() else np.zeros(0)
            np.testing.assert_array_equal(phi[s, present], alone)
            assert np.all(phi[s, ~present] == 0.0)


def test_tied_candidates_get_identical_values():
    x = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0]])
    rng = np.random.default_rng(7)
    for u in (ss.RankWeighted(rng.normal(size=(7, 7))), ss.RankWeighted.mean(), ss.TopK(2)):
        phi = ss.shapley(u, x)[0]
        assert phi[0] == phi[2] == phi[5]
        assert phi[1] == phi[4]


@pytest.mark.parametrize(
    "u",
    [ss.TopK(5), ss.RankWeighted.top_m_mean(5), ss.RankWeighted.mean(), ss.RankWeighted.discounted()],
    ids=repr,
)
def test_large_k_is_finite_and_efficient(u):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 1024)) * 100.0
    mask = np.ones(x.shape, dtype=bool)
    mask[2, 1000:] = False  # a ragged set: its own tables
    phi = ss.shapley(u, x, mask=mask)
    assert np.isfinite(phi).all()
    assert np.all(phi[2, 1000:] == 0.0)
    np.testing.assert_allclose(
        phi.sum(axis=-1), ss.value(u, x, mask=mask), rtol=1e-9, atol=1e-9 * np.abs(x).max()
    )


def test_inputs_are_not_modified_and_ints_are_accepted():
    x = np.array([[3, 1, 2], [0, 5, 5]])
    mask = np.array([[True, True, False], [True, True, True]])
    x0, mask0 = x.copy(), mask.copy()
    phi = ss.shapley(ss.RankWeighted.mean(), x, mask=mask)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(mask, mask0)
    np.testing.assert_allclose(phi, ss.shapley(ss.RankWeighted.mean(), x.astype(float), mask=mask))


# -- identity, hashing, caching -----------------------------------------------
def test_equal_utilities_hash_alike_and_arrays_are_private_copies():
    w = np.arange(16.0).reshape(4, 4)
    u = ss.RankWeighted(w)
    assert u == ss.RankWeighted(w.copy()) and hash(u) == hash(ss.RankWeighted(w.copy()))
    w[2, 1] = -100.0
    assert u.weights[2, 1] == 9.0 and not u.weights.flags.writeable
    assert u != ss.RankWeighted(w)
    assert ss.RankWeighted.mean() == ss.RankWeighted.mean()
    assert ss.RankWeighted.top_m_mean(2) != ss.RankWeighted.top_m_mean(3)
    assert ss.RankWeighted.discounted([1.0, 0.5]) == ss.RankWeighted.discounted(np.array([1.0, 0.5]))
    assert len({ss.RankWeighted.mean(), ss.RankWeighted.mean(), ss.TopK(2), ss.TopK(2)}) == 2
    assert repr(ss.RankWeighted.top_m_mean(3)) == "RankWeighted.top_m_mean(3)"
    assert repr(ss.TopK(3).as_rank_weighted()) == "RankWeighted.top_m_sum(3)"


def test_a_callable_is_called_once_per_entry():
    calls = []

    def w(s, k):
        calls.append((s, k))
        return 1.0 / (s * k)

    u = ss.RankWeighted(w)
    ss.shapley(u, np.ones((2, 4)))
    ss.shapley(u, np.ones((2, 6)), mask=[True] * 5 + [False])
    ss.shapley(u, np.ones(3))
    assert sorted(calls) == sorted(set(calls))
    assert set(calls) == {(s, k) for s in range(1, 7) for k in range(1, s + 1)}


def test_unused_weight_entries_are_never_read():
    w = np.full((4, 4), np.nan)
    w[np.tril_indices(4)] = 1.0
    w[0, 0] = np.inf
    u = ss.RankWeighted(w)
    np.testing.assert_allclose(ss.shapley(u, [1.0, 2.0, 4.0]), [1.0, 2.0, 4.0])


# -- bad input -----------------------------------------------------------------
@pytest.mark.parametrize("k, error", [(0, ValueError), (-2, ValueError), (True, TypeError), (2.0, TypeError), ("3", TypeError)])
def test_top_k_rejects_bad_k(k, error):
    with pytest.raises(error, match="k must be an int"):
        ss.TopK(k)


def test_top_k_accepts_numpy_ints():
    assert ss.TopK(np.int64(3)) == ss.TopK(3)


@pytest.mark.parametrize("m", [0, True, 1.5])
def test_presets_reject_bad_m(m):
    with pytest.raises((ValueError, TypeError), match="m must be an int"):
        ss.RankWeighted.top_m_mean(m)
    with pytest.raises((ValueError, TypeError), match="m must be an int"):
        ss.RankWeighted.top_m_sum(m)


def test_rank_weighted_rejects_bad_weight_arrays():
    with pytest.raises(TypeError, match="weights"):
        ss.RankWeighted("top")
    with pytest.raises(TypeError, match="weights"):
        ss.RankWeighted(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="weights must be a 2-D array"):
        ss.RankWeighted(np.ones(4))
    w = np.ones((4, 4))
    w[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"weights\[2, 1\]"):
        ss.RankWeighted(w)


def test_weight_array_too_small_names_the_shape_needed():
    u = ss.RankWeighted(np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"weights has shape \(3, 3\).*\(5, 5\)"):
        ss.shapley(u, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"\(5, 5\)"):
        ss.reference_shapley(u, np.ones(4))


def test_failing_callable_names_s_and_k_and_chains_the_cause():
    def w(s, k):
        if (s, k) == (3, 2):
            raise ZeroDivisionError("boom")
        return 1.0

    with pytest.raises(ValueError, match=r"weights\(3, 2\) raised ZeroDivisionError: boom") as info:
        ss.shapley(ss.RankWeighted(w), np.ones(4))
    assert isinstance(info.value.__cause__, ZeroDivisionError)

    def typed(s, k):
        raise TypeError("wrong")

    with pytest.raises(TypeError, match=r"weights\(1, 1\) raised TypeError") as info:
        ss.shapley(ss.RankWeighted(typed), np.ones(2))
    assert isinstance(info.value.__cause__, TypeError)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1j, "one", None, [1.0]])
def test_callable_returning_a_non_finite_or_non_real_value_is_rejected(bad):
    u = ss.RankWeighted(lambda s, k: bad if (s, k) == (2, 2) else 1.0)
    with pytest.raises(ValueError, match=r"weights\(2, 2\) must return a (finite|real) number"):
        ss.shapley(u, np.ones(3))


def test_callable_may_return_numpy_scalars_and_bools():
    u = ss.RankWeighted(lambda s, k: np.float32(0.5) if k == 1 else (k == 2))
    np.testing.assert_allclose(ss.value(u, [4.0, 2.0, 1.0]), 0.5 * 4.0 + 2.0)


def test_discounted_rejects_bad_discounts():
    with pytest.raises(ValueError, match=r"d must be finite.*d\[1\]"):
        ss.RankWeighted.discounted([1.0, np.nan])
    with pytest.raises(ValueError, match="d must be a 1-D array"):
        ss.RankWeighted.discounted(np.ones((2, 2)))
    with pytest.raises(ValueError, match="d has 2 discounts .* K = 3"):
        ss.shapley(ss.RankWeighted.discounted([1.0, 0.5]), np.ones(3))
    with pytest.raises(ValueError, match=r"d\(3\) raised ValueError"):
        ss.shapley(ss.RankWeighted.discounted(lambda k: math.log(3 - k)), np.ones(3))


def test_bad_scores_name_the_set_and_candidate():
    x = np.ones((2, 3))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"set \(1,\), candidate 2"):
        ss.shapley(ss.RankWeighted.mean(), x)
    with pytest.raises(ValueError, match=r"set \(1,\), candidate 2"):
        ss.shapley(ss.TopK(2), x)


# -- thread independence ---------------------------------------------------------
def test_results_are_bit_identical_for_one_and_two_threads(two_threads):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3000, 14))
    mask = rng.random(x.shape) < 0.75
    utilities = [ss.TopK(3), ss.RankWeighted(rng.normal(size=(15, 15))), ss.RankWeighted.top_m_mean(4)]
    weights = ss.RankWeighted.discounted().weight_table(300)
    results = {}
    for threads in (1, 2):
        numba.set_num_threads(threads)
        results[threads] = [ss.shapley(u, x, mask=mask) for u in utilities]
        results[threads].extend(_build_step_tables(weights, 300))
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)
