"""``shapley-sets demo``: plain GRPO vs ShapE-GRPO vs grpo_passk on a toy recommender.

A softmax policy over a catalog recommends sets of K distinct items; a set is
worth its expected best utility over several user types. The same policy,
with the same seeds, is trained with each credit rule; the table reports how
many steps each needs to reach 90% of the best set's utility and where it
ends. See :mod:`shapley_sets.sim` for the simulation.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

TARGET = 0.9


def _betas(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--betas must be comma-separated numbers, got {text!r}") from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"--betas must be finite numbers >= 0, got {text!r}")
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``shapley-sets demo``."""
    parser.add_argument("--catalog", type=int, default=60, help="number of items (default 60)")
    parser.add_argument("--user-types", type=int, default=6, help="number of user types (default 6)")
    parser.add_argument("-k", "--set-size", type=int, default=4, help="items per recommended set, K (default 4)")
    parser.add_argument("-g", "--group-size", type=int, default=8, help="sets sampled per step, G (default 8)")
    parser.add_argument("--seeds", type=int, default=3, help="training runs per method (default 3)")
    parser.add_argument("--steps", type=int, default=200, help="policy updates per run (default 200)")
    parser.add_argument(
        "--betas", type=_betas, default=[0.5, 1.0, 2.0],
        help="ShapE-GRPO within-set weights, comma-separated (default 0.5,1,2)",
    )
    parser.add_argument("--lr", type=float, default=0.1, help="Adam learning rate (default 0.1)")
    parser.add_argument(
        "--seed", type=int, default=0,
        help="seed of the catalog; training runs use seeds SEED..SEED+SEEDS-1 (default 0)",
    )
    parser.add_argument(
        "--eval-samples", type=int, default=256,
        help="sets sampled after each step to estimate the policy's utility (default 256)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write result.json and learning_curves.png here")
    parser.add_argument("--quiet", action="store_true", help="no progress line and no notes; only the table")


