"""The marginal-credit rule, per-candidate credits and CreditRule."""

from __future__ import annotations

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets import grpo


def _naive_credit_advantages(R, c, labels, beta, present, eps=1e-6, ddof=1, scale="group", singleton="reward"):
    """Loop over groups and candidates, straight from the formula."""
    n, k = c.shape
    out = np.zeros((n, k))
    a_set = grpo.set_advantages(R, labels, scale=scale, eps=eps, ddof=ddof, singleton=singleton)
    for lab in dict.fromkeys(labels):
        rows = [i for i in range(n) if labels[i] == lab and not np.isnan(R[i])]
        vals = [c[i, j] for i in rows for j in range(k) if present[i, j]]
        mean = np.mean(vals) if vals else 0.0
        std = np.std(vals, ddof=ddof) if len(vals) > ddof else 1.0
        for i in rows:
            for j in range(k):
                if present[i, j]:
                    out[i, j] = a_set[i] + beta * (c[i, j] - mean) / (std + eps)
    return out


def _random_batch(seed, n, k):
    """Labelled groups, some missing rewards, some absent candidates (their credits NaN)."""
    rng = np.random.default_rng(seed)
    labels = list(rng.choice(["a", "b", "c", "d"], size=n))
    R = rng.normal(size=n)
    R[rng.random(n) < 0.2] = np.nan
    c = rng.normal(size=(n, k))
    present = rng.random((n, k)) < 0.8
    return labels, R, c, present, np.where(present, c, np.nan)


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
@pytest.mark.parametrize("singleton", ["reward", "zero"])
@pytest.mark.parametrize("seed", range(4))
def test_credit_advantages_match_the_formula(scale, singleton, seed):
    labels, R, c, present, c_in = _random_batch(seed, 9, 4)
    before = c_in.copy()
    got = grpo.credit_advantages(R, c_in, labels, beta=0.7, mask=present, scale=scale, singleton=singleton)
    want = _naive_credit_advantages(R, c, labels, 0.7, present, scale=scale, singleton=singleton)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(c_in, before)


def test_beta_zero_is_plain_grpo_and_groups_as_int_match_labels():
    rng = np.random.default_rng(0)
    R, c = rng.normal(size=6), rng.normal(size=(6, 3))
    got = grpo.credit_advantages(R, c, 3, beta=0.0)
    np.testing.assert_allclose(got, np.repeat(grpo.set_advantages(R, 3)[:, None], 3, axis=1))
    np.testing.assert_allclose(grpo.credit_advantages(R, c, 3), grpo.credit_advantages(R, c, [0, 0, 0, 1, 1, 1]))


def test_equal_credits_leave_the_set_advantage():
    R = np.array([1.0, 0.0])
    got = grpo.credit_advantages(R, np.ones((2, 3)), 2, beta=5.0)
    np.testing.assert_allclose(got, np.repeat(grpo.set_advantages(R, 2)[:, None], 3, axis=1))


def test_credit_advantages_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    R, c = torch.tensor([1.0, 0.0]), torch.tensor([[0.5, 0.0], [0.2, 0.1]], dtype=torch.float64)
    out = grpo.credit_advantages(R, c, 2)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), grpo.credit_advantages(R.numpy(), c.numpy(), 2), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"beta": -1.0}, ValueError, "beta must be a finite number >= 0"),
        ({"beta": float("nan")}, ValueError, "beta"),
        ({"beta": True}, TypeError, "beta"),  # a bool is not a number here
        ({"scale": "std"}, ValueError, "scale must be one of"),
        ({"eps": 0.0}, ValueError, "eps"),
    ],
)
def test_credit_advantages_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        grpo.credit_advantages([1.0, 0.0], [[0.1], [0.2]], 2, **kwargs)


def test_credit_advantages_bad_credits_are_named():
    with pytest.raises(ValueError, match=r"credits must be finite for present candidates; found nan at response 1, candidate 0"):
        grpo.credit_advantages([1.0, 0.0], [[0.1, 0.0], [np.nan, 0.0]], 2)
    with pytest.raises(ValueError, match=r"credits must have shape \(N, K\) with N = 2"):
        grpo.credit_advantages([1.0, 0.0], [[0.1, 0.0]], 2)
    with pytest.raises(TypeError):
        grpo.credit_advantages([1.0, 0.0], [["a"], ["b"]], 2)


# --- credits --------------------------------------------------------------------------------


def test_credit_names_are_checked():
    with pytest.raises(ValueError, match="credit must be 'loo', 'banzhaf', 'shapley' or"):
        grpo.CreditRule("owen")
    with pytest.raises(ValueError, match="alpha > 0"):
        grpo.CreditRule(("beta", 0, 1))
    # a Beta credit read from a YAML list is the same rule
    assert grpo.CreditRule(["beta", 2, 3]) == grpo.CreditRule(("beta", 2.0, 3.0))


