"""shapley_sets.integrations.trl: real TRL GRPOTrainer steps on a tiny local model (CPU, offline)."""

import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("trl", reason="trl is not installed (pip install 'shapley-sets[trl]')")
torch = pytest.importorskip("torch", reason="torch is not installed")

import shapley_sets as ss  # noqa: E402
from datasets import Dataset  # noqa: E402
from shapley_sets.integrations.trl import CandidateReward, ShapleyGRPOTrainer  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from trl import GRPOConfig  # noqa: E402


WORDS = ["<pad>", "<eos>", "<unk>", "user", ":"] + [f"w{i}" for i in range(59)]
G = 4


def _tokenizer():
    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>",
                                   unk_token="<unk>", padding_side="left")


def _model(seed):
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      pad_token_id=0, eos_token_id=1, bos_token_id=None, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 1
    return model


def _score(token_id):
    return (token_id % 7) / 6.0  # a score in [0, 1] per token, with ties and zeros


def reward_mean(completion_ids, **kwargs):
    return [float(np.mean([_score(t) for t in ids])) if ids else 0.0 for ids in completion_ids]


def _train(tmp_path, reward_funcs, scale_rewards="group", seed=0, **kw):
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=8, num_generations=G,
                      max_completion_length=6, use_cpu=True, bf16=False, fp16=False, report_to="none",
                      save_strategy="no", dataloader_num_workers=0, temperature=1.0, beta=0.0, seed=seed,
                      scale_rewards=scale_rewards, logging_steps=1)
    ds = Dataset.from_dict({"prompt": [f"user : w{i} w{i + 1}" for i in range(8)]})
    trainer = ShapleyGRPOTrainer(model=_model(seed), reward_funcs=reward_funcs, args=args, train_dataset=ds,
                                 processing_class=_tokenizer(), **kw)
    out = trainer.train()
    assert np.isfinite(out.training_loss)
    return trainer


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_grpo_layout_reproduces_trls_own_advantages(tmp_path, scale):
    trainer = _train(tmp_path, reward_mean, scale_rewards=scale, layout="grpo")
    ours, theirs = trainer.last_advantages, trainer.last_trl_advantages
    assert ours.shape == theirs.shape == (8,)
    assert theirs.abs().max() > 0  # the rewards differ, so the comparison means something
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rule", [None, ss.grpo.CreditRule("shapley", "shapley")], ids=["recommended", "shapley"])
def test_completions_layout_is_completion_advantages_of_the_gathered_rewards(tmp_path, rule):
    trainer = _train(tmp_path, reward_mean, layout="completions", utility=ss.BestOf(), rule=rule)
    credit = (rule or ss.grpo.RECOMMENDED_RULE).credit
    rewards = trainer._gathered_rewards[:, 0].double().numpy()
    expected = ss.grpo.completion_advantages(ss.BestOf(), rewards, G, credit=credit, **ss.grpo.PRESETS["trl"])
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(trainer.last_advantages.numpy(), expected, rtol=1e-5, atol=1e-6)


def reward_mean_or_none(completion_ids, **kwargs):
    # Unscorable (None) for every third completion: TRL marks its reward NaN.
    return [None if i % 3 == 1 else r for i, r in enumerate(reward_mean(completion_ids))]


def test_completions_layout_leaves_unscorable_completions_out(tmp_path):
    trainer = _train(tmp_path, reward_mean_or_none, layout="completions", utility=ss.BestOf())
    rewards = trainer._gathered_rewards[:, 0].double().numpy()
    missing = np.isnan(rewards)
    assert missing.any() and not missing.all()
    expected = ss.grpo.completion_advantages(
        ss.BestOf(), rewards, G, credit=ss.grpo.RECOMMENDED_RULE.credit, **ss.grpo.PRESETS["trl"]
    )
    got = trainer.last_advantages.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert np.all(got[missing] == 0.0)


def _tokens_as_candidates(prompt, completion, completion_ids, **row):
    # Candidate = each non-EOS token of the completion; the EOS token belongs to no candidate.
    content = [t for t in completion_ids if t != 1]
    return [_score(t) for t in content], [k if t != 1 else -1 for k, t in enumerate(completion_ids)]


def _candidate_inputs(records, width):
    x = np.zeros((8, 6))
    mask = np.zeros((8, 6), dtype=bool)
    ids = np.full((8, width), -1)
    for i, (s, tok) in enumerate(records):
        x[i, : len(s)], mask[i, : len(s)] = s, True
        ids[i, : len(tok)] = tok
    return x, mask, ids


