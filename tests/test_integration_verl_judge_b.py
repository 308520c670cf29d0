"""verl layout B with a judge (a ss.SetFunction): the driver step of the V1 trainer modes
(``_judge_completions`` on real queue-shaped TensorDicts, then the ``shapley_completion``
estimator) must give exactly what ss.grpo.judge_completion_advantages gives on the same
completions, with the calls counted exactly. The queue round trip itself is tested in
tests/test_integration_verl_v1_queue.py."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
pytest.importorskip("transfer_queue", reason="verl's V1 trainer needs transfer_queue (pip install 'shapley-sets[verl]')")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
import shapley_sets.integrations.verl_trainer as vt  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from shapley_sets.grpo import PRESETS  # noqa: E402
from shapley_sets.integrations.verl_judge import _seed  # noqa: E402
from test_integration_verl_layout_a import tokenizer  # noqa: E402,F401  (a fixture)
from verl.utils import tensordict_utils as tu  # noqa: E402

CALLS: list = []


def _distinct_words(texts):
    CALLS.append(tuple(texts))
    return float(len({w for t in texts for w in t.split()}))


#: Integer values: leave-one-out credits are integers, exact in verl's float32 rm_scores.
JUDGE = ss.SetFunction(_distinct_words, empty_value=0.0)
SMALL_JUDGE = ss.SetFunction(_distinct_words, empty_value=0.0, max_calls=4)
PATH = "test_integration_verl_judge_b:JUDGE"

TEXTS = ["red fox", "red fox jumps", "blue sky", "red", "sky is blue", "blue sky", "green", "a b c", "green tea",
         "tea", "red tea", "blue"]
UIDS = ["p"] * 4 + ["q"] * 4 + ["r"] * 4


def _trainer(tokenizer, **shapley):
    trainer = object.__new__(vt.ShapleyPPOTrainerSync)  # only the config and tokenizer are read
    trainer.config = OmegaConf.create({"algorithm": {
        "adv_estimator": "shapley_completion", "use_kl_in_reward": False, "norm_adv_by_std_in_grpo": True,
        "shapley": {"judge": PATH, **shapley}}})
    trainer.tokenizer = tokenizer
    return trainer


def _fields(tokenizer, texts=TEXTS, uids=UIDS, extra=None):
    """The queue fields the driver step reads, as the agent loop leaves them: the score of a plain
    compute_score (float) on each response's last token."""
    ids = [torch.tensor(tokenizer(t, add_special_tokens=False)["input_ids"] + [2]) for t in texts]  # [EOS]
    rm = []
    for i, x in enumerate(ids):
        row = torch.zeros(len(x))
        row[-1] = 0.25 * i
        rm.append(row)
    return tu.get_tensordict({
        "rm_scores": torch.nested.as_nested_tensor(rm, layout=torch.jagged),
        "responses": torch.nested.as_nested_tensor(ids, layout=torch.jagged),
        "extra_fields": extra if extra is not None else [{"reward_extra_info": {"acc": 1.0}}] * len(texts),
        "uid": list(uids),
    }), [x.tolist() for x in ids]


def _estimate(trainer, nested):
    """verl's advantage step on the written rm_scores: the estimator on the padded tensors."""
    rm = nested.to_padded_tensor(0.0)
    lengths = nested.offsets().diff()
    mask = (torch.arange(rm.shape[1])[None, :] < lengths[:, None]).float()
    index = np.array(list(UIDS), dtype=object)
    adv, _ = sv.shapley_completion_advantage(rm, mask, index=index, config=trainer.config.algorithm)
    return adv, mask


def _expected(credit, **kw):
    opts = dict(scale="group", eps=1e-6, ddof=1, singleton=PRESETS["verl"]["singleton"])
    return ss.grpo.judge_completion_advantages(JUDGE, TEXTS, UIDS, credit=credit, **kw, **opts)


