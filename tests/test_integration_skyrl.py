"""The SkyRL integration against SkyRL's own classes: the per-token rewards a
generator returns go through SkyRL's batch conversion and its trainer's
advantage step, which dispatches to the registered estimator.

SkyRL (skyrl 0.3) needs Python >= 3.12; elsewhere these tests are skipped.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

pytest.importorskip("skyrl.backends.skyrl_train.utils.ppo_utils", reason="SkyRL is not installed (Python >= 3.12)")
torch = pytest.importorskip("torch")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.skyrl as sk  # noqa: E402
from skyrl.backends.skyrl_train.training_batch import TrainingInputBatch, pad_training_input_batch  # noqa: E402
from skyrl.backends.skyrl_train.utils.ppo_utils import AdvantageEstimatorRegistry  # noqa: E402
from skyrl.train.config import SkyRLTrainConfig  # noqa: E402
from skyrl.train.dataset.preprocess import convert_prompts_responses_to_batch_tensors  # noqa: E402
from skyrl.train.trainer import RayPPOTrainer  # noqa: E402

RULES = [ss.grpo.RECOMMENDED_RULE, ss.grpo.CreditRule("shapley", "shapley", beta=0.5),
         ss.grpo.CreditRule("banzhaf", beta=ss.grpo.LinearSchedule(1.0, 0.0, 4), gate="sum")]


def generated_batch(rule, rng, n_prompts=3, per_prompt=4, k=4):
    """Responses of different lengths, each a set of up to k candidates in
    contiguous token runs and an end-of-sequence token of no candidate."""
    u = ss.BestOf()
    n = n_prompts * per_prompt
    x = rng.random((n, k))
    mask = rng.random((n, k)) < 0.8
    mask[:, 0] = True
    mask = np.sort(mask, axis=1)[:, ::-1].copy()  # present candidates first: ids 0..k_i-1 in token order
    credits, rewards = rule.credits(u, x, mask=mask), ss.value(u, x, mask=mask)
    ids_rows, rows = [], []
    for i in range(n):
        runs = rng.integers(1, 4, size=int(mask[i].sum()))
        ids = [-1] * int(rng.integers(0, 3))  # a preamble of no candidate
        for c, length in enumerate(runs):
            ids += [c] * int(length)
        ids.append(-1)  # end of sequence
        ids_rows.append(ids)
        rows.append(sk.response_token_rewards(credits[i], ids, set_reward=rewards[i], rule=rule))
    uids = [f"prompt-{i // per_prompt}" for i in range(n)]
    return u, x, mask, uids, ids_rows, rows


def skyrl_advantages(name, uids, per_token_rewards, pad=0):
    """SkyRL's path: the generator's lists to a right-aligned batch, padded
    with ``pad`` copies of row 0 under uids of their own (as SkyRL pads for its
    data-parallel workers), then the trainer's advantage step with
    ``advantage_estimator=name``; the padding rows are dropped from the answer."""
    n = len(per_token_rewards)
    responses = [[7] * len(r) for r in per_token_rewards]
    seqs, attention, response_mask, rewards, loss_masks, _, _ = convert_prompts_responses_to_batch_tensors(
        types.SimpleNamespace(pad_token_id=0), [[5, 6]] * n, responses, per_token_rewards,
        [[1] * len(r) for r in per_token_rewards])
    data = TrainingInputBatch({"sequences": seqs, "attention_mask": attention, "response_mask": response_mask,
                               "rewards": rewards, "loss_mask": loss_masks, "values": None})
    data.metadata = {"uids": uids, "avg_response_length": float(np.mean([len(r) for r in per_token_rewards]))}
    data = pad_training_input_batch(data, pad)
    cfg = SkyRLTrainConfig()
    cfg.trainer.algorithm.advantage_estimator = name
    trainer = types.SimpleNamespace(cfg=cfg, all_metrics={})
    out = RayPPOTrainer.compute_advantages_and_returns(trainer, data)
    return out["advantages"][:n], out["response_mask"][:n], rewards


def composed(rule, u, x, mask, uids, ids_rows, width, step):
    """The library's functions on the same sets, the ids right-aligned as SkyRL lays them out.

    In the encoding a candidate owns the tokens after the previous mark up to
    its own: a token of no candidate before a candidate (the preamble) counts
    as the next candidate's."""
    ids = np.full((len(ids_rows), width), -1)
    rmask = np.zeros((len(ids_rows), width), dtype=bool)
    for i, row in enumerate(ids_rows):
        owner = list(row)
        for t in range(len(owner) - 2, -1, -1):
            if owner[t] < 0 and owner[t + 1] >= 0:
                owner[t] = owner[t + 1]
        ids[i, width - len(row):] = owner
        rmask[i, width - len(row):] = True
    cand = rule.advantages(u, x, uids, mask=mask, step=step, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(ss.value(u, x, mask=mask), uids, **ss.grpo.PRESETS["verl"])
    return ss.grpo.token_advantages(cand, sa, ids, rmask, candidate_mask=mask)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_skyrl_trainer_step_gives_the_rules_candidate_advantages(rule):
    name = "shapley_test_" + rule.name.replace(" ", "_")
    sk.register(name, rule, replace=True)
    try:
        rng = np.random.default_rng(0)
        for step in range(3):  # one call per training step: a beta schedule moves
            u, x, mask, uids, ids_rows, rows = generated_batch(rule, rng)
            adv, response_mask, rewards = skyrl_advantages(name, uids, rows, pad=step)
            want = composed(rule, u, x, mask, uids, ids_rows, adv.shape[1], step)
            np.testing.assert_allclose(adv.numpy(), want, rtol=1e-5, atol=1e-5)
            assert torch.all(adv[response_mask == 0] == 0)
            # SkyRL logs the row sums: the set rewards (the Shapley form: R - U(∅), 0 for BestOf)
            np.testing.assert_allclose(rewards.sum(1).numpy(), ss.value(u, x, mask=mask), rtol=1e-6)
    finally:
        AdvantageEstimatorRegistry.unregister(name)


def test_a_credit_float32_would_round_to_zero_still_marks_its_candidate():
    rule = ss.grpo.RECOMMENDED_RULE
    row = sk.response_token_rewards([1e-50, 0.4], [0, 1, -1], set_reward=0.5, rule=rule)
    assert row[0] == 0 and np.signbit(row[0]) and row[1] == 0.4
    _, _, rewards = skyrl_advantages("grpo", ["a"], [row])  # SkyRL's own conversion keeps the mark
    assert torch.signbit(rewards[0, 0]) and rewards[0, 1] == np.float32(0.4)


def test_mistakes_are_named():
    rule = ss.grpo.RECOMMENDED_RULE
    with pytest.raises(ValueError, match="owns the response's last token"):
        sk.response_token_rewards([0.3, 0.2], [0, 1, 1], set_reward=0.5, rule=rule)
    with pytest.raises(ValueError, match="needs set_reward"):
        sk.response_token_rewards([0.3, 0.2], [0, 1, -1], rule=rule)
    with pytest.raises(ValueError, match="contiguous span"):
        sk.response_token_rewards([0.3, 0.2], [0, 1, 0, -1], set_reward=0.5, rule=rule)
    with pytest.raises(TypeError, match="CreditRule"):
        sk.ShapleyEstimator("loo")
    with pytest.raises(ValueError, match="one of SkyRL's own estimators"):
        sk.register("grpo")
    sk.register("shapley_twice")
    try:
        with pytest.raises(ValueError, match="already has an advantage estimator 'shapley_twice'"):
            sk.register("shapley_twice")
    finally:
        AdvantageEstimatorRegistry.unregister("shapley_twice")
    with pytest.raises(ValueError, match="index"):
        sk.ShapleyEstimator()(token_level_rewards=torch.zeros(2, 3), response_mask=torch.ones(2, 3))
    cfg = SkyRLTrainConfig()
    cfg.trainer.algorithm.use_kl_in_reward = True
    with pytest.raises(ValueError, match="use_kl_in_reward"):
        sk.ShapleyEstimator()(token_level_rewards=torch.zeros(2, 3), response_mask=torch.ones(2, 3),
                              index=["a", "a"], config=cfg.trainer.algorithm)


def test_the_estimator_pickles_with_its_rule():
    # how SkyRL's registry hands estimators to other Ray processes (pickle without cloudpickle)
    from skyrl.backends.skyrl_train.utils.ppo_utils import cloudpickle

    rule = ss.grpo.CreditRule("banzhaf", beta=0.5)
    copy = cloudpickle.loads(cloudpickle.dumps(sk.ShapleyEstimator(rule, step_offset=3)))
    assert copy.rule == rule and copy.step_offset == 3


def test_skyrl_grpo_is_the_verl_preset():
    from skyrl.backends.skyrl_train.utils.ppo_utils import compute_grpo_outcome_advantage

    rng = np.random.default_rng(5)
    rewards = rng.random(9)
    uids = ["a", "b", "a", "c", "b", "a", "b", "b", "d"]  # groups of 3, 4, 1 and 1 responses
    tlr = torch.zeros(9, 3)
    tlr[:, -1] = torch.tensor(rewards, dtype=torch.float32)
    theirs, _ = compute_grpo_outcome_advantage(tlr, torch.ones(9, 3), np.array(uids))
    ours = ss.grpo.set_advantages(tlr[:, -1].double().numpy(), uids, **ss.grpo.PRESETS["verl"])
    np.testing.assert_allclose(theirs[:, 0].numpy(), ours, rtol=1e-5, atol=1e-6)
