"""The stratified estimator's surrogate: its exact stratum terms (with the
size slopes), when the slopes are used, and the estimate's bias and interval
coverage on sums of unanimity games of order 1-4, where the slopes matter
(a third-order term restricted to coalitions of size s looks like its pairs
times about (s − 2)/(n − 2))."""

import math

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.bench.estimation import Unanimity
from shapley_sets.blackbox.estimators import _design, _enumerate, _InterceptFit, _layout, _Term
from shapley_sets.engines.weights import as_weighting

WEIGHTS = ["shapley", "banzhaf", ("beta", 2, 3)]


def _p(weights, n):
    return np.asarray(as_weighting(weights).size_weights(n), dtype=np.float64)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("slopes", [False, True])
def test_stratum_terms_are_the_exact_mean_over_the_stratum(weights, slopes):
    # brute force over every coalition A of size s: E[f(A)·θ d_i(A)]
    n = 7
    p = _p(weights, n)
    rng = np.random.default_rng(3)
    for s in range(1, n):
        rows = _enumerate(n, s)
        features = _design(rows, {s: 0}, 1, True, True, slopes)
        theta = rng.normal(size=(2, features.shape[1]))
        d = np.where(rows, p[s - 1] * n / s, -p[s] * n / (n - s))
        want = np.einsum("ap,mp,ai->mi", features, theta, d) / len(rows)
        got = _Term.of(p, n, s, 0, slopes).apply(theta, n=n, n_int=1, members=True, pairs=True,
                                                   slopes=slopes)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_slope_features_are_the_members_and_pairs_times_the_size_factor():
    n = 6
    rows = np.random.default_rng(0).random((20, n)) < 0.5
    rows[:, 0] = True  # no empty row: every size 1..6 has an intercept column
    col = {s: s - 1 for s in range(1, n + 1)}
    plain = _design(rows, col, n, True, True)
    both = _design(rows, col, n, True, True, True)
    factor = (2.0 * rows.sum(1) - n) / n
    np.testing.assert_array_equal(both[:, : plain.shape[1]], plain)
    np.testing.assert_allclose(both[:, plain.shape[1]:], plain[:, n:] * factor[:, None], rtol=0, atol=0)


def test_slopes_join_the_pairs_once_the_evaluations_reach_twice_the_coefficients():
    # K = 10: 9 intercepts, 10 memberships, 45 pairs and their 55 slopes;
    # evaluations beyond U(N) and U(∅): pairs from 2·64 = 128, slopes from 2·119 = 238
    p = np.full(10, 0.1).tobytes()
    assert not _layout(p, 10, 129, False).pairs
    assert _layout(p, 10, 130, False).pairs and not _layout(p, 10, 239, False).slopes
    assert _layout(p, 10, 240, False).slopes
    # and only up to 24 candidates (the cost of the fit grows as the square of the coefficients)
    assert _layout(np.full(24, 1 / 24).tobytes(), 24, 1248, False).slopes
    assert not _layout(np.full(24, 1 / 24).tobytes(), 24, 1247, False).slopes
    wide = _layout(np.full(25, 1 / 25).tobytes(), 25, 20000, False)
    assert wide.pairs and not wide.slopes


