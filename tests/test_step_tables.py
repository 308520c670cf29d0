"""The general step-table build (docs/math.md#step-tables): the O(K²)
recurrence against exact rational arithmetic for small K and against the
former O(K³) hypergeometric walks (tests/step_tables_oracle.py) up to
K = 300, for every weighting, on random, size-dependent, negative and
adversarial weight tables; and that large tables are neither copied nor
evaluated twice."""

import math
from fractions import Fraction

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines import rank_weighted as rw
from shapley_sets.engines.weights import as_weighting
from shapley_sets.utilities import rank_weighted as urw
from step_tables_oracle import hypergeometric_step_tables
from test_semivalue_matrix import reference_semivalue

EPS = np.finfo(float).eps


def _tables(k, rng):
    """Weight tables ``[s, r]`` (zero outside 1 <= r <= s <= k) by name."""
    s = np.arange(k + 1)[:, None]
    r = np.arange(k + 1)[None, :]
    raw = {
        "integer": rng.integers(-3, 4, size=(k + 1, k + 1)).astype(float),
        "normal": rng.normal(size=(k + 1, k + 1)),
        "by size": np.cos(s * 1.3) * (r + 1.0) ** -0.5 - 0.2 * np.sqrt(s + 0.0),
        "negative": -rng.random((k + 1, k + 1)),
        # W's increments nearly cancel: every weight is 1e8 plus a little.
        "offset": 1e8 + rng.normal(size=(k + 1, k + 1)),
        # Signs alternate over thirty decades.
        "range": (-1.0) ** r * 10.0 ** rng.uniform(-15, 15, size=(k + 1, k + 1)),
        "last row": np.where(s == k, 1.0, 0.0) * (-2.0) ** -r,
        "worst only": np.where(r == s, 1.0, 0.0),
    }
    out = {}
    for name, table in raw.items():
        table = np.where((r >= 1) & (r <= s), table, 0.0)
        out[name] = table
    return out


