"""Benchmark workloads, keyed by utility type name.

Each entry makes a utility and a random input of a given batch size and K,
plus the straightforward numpy implementation of the same closed form
(:mod:`shapley_sets.bench.naive`) bound to the same parameters. Entries for
utility types that do not exist yet are harmless: the suite benchmarks every
*registered* engine whose utility type has an entry here, so a new engine is
picked up as soon as it is registered and exported as ``ss.<Name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import shapley_sets as ss

from ..engines import Engine
from . import naive

__all__ = ["Case", "Workload", "WORKLOADS", "EXPECTED_BEST_TYPES", "workload_for", "benchmarked"]

#: User types of the ExpectedBest and ExpectedAnySuccess workloads (their x is ``(n, M, K)``).
EXPECTED_BEST_TYPES = 8


@dataclass(frozen=True)
class Case:
    """One benchmark input.

    Attributes:
        u: the utility.
        x: its input, ``(n, K)`` or ``(n, M, K)``.
        naive: zero-argument callable computing the same Shapley values with
            plain numpy, or None when there is none.
    """

    u: object
    x: np.ndarray
    naive: Callable[[], np.ndarray] | None


@dataclass(frozen=True)
class Workload:
    """How to benchmark one utility type.

    Attributes:
        name: the utility type's name, as exported by ``shapley_sets``.
        make: ``make(rng, n_sets, k) -> Case``.
        label: the utility as shown in tables (with its parameters).
        target_vs_grpo: performance target for ``ss.shapley`` time over GRPO
            normalisation time at 65,536 x 16 (None: no target).
        target_vs_naive: performance target for the speed-up over numpy.
        cells: input floats per set at K (bounds the batch of the K sweep).
    """

    name: str
    make: Callable[[np.random.Generator, int, int], Case]
    label: str
    target_vs_grpo: float | None = None
    target_vs_naive: float | None = 5.0
    cells: Callable[[int], int] = lambda k: k


def _scores(rng, n, k):
    return rng.random((n, k))


def _best_of(rng, n, k):
    x = _scores(rng, n, k)
    return Case(ss.BestOf(), x, lambda: naive.best_of(x))


def _linear_combination(rng, n, k):
    x = _scores(rng, n, k)
    u = ss.BestOf() + 0.5 * ss.BestOf(floor=0.5)
    return Case(u, x, lambda: naive.best_of(x) + 0.5 * naive.best_of(x, 0.5))


_TOP = 4


def _top_k(rng, n, k):
    x = _scores(rng, n, k)
    return Case(ss.TopK(_TOP), x, lambda: naive.top_k(x, _TOP))


def dcg_weight(s, r):
    """Position discount ``1 / log2(r + 1)`` (DCG), whatever the set size."""
    return 1.0 / np.log2(r + 1.0)


def _rank_weighted(rng, n, k):
    x = _scores(rng, n, k)
    return Case(ss.RankWeighted(dcg_weight), x, lambda: naive.rank_weighted(x, dcg_weight))


def _any_success(rng, n, k):
    p = rng.random((n, k))
    return Case(ss.AnySuccess(), p, lambda: naive.any_success(p))


def _expected_best(rng, n, k):
    m = EXPECTED_BEST_TYPES
    weights = rng.dirichlet(np.ones(m))
    floors = 0.2 * rng.random(m)
    x = rng.random((n, m, k))
    u = ss.ExpectedBest(weights, floors)
    return Case(u, x, lambda: naive.expected_best(x, weights, floors))


def _expected_any_success(rng, n, k):
    m = EXPECTED_BEST_TYPES
    weights = rng.dirichlet(np.ones(m))
    p = rng.random((n, m, k))
    return Case(ss.ExpectedAnySuccess(weights), p, lambda: naive.expected_any_success(p, weights))


_LAMBDA = 0.1


def _pairwise(rng, n, k):
    q = rng.random((n, k))
    d = rng.random((n, k, k))
    d = d + np.swapaxes(d, -1, -2)
    u = ss.Pairwise(d, _LAMBDA)
    return Case(u, q, lambda: naive.pairwise(q, d, _LAMBDA))


def _additive(rng, n, k):
    x = _scores(rng, n, k)
    return Case(ss.Additive(), x, lambda: naive.additive(x))


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("BestOf", _best_of, "BestOf()", target_vs_grpo=1.0),
        Workload("TopK", _top_k, f"TopK({_TOP})", target_vs_grpo=1.0),
        Workload("RankWeighted", _rank_weighted, "RankWeighted(DCG)", target_vs_grpo=1.0),
        Workload("AnySuccess", _any_success, "AnySuccess()", target_vs_grpo=5.0),
        Workload(
            "ExpectedBest",
            _expected_best,
            f"ExpectedBest(M={EXPECTED_BEST_TYPES})",
            target_vs_grpo=8.0,
            cells=lambda k: EXPECTED_BEST_TYPES * k,
        ),
        Workload(
            "ExpectedAnySuccess",
            _expected_any_success,
            f"ExpectedAnySuccess(M={EXPECTED_BEST_TYPES})",
            target_vs_naive=None,
            cells=lambda k: EXPECTED_BEST_TYPES * k,
        ),
        Workload(
            "Pairwise",
            _pairwise,
            f"Pairwise(λ={_LAMBDA})",
            target_vs_naive=None,
            cells=lambda k: k * (k + 1),
        ),
        Workload("Additive", _additive, "Additive()", target_vs_naive=None),
        Workload(
            "LinearCombination",
            _linear_combination,
            "BestOf() + 0.5·BestOf(0.5)",
            target_vs_naive=None,
        ),
    ]
}


def workload_for(utility_type: type) -> Workload | None:
    """The workload of a utility type, or None when the table has no entry
    for it (or the entry's type is not the one exported by shapley_sets)."""
    workload = WORKLOADS.get(utility_type.__name__)
    if workload is None:
        return None
    if getattr(ss, workload.name, None) is not utility_type:
        return None
    return workload


def benchmarked() -> tuple[list[tuple[Engine, Workload]], list[str]]:
    """The registered engines that have a workload, in registration order,
    and the names of the utility types of those that have none.

    Examples:
        >>> from shapley_sets.bench.workloads import benchmarked
        >>> pairs, missing = benchmarked()
        >>> [w.name for _, w in pairs][:1]
        ['BestOf']
    """
    pairs, missing = [], []
    for engine in ss.registered_engines():
        workload = workload_for(engine.utility_type)
        if workload is None:
            missing.append(engine.utility_type.__name__)
        else:
            pairs.append((engine, workload))
    # The table's order, so that reports list the utilities alike from run to run.
    rank = {name: i for i, name in enumerate(WORKLOADS)}
    pairs.sort(key=lambda pair: rank[pair[1].name])
    return pairs, missing