def _refitted_estimate(p, n, layout, rows, v):
    """The stratified estimate by brute force: every unit's residuals from the
    surrogate refitted without the unit (weighted ridge least squares, solved
    afresh), not from the estimator's rank-1 or rank-2 downdates."""
    phi = p[n - 1] * v[0] - p[0] * v[1]
    at = 2
    for s in layout.exact_strata:
        block, vals = rows[at : at + math.comb(n, s)], v[at : at + math.comb(n, s)]
        phi = phi + p[s - 1] * (block.T @ vals) / block.sum(0) - p[s] * ((~block).T @ vals) / (~block).sum(0)
        at += len(block)
    n_int = len(layout.col)
    x = _design(rows[at:], layout.col, n_int, layout.members, layout.pairs, layout.slopes)
    vd = v[at:]
    omega = np.ones(len(x)) if layout.scale is None else layout.scale**2
    fixed_b = layout.fixed_design.T @ v[2:at]
    first = 0
    for s, units, pair in layout.groups:
        width = 2 if pair else 1
        cross = pair and 2 * s != n
        sizes = (s, n - s) if cross else (s,) * width
        share = 1.0 if cross else 1.0 / width
        z = np.zeros((units, n))
        for u in range(units):
            own = [first + u + units * c for c in range(width)]
            keep = np.ones(len(x), dtype=bool)
            keep[own] = False
            gram = layout.fixed_gram + (x[keep] * omega[keep, None]).T @ x[keep]
            theta = np.linalg.solve(gram, fixed_b + x[keep].T @ (omega[keep] * vd[keep]))
            for c, size in enumerate(sizes):
                row = rows[at + own[c]]
                d = np.where(row, p[size - 1] * n / size, -p[size] * n / (n - size))
                term = layout.terms[size].apply(theta[None], n=n, n_int=n_int, members=layout.members,
                                                pairs=layout.pairs, slopes=layout.slopes)[0]
                z[u] += share * (term + (vd[own[c]] - x[own[c]] @ theta) * d)
        phi = phi + z.mean(axis=0)
        first += units * width
    return phi


@pytest.mark.parametrize("weights, n, budget", [
    ("banzhaf", 8, 30),  # complementary pairs; the weighted fit
    ("banzhaf", 8, 120),  # pair terms, single draws; the weighted fit
    ("shapley", 7, 30),  # the plain fit
    (("beta", 2, 3), 7, 40),
])
def test_each_unit_is_left_out_of_its_own_fit_exactly(weights, n, budget):
    from shapley_sets.blackbox.estimators import stratified_plan

    p = _p(weights, n)
    layout = _layout(p.tobytes(), n, budget, False)
    assert (layout.scale is not None) == (weights == "banzhaf")
    game = Unanimity(np.random.default_rng(1), n)
    plan = stratified_plan(p, n, budget, False, np.random.default_rng(4))
    rows = plan.members[plan._index]
    v = game.coalition_values(np.zeros(n), rows)
    got = plan.finish(game.coalition_values(np.zeros(n), plan.members))[0]
    np.testing.assert_allclose(got, _refitted_estimate(p, n, layout, rows, v), rtol=1e-9, atol=1e-12)


def test_banzhaf_draws_follow_the_square_root_of_the_neyman_rule():
    # K = 10: the Neyman rule for the Banzhaf value is proportional to C(10, s),
    # which left sizes 1 and 9 two pairs and sizes 2 and 8 four at 100
    # evaluations; the square root gives them 3 and 7, and 200 evaluations
    # enumerate sizes 1 and 9
    p = _p("banzhaf", 10)
    layout = _layout(p.tobytes(), 10, 100, False)
    assert layout.groups == ((1, 3, True), (2, 7, True), (3, 12, True), (4, 15, True), (5, 12, True))
    assert _layout(p.tobytes(), 10, 200, False).exact_strata == (1, 9)
    # the fit's row weights (w_s / m_s)^2: a row of size 1 (3 rows, C(10, 1) = 10)
    # against one of size 4 (15 rows, C(10, 4) = 210)
    rows = dict(layout.sampled)
    by_size = {}
    at = 0
    for s, m in layout.sampled:
        by_size[s] = layout.scale[at]
        at += m
    want = (10 / rows[1]) / (210 / rows[4])
    assert by_size[1] / by_size[4] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("weights", ["shapley", ("beta", 2, 3)])