def test_coverage_as_expected_best_of_memberships_has_the_coverage_shapley_value():
    # A set of ideas covering weighted topics: ExpectedBest over 0/1 memberships.
    # Each topic's weight is split equally among the ideas covering it.
    rng = np.random.default_rng(5)
    topics, k = 6, 4
    w = rng.dirichlet(np.ones(topics))
    member = (rng.random((topics, k)) < 0.4).astype(float)
    phi = ss.shapley(ss.ExpectedBest(w), member)
    covering = member.sum(axis=1)
    want = (w[:, None] * member / np.where(covering, covering, 1)[:, None]).sum(axis=0)
    np.testing.assert_allclose(phi, want, atol=1e-12)
    loo = ss.leave_one_out(ss.ExpectedBest(w), member)
    np.testing.assert_allclose(loo, (w[:, None] * member * (covering == 1)[:, None]).sum(axis=0), atol=1e-12)


# --- CreditRule -------------------------------------------------------------------------------


def test_credit_rule_marginal_matches_credit_advantages():
    rng = np.random.default_rng(2)
    x = rng.random((6, 4))
    mask = rng.random((6, 4)) < 0.8
    rule = grpo.CreditRule("banzhaf", beta=0.5)
    R = ss.value(ss.BestOf(), x, mask=mask)
    c = ss.banzhaf(ss.BestOf(), x, mask=mask)
    np.testing.assert_allclose(
        rule.advantages(ss.BestOf(), x, 3, mask=mask), grpo.credit_advantages(R, c, 3, beta=0.5, mask=mask)
    )


def test_credit_rule_shapley_form_is_candidate_advantages_and_schedules_beta():
    rng = np.random.default_rng(4)
    x = rng.random((4, 3))
    rule = grpo.CreditRule("shapley", "shapley", beta=grpo.LinearSchedule(2.0, 0.0, 10), tau="set")
    R, phi = ss.value(ss.BestOf(), x), ss.shapley(ss.BestOf(), x)
    for step, beta in [(0, 2.0), (5, 1.0), (20, 0.0)]:
        np.testing.assert_allclose(
            rule.advantages(ss.BestOf(), x, 2, step=step),
            grpo.candidate_advantages(R, phi, 2, beta=beta, tau="set"),
        )


def test_credit_rule_validation():
    with pytest.raises(ValueError, match="form='shapley'.*needs credit='shapley'"):
        grpo.CreditRule("loo", "shapley")
    with pytest.raises(ValueError, match="form must be one of"):
        grpo.CreditRule("loo", "softmax")
    with pytest.raises(TypeError, match="beta must be a number or a callable"):
        grpo.CreditRule("loo", beta="big")
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        grpo.CreditRule("loo", beta=-0.5)
    bad = grpo.CreditRule("loo", beta=lambda step: -1.0)
    with pytest.raises(ValueError, match="the beta schedule at step 3"):
        bad.beta_at(3)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        grpo.LinearSchedule(1.0, 0.0, 0)


def test_recommended_rule_is_a_marginal_rule():
    rule = grpo.RECOMMENDED_RULE
    assert isinstance(rule, grpo.CreditRule) and rule.form == "marginal"
    assert rule.beta_at(0) > 0


def test_credit_rule_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[0.9, 0.2], [0.1, 0.4]])
    out = grpo.RECOMMENDED_RULE.advantages(ss.BestOf(), x, 2)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 2)


# --- layout B with other credits --------------------------------------------------------------


