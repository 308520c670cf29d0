"""shapley_sets.integrations.verl through verl's own registry and call path (CPU)."""

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
torch = pytest.importorskip("torch", reason="torch is not installed")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.config import AlgoConfig  # noqa: E402
from verl.trainer.ppo import core_algos  # noqa: E402
from verl.trainer.ppo.ray_trainer import compute_advantage  # noqa: E402


def _batch(seed, n_groups=4, g=4, k=3, t=12, singleton=False):
    """Layout-A batch: shuffled uids, random masks, candidates in contiguous spans."""
    rng = np.random.default_rng(seed)
    n = n_groups * g
    x = rng.random((n, k)).round(2)
    x[rng.random((n, k)) < 0.2] = 0.0  # exact zeros must survive the encoding
    present = rng.random((n, k)) < 0.8
    present[:, 0] = True
    uids = np.array([f"uid-{i // g}" for i in range(n)], dtype=object)[rng.permutation(n)]
    if singleton:
        uids[0] = "alone"
    lengths = rng.integers(t // 2, t + 1, size=n)
    rmask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.float32)
    ids = np.full((n, t), -1, dtype=np.int64)
    for i in range(n):
        members = np.flatnonzero(present[i])
        span = (lengths[i] - 1) // len(members)
        for j, c in enumerate(members):
            ids[i, j * span : (j + 1) * span] = j  # candidate ids are renumbered 0..K_g-1
    xs = np.zeros((n, k))
    for i in range(n):
        m = np.flatnonzero(present[i])
        xs[i, : len(m)] = x[i, m]
    pmask = np.arange(k)[None, :] < present.sum(1)[:, None]
    return xs, pmask, uids, ids, rmask


def _encoded(u, xs, pmask, ids, rmask):
    phi = ss.shapley(u, xs, mask=pmask)
    return sv.encode_token_rewards(phi, ids, rmask), phi


def test_registered_in_verl_registry():
    assert sv.register() == ("shapley_grpo", "shapley_completion")
    assert sv.register() == sv.ESTIMATORS  # idempotent
    assert core_algos.get_adv_estimator_fn("shapley_grpo") is sv.shapley_grpo_advantage
    assert core_algos.get_adv_estimator_fn("shapley_completion") is sv.shapley_completion_advantage