def test_other_weightings_keep_the_neyman_rule_and_the_plain_fit(weights):
    # the plans of K = 10 as before the square-root rule (Shapley's are those
    # measured against shapiq)
    before = {
        "shapley": {30: ((), ((1, 4, True), (2, 3, True), (3, 3, True), (4, 3, True), (5, 2, False))),
                    100: ((1, 9), ((2, 13, True), (3, 11, True), (4, 10, True), (5, 5, True))),
                    400: ((1, 2, 3, 7, 8, 9), ((4, 16, False), (5, 16, False), (6, 16, False)))},
        "('beta', 2, 3)": {60: ((1,), ((2, 9, False), (3, 9, False), (4, 8, False), (5, 7, False),
                                       (6, 6, False), (7, 4, False), (8, 3, False), (9, 2, False))),
                           200: ((1, 2, 9), ((3, 31, False), (4, 29, False), (5, 25, False),
                                             (6, 21, False), (7, 16, False), (8, 11, False)))},
    }[str(weights)]
    p = _p(weights, 10)
    for budget, (exact, groups) in before.items():
        layout = _layout(p.tobytes(), 10, budget, False)
        assert (layout.exact_strata, layout.groups) == (exact, groups)
        assert layout.scale is None


GAMES = [Unanimity(np.random.default_rng(50), 10), Unanimity(np.random.default_rng(52), 12)]
# (game, weights); the budget is 50·K, where the surrogate has slopes (600 at
# K = 12 reaches 2·(11 + 156) = 334)
CASES = [(0, "shapley"), (0, "banzhaf"), (0, ("beta", 2, 3)), (1, "shapley")]
TRIALS = 400


@pytest.fixture(scope="module")
def trials():
    out = {}
    for g, weights in CASES:
        k = GAMES[g].sets.shape[1]
        assert _layout(_p(weights, k).tobytes(), k, 50 * k, False).slopes
        est = ss.shapley_estimate(GAMES[g], np.zeros((TRIALS, k)), budget=50 * k, seed=2024, weights=weights)
        out[g, str(weights)] = ss.semivalue(GAMES[g], np.zeros(k), weights), est
    return out


@pytest.mark.parametrize("g, weights", CASES)
def test_unbiased_on_unanimity_games(trials, g, weights):
    exact, est = trials[g, str(weights)]
    mean = est.values.mean(axis=0)
    spread = est.values.std(axis=0, ddof=1) / np.sqrt(TRIALS)
    # 4.5 standard errors of the mean over 10-12 candidates: no false alarm
    assert np.all(np.abs(mean - exact) <= 4.5 * spread + 1e-12), (mean - exact) / spread


@pytest.mark.parametrize("g, weights", CASES)
def test_95_percent_intervals_cover_on_unanimity_games(trials, g, weights):
    exact, est = trials[g, str(weights)]
    low, high = est.interval(0.95)
    cover = np.mean((low <= exact) & (exact <= high))
    assert 0.93 <= cover <= 0.97, cover


def test_compare_estimators_seed_offset_draws_the_games_and_seeds_of_those_seeds():
    # development runs use other seeds than the comparison's 0..4: seed s
    # draws the game from default_rng(1000 + s) and seeds every method with s
    from shapley_sets.bench.estimation import compare_estimators, make_game

    rows = compare_estimators(ks=(6,), multiples=(10,), seeds=2, families=("unanimity",), seed_offset=7)
    want = []
    for seed in (7, 8):
        u, x, exact = make_game("unanimity", 6, np.random.default_rng(1000 + seed))
        want.append(float(np.abs(ss.shapley_estimate(u, x, budget=60, seed=seed).values - exact).mean()))
    assert rows[0]["seed_mae"]["stratified"] == want
    assert compare_estimators(ks=(6,), multiples=(10,), seeds=1, families=("unanimity",))[0][
        "seed_mae"]["stratified"] != want[:1]


