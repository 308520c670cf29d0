"""Every registered engine and every weighting against the reference engine:
random and adversarial cases (ties, masks, negative scores, floors), the
semivalue axioms, exact rational arithmetic on integer inputs, large K, no
input mutation, thread-count independence.

An engine joins this matrix by being registered with the weightings it
serves; the others reach the reference engine and are checked the same way.
"""

from fractions import Fraction

import mpmath
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shapley_sets as ss
from shapley_sets._api import _prepare
from shapley_sets.engines.reference import coalition_table
from shapley_sets.engines.weights import as_weighting
from shapley_sets.testing import SEMIVALUE_AXIOMS, assert_axioms
from shapley_sets.testing.cases import utility_cases
from shapley_sets.testing.strategies import RandomSizeWeights, weightings

from exact import rational_semivalue
from test_engine_matrix import assert_close_to_reference

ENGINES = ss.registered_engines()
IDS = [e.utility_type.__name__ for e in ENGINES]
KINDS = ["banzhaf", "loo", "beta", "sizes"]


def _of_kind(kind):
    if kind == "beta":
        shape = st.one_of(st.sampled_from([0.5, 2.0, 3.0]), st.floats(0.2, 5.0))
        return st.tuples(st.just("beta"), shape, shape)
    if kind == "sizes":
        return st.integers(0, 2**31 - 1).map(RandomSizeWeights)
    return st.just(kind)


def reference_semivalue(u, x, weights, mask):
    from shapley_sets.engines.reference import reference_semivalue_from_prepared

    arr, full = _prepare(u, x, mask)
    return reference_semivalue_from_prepared(u, arr, full, as_weighting(weights))


def test_named_fast_engines_serve_shapley_banzhaf_and_leave_one_out():
    for engine in ENGINES:
        for kind in ("shapley", "banzhaf", "loo", "beta"):
            assert kind in engine.weightings, (engine.name, kind)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_semivalue_matches_reference(engine, kind):
    @given(utility_cases(engine.utility_type, max_k=9), _of_kind(kind))
    def check(case, weights):
        u, x, mask = case
        fast = ss.semivalue(u, x, weights, mask=mask)
        ref = reference_semivalue(u, x, weights, mask)
        # The fast engines work on gains above U(∅) (a best-of floor), so
        # their rounding is relative to |U(∅)| too. Shapley values carry a
        # share of U(S) - U(∅) and are at that scale anyway; leave-one-out
        # values need not be (floor -1e150, scores 1e-150).
        assert_close_to_reference(u, x, mask, fast=fast, ref=ref, empty_scale=True)

    check()


#: Beta laws at the edges: U-shaped (both < 1, each end outweighing the middle
#: by ~1/α), J-shaped, far apart, near a point mass, and the float64 extremes.
EXTREME_BETAS = [(1e-300, 1e-300), (1e-100, 1e-100), (1e-9, 1e-9), (1e-9, 1.0), (1.0, 1e-9), (0.05, 0.02),
                 (1e-8, 1e8), (1e8, 1e-8), (1e4, 1.0), (1.0, 1e5), (0.5, 1e4), (1e300, 1e300), (1e300, 1.0)]


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_beta_semivalues_at_extreme_parameters_match_the_reference(engine):
    # The engines' own routes to Beta weights (step-share products, mode walks
    # of the beta-binomial, Gauss-Jacobi rules) against the reference engine's
    # log-gamma size weights.
    @settings(max_examples=40, deadline=None)
    @given(utility_cases(engine.utility_type, max_k=7), st.sampled_from(EXTREME_BETAS))
    def check(case, shape):
        u, x, mask = case
        weights = ("beta", *shape)
        fast = ss.semivalue(u, x, weights, mask=mask)
        ref = reference_semivalue(u, x, weights, mask)
        assert_close_to_reference(u, x, mask, fast=fast, ref=ref, empty_scale=True)

    check()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_an_array_of_size_weights_serves_full_sets_of_its_k(engine):
    # An array p_K (not a callable) fits one set size: every engine must read
    # it for the sets' K only (Pairwise once asked it for every size below K).
    @settings(max_examples=25, deadline=None)
    @given(utility_cases(engine.utility_type, max_k=7), st.integers(0, 2**31 - 1))
    def check(case, seed):
        u, x, _ = case
        k = x.shape[-1]
        if k == 0:
            return
        weights = RandomSizeWeights(seed)(k)
        fast = ss.semivalue(u, x, weights)
        ref = reference_semivalue(u, x, weights, None)
        assert_close_to_reference(u, x, None, fast=fast, ref=ref, empty_scale=True)

    check()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_semivalue_axioms(engine, kind):
    @given(utility_cases(engine.utility_type, max_k=6), _of_kind(kind))
    def check(case, weights):
        u, x, mask = case

        def attribution(u, x, mask=None):
            return ss.semivalue(u, x, weights, mask=mask)

        # Subnormal inputs leave no relative precision: a few subnormal units of
        # slack. A combination's terms (BestOf(b) - BestOf(0) on scores of 5e11)
        # may cancel to values far below the inputs, so the slack also scales
        # with the inputs, as the reference comparison's does.
        atol = 64 * np.finfo(np.float64).smallest_subnormal + 1e-12 * float(np.abs(x).max(initial=0.0))
        assert_axioms(attribution, u, x, mask=mask, rtol=1e-9, atol=atol, axioms=SEMIVALUE_AXIOMS)

    check()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_absent_candidates_get_exactly_zero_and_inputs_are_kept(engine):
    @given(utility_cases(engine.utility_type, max_k=8), weightings())
    def check(case, weights):
        u, x, mask = case
        x_before = x.copy()
        mask_before = None if mask is None else mask.copy()
        phi = ss.semivalue(u, x, weights, mask=mask)
        np.testing.assert_array_equal(x, x_before)
        if mask is not None:
            np.testing.assert_array_equal(mask, mask_before)
            assert np.all(phi[~np.broadcast_to(mask, phi.shape)] == 0.0)

    check()


