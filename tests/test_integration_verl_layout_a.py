"""verl layout A on the default (V1) reward path, with verl's own classes on CPU.

What runs here: verl's ``NaiveRewardManager.run_single`` (through our
subclass) on real ``DataProto`` items with a locally trained fast tokenizer;
the records it emits turned into ``rm_scores``; verl's ``compute_advantage``
calling ``shapley_grpo`` through the registry; the trainer classes in verl's
V1 trainer registry. The TransferQueue round trip of the trainer modes is
in ``test_integration_verl_v1_queue.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.ppo.ray_trainer import compute_advantage  # noqa: E402

CORPUS = ["Ideas:\n1. red apples\n2. blue sky\n3. café ☕ and naïve 日本語", "- a quick brown fox\n- jumps over"] * 30

RESPONSES = [
    "Ideas:\n1. red apples\n2. blue sky\n3. café ☕",
    "1. blue sky\n2.\n3. red",  # candidate 1 is empty: it leaves the set
    "1. café 日本語",
    "No list here.",
]


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[EOS]"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", eos_token="[EOS]")


def grade(item: str) -> float:
    return {"red": 0.9, "red apples": 0.8, "blue sky": 0.6}.get(item, 0.1)


def compute_score(data_source, solution_str, ground_truth, extra_info=None):
    spans = ss.grpo.candidate_spans([solution_str])[0]
    x = [grade(solution_str[s:e]) for s, e in spans]
    return {"score": max(x, default=0.0), "candidate_scores": x, "acc": 1.0}


def _config(**shapley):
    return OmegaConf.create({"algorithm": {"adv_estimator": "shapley_grpo", "norm_adv_by_std_in_grpo": True,
                                           "shapley": {"utility": "best_of", **shapley}}})


def _items(tokenizer, t=40, responses=RESPONSES):
    """One DataProto per response, as verl's reward loop hands them to run_single."""
    items, ids_all = [], []
    for text in responses:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids_all.append(ids)
        resp = torch.full((1, t), tokenizer.pad_token_id, dtype=torch.long)
        resp[0, : len(ids)] = torch.tensor(ids)
        att = torch.zeros(1, 2 + t, dtype=torch.long)
        att[0, : 2 + len(ids)] = 1
        items.append(DataProto.from_dict(
            tensors={"prompts": torch.zeros(1, 2, dtype=torch.long), "responses": resp, "attention_mask": att},
            non_tensors={"data_source": np.array(["lists"], dtype=object),
                         "reward_model": np.array([{"ground_truth": None}], dtype=object)},
        ))
    return items, ids_all


def _manager(tokenizer, compute=compute_score, **shapley):
    shapley.setdefault("spans", "numbered")
    return sv.ShapleyRewardManager(config=_config(**shapley), tokenizer=tokenizer, compute_score=compute)


def _run(manager, data):
    # verl's manager awaits executors of the event loop it was built with (verl's get_event_loop).
    return manager.loop.run_until_complete(manager.run_single(data))


def test_registered_as_reward_manager():
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    assert get_reward_manager_cls("shapley") is sv.ShapleyRewardManager


def test_run_single_emits_a_float_score_and_a_json_record(tokenizer):
    items, ids_all = _items(tokenizer)
    manager = _manager(tokenizer)
    out = [_run(manager, d) for d in items]
    for o in out:
        assert type(o["reward_score"]) is float  # the agent loop writes it on the last token
        assert o["reward_extra_info"]["acc"] == 1.0  # other keys pass through
        assert not set(sv.CANDIDATE_KEYS) & set(o["reward_extra_info"])
    recs = [json.loads(o["reward_extra_info"][sv.CANDIDATES_KEY]) for o in out]
    # Response 0: three items; the Shapley values are BestOf's over the graded items.
    np.testing.assert_allclose(recs[0]["phi"], ss.shapley(ss.BestOf(), np.array([0.8, 0.6, 0.1])), rtol=0, atol=1e-12)
    # Response 1: the empty item owns no token and leaves the set.
    assert len(recs[1]["phi"]) == 2
    np.testing.assert_allclose(recs[1]["phi"], ss.shapley(ss.BestOf(), np.array([0.6, 0.9])), atol=1e-12)
    assert recs[3] == {"phi": [], "ends": []}
    # Each candidate's last token is the last token of its text: decode the candidate's tokens.
    text0 = RESPONSES[0]
    spans0 = ss.grpo.candidate_spans([text0])[0]
    start = 0
    for (s, e), end in zip(spans0, recs[0]["ends"]):
        piece = tokenizer.decode(ids_all[0][start : end + 1])
        assert text0[s:e] in piece
        start = end + 1


