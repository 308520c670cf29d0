"""``shapley-sets demo``: credit rules for set-level RL on three tasks.

A softmax policy over a catalog proposes sets of K distinct items; a set is
worth the value of one of three tasks (recommend, code, ideas: see
:mod:`shapley_sets.sim.tasks`). The same policy, with the same seeds, is
trained with each credit rule; the table reports how many steps each needs
to reach 90% and 95% of the best set's value, where it ends, and in how many
seeds it ends at least as high as plain GRPO. See :mod:`shapley_sets.sim`.

The protocol (problems, seeds, budgets, targets) is fixed here, before any
result: the default problem of each task is its seed-0 instance, training
seeds 0..2, 300 updates of Adam (lr 0.1), G = 8 sets of K = 4 per update.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

TARGETS = (0.9, 0.95)
TASK_CHOICES = ("recommend", "code", "ideas", "all")
#: the uniform policy must be at most this fraction of the optimum for a problem to count as hard
HARD = 0.5
STEPS = 300


def _beta(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--beta must be a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"--beta must be a finite number >= 0, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``shapley-sets demo``."""
    parser.add_argument("--task", choices=TASK_CHOICES, default="all",
                        help="which task to run: recommend, code, ideas or all three (default all)")
    parser.add_argument("--catalog", type=int, default=None, help="number of items (default: the task's, 80)")
    parser.add_argument("--user-types", type=int, default=None,
                        help="user types, or topics for ideas (default: the task's, 8 or 24)")
    parser.add_argument("-k", "--set-size", type=int, default=4, help="items per set, K (default 4)")
    parser.add_argument("-g", "--group-size", type=int, default=8, help="sets sampled per step, G (default 8)")
    parser.add_argument("--seeds", type=int, default=3, help="training runs per method and task (default 3)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"policy updates per run (default {STEPS})")
    parser.add_argument("--beta", type=_beta, default=1.0,
                        help="weight of the credit term of the Shapley and marginal rules (default 1)")
    parser.add_argument("--lr", type=float, default=0.1, help="Adam learning rate (default 0.1)")
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of each task's problem; training runs use seeds SEED..SEED+SEEDS-1 (default 0)",
    )
    parser.add_argument(
        "--eval-samples", type=int, default=256,
        help="sets sampled after each step to estimate the policy's value (default 256)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write result.json and learning_curves.png here")
    parser.add_argument("--quiet", action="store_true", help="no progress line and no notes; only the tables")


def _check(args) -> str | None:
    positive = {
        "--set-size": args.set_size, "--seeds": args.seeds, "--steps": args.steps,
        "--eval-samples": args.eval_samples,
    }
    if args.catalog is not None:
        positive["--catalog"] = args.catalog
    if args.user_types is not None:
        positive["--user-types"] = args.user_types
    for flag, value in positive.items():
        if value < 1:
            return f"{flag} must be at least 1, got {value}"
    if args.catalog is not None and args.catalog < 2:
        return f"--catalog must be at least 2, got {args.catalog}"
    if args.catalog is not None and args.set_size > args.catalog:
        return f"--set-size ({args.set_size}) must not exceed --catalog ({args.catalog})"
    if args.task in ("ideas", "all") and args.user_types is not None and args.user_types < 3:
        return f"--user-types must be at least 3 for the ideas task (topics), got {args.user_types}"
    if args.seed < 0:
        return f"--seed must be at least 0, got {args.seed}"
    if args.group_size < 2:
        return f"--group-size must be at least 2 (GRPO compares sets within a group), got {args.group_size}"
    if not (math.isfinite(args.lr) and args.lr > 0):
        return f"--lr must be a positive number, got {args.lr}"
    return prepare_out(args.out)


def prepare_out(out: Path | None) -> str | None:
    """Create the ``--out`` folder before any training, so that a path that
    cannot be written is said at once, not after the run (its results lost)."""
    if out is None:
        return None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--out {str(out)!r} cannot be created: {exc.strerror or exc}"
    if not os.access(out, os.W_OK | os.X_OK):
        return f"--out {str(out)!r} is not writable"
    return None