def test_candidates_layout_gives_token_advantages(tmp_path):
    reward = CandidateReward(ss.BestOf(), _tokens_as_candidates)
    trainer = _train(tmp_path, [reward], layout="candidates", rule=ss.grpo.CreditRule("shapley", "shapley"),
                     beta=0.5)
    adv = trainer.last_advantages
    assert adv.ndim == 2 and adv.shape[0] == 8
    records = reward.last
    x, mask, ids = _candidate_inputs(records, adv.shape[1])
    R = ss.value(ss.BestOf(), x, mask=mask)
    np.testing.assert_array_equal(reward.last_values, R)  # the set values the Shapley form reuses
    bx, bmask = reward.last_batch  # the padded batch the trainer reuses in one process
    np.testing.assert_array_equal(bmask.sum(axis=1), [len(s) for s, _ in records])
    np.testing.assert_array_equal(bx[bmask], x[mask])
    cand = ss.grpo.candidate_advantages(R, ss.shapley(ss.BestOf(), x, mask=mask), G, beta=0.5, mask=mask,
                                        **ss.grpo.PRESETS["trl"])
    sa = ss.grpo.set_advantages(R, G, **ss.grpo.PRESETS["trl"])
    lengths = [len(tok) for _, tok in records]
    rmask = np.arange(adv.shape[1])[None, :] < np.array(lengths)[:, None]
    expected = ss.grpo.token_advantages(cand, sa, ids, rmask)
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-5)
    # β = 0 would give every token TRL's own advantage of its completion.
    torch.testing.assert_close(torch.from_numpy(sa.astype(np.float32)), trainer.last_trl_advantages,
                               rtol=1e-5, atol=1e-5)


def test_candidates_layout_default_is_the_recommended_rule_with_a_beta_schedule(tmp_path):
    steps_seen = []

    def beta(step):
        steps_seen.append(step)
        return 0.75

    reward = CandidateReward(ss.BestOf(), _tokens_as_candidates)
    trainer = _train(tmp_path, [reward], layout="candidates", beta=beta)
    assert trainer.shapley_rule.credit == ss.grpo.RECOMMENDED_RULE.credit
    assert trainer.shapley_rule.form == ss.grpo.RECOMMENDED_RULE.form
    assert trainer.shapley_rule.gate == ss.grpo.RECOMMENDED_RULE.gate
    assert steps_seen == [0]  # one generation batch, at global step 0
    adv = trainer.last_advantages
    x, mask, ids = _candidate_inputs(reward.last, adv.shape[1])
    R = ss.value(ss.BestOf(), x, mask=mask)
    credits = ss.semivalue(ss.BestOf(), x, ss.grpo.RECOMMENDED_RULE.credit, mask=mask)
    cand = ss.grpo.credit_advantages(
        R, credits, G, beta=0.75, gate=ss.grpo.RECOMMENDED_RULE.gate, mask=mask, **ss.grpo.PRESETS["trl"]
    )
    sa = ss.grpo.set_advantages(R, G, **ss.grpo.PRESETS["trl"])
    lengths = [len(tok) for _, tok in reward.last]
    rmask = np.arange(adv.shape[1])[None, :] < np.array(lengths)[:, None]
    expected = ss.grpo.token_advantages(cand, sa, ids, rmask)
    assert not np.allclose(expected, ss.grpo.token_advantages(np.repeat(sa[:, None], 6, 1), sa, ids, rmask))
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_candidates_layout_beta_zero_is_trls_advantage_on_every_token(tmp_path):
    reward = CandidateReward(ss.AnySuccess(), _tokens_as_candidates)
    trainer = _train(tmp_path, [reward], layout="candidates", beta=0.0, seed=1)
    adv, theirs = trainer.last_advantages, trainer.last_trl_advantages
    lengths = torch.tensor([len(tok) for _, tok in reward.last])
    valid = torch.arange(adv.shape[1])[None, :] < lengths[:, None]
    torch.testing.assert_close(adv, theirs[:, None] * valid, rtol=1e-5, atol=1e-5)