def test_parser_from_the_config_and_explicit_spans_agree(tokenizer):
    items, _ = _items(tokenizer)

    def with_spans(data_source, solution_str, ground_truth, extra_info=None):
        out = compute_score(data_source, solution_str, ground_truth)
        out["candidate_spans"] = ss.grpo.candidate_spans([solution_str])[0]
        return out

    def without_spans(data_source, solution_str, ground_truth, extra_info=None):
        return compute_score(data_source, solution_str, ground_truth)

    a = [_run(_manager(tokenizer, with_spans, spans=None), d) for d in items]
    b = [_run(_manager(tokenizer, without_spans, spans="numbered"), d) for d in items]
    assert [o["reward_extra_info"][sv.CANDIDATES_KEY] for o in a] == [o["reward_extra_info"][sv.CANDIDATES_KEY] for o in b]


def test_records_reach_verls_advantage_step(tokenizer):
    """rm_scores rewritten from the records, then verl's compute_advantage -> shapley_grpo."""
    items, ids_all = _items(tokenizer)
    out = [_run(_manager(tokenizer), d) for d in items]
    records = [o["reward_extra_info"][sv.CANDIDATES_KEY] for o in out]
    n, t = len(items), items[0].batch["responses"].shape[1]
    lengths = torch.tensor([len(i) for i in ids_all])
    rm = torch.zeros(n, t)  # what the agent loop wrote: the score on the last token
    rm[torch.arange(n), lengths - 1] = torch.tensor([o["reward_score"] for o in out])
    mask = (torch.arange(t)[None, :] < lengths[:, None]).float()
    scores = sv.rm_scores_from_records(rm, lengths, records)
    uids = np.array(["p", "p", "p", "p"], dtype=object)
    data = DataProto.from_dict(tensors={"token_level_rewards": scores, "response_mask": mask},
                               non_tensors={"uid": uids})
    cfg = {"norm_adv_by_std_in_grpo": True, "shapley": {"beta": 0.5}}
    adv = compute_advantage(data, adv_estimator="shapley_grpo", config=cfg).batch["advantages"]

    # The same advantages straight from the library.
    recs = [json.loads(r) for r in records]
    k = max(len(r["phi"]) for r in recs)
    phi = np.zeros((n, k))
    present = np.zeros((n, k), dtype=bool)
    ids = np.full((n, t), -1)
    for i, r in enumerate(recs):
        phi[i, : len(r["phi"])] = r["phi"]
        present[i, : len(r["phi"])] = True
        start = 0
        for c, e in enumerate(r["ends"]):
            ids[i, start : e + 1] = c
            start = e + 1
    R = phi.sum(1)  # the set reward is U(candidates): 0 = U(empty set) for the response without a list
    cand = ss.grpo.candidate_advantages(R, phi, uids, beta=0.5, mask=present, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    expected = ss.grpo.token_advantages(cand, sa, ids, mask.numpy())
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-6)
    # Candidates of one response differ: the credit reached the tokens.
    row0 = adv[0, : lengths[0]].numpy()
    assert len(np.unique(row0.round(6))) >= 3