def test_completion_advantages_with_loo_credit():
    x = np.array([0.9, 0.8, 0.1, 0.3, 0.7, 0.5])
    got = grpo.completion_advantages(ss.BestOf(), x, 3, credit="loo")
    want = np.empty(6)
    for g in range(2):
        xs = x[3 * g : 3 * g + 3]
        c = np.array([xs.max() - np.delete(xs, j).max() for j in range(3)])
        want[3 * g : 3 * g + 3] = (c - c.mean()) / (c.std(ddof=1) + 1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # default credit is unchanged
    np.testing.assert_allclose(
        grpo.completion_advantages(ss.BestOf(), x, 3), grpo.completion_advantages(ss.BestOf(), x, 3, credit="shapley")
    )


# --- the reward-spread gate -----------------------------------------------------------------


def _naive_gate(R, c, labels, present, ddof=1):
    """Per response, sigma_R / (sigma_R + sigma_c) of its group, straight from the definition."""
    w = np.ones(len(R))
    for lab in dict.fromkeys(labels):
        rows = [i for i in range(len(R)) if labels[i] == lab and not np.isnan(R[i])]
        if len(rows) <= ddof:
            continue
        vals = [c[i, j] for i in rows for j in range(c.shape[1]) if present[i, j]]
        s_r = np.std(R[rows], ddof=ddof)
        s_c = np.std(vals, ddof=ddof) if len(vals) > ddof else 0.0
        for i in rows:
            w[i] = s_r / (s_r + s_c) if s_r + s_c > 0 else 0.0
    return w


@pytest.mark.parametrize("scale", ["group", "none"])
@pytest.mark.parametrize("seed", range(4))
def test_spread_gate_matches_the_formula(scale, seed):
    labels, R, c, present, c_in = _random_batch(seed, 10, 3)
    got = grpo.credit_advantages(R, c_in, labels, beta=0.7, gate="spread", mask=present, scale=scale)
    a_set = grpo.set_advantages(R, labels, scale=scale)
    ungated = _naive_credit_advantages(R, c, labels, 0.7, present, scale=scale)
    w = _naive_gate(R, c, labels, present)
    live = present & ~np.isnan(R)[:, None]
    want = np.where(live, a_set[:, None] + w[:, None] * (ungated - a_set[:, None]), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_spread_gate_beta_zero_is_plain_grpo():
    rng = np.random.default_rng(1)
    R, c = rng.normal(size=8), rng.normal(size=(8, 4))
    got = grpo.credit_advantages(R, c, 4, beta=0.0, gate="spread")
    np.testing.assert_array_equal(got, np.repeat(grpo.set_advantages(R, 4)[:, None], 4, axis=1))
    rule = grpo.CreditRule("loo", beta=0.0, gate="spread")
    x = rng.random((8, 4))
    np.testing.assert_array_equal(
        rule.advantages(ss.BestOf(), x, 4),
        np.repeat(grpo.set_advantages(ss.value(ss.BestOf(), x), 4)[:, None], 4, axis=1),
    )


def test_spread_gate_gives_a_settled_group_no_credit_push():
    # group 0: four copies of one set (a settled policy): every set earns the same reward,
    # the credits still differ inside the set; ungated, the z-score makes them unit scale
    x0 = np.tile([[0.9, 0.5, 0.85, 0.1]], (4, 1))
    rng = np.random.default_rng(2)
    x = np.vstack([x0, rng.random((4, 4))])
    loo = ss.leave_one_out(ss.BestOf(), x)
    R = ss.value(ss.BestOf(), x)
    gated = grpo.credit_advantages(R, loo, 4, beta=3.0, gate="spread")
    ungated = grpo.credit_advantages(R, loo, 4, beta=3.0)
    np.testing.assert_array_equal(gated[:4], 0.0)
    assert np.abs(ungated[:4]).max() > 1.0
    # the other group is untouched by group 0 and keeps most of its push
    w = _naive_gate(R, loo, [0] * 4 + [1] * 4, np.ones((8, 4), bool))[4]
    assert 0.0 < w < 1.0
    a_set = grpo.set_advantages(R, 4)[4:, None]
    np.testing.assert_allclose(gated[4:] - a_set, w * (ungated[4:] - a_set), rtol=1e-12, atol=1e-12)


def test_spread_gate_is_unit_free_and_leaves_a_lone_set_ungated():
    rng = np.random.default_rng(3)
    R, c = rng.normal(size=6), rng.normal(size=(6, 3))
    np.testing.assert_allclose(
        grpo.credit_advantages(R, c, 3, gate="spread", eps=1e-12),
        grpo.credit_advantages(1e3 * R, 1e3 * c, 3, gate="spread", eps=1e-12),
        rtol=1e-9, atol=1e-9,  # eps=1e-12: the guard itself is the only unit
    )
    # a group of one set has no reward spread to measure: its credit term is kept whole
    np.testing.assert_array_equal(
        grpo.credit_advantages(R, c, 1, gate="spread"), grpo.credit_advantages(R, c, 1)
    )


# --- the sum gate: the credit term on the scale sigma_R + sigma_c ----------------------------


def _naive_sum_term(R, c, labels, present, eps=1e-6, ddof=1):
    """Per candidate, (c - mean c)/(sigma_R + sigma_c + eps) of its group, straight from the
    definition: 0 where sigma_R = 0, the ungated z-score where the group has no sigma_R."""
    n, k = c.shape
    out = np.zeros((n, k))
    for lab in dict.fromkeys(labels):
        rows = [i for i in range(n) if labels[i] == lab and not np.isnan(R[i])]
        vals = [c[i, j] for i in rows for j in range(k) if present[i, j]]
        if len(vals) <= ddof:
            continue  # no credit std: every credit equals the mean
        mean, s_c = np.mean(vals), np.std(vals, ddof=ddof)
        if len(rows) <= ddof:
            denom = s_c + eps
        elif np.std(R[rows], ddof=ddof) == 0:
            continue
        else:
            denom = np.std(R[rows], ddof=ddof) + s_c + eps
        for i in rows:
            for j in range(k):
                if present[i, j]:
                    out[i, j] = (c[i, j] - mean) / denom
    return out


def test_sum_gate_by_hand():
    # one group of two sets: R = (0.9, 0.3), sigma_R = 0.6/sqrt(2); credits (0.1, 0.0 | 0.2, 0.1)
    # have mean 0.1 and std sqrt(0.02/3); the credit term is (c - 0.1)/(sigma_R + sigma_c + eps)
    R = np.array([0.9, 0.3])
    c = np.array([[0.1, 0.0], [0.2, 0.1]])
    s_r, s_c = 0.6 / np.sqrt(2.0), np.sqrt(0.02 / 3.0)
    a = 0.3 / (s_r + 1e-6)
    d = 0.1 / (s_r + s_c + 1e-6)
    want = np.array([[a, a - d], [-a + d, -a]])
    np.testing.assert_allclose(grpo.credit_advantages(R, c, 2, gate="sum"), want, rtol=1e-13)
    np.testing.assert_allclose(grpo.credit_advantages(R, c, 2, beta=2.0, gate="sum"),
                               want + np.array([[0, -d], [d, 0]]), rtol=1e-13)


@pytest.mark.parametrize("scale", ["group", "none"])
@pytest.mark.parametrize("seed", range(4))
def test_sum_gate_matches_the_formula(scale, seed):
    labels, R, c, present, c_in = _random_batch(seed, 10, 3)
    before = c_in.copy()
    got = grpo.credit_advantages(R, c_in, labels, beta=0.7, gate="sum", mask=present, scale=scale)
    a_set = grpo.set_advantages(R, labels, scale=scale)
    live = present & ~np.isnan(R)[:, None]
    want = np.where(live, a_set[:, None] + 0.7 * _naive_sum_term(R, c, labels, present), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(c_in, before)


def test_sum_gate_settled_group_singletons_and_units():
    # a settled group (four copies of one set) gets no credit push, as with the spread gate
    x = np.vstack([np.tile([[0.9, 0.5, 0.85, 0.1]], (4, 1)), np.random.default_rng(2).random((4, 4))])
    loo, R = ss.leave_one_out(ss.BestOf(), x), ss.value(ss.BestOf(), x)
    got = grpo.credit_advantages(R, loo, 4, beta=3.0, gate="sum")
    np.testing.assert_array_equal(got[:4], 0.0)
    assert np.abs(got[4:] - grpo.set_advantages(R, 4)[4:, None]).max() > 0.1
    rng = np.random.default_rng(3)
    R, c = rng.normal(size=6), rng.normal(size=(6, 3))
    # a group of one set has no reward spread: its credit term is the ungated z-score
    np.testing.assert_array_equal(grpo.credit_advantages(R, c, 1, gate="sum"), grpo.credit_advantages(R, c, 1))
    # both stds carry the utility's units; eps=1e-12 leaves the guard as the only unit
    np.testing.assert_allclose(
        grpo.credit_advantages(R, c, 3, gate="sum", eps=1e-12),
        grpo.credit_advantages(1e3 * R, 1e3 * c, 3, gate="sum", eps=1e-12), rtol=1e-9, atol=1e-9)
    # beta = 0 is plain GRPO; a NaN reward's row is 0
    np.testing.assert_array_equal(grpo.credit_advantages(R, c, 3, beta=0.0, gate="sum"),
                                  np.repeat(grpo.set_advantages(R, 3)[:, None], 3, axis=1))
    R[1] = np.nan
    np.testing.assert_array_equal(grpo.credit_advantages(R, c, 3, gate="sum")[1], 0.0)
    rule = grpo.CreditRule("loo", beta=2.0, gate="sum")
    assert rule.name == "marginal loo b=2 gate=sum"
    np.testing.assert_array_equal(rule.from_credits(R, c, 3), grpo.credit_advantages(R, c, 3, beta=2.0, gate="sum"))


def test_gate_is_checked():
    with pytest.raises(ValueError, match="gate must be one of 'none', 'spread', 'sum'; got 'std'"):
        grpo.credit_advantages([1.0, 0.0], [[0.1], [0.2]], 2, gate="std")
    with pytest.raises(ValueError, match="gate must be one of"):
        grpo.CreditRule("loo", gate="yes")
    with pytest.raises(ValueError, match="serves form='marginal' only"):
        grpo.CreditRule("shapley", "shapley", gate="spread")
    rule = grpo.CreditRule("loo", beta=2.0, gate="spread")
    R, c = np.array([1.0, 0.0, 0.5, 0.5]), np.array([[0.3, 0.1], [0.0, 0.2], [0.1, 0.1], [0.4, 0.0]])
    np.testing.assert_array_equal(rule.from_credits(R, c, 2), grpo.credit_advantages(R, c, 2, beta=2.0, gate="spread"))