def test_leave_one_out_by_default_equals_the_judge_functions_exactly(tokenizer):
    trainer = _trainer(tokenizer)
    fields, _ = _fields(tokenizer)
    CALLS.clear()
    metrics: dict = {}
    nested = trainer._judge_completions(fields, metrics)
    calls = len(CALLS)
    adv, mask = _estimate(trainer, nested)
    CALLS.clear()
    expected, judged = _expected("loo")
    assert calls == len(CALLS) == judged.calls <= 3 * (4 + 1)  # G + 1 per group, shared coalitions once
    assert torch.equal(adv, torch.from_numpy(expected.astype(np.float32))[:, None] * mask)
    assert metrics == judged.metrics() and metrics["judge/calls"] == calls
    assert metrics["judge/credit_stderr_max"] == 0.0
    # Each response's reward lies on its last token: the group's leave-one-out credits.
    r, _ = ss.grpo.completion_rewards(JUDGE, TEXTS, [range(0, 4), range(4, 8), range(8, 12)], credit="loo")
    assert torch.equal(nested.to_padded_tensor(0.0).sum(-1), torch.tensor(r, dtype=torch.float32))
    assert np.all(np.diff(nested.offsets().numpy()) == fields["rm_scores"].offsets().diff().numpy())


def test_shapley_credit_equals_the_judge_functions(tokenizer):
    trainer = _trainer(tokenizer, credit="shapley")
    CALLS.clear()
    adv, mask = _estimate(trainer, trainer._judge_completions(_fields(tokenizer)[0]))
    calls = len(CALLS)
    CALLS.clear()
    expected, judged = _expected("shapley")
    assert calls == judged.calls == len(CALLS)
    assert calls <= 3 * (2 ** 4 - 1)  # U(∅) known
    # G·φ_g (thirds) passes verl's float32 rm_scores: equal up to that one rounding.
    torch.testing.assert_close(adv, torch.from_numpy(expected.astype(np.float32))[:, None] * mask,
                               rtol=1e-6, atol=1e-6)
    r, _ = ss.grpo.completion_rewards(JUDGE, TEXTS, [range(0, 4), range(4, 8), range(8, 12)])
    exact = ss.grpo.set_advantages(r.astype(np.float32).astype(np.float64), UIDS, scale="group", eps=1e-6,
                                   ddof=1, singleton=PRESETS["verl"]["singleton"])
    assert torch.equal(adv, torch.from_numpy(exact.astype(np.float32))[:, None] * mask)


def test_shapley_credit_of_pairs_is_exact(tokenizer):
    uids = ["a", "a", "b", "b", "c", "c"]
    texts = TEXTS[:6]
    trainer = _trainer(tokenizer, credit="shapley")
    fields, _ = _fields(tokenizer, texts, uids)
    nested = trainer._judge_completions(fields)
    rm = nested.to_padded_tensor(0.0)
    mask = (torch.arange(rm.shape[1])[None, :] < nested.offsets().diff()[:, None]).float()
    adv, _ = sv.shapley_completion_advantage(rm, mask, index=np.array(uids, dtype=object),
                                            config=trainer.config.algorithm)
    expected, _ = ss.grpo.judge_completion_advantages(JUDGE, texts, uids, scale="group", eps=1e-6, ddof=1,
                                                      singleton=PRESETS["verl"]["singleton"])
    assert torch.equal(adv, torch.from_numpy(expected.astype(np.float32))[:, None] * mask)  # 2·φ: dyadic


def test_budget_caps_the_calls_and_matches_the_judge_functions(tokenizer):
    trainer = _trainer(tokenizer, credit="shapley", judge_budget=10, judge_seed=11)
    fields, ids = _fields(tokenizer)
    CALLS.clear()
    metrics: dict = {}
    adv, mask = _estimate(trainer, trainer._judge_completions(fields, metrics))
    calls = len(CALLS)
    seed = _seed(11, [t for x in ids for t in x])
    CALLS.clear()
    expected, judged = _expected("shapley", budget=10, seed=seed)
    assert calls == judged.calls == len(CALLS) <= 3 * 10
    assert np.all(judged.calls_per_set <= 10)
    assert metrics == judged.metrics() and metrics["judge/credit_stderr_max"] > 0
    torch.testing.assert_close(adv, torch.from_numpy(expected.astype(np.float32))[:, None] * mask,
                               rtol=1e-6, atol=1e-6)
    again = trainer._judge_completions(_fields(tokenizer)[0])
    assert torch.equal(again.to_padded_tensor(0.0), trainer._judge_completions(fields).to_padded_tensor(0.0))


