"""Credit rules against plain GRPO on fresh problems of the demo's three tasks.

Each seed s is one problem instance (``make_task(task, s)``) trained once,
with training seed s, by every rule: the same sets are drawn first and the
same evaluation noise is used, so rules are compared seed by seed. Targets
(fixed before the held-out run): against GRPO, pooled over the three tasks,
at least 1.5x fewer steps to 95% of the optimum; mean final value at least
GRPO's on every task; final value at least GRPO's in at least 90% of seeds.

    PYTHONPATH=. python benchmarks/credit_rules.py --seeds 1000-1009          # held-out seeds
    PYTHONPATH=. python benchmarks/credit_rules.py --seeds 100-109 --rules grpo,recommended,loo:2,shape:1

Steps to 95%: a run that never gets there counts as the step budget (300),
a bound in the run's favour, so the pooled ratio counts every run. Rules:
``grpo``, ``recommended`` (:data:`shapley_sets.grpo.RECOMMENDED_RULE`),
``loo:B`` / ``banzhaf:B`` (marginal rule, β = B), ``loo:B:spread`` (the
same with the reward-spread gate, ``gate="spread"``), ``loo:B:sum`` (the
credit term on the scale σ_R + σ_c, ``gate="sum"``), ``shape:B`` (the
Shapley rule, τ = within), ``loo:A-B-N`` (β linear from A to B over N steps).
Nothing is asserted; it prints the table.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from shapley_sets.grpo import RECOMMENDED_RULE, CreditRule, LinearSchedule
from shapley_sets.sim import TASKS, Method, TrainConfig, best_set, make_task, steps_to_fraction, train

BUDGET = 300
TARGET = 0.95


def _rule(spec: str) -> Method:
    if spec == "grpo":
        return Method("grpo")
    if spec == "recommended":
        return Method("rule", RECOMMENDED_RULE, label=f"recommended ({RECOMMENDED_RULE.name})", recommended=True)
    credit, _, beta = spec.partition(":")
    beta, _, gate = beta.partition(":")
    if "-" in beta:
        a, b, n = beta.split("-")
        beta_value = LinearSchedule(float(a), float(b), int(n))
    else:
        beta_value = float(beta)
    if credit == "shape":
        return Method("rule", CreditRule("shapley", "shapley", beta=beta_value), label=f"shape-grpo b={beta}")
    label = f"marginal {credit} b={beta}" + (f" gate={gate}" if gate else "")
    return Method("rule", CreditRule(credit, beta=beta_value, gate=gate or "none"), label=label)


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def run_protocol(tasks, seeds, methods, start: float) -> dict:
    """``{(task, seed, method name): (steps to 95%, final fraction)}``: problem ``make_task(task, seed)``
    trained once with training seed ``seed`` by every method (an unreached run counts ``BUDGET`` steps)."""
    runs = {}
    for task in tasks:
        for seed in seeds:
            problem = make_task(task, seed)
            opt = best_set(problem, 4)[0]
            for m in methods:
                # a method may ask for another training seed (the exploration script's GRPO reruns)
                config = TrainConfig(k=4, group_size=8, steps=BUDGET, seeds=(seed + getattr(m, "seed_offset", 0),))
                out = train(problem, m, config)
                s = steps_to_fraction(out["curves"][0] / opt, TARGET)
                runs[task, seed, m.name] = (BUDGET if s is None else s, float(out["final"][0] / opt))
            print(f"{task} seed {seed} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=_seeds, default=_seeds("1000-1009"), help="problem and training seeds, A-B")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks")
    parser.add_argument("--rules", default="grpo,recommended", help="comma-separated rules; the first is the baseline")
    args = parser.parse_args(argv)
    methods = [_rule(r) for r in args.rules.split(",")]
    tasks = args.tasks.split(",")
    start = time.perf_counter()
    runs = run_protocol(tasks, args.seeds, methods, start)
    # steps[t][m]: steps to 95% per seed; final[t][m]: final fraction per seed
    steps = {t: {m.name: [runs[t, s, m.name][0] for s in args.seeds] for m in methods} for t in tasks}
    final = {t: {m.name: [runs[t, s, m.name][1] for s in args.seeds] for m in methods} for t in tasks}

    base = methods[0].name
    n = len(args.seeds)
    print(f"seeds {args.seeds[0]}..{args.seeds[-1]} (one problem and one training run per seed), "
          f"K=4, G=8, {BUDGET} steps, Adam lr=0.1; steps to 95% counts an unreached run as {BUDGET}")
    head = f"{'task':10s} {'rule':34s} {'reached 95%':>11s} {'steps to 95%':>13s} {'vs ' + base:>8s} " \
           f"{'final %':>8s} {'final >= ' + base:>14s}"
    print(head)
    print("-" * len(head))
    for task in tasks:
        b_steps, b_final = np.array(steps[task][base]), np.array(final[task][base])
        for m in methods:
            st, fi = np.array(steps[task][m.name]), np.array(final[task][m.name])
            reached = int((st < BUDGET).sum())
            print(f"{task:10s} {m.name:34s} {reached:>8d}/{n:<2d} {st.mean():13.1f} {b_steps.sum() / st.sum():7.2f}x "
                  f"{100 * fi.mean():8.2f} {int((fi >= b_final).sum()):>11d}/{n}")
    print()
    for task in tasks:  # where a rule loses to the baseline, by how much
        for m in methods[1:]:
            diff = 100 * (np.array(final[task][m.name]) - np.array(final[task][base]))
            print(f"{task:10s} {m.name:34s} final - {base}, points, per seed: "
                  + " ".join(f"{d:+.1f}" for d in diff))
    print()
    for m in methods[1:]:
        all_b = np.concatenate([steps[t][base] for t in tasks])
        all_m = np.concatenate([steps[t][m.name] for t in tasks])
        ge = sum(int((np.array(final[t][m.name]) >= np.array(final[t][base])).sum()) for t in tasks)
        mean_ok = all(np.mean(final[t][m.name]) >= np.mean(final[t][base]) for t in tasks)
        print(f"{m.name}: pooled steps to 95% {all_b.sum() / all_m.sum():.2f}x fewer than {base} (target >= 1.5); "
              f"mean final >= {base}'s on every task: {'yes' if mean_ok else 'no'}; "
              f"final >= {base}'s in {ge}/{len(all_b)} seeds = {100 * ge / len(all_b):.0f}% (target >= 90%)")
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
