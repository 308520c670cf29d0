"""verl layout A under the marginal (recommended) rule: the reward manager's records carry the rule's
credits and the set reward, rm_scores_from_records writes them with one more mark (R − Σc) on the
response's last token, and verl's compute_advantage -> shapley_grpo gives the library's advantages."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
from test_integration_verl_judge import CALLS, PATH, judged_score  # noqa: E402
from test_integration_verl_layout_a import (  # noqa: E402,F401  (tokenizer: a fixture)
    RESPONSES,
    _config,
    _items,
    _run,
    compute_score,
    grade,
    tokenizer,
)
from verl import DataProto  # noqa: E402
from verl.trainer.ppo.ray_trainer import compute_advantage  # noqa: E402

MORE = RESPONSES + ["1. red\n2. red apples", "1. blue sky\n2. fox\n3. red", "1. fox", "1. sky\n2. red apples"]


def _manager(tokenizer, compute, **shapley):
    shapley.setdefault("spans", "numbered")
    return sv.ShapleyRewardManager(config=_config(**shapley), tokenizer=tokenizer, compute_score=compute)


def _advantages_through_verl(out, ids_all, t, uids, section):
    records = [o["reward_extra_info"][sv.CANDIDATES_KEY] for o in out]
    n = len(out)
    lengths = torch.tensor([len(i) for i in ids_all])
    rm = torch.zeros(n, t)
    rm[torch.arange(n), lengths - 1] = torch.tensor([o["reward_score"] for o in out])
    mask = (torch.arange(t)[None, :] < lengths[:, None]).float()
    tlr = sv.rm_scores_from_records(rm, lengths, records)
    data = DataProto.from_dict(tensors={"token_level_rewards": tlr, "response_mask": mask},
                               non_tensors={"uid": uids})
    cfg = {"norm_adv_by_std_in_grpo": True, "shapley": section}
    return compute_advantage(data, adv_estimator="shapley_grpo", config=cfg).batch["advantages"], tlr, mask


def _expected(records, rule, uids, mask, t):
    recs = [json.loads(r) for r in records]
    n, k = len(recs), max(len(r["phi"]) for r in recs)
    credits, present = np.zeros((n, k)), np.zeros((n, k), dtype=bool)
    ids = np.full((n, t), -1)
    for i, r in enumerate(recs):
        credits[i, : len(r["phi"])], present[i, : len(r["phi"])] = r["phi"], True
        start = 0
        for c, e in enumerate(r["ends"]):
            ids[i, start: e + 1] = c
            start = e + 1
    R = np.array([r["reward"] for r in recs])
    cand = rule.from_credits(R, credits, uids, mask=present, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    return ss.grpo.token_advantages(cand, sa, ids, mask.numpy()), R


@pytest.mark.parametrize("section", [
    {"form": "marginal"},                                      # the recommended rule
    {"form": "marginal", "credit": "banzhaf", "gate": "none", "beta": 0.5},
], ids=["recommended", "banzhaf"])
def test_marginal_rule_from_scores_through_verls_advantage_step(tokenizer, section):
    items, ids_all = _items(tokenizer, responses=MORE)
    out = [_run(_manager(tokenizer, compute_score, **section), d) for d in items]
    records = [o["reward_extra_info"][sv.CANDIDATES_KEY] for o in out]
    for text, rec in zip(MORE, records):  # the reward is U of the candidates that own tokens (not the empty)
        kept = [text[s:e] for s, e in ss.grpo.candidate_spans([text])[0] if e > s]
        assert json.loads(rec)["reward"] == pytest.approx(max([grade(c) for c in kept], default=0.0))
    uids = np.array(["p"] * 4 + ["q"] * 4, dtype=object)
    t = items[0].batch["responses"].shape[1]
    adv, tlr, mask = _advantages_through_verl(out, ids_all, t, uids, section)
    rule = sv._rule({**sv._DEFAULTS, **section}, "shapley_grpo")
    if section["form"] == "marginal" and "credit" not in section:
        assert (rule.credit, rule.form, rule.gate, rule.beta) == (
            ss.grpo.RECOMMENDED_RULE.credit, ss.grpo.RECOMMENDED_RULE.form, ss.grpo.RECOMMENDED_RULE.gate,
            ss.grpo.RECOMMENDED_RULE.beta)
    expected, R = _expected(records, rule, uids, mask, t)
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-5)
    # The row sums are the set rewards (verl's logged score), and the credits are the rule's.
    np.testing.assert_allclose(tlr.sum(1).numpy(), R, rtol=1e-6, atol=1e-6)
    rec0 = json.loads(records[0])
    x0 = np.array([grade(c) for c in ["red apples", "blue sky", "café ☕"]])
    np.testing.assert_allclose(rec0["phi"], ss.semivalue(ss.BestOf(), x0, rule.credit), atol=1e-12)
    assert rec0["reward"] == pytest.approx(0.8)
    assert len(np.unique(adv[0, : len(ids_all[0])].numpy().round(6))) >= 2  # the credit reached the tokens


def test_marginal_rule_from_a_judge_costs_k_plus_one_calls(tokenizer):
    items, ids_all = _items(tokenizer, responses=MORE)
    CALLS.clear()
    out = [_run(_manager(tokenizer, judged_score, judge=PATH, form="marginal"), d) for d in items]
    structured = [_run(_manager(tokenizer, compute_score, form="marginal"), d) for d in items]
    total = 0
    for a, b in zip(out, structured):
        ra = json.loads(a["reward_extra_info"][sv.CANDIDATES_KEY])
        rb = json.loads(b["reward_extra_info"][sv.CANDIDATES_KEY])
        np.testing.assert_allclose(ra["phi"], rb["phi"], atol=1e-12)
        assert ra["reward"] == pytest.approx(rb["reward"]) == pytest.approx(a["reward_score"])
        k = len(ra["phi"])
        assert ra["judge_calls"] <= k + 1 - (k == 1) and ra["judge_stderr"] == [0.0] * k
        total += ra["judge_calls"]
    assert len(CALLS) == total < sum(2 ** len(json.loads(o["reward_extra_info"][sv.CANDIDATES_KEY])["phi"]) - 1
                                     for o in out)
    uids = np.array(["p"] * 4 + ["q"] * 4, dtype=object)
    t = items[0].batch["responses"].shape[1]
    a_adv, _, _ = _advantages_through_verl(out, ids_all, t, uids, {"form": "marginal"})
    b_adv, _, _ = _advantages_through_verl(structured, ids_all, t, uids, {"form": "marginal"})
    torch.testing.assert_close(a_adv, b_adv, rtol=1e-6, atol=1e-6)


def test_marginal_record_drops_a_candidate_cut_off_at_the_last_token(tokenizer):
    cfg = {"shapley": {"utility": "best_of", "form": "marginal"}}
    rec = sv.candidate_record({"candidate_scores": [0.9, 0.4], "candidate_ends": [2, 4]}, list(range(5)), "", None,
                              cfg)
    assert rec == {"phi": [0.9], "ends": [2], "reward": 0.9}
    with pytest.raises(ValueError, match="not 'shapley_values'"):
        sv.candidate_record({"shapley_values": [0.9], "candidate_ends": [0]}, [1, 2], "", None, cfg)
    # A record whose last candidate takes the last token does not fit the marginal encoding.
    with pytest.raises(ValueError, match="does not fit"):
        sv.rm_scores_from_records(torch.zeros(1, 3), [3], [{"phi": [0.5], "ends": [2], "reward": 0.5}])
