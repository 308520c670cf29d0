"""ShapleyGRPOTrainer with a judge (a ss.SetFunction) as the utility: real TRL steps on a tiny local
model (CPU, offline). A stand-in judge counts its calls; when it is a structured utility in disguise the
trainer must give the structured path's advantages, with no more calls than the rule needs."""

import numpy as np
import pytest

pytest.importorskip("trl", reason="trl is not installed (pip install 'shapley-sets[trl]')")
torch = pytest.importorskip("torch", reason="torch is not installed")

import shapley_sets as ss  # noqa: E402
from shapley_sets.integrations.trl import CandidateReward  # noqa: E402
from test_integration_trl import G, WORDS, _score, _tokens_as_candidates, _train, reward_mean  # noqa: E402



class CountingJudge:
    """BestOf over the scores the candidates carry, counting coalitions judged."""

    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self, coalition):
        self.calls += 1
        return max((self.value(c) for c in coalition), default=0.0)


def _judged_tokens(prompt, completion, completion_ids, **row):
    # The candidates of _tokens_as_candidates as objects a judge sees: (position, token id).
    scores, tokens = _tokens_as_candidates(prompt, completion, completion_ids, **row)
    content = [t for t in completion_ids if t != 1]
    return [(k, t) for k, t in enumerate(content)], tokens


def _token_judge(**kw):
    counter = CountingJudge(lambda c: _score(c[1]))
    return counter, ss.SetFunction(counter, empty_value=0.0, **kw)


def _logged(trainer, key):
    return [entry[key] for entry in trainer.state.log_history if key in entry]


@pytest.mark.parametrize("rule", [None, ss.grpo.CreditRule("shapley", "shapley")], ids=["recommended", "shapley"])
def test_layout_a_judge_equals_the_structured_utility_it_disguises(tmp_path, rule):
    counter, judge = _token_judge()
    judged = CandidateReward(judge, _judged_tokens)
    structured = CandidateReward(ss.BestOf(), _tokens_as_candidates)
    a = _train(tmp_path / "a", [judged], layout="candidates", rule=rule, beta=0.5, seed=3)
    b = _train(tmp_path / "b", [structured], layout="candidates", rule=rule, beta=0.5, seed=3)
    torch.testing.assert_close(a.last_advantages, b.last_advantages, rtol=1e-5, atol=1e-6)
    assert a.last_advantages.abs().max() > 0
    sets = [c for c, _ in judged.last]
    credit = a.last_judge_credit
    want_rule = (rule or ss.grpo.RECOMMENDED_RULE).credit
    assert judged.credit == want_rule  # the trainer's rule decided which coalitions to ask for
    # The fewest calls: exactly what the rule needs, shared coalitions once, nothing more.
    assert counter.calls == credit.calls == judge.calls_needed(sets, want_rule)
    if want_rule == "loo":
        assert np.all(credit.calls_per_set <= np.array([len(s) for s in sets]) + 1)
    exact = ss.semivalue(judge, sets, want_rule)
    np.testing.assert_array_equal(credit.credit[:, : exact.shape[1]], exact)
    assert credit.stderr.max() == 0.0
    assert _logged(a, "judge/calls") == [float(credit.calls)]
    assert _logged(a, "judge/credit_stderr_max") == [0.0]


