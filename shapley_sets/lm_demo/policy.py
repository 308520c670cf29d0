"""The policy: a small causal transformer built from a config, and its format warm-up.

No pretrained weights: the model is a Llama-architecture network of a few
layers, initialised from a seed. Before reinforcement learning it is taught
the task's format only — a short supervised run on completions that list K
distinct items drawn uniformly at random — so that the untrained policy
(step 0 of every curve) writes well-formed lists of roughly uniformly chosen
items, as the toy demo's policy starts uniform. Which items are good is left
entirely to the reinforcement-learning phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from .vocab import SEPARATOR

__all__ = ["ModelConfig", "build_model", "warm_up"]


@dataclass(frozen=True)
class ModelConfig:
    """Size of the policy network.

    Examples:
        >>> ModelConfig().hidden
        64
    """

    hidden: int = 64
    layers: int = 2
    heads: int = 4
    max_positions: int = 96


def build_model(vocab_size: int, config: ModelConfig, seed: int):
    """A randomly initialised ``LlamaForCausalLM`` (pad id 0, EOS id 1).

    Examples:
        >>> model = build_model(50, ModelConfig(hidden=16, layers=1, heads=2), seed=0)
        >>> model.config.num_hidden_layers, model.generation_config.eos_token_id
        (1, 1)
    """
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size, hidden_size=config.hidden, intermediate_size=2 * config.hidden,
        num_hidden_layers=config.layers, num_attention_heads=config.heads, num_key_value_heads=config.heads,
        max_position_embeddings=config.max_positions, pad_token_id=0, eos_token_id=1, bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(cfg)
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 1
    model.generation_config.bos_token_id = None
    return model


def warm_up(model, tokenizer, task, *, steps: int, batch: int, lr: float, seed: int) -> float:
    """Teach ``model`` the list format on uniformly random lists; returns the last loss.

    Each example is a random prompt of ``task`` followed by K distinct items
    drawn uniformly and the EOS token; the loss is next-token cross-entropy
    on the completion tokens only. Prompts are tokenized alone, as the
    trainer does, so the prompt/completion boundary is the trainer's.
    """
    rng = np.random.default_rng([seed, 3])
    prompt_ids = [tokenizer(p)["input_ids"] for p in task.prompts]
    pieces = _list_pieces(tokenizer, task)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        rows, labels = [], []
        for _ in range(batch):
            p = int(rng.integers(len(task.prompts)))
            items = rng.choice(len(task.names), size=task.k, replace=False)
            comp = [t for pos, j in enumerate(items) for t in pieces[pos > 0][j]] + [tokenizer.eos_token_id]
            rows.append(prompt_ids[p] + comp)
            labels.append([-100] * len(prompt_ids[p]) + comp)
        t = max(len(r) for r in rows)
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (t - len(r)) for r in rows])
        lab = torch.tensor([r + [-100] * (t - len(r)) for r in labels])
        att = (torch.arange(t)[None, :] < torch.tensor([len(r) for r in rows])[:, None]).long()
        loss = model(input_ids=ids, attention_mask=att, labels=lab).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return float(loss.detach())


def _list_pieces(tokenizer, task):
    """Token ids of each item name as the first item and as a later one (after the separator).

    The byte-level pre-tokenizer splits a list at the separator and the
    spaces, so a list's tokens are the concatenation of these pieces (checked
    on a list of every name).
    """
    first = [tokenizer(name)["input_ids"] for name in task.names]
    sep = tokenizer(SEPARATOR.rstrip())["input_ids"]
    later = [sep + tokenizer(SEPARATOR[len(SEPARATOR.rstrip()):] + name)["input_ids"] for name in task.names]
    everything = list(range(len(task.names)))
    joined = first[0] + [t for j in everything[1:] for t in later[j]]
    if joined != tokenizer(task.completion(everything))["input_ids"]:
        raise ValueError("the tokenizer does not split a list at its separator; the warm-up needs it to")
    return first, later