def test_configuration_errors(tmp_path):
    with pytest.raises(ValueError, match="needs a set utility"):
        _train(tmp_path, reward_mean, layout="completions")
    with pytest.raises(ValueError, match="exactly one CandidateReward"):
        _train(tmp_path, reward_mean, layout="candidates")
    with pytest.raises(ValueError, match="layout must be one of"):
        _train(tmp_path, reward_mean, layout="tokens")
    with pytest.raises(TypeError, match="rule must be a shapley_sets.grpo.CreditRule"):
        _train(tmp_path, reward_mean, layout="grpo", rule="loo")
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        _train(tmp_path, reward_mean, layout="grpo", beta=-1.0)
    with pytest.raises(TypeError, match=r"pass ss.BestOf\(\), not ss.BestOf \(the class\)"):
        _train(tmp_path, reward_mean, layout="completions", utility=ss.BestOf)
    # found before TRL loads the model: none is given here
    with pytest.raises(ValueError, match="exactly one CandidateReward among reward_funcs, found 0"):
        ShapleyGRPOTrainer(model=None, reward_funcs=[reward_mean], layout="candidates")


def _tokens_as_candidates_two_types(prompt, completion, completion_ids, **row):
    # Two user types score each non-EOS token: (2, K) with the candidates on the last axis.
    scores, tokens = _tokens_as_candidates(prompt, completion, completion_ids, **row)
    s = np.asarray(scores)
    return np.stack([s, 1.0 - s]), tokens


def test_candidates_layout_takes_a_utility_of_several_scores_per_candidate(tmp_path):
    utility = ss.ExpectedBest([0.7, 0.3])
    reward = CandidateReward(utility, _tokens_as_candidates_two_types)
    trainer = _train(tmp_path, [reward], layout="candidates", rule=ss.grpo.CreditRule("shapley", "shapley"),
                     beta=0.5)
    records = reward.last
    x = np.zeros((8, 2, 6))
    mask = np.zeros((8, 6), dtype=bool)
    ids = np.full((8, trainer.last_advantages.shape[1]), -1)
    for i, (s, tok) in enumerate(records):
        assert s.shape == (2, int((np.asarray(tok) >= 0).sum()))
        x[i, :, : s.shape[1]], mask[i, : s.shape[1]] = s, True
        ids[i, : len(tok)] = tok
    R = ss.value(utility, x, mask=mask)
    np.testing.assert_allclose(trainer._gathered_rewards[:, 0].double().numpy(), R, rtol=1e-6)
    cand = ss.grpo.candidate_advantages(R, ss.shapley(utility, x, mask=mask), G, beta=0.5, mask=mask,
                                        **ss.grpo.PRESETS["trl"])
    sa = ss.grpo.set_advantages(R, G, **ss.grpo.PRESETS["trl"])
    rmask = np.arange(ids.shape[1])[None, :] < np.array([len(t) for _, t in records])[:, None]
    expected = ss.grpo.token_advantages(cand, sa, ids, rmask)
    np.testing.assert_allclose(trainer.last_advantages.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_trls_own_trainer_gets_the_warning(tmp_path):
    from trl import GRPOTrainer

    args = GRPOConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=8, num_generations=G,
                      max_completion_length=6, use_cpu=True, bf16=False, fp16=False, report_to="none",
                      save_strategy="no", dataloader_num_workers=0, beta=0.0, seed=0, logging_steps=1)
    ds = Dataset.from_dict({"prompt": [f"user : w{i} w{i + 1}" for i in range(8)]})
    reward = CandidateReward(ss.BestOf(), _tokens_as_candidates)
    trainer = GRPOTrainer(model=_model(0), reward_funcs=[reward], args=args, train_dataset=ds,
                          processing_class=_tokenizer())
    with pytest.warns(UserWarning, match="called by a trainer other than ShapleyGRPOTrainer"):
        trainer.train()


def test_candidate_reward_warns_once_in_another_trainer(tmp_path):
    # TRL's own GRPOTrainer (which passes trainer_state) would take only its set
    # rewards: plain GRPO, said once; a call of one's own says nothing
    reward = CandidateReward(ss.BestOf(), _tokens_as_candidates)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reward(prompts=["p"], completions=["a b"], completion_ids=[[3, 7]]) == [0.5]
    with pytest.warns(UserWarning, match="called by a trainer other than ShapleyGRPOTrainer"):
        reward(prompts=["p"], completions=["a b"], completion_ids=[[3, 7]], trainer_state=object())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reward(prompts=["p"], completions=["a b"], completion_ids=[[3, 7]], trainer_state=object())
    claimed = CandidateReward(ss.BestOf(), _tokens_as_candidates)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _train(tmp_path, [claimed], layout="grpo")  # the trainer reads it: an explicit choice, no warning
    assert claimed.trainer_layout == "grpo"


