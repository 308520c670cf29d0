"""Estimators at equal budget, and the cost of evaluating black-box coalitions.

The games of the comparison have exact Shapley values: best-of, expected best
over 4 user types, any-success, and a random sum of 20 unanimity games of
order 1-4. For each family, K and budget, seed s draws the game instance and
seeds every estimator; the figure is the mean absolute error over candidates
and seeds, and "best" is the smallest of each library's methods, cell by
cell. Budgets count every evaluation, the empty and the whole coalition
included, for both libraries.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np

import shapley_sets as ss

__all__ = [
    "FAMILIES",
    "OURS",
    "SHAPIQ_METHODS",
    "Unanimity",
    "calibration_games",
    "compare_estimators",
    "interval_coverage",
    "repeated",
    "evaluation_overhead",
    "make_game",
]

FAMILIES = ("best-of", "expected-best", "any-success", "unanimity")
OURS = ("stratified", "permutation")
SHAPIQ_METHODS = ("PermutationSamplingSV", "KernelSHAP", "UnbiasedKernelSHAP", "kADDSHAP", "SVARM",
                  "StratifiedSamplingSV", "OwenSamplingSV")


class Unanimity(ss.Utility):
    """A random sum of unanimity games, ``U(S) = Σ_t c_t [T_t ⊆ S]``, whose
    Shapley values are ``φ_i = Σ_{t: i ∈ T_t} c_t / |T_t|``.

    Examples:
        >>> import numpy as np
        >>> from shapley_sets.bench.estimation import Unanimity
        >>> import shapley_sets as ss
        >>> u = Unanimity(np.random.default_rng(0), 5)
        >>> bool(np.allclose(ss.shapley(u, np.zeros(5)), u.exact()))
        True
    """

    def __init__(self, rng: np.random.Generator, k: int, terms: int = 20, max_order: int = 4) -> None:
        self.sets = np.zeros((terms, k), dtype=bool)
        for t in range(terms):
            order = int(rng.integers(1, min(max_order, k) + 1))
            self.sets[t, rng.choice(k, order, replace=False)] = True
        self.coef = rng.normal(size=terms)

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        hit = (members[..., None, :] | ~self.sets).all(axis=-1)
        return hit @ self.coef

    def exact(self) -> np.ndarray:
        """The exact Shapley values."""
        return (self.coef[:, None] * self.sets / self.sets.sum(1, keepdims=True)).sum(0)


def make_game(family: str, k: int, rng: np.random.Generator) -> tuple:
    """``(utility, x, exact Shapley values)`` of one instance of ``family``.

    Examples:
        >>> import numpy as np
        >>> from shapley_sets.bench.estimation import make_game
        >>> u, x, exact = make_game("best-of", 6, np.random.default_rng(0))
        >>> exact.shape
        (6,)
    """
    u: ss.Utility
    if family == "best-of":
        u, x = ss.BestOf(), rng.random(k)
    elif family == "expected-best":
        w = rng.random(4) + 0.1
        # weights that sum to w.sum(), written as a scaled expectation
        u, x = float(w.sum()) * ss.ExpectedBest(weights=tuple(w / w.sum())), rng.random((4, k)) ** 3
    elif family == "any-success":
        u, x = ss.AnySuccess(), rng.random(k) * 0.5
    elif family == "unanimity":
        game = Unanimity(rng, k)
        return game, np.zeros(k), game.exact()
    else:
        raise ValueError(f"unknown game family {family!r}; choose from {FAMILIES}")
    return u, x, ss.shapley(u, x)


def _run_shapiq(shapiq, name, u, x, budget, seed):
    k = x.shape[-1]

    def game(coalitions):
        members = np.atleast_2d(np.asarray(coalitions, dtype=bool))
        return np.asarray(u.coalition_values(x, members), dtype=float).reshape(len(members))

    cls = getattr(shapiq, name)
    extra = {"max_order": 2} if name == "kADDSHAP" else {}
    approx = cls(n=k, random_state=seed, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = approx.approximate(budget=budget, game=game)
    return np.array([result[(i,)] for i in range(k)])


def compare_estimators(ks: tuple = (10, 16, 20), multiples: tuple = (2, 10, 50), seeds: int = 5,
                       families: tuple = FAMILIES, progress: Callable[[str], None] | None = None,
                       seed_offset: int = 0) -> list:
    """Mean absolute error of every estimator, ours and (when importable)
    shapiq's, per family, K and budget ``multiple · K``.

    Seed s (s = ``seed_offset`` … ``seed_offset + seeds − 1``) draws the game
    from ``default_rng(1000 + s)`` and seeds every method with s. The
    comparison's figures use the default offset 0; changes to an estimator
    are developed on other seeds (a positive offset) and checked once on them.

    Returns:
        One dict per cell: ``family``, ``K``, ``budget``, ``mae`` (method ->
        mean absolute error; NaN where a method failed), ``seed_mae`` (method
        -> per-seed errors), ``errors`` (method -> the last exception),
        ``ours_best``/``ours_mae``, ``shapiq_best``/``shapiq_mae`` and their
        ``ratio`` (None without shapiq), ``seconds`` per method.

    Examples:
        >>> from shapley_sets.bench.estimation import compare_estimators
        >>> rows = compare_estimators(ks=(6,), multiples=(10,), seeds=1, families=("best-of",))
        >>> rows[0]["budget"], rows[0]["ours_mae"] < 0.1
        (60, True)
    """
    try:
        import shapiq
    except ImportError:
        shapiq = None
    methods = OURS + (SHAPIQ_METHODS if shapiq is not None else ())
    rows = []
    for family in families:
        for k in ks:
            for mult in multiples:
                budget = mult * k
                if progress:
                    progress(f"estimators {family} K={k} budget={budget}")
                seed_mae: dict[str, list[float]] = {m: [] for m in methods}
                seconds = {m: 0.0 for m in methods}
                errors = {}
                for seed in range(seed_offset, seed_offset + seeds):
                    u, x, exact = make_game(family, k, np.random.default_rng(1000 + seed))
                    for m in methods:
                        started = time.perf_counter()
                        try:
                            if m in OURS:
                                est = ss.shapley_estimate(u, x, budget=budget, seed=seed, method=m).values
                            else:
                                est = _run_shapiq(shapiq, m, u, x, budget, seed)
                            seed_mae[m].append(float(np.abs(est - exact).mean()))
                        except Exception as exc:  # a method that cannot run at this budget
                            seed_mae[m].append(float("nan"))
                            errors[m] = f"{type(exc).__name__}: {exc}"[:160]
                        seconds[m] += time.perf_counter() - started
                mae = {m: float(np.mean(v)) for m, v in seed_mae.items()}
                row = {"family": family, "K": k, "budget": budget, "mae": mae, "seed_mae": seed_mae,
                       "errors": errors, "seconds": seconds}
                for side, names in (("ours", OURS), ("shapiq", SHAPIQ_METHODS if shapiq else ())):
                    ok = {m: mae[m] for m in names if np.isfinite(mae[m])}
                    best = min(ok, key=lambda name: ok[name]) if ok else None
                    row[f"{side}_best"] = best
                    row[f"{side}_mae"] = ok[best] if best else None
                if row["shapiq_mae"]:
                    row["ratio"] = row["ours_mae"] / row["shapiq_mae"]
                    row["seeds_ours_not_worse"] = int(sum(
                        a <= b for a, b in zip(seed_mae[row["ours_best"]], seed_mae[row["shapiq_best"]])))
                else:
                    row["ratio"] = None
                rows.append(row)
    return rows


#: Above this many candidates :func:`calibration_games` has no random table game.
_TABLE_MAX_K = 20


def calibration_games(k: int = 10) -> dict:
    """The test games of the error-bar calibration: name -> ``(utility, x)``
    (best-of, top-3, any-success, an expected best over 3 user types, and up
    to K = 20 a random table), drawn from seed 7.

    Examples:
        >>> from shapley_sets.bench.estimation import calibration_games
        >>> list(calibration_games())
        ['best-of', 'top-3', 'any-success', 'expected-best', 'random table']
    """
    from ..testing import TableGame

    rng = np.random.default_rng(7)
    games = {
        "best-of": (ss.BestOf(), rng.random(k)),
        "top-3": (ss.TopK(3), rng.normal(size=k)),
        "any-success": (ss.AnySuccess(), rng.random(k) * 0.6),
        "expected-best": (3.5 * ss.ExpectedBest(weights=[1 / 3.5, 2 / 3.5, 0.5 / 3.5]), rng.random((3, k))),
    }
    if k <= _TABLE_MAX_K:  # a table of 2^k values
        games["random table"] = (TableGame(rng.normal(size=1 << k)), np.zeros(k))
    return games


def repeated(u, x, trials: int) -> tuple:
    """The same game as a batch of ``trials`` sets (each set draws its own stream)."""
    from ..testing import TableGame

    if isinstance(u, TableGame):
        return TableGame(np.broadcast_to(u.table, (trials,) + u.table.shape)), np.zeros((trials, x.shape[-1]))
    return u, np.broadcast_to(x, (trials,) + x.shape)


def interval_coverage(budgets: tuple = (30, 60, 100, 200, 400), weights="shapley", trials: int = 400,
                      seed: int = 2024, k: int = 10, *, method: str = "stratified") -> list:
    """How often ``ss.shapley_estimate``'s 95% intervals (of ``method``) cover the exact value.

    Returns:
        One dict per (budget, game): ``budget``, ``game``, ``coverage`` (share
        of the ``trials × k`` intervals that hold the exact value), ``se_ratio``
        (mean standard error over the spread of the estimates), ``mse`` (mean
        squared error of the estimates over trials and candidates).

    Examples:
        >>> from shapley_sets.bench.estimation import interval_coverage
        >>> rows = interval_coverage(budgets=(60,), trials=20)
        >>> len(rows), 0.5 < rows[0]["coverage"] <= 1.0
        (5, True)
    """
    rows = []
    for budget in budgets:
        for name, (u, x) in calibration_games(k).items():
            exact = ss.semivalue(u, x, weights)
            est = ss.shapley_estimate(*repeated(u, x, trials), budget=budget, seed=seed, weights=weights,
                                      method=method)
            low, high = est.interval(0.95)
            rows.append({"budget": budget, "game": name,
                         "coverage": float(np.mean((low <= exact) & (exact <= high))),
                         "se_ratio": float(np.mean(est.stderr.mean(0) / est.values.std(0, ddof=1))),
                         "mse": float(np.mean((est.values - exact) ** 2))})
    return rows


def evaluation_overhead(ks: tuple = (12, 16), repeat: int = 5) -> list:
    """Our own cost per coalition evaluation of a :class:`~shapley_sets.SetFunction`
    whose fn does nothing: exact Shapley of one set, batched and one by one,
    and a batch of 8 sets that share half their candidates.

    Returns:
        One dict per (K, case): ``K``, ``case``, ``calls`` (evaluations),
        ``seconds`` (fastest of ``repeat`` calls), ``per_call`` (seconds per
        evaluation).

    Examples:
        >>> from shapley_sets.bench.estimation import evaluation_overhead
        >>> [r["calls"] for r in evaluation_overhead(ks=(4,), repeat=1)]
        [15, 15, 39]
    """
    rows = []
    for k in ks:
        names = [f"idea {j}" for j in range(k)]
        rng = np.random.default_rng(0)
        pool = [f"idea {j}" for j in range(k, 2 * k)]
        shared = [names[: k // 2] + list(rng.choice(pool, k - k // 2, replace=False)) for _ in range(8)]
        cases = [
            ("one set, batched", ss.SetFunction(lambda cs: [0.0] * len(cs), batched=True, empty_value=0.0),
             [names]),
            ("one set, one by one", ss.SetFunction(lambda c: 0.0, empty_value=0.0), [names]),
            ("8 sets sharing half, batched",
             ss.SetFunction(lambda cs: [0.0] * len(cs), batched=True, empty_value=0.0), shared),
        ]
        for label, u, sets in cases:
            ss.shapley(u, [names[:3]])
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                ss.shapley(u, sets)
                best = min(best, time.perf_counter() - started)
            rows.append({"K": k, "case": label, "calls": u.last_calls, "seconds": best,
                         "per_call": best / u.last_calls})
    return rows
