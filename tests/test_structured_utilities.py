"""AnySuccess, ExpectedBest, Pairwise and Additive (docs/math.md): exact
rational checks, large K, thread independence, composition and bad input.

The engine-vs-reference matrix and the axioms run on these utilities from
tests/test_engine_matrix.py through their registered hypothesis cases.
"""

from fractions import Fraction
from itertools import combinations
from math import factorial

import numba
import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines._kernels import SETS_PER_TASK
from shapley_sets.engines.any_success import gauss_legendre_01

from exact import rational_semivalue, table_of


def brute_force_shapley(value, k):
    """Exact Shapley values (Fractions) of ``value(frozenset)`` by enumeration."""
    phi = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        total = Fraction(0)
        for size in range(k):
            weight = Fraction(factorial(size) * factorial(k - size - 1), factorial(k))
            for s in combinations(others, size):
                total += weight * (value(frozenset(s) | {i}) - value(frozenset(s)))
        phi.append(total)
    return phi


# -- AnySuccess --------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_any_success_matches_exact_rationals(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 8))
    # dyadic probabilities are exact in float64, so the rationals are the input
    p = [Fraction(int(a), 64) for a in rng.integers(0, 65, size=k)]

    def value(s):
        fail = Fraction(1)
        for j in s:
            fail *= 1 - p[j]
        return 1 - fail

    exact = brute_force_shapley(value, k)
    got = ss.shapley(ss.AnySuccess(), [float(v) for v in p])
    np.testing.assert_allclose(got, [float(v) for v in exact], rtol=1e-14, atol=1e-16)


def test_any_success_closed_form_small_cases():
    # two candidates: φ_1 = p_1 (1 - p_2 / 2)
    np.testing.assert_allclose(ss.shapley(ss.AnySuccess(), [0.5, 0.25]),
                               [0.5 * (1 - 0.125), 0.25 * (1 - 0.25)], rtol=1e-15)
    assert ss.shapley(ss.AnySuccess(), [0.3]).tolist() == [0.3]


@pytest.mark.parametrize("m", [1, 2, 3, 7, 64, 500])
def test_any_success_binary_gives_pass_at_k_credit(m):
    rng = np.random.default_rng(m)
    k = m + 11
    p = np.zeros(k)
    p[rng.choice(k, size=m, replace=False)] = 1.0
    phi = ss.shapley(ss.AnySuccess(), p)
    np.testing.assert_allclose(phi[p == 1.0], 1.0 / m, rtol=1e-13)
    assert np.all(phi[p == 0.0] == 0.0)
    assert abs(phi.sum() - 1.0) < 1e-13


