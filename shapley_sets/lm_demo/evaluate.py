"""The learning curve's measure: the policy's expected set utility, by seeded sampling."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["sample_completions", "expected_utility"]


def sample_completions(model, tokenizer, prompts, n: int, generation_config, seed: int):
    """``n`` sampled completions per prompt (texts and token ids), seeded.

    The global torch random state is saved and restored around the sampling,
    so evaluating does not change the training run's own random stream.

    Examples:
        >>> import torch
        >>> from transformers import GenerationConfig
        >>> from shapley_sets.lm_demo.policy import ModelConfig, build_model
        >>> from shapley_sets.lm_demo.vocab import build_tokenizer
        >>> tok = build_tokenizer(["kabo, tumi", "user likes: jazz"], vocab_size=40)
        >>> model = build_model(len(tok), ModelConfig(hidden=16, layers=1, heads=2), seed=0)
        >>> gen = GenerationConfig(do_sample=True, max_new_tokens=4, pad_token_id=0, eos_token_id=1)
        >>> state = torch.random.get_rng_state()
        >>> a = sample_completions(model, tok, ["user likes: jazz"], 3, gen, seed=7)
        >>> b = sample_completions(model, tok, ["user likes: jazz"], 3, gen, seed=7)
        >>> a == b, len(a[0]), torch.equal(state, torch.random.get_rng_state())
        (True, 3, True)
    """
    enc = tokenizer([p for p in prompts for _ in range(n)], return_tensors="pt", padding=True)
    was_training = model.training
    model.eval()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        out = model.generate(**enc, generation_config=generation_config)
    model.train(was_training)
    gen = out[:, enc["input_ids"].shape[1]:]
    eos = tokenizer.eos_token_id
    ids = []
    for row in gen.tolist():
        ids.append(row[: row.index(eos) + 1] if eos in row else row)
    texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
    return texts, ids


def expected_utility(model, tokenizer, task, parser, n: int, generation_config, seed: int, best_of: int = 1):
    """``(P,)`` mean utility of ``n`` sampled completions per prompt, and the parser's counts.

    A completion is worth the utility of the items the parser finds in it
    (malformed and duplicate pieces are worth nothing); one with none is
    worth 0. With ``best_of = G`` the samples form ``n // G`` groups of G and
    each group is worth its best completion (layout B's set).
    """
    texts, ids = sample_completions(model, tokenizer, task.prompts, n, generation_config, seed)
    parsed = parser(texts, ids)
    prompts = np.repeat(np.arange(len(task.prompts)), n)
    v = task.values(prompts, parsed.items).reshape(len(task.prompts), n)
    if best_of > 1:
        v = v[:, : n - n % best_of].reshape(len(task.prompts), -1, best_of).max(axis=2)
    return v.mean(axis=1), parsed.counts