class _Progress:
    """One line on stderr, rewritten in place on a terminal.

    Elsewhere (a log file, a pipe) carriage returns would pile up, so only
    the start of each stage is written, one line each.
    """

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.width = 0
        self.last = 0.0

    def show(self, text: str, *, stage: bool = False) -> None:
        if not self.enabled:
            return
        if not self.tty:
            if stage:
                print(text, file=sys.stderr)
            return
        now = time.monotonic()
        if not stage and now - self.last < 0.1:
            return
        self.last = now
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def done(self) -> None:
        if self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _fmt_mean_sd(values, fmt: str) -> str:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return "-"
    if values.size == 1:
        return format(values[0], fmt)
    return f"{format(values.mean(), fmt)} ± {format(values.std(ddof=1), fmt)}"


def _table(rows, checkpoints) -> str:
    head = ["method", "reached 90%", "steps to 90%", "reached 95%", "steps to 95%", "final % of opt",
            "final >= grpo"]
    head += [f"@{c}" for c in checkpoints]
    body = []
    for row in rows:
        cells = [row["method"] + (" *" if row["recommended"] else "")]
        for key in ("steps_to_90", "steps_to_95"):
            reached = [s for s in row[key] if s is not None]
            cells += [f"{len(reached)}/{len(row[key])}", _fmt_mean_sd(reached, ".1f")]
        cells += [
            _fmt_mean_sd(100 * np.asarray(row["final_fraction"]), ".1f"),
            f"{row['final_ge_grpo']}/{len(row['final_fraction'])}",
        ]
        cells += [f"{100 * row['mean_curve_fraction'][c]:.1f}" for c in checkpoints]
        body.append(cells)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _count_final_ge_grpo(rows) -> None:
    """Each row's ``final_ge_grpo``: the seeds in which it ended at least as
    high as plain GRPO (the first row) on the same seed."""
    grpo_final = np.asarray(rows[0]["final_fraction"])
    for row in rows:
        row["final_ge_grpo"] = int((np.asarray(row["final_fraction"]) >= grpo_final).sum())


def _draw_curves(ax, rows, band_alpha: float) -> None:
    """Per rule the mean curve over seeds and its min-max band, the
    recommended rule drawn thicker, and the targets as dotted lines."""
    for row in rows:
        curves = np.asarray(row["curve_fraction"])
        steps = np.arange(curves.shape[1])
        label = row["method"] + (" (recommended)" if row["recommended"] else "")
        (line,) = ax.plot(steps, curves.mean(axis=0), label=label, lw=2.2 if row["recommended"] else 1.3)
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=line.get_color(),
                        alpha=band_alpha, lw=0)
    for target in TARGETS:
        ax.axhline(target, color="black", ls=":", lw=1)


def _plot(path: Path, tasks: dict) -> None:
    from matplotlib.figure import Figure  # optional dependency; no pyplot, no global backend

    fig = Figure(figsize=(5.2 * len(tasks), 4.6), dpi=100)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, (name, task) in zip(axes, tasks.items()):
        _draw_curves(ax, task["methods"], band_alpha=0.10)
        ax.set_title(f"{name} (uniform policy: {100 * task['uniform_fraction']:.0f}% of opt)")
        ax.set_xlabel("policy updates")
        ax.set_ylabel("expected value / optimum")
        ax.set_ylim(0.2, 1.02)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.suptitle("shapley-sets demo: mean over seeds (band: min–max)")
    fig.tight_layout()
    fig.savefig(path)


_DESCRIPTIONS = {
    "recommend": "recommend: {items} items, {types} user types with sparse tastes; a set is worth its expected "
                 "best utility (each type keeps its favourite)",
    "code": "code: {items} programs, {types} test types; a sampled type accepts each program with its "
            "probability, the set succeeds if any is accepted",
    "ideas": "ideas: {items} ideas, {types} weighted topics, each idea in 1-3 topics; a set is worth the "
             "weight of the topics it covers",
}


