"""Large K and ragged batches: the presets' closed-form step tables, the
byte-bounded table caches and ss.clear_caches."""

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets._cache import ByteCache, cache_bytes
from shapley_sets.engines import rank_weighted as rw
from shapley_sets.engines.preset_tables import preset_step_tables
from shapley_sets.engines.weights import as_weighting

PRESETS = [ss.RankWeighted.mean(), ss.RankWeighted.worst_of(), ss.RankWeighted.top_m_mean(1),
           ss.RankWeighted.top_m_mean(3), ss.RankWeighted.top_m_mean(60), ss.RankWeighted.discounted(),
           ss.RankWeighted.discounted(lambda k: (-1.0) ** k / k)]
WEIGHTS = ["shapley", "banzhaf", "loo", ("beta", 2, 3), ("beta", 0.5, 0.5), ("beta", 0.3, 4),
           ("beta", 5, 0.7)]


@pytest.mark.parametrize("weights", WEIGHTS, ids=str)
@pytest.mark.parametrize("u", PRESETS, ids=repr)
@pytest.mark.parametrize("k", [1, 2, 3, 8, 41, 300])
def test_preset_closed_forms_match_the_general_build(u, k, weights):
    w = as_weighting(weights)
    closed = preset_step_tables(u.weights, k, w)
    assert closed is not None
    general = rw._build_step_tables(u.weight_table(k), k, None if w.is_shapley else w.size_weights(k))
    for got, want in zip(closed, general):
        np.testing.assert_allclose(got[1:], want[1:], rtol=0, atol=1e-14 * max(1.0, np.abs(want).max()))


def test_mean_and_worst_of_closed_forms_take_any_size_weights():
    for u in (ss.RankWeighted.mean(), ss.RankWeighted.worst_of()):
        rng = np.random.default_rng(1)
        p = rng.random(9)
        w = as_weighting(p / p.sum())
        closed = preset_step_tables(u.weights, 9, w)
        general = rw._build_step_tables(u.weight_table(9), 9, w.size_weights(9))
        for got, want in zip(closed, general):
            np.testing.assert_allclose(got[1:], want[1:], rtol=0, atol=1e-15)


@pytest.mark.parametrize("u", PRESETS[:2] + PRESETS[3:6] + [ss.RankWeighted.top_m_sum(4)], ids=repr)
def test_presets_at_k_4096_are_finite_and_efficient(u):
    x = np.random.default_rng(2).normal(size=4096)
    phi = ss.shapley(u, x)
    assert np.isfinite(phi).all()
    assert abs(phi.sum() - float(ss.value(u, x))) <= 1e-9 * np.abs(x).sum()
    for weights in ("banzhaf", "loo", ("beta", 2, 3)):
        assert np.isfinite(ss.semivalue(u, x, weights)).all()


def test_presets_never_build_a_weight_table(monkeypatch):
    # At K = 10,000 a weight table is 800 MB: the presets must not need one.
    def refuse(self, kmax):
        raise AssertionError("weight_table called")

    monkeypatch.setattr(ss.RankWeighted, "weight_table", refuse)
    x = np.random.default_rng(3).random((3, 300))
    mask = np.arange(300) < np.array([[300], [17], [250]])
    for u in (ss.RankWeighted.mean(), ss.RankWeighted.discounted(), ss.RankWeighted.worst_of(),
              ss.RankWeighted.top_m_mean(4)):
        for weights in ("shapley", "banzhaf", ("beta", 2, 3)):
            assert np.isfinite(ss.semivalue(u, x, weights, mask=mask)).all()


def test_a_ragged_batch_with_600_sizes_stays_cached(monkeypatch):
    ss.clear_caches()
    k = 600
    x = np.random.default_rng(4).random((k, k))
    mask = np.arange(k) < np.arange(1, k + 1)[:, None]
    u = ss.RankWeighted.top_m_mean(3)
    first = ss.semivalue(u, x, ("beta", 2, 3), mask=mask)
    built = []
    monkeypatch.setattr(rw, "preset_step_tables", lambda *a: built.append(a) or None)
    again = ss.semivalue(u, x, ("beta", 2, 3), mask=mask)
    assert not built, f"{len(built)} step tables rebuilt on the repeated call"
    np.testing.assert_array_equal(first, again)


def test_any_success_rules_of_a_ragged_batch_stay_cached(monkeypatch):
    from shapley_sets.engines import any_success

    ss.clear_caches()
    k = 600
    p = np.random.default_rng(5).random((k, k)) * 0.01
    mask = np.arange(k) < np.arange(1, k + 1)[:, None]
    first = ss.shapley(ss.AnySuccess(), p, mask=mask)
    calls = []
    from scipy import special  # what any_success imports when it builds a rule

    real = special.roots_legendre
    monkeypatch.setattr(special, "roots_legendre", lambda n: calls.append(n) or real(n))
    again = ss.shapley(ss.AnySuccess(), p, mask=mask)
    assert not calls
    np.testing.assert_array_equal(first, again)


def test_clear_caches_empties_every_table_cache_and_changes_no_result():
    x = np.random.default_rng(6).random((4, 50))
    mask = np.arange(50) < np.array([[50], [3], [20], [49]])
    cases = [(ss.RankWeighted(np.tril(np.ones((51, 51)))), "shapley"),
             (ss.RankWeighted.discounted(), "banzhaf"), (ss.AnySuccess(), ("beta", 2, 3)),
             (ss.TopK(3), "loo")]
    before = [ss.semivalue(u, x, w, mask=mask) for u, w in cases]
    assert sum(cache_bytes().values()) > 0
    ss.clear_caches()
    assert sum(cache_bytes().values()) == 0
    after = [ss.semivalue(u, x, w, mask=mask) for u, w in cases]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_byte_cache_evicts_the_least_recent_by_bytes():
    cache = ByteCache("test", max_bytes=100 * 8)
    for i in range(5):
        cache.put(i, np.zeros(30))
    assert len(cache) == 3 and cache.nbytes == 90 * 8
    assert cache.get(0) is None and cache.get(1) is None
    cache.get(2)  # now the most recent
    cache.put(5, np.zeros(30))
    assert cache.get(3) is None and cache.get(2) is not None
    cache.put("huge", np.zeros(200))  # larger than the bound: not kept
    assert cache.get("huge") is None and cache.nbytes <= 100 * 8
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0


@pytest.mark.parametrize("alpha, beta", [(2.0, 3.0), (0.3, 7.0), (0.5, 0.5), (1e-9, 1e-9), (1e4, 1.0)])
def test_any_success_beta_semivalues_at_k_1025_against_exact_moments(alpha, beta):
    # Equal acceptance chances p: each value is p · E[(1 − t p)^(K−1)], a sum
    # over the Beta law's moments E[t^m] = Π_{i<m} (α + i)/(α + β + i), summed
    # at 60 digits (the alternating sum cancels far below float64).
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    k, p = 1025, 0.003
    got = ss.semivalue(ss.AnySuccess(), np.full(k, p), ("beta", alpha, beta))
    a, b, q = mpmath.mpf(alpha), mpmath.mpf(beta), mpmath.mpf(p)
    moment, total = mpmath.mpf(1), mpmath.mpf(0)
    for m in range(k):
        total += mpmath.binomial(k - 1, m) * (-q) ** m * moment
        moment *= (a + m) / (a + b + m)
    exact = float(q * total)
    np.testing.assert_allclose(got, exact, rtol=1e-12)