def test_layout_a_judge_estimates_within_the_budget_and_logs_the_error(tmp_path):
    counter, judge = _token_judge()
    rule = ss.grpo.CreditRule("shapley", "shapley")
    reward = CandidateReward(judge, _judged_tokens, budget=12, seed=0)
    trainer = _train(tmp_path, [reward], layout="candidates", rule=rule, beta=0.5, seed=3)
    credit = trainer.last_judge_credit
    sizes = np.array([len(c) for c, _ in reward.last])
    assert sizes.max() >= 5  # 2^5 - 1 = 31 > 12: some sets are estimated
    assert np.all(credit.calls_per_set <= 12) and counter.calls == credit.calls <= 12 * len(sizes)
    assert credit.stderr[sizes >= 5].max() > 0
    small = (1 << sizes) - 1 <= 12  # sets the budget covers stay exact
    assert not small.any() or credit.stderr[small].max() == 0
    # Efficient estimates: the Shapley form's U(∅) stays the judge's own.
    np.testing.assert_allclose(credit.credit.sum(1), credit.set_rewards, atol=1e-12)
    assert _logged(trainer, "judge/credit_stderr_max")[0] == pytest.approx(credit.stderr[credit.mask].max())
    assert np.isfinite(trainer.last_advantages.numpy()).all()


def test_layout_a_judge_refuses_more_calls_than_max_calls_before_any(tmp_path):
    counter, judge = _token_judge(max_calls=20)
    reward = CandidateReward(judge, _judged_tokens)
    with pytest.raises(ValueError, match="calls"):
        _train(tmp_path, [reward], layout="candidates", rule=ss.grpo.CreditRule("shapley", "shapley"), seed=3)
    assert counter.calls == 0


def _text_score(text):
    words = text.split()
    return float(np.mean([_score(WORDS.index(w)) for w in words])) if words else 0.0


@pytest.mark.parametrize("rule", [None, ss.grpo.CreditRule("shapley", "shapley")], ids=["recommended", "shapley"])
def test_layout_b_judge_values_each_groups_texts(tmp_path, rule):
    counter = CountingJudge(_text_score)
    judge = ss.SetFunction(counter, empty_value=0.0)
    trainer = _train(tmp_path, reward_mean, layout="completions", utility=judge, rule=rule)
    texts = trainer._local_completions
    assert len(texts) == 8
    credit_rule = (rule or ss.grpo.RECOMMENDED_RULE).credit
    want = ss.grpo.completion_advantages(ss.BestOf(), [_text_score(t) for t in texts], G, credit=credit_rule,
                                         **ss.grpo.PRESETS["trl"])
    assert np.abs(want).max() > 0
    np.testing.assert_allclose(trainer.last_advantages.numpy(), want, rtol=1e-5, atol=1e-6)
    sets = [texts[:G], texts[G:]]
    assert counter.calls == trainer.last_judge_credit.calls == judge.calls_needed(sets, credit_rule)
    assert _logged(trainer, "judge/calls") == [float(counter.calls)]
    assert _logged(trainer, "judge/calls_per_set") == [float(trainer.last_judge_credit.calls_per_set.mean())]


def test_layout_b_judge_budget_caps_the_calls_per_group(tmp_path):
    counter = CountingJudge(_text_score)
    judge = ss.SetFunction(counter)  # U(∅) unknown: exact Shapley would take 2^4 = 16 calls per group
    trainer = _train(tmp_path, reward_mean, layout="completions", utility=judge, judge_budget=10, judge_seed=1,
                     rule=ss.grpo.CreditRule("shapley", "shapley"))
    credit = trainer.last_judge_credit
    assert np.all(credit.calls_per_set <= 10) and counter.calls <= 20
    assert _logged(trainer, "judge/credit_stderr_max")[0] > 0
    assert np.isfinite(trainer.last_advantages.numpy()).all()


def test_judge_configuration_errors(tmp_path):
    _, judge = _token_judge()
    with pytest.raises(ValueError, match="judge_budget and judge_seed serve layout='completions'"):
        _train(tmp_path, reward_mean, layout="completions", utility=ss.BestOf(), judge_budget=10)
    with pytest.raises(ValueError, match="differs from the rule's"):
        _train(tmp_path, [CandidateReward(judge, _judged_tokens, credit="shapley")], layout="candidates")
    with pytest.raises(ValueError, match="serve a judge utility"):
        CandidateReward(ss.BestOf(), _tokens_as_candidates, budget=10)
    reward = CandidateReward(judge, lambda p, c, ids, **row: ("ab", [0, 0]))
    with pytest.raises(TypeError, match="completion 0: with a judge"):
        reward(prompts=["p"], completions=["a b"], completion_ids=[[3, 7]])
    reward = CandidateReward(judge, lambda p, c, ids, **row: (["a"], [0, 1]))
    with pytest.raises(ValueError, match=r"completion 0: token candidates must lie in \[-1, 1\)"):
        reward(prompts=["p"], completions=["a b"], completion_ids=[[3, 7]])