def _problem(name, args):
    """The task's problem; a ValueError (a usage error) for sizes it cannot take."""
    from ..sim import make_task

    problem = make_task(name, args.seed, n_items=args.catalog, n_types=args.user_types)
    if args.set_size > problem.n_items:
        raise ValueError(f"--set-size ({args.set_size}) must not exceed the catalog ({problem.n_items})")
    return problem


def _run_task(name, problem, args, progress):
    from ..sim import TrainConfig, best_set, default_methods, steps_to_fraction, train

    k = args.set_size
    progress.show(f"demo: {name}: finding the best set of {k} among {problem.n_items} items ...", stage=True)
    opt_value, opt_items, opt_method = best_set(problem, k)
    config = TrainConfig(
        k=k, group_size=args.group_size, steps=args.steps, lr=args.lr,
        seeds=tuple(range(args.seed, args.seed + args.seeds)), eval_samples=args.eval_samples,
    )
    methods = default_methods(beta=args.beta)
    rows = []
    for i, method in enumerate(methods, 1):
        label = f"demo: {name} [{i}/{len(methods)}] {method.name}"
        progress.show(f"{label}  ({args.steps} steps x {args.seeds} seeds)", stage=True)
        result = train(problem, method, config,
                       progress=lambda t, label=label: progress.show(f"{label}  step {t}/{args.steps}"))
        curve_fraction = result["curves"] / opt_value
        rows.append(
            {
                "method": method.name,
                "kind": method.kind,
                "credit": None if method.rule is None else _jsonable(method.rule.credit),
                "form": None if method.rule is None else method.rule.form,
                "beta": None if method.rule is None else method.rule.beta_at(0),
                "gate": None if method.rule is None or method.rule.form != "marginal" else method.rule.gate,
                "recommended": method.recommended,
                "steps_to_90": [steps_to_fraction(c, TARGETS[0]) for c in curve_fraction],
                "steps_to_95": [steps_to_fraction(c, TARGETS[1]) for c in curve_fraction],
                "final_fraction": (result["final"] / opt_value).tolist(),
                "mean_curve_fraction": curve_fraction.mean(axis=0).tolist(),
                "curve_fraction": curve_fraction.tolist(),
            }
        )
    _count_final_ge_grpo(rows)
    uniform = float(np.mean([r["curve_fraction"][s][0] for r in rows[:1] for s in range(args.seeds)]))
    if opt_method == "exact":
        opt_text = "exact, by enumeration"
    else:
        opt_text = ("greedy: the value is monotone submodular, so the optimum is at most "
                    f"{opt_value / (1 - 1 / math.e):.4f}; '% of opt' is % of the greedy value and may exceed 100")
    hard = "hard: at most 50%" if uniform <= HARD else "NOT hard: above 50%"
    desc = _DESCRIPTIONS[name].format(items=problem.n_items, types=problem.n_types)
    text = (f"== {desc}\n"
            f"best set {opt_items.tolist()}: U = {opt_value:.4f} ({opt_text}); the uniform starting policy "
            f"reaches {100 * uniform:.1f}% of opt ({hard})")
    return {
        "problem": {"task": name, "kind": problem.kind, "items": problem.n_items, "types": problem.n_types,
                    "problem_seed": args.seed},
        "optimum": {"value": opt_value, "items": opt_items.tolist(), "method": opt_method},
        "uniform_fraction": uniform,
        "methods": rows,
        "text": text,
    }


def _jsonable(credit):
    return list(credit) if isinstance(credit, tuple) else credit


