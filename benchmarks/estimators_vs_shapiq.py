"""Error at equal budget: ss.shapley_estimate against shapiq's approximators.

Protocol (fixed before any run): game families with exact Shapley values
(best-of, expected best over 4 user types, any-success, a random sum of 20
unanimity games of order 1-4), K = 10, 16, 20, budgets 2K, 10K, 50K
evaluations (the empty and the whole coalition included, for both
libraries), 5 seeds; seed s draws the game instance and seeds every
estimator. The figure is the mean absolute error over candidates and seeds;
"best" is the smallest mean over each library's methods, cell by cell.
Every method of both libraries gets the same games.

shapiq pulls pandas, scikit-learn and matplotlib, so it lives in its own
environment:

    python -m venv --system-site-packages /work/venv-shapiq
    /work/venv-shapiq/bin/pip install shapiq
    PYTHONPATH=$PWD /work/venv-shapiq/bin/python benchmarks/estimators_vs_shapiq.py

Options: ``--ks 10,16``, ``--seeds 3``, ``--json out.json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import time
import warnings

import numpy as np

import shapley_sets as ss


class Unanimity(ss.Utility):
    """U(S) = Σ_t c_t [T_t ⊆ S]; φ_i = Σ_{t: i ∈ T_t} c_t / |T_t|."""

    def __init__(self, rng: np.random.Generator, k: int, terms: int = 20, max_order: int = 4):
        self.sets = np.zeros((terms, k), dtype=bool)
        for t in range(terms):
            order = int(rng.integers(1, max_order + 1))
            self.sets[t, rng.choice(k, order, replace=False)] = True
        self.coef = rng.normal(size=terms)

    def coalition_values(self, x, members):
        members = np.asarray(members, dtype=bool)
        hit = (members[..., None, :] | ~self.sets).all(axis=-1)  # (..., C, terms)
        return hit @ self.coef

    def exact(self) -> np.ndarray:
        return (self.coef[:, None] * self.sets / self.sets.sum(1, keepdims=True)).sum(0)


def make_game(family: str, k: int, rng: np.random.Generator):
    """(utility, x, exact Shapley values) of one instance."""
    if family == "best-of":
        u, x = ss.BestOf(), rng.random(k)
    elif family == "expected-best":
        u, x = ss.ExpectedBest(weights=rng.random(4) + 0.1), rng.random((4, k)) ** 3
    elif family == "any-success":
        u, x = ss.AnySuccess(), rng.random(k) * 0.5
    elif family == "unanimity":
        u = Unanimity(rng, k)
        return u, np.zeros(k), u.exact()
    else:
        raise ValueError(family)
    return u, x, ss.shapley(u, x)


FAMILIES = ("best-of", "expected-best", "any-success", "unanimity")
OURS = ("stratified", "permutation")
SHAPIQ = ("PermutationSamplingSV", "KernelSHAP", "UnbiasedKernelSHAP", "kADDSHAP", "SVARM",
          "StratifiedSamplingSV", "OwenSamplingSV")


def run_ours(method, u, x, budget, seed):
    return ss.shapley_estimate(u, x, budget=budget, seed=seed, method=method).values


def run_shapiq(shapiq, name, u, x, budget, seed):
    k = x.shape[-1]

    def game(coalitions):
        members = np.atleast_2d(np.asarray(coalitions, dtype=bool))
        return np.asarray(u.coalition_values(x, members), dtype=float).reshape(len(members))

    cls = getattr(shapiq, name)
    approx = cls(n=k, random_state=seed) if name != "kADDSHAP" else cls(n=k, max_order=2, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = approx.approximate(budget=budget, game=game)
    return np.array([result[(i,)] for i in range(k)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="10,16,20")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    import shapiq

    ks = [int(v) for v in args.ks.split(",")]
    rows = []
    for family in FAMILIES:
        for k in ks:
            for mult in (2, 10, 50):
                budget = mult * k
                err = {m: [] for m in OURS + SHAPIQ}
                secs = {m: 0.0 for m in OURS + SHAPIQ}
                for seed in range(args.seeds):
                    u, x, exact = make_game(family, k, np.random.default_rng(1000 + seed))
                    for m in OURS + SHAPIQ:
                        t0 = time.perf_counter()
                        try:
                            est = run_ours(m, u, x, budget, seed) if m in OURS else run_shapiq(
                                shapiq, m, u, x, budget, seed)
                            err[m].append(float(np.abs(est - exact).mean()))
                        except Exception as exc:  # a method that cannot run at this budget
                            err[m].append(float("nan"))
                            secs[m] = float("nan")
                            last = f"{type(exc).__name__}: {exc}"[:120]
                            err.setdefault("_errors", {})[m] = last
                        secs[m] += time.perf_counter() - t0
                mae = {m: float(np.mean(v)) for m, v in err.items() if m != "_errors"}
                ours = {m: mae[m] for m in OURS if np.isfinite(mae[m])}
                theirs = {m: mae[m] for m in SHAPIQ if np.isfinite(mae[m])}
                best_ours = min(ours, key=ours.get)
                best_theirs = min(theirs, key=theirs.get)
                row = {
                    "family": family, "K": k, "budget": budget,
                    "ours_best": best_ours, "ours_mae": ours[best_ours],
                    "shapiq_best": best_theirs, "shapiq_mae": theirs[best_theirs],
                    "ratio": ours[best_ours] / theirs[best_theirs] if theirs[best_theirs] > 0 else float("inf"),
                    "per_seed_wins": int(sum(
                        a <= b for a, b in zip(err[best_ours], err[best_theirs]))),
                    "mae": mae, "seconds": secs, "errors": err.get("_errors", {}),
                }
                rows.append(row)
                print(f"{family:14s} K={k:2d} budget={budget:5d}  ours {best_ours:11s} {row['ours_mae']:.3e}"
                      f"  shapiq {best_theirs:20s} {row['shapiq_mae']:.3e}  ours/shapiq {row['ratio']:.3f}"
                      f"  seeds ours<=shapiq {row['per_seed_wins']}/{args.seeds}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"shapiq": importlib.metadata.version("shapiq"),
                       "shapley_sets": ss.__version__, "seeds": args.seeds, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
