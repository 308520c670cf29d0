"""One training run: a credit rule, a seed, TRL's GRPO loop, a learning curve."""

from __future__ import annotations

import copy
import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset
from transformers import GenerationConfig, PrinterCallback, TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from .. import grpo as ss_grpo
from ..integrations.trl import ShapleyGRPOTrainer
from .evaluate import expected_utility
from .policy import ModelConfig
from .reward import TextSetReward

__all__ = ["LMRule", "RunConfig", "default_rules", "train_rule"]


@dataclass(frozen=True)
class LMRule:
    """A credit rule as :class:`ShapleyGRPOTrainer` options.

    Attributes:
        name: the label in tables and ``result.json``.
        trainer_kwargs: keyword arguments of :class:`ShapleyGRPOTrainer`.
        recommended: whether this is the library's recommended rule.

    Examples:
        >>> default_rules("B")[0]
        LMRule(name='grpo', trainer_kwargs={'layout': 'grpo'}, recommended=False)
    """

    name: str
    trainer_kwargs: dict
    recommended: bool = False


def _credit_name(credit) -> str:
    return credit if isinstance(credit, str) else "beta({:g},{:g})".format(*credit[1:])


def default_rules(layout: str = "A") -> list:
    """Plain GRPO, the recommended rule and ShapE-GRPO's Shapley rule, for a layout.

    Layout A: each completion is a set, its candidates' tokens get their own
    advantages. Layout B: the G completions of a prompt are the candidates
    of one set valued by the best of them.

    Examples:
        >>> [r.name for r in default_rules("A")]
        ['grpo', 'marginal loo b=1 gate=spread', 'shape-grpo b=1']
    """
    rec = ss_grpo.RECOMMENDED_RULE
    shape = ss_grpo.CreditRule("shapley", "shapley", beta=1.0, tau="within")
    if layout == "A":
        return [
            LMRule("grpo", {"layout": "grpo"}),
            LMRule(rec.name, {"layout": "candidates", "rule": rec}, recommended=True),
            LMRule("shape-grpo b=1", {"layout": "candidates", "rule": shape}),
        ]
    if layout == "B":
        from .. import BestOf

        return [
            LMRule("grpo", {"layout": "grpo"}),
            LMRule(f"{_credit_name(rec.credit)} credit", {"layout": "completions", "utility": BestOf(), "rule": rec},
                   recommended=True),
            LMRule("shapley credit", {"layout": "completions", "utility": BestOf(), "rule": shape}),
        ]
    raise ValueError(f"layout must be 'A' or 'B', got {layout!r}")


@dataclass(frozen=True)
class RunConfig:
    """Hyper-parameters shared by every rule of one comparison.

    Attributes:
        steps: optimiser steps (one generation batch each).
        group_size: completions per prompt and step, G.
        prompts_per_step: prompts per step (each with its G completions).
        lr: AdamW learning rate (constant).
        eval_samples: completions sampled per prompt at every evaluation.
        final_samples: completions sampled per prompt for the final value.
        max_completion_length: token limit of a completion.
        model: the network's size.
        warmup_steps, warmup_batch, warmup_lr: the format warm-up.
        layout: ``"A"`` or ``"B"``.

    Examples:
        >>> RunConfig().steps, RunConfig(layout="B").group_size
        (150, 8)
    """

    steps: int = 150
    group_size: int = 8
    prompts_per_step: int = 4
    lr: float = 1e-3
    eval_samples: int = 64
    final_samples: int = 512
    max_completion_length: int = 16
    model: ModelConfig = field(default_factory=ModelConfig)
    warmup_steps: int = 200
    warmup_batch: int = 64
    warmup_lr: float = 3e-3
    layout: str = "A"


class _TRLTimer(GRPOTrainer):
    """Times TRL's own ``_generate_and_score_completions`` (generation, scoring, TRL's advantages)."""

    def _generate_and_score_completions(self, inputs):
        start = time.perf_counter()
        out = super()._generate_and_score_completions(inputs)
        self._trl_seconds += time.perf_counter() - start
        return out


class _TimedTrainer(ShapleyGRPOTrainer, _TRLTimer):
    """ShapleyGRPOTrainer with its own work timed apart from TRL's.

    The MRO puts :class:`_TRLTimer` between ShapleyGRPOTrainer and
    GRPOTrainer, so the difference between the two timers is what
    ShapleyGRPOTrainer adds (credits and advantages).
    """

    def __init__(self, *args, **kwargs):
        self._trl_seconds = 0.0
        self._all_seconds = 0.0
        super().__init__(*args, **kwargs)

    def _generate_and_score_completions(self, inputs):
        start = time.perf_counter()
        out = super()._generate_and_score_completions(inputs)
        self._all_seconds += time.perf_counter() - start
        return out


