"""``shapley-sets demo-lm``: the credit rules with a small transformer trained by TRL.

A causal language model built from a config (no pretrained weights, no
download) and a tokenizer trained on the task's own texts learn, with TRL's
``GRPOTrainer`` (:class:`shapley_sets.integrations.trl.ShapleyGRPOTrainer`),
to write a comma-separated list of K items for a user description. The
reward parses the text; the credit rules are compared on the same seeds as
in ``shapley-sets demo``. Needs the ``trl`` extra.

The protocol is fixed here, before any result: the task's seed-0 problem,
training seeds 0..2, 150 optimiser steps, 4 prompts x G = 8 completions per
step, AdamW lr 1e-3 (chosen for plain GRPO on a development seed), a
300-step format warm-up per seed shared by every rule of that seed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from .demo import TARGETS, _count_final_ge_grpo, _draw_curves, _Progress, _table, prepare_out

STEPS = 150
EXTRA_MESSAGE = (
    "shapley-sets demo-lm needs the 'trl' extra (TRL, transformers, tokenizers, datasets and torch): "
    "pip install 'shapley-sets[trl]'"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``shapley-sets demo-lm``."""
    parser.add_argument("--task", choices=("recommend", "code", "ideas"), default="recommend",
                        help="the set task (default recommend)")
    parser.add_argument("--layout", choices=("A", "B"), default="A",
                        help="A: each completion is a set of K items (token-level advantages); "
                             "B: the G completions of a prompt are a set valued by the best one (default A)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"optimiser steps per run (default {STEPS})")
    parser.add_argument("--seeds", type=int, default=3, help="training runs per rule (default 3)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the problem; training runs use seeds SEED..SEED+SEEDS-1 (default 0)")
    parser.add_argument("-k", "--set-size", type=int, default=4, help="items per completion, K (default 4)")
    parser.add_argument("-g", "--group-size", type=int, default=8, help="completions per prompt, G (default 8)")
    parser.add_argument("--prompts", type=int, default=1,
                        help="user segments, one prompt each (default 1; code takes 1)")
    parser.add_argument("--prompts-per-step", type=int, default=4, help="prompts per step (default 4)")
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (default 1e-3)")
    parser.add_argument("--eval-samples", type=int, default=64,
                        help="completions sampled per prompt after every step for the curve (default 64)")
    parser.add_argument("--final-samples", type=int, default=512,
                        help="completions sampled per prompt for the final value (default 512)")
    parser.add_argument("--warmup-steps", type=int, default=300, help="format warm-up steps per seed (default 300)")
    parser.add_argument("--hidden", type=int, default=64, help="model width (default 64)")
    parser.add_argument("--layers", type=int, default=2, help="transformer layers (default 2)")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch CPU threads (default 1: a model this small gains nothing from more, "
                             "and loses much on a shared machine)")
    parser.add_argument("--out", type=Path, default=None, help="write result.json and learning_curves.png here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines and no notes; only the table")


def _check(args) -> str | None:
    for flag in ("steps", "seeds", "set_size", "prompts", "prompts_per_step", "eval_samples", "final_samples",
                 "hidden", "layers", "torch_threads"):
        if getattr(args, flag) < 1:
            return f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}"
    if args.seed < 0:
        return f"--seed must be at least 0, got {args.seed}"
    if args.warmup_steps < 0:
        return f"--warmup-steps must be at least 0, got {args.warmup_steps}"
    if args.group_size < 2:
        return f"--group-size must be at least 2 (GRPO compares completions within a group), got {args.group_size}"
    if not (np.isfinite(args.lr) and args.lr > 0):
        return f"--lr must be a positive number, got {args.lr}"
    if args.hidden % 4:
        return f"--hidden must be a multiple of 4 (the model has 4 attention heads), got {args.hidden}"
    if args.layout == "B" and args.eval_samples < args.group_size:
        return "--eval-samples must be at least --group-size with --layout B (groups of G completions)"
    return prepare_out(args.out)


