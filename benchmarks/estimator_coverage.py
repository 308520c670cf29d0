"""How often ss.shapley_estimate's 95% intervals cover the exact value.

Five test games at K = 10 (``shapley_sets.bench.estimation.calibration_games``,
the games of tests/test_estimate.py), 400 seeded trials each, per budget:

    PYTHONPATH=$PWD python benchmarks/estimator_coverage.py
    PYTHONPATH=$PWD python benchmarks/estimator_coverage.py --budgets 60,400 --weights banzhaf

``--weights`` takes "shapley", "banzhaf" or "beta:A,B". ``--seed`` (default
2024, the seeds of tests/test_estimate.py) seeds the trials: changes to the
error model are developed on other seeds and confirmed once on the default.
"""

from __future__ import annotations

import argparse

from shapley_sets.bench.estimation import interval_coverage


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="30,60,100,200,400")
    parser.add_argument("--weights", default="shapley")
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    weights = args.weights
    if weights.startswith("beta:"):
        a, b = (float(v) for v in weights[5:].split(","))
        weights = ("beta", a, b)
    rows = interval_coverage(tuple(int(v) for v in args.budgets.split(",")), weights, args.trials, args.seed)
    for r in rows:
        print(f"budget {r['budget']:4d}  {r['game']:14s} coverage {r['coverage']:.3f}  "
              f"stderr / spread {r['se_ratio']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