def run(args) -> int:
    """Train every method on each task, print the tables, write ``--out``; exit status 2 on bad options.

    Examples:
        >>> from shapley_sets.cli.main import main
        >>> main(["demo", "--task", "code", "--catalog", "6", "-k", "2", "--steps", "2", "--seeds", "1", "--quiet"])
        shapley-sets demo: K=2, G=8, 2 steps, seeds 0..0, Adam lr=0.1, beta=1
        ...
        0
    """
    problem_msg = _check(args)
    if problem_msg is not None:
        print(f"shapley-sets demo: error: {problem_msg}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    note = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    progress = _Progress(not args.quiet)
    names = ("recommend", "code", "ideas") if args.task == "all" else (args.task,)
    try:
        problems = {name: _problem(name, args) for name in names}
    except ValueError as exc:
        print(f"shapley-sets demo: error: {exc}", file=sys.stderr)
        return 2
    tasks = {name: _run_task(name, problem, args, progress) for name, problem in problems.items()}
    progress.done()
    wall = time.perf_counter() - start

    seeds = (args.seed, args.seed + args.seeds - 1)
    checkpoints = sorted({c for c in (args.steps // 4, args.steps // 2, args.steps) if c > 0})
    print(f"shapley-sets demo: K={args.set_size}, G={args.group_size}, {args.steps} steps, "
          f"seeds {seeds[0]}..{seeds[1]}, Adam lr={args.lr:g}, beta={args.beta:g}")
    for task in tasks.values():
        print("\n" + task["text"] + "\n")
        print(_table(task["methods"], checkpoints))
    print(
        f"\nsteps to 90% / 95%: first number of updates after which the policy's expected value, estimated\n"
        f"  from {args.eval_samples} sampled sets, is at least 90% / 95% of opt; mean ± sd over the seeds that got there.\n"
        "final: the final policy's expected value (4096 sampled sets) / opt; final >= grpo: seeds in which it\n"
        "  is at least plain GRPO's. @N: mean over seeds after N updates, % of opt. * = the recommended rule.\n"
        "grpo: every item of a set gets the set's GRPO advantage A_g.\n"
        "shape-grpo: the Shapley rule, item k gets A_g + b * d_gk / tau (d from Shapley values, tau = within;\n"
        "  docs/math.md#layout-a-candidates-inside-one-response).\n"
        "marginal C: item k gets A_g + b * z(c_gk), c its credit C (loo: U(S) - U(S minus k); banzhaf), z a\n"
        "  z-score over the group's G*K items; gate=spread: that term times sigma_R / (sigma_R + sigma_c),\n"
        "  the stds of the group's set rewards and credits (0 when all sets earn the same).\n"
        "wta: winner-takes-all, the item worth most on its own gets the set's reward, the others 0, z-scored\n"
        "  over the group's G*K items. passk: verl grpo_passk, only the best set of the group gets\n"
        "  (r_max - r_second) / std, all its items alike.\n"
        f"wall time {wall:.1f} s"
    )

    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        payload = {
            "config": {
                "tasks": list(names), "set_size": args.set_size, "group_size": args.group_size,
                "steps": args.steps, "lr": args.lr, "optimizer": "adam", "beta": args.beta,
                "seeds": list(range(args.seed, args.seed + args.seeds)), "problem_seed": args.seed,
                "catalog": args.catalog, "user_types": args.user_types,
                "eval_samples": args.eval_samples, "final_samples": 4096, "targets": list(TARGETS),
            },
            "tasks": {name: {k: v for k, v in t.items() if k != "text"} for name, t in tasks.items()},
            "wall_time_s": wall,
        }
        if len(names) == 1:  # one task: its results also at the top level
            payload["optimum"] = tasks[names[0]]["optimum"]
            payload["methods"] = tasks[names[0]]["methods"]
        json_path = args.out / "result.json"
        json_path.write_text(json.dumps(payload, indent=1))
        note(f"wrote {json_path}")
        try:
            _plot(args.out / "learning_curves.png", tasks)
        except ImportError:
            note("note: matplotlib is not installed, so learning_curves.png was not written "
                 "(pip install 'shapley-sets[plot]'); the curves are in result.json")
        else:
            note(f"wrote {args.out / 'learning_curves.png'}")
    return 0