def _missing_extra() -> str | None:
    import importlib

    for module in ("torch", "trl", "transformers", "tokenizers", "datasets"):
        try:
            importlib.import_module(module)
        except ImportError:
            return module
    return None


def run(args) -> int:
    """Train every rule on the same seeds, print the table, write ``--out``; exit 2 on bad options or no extra."""
    problem = _check(args)
    if problem is not None:
        print(f"shapley-sets demo-lm: error: {problem}", file=sys.stderr)
        return 2
    missing = _missing_extra()
    if missing is not None:
        print(f"shapley-sets demo-lm: error: {EXTRA_MESSAGE} ({missing!r} is not installed)", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("WANDB_DISABLED", "true")
    import torch
    import transformers

    from ..lm_demo.experiment import prepare, run_experiment
    from ..lm_demo.policy import ModelConfig
    from ..lm_demo.run import RunConfig
    from ..sim import steps_to_fraction

    transformers.logging.set_verbosity_error()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.torch_threads)
    start = time.perf_counter()
    note = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    progress = _Progress(not args.quiet)
    try:
        setup = prepare(args.task, k=args.set_size, n_prompts=args.prompts, seed=args.seed)
    except ValueError as exc:
        print(f"shapley-sets demo-lm: error: {exc}", file=sys.stderr)
        return 2
    config = RunConfig(
        steps=args.steps, group_size=args.group_size, prompts_per_step=args.prompts_per_step, lr=args.lr,
        eval_samples=args.eval_samples, final_samples=args.final_samples,
        model=ModelConfig(hidden=args.hidden, layers=args.layers), warmup_steps=args.warmup_steps,
        layout=args.layout,
    )
    seeds = list(range(args.seed, args.seed + args.seeds))
    try:
        result = run_experiment(setup, config, seeds,
                                progress=lambda text, stage=False: progress.show(f"demo-lm: {text}", stage=stage))
    finally:
        torch.set_num_threads(threads_before)
    progress.done()
    wall = time.perf_counter() - start
    rows = result["rules"]
    for row in rows:
        row["steps_to_90"] = [steps_to_fraction(c, TARGETS[0]) for c in row["curve_fraction"]]
        row["steps_to_95"] = [steps_to_fraction(c, TARGETS[1]) for c in row["curve_fraction"]]
    _count_final_ge_grpo(rows)

    task = setup.task
    uniform = task.uniform_value(np.random.default_rng([args.seed, 9])).mean() / task.optimum.mean()
    start_fraction = float(np.mean([c[0] for c in rows[0]["curve_fraction"]]))
    checkpoints = sorted({c for c in (args.steps // 4, args.steps // 2, args.steps) if c > 0})
    layout_text = ("A: each completion lists a set of K items; every token gets its item's advantage"
                   if args.layout == "A" else
                   f"B: the G = {args.group_size} completions of a prompt are a set worth its best completion")
    measure = ("expected utility of one sampled completion's list" if args.layout == "A" else
               f"expected utility of the best of G = {args.group_size} sampled completions")
    print(f"shapley-sets demo-lm: task {args.task}, layout {layout_text}")
    print(f"policy: Llama-architecture transformer, {args.layers} layers, width {args.hidden}, "
          f"{result['n_params']:,} "
          f"parameters, from scratch; byte-level BPE tokenizer of {len(setup.tokenizer)} tokens trained on the "
          f"task's texts ({setup.tokens_per_name:.2f} tokens per item name)")
    print(f"TRL GRPOTrainer (ShapleyGRPOTrainer), {args.steps} steps x {args.prompts_per_step} prompts x G = "
          f"{args.group_size}, AdamW lr {args.lr:g}, K = {args.set_size}, seeds {seeds[0]}..{seeds[-1]}, "
          f"{args.prompts} prompt(s): {', '.join(repr(p.strip()) for p in task.prompts)}")
    print(f"optimum: {task.optimum_method} (best set of {args.set_size} of {len(task.names)} items per prompt, "
          f"mean U = {task.optimum.mean():.4f}); K uniform distinct items reach {100 * uniform:.1f}% of it, the "
          f"warmed-up untrained policy (step 0) {100 * start_fraction:.1f}%\n")
    print(_table(rows, checkpoints))
    timing = [r["timing"] for r in rows]
    counts = {k: sum(r["counts"][k] for r in rows) for k in rows[0]["counts"]}
    print(
        f"\ncurve: {measure}, estimated after every step from {args.eval_samples} completions per prompt sampled\n"
        f"  with a fixed seed per step (the same for every rule); final: {args.final_samples} per prompt.\n"
        "  Malformed and duplicate items are worth nothing. '% of opt' and steps to 90% / 95% as in `shapley-sets demo`.\n"
        f"step time (mean over rules): {np.mean([t['step_s_mean'] for t in timing]):.3f} s; in shapley_sets "
        f"(parsing, scores, set values, credits, advantages): "
        + ", ".join(f"{r['method']} {100 * r['timing']['shapley_sets_share']:.2f}%" for r in rows)
        + f"\nparsed during training: {counts['completions']} completions, {counts['malformed']} malformed and "
        f"{counts['duplicate']} duplicate items, {counts['empty']} empty pieces, {counts['beyond_k']} beyond K\n"
        f"wall time {wall:.1f} s on {os.cpu_count()} CPU core(s), torch threads {args.torch_threads}"
    )
    if args.out is not None:
        _write(args, result, rows, setup, wall, uniform, start_fraction, measure, note)
    return 0


def _write(args, result, rows, setup, wall, uniform, start_fraction, measure, note):
    task = setup.task
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = result["config"]
    payload = {
        "config": {
            "task": args.task, "layout": args.layout, "steps": args.steps, "seeds": list(
                range(args.seed, args.seed + args.seeds)), "problem_seed": args.seed, "set_size": args.set_size,
            "group_size": args.group_size, "prompts": args.prompts, "prompts_per_step": args.prompts_per_step,
            "lr": args.lr, "optimizer": "adamw (TRL)", "eval_samples": args.eval_samples,
            "final_samples": args.final_samples, "warmup_steps": args.warmup_steps, "hidden": args.hidden,
            "layers": args.layers, "torch_threads": args.torch_threads,
            "max_completion_length": cfg.max_completion_length, "targets": list(TARGETS),
            "curve_measure": measure + ", sampled",
        },
        "task": {"prompts": list(task.prompts), "items": len(task.names), "optimum": task.optimum.tolist(),
                 "optimum_items": [list(s) for s in task.optimum_items], "optimum_method": task.optimum_method,
                 "uniform_fraction": float(uniform), "start_fraction": start_fraction},
        "tokenizer": {"size": len(setup.tokenizer), "tokens_per_name": setup.tokens_per_name},
        "warmup": result["warmup"],
        "methods": rows,
        "wall_time_s": wall,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }
    path = args.out / "result.json"
    path.write_text(json.dumps(payload, indent=1))
    note(f"wrote {path}")
    try:
        _plot(args.out / "learning_curves.png", rows, args, measure)
    except ImportError:
        note("note: matplotlib is not installed, so learning_curves.png was not written "
             "(pip install 'shapley-sets[plot]'); the curves are in result.json")
    else:
        note(f"wrote {args.out / 'learning_curves.png'}")


def _plot(path, rows, args, measure):
    from matplotlib.figure import Figure  # optional dependency; no pyplot, no global backend

    fig = Figure(figsize=(7.5, 4.8), dpi=100)
    ax = fig.add_subplot()
    _draw_curves(ax, rows, band_alpha=0.12)
    ax.set_xlabel("optimiser steps (TRL GRPOTrainer)")
    ax.set_ylabel("expected utility / optimum")
    ax.set_title(f"demo-lm: {args.task}, layout {args.layout}, {args.seeds} seeds (band: min-max)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