def _check(args) -> str | None:
    positive = {
        "--catalog": args.catalog, "--user-types": args.user_types, "--set-size": args.set_size,
        "--seeds": args.seeds, "--steps": args.steps, "--eval-samples": args.eval_samples,
    }
    for flag, value in positive.items():
        if value < 1:
            return f"{flag} must be at least 1, got {value}"
    if args.set_size > args.catalog:
        return f"--set-size ({args.set_size}) must not exceed --catalog ({args.catalog})"
    if args.group_size < 2:
        return f"--group-size must be at least 2 (GRPO compares sets within a group), got {args.group_size}"
    if not (math.isfinite(args.lr) and args.lr > 0):
        return f"--lr must be a positive number, got {args.lr}"
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
    head = ["method", "reached 90%", "steps to 90%", "final % of opt", "top set = opt"]
    head += [f"@{c}" for c in checkpoints]
    body = []
    for row in rows:
        reached = [s for s in row["steps_to_90"] if s is not None]
        body.append(
            [
                row["method"],
                f"{len(reached)}/{len(row['steps_to_90'])}",
                _fmt_mean_sd(reached, ".1f"),
                _fmt_mean_sd(100 * np.asarray(row["final_fraction"]), ".1f"),
                f"{sum(f >= 1 - 1e-9 for f in row['top_set_fraction'])}/{len(row['top_set_fraction'])}",
            ]
            + [f"{100 * row['mean_curve_fraction'][c]:.1f}" for c in checkpoints]
        )
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _plot(path: Path, rows, target: float) -> None:
    from matplotlib.figure import Figure  # optional dependency; no pyplot, no global backend

    fig = Figure(figsize=(8, 5), dpi=110)
    ax = fig.add_subplot()
    for row in rows:
        curves = np.asarray(row["curve_fraction"])
        steps = np.arange(curves.shape[1])
        (line,) = ax.plot(steps, curves.mean(axis=0), label=row["method"], lw=1.4)
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.12, lw=0)
    ax.axhline(target, color="black", ls=":", lw=1)
    ax.set_xlabel("policy updates")
    ax.set_ylabel("expected utility / optimum")
    ax.set_title("shapley-sets demo: mean over seeds (band: min–max)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def run(args) -> int:
    """Train every method, print the table, write ``--out``; exit status 2 on bad options.

    Examples:
        >>> from shapley_sets.cli.main import main
        >>> main(["demo", "--catalog", "6", "-k", "2", "--steps", "2", "--seeds", "1", "--quiet"])
        shapley-sets demo: 6 items, 6 user types, K=2, G=8, 2 steps, seeds 0..0, Adam lr=0.1
        ...
        0
    """
    problem_msg = _check(args)
    if problem_msg is not None:
        print(f"shapley-sets demo: error: {problem_msg}", file=sys.stderr)
        return 2
    from ..sim import TrainConfig, best_set, default_methods, make_problem, set_utility, steps_to_fraction, train

    start = time.perf_counter()
    note = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    progress = _Progress(not args.quiet)

    problem = make_problem(args.catalog, args.user_types, seed=args.seed)
    k = args.set_size
    progress.show(f"demo: finding the best set of {k} among {args.catalog} items ...", stage=True)
    opt_value, opt_items, opt_method = best_set(problem, k)
    popular = np.argsort(-(problem.weights @ problem.scores), kind="stable")[:k]
    popular_value = float(set_utility(problem, popular))

    config = TrainConfig(
        k=k, group_size=args.group_size, steps=args.steps, lr=args.lr,
        seeds=tuple(range(args.seed, args.seed + args.seeds)), eval_samples=args.eval_samples,
    )
    methods = default_methods(betas=args.betas)
    rows = []
    for i, method in enumerate(methods, 1):
        label = f"demo: [{i}/{len(methods)}] {method.name}"
        progress.show(f"{label}  ({args.steps} steps x {args.seeds} seeds)", stage=True)
        result = train(problem, method, config,
                       progress=lambda t, label=label: progress.show(f"{label}  step {t}/{args.steps}"))
        curve_fraction = result["curves"] / opt_value
        # the K items the final policy favours: the set it has settled on, if it has
        top_sets = np.argsort(-result["logits"], axis=-1, kind="stable")[:, :k]
        rows.append(
            {
                "method": method.name,
                "kind": method.kind,
                "beta": method.beta if method.kind == "shape" else None,
                "tau": method.tau if method.kind == "shape" else None,
                "steps_to_90": [steps_to_fraction(c, TARGET) for c in curve_fraction],
                "final_fraction": (result["final"] / opt_value).tolist(),
                "top_sets": [sorted(t.tolist()) for t in top_sets],
                "top_set_fraction": (set_utility(problem, top_sets) / opt_value).tolist(),
                "mean_curve_fraction": curve_fraction.mean(axis=0).tolist(),
                "curve_fraction": curve_fraction.tolist(),
            }
        )
    progress.done()
    wall = time.perf_counter() - start

    if opt_method == "exact":
        opt_text = f"exact, by enumerating all {math.comb(args.catalog, k):,} sets"
    else:
        opt_text = ("greedy: the expected best utility is monotone submodular, so the optimum is "
                    f"at most {opt_value / (1 - 1 / math.e):.4f} (greedy / (1 - 1/e)); "
                    "'% of opt' is % of the greedy value and may exceed 100")
    checkpoints = sorted({c for c in (args.steps // 8, args.steps // 4, args.steps // 2, args.steps) if c > 0})
    print(
        f"shapley-sets demo: {args.catalog} items, {args.user_types} user types, K={k}, G={args.group_size}, "
        f"{args.steps} steps, seeds {config.seeds[0]}..{config.seeds[-1]}, Adam lr={args.lr:g}\n"
        f"best set {opt_items.tolist()}: U = {opt_value:.4f} ({opt_text})\n"
        f"the {k} items best on average (popularity) reach U = {popular_value:.4f} "
        f"({100 * popular_value / opt_value:.1f}% of opt); the uniform starting policy reaches "
        f"{100 * rows[0]['mean_curve_fraction'][0]:.1f}% of opt\n"
    )
    print(_table(rows, checkpoints))
    print(
        f"\nsteps to 90%: first number of updates after which the policy's expected utility, estimated\n"
        f"  from {args.eval_samples} sampled sets, is at least 90% of opt; mean ± sd over the seeds that got there.\n"
        f"final: the final policy's expected utility ({config.final_samples} sampled sets) / opt.\n"
        "top set = opt: seeds whose final K highest-probability items form a best set.\n"
        "@N: mean over seeds after N updates, % of opt.\n"
        "grpo: every item of a set gets the set's GRPO advantage A_g.\n"
        "shape: ShapE-GRPO layout A: item k of set g gets A_g + b * d_gk / tau, d from Shapley\n"
        "  (docs/math.md#layout-a-candidates-inside-one-response).\n"
        "passk: verl grpo_passk over the group's sets: only the best set gets (r_max - r_second) / std,\n"
        "  every item of a set gets its set's advantage.\n"
        f"wall time {wall:.1f} s"
    )

    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        payload = {
            "config": {
                "catalog": args.catalog, "user_types": args.user_types, "set_size": k,
                "group_size": args.group_size, "steps": args.steps, "lr": args.lr, "optimizer": "adam",
                "seeds": list(config.seeds), "catalog_seed": args.seed, "betas": list(args.betas),
                "eval_samples": args.eval_samples, "final_samples": config.final_samples, "target": TARGET,
            },
            "optimum": {"value": opt_value, "items": opt_items.tolist(), "method": opt_method},
            "popular_set": {"value": popular_value, "items": sorted(popular.tolist())},
            "methods": rows,
            "wall_time_s": wall,
        }
        json_path = args.out / "result.json"
        json_path.write_text(json.dumps(payload, indent=1))
        note(f"wrote {json_path}")
        try:
            _plot(args.out / "learning_curves.png", rows, TARGET)
        except ImportError:
            note("note: matplotlib is not installed, so learning_curves.png was not written "
                 "(pip install 'shapley-sets[plot]'); the curves are in result.json")
        else:
            note(f"wrote {args.out / 'learning_curves.png'}")
    return 0