def test_layout_a_judge_with_a_parser_sees_the_candidate_texts(tmp_path):
    from test_integration_trl import _score_words

    seen = []
    counter = CountingJudge(lambda word: _score(WORDS.index(word)))

    def judge(texts):
        seen.extend(texts)
        return counter(texts)

    pattern = {"style": "regex", "pattern": r"w\d+"}
    judged = CandidateReward(ss.SetFunction(judge, empty_value=0.0), parser=pattern)
    structured = CandidateReward(ss.BestOf(), parser=pattern, score_fn=_score_words)
    a = _train(tmp_path / "a", [judged], layout="candidates", beta=0.5, seed=2)
    b = _train(tmp_path / "b", [structured], layout="candidates", beta=0.5, seed=2)
    torch.testing.assert_close(a.last_advantages, b.last_advantages, rtol=1e-5, atol=1e-6)
    for (c, ta), (x, tb) in zip(judged.last, structured.last):  # same candidates, as texts and as scores
        assert [_score(WORDS.index(w)) for w in c] == list(x)
        np.testing.assert_array_equal(ta, tb)
    assert set(seen) <= {w for w in WORDS if w.startswith("w")}  # the judge saw the candidates' texts
    assert any(len(c) > 1 for c, _ in judged.last)


def test_the_trainer_example_of_the_judge_page_prints_what_the_page_says(capsys, tmp_path, monkeypatch):
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "judge.md").read_text()
    section = page.split("### A complete trainer run with a stand-in judge", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    printed = re.search(r"\)\n\n```text\n(.*?)```", section, flags=re.S).group(1)
    code = code.replace('"/tmp/shapley_judge"', repr(str(tmp_path)))
    namespace: dict = {}
    exec(compile(code, "docs/judge.md", "exec"), namespace)
    ours = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith(("recommended:", "shapley, budget", "layout B:", "["))]
    assert "\n".join(ours) + "\n" == printed
    assert namespace["calls"] == namespace["trainer"].last_judge_credit.calls


def test_a_score_fn_chooses_the_objects_the_judge_sees():
    from test_integration_trl import _tokenizer

    seen = []

    def judge(pairs):
        seen.extend(pairs)
        return float(len({word for _, word in pairs}))

    def with_prompt(prompt, completion, candidates, **row):
        return [(prompt, c) for c in candidates]

    tok = _tokenizer()
    reward = CandidateReward(ss.SetFunction(judge, empty_value=0.0), parser={"style": "regex", "pattern": r"w\d+"},
                             score_fn=with_prompt, tokenizer=tok)
    texts = ["w3 w5 w3", "w7"]
    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    assert reward(prompts=["p", "q"], completions=texts, completion_ids=ids) == [2.0, 1.0]
    assert {prompt for prompt, _ in seen} == {"p", "q"}
    assert reward.last[0][0] == [("p", "w3"), ("p", "w5"), ("p", "w3")]
    assert reward.last_credit.credit.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # leave-one-out alone
    bad = CandidateReward(ss.SetFunction(judge), parser="lines", score_fn=lambda p, c, cands: "one string")
    with pytest.raises(TypeError, match="completion 0: with a judge"):
        bad(prompts=["p"], completions=["a"], completion_ids=[[5]])
    with pytest.raises(TypeError, match="score_fn must be callable"):
        CandidateReward(ss.SetFunction(judge), parser="lines", score_fn="grade")
