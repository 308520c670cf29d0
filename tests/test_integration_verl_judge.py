"""verl layout A with a judge (a ss.SetFunction): verl's own NaiveRewardManager.run_single (through our
subclass) on real DataProto items; the judge is a stand-in that counts its calls and, being BestOf over
graded items in disguise, must give the structured path's Shapley values."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
from shapley_sets.integrations.verl_judge import judge_metrics, load_judge  # noqa: E402
from test_integration_verl_layout_a import (  # noqa: E402,F401  (tokenizer: a fixture)
    RESPONSES,
    _config,
    _items,
    _run,
    compute_score,
    grade,
    tokenizer,
)

CALLS = []


def _best_graded(items):
    CALLS.append(tuple(items))
    return max((grade(i) for i in items), default=0.0)


#: The judge the config names by import path, as a Ray reward worker would load it.
JUDGE = ss.SetFunction(_best_graded, empty_value=0.0)
SMALL_JUDGE = ss.SetFunction(_best_graded, empty_value=0.0, max_calls=3)
NO_EMPTY_JUDGE = ss.SetFunction(lambda items: 1.0 + len(items))
PATH = "test_integration_verl_judge:JUDGE"


def judged_score(data_source, solution_str, ground_truth, extra_info=None):
    spans = ss.grpo.candidate_spans([solution_str])[0]
    return {"score": 0.0, "candidates": [solution_str[s:e] for s, e in spans], "acc": 1.0}


def _manager(tokenizer, compute, **shapley):
    shapley.setdefault("spans", "numbered")
    return sv.ShapleyRewardManager(config=_config(**shapley), tokenizer=tokenizer, compute_score=compute)


def test_judge_gives_the_structured_shapley_values_with_exact_calls(tokenizer):
    items, _ = _items(tokenizer)
    CALLS.clear()
    judged = [_run(_manager(tokenizer, judged_score, judge=PATH), d) for d in items]
    structured = [_run(_manager(tokenizer, compute_score), d) for d in items]
    calls = 0
    for a, b in zip(judged, structured):
        ra = json.loads(a["reward_extra_info"][sv.CANDIDATES_KEY])
        rb = json.loads(b["reward_extra_info"][sv.CANDIDATES_KEY])
        np.testing.assert_allclose(ra["phi"], rb["phi"], rtol=0, atol=1e-12)
        assert ra["ends"] == rb["ends"]
        k = len(ra["phi"])
        assert ra["judge_calls"] == (2 ** k - 1 if k else 0)  # U(∅) known: every other coalition once
        assert ra["judge_stderr"] == [0.0] * k
        assert a["reward_extra_info"]["judge_calls"] == float(ra["judge_calls"])
        assert a["reward_extra_info"]["acc"] == 1.0
        assert not set(sv.CANDIDATE_KEYS) & set(a["reward_extra_info"])
        # The reward score is the judge's value of the candidates that own tokens.
        assert type(a["reward_score"]) is float
        assert a["reward_score"] == pytest.approx(sum(ra["phi"]), abs=1e-12)
        calls += ra["judge_calls"]
    assert len(CALLS) == calls
    m = judge_metrics([o["reward_extra_info"][sv.CANDIDATES_KEY] for o in judged] + [None])
    assert m["judge/calls"] == calls and m["judge/credit_stderr_max"] == 0.0
    assert m["judge/calls_per_set"] == calls / len(items)


def test_judge_budget_caps_the_calls_and_the_error_is_recorded(tokenizer):
    text = "\n".join(f"{i + 1}. {w}" for i, w in enumerate(["red", "blue sky", "red apples", "café", "fox", "sky"]))
    items, _ = _items(tokenizer, t=60, responses=[text])
    CALLS.clear()
    out = _run(_manager(tokenizer, judged_score, judge=PATH, judge_budget=20, judge_seed=3), items[0])
    rec = json.loads(out["reward_extra_info"][sv.CANDIDATES_KEY])
    assert len(rec["phi"]) == 6  # 2^6 - 1 = 63 coalitions: estimated
    assert rec["judge_calls"] == len(CALLS) <= 20
    assert max(rec["judge_stderr"]) > 0
    assert sum(rec["phi"]) == pytest.approx(out["reward_score"], abs=1e-12)  # efficient: fits the encoding
    exact = ss.shapley(ss.BestOf(), np.array([grade(w) for w in ["red", "blue sky", "red apples", "café",
                                                                 "fox", "sky"]]))
    assert np.all(np.abs(np.array(rec["phi"]) - exact) <= 6 * np.array(rec["judge_stderr"]) + 1e-12)
    again = _run(_manager(tokenizer, judged_score, judge=PATH, judge_budget=20, judge_seed=3), items[0])
    assert again["reward_extra_info"][sv.CANDIDATES_KEY] == out["reward_extra_info"][sv.CANDIDATES_KEY]


def test_judge_from_register_in_the_worker_process(tokenizer, monkeypatch):
    monkeypatch.setitem(sv._python_options, "judge", JUDGE)
    items, _ = _items(tokenizer)
    out = _run(_manager(tokenizer, judged_score), items[0])
    assert json.loads(out["reward_extra_info"][sv.CANDIDATES_KEY])["judge_calls"] == 7


@pytest.mark.parametrize("shapley, error, message", [
    ({}, ValueError, "no judge is configured"),
    ({"judge": "no_colon"}, ValueError, "must be 'module:name'"),
    ({"judge": "test_integration_verl_judge:MISSING"}, ValueError, "does not import"),
    ({"judge": "test_integration_verl_judge:grade"}, TypeError, "must name a ss.SetFunction"),
    ({"judge": PATH, "empty_value": 1.0}, ValueError, "differs from algorithm.shapley.empty_value"),
    ({"judge": "test_integration_verl_judge:NO_EMPTY_JUDGE"}, ValueError, "valued the empty set at 1.0"),
    ({"judge": "test_integration_verl_judge:SMALL_JUDGE"}, ValueError, "7"),
])
def test_judge_errors(tokenizer, shapley, error, message):
    ids = tokenizer("1. red\n2. blue sky\n3. fox", add_special_tokens=False)["input_ids"]
    CALLS.clear()
    with pytest.raises(error, match=message):
        sv.candidate_record({"candidates": ["red", "blue sky", "fox"]}, ids, "1. red\n2. blue sky\n3. fox",
                            tokenizer, {"shapley": {"spans": "numbered", **shapley}})
    assert CALLS == []  # max_calls: refused before any call


def test_candidates_must_be_a_list_and_come_alone(tokenizer):
    ids = tokenizer("1. red", add_special_tokens=False)["input_ids"]
    cfg = {"shapley": {"spans": "numbered", "judge": PATH}}
    with pytest.raises(TypeError, match="'candidates' must be a list"):
        sv.candidate_record({"candidates": "red"}, ids, "1. red", tokenizer, cfg)
    with pytest.raises(ValueError, match="exactly one of"):
        sv.candidate_record({"candidates": ["red"], "candidate_scores": [0.9]}, ids, "1. red", tokenizer, cfg)
    assert load_judge(JUDGE) is JUDGE