def test_the_intercepts_only_fit_is_the_dense_fit_of_one_hot_features():
    # Above _MEMBERS_MAX_K candidates the surrogate is one intercept per
    # stratum, fitted by stratum; the dense ridge algebra on the same one-hot
    # features must give the same fit, leverages and leave-one-unit-out θ.
    rng = np.random.default_rng(5)
    n, strata = 90, [1, 3, 45, 87, 89]
    rows = np.concatenate([_enumerate(n, 1)[:7]] + [
        np.argsort(rng.random((6, n)), axis=1) < s for s in strata[1:]])
    col = {s: j for j, s in enumerate(strata)}
    v = rng.normal(size=len(rows))
    fast = _InterceptFit(rows, col, v)
    x = _design(rows, col, len(col), members=False, pairs=False)
    gram = x.T @ x + 1e-9 * np.eye(len(col))
    inv = np.linalg.inv(gram)
    theta = inv @ (x.T @ v)
    np.testing.assert_allclose(fast.theta, theta, rtol=1e-12)
    np.testing.assert_allclose(fast.resid, v - x @ theta, rtol=1e-12, atol=1e-12)
    idx = np.array([[0, 8], [9, 10], [20, 30], [29, 2]])  # pairs of rows, in one stratum or two
    x_u = x[idx]
    lev, unit = fast.unit(idx)
    np.testing.assert_allclose(lev, np.einsum("ucp,udp->ucd", x_u @ inv, x_u), rtol=1e-12)
    r = rng.normal(size=idx.shape)
    np.testing.assert_allclose(fast.without(unit, r), theta[None] - np.einsum("ucp,uc->up", x_u @ inv, r),
                               rtol=1e-12, atol=1e-15)


def test_the_stratified_estimate_at_k_2000():
    # Once an OverflowError (C(2000, 1000) as a float) and then O(budget · K²)
    # dense algebra; now the strata's own fit: efficient, finite errors.
    x = np.random.default_rng(0).random((1, 2000))
    est = ss.shapley_estimate(ss.BestOf(), x, budget=8010, seed=0)
    exact = ss.shapley(ss.BestOf(), x)
    assert int(est.calls[0]) <= 8010 and np.isfinite(est.stderr).all()
    np.testing.assert_allclose(est.values.sum(), exact.sum(), rtol=1e-9)
    assert np.mean(np.abs(est.values - exact) <= 3 * est.stderr) >= 0.9
    # Banzhaf's square-root allocation tells its weighting by C(K, s), compared as logs
    est = ss.shapley_estimate(ss.BestOf(), x, budget=8010, seed=0, weights="banzhaf")
    assert np.isfinite(est.stderr).all()
    assert np.mean(np.abs(est.values - ss.banzhaf(ss.BestOf(), x)) <= 3 * est.stderr) >= 0.9


def test_unbiased_and_calibrated_above_64_candidates():
    # K = 80: the surrogate is the strata's intercepts, fitted by stratum
    from shapley_sets.bench.estimation import calibration_games, repeated

    u, x = calibration_games(80)["best-of"]
    exact = ss.shapley(u, x)
    est = ss.shapley_estimate(*repeated(u, x, 300), budget=400, seed=2024)
    sem = est.values.std(axis=0, ddof=1) / np.sqrt(300)
    assert np.all(np.abs(est.values.mean(axis=0) - exact) <= 4.5 * sem)  # 80 candidates: max |z| ~ 2.7
    low, high = est.interval(0.95)
    assert 0.93 <= ((low <= exact) & (exact <= high)).mean() <= 0.97  # observed 0.953


@pytest.mark.parametrize("method, weights", [("stratified", "shapley"), ("permutation", "shapley"),
                                             ("stratified", "banzhaf"), ("stratified", ("beta", 2, 3))])
def test_estimates_and_error_bars_scale_exactly_with_the_values(method, weights):
    # Values near 1e180 once gave NaN and inf standard errors (squares of
    # squares overflowed); near 1e-211 a spread of 0. A power of two scales
    # them exactly, so the estimate of c·U is c times U's, bit for bit.
    import warnings

    x = np.random.default_rng(0).random((2, 10))
    base = ss.shapley_estimate(ss.BestOf(), x, budget=60, seed=0, method=method, weights=weights)
    for c in (2.0**600, 2.0**-700):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow or invalid-value warning on the way
            est = ss.shapley_estimate(ss.BestOf(), x * c, budget=60, seed=0, method=method, weights=weights)
        np.testing.assert_array_equal(est.values, base.values * c)
        np.testing.assert_array_equal(est.stderr, base.stderr * c)
        np.testing.assert_array_equal(est.dof, base.dof)