def test_candidate_reward_names_the_completion_with_scores_of_the_wrong_shape():
    reward = CandidateReward(ss.ExpectedBest([0.5, 0.5]), lambda p, c, ids, **row: ([0.1, 0.2], [0, 1]))
    with pytest.raises(ValueError, match="completion 0: candidate_fn returned scores of shape"):
        reward(prompts=["p"], completions=["a b"], completion_ids=[[3, 7]])
    rows = iter([(np.ones((2, 1)), [0]), (np.ones((3, 1)), [0])])
    reward = CandidateReward(ss.ExpectedBest(n_types=2), lambda p, c, ids, **row: next(rows))
    with pytest.raises(ValueError, match="completion 1: candidate scores of shape"):
        reward(prompts=["p", "p"], completions=["a", "b"], completion_ids=[[3], [4]])


def test_layout_b_rejects_a_utility_of_several_scores_per_completion_at_construction(tmp_path):
    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", num_generations=G,
                      per_device_train_batch_size=8)
    ds = Dataset.from_dict({"prompt": ["user : w1"] * 8})
    with pytest.raises(ValueError, match="ExpectedBest takes 2-D inputs per set"):
        ShapleyGRPOTrainer(model=_model(0), reward_funcs=reward_mean, args=args, train_dataset=ds,
                           processing_class=_tokenizer(), layout="completions", utility=ss.ExpectedBest(n_types=2))


def _w_tokens_as_candidates(prompt, completion, completion_ids, **row):
    # The hand-built twin of the regex parser below: each "w<i>" token is a candidate.
    words = [t for t in completion_ids if WORDS[t].startswith("w")]
    ids, k = [], 0
    for t in completion_ids:
        ids.append(k if WORDS[t].startswith("w") else -1)
        k += WORDS[t].startswith("w")
    return [_score(t) for t in words], ids


def _score_words(prompt, completion, candidates, **row):
    return [_score(WORDS.index(c)) for c in candidates]


def test_candidates_layout_with_a_parser_matches_hand_built_ids(tmp_path):
    parsed = CandidateReward(ss.BestOf(), parser={"style": "regex", "pattern": r"w\d+"}, score_fn=_score_words)
    by_hand = CandidateReward(ss.BestOf(), _w_tokens_as_candidates)
    a = _train(tmp_path / "a", [parsed], layout="candidates", beta=0.5, seed=2)
    b = _train(tmp_path / "b", [by_hand], layout="candidates", beta=0.5, seed=2)
    assert parsed.tokenizer is a.processing_class  # lent by the trainer
    for (sa, ta), (sb, tb) in zip(parsed.last, by_hand.last):
        np.testing.assert_array_equal(sa, sb)
        np.testing.assert_array_equal(ta, tb)
    torch.testing.assert_close(a.last_advantages, b.last_advantages, rtol=0, atol=0)
    assert any(len(s) > 1 for s, _ in parsed.last)  # some completion had several candidates


def test_candidate_reward_configuration_errors():
    with pytest.raises(ValueError, match="exactly one of candidate_fn"):
        CandidateReward(ss.BestOf())
    # refused when the reward is made, not at the first training step
    with pytest.raises(TypeError, match=r"pass ss.BestOf\(\), not ss.BestOf \(the class\)"):
        CandidateReward(ss.BestOf, _tokens_as_candidates)
    with pytest.raises(TypeError, match="utility must be a set utility .* got str"):
        CandidateReward("best_of", _tokens_as_candidates)
    with pytest.raises(TypeError, match="candidate_fn must be callable, got int"):
        CandidateReward(ss.BestOf(), 5)
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        CandidateReward(ss.BestOf(), _tokens_as_candidates, name=None)
    with pytest.raises(ValueError, match="budget must be a positive integer"):
        CandidateReward(ss.SetFunction(len), parser="lines", budget=0)
    with pytest.raises(ValueError, match="needs score_fn"):
        CandidateReward(ss.BestOf(), parser="numbered")
    with pytest.raises(ValueError, match="style must be one of"):
        CandidateReward(ss.BestOf(), parser="csv", score_fn=_score_words)
    with pytest.raises(ValueError, match="needs a non-empty separator"):
        CandidateReward(ss.BestOf(), parser={"style": "separator"}, score_fn=_score_words)
    reward = CandidateReward(ss.BestOf(), parser="lines", score_fn=lambda p, c, cands: [1.0, 2.0])
    with pytest.raises(ValueError, match="completion 0: score_fn returned 2 scores for 1 candidates"):
        reward(prompts=["p"], completions=["one line"], completion_ids=[[5]])