# -- exact rational arithmetic on integer inputs --------------------------------

def _integer_cases():
    rng = np.random.default_rng(11)
    d = rng.integers(-2, 3, size=(5, 5)).astype(float)
    d = np.triu(d, 1) + np.triu(d, 1).T
    w = np.zeros((6, 6))
    w[np.tril_indices(6)] = rng.integers(-2, 3, size=21)
    yield "BestOf", ss.BestOf(floor=1.0), rng.integers(-3, 4, size=(6, 5)).astype(float)
    yield "TopK", ss.TopK(2), rng.integers(-3, 4, size=(6, 5)).astype(float)
    yield "RankWeighted", ss.RankWeighted(w), rng.integers(-3, 4, size=(6, 5)).astype(float)
    yield "RankWeighted.worst_of", ss.RankWeighted.worst_of(), rng.integers(-3, 4, size=(6, 5)).astype(float)
    yield "ExpectedBest", ss.ExpectedBest([0.25, 0.75], [0.0, 2.0]), rng.integers(-2, 5, size=(6, 2, 5)).astype(float)
    yield "AnySuccess", ss.AnySuccess(), rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=(6, 5))
    yield "Pairwise", ss.Pairwise(d, 0.5), rng.integers(-3, 4, size=(6, 5)).astype(float)
    yield "LinearCombination", ss.BestOf() - 2 * ss.TopK(3), rng.integers(-3, 4, size=(6, 5)).astype(float)


RATIONAL_WEIGHTS = ["banzhaf", "loo", ("beta", 2, 3), ("beta", 1, 2), ("beta", 3, 1)]


@pytest.mark.parametrize("weights", RATIONAL_WEIGHTS, ids=str)
@pytest.mark.parametrize("name, u, x", list(_integer_cases()), ids=[c[0] for c in _integer_cases()])
def test_semivalue_matches_exact_rational_arithmetic(name, u, x, weights):
    mask = np.ones(x.shape[:1] + x.shape[-1:], dtype=bool)
    mask[1, 2] = mask[2, [0, 4]] = mask[3, :4] = False
    got = ss.semivalue(u, x, weights, mask=mask)
    arr, full = _prepare(u, x, mask)
    table = coalition_table(u, arr, full)  # exact: dyadic sums of small integers
    for s in range(x.shape[0]):
        want = rational_semivalue([Fraction(v) for v in table[s].tolist()], weights,
                                  np.flatnonzero(mask[s]).tolist())
        np.testing.assert_allclose(got[s], [float(v) for v in want], rtol=1e-13, atol=1e-14,
                                   err_msg=f"{name}, set {s}")


# -- large K: finite, accurate ---------------------------------------------------

def _best_of_high_precision(x_sorted_desc, shares):
    """φ_(i) = Σ_{j >= i} Δ_j c_j in mpmath, x sorted decreasingly, x_{K+1} = 0."""
    x = [mpmath.mpf(v) for v in x_sorted_desc] + [mpmath.mpf(0)]
    out, acc = [], mpmath.mpf(0)
    for j in range(len(x) - 1, 0, -1):
        acc += (x[j - 1] - x[j]) * shares[j]
        out.append(acc)
    return out[::-1]