def _size_weights(k, rng):
    """Weightings by name: ``None`` is the Shapley value's 1/K."""
    out = {"shapley": None}
    for weights in ("banzhaf", "loo", ("beta", 2, 3), ("beta", 0.3, 4), ("beta", 5, 0.7)):
        out[str(weights)] = as_weighting(weights).size_weights(k)
    p = rng.random(k) * (rng.random(k) < 0.6)  # caller's weights with zeros in them
    p[-1] += 0.1
    out["caller"] = p / math.fsum(p)
    q = np.zeros(k)
    q[k // 2:] = 1.0 / (k - k // 2)  # nothing below K/2
    out["upper half"] = q
    return out


def _cumulative(table, k):
    w = np.asarray(table)[: k + 1, : k + 1]
    return np.cumsum(w, axis=1)


def _exact_tables(table, k, sizes):
    """P_top, P_bot in Fractions from their definition: size-stratified
    hypergeometric means of W's increments (math.comb, exact)."""
    n = k - 1
    wf = [[Fraction(float(table[s][r])) for r in range(k + 1)] for s in range(k + 1)]
    big_w = [[sum(wf[s][1:min(a, s) + 1], Fraction(0)) for a in range(k + 2)] for s in range(k + 1)]
    p = [Fraction(1, k)] * k if sizes is None else [Fraction(float(v)) for v in sizes]

    def mean(m, top):
        total = Fraction(0)
        for s in range(k):
            if not p[s]:
                continue
            inner = 0
            for a in range(max(0, s - (n - m)), min(s, m) + 1):
                step = big_w[s + 1][a + 1] - big_w[s][a] if top else big_w[s + 1][a] - big_w[s][a]
                inner += math.comb(m, a) * math.comb(n - m, s - a) * step
            total += p[s] * inner / math.comb(n, s)
        return total

    p_top = [Fraction(0)] + [mean(j - 1, True) for j in range(1, k + 1)]
    p_bot = [Fraction(0)] + [mean(j, False) for j in range(1, k)] + [Fraction(0)]
    return p_top, p_bot


def _tolerance(table, k, sizes, per_step):
    """``per_step · K · ε`` times the size-weighted magnitude of W's rows: the
    build adds K terms of that size, each rounded once or twice."""
    cum = np.abs(_cumulative(table, k))
    rows = cum.max(axis=1)
    p = np.full(k, 1.0 / k) if sizes is None else np.asarray(sizes)
    scale = float(np.sum(p * (rows[1:] + rows[:-1])))
    return per_step * k * EPS * scale + 1e-300


@pytest.mark.parametrize("k", [1, 2, 3, 5, 9, 20, 32])
def test_tables_match_exact_rational_arithmetic(k):
    rng = np.random.default_rng(k)
    for name, table in _tables(k, rng).items():
        for weighting, sizes in _size_weights(k, rng).items():
            got = rw._build_step_tables(table, k, sizes)
            want = _exact_tables(table, k, sizes)
            tol = _tolerance(table, k, sizes, 4.0)
            for g, w in zip(got, want):
                err = max(abs(Fraction(float(g[j])) - w[j]) for j in range(1, k + 1))
                assert err <= tol, (name, weighting, float(err), tol)


@pytest.mark.parametrize("k", [2, 7, 64, 150, 300])
def test_tables_match_the_hypergeometric_walks(k):
    rng = np.random.default_rng(100 + k)
    for name, table in _tables(k, rng).items():
        for weighting, sizes in _size_weights(k, rng).items():
            got = rw._build_step_tables(table, k, sizes)
            want = hypergeometric_step_tables(table, k, sizes)
            # The walks drop sizes and pmf terms below 1e-30 of the largest.
            p = np.full(k, 1.0 / k) if sizes is None else sizes
            dropped = 1e-25 * p.max() * np.abs(_cumulative(table, k)).max()
            tol = _tolerance(table, k, sizes, 4.0) + dropped
            for g, w in zip(got, want):
                np.testing.assert_allclose(g[1:], w[1:], rtol=0, atol=tol, err_msg=f"{name} {weighting}")


def test_efficiency_of_each_step_game_at_large_k():
    # Step game j splits W(K, j) between its top j and the other K − j.
    k = 5000
    s = np.arange(k + 1)[:, None]
    r = np.arange(k + 1)[None, :]
    table = np.where(r <= s, (r <= 3) + (-1.0) ** r / np.maximum(s, 1), 0.0)
    table[:, 0] = 0.0
    for weights in ("shapley", "banzhaf", ("beta", 0.5, 3)):
        w = as_weighting(weights)
        top, bot = rw._build_step_tables(table, k, None if w.is_shapley else w.size_weights(k))
        assert np.isfinite(top).all() and np.isfinite(bot).all()
        if w.is_shapley:
            j = np.arange(1, k + 1)
            want = np.cumsum(table[k, 1:])
            np.testing.assert_allclose(j * top[1:] + (k - j) * bot[1:], want, rtol=0, atol=1e-9)


def test_an_array_of_weights_reaches_the_kernel_without_a_copy():
    table = np.tril(np.random.default_rng(0).normal(size=(60, 60)))
    u = ss.RankWeighted(table)
    for k in (59, 12):
        assert np.shares_memory(rw._kernel_weights(u, k), u.weights)
    callable_u = ss.RankWeighted(lambda s, r: 1.0 / r)
    callable_u.weight_table(50)
    assert np.shares_memory(rw._kernel_weights(callable_u, 20), callable_u.weight_table(50))


def test_a_callable_too_large_for_its_cache_is_evaluated_once(monkeypatch):
    # At K = 10,000 a weight table (800 MB) exceeds the weight cache: the
    # callable must still be evaluated once for the first call and never again.
    monkeypatch.setattr(urw._WEIGHT_CACHE, "max_bytes", 1000)
    ss.clear_caches()
    calls = []

    def w(s, r):
        calls.append((s, r))
        return 1.0 / (r + s)

    u = ss.RankWeighted(w)
    x = np.random.default_rng(1).normal(size=(3, 40))
    first = ss.shapley(u, x)
    assert len(calls) == 40 * 41 // 2
    calls.clear()
    np.testing.assert_array_equal(ss.shapley(u, x), first)
    assert not calls
    np.testing.assert_allclose(first, ss.shapley(ss.RankWeighted(u.weight_table(40)), x),
                               rtol=1e-14, atol=1e-14)


def test_a_failing_callable_is_named_at_its_first_bad_entry():
    def w(s, r):
        return "x" if (s, r) == (5, 3) else 1.0

    with pytest.raises(ValueError, match=r"weights\(5, 3\) must return a real number"):
        ss.shapley(ss.RankWeighted(w), np.ones(6))

    def boom(s, r):
        if (s, r) == (4, 2):
            raise KeyError("no")
        return 1.0

    with pytest.raises(ValueError, match=r"weights\(4, 2\) raised KeyError"):
        ss.shapley(ss.RankWeighted(boom), np.ones(6))


def test_semivalues_of_size_dependent_weights_match_the_reference_engine():
    rng = np.random.default_rng(7)
    k = 9
    x = rng.normal(size=(20, k))
    mask = rng.random((20, k)) < 0.8

    def w(s, r):
        return (-1.0) ** r * math.log(s + r) / s

    def sizes(n):
        p = np.arange(1, n + 1, dtype=float) ** 2
        return p / p.sum()

    u = ss.RankWeighted(w)
    for weights in ("shapley", "banzhaf", "loo", ("beta", 2, 3), sizes):
        got = ss.semivalue(u, x, weights, mask=mask)
        want = reference_semivalue(u, x, weights, mask)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(x).max())