def test_any_success_binary_with_masks():
    p = np.array([[1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    mask = np.array([[True, True, True, False], [True, True, True, True], [True] * 4])
    phi = ss.shapley(ss.AnySuccess(), p, mask=mask)
    np.testing.assert_allclose(phi, [[0.5, 0.5, 0, 0], [0, 1 / 3, 1 / 3, 1 / 3], [0, 0, 0, 0]],
                               rtol=1e-14, atol=0)


def _any_success_value(p):
    with np.errstate(divide="ignore"):
        return -np.expm1(np.log1p(-p).sum(axis=-1))


@pytest.mark.parametrize("kind", ["near zero", "near one", "exact ones and zeros", "mixed"])
def test_any_success_large_k_is_finite_and_efficient(kind):
    rng = np.random.default_rng(1024)
    k = 1024
    if kind == "near zero":
        p = 10.0 ** rng.uniform(-15, -6, size=(3, k))
    elif kind == "near one":
        p = 1.0 - 10.0 ** rng.uniform(-12, -1, size=(3, k))
    elif kind == "exact ones and zeros":
        p = rng.choice([0.0, 1.0, 0.5, 1e-9], p=[0.5, 0.3, 0.1, 0.1], size=(3, k))
    else:
        p = rng.choice([0.0, 1.0], size=(3, k))
        tiny = rng.random((3, k)) < 0.5
        p[tiny] = 10.0 ** rng.uniform(-12, 0, size=int(tiny.sum()))
    phi = ss.shapley(ss.AnySuccess(), p)
    assert np.isfinite(phi).all()
    assert (phi >= 0).all()
    want = _any_success_value(p)
    np.testing.assert_allclose(phi.sum(axis=-1), want, rtol=1e-9, atol=0)


def test_any_success_large_k_ragged_uses_each_sets_own_rule():
    rng = np.random.default_rng(7)
    k = 300
    p = rng.random((5, k)) ** 4
    mask = np.arange(k) < np.array([1, 2, 57, 200, 300])[:, None]
    phi = ss.shapley(ss.AnySuccess(), p, mask=mask)
    assert np.all(phi[~mask] == 0.0)
    want = _any_success_value(np.where(mask, p, 0.0))
    np.testing.assert_allclose(phi.sum(axis=-1), want, rtol=1e-12)
    # one set of the batch alone gives the same numbers
    np.testing.assert_allclose(phi[2, :57], ss.shapley(ss.AnySuccess(), p[2, :57]), rtol=1e-14)


def test_gauss_legendre_rule_is_exact_at_512_nodes():
    t, w = gauss_legendre_01(512)
    for m in (0, 1, 10, 511, 1023):
        assert abs((w * (1 - t) ** m).sum() * (m + 1) - 1) < 1e-13
    assert not t.flags.writeable and not w.flags.writeable


def test_any_success_rejects_probabilities_outside_unit_interval():
    p = np.full((3, 4), 0.5)
    p[1, 2] = 1.5
    with pytest.raises(ValueError, match=r"x must lie in \[0.0, 1.0\].*set \(1,\), candidate 2"):
        ss.shapley(ss.AnySuccess(), p)
    with pytest.raises(ValueError, match=r"found -0.1 at the set, candidate 0"):
        ss.shapley(ss.AnySuccess(), [-0.1, 0.2])
    with pytest.raises(ValueError, match="x must be finite"):
        ss.shapley(ss.AnySuccess(), [np.nan, 0.2])


def test_any_success_accepts_int_and_float32_and_keeps_input():
    p32 = np.array([0.5, 0.25, 1.0], dtype=np.float32)
    before = p32.copy()
    np.testing.assert_allclose(ss.shapley(ss.AnySuccess(), p32),
                               ss.shapley(ss.AnySuccess(), p32.astype(np.float64)))
    np.testing.assert_array_equal(p32, before)
    np.testing.assert_allclose(ss.shapley(ss.AnySuccess(), np.array([1, 0, 1])), [0.5, 0, 0.5],
                               rtol=1e-15)


# -- ExpectedAnySuccess ------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weights", ["shapley", "banzhaf", "loo"])
def test_expected_any_success_matches_exact_rationals(seed, weights):
    rng = np.random.default_rng(seed)
    k, m = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    p = [[Fraction(int(a), 64) for a in row] for row in rng.integers(0, 65, size=(m, k))]
    pi = [Fraction(int(a), 8) for a in rng.integers(0, 9, size=m)]

    def value(s):
        total = Fraction(0)
        for u in range(m):
            fail = Fraction(1)
            for j in s:
                fail *= 1 - p[u][j]
            total += pi[u] * (1 - fail)
        return total

    exact = rational_semivalue(table_of(k, value), weights)
    u = ss.ExpectedAnySuccess([float(w) for w in pi], normalize=False)
    got = ss.semivalue(u, [[float(v) for v in row] for row in p], weights)
    np.testing.assert_allclose(got, [float(v) for v in exact], rtol=1e-13, atol=1e-15)


def test_expected_any_success_is_the_weighted_sum_of_any_success_and_holds_at_large_k():
    rng = np.random.default_rng(4)
    weights = np.array([0.2, 0.5, 0.3])
    x = rng.random((3, 3, 3000)) * 1e-3
    mask = rng.random((3, 3000)) < 0.9
    u = ss.ExpectedAnySuccess(weights)
    phi = ss.shapley(u, x, mask=mask)
    want = sum(w * ss.shapley(ss.AnySuccess(), x[:, t], mask=mask) for t, w in enumerate(weights))
    np.testing.assert_allclose(phi, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(phi.sum(axis=1), ss.value(u, x, mask=mask), rtol=1e-12)
    assert np.all(phi[~mask] == 0.0)


@pytest.mark.parametrize("kwargs,error,pattern", [
    ({}, TypeError, "ExpectedAnySuccess needs the number of user types M"),
    ({"weights": [0.5, 0.6]}, ValueError, "sum to 1.1"),
    ({"weights": [-0.5, 1.5]}, ValueError, "non-negative"),
    ({"weights": [0.5, 0.5], "n_types": 3}, ValueError, "n_types = 3 but weights has 2"),
    ({"n_types": 0}, ValueError, "n_types must be >= 1"),
    ({"weights": "ab"}, TypeError, "weights must be real numbers"),
])
def test_expected_any_success_rejects_bad_parameters(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ss.ExpectedAnySuccess(**kwargs)


def test_expected_any_success_rejects_mismatched_inputs():
    u = ss.ExpectedAnySuccess(n_types=2)
    with pytest.raises(ValueError, match="M = 2 user types .* but x has 3 on axis -2"):
        ss.shapley(u, np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match=r"x must lie in \[0.0, 1.0\]; found 1.5"):
        ss.shapley(u, [[0.5, 1.5], [0.1, 0.2]])


# -- thread independence -------------------------------------------------------

@pytest.mark.parametrize("utility,shape", [
    (ss.AnySuccess(), (3 * SETS_PER_TASK + 17, 13)),
    (ss.ExpectedBest([0.5, 2.0, 0.0], floors=[0.1, 0.0, -1.0], normalize=False), (3 * SETS_PER_TASK + 17, 3, 13)),
    (ss.ExpectedAnySuccess([0.5, 2.0, 0.0], normalize=False), (3 * SETS_PER_TASK + 17, 3, 13)),
])
def test_results_do_not_depend_on_thread_count(two_threads, utility, shape):
    rng = np.random.default_rng(11)
    x = rng.random(shape)
    mask = rng.random(shape[:-2] + shape[-1:] if len(shape) == 3 else shape) < 0.8
    numba.set_num_threads(1)
    one = ss.shapley(utility, x, mask=mask)
    numba.set_num_threads(2)
    two = ss.shapley(utility, x, mask=mask)
    assert np.array_equal(one, two)


# -- ExpectedBest --------------------------------------------------------------

def test_expected_best_is_weighted_sum_of_best_of_games():
    rng = np.random.default_rng(3)
    n, m, k = 6, 5, 40
    x = rng.normal(size=(n, m, k))
    weights = np.array([0.1, 0.0, 2.0, 1.0, 0.7])
    floors = np.array([0.0, -0.5, 0.3, 5.0, -10.0])
    mask = rng.random((n, k)) < 0.7
    phi = ss.shapley(ss.ExpectedBest(weights, floors, normalize=False), x, mask=mask)
    want = sum(weights[u] * ss.shapley(ss.BestOf(floors[u]), x[:, u], mask=mask) for u in range(m))
    np.testing.assert_allclose(phi, want, rtol=1e-13, atol=1e-15)
    u = ss.ExpectedBest(weights, floors, normalize=False)
    np.testing.assert_allclose(phi.sum(-1), ss.value(u, x, mask=mask) - weights @ floors,
                               rtol=1e-12)


def test_expected_best_exact_rationals():
    # two user types, three candidates; integers are exact
    x = [[3.0, 0.0, 2.0], [0.0, 4.0, 2.0]]
    weights, floors = [1.0, 3.0], [1.0, 0.0]

    def value(s):
        return sum(Fraction(w) * max([Fraction(b)] + [Fraction(row[j]) for j in s])
                   for row, w, b in zip(x, weights, floors))

    exact = brute_force_shapley(value, 3)
    got = ss.shapley(ss.ExpectedBest(weights, floors, normalize=False), x)
    np.testing.assert_allclose(got, [float(v) for v in exact], rtol=1e-15)


def test_expected_best_default_weights_are_uniform():
    rng = np.random.default_rng(5)
    x = rng.random((4, 3, 6))
    np.testing.assert_allclose(ss.shapley(ss.ExpectedBest(n_types=3), x),
                               ss.shapley(ss.ExpectedBest([1 / 3] * 3), x), rtol=1e-15)
    assert ss.ExpectedBest([1, 2], normalize=False) == ss.ExpectedBest((1.0, 2.0), normalize=False)
    assert hash(ss.ExpectedBest([1, 2], 0, normalize=False)) == hash(
        ss.ExpectedBest((1.0, 2.0), 0.0, normalize=False))
    # One canonical form for an expectation, however it was spelt.
    assert ss.ExpectedBest([0.25, 0.75]) == ss.ExpectedBest([1, 3], normalize=True)


def test_expected_best_mask_is_per_candidate():
    x = np.array([[[1.0, 5.0, 2.0], [3.0, 1.0, 0.0]]])
    phi = ss.shapley(ss.ExpectedBest(n_types=2), x, mask=[[True, False, True]])
    assert phi[0, 1] == 0.0
    np.testing.assert_allclose(phi[:, [0, 2]], ss.shapley(ss.ExpectedBest(n_types=2), x[..., [0, 2]]),
                               rtol=1e-15)


@pytest.mark.parametrize("kwargs,error,pattern", [
    ({"weights": [1.0, -0.5]}, ValueError, r"weights must be non-negative; found -0.5 at user type 1"),
    ({"weights": [1.0, np.inf]}, ValueError, r"weights must be finite; found inf at user type 1"),
    ({"weights": [[1.0, 2.0]]}, ValueError, r"weights must be a 1-D array"),
    ({"weights": []}, ValueError, r"weights must be a 1-D array"),
    ({"weights": ["a"]}, TypeError, r"weights must be real numbers"),
    ({"floors": np.nan}, ValueError, r"floors must be finite"),
    ({"floors": [0.0, np.nan]}, ValueError, r"floors must be finite; found nan at user type 1"),
    ({"floors": "low"}, TypeError, r"floors must be a real number"),
    ({"weights": [0.5, 0.5], "floors": [0.0, 0.0, 0.0]}, ValueError,
     r"floors has 3 entries but weights has 2"),
    ({}, TypeError, r"ExpectedBest needs the number of user types M: pass weights"),
    ({"n_types": 0}, ValueError, r"n_types must be >= 1"),
    ({"n_types": 2.0}, TypeError, r"n_types must be an int"),
    ({"n_types": 3, "weights": [0.5, 0.5]}, ValueError, r"n_types = 3 but weights has 2 entries"),
    ({"n_types": 3, "floors": [0.0, 1.0]}, ValueError, r"n_types = 3 but floors has 2 entries"),
    ({"weights": [1.0, 2.0]}, ValueError, r"weights sum to 3, not 1: pass normalize=True"),
    ({"weights": [0.0, 0.0], "normalize": True}, ValueError, r"weights sum to 0"),
    ({"weights": [0.5, 0.5], "normalize": "yes"}, TypeError, r"normalize must be None, True or False"),
])
def test_expected_best_rejects_bad_parameters(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ss.ExpectedBest(**kwargs)


def test_expected_best_rejects_mismatched_inputs():
    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match=r"M = 2 user types \(from weights\) but x has 3 on axis -2"):
        ss.shapley(ss.ExpectedBest([0.5, 0.5]), x)
    with pytest.raises(ValueError, match=r"M = 4 user types \(from floors\) but x has 3"):
        ss.shapley(ss.ExpectedBest(floors=[0.0] * 4), x)
    with pytest.raises(ValueError, match=r"M = 2 user types \(from n_types\) but x has 3"):
        ss.shapley(ss.ExpectedBest(n_types=2), x)
    with pytest.raises(ValueError, match=r"x must have at least 2 dimension"):
        ss.shapley(ss.ExpectedBest(n_types=1), [1.0, 2.0])
    x[1, 2, 3] = np.inf
    with pytest.raises(ValueError, match=r"x must be finite; found inf at set \(1,\), row 2, candidate 3"):
        ss.shapley(ss.ExpectedBest(n_types=3), x)
    with pytest.raises(ValueError, match="mask"):
        ss.shapley(ss.ExpectedBest(n_types=3), np.zeros((2, 3, 4)), mask=np.ones((2, 3, 4), bool))


# -- Pairwise ----------------------------------------------------------------

def _random_symmetric(rng, shape):
    a = rng.random(shape)
    return a + np.swapaxes(a, -1, -2)


def test_pairwise_exact_rationals():
    q = [3.0, -1.0, 2.0, 0.5]
    d = np.array([[9, 1, 2, 3], [1, 9, 4, 5], [2, 4, 9, 6], [3, 5, 6, 9]], dtype=float)
    lam = 0.5

    def value(s):
        return sum(Fraction(q[j]) for j in s) - Fraction(lam) * sum(
            Fraction(d[i, j]) for i in s for j in s if i < j)

    exact = brute_force_shapley(value, 4)
    got = ss.shapley(ss.Pairwise(d, lam=lam), q)
    assert got.tolist() == [float(v) for v in exact]


def test_pairwise_closed_form_large_k_with_per_set_matrices():
    rng = np.random.default_rng(8)
    n, k = 4, 200
    q = rng.normal(size=(n, k))
    d = _random_symmetric(rng, (n, k, k))
    mask = rng.random((n, k)) < 0.6
    phi = ss.shapley(ss.Pairwise(d, lam=0.3), q, mask=mask)
    off = d * (1 - np.eye(k))
    want = np.where(mask, q - 0.15 * np.einsum("nij,nj->ni", off, mask.astype(float)), 0.0)
    np.testing.assert_allclose(phi, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(phi.sum(-1), ss.value(ss.Pairwise(d, lam=0.3), q, mask=mask),
                               rtol=1e-10)


def test_pairwise_diagonal_is_ignored_and_matrix_is_copied_read_only():
    rng = np.random.default_rng(9)
    d = _random_symmetric(rng, (5, 5))
    q = rng.random(5)
    u = ss.Pairwise(d)
    d2 = d.copy()
    np.fill_diagonal(d2, 100.0)
    np.testing.assert_array_equal(ss.shapley(u, q), ss.shapley(ss.Pairwise(d2), q))
    d[0, 1] = d[1, 0] = 50.0  # the caller's array is not the utility's
    assert u.distances[0, 1] != 50.0
    assert not u.distances.flags.writeable
    assert u == ss.Pairwise(u.distances.copy()) and hash(u) == hash(ss.Pairwise(u.distances))
    assert u != ss.Pairwise(d)


def test_pairwise_rounding_asymmetry_is_averaged():
    d = np.array([[0.0, 0.3], [0.3 + 1e-17, 0.0]])
    assert ss.Pairwise(d).distances[0, 1] == ss.Pairwise(d).distances[1, 0]


def test_pairwise_permuted_relabels_both_axes():
    rng = np.random.default_rng(10)
    d = _random_symmetric(rng, (2, 6, 6))
    q = rng.random((2, 6))
    perm = rng.permutation(6)
    u = ss.Pairwise(d, lam=0.7)
    np.testing.assert_allclose(ss.shapley(u.permuted(perm), q[:, perm]),
                               ss.shapley(u, q)[:, perm], rtol=1e-14)


@pytest.mark.parametrize("d,pattern", [
    (np.array([[0.0, 1.0], [2.0, 0.0]]), r"distances must be symmetric; at the set, pair \(0, 1\)"),
    (np.stack([np.zeros((3, 3)), np.triu(np.ones((3, 3)))]),
     r"distances must be symmetric; at set \(1,\), pair \(0, 1\)"),
    (np.array([[0.0, np.nan], [np.nan, 0.0]]), r"distances must be finite; found nan at the set, row 0, candidate 1"),
    (np.zeros((2, 3)), r"distances must be square"),
    (np.zeros(3), r"distances must have at least 2 dimension"),
])
def test_pairwise_rejects_bad_matrices(d, pattern):
    with pytest.raises(ValueError, match=pattern):
        ss.Pairwise(d)


def test_pairwise_rejects_matrices_that_do_not_fit_the_input():
    u = ss.Pairwise(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"distances of shape \(3, 4, 4\) does not broadcast"):
        ss.shapley(u, np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"distances of shape \(3, 4, 4\) does not broadcast"):
        ss.shapley(u, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"does not broadcast .* \(4, 4\)"):
        ss.shapley(u, np.zeros(4))
    with pytest.raises(ValueError, match="lam must be a finite number"):
        ss.Pairwise(np.zeros((2, 2)), lam=np.inf)
    with pytest.raises(TypeError, match="lam must be a real number"):
        ss.Pairwise(np.zeros((2, 2)), lam="big")


# -- Additive and composition ---------------------------------------------------

def test_additive_is_identity_on_present_candidates():
    x = np.array([[1.5, -2.0, 0.0], [3.0, 4.0, 5.0]])
    mask = np.array([[True, True, False], [False, True, True]])
    assert ss.shapley(ss.Additive(), x, mask=mask).tolist() == [[1.5, -2.0, 0.0], [0.0, 4.0, 5.0]]
    assert ss.value(ss.Additive(), x, mask=mask).tolist() == [-0.5, 9.0]


def test_compositions_of_one_dimensional_utilities():
    rng = np.random.default_rng(12)
    k = 9
    q = rng.random((3, k))
    d = _random_symmetric(rng, (k, k))
    u = ss.BestOf() + ss.Pairwise(d, lam=0.1) - 2.0 * ss.Additive() + 0.5 * ss.AnySuccess()
    phi = ss.shapley(u, q)
    want = (ss.shapley(ss.BestOf(), q) + ss.shapley(ss.Pairwise(d, lam=0.1), q)
            - 2.0 * q + 0.5 * ss.shapley(ss.AnySuccess(), q))
    np.testing.assert_allclose(phi, want, rtol=1e-13)
    np.testing.assert_allclose(phi, ss.reference_shapley(u, q), rtol=1e-11, atol=1e-12)
    # the combination permutes its Pairwise term for the anonymity axiom
    perm = rng.permutation(k)
    np.testing.assert_allclose(ss.shapley(u.permuted(perm), q[:, perm]), phi[:, perm], rtol=1e-12)


def test_combination_checks_every_terms_domain():
    with pytest.raises(ValueError, match=r"x must lie in \[0.0, 1.0\]"):
        ss.shapley(ss.BestOf() + ss.AnySuccess(), [2.0, 0.5])


def test_expected_best_combines_only_with_two_dimensional_inputs():
    with pytest.raises(TypeError, match="cannot combine utilities with different inputs"):
        ss.ExpectedBest(n_types=3) + ss.BestOf()
    with pytest.raises(TypeError, match="cannot combine"):
        ss.AnySuccess() - ss.ExpectedBest(n_types=3)
    rng = np.random.default_rng(13)
    x = rng.random((2, 3, 5))
    u = ss.ExpectedBest(n_types=3) - 0.5 * ss.ExpectedBest([1.0, 0.0, 2.0], floors=0.4, normalize=False)
    np.testing.assert_allclose(ss.shapley(u, x), ss.reference_shapley(u, x), rtol=1e-12, atol=1e-14)