class _Curve(TrainerCallback):
    """Evaluates after every optimiser step and times the steps themselves.

    ``timers()`` returns the running totals (TRL's generate-and-score,
    ShapleyGRPOTrainer's whole generate-and-score, the reward); their
    per-step differences are kept, apart from the evaluation's time.
    """

    def __init__(self, evaluate, timers, progress):
        self.evaluate = evaluate
        self.timers = timers
        self.progress = progress
        self.values, self.step_seconds, self.parts = [], [], []
        self._start = None
        self._before = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._before = self.timers()
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.step_seconds.append(time.perf_counter() - self._start)
        self.parts.append([b - a for a, b in zip(self._before, self.timers())])
        self.values.append(self.evaluate(state.global_step))
        if self.progress is not None:
            self.progress(state.global_step)


def _eval_seed(seed: int, step) -> int:
    return int(np.random.default_rng([seed, 11, step]).integers(2**31))


def train_rule(task, tokenizer, parser, rule: LMRule, warm_state, seed: int, config: RunConfig,
               model_factory, progress=None) -> dict:
    """Train a copy of the warmed-up policy with one rule; evaluate after every step.

    Args:
        task, tokenizer, parser: the text task, its tokenizer and parser.
        rule: the credit rule.
        warm_state: the warmed-up model's ``state_dict`` (shared by every rule of a seed).
        seed: the run's seed (TRL's sampling, evaluation samples).
        config: shared hyper-parameters.
        model_factory: ``model_factory()`` builds an untrained model to load ``warm_state`` into.
        progress: optional ``progress(step)``.

    Returns:
        dict: ``curve`` (steps + 1 expected utilities per prompt, ``(steps+1, P)``),
        ``final`` ``(P,)``, per step ``step_seconds`` (the whole optimiser step,
        evaluation excluded), ``reward_seconds`` (parsing, scoring, set
        values) and ``advantage_seconds`` (credits and advantages: what
        ShapleyGRPOTrainer adds to TRL), ``counts`` (parser counts over training), and
        ``first_advantages`` (the advantage tensor of the first step).
    """
    model = model_factory()
    model.load_state_dict(warm_state)
    gen = GenerationConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                           max_new_tokens=config.max_completion_length, pad_token_id=tokenizer.pad_token_id,
                           eos_token_id=tokenizer.eos_token_id, bos_token_id=None)
    reward = TextSetReward(task, parser)
    n_prompts = len(task.prompts)
    ds = Dataset.from_dict({"prompt": list(task.prompts) * 64, "prompt_index": list(range(n_prompts)) * 64})
    with tempfile.TemporaryDirectory() as out_dir:
        args = GRPOConfig(
            output_dir=out_dir, max_steps=config.steps, per_device_train_batch_size=config.prompts_per_step
            * config.group_size, num_generations=config.group_size,
            max_completion_length=config.max_completion_length, learning_rate=config.lr,
            lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, beta=0.0, temperature=1.0, top_k=0,
            use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False, report_to="none",
            save_strategy="no", logging_steps=10**9, disable_tqdm=True, dataloader_num_workers=0, seed=seed,
            data_seed=seed, optim="adamw_torch",
        )
        trainer = _TimedTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=ds,
                                processing_class=tokenizer, **rule.trainer_kwargs)

        best_of = config.group_size if config.layout == "B" else 1

        def evaluate(step, n=config.eval_samples):
            v, _ = expected_utility(model, tokenizer, task, parser, n, gen, _eval_seed(seed, step), best_of)
            return v

        curve = _Curve(evaluate, lambda: (trainer._trl_seconds, trainer._all_seconds, reward.seconds), progress)
        first: dict = {}

        class _First(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if not first and trainer.last_advantages is not None:
                    first["advantages"] = trainer.last_advantages.detach().cpu().numpy().copy()
                    first["trl_advantages"] = trainer.last_trl_advantages.detach().cpu().numpy().copy()

        trainer.remove_callback(PrinterCallback)  # TRL's end-of-training metrics dict: the demo prints its own
        trainer.add_callback(_First())
        trainer.add_callback(curve)
        start_values = evaluate(0)
        trainer.train()
        final = evaluate(10**6, n=config.final_samples)  # a seed no step uses
    parts = np.asarray(curve.parts).reshape(-1, 3)
    return {
        "curve": np.vstack([start_values] + curve.values),
        "final": final,
        "step_seconds": np.asarray(curve.step_seconds),
        "reward_seconds": parts[:, 2],
        "advantage_seconds": parts[:, 1] - parts[:, 0],
        "counts": dict(reward.counts),
        "first_advantages": first.get("advantages"),
        "first_trl_advantages": first.get("trl_advantages"),
    }
