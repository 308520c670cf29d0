"""The one-kernel path of a credit rule's advantages equals the composed functions bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shapley_sets as ss
from shapley_sets.grpo import CreditRule, set_advantages, token_advantages
from shapley_sets.grpo import _fused
from shapley_sets.grpo._fused import rule_token_advantages

RULES = [
    ss.grpo.RECOMMENDED_RULE,
    CreditRule("loo", "marginal", beta=0.7, gate="none"),
    CreditRule("banzhaf", "marginal", beta=1.3, gate="sum"),
    CreditRule("shapley", "shapley", beta=1.0, tau="within"),
    CreditRule("shapley", "shapley", beta=0.5, tau="set"),
    CreditRule("shapley", "shapley", beta=2.0, tau="none"),
    CreditRule("loo", "marginal", beta=lambda step: 0.1 * step, gate="spread"),
]


def composed(rule, R, credits, groups, ids, rmask, mask, rows, step, empty, options):
    cand = rule.from_credits(R, credits, groups, mask=mask, step=step, empty_value=empty,
                             efficiency_rtol=None, **options)
    sa = set_advantages(R, groups, **options)
    return token_advantages(cand[rows], sa[rows], ids, rmask, candidate_mask=mask[rows]), cand, sa


@st.composite
def batches(draw):
    g = draw(st.integers(1, 4))
    n = g * draw(st.integers(1, 4))
    k = draw(st.integers(1, 5))
    t = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mask = rng.random((n, k)) < draw(st.sampled_from([0.5, 0.9, 1.0]))
    R = rng.normal(size=n) * draw(st.sampled_from([1e-3, 1.0, 1e6]))
    if draw(st.booleans()):
        R[rng.random(n) < 0.3] = np.nan  # unscorable completions
    if draw(st.booleans()):
        R[:g] = R[0]  # a group of equal rewards: the gate closes
    credits = np.where(mask, rng.normal(size=(n, k)), np.nan)  # absent candidates' credits are never read
    empty = rng.normal(size=n)
    start = g * draw(st.integers(0, n // g - 1))
    stop = draw(st.integers(start + 1, n))
    rows = slice(start, stop)
    ids = rng.integers(-1, k, size=(stop - start, t))
    ids = np.where(mask[rows][np.arange(stop - start)[:, None], np.maximum(ids, 0)] | (ids < 0), ids, -1)
    rmask = (rng.random(ids.shape) < 0.8).astype(draw(st.sampled_from([np.int64, np.float32, bool])))
    groups = g if draw(st.booleans()) else rng.permutation(np.repeat(np.arange(n // g), g)).astype(str)
    options = {
        "scale": draw(st.sampled_from(["group", "none", "batch"])),
        "eps": draw(st.sampled_from([1e-6, 1e-4])),
        "ddof": draw(st.sampled_from([0, 1])),
        "singleton": draw(st.sampled_from(["reward", "zero"])),
    }
    rule = draw(st.sampled_from(RULES))
    step = draw(st.integers(0, 5))
    return rule, R, credits, groups, ids, rmask, mask, rows, step, empty, options


@given(batches())
def test_equals_the_composed_functions_bit_for_bit(case):
    rule, R, credits, groups, ids, rmask, mask, rows, step, empty, options = case
    want = composed(*case)
    got = rule_token_advantages(rule, R, credits, groups, ids, rmask, mask=mask, rows=rows, step=step,
                                empty_value=empty, **options)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)


def test_the_kernel_path_is_taken_for_the_trainer_options(monkeypatch):
    # Where the kernel answers, the composed functions are not called at all.
    rng = np.random.default_rng(0)
    R, credits = rng.random(8), rng.random((8, 3))
    mask = np.ones((8, 3), dtype=bool)
    ids = rng.integers(-1, 3, size=(8, 5))
    monkeypatch.setattr(_fused, "set_advantages", None)
    monkeypatch.setattr(_fused, "token_advantages", None)
    for rule in RULES:
        tokens, cand, sa = rule_token_advantages(rule, R, credits, 4, ids, np.ones((8, 5), np.int64), mask=mask,
                                                 empty_value=0.1, **ss.grpo.PRESETS["trl"])
        assert tokens.shape == (8, 5) and cand.shape == (8, 3) and sa.shape == (8,)


@pytest.mark.parametrize("rule", [RULES[0], RULES[3]])
def test_refused_inputs_raise_the_composed_functions_errors(rule):
    R, credits = np.array([0.1, 0.5, 0.2, 0.9]), np.ones((4, 2))
    mask = np.ones((4, 2), dtype=bool)
    ids = np.zeros((4, 3), dtype=np.int64)
    bad_credit = credits.copy()
    bad_credit[2, 1] = np.inf
    with pytest.raises(ValueError, match="response 2, candidate 1"):
        rule_token_advantages(rule, R, bad_credit, 2, ids, None, mask=mask)
    bad_ids = ids.copy()
    bad_ids[3, 2] = 2
    with pytest.raises(ValueError, match="found 2 at response 3, token 2"):
        rule_token_advantages(rule, R, credits, 2, bad_ids, None, mask=mask)
    with pytest.raises(ValueError, match="response_mask .* found 0.5 at response 0, token 0$"):
        rule_token_advantages(rule, R, credits, 2, ids, np.full((4, 3), 0.5), mask=mask)
    with pytest.raises(ValueError, match="must be finite or NaN"):
        rule_token_advantages(rule, np.array([0.1, np.inf, 0.2, 0.9]), credits, 2, ids, None, mask=mask)
    huge = np.array([-1.7e308, 1.7e308, 0.2, 0.9])
    with pytest.raises(ValueError, match="spread beyond the float64 range"):
        rule_token_advantages(rule, huge, credits, 2, ids, None, mask=mask)


def test_inputs_are_not_mutated():
    rng = np.random.default_rng(1)
    R, credits = rng.random(6), rng.random((6, 4))
    mask = rng.random((6, 4)) < 0.7
    ids = np.full((6, 3), -1, dtype=np.int64)
    rmask = np.ones((6, 3), dtype=np.int64)
    copies = [a.copy() for a in (R, credits, mask, ids, rmask)]
    rule_token_advantages(ss.grpo.RECOMMENDED_RULE, R, credits, 3, ids, rmask, mask=mask)
    for a, b in zip((R, credits, mask, ids, rmask), copies):
        np.testing.assert_array_equal(a, b)
