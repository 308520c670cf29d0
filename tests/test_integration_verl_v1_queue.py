"""The V1 trainer modes through a real TransferQueue on a local Ray cluster.

verl 0.9's V1 trainer keeps every sample in TransferQueue. Here the sample
fields the agent loop writes (nested ``rm_scores`` with the score on the
last token, ``extra_fields`` with ``reward_extra_info``, the response mask,
the uid) are put into a real queue, and the advantage step of
``ShapleyPPOTrainerSync`` — the mixin, then verl's own
``PPOTrainer._compute_advantage`` — runs on them. Starts a 4-CPU local Ray
cluster (about 20 s).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
pytest.importorskip("transfer_queue", reason="verl's V1 trainer needs transfer_queue (pip install 'shapley-sets[verl]')")
ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
import shapley_sets.integrations.verl_trainer as vt  # noqa: E402
import transfer_queue as tq  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from tensordict import TensorDict  # noqa: E402
from verl.utils import tensordict_utils as tu  # noqa: E402


@pytest.fixture(scope="module")
def queue():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    tq.init()
    yield
    tq.close()
    if started:
        ray.shutdown()


def _samples(seed=0):
    """4 responses of one prompt, as the agent loop leaves them in the queue."""
    rng = np.random.default_rng(seed)
    lengths = [9, 6, 12, 4]
    x = [rng.random(3).round(2), rng.random(2).round(2), rng.random(4).round(2), None]
    ends = [[2, 5, 8], [1, 3], [0, 4, 7, 10], None]
    rm, extra, records = [], [], []
    for n, xi, e in zip(lengths, x, ends):
        row = torch.zeros(n)
        if xi is None:  # compute_score returned a float: no record
            row[-1] = 0.3
            extra.append({"reward_extra_info": {"acc": 0.3}})
            records.append(None)
        else:
            phi = ss.shapley(ss.BestOf(), xi)
            row[-1] = float(xi.max())
            rec = json.dumps({"phi": phi.tolist(), "ends": e})
            extra.append({"reward_extra_info": {"acc": 1.0, sv.CANDIDATES_KEY: rec}})
            records.append(rec)
        rm.append(row)
    mask = [torch.ones(n, dtype=torch.int64) for n in lengths]
    return lengths, rm, mask, extra, records


def _put(keys, lengths, rm, mask, extra):
    fields = tu.get_tensordict({
        "rm_scores": torch.nested.as_nested_tensor(rm, layout=torch.jagged),
        "response_mask": torch.nested.as_nested_tensor(mask, layout=torch.jagged),
        "extra_fields": extra,
        "uid": ["p"] * len(keys),
    })
    return tq.kv_batch_put(keys=keys, partition_id="train", fields=fields, tags=[{}] * len(keys))


def test_mixin_rewrites_rm_scores_in_the_queue(queue):
    lengths, rm, mask, extra, records = _samples()
    keys = [f"mix_{i}" for i in range(4)]
    meta = _put(keys, lengths, rm, mask, extra)
    vt.ShapleyCandidatesMixin()._write_candidate_scores(meta)
    got = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["rm_scores"])["rm_scores"]
    assert got.offsets().diff().tolist() == lengths
    t = max(lengths)
    padded = torch.zeros(4, t)
    for i, r in enumerate(rm):
        padded[i, : lengths[i]] = r
    expected = sv.rm_scores_from_records(padded, lengths, records)
    assert torch.equal(got.to_padded_tensor(0.0), expected)
    assert torch.equal(got[3], rm[3])  # no record: left as verl wrote it


def test_advantage_step_of_the_shapley_sync_trainer(queue):
    lengths, rm, mask, extra, records = _samples(1)
    keys = [f"adv_{i}" for i in range(4)]
    meta = _put(keys, lengths, rm, mask, extra)
    trainer = object.__new__(vt.ShapleyPPOTrainerSync)  # only the config is read by this step
    trainer.config = OmegaConf.create({
        "algorithm": {"adv_estimator": "shapley_grpo", "use_kl_in_reward": False, "gamma": 1.0, "lam": 1.0,
                      "norm_adv_by_std_in_grpo": True, "shapley": {"beta": 0.5}},
        "actor_rollout_ref": {"rollout": {"n": 4}},
    })
    trainer._compute_advantage(meta, metrics={})
    adv = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["advantages"])["advantages"]
    adv = adv.to_padded_tensor(0.0)
    t = max(lengths)
    padded = torch.zeros(4, t)
    for i, r in enumerate(rm):
        padded[i, : lengths[i]] = r
    tlr = sv.rm_scores_from_records(padded, lengths, records)
    rmask = (torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]).float()
    expected, _ = sv.shapley_grpo_advantage(tlr, rmask, index=np.array(["p"] * 4, dtype=object),
                                           config={"norm_adv_by_std_in_grpo": True, "shapley": {"beta": 0.5}})
    torch.testing.assert_close(adv, expected * rmask, rtol=1e-6, atol=1e-6)
    assert len(torch.unique(adv[2, : lengths[2]])) >= 3  # candidates of one response differ


def test_a_shapley_trainer_mode_with_verls_own_estimator_warns_that_records_go_unused(queue):
    lengths, rm, mask, extra, records = _samples(3)
    trainer = object.__new__(vt.ShapleyPPOTrainerSync)  # only the config is read by this step
    trainer.config = OmegaConf.create({
        "algorithm": {"adv_estimator": "grpo", "use_kl_in_reward": False, "gamma": 1.0, "lam": 1.0,
                      "norm_adv_by_std_in_grpo": True},
        "actor_rollout_ref": {"rollout": {"n": 4}},
    })
    # verl's GRPO step reads the keys as {uid}_{session}_{index}
    meta = _put([f"unused{i}_0_0" for i in range(4)], lengths, rm, mask, extra)
    with pytest.warns(UserWarning, match="algorithm.adv_estimator=grpo ignores them"):
        trainer._compute_advantage(meta, metrics={})
    meta = _put([f"again{i}_0_0" for i in range(4)], lengths, rm, mask, extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer._compute_advantage(meta, metrics={})  # said once
    plain = object.__new__(vt.ShapleyPPOTrainerSync)
    plain.config = trainer.config
    meta = _put([f"norecords{i}_0_0" for i in range(4)], lengths, rm, mask,
                [{"reward_extra_info": {"acc": 0.3}} for _ in range(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain._compute_advantage(meta, metrics={})  # no records: nothing to say


def test_mixin_logs_the_judges_calls_and_errors(queue):
    lengths, rm, mask, extra, records = _samples(2)
    stderr = {0: [0.0, 0.1, 0.0], 1: [0.0, 0.0], 2: [0.2, 0.0, 0.0, 0.3]}
    for i, se in stderr.items():  # as the reward manager writes records from a judge
        rec = json.loads(records[i])
        rec.update(judge_calls=5 + i, judge_stderr=se)
        records[i] = json.dumps(rec)
        extra[i]["reward_extra_info"][sv.CANDIDATES_KEY] = records[i]
    keys = [f"judge_{i}" for i in range(4)]
    meta = _put(keys, lengths, rm, mask, extra)
    metrics: dict = {}
    vt.ShapleyCandidatesMixin()._write_candidate_scores(meta, metrics)
    flat = [v for se in stderr.values() for v in se]
    assert metrics == {"judge/calls": 18.0, "judge/calls_per_set": 6.0,
                       "judge/credit_stderr_mean": pytest.approx(np.mean(flat)), "judge/credit_stderr_max": 0.3}


CALLS: list = []


def _distinct_words(texts):
    CALLS.append(tuple(texts))
    return float(len({w for t in texts for w in t.split()}))


JUDGE = ss.SetFunction(_distinct_words, empty_value=0.0)


def test_layout_b_judge_through_the_queue_and_verls_advantage_step(queue):
    """shapley_completion with a judge: the driver judges each uid's responses (the strings
    compute_score left under COMPLETION_KEY), writes the rewards into the queue's rm_scores, and
    verl's own advantage step gives judge_completion_advantages' advantages."""
    words = ["red fox", "red", "blue sky", "sky", "green tea", "tea", "red tea", "fox"]
    uids = ["u1"] * 4 + ["u2"] * 4
    lengths = [3, 5, 2, 4, 6, 3, 2, 5]
    keys = [f"b_{i}" for i in range(8)]
    rm = [torch.zeros(n) for n in lengths]
    for r in rm:
        r[-1] = 0.5  # verl's own score: replaced by the judged reward
    fields = tu.get_tensordict({
        "rm_scores": torch.nested.as_nested_tensor(rm, layout=torch.jagged),
        "response_mask": torch.nested.as_nested_tensor([torch.ones(n, dtype=torch.int64) for n in lengths],
                                                       layout=torch.jagged),
        "responses": torch.nested.as_nested_tensor([torch.arange(n) + i for i, n in enumerate(lengths)],
                                                   layout=torch.jagged),
        "extra_fields": [{"reward_extra_info": {"acc": 1.0, vt.COMPLETION_KEY: w}} for w in words],
        "uid": uids,
    })
    meta = tq.kv_batch_put(keys=keys, partition_id="train", fields=fields, tags=[{}] * 8)
    trainer = object.__new__(vt.ShapleyPPOTrainerSync)
    trainer.tokenizer = None  # the judge's objects come from compute_score: nothing to decode
    trainer.config = OmegaConf.create({
        "algorithm": {"adv_estimator": "shapley_completion", "use_kl_in_reward": False, "gamma": 1.0, "lam": 1.0,
                      "norm_adv_by_std_in_grpo": True,
                      "shapley": {"judge": "test_integration_verl_v1_queue:JUDGE"}},
        "actor_rollout_ref": {"rollout": {"n": 4}},
    })
    CALLS.clear()
    metrics: dict = {}
    trainer._compute_advantage(meta, metrics=metrics)
    calls = len(CALLS)
    got = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["advantages", "rm_scores"])
    adv = got["advantages"].to_padded_tensor(0.0)
    CALLS.clear()
    expected, judged = ss.grpo.judge_completion_advantages(
        JUDGE, words, uids, credit="loo", scale="group", eps=1e-6, ddof=1,
        singleton=ss.grpo.PRESETS["verl"]["singleton"])
    assert calls == judged.calls == len(CALLS)
    assert metrics["judge/calls"] == calls and metrics["judge/credit_stderr_max"] == 0.0
    rmask = (torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]).float()
    assert torch.equal(adv, torch.from_numpy(expected.astype(np.float32))[:, None] * rmask)
    r, _ = ss.grpo.completion_rewards(JUDGE, words, [range(4), range(4, 8)], credit="loo")
    assert torch.equal(got["rm_scores"].to_padded_tensor(0.0).sum(-1), torch.tensor(r, dtype=torch.float32))
    assert sv._judged == {}  # handed over and taken