@pytest.mark.parametrize(
    "result, message",
    [
        ({"score": 1.0, "candidate_scores": [1.0], "shapley_values": [1.0]}, "exactly one of"),
        ({"score": 1.0, "candidate_scores": [1.0], "candidate_spans": [(0, 1)], "candidate_ends": [0]}, "not both"),
        ({"score": 1.0, "candidate_scores": [1.0, 0.5], "candidate_ends": [3]}, "2 candidate values but 1"),
        ({"score": 1.0, "candidate_scores": [1.0, 0.5], "candidate_ends": [3, 1]}, "must increase"),
        ({"score": 1.0, "candidate_scores": [1.0]}, "no parser is configured"),
        ({"score": 1.0, "shapley_values": [0.5, 0.5], "candidate_spans": [(0, 2), (9, 9)]}, r"candidates \[1\] own no"),
        ({"score": 1.0, "candidate_scores": [float("nan")], "candidate_ends": [0]}, "must be finite"),
    ],
)
def test_candidate_record_errors(tokenizer, result, message):
    ids = tokenizer("1. red", add_special_tokens=False)["input_ids"]
    with pytest.raises(ValueError, match=message):
        sv.candidate_record(result, ids, "1. red", tokenizer, {"shapley": {"utility": "best_of"}})


def test_scores_need_a_utility(tokenizer):
    with pytest.raises(ValueError, match="needs a set utility"):
        sv.candidate_record({"candidate_scores": [1.0], "candidate_ends": [0]}, [5], "x", tokenizer, {})


@pytest.mark.parametrize("record", [
    '{"phi": [1.0], "ends": [3]}',              # past the response
    '{"phi": [1.0, 2.0], "ends": [1, 1]}',      # not increasing
    '{"phi": [1.0, 2.0], "ends": [1]}',         # counts differ
    '{"phi": [NaN], "ends": [0]}',              # not finite
    '{"phi": [1.0], "ends": [-1]}',
])
def test_rm_scores_from_records_rejects_records_that_do_not_fit(record):
    good = '{"phi": [0.5, 0.5], "ends": [0, 1]}'
    with pytest.raises(ValueError, match="response 1: candidate record"):
        sv.rm_scores_from_records(torch.zeros(3, 4), [4, 2, 4], [good, record, None])


@pytest.mark.parametrize("record, why", [
    ('{"phi": [1.0], "ends": [0]', "is not valid JSON"),
    ('{"phi": [1.0]}', 'an object with lists "phi" and "ends"'),
    ("[1, 2]", 'an object with lists "phi" and "ends"'),
    (5, 'an object with lists "phi" and "ends"'),
    ('{"phi": ["a"], "ends": [0]}', '"phi" must hold numbers'),
    ('{"phi": [1.0], "ends": [0.5]}', r'"ends" must hold token positions \(ints\)'),  # not truncated to 0
    ('{"phi": 1.0, "ends": [0]}', '"phi" and "ends" must be lists'),
    ('{"phi": [1.0], "ends": [0], "reward": "high"}', '"reward" must be a number'),
])
def test_rm_scores_from_records_names_a_malformed_record(record, why):
    good = '{"phi": [0.5, 0.5], "ends": [0, 1]}'
    with pytest.raises(ValueError, match=rf"response 1: candidate record .* {why}"):
        sv.rm_scores_from_records(torch.zeros(3, 4), [4, 2, 4], [good, record, None])


def test_rm_scores_from_records_checks_counts_and_lengths():
    good = '{"phi": [0.5, 0.5], "ends": [0, 1]}'
    with pytest.raises(ValueError, match="rm_scores has 3 rows, got 2 records and 3 lengths"):
        sv.rm_scores_from_records(torch.zeros(3, 4), [4, 2, 4], [good, None])
    with pytest.raises(ValueError, match=r"response 2 has length 9, outside 0..4"):
        sv.rm_scores_from_records(torch.zeros(3, 4), [4, 2, 9], [good, None, None])
    with pytest.raises(ValueError, match="response 0 has length 5, more than width=3"):
        sv.completion_rm_scores([5, 2], [0.5, 0.1], width=3)


