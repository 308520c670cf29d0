"""The whole comparison: one task, one tokenizer, every rule on the same seeds."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .parse import COUNTS, ListParser
from .policy import build_model, warm_up
from .run import RunConfig, default_rules, train_rule
from .task import TextTask, make_text_task
from .vocab import build_tokenizer

__all__ = ["Setup", "prepare", "run_experiment"]


@dataclass(frozen=True)
class Setup:
    """The task as text, its tokenizer and parser, and the completion length limit."""

    task: TextTask
    tokenizer: Any
    parser: ListParser
    max_completion_length: int
    tokens_per_name: float


def prepare(task_name: str, *, k: int, n_prompts: int, seed: int) -> Setup:
    """Build the text task and train its tokenizer on the task's own texts.

    The tokenizer's corpus is the prompts and 2,000 seeded random lists of K
    items; its vocabulary is 64 + C tokens for C items, so most names take
    two or three tokens. A completion may take 1.5 times the tokens of an
    average list of K items (plus EOS), so a well-formed list is never cut.
    """
    task = make_text_task(task_name, k=k, n_prompts=n_prompts, seed=seed)
    c = len(task.names)
    rng = np.random.default_rng([seed, 5])
    corpus = [task.completion(rng.choice(c, size=k, replace=False)) for _ in range(2000)] + list(task.prompts)
    tokenizer = build_tokenizer(corpus, vocab_size=64 + c)
    lengths = [len(tokenizer(text)["input_ids"]) for text in corpus[:200]]
    names = float(np.mean([len(tokenizer(" " + n)["input_ids"]) for n in task.names]))
    return Setup(task, tokenizer, ListParser(task.names, tokenizer, k),
                 int(math.ceil(1.5 * np.mean(lengths))) + 1, names)


def run_experiment(setup: Setup, config: RunConfig, seeds, *, progress=None) -> dict:
    """Warm up one policy per seed, train a copy with each rule, collect curves and timings.

    Returns a dict with ``rules`` (one row per rule, in table order, with
    per-seed curves as fractions of the optimum) and ``warmup`` (per seed:
    seconds, last loss, fraction of the optimum, parser counts).
    """
    task, tok = setup.task, setup.tokenizer
    config = replace(config, max_completion_length=setup.max_completion_length)
    rules = default_rules(config.layout)
    opt = float(task.optimum.mean())
    per_rule: dict[str, list] = {r.name: [] for r in rules}
    warm = []
    for s_i, seed in enumerate(seeds):
        def factory(seed=seed):
            return build_model(len(tok), config.model, seed)

        if progress:
            progress(f"seed {seed}: format warm-up ({config.warmup_steps} steps)", stage=True)
        start = time.perf_counter()
        model = factory()
        loss = warm_up(model, tok, task, steps=config.warmup_steps, batch=config.warmup_batch,
                       lr=config.warmup_lr, seed=seed)
        warm.append({"seed": seed, "seconds": time.perf_counter() - start, "loss": loss})
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        n_params = sum(p.numel() for p in model.parameters())
        for r_i, rule in enumerate(rules):
            label = f"seed {seed} [{s_i + 1}/{len(seeds)}], {rule.name} [{r_i + 1}/{len(rules)}]"
            if progress:
                progress(label, stage=True)
            start = time.perf_counter()
            out = train_rule(task, tok, setup.parser, rule, state, seed, config, factory,
                             progress=None if progress is None else
                             (lambda t, label=label: progress(f"{label}  step {t}/{config.steps}")))
            out["wall"] = time.perf_counter() - start
            per_rule[rule.name].append(out)
    rows = []
    for rule in rules:
        runs = per_rule[rule.name]
        curves = np.stack([r["curve"].mean(axis=1) for r in runs]) / opt
        steps = np.concatenate([r["step_seconds"] for r in runs])
        rew = np.concatenate([r["reward_seconds"] for r in runs])
        adv = np.concatenate([r["advantage_seconds"] for r in runs])
        counts = {key: int(sum(r["counts"][key] for r in runs)) for key in COUNTS}
        first = runs[0]["first_advantages"]
        rows.append({
            "method": rule.name,
            "recommended": rule.recommended,
            "trainer_kwargs": {k: (v.name if hasattr(v, "name") else v if isinstance(v, str) else type(v).__name__)
                               for k, v in rule.trainer_kwargs.items()},
            "curve_fraction": curves.tolist(),
            "mean_curve_fraction": curves.mean(axis=0).tolist(),
            "final_fraction": [float(r["final"].mean() / opt) for r in runs],
            "wall_s": [r["wall"] for r in runs],
            "timing": {
                "steps": int(steps.size),
                "step_s_mean": float(steps.mean()), "step_s_median": float(np.median(steps)),
                "reward_ms_median": 1e3 * float(np.median(rew)),
                "advantage_ms_median": 1e3 * float(np.median(adv)),
                "shapley_sets_share": float((rew.sum() + adv.sum()) / steps.sum()),
                "shapley_sets_share_median": float(np.median((rew + adv) / steps)),
            },
            "counts": counts,
            "first_advantages": {
                "shape": list(first.shape),
                "distinct_values": int(np.unique(np.round(first, 5)).size),
                "differs_from_trl": bool(first.ndim == 1 and not np.allclose(first, runs[0]["first_trl_advantages"],
                                                                            atol=1e-5)
                                         or first.ndim == 2 and not np.allclose(
                                             first, runs[0]["first_trl_advantages"][:, None]
                                             * (first != 0), atol=1e-5)),
            },
        })
    return {"rules": rows, "warmup": warm, "config": config, "n_params": n_params}
