"""GRPO advantages from a black-box judge: the same numbers as the structured
path when the judge is a structured utility in disguise; estimates logged."""

import numpy as np
import pytest

import shapley_sets as ss


def _judge(scores):
    return ss.SetFunction(lambda c: max((scores[n] for n in c), default=0.0), empty_value=0.0)


def test_layout_a_matches_the_structured_path():
    rng = np.random.default_rng(0)
    x = rng.random((6, 5))
    names = np.array([[f"r{i}c{j}" for j in range(5)] for i in range(6)], dtype=object)
    scores = {n: v for n, v in zip(names.ravel(), x.ravel())}
    mask = rng.random((6, 5)) < 0.8
    adv, credit = ss.grpo.judge_candidate_advantages(_judge(scores), names, 3, mask=mask)
    want = ss.grpo.candidate_advantages(ss.value(ss.BestOf(), x, mask=mask),
                                        ss.shapley(ss.BestOf(), x, mask=mask), 3, mask=mask)
    np.testing.assert_allclose(adv, want, rtol=1e-10, atol=1e-12)
    assert credit.calls == sum(2 ** int(k) - 1 for k in mask.sum(1))
    assert credit.metrics()["judge/credit_stderr_max"] == 0.0


def test_layout_b_matches_completion_advantages():
    rng = np.random.default_rng(1)
    r = rng.random(8)
    names = [f"completion {i}" for i in range(8)]
    scores = dict(zip(names, r))
    labels = ["p", "q", "p", "q", "q", "p", "p", "q"]
    adv, credit = ss.grpo.judge_completion_advantages(_judge(scores), names, labels)
    np.testing.assert_allclose(adv, ss.grpo.completion_advantages(ss.BestOf(), r, labels), rtol=1e-10)
    assert credit.calls == 2 * 15


def test_estimated_credit_is_logged_and_unbiased_enough():
    rng = np.random.default_rng(2)
    x = rng.random((4, 14))
    names = np.array([[f"r{i}c{j}" for j in range(14)] for i in range(4)], dtype=object)
    scores = {n: v for n, v in zip(names.ravel(), x.ravel())}
    adv, credit = ss.grpo.judge_candidate_advantages(_judge(scores), names, 2, budget=200, seed=0)
    assert np.all(credit.calls_per_set <= 200) and credit.calls <= 800
    m = credit.metrics()
    assert 0 < m["judge/credit_stderr_mean"] <= m["judge/credit_stderr_max"]
    exact = ss.shapley(ss.BestOf(), x)
    assert np.all(np.abs(credit.credit - exact) <= 6 * credit.stderr + 1e-12)
    assert np.isfinite(adv).all()


def test_loo_rule_costs_k_plus_one():
    u = ss.SetFunction(lambda c: float(len(set(c))))
    credit = ss.grpo.judge_credit(u, [["a", "b", "c"]], rule="loo")
    assert credit.calls == 4 and credit.credit.tolist() == [[1.0, 1.0, 1.0]]


def test_a_credit_rule_gives_its_credit():
    u = ss.SetFunction(lambda c: float(len(set(c))))
    sets = [["a", "b", "a"]]
    by_rule = ss.grpo.judge_credit(u, sets, rule=ss.grpo.CreditRule(("beta", 2.0, 3.0)))
    by_name = ss.grpo.judge_credit(u, sets, rule=("beta", 2.0, 3.0))
    assert by_rule.rule == by_name.rule and by_rule.credit.tolist() == by_name.credit.tolist()
    assert ss.grpo.judge_credit(u, sets, rule=ss.grpo.RECOMMENDED_RULE).credit.tolist() == [[0.0, 1.0, 0.0]]


def test_judge_errors():
    with pytest.raises(TypeError, match="SetFunction"):
        ss.grpo.judge_credit(ss.BestOf(), [[1.0]])
    with pytest.raises(ValueError, match="rule must be"):
        ss.grpo.judge_credit(ss.SetFunction(len), [["a"]], rule="max")


@pytest.mark.parametrize("members, error, message", [
    ([[0, 5]], ValueError, r"members\[0\] holds index 5, outside 0..2"),
    ([[0, 1], [-1]], ValueError, r"members\[1\] holds index -1, outside"),  # not Python's last completion
    ([[0, 0]], ValueError, r"members\[0\] holds completion 0 twice"),
    ([[0, 1], [1, 2]], ValueError, r"members\[1\] holds completion 1 and in members\[0\]"),
    ([[0.0, 1.0]], TypeError, r"members\[0\] must be a flat list of integer indices"),  # not truncated
    ([[True, False]], TypeError, r"members\[0\] must be a flat list of integer indices"),  # a mask is not indices
    ([[0, [1]]], ValueError, r"members\[0\] is ragged"),
    ("01", TypeError, "members must be a sequence of index lists"),
])
def test_completion_rewards_checks_members(members, error, message):
    u = ss.SetFunction(lambda c: float(len(c)), empty_value=0.0)
    with pytest.raises(error, match=message):
        ss.grpo.completion_rewards(u, ["a", "b", "c"], members)