@pytest.mark.parametrize("weights", ["banzhaf", "loo", ("beta", 2, 3), ("beta", 0.5, 0.5)], ids=str)
def test_best_of_at_k_2000_matches_high_precision(weights):
    mpmath.mp.dps = 40
    k = 2000
    x = np.sort(np.random.default_rng(3).random(k))[::-1].copy()
    got = ss.semivalue(ss.BestOf(), x, weights)
    if weights == "banzhaf":
        shares = [None] + [mpmath.mpf(2) ** (1 - j) for j in range(1, k + 1)]
    elif weights == "loo":
        shares = [None, mpmath.mpf(1)] + [mpmath.mpf(0)] * (k - 1)
    else:
        a, b = mpmath.mpf(weights[1]), mpmath.mpf(weights[2])
        shares = [None] + [mpmath.beta(a, b + j - 1) / mpmath.beta(a, b) for j in range(1, k + 1)]
    want = np.array([float(v) for v in _best_of_high_precision(x, shares)])
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("weights", ["banzhaf", "loo"], ids=str)
def test_any_success_at_k_2000_matches_closed_products(weights):
    mpmath.mp.dps = 40
    k = 2000
    p = np.random.default_rng(4).random(k) * 0.01
    got = ss.semivalue(ss.AnySuccess(), p, weights)
    t = mpmath.mpf(1) / 2 if weights == "banzhaf" else mpmath.mpf(1)
    factors = [1 - t * mpmath.mpf(v) for v in p]
    total = mpmath.fprod(factors)
    want = np.array([float(mpmath.mpf(v) * total / f) for v, f in zip(p, factors)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_any_success_beta_at_k_500_matches_high_precision():
    mpmath.mp.dps = 50
    k = 500
    a, b = 2, 3
    p = np.random.default_rng(5).random(k) * 0.02
    got = ss.semivalue(ss.AnySuccess(), p, ("beta", a, b))
    moments = [mpmath.mpf(1)]  # E[t^d] under Beta(a, b)
    for d in range(k):
        moments.append(moments[-1] * (a + d) / (a + b + d))
    for i in (0, 17, k - 1):
        poly = [mpmath.mpf(1)]  # coefficients of Π_{j≠i} (1 - t p_j)
        for j in range(k):
            if j != i:
                pj = mpmath.mpf(p[j])
                poly = [c - pj * prev for c, prev in zip(poly + [0], [0] + poly)]
        want = mpmath.mpf(p[i]) * mpmath.fsum(c * m for c, m in zip(poly, moments))
        assert abs(got[i] - float(want)) <= 1e-12 * abs(float(want))


@pytest.mark.parametrize("weights", ["banzhaf", "loo", ("beta", 2, 3)], ids=str)
def test_expected_best_and_pairwise_at_k_2000_are_finite_and_additive(weights):
    rng = np.random.default_rng(6)
    k = 2000
    x = rng.random((3, k))
    u = ss.ExpectedBest([0.2, 0.3, 0.5])
    got = ss.semivalue(u, x, weights)
    by_type = sum(w * ss.semivalue(ss.BestOf(), x[m], weights) for m, w in enumerate([0.2, 0.3, 0.5]))
    np.testing.assert_allclose(got, by_type, rtol=1e-12, atol=1e-300)
    d = rng.random((k, k))
    d = d + d.T
    q = rng.random(k)
    rho = as_weighting(weights).inclusion(k)
    want = q - 0.5 * rho * (d.sum(1) - np.diag(d))
    np.testing.assert_allclose(ss.semivalue(ss.Pairwise(d, 0.5), q, weights), want, rtol=1e-10)


# -- threads ---------------------------------------------------------------------

@pytest.mark.parametrize("weights", ["banzhaf", "loo", ("beta", 2, 3), RandomSizeWeights(1)], ids=str)
def test_results_do_not_depend_on_the_thread_count(two_threads, weights):
    rng = np.random.default_rng(8)
    n, k = 3000, 12
    x = np.round(rng.normal(size=(n, k)), 1)
    mask = rng.random((n, k)) < 0.8
    cases = [(ss.BestOf(), x), (ss.TopK(3), x), (ss.RankWeighted.mean(), x),
             (ss.AnySuccess(), np.abs(x) / (1 + np.abs(x))),
             (ss.ExpectedBest(n_types=2), np.stack([x, -x], axis=1))]
    for u, xx in cases:
        numba.set_num_threads(1)
        one = ss.semivalue(u, xx, weights, mask=mask)
        numba.set_num_threads(2)
        two = ss.semivalue(u, xx, weights, mask=mask)
        np.testing.assert_array_equal(one, two, err_msg=type(u).__name__)