def test_compute_score_may_choose_the_judges_objects(tokenizer):
    words = [t.split()[0] for t in TEXTS]  # what the judge sees instead of the texts
    extra = [{"reward_extra_info": {"acc": 1.0, vt.COMPLETION_KEY: w}} for w in words]
    fields, _ = _fields(tokenizer, extra=extra)
    CALLS.clear()
    nested = _trainer(tokenizer)._judge_completions(fields)
    assert {w for c in CALLS for t in c for w in t.split()} <= set(words)
    r, _ = ss.grpo.completion_rewards(JUDGE, words, [range(0, 4), range(4, 8), range(8, 12)], credit="loo")
    assert torch.equal(nested.to_padded_tensor(0.0).sum(-1), torch.tensor(r, dtype=torch.float32))


def test_max_calls_refuses_before_any_call(tokenizer):
    trainer = _trainer(tokenizer, judge="test_integration_verl_judge_b:SMALL_JUDGE")
    CALLS.clear()
    with pytest.raises(ValueError, match="5"):  # leave-one-out of a group of 4: 5 calls
        trainer._judge_completions(_fields(tokenizer)[0])
    assert CALLS == []
    assert sv._judged == {}


@pytest.mark.parametrize("change, error, message", [
    ({"extra": [{"reward_extra_info": {vt.COMPLETION_KEY: "x"}}] + [{}] * 11}, ValueError, "but not for response 1"),
    ({"extra": [{"reward_extra_info": {vt.COMPLETION_KEY: 3}}]  * 12}, TypeError, "must be a string"),
    ({"extra": [{"reward_extra_info": {sv.CANDIDATES_KEY: "{}"}}] * 12}, ValueError, "use algorithm.adv_estimator"),
    ({"tokenizer": None}, ValueError, "no tokenizer"),
    ({"shapley": {"judge": "test_integration_verl_judge_b:_distinct_words"}}, TypeError, "ss.SetFunction"),
    ({"shapley": {"judge_budget": 3, "credit": "shapley"}}, ValueError, "budget"),
])
def test_driver_step_errors(tokenizer, change, error, message):
    trainer = _trainer(tokenizer, **change.get("shapley", {}))
    if "tokenizer" in change:
        trainer.tokenizer = change["tokenizer"]
    fields, _ = _fields(tokenizer, extra=change.get("extra"))
    CALLS.clear()
    with pytest.raises(error, match=message):
        trainer._judge_completions(fields)
    assert CALLS == []


def test_the_estimator_refuses_scores_that_were_not_judged(tokenizer):
    trainer = _trainer(tokenizer)
    fields, _ = _fields(tokenizer)
    sv._judged.clear()
    with pytest.raises(ValueError, match="trainer.v1.trainer_mode=shapley_sync"):
        _estimate(trainer, fields["rm_scores"])  # verl's raw scores, as a plain trainer mode leaves them
    nested = trainer._judge_completions(fields)
    rm = nested.to_padded_tensor(0.0)
    rm[0, 0] += 1.0  # changed after judging
    mask = torch.ones_like(rm)
    with pytest.raises(ValueError, match="these scores are not theirs"):
        sv.shapley_completion_advantage(rm, mask, index=np.array(UIDS, dtype=object), config=trainer.config.algorithm)
    assert sv._judged == {}  # taken once: a later batch cannot reuse them


def test_a_judge_and_a_utility_or_a_kl_penalty_are_refused(tokenizer):
    both = _trainer(tokenizer, utility="best_of")
    with pytest.raises(ValueError, match="not both"):
        both._write_completion_scores(object())
    with pytest.raises(ValueError, match="not both"):
        sv.shapley_completion_advantage(torch.zeros(2, 2), torch.ones(2, 2), np.array(["a", "a"], dtype=object),
                                        both.config.algorithm)
    kl = {"use_kl_in_reward": True, "shapley": {"judge": PATH}}
    with pytest.raises(ValueError, match="use_kl_in_reward"):
        sv.shapley_completion_advantage(torch.zeros(2, 2), torch.ones(2, 2), np.array(["a", "a"], dtype=object), kl)


def test_completion_rm_scores():
    out = sv.completion_rm_scores([2, 3], [-0.0, 1.5])
    assert out.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 1.5]]
    assert not torch.signbit(out).any()
    with pytest.raises(ValueError, match="response 1"):
        sv.completion_rm_scores([2, 0], [1.0, 1.0])
    with pytest.raises(ValueError, match="response 0"):
        sv.completion_rm_scores([2], [float("nan")])
    with pytest.raises(ValueError, match="2 lengths but 1 rewards"):
        sv.completion_rm_scores([2, 2], [1.0])