def test_importing_the_package_does_not_import_verl():
    code = (
        "import sys, shapley_sets, shapley_sets.integrations, shapley_sets.grpo;"
        "bad = [m for m in ('verl', 'trl', 'torch', 'transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_encode_decode_roundtrip_keeps_zero_values():
    xs, pmask, uids, ids, rmask = _batch(0)
    tlr, phi = _encoded(ss.BestOf(), xs, pmask, ids, rmask)
    assert tlr.dtype == torch.float32
    dphi, dpresent, dids = sv.decode_token_rewards(tlr, rmask)
    k = dphi.shape[1]
    np.testing.assert_array_equal(dpresent, pmask[:, :k])
    np.testing.assert_allclose(dphi, np.where(pmask, phi, 0)[:, :k].astype(np.float32), rtol=0, atol=0)
    # Tokens of a candidate decode to its id; tokens after the last candidate to -1.
    np.testing.assert_array_equal(dids[ids >= 0], ids[ids >= 0])
    # Row sums are the set rewards (U(∅) = 0), so verl's logged scores stay meaningful.
    np.testing.assert_allclose(tlr.sum(-1).numpy(), ss.value(ss.BestOf(), xs, mask=pmask), rtol=1e-6)


def test_encode_rejects_split_or_unordered_spans():
    with pytest.raises(ValueError, match="response 0: each candidate's tokens must form one contiguous span"):
        sv.encode_token_rewards([[1.0, 2.0]], [[0, 1, 0]])
    with pytest.raises(ValueError, match=r"found 5 at response 0, token 1"):
        sv.encode_token_rewards([[1.0, 2.0]], [[0, 5, 1]])


@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("singleton", [False, True])
def test_beta_zero_reproduces_verl_grpo(norm, singleton):
    xs, pmask, uids, ids, rmask = _batch(1, singleton=singleton)
    tlr, _ = _encoded(ss.AnySuccess(), xs, pmask, ids, rmask)
    rm = torch.from_numpy(rmask)
    cfg = AlgoConfig(adv_estimator="shapley_grpo", norm_adv_by_std_in_grpo=norm)
    sv.register(beta=0.0)
    try:
        ours, ret = core_algos.get_adv_estimator_fn("shapley_grpo")(
            token_level_rewards=tlr, response_mask=rm, config=cfg, index=uids
        )
    finally:
        sv.register(beta=1.0)
    theirs, _ = core_algos.compute_grpo_outcome_advantage(
        token_level_rewards=tlr, response_mask=rm, index=uids, norm_adv_by_std_in_grpo=norm
    )
    assert ours.dtype == torch.float32 and torch.equal(ours, ret)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_compute_advantage_on_a_dataproto_matches_the_composition():
    """verl's own ray_trainer.compute_advantage drives the estimator, options from the config."""
    xs, pmask, uids, ids, rmask = _batch(2)
    u = ss.BestOf()
    tlr, phi = _encoded(u, xs, pmask, ids, rmask)
    rm = torch.from_numpy(rmask)
    data = DataProto.from_dict(
        tensors={"token_level_rewards": tlr, "response_mask": rm}, non_tensors={"uid": uids}
    )
    cfg = {"adv_estimator": "shapley_grpo", "norm_adv_by_std_in_grpo": True,
           "shapley": {"beta": 0.5, "tau": "within"}}
    out = compute_advantage(data, adv_estimator="shapley_grpo", config=cfg)
    R = ss.value(u, xs, mask=pmask)
    cand = ss.grpo.candidate_advantages(R, phi, uids, beta=0.5, mask=pmask, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    expected = ss.grpo.token_advantages(cand, sa, ids, rmask)
    # Tokens between candidates decode to the next candidate; _batch leaves no such gaps.
    np.testing.assert_allclose(out.batch["advantages"].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert torch.equal(out.batch["advantages"], out.batch["returns"])
    assert (out.batch["advantages"][rm == 0] == 0).all()


def test_beta_schedule_follows_the_estimators_calls():
    xs, pmask, uids, ids, rmask = _batch(5)
    u = ss.BestOf()
    tlr, phi = _encoded(u, xs, pmask, ids, rmask)
    rm = torch.from_numpy(rmask)
    R = ss.value(u, xs, mask=pmask)
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    cfg = {"shapley": {"beta": {"start": 2.0, "end": 0.0, "steps": 4}, "step_offset": 1}}
    sv._calls.pop("shapley_grpo", None)
    for call in range(4):
        ours, _ = sv.shapley_grpo_advantage(tlr, rm, uids, cfg)
        beta = max(2.0 - 0.5 * (call + 1), 0.0)  # step = offset + calls so far
        cand = ss.grpo.candidate_advantages(R, phi, uids, beta=beta, mask=pmask, **ss.grpo.PRESETS["verl"])
        np.testing.assert_allclose(ours.numpy(), ss.grpo.token_advantages(cand, sa, ids, rmask), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="start, end, steps"):
        sv.shapley_grpo_advantage(tlr, rm, uids, {"shapley": {"beta": {"start": 1.0}}})


def test_each_call_is_one_step_of_the_beta_schedule_in_either_form():
    xs, pmask, uids, ids, rmask = _batch(5)
    tlr, _ = _encoded(ss.BestOf(), xs, pmask, ids, rmask)
    rm = torch.from_numpy(rmask)
    for form in ("shapley", "marginal"):
        cfg = {"shapley": {"beta": {"start": 2.0, "end": 0.0, "steps": 4}, "form": form}}
        sv._calls.pop("shapley_grpo", None)
        for call in range(3):
            sv.shapley_grpo_advantage(tlr, rm, uids, cfg)
            assert sv._calls["shapley_grpo"] == call + 1, form


def test_grpo_estimator_refuses_a_credit_or_gate_without_the_marginal_form():
    xs, pmask, uids, ids, rmask = _batch(6)
    tlr, _ = _encoded(ss.BestOf(), xs, pmask, ids, rmask)
    for section in ({"credit": "loo"}, {"gate": "spread"}, {"form": "shapley", "credit": "banzhaf"}):
        with pytest.raises(ValueError, match="runs the Shapley rule unless algorithm.shapley.form=marginal"):
            sv.shapley_grpo_advantage(tlr, torch.from_numpy(rmask), uids, {"shapley": section})


def test_grpo_estimator_refuses_kl_in_reward_and_missing_uid():
    xs, pmask, uids, ids, rmask = _batch(3)
    tlr, _ = _encoded(ss.BestOf(), xs, pmask, ids, rmask)
    with pytest.raises(ValueError, match="use_kl_in_reward"):
        sv.shapley_grpo_advantage(tlr, torch.from_numpy(rmask), uids,
                                  AlgoConfig(adv_estimator="shapley_grpo", use_kl_in_reward=True))
    with pytest.raises(ValueError, match="index"):
        sv.shapley_grpo_advantage(tlr, torch.from_numpy(rmask), None, None)
    with pytest.raises(ValueError, match="unknown keys"):
        sv.shapley_grpo_advantage(tlr, torch.from_numpy(rmask), uids, {"shapley": {"betta": 1}})


def test_completion_estimator_layout_b_through_compute_advantage():
    rng = np.random.default_rng(4)
    n, t, g = 12, 6, 4
    scores = rng.random(n).round(2).astype(np.float32)
    uids = np.array([f"p{i // g}" for i in range(n)], dtype=object)[rng.permutation(n)]
    lengths = rng.integers(2, t + 1, size=n)
    rm = torch.from_numpy((np.arange(t)[None, :] < lengths[:, None]).astype(np.float32))
    tlr = torch.zeros(n, t)
    tlr[torch.arange(n), torch.from_numpy(lengths - 1)] = torch.from_numpy(scores)
    data = DataProto.from_dict(tensors={"token_level_rewards": tlr, "response_mask": rm},
                               non_tensors={"uid": uids})
    for credit in (None, "shapley", "banzhaf", ["beta", 2, 3]):
        section = {"utility": "best_of", "utility_kwargs": {"floor": 0.1}}
        if credit is not None:
            section["credit"] = credit
        out = compute_advantage(data, adv_estimator="shapley_completion",
                                config={"norm_adv_by_std_in_grpo": True, "shapley": section})
        want = ss.grpo.RECOMMENDED_RULE.credit if credit is None else (
            tuple(credit) if isinstance(credit, list) else credit)
        expected = ss.grpo.completion_advantages(ss.BestOf(floor=0.1), scores, uids, credit=want,
                                                 **ss.grpo.PRESETS["verl"])
        np.testing.assert_allclose(out.batch["advantages"].numpy(), expected[:, None] * rm.numpy(),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="needs a set utility"):
        sv.shapley_completion_advantage(tlr, rm, uids, {"shapley": {}})


@pytest.mark.parametrize("norm", [True, False])
def test_passk_peer_matches_verl_grpo_passk(norm):
    rng = np.random.default_rng(5)
    n, t = 16, 5
    scores = rng.integers(0, 4, size=n).astype(np.float32) / 3
    uids = np.array([f"q{i % 4}" for i in range(n)], dtype=object)  # interleaved, as verl repeats
    tlr = torch.zeros(n, t)
    tlr[:, -1] = torch.from_numpy(scores)
    rm = torch.ones(n, t)
    cfg = AlgoConfig(adv_estimator="grpo_passk", norm_adv_by_std_in_grpo=norm)
    theirs, _ = core_algos.get_adv_estimator_fn("grpo_passk")(
        token_level_rewards=tlr, response_mask=rm, index=uids, config=cfg
    )
    ours = ss.grpo.grpo_passk_advantages(torch.from_numpy(scores), uids, scale="group" if norm else "none")
    torch.testing.assert_close(ours.unsqueeze(-1) * rm, theirs, rtol=1e-5, atol=1e-6)
