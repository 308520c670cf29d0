"""How often ss.shapley_estimate's 95% intervals cover the exact value.

Five test games at K = 10 (``shapley_sets.bench.estimation.calibration_games``,
the games of tests/test_estimate.py), 400 seeded trials each, per budget:

    PYTHONPATH=$PWD python benchmarks/estimator_coverage.py
    PYTHONPATH=$PWD python benchmarks/estimator_coverage.py --budgets 60,400 --weights banzhaf

``--weights`` takes "shapley", "banzhaf" or "beta:A,B"; ``--method permutation``
measures the antithetic permutation estimator instead of the stratified one;
``--k`` sets the number of candidates of the five games (default 10). ``--seed`` (default
2024, the seeds of tests/test_estimate.py) seeds the trials: changes to the
error model are developed on other seeds and confirmed once on the default.
``--by-candidate GAME`` shows, for one game, each candidate's coverage, the
shares of intervals that fall below and above the exact value, and the
skewness of its estimates (candidates in decreasing order of score):

    PYTHONPATH=$PWD python benchmarks/estimator_coverage.py --budgets 60 --weights banzhaf --by-candidate best-of
    PYTHONPATH=$PWD python benchmarks/estimator_coverage.py --method permutation --budgets 60,100 --by-candidate best-of
"""

from __future__ import annotations

import argparse

import numpy as np

import shapley_sets as ss
from shapley_sets.bench.estimation import calibration_games, interval_coverage, repeated
from shapley_sets.blackbox.estimate import METHODS


def by_candidate(game: str, budgets: tuple, weights, trials: int, seed: int, method: str, k: int) -> None:
    from scipy import stats

    u, x = calibration_games(k)[game]
    exact = ss.semivalue(u, x, weights)
    # by decreasing score where a candidate has one score (best-of, top-3, any-success)
    order = np.argsort(-x, kind="stable") if x.ndim == 1 and np.ptp(x) > 0 else np.arange(x.shape[-1])
    for budget in budgets:
        est = ss.shapley_estimate(*repeated(u, x, trials), budget=budget, seed=seed, weights=weights,
                                  method=method)
        low, high = est.interval(0.95)
        rows = {
            "coverage": ((low <= exact) & (exact <= high)).mean(0),
            "interval below": (high < exact).mean(0),
            "interval above": (low > exact).mean(0),
            "skewness": stats.skew(est.values, axis=0),
        }
        print(f"budget {budget:4d}  {game}, candidates by decreasing score")
        for label, values in rows.items():
            print(f"  {label:15s}" + "".join(f"{v:7.3f}" for v in values[order]), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="30,60,100,200,400")
    parser.add_argument("--weights", default="shapley")
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--by-candidate", metavar="GAME", choices=tuple(calibration_games()))
    parser.add_argument("--method", default=METHODS[0], choices=METHODS)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    weights = args.weights
    if weights.startswith("beta:"):
        a, b = (float(v) for v in weights[5:].split(","))
        weights = ("beta", a, b)
    budgets = tuple(int(v) for v in args.budgets.split(","))
    if args.by_candidate:
        by_candidate(args.by_candidate, budgets, weights, args.trials, args.seed, args.method, args.k)
        return 0
    rows = interval_coverage(budgets, weights, args.trials, args.seed, args.k, method=args.method)
    for r in rows:
        print(f"budget {r['budget']:4d}  {r['game']:14s} coverage {r['coverage']:.3f}  "
              f"stderr / spread {r['se_ratio']:.2f}  mse {r['mse']:.3e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