def test_encode_and_decode_refuse_what_they_cannot_read():
    with pytest.raises(ValueError, match="response_mask must be boolean or hold only 0 and 1 .* at response 0, token 1"):
        sv.encode_token_rewards([[1.0]], [[0, 0]], [[1, 0.5]])
    with pytest.raises(ValueError, match="shapley_values is ragged"):
        sv.encode_token_rewards([[1.0, 2.0], [1.0]], [[0, 1], [0, -1]])
    with pytest.raises(ValueError, match="token_level_rewards is ragged"):
        sv.decode_token_rewards([[1.0, 2.0], [1.0]])
    with pytest.raises(ValueError, match=r"token_level_rewards must be finite; found nan at response 0, token 1"):
        sv.decode_token_rewards(torch.tensor([[0.0, float("nan")]]))


@pytest.mark.skipif(importlib.util.find_spec("transfer_queue") is None,
                    reason="verl's V1 trainer needs transfer_queue (pip install 'shapley-sets[verl]')")
def test_trainer_modes_in_verls_v1_registry():
    import shapley_sets.integrations.verl_trainer as vt
    from verl.trainer.ppo.v1 import PPOTrainerSync, get_trainer_cls

    for mode in vt.TRAINER_MODES:
        cls = get_trainer_cls(mode)
        assert issubclass(cls, vt.ShapleyCandidatesMixin)
    assert issubclass(get_trainer_cls("shapley_sync"), PPOTrainerSync)
    assert get_trainer_cls("shapley_sync")._compute_advantage is vt.ShapleyCandidatesMixin._compute_advantage


def _plugin_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.value == "shapley_sets.integrations.verl_plugin" for ep in entry_points(group="verl.plugins"))


@pytest.mark.skipif(not _plugin_installed(),
                    reason="the shapley-sets distribution is not installed (pip install -e .): no verl.plugins entry point")
def test_verl_loads_the_plugin_in_a_fresh_process():
    code = (
        "import sys\n"
        "import verl\n"  # verl's own plugin loading; nothing of ours imported first
        "assert 'shapley_sets.integrations.verl_plugin' in sys.modules, 'plugin not loaded'\n"
        "from verl.trainer.ppo.core_algos import get_adv_estimator_fn\n"
        "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
        "import shapley_sets.integrations.verl as sv\n"
        "assert get_adv_estimator_fn('shapley_grpo') is sv.shapley_grpo_advantage\n"
        "assert get_adv_estimator_fn('shapley_completion') is sv.shapley_completion_advantage\n"
        "assert get_reward_manager_cls('shapley') is sv.ShapleyRewardManager\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('transfer_queue'):\n"
        "    from verl.trainer.ppo.v1 import get_trainer_cls\n"
        "    assert get_trainer_cls('shapley_sync').__name__ == 'ShapleyPPOTrainerSync'\n"
    )
    # From a directory outside the checkout, so only the installed distribution can provide the plugin.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VERL_USE_EXTERNAL_PLUGINS")}
    env["PYTHONWARNINGS"] = "ignore"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=os.path.dirname(sys.executable))


def test_rm_scores_from_records_is_the_encoding():
    rm = torch.tensor([[0.0, 0.0, 0.0, 0.7], [0.0, 0.4, 0.0, 0.0]])
    out = sv.rm_scores_from_records(rm, [4, 2], ['{"phi": [0.0, 0.5], "ends": [1, 3]}', None])
    assert torch.equal(out[0], sv.encode_token_rewards([[0.0, 0.5]], [[0, 0, 1, 1]])[0])
    assert torch.signbit(out[0, 1]) and out[0, 1] == 0  # an exact 0 still marks its candidate
    assert torch.equal(out[1], rm[1])  # no record: verl's scalar stays
    phi, present, ids = sv.decode_token_rewards(out, torch.ones(2, 4))
    assert present[0].tolist() == [True, True] and ids[0].tolist() == [0, 0, 1, 1]
    # a value float32 rounds to 0 marks its candidate too (it merged into the next one)
    tiny = sv.rm_scores_from_records(torch.zeros(1, 4), [4], [{"phi": [1e-50, 0.4], "ends": [0, 2]}])
    assert torch.equal(tiny, sv.encode_token_rewards([[1e-50, 0.4]], [[0, 1, 1, -1]]))
    assert torch.signbit(tiny[0, 0]) and sv.decode_token_rewards(tiny)[2].tolist() == [[0, 1, 1, -1]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool, torch.int64, torch.float64])
