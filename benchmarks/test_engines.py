"""pytest-benchmark suite: the same measurements as ``shapley-sets bench``, in
pytest-benchmark's format (saved runs, ``--benchmark-compare``, histograms).

Run with ``python -m pytest benchmarks`` (see README.md). Nothing here asserts
a time; each group puts ``ss.shapley`` beside its baselines.
"""

from __future__ import annotations

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.bench import WORKLOADS, benchmarked, naive
from shapley_sets.engines.reference import coalition_table

# Without the plugin there is no `benchmark` fixture: skip rather than error.
pytest.importorskip("pytest_benchmark", reason="pip install -e '.[bench]' (pytest-benchmark)")

N_SETS, K = 65_536, 16

#: Every utility type that has a workload, whether or not its engine exists
#: yet; tests of the missing ones are skipped, so new engines join by landing.
WORKLOAD_NAMES = list(WORKLOADS)


def workload(name: str):
    """The workload of a registered engine, or skip the test."""
    for _, w in benchmarked()[0]:
        if w.name == name:
            return w
    pytest.skip(f"no registered engine for {name}")


# -- throughput: 65,536 sets x 16 candidates -------------------------------------
@pytest.mark.benchmark(group="throughput 65536x16")
def test_grpo_normalisation(benchmark, rng):
    x = rng.random((N_SETS, K))
    benchmark(naive.grpo_normalise, x)


@pytest.mark.benchmark(group="throughput 65536x16")
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_shapley(benchmark, rng, name):
    case = workload(name).make(rng, N_SETS, K)
    benchmark(ss.shapley, case.u, case.x)


@pytest.mark.benchmark(group="throughput 65536x16")
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_numpy_closed_form(benchmark, rng, name):
    case = workload(name).make(rng, N_SETS, K)
    benchmark(case.naive)


# -- the reference engine, one best-of set ------------------------------------------
@pytest.mark.benchmark(group="reference one set")
@pytest.mark.parametrize("k", [12, 16, 20])
def test_reference_shapley(benchmark, rng, k):
    x = rng.random(k)
    benchmark.pedantic(ss.reference_shapley, (ss.BestOf(), x), rounds=3 if k >= 20 else 10, warmup_rounds=1)


@pytest.mark.benchmark(group="reference one set")
@pytest.mark.parametrize("k", [12, 16, 20])
def test_exact_shapley_table(benchmark, rng, k):
    x = rng.random(k)
    table = coalition_table(ss.BestOf(), x, np.ones(k, dtype=bool))
    benchmark.pedantic(ss.exact_shapley, (table,), rounds=3 if k >= 20 else 10, warmup_rounds=1)


# -- one set through the fast engine (compare with the reference group) -------------------
@pytest.mark.benchmark(group="fast one set")
@pytest.mark.parametrize("k", [16, 20])
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_shapley_one_set(benchmark, rng, name, k):
    case = workload(name).make(rng, 1, k)
    benchmark(ss.shapley, case.u, case.x)


# -- growth with K, and with the batch -----------------------------------------------
@pytest.mark.parametrize("k", [4, 16, 64, 256, 1024])
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_k_sweep(benchmark, rng, name, k):
    w = workload(name)
    n = max(1, (1 << 20) // w.cells(k))
    case = w.make(rng, n, k)
    benchmark.group = f"K sweep K={k} (2^20 input floats)"
    benchmark.extra_info["sets"] = n
    benchmark(ss.shapley, case.u, case.x)


@pytest.mark.parametrize("n", [1, 64, 4096, 65_536])
@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_batch_sweep(benchmark, rng, name, n):
    case = workload(name).make(rng, n, K)
    benchmark.group = f"batch sweep n={n} K={K}"
    benchmark(ss.shapley, case.u, case.x)