def test_completion_rewards_takes_members_as_an_array_of_rows():
    u = ss.SetFunction(lambda c: float(len(set(c))), empty_value=0.0)
    listed, _ = ss.grpo.completion_rewards(u, ["a", "a", "b", "c"], [[0, 1], [2, 3]])
    rows, _ = ss.grpo.completion_rewards(u, ["a", "a", "b", "c"], np.array([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(rows, listed)


def test_concat_credits_takes_judge_credits_only():
    part = ss.grpo.judge_credit(ss.SetFunction(lambda c: float(len(c)), empty_value=0.0), [["x"]])
    with pytest.raises(TypeError, match=r"parts\[1\] has type dict"):
        ss.grpo.concat_credits([part, {"credit": [1.0]}])


def test_docs_example_prints_what_the_page_says(capsys):
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "judge.md").read_text()
    section = page.split("## A complete example with a stand-in judge", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    printed = re.search(r"prints\n\n```text\n(.*?)```", section, flags=re.S).group(1)
    exec(compile(code, "docs/judge.md", "exec"), {})
    assert capsys.readouterr().out == printed


def test_judge_reward_gives_layout_b_under_plain_grpo_normalisation():
    from shapley_sets.integrations.judge import JudgeReward

    rng = np.random.default_rng(5)
    names = [f"completion {i}" for i in range(8)]
    scores = dict(zip(names, rng.random(8)))
    prompts = ["p", "q", "p", "q", "q", "p", "p", "q"]
    reward = JudgeReward(_judge(scores))
    r = reward(prompts=prompts, completions=names)
    adv, credit = ss.grpo.judge_completion_advantages(_judge(scores), names, prompts)
    np.testing.assert_allclose(ss.grpo.set_advantages(r, prompts), adv, rtol=1e-10)
    assert reward.last_metrics == credit.metrics()
    estimated = JudgeReward(_judge(scores), budget=9, seed=0)
    estimated(prompts=prompts, completions=names)
    assert estimated.last_metrics["judge/credit_stderr_max"] > 0
    with pytest.raises(TypeError, match="SetFunction"):
        JudgeReward(ss.BestOf())


def test_batches_whose_sets_have_no_candidate():
    calls = []
    u = ss.SetFunction(lambda c: calls.append(tuple(c)) or 1.0 + len(c))
    credit = ss.grpo.judge_credit(u, [[], []])
    assert credit.credit.shape == (2, 0) and credit.set_rewards.tolist() == [1.0, 1.0]
    assert calls == [()] and credit.calls == 1  # U(∅) once, shared by both sets
    known = ss.grpo.judge_credit(ss.SetFunction(lambda c: 1.0 + len(c), empty_value=0.0), [[]])
    assert known.calls == 0 and known.set_rewards.tolist() == [0.0]


def test_completion_rewards_for_any_credit_and_concatenated_parts():
    rng = np.random.default_rng(7)
    names = [f"c{i}" for i in range(6)]
    r = rng.random(6)
    judge = _judge(dict(zip(names, r)))
    for credit in ("shapley", "loo", "banzhaf", ("beta", 2.0, 3.0)):
        got, judged = ss.grpo.completion_rewards(judge, names, [[0, 1, 2], [3, 4, 5]], credit=credit)
        want = ss.grpo.completion_advantages(ss.BestOf(), r, 3, credit=credit)
        np.testing.assert_allclose(ss.grpo.set_advantages(got, 3), want, rtol=1e-10, atol=1e-12)
        adv, _ = ss.grpo.judge_completion_advantages(judge, names, 3, credit=credit)
        np.testing.assert_allclose(adv, want, rtol=1e-10, atol=1e-12)
        parts = [ss.grpo.judge_credit(judge, [names[:3]], rule=credit),
                 ss.grpo.judge_credit(judge, [names[3:5]], rule=credit)]
        both = ss.grpo.concat_credits(parts)
        assert both.credit.shape == (2, 3) and both.calls == sum(p.calls for p in parts)
        np.testing.assert_array_equal(both.credit[1, 2], 0.0)
        assert both.mask.tolist() == [[True] * 3, [True, True, False]]
    with pytest.raises(ValueError, match="one rule"):
        ss.grpo.concat_credits([ss.grpo.judge_credit(judge, [names], rule="loo"),
                                ss.grpo.judge_credit(judge, [names])])
    with pytest.raises(ValueError, match="at least one"):
        ss.grpo.concat_credits([])