def test_estimator_reads_any_mask_dtype_and_many_candidates(dtype):
    # 3 responses of one prompt; one holds 100 candidates (more than the first read's 64 columns).
    t = 130
    rng = np.random.default_rng(3)
    ids = np.full((3, t), -1)
    ids[0, :100] = np.arange(100)
    ids[1, 5:20] = np.repeat(np.arange(3), 5)
    ids[2, :10] = 0
    phi = rng.random((3, 100)).round(3)
    phi[0, 7] = 0.0
    lengths = np.array([120, 25, 130])
    mask = np.arange(t)[None, :] < lengths[:, None]
    tlr = sv.encode_token_rewards(phi, ids, mask)
    uids = np.array(["a", "a", "a"], dtype=object)
    ref, _ = sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask.astype(np.float32)), index=uids)
    got, _ = sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask).to(dtype), index=uids)
    assert torch.equal(got, ref)
    dphi, present, dec = sv.decode_token_rewards(tlr, mask)  # the float32 values that travelled
    assert present.sum(1).tolist() == [100, 3, 1]
    R = dphi.sum(1)
    cand = ss.grpo.candidate_advantages(R, dphi, uids, mask=present, efficiency_rtol=None, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    # Tokens up to each mark belong to its candidate (the encoding credits a gap to the next one).
    expected = ss.grpo.token_advantages(cand, sa, dec, mask).astype(np.float32)
    np.testing.assert_array_equal(ref.numpy(), expected)


class _OffsetsTokenizer:
    """A tokenizer whose offsets are given: adversarial (non-monotone) offsets."""

    def __init__(self, ids, offsets):
        self.ids, self.offsets = ids, offsets

    def __call__(self, text, add_special_tokens=False, return_offsets_mapping=True):
        return {"input_ids": self.ids, "offset_mapping": self.offsets}


def test_candidate_record_rejects_interleaved_candidates():
    # tokens 0..3 cover candidate A, B, A, B: non-monotone offsets interleave them
    tok = _OffsetsTokenizer([1, 2, 3, 4], [(0, 2), (4, 6), (2, 4), (6, 8)])
    result = {"candidate_scores": [0.5, 0.7], "candidate_spans": [(0, 4), (4, 8)]}
    with pytest.raises(ValueError, match="tokens interleave"):
        sv.candidate_record(result, [1, 2, 3, 4], "abcdefgh", tok, {"shapley": {"utility": "best_of"}})


def test_offsets_of_a_non_canonical_tokenisation_come_from_the_prefixes(tokenizer):
    from shapley_sets.integrations._offsets import response_offsets

    # "red" generated one byte-level character at a time: re-tokenising gives other ids.
    ids = tokenizer.convert_tokens_to_ids(["r", "e", "d", "Ġ", "s", "ky", "[EOS]"])
    text = tokenizer.decode(ids, skip_special_tokens=True)
    assert text == "red sky"
    assert tokenizer(text, add_special_tokens=False)["input_ids"] != ids
    got = response_offsets(tokenizer, ids, text)
    assert got.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 7], [7, 7]]
    # The same tokens, canonically tokenised, take the re-tokenising path.
    canon = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert [text[a:b] for a, b in response_offsets(tokenizer, canon, text)] == tokenizer.batch_decode(
        [[c] for c in canon])
