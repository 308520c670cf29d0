"""The benchmark suite behind ``shapley-sets bench``.

Six sections, each a table of medians and ratios measured side by side in one
run (see :mod:`shapley_sets.bench.timing`):

``reference``
    the reference engine on one best-of set at K = 12, 16, 20, whole
    (``ss.reference_shapley``) and on a precomputed value table
    (``ss.exact_shapley``).
``throughput``
    ``ss.shapley`` on 65,536 sets of 16 candidates for every benchmarked
    utility, against GRPO's normalisation of a (65,536, 16) array and against
    a straightforward numpy implementation of the same closed form; beside
    it ``ss.banzhaf`` and ``ss.leave_one_out`` on the same input.
``per-set``
    one set through the reference engine against the fast engine, at K = 16
    and 20.
``k-sweep``
    cost per set as K grows from 4 to 1024.
``semivalue-k-sweep``
    the same for ``ss.banzhaf`` and ``ss.leave_one_out``, one line each.
``batch-sweep``
    cost per call for batches of 1 to 65,536 sets at K = 16.
``shapiq``
    shapiq's ``ExactComputer`` (when installed) on one best-of set.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import importlib.metadata
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import shapley_sets as ss

from . import naive
from .timing import Timing, compare
from .report import format_ratio, format_time
from .workloads import WORKLOADS, benchmarked

__all__ = ["SECTIONS", "BenchConfig", "Column", "Section", "machine_info", "run_benchmarks"]

#: Section keys, in the order they run.
SECTIONS = ("reference", "throughput", "per-set", "k-sweep", "semivalue-k-sweep", "batch-sweep",
            "shapiq")

#: The semivalues timed beside ss.shapley: key, label, function.
SEMIVALUES = (("banzhaf", "ss.banzhaf", ss.banzhaf), ("loo", "ss.leave_one_out", ss.leave_one_out))

#: Issue targets of the reference engine, per set (seconds).
REFERENCE_TARGETS = {16: 10e-3, 20: 250e-3}

#: Issue target of the fast engines against the reference engine at K = 20.
PER_SET_TARGET = 1e4


def _powers(lo: int, hi: int, factor: int = 2) -> tuple[int, ...]:
    out, v = [], lo
    while v <= hi:
        out.append(v)
        v *= factor
    return tuple(out)


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and repetitions of one benchmark run.

    Use :meth:`full`, :meth:`quick` or :meth:`smoke` and adjust with
    ``dataclasses.replace``.

    Attributes:
        preset: name shown in the report.
        repeat: samples per timing (medians are over these).
        slow_repeat: samples of calls that take a second or so (the reference
            engine at K = 20).
        warmup: untimed calls before timing (numba compilation, caches).
        min_time: shortest sample in seconds; faster calls are repeated.
        budget: seconds after which a comparison stops taking samples (once
            it has three).
        statistic: "median" (default) or "best" (the fastest sample, which
            background load disturbs least) for the tables and ratios; the
            JSON keeps every sample either way.
        sections: the section keys to run.
        utilities: utility type names to run (None: every benchmarked one).
        reference_ks: K of the reference section.
        throughput_sets, throughput_k: the batch of the throughput section.
        per_set_ks: K of the per-set section; per_set_batch: the batch over
            which the fast engine's per-set cost is amortised.
        k_sweep: K of the K sweep; k_sweep_cells: input floats per batch
            (batch = cells // per-set input size, at least 1).
        batch_sizes, batch_k: the batch sweep.
        shapiq_ks: K of the shapiq comparison.
        seed: seed of the random inputs.
    """

    preset: str = "full"
    repeat: int = 5
    slow_repeat: int = 3
    warmup: int = 1
    min_time: float = 0.05
    budget: float = 3.0
    statistic: str = "median"
    sections: tuple = SECTIONS
    utilities: tuple | None = None
    reference_ks: tuple = (12, 16, 20)
    throughput_sets: int = 65_536
    throughput_k: int = 16
    per_set_ks: tuple = (16, 20)
    per_set_batch: int = 4096
    k_sweep: tuple = _powers(4, 1024)
    k_sweep_cells: int = 1 << 20
    batch_sizes: tuple = _powers(1, 65_536, 4)
    batch_k: int = 16
    shapiq_ks: tuple = (8, 10, 12, 14, 16)
    seed: int = 0

    @classmethod
    def full(cls) -> "BenchConfig":
        """The default run: every size the issues ask for (a few minutes)."""
        return cls()

    @classmethod
    def quick(cls) -> "BenchConfig":
        """About 30 seconds: fewer samples, a lighter K sweep, no K = 14, 16 for shapiq."""
        return cls(
            preset="quick",
            repeat=3,
            slow_repeat=1,
            min_time=0.02,
            budget=1.0,
            k_sweep=_powers(4, 1024, 4),
            k_sweep_cells=1 << 17,
            batch_sizes=(1, 64, 4096, 65_536),
            shapiq_ks=(8, 10, 12),
        )

    @classmethod
    def smoke(cls) -> "BenchConfig":
        """Tiny sizes that only exercise the code (figures are meaningless)."""
        return cls(
            preset="smoke",
            repeat=1,
            slow_repeat=1,
            warmup=1,
            min_time=0.0,
            budget=0.0,
            reference_ks=(4, 6),
            throughput_sets=64,
            throughput_k=8,
            per_set_ks=(6,),
            per_set_batch=16,
            k_sweep=(4, 8),
            k_sweep_cells=256,
            batch_sizes=(1, 8),
            batch_k=6,
            shapiq_ks=(4,),
        )


@dataclass(frozen=True)
class Column:
    """A table column: ``kind`` is "time" (seconds), "ratio", "int", "float"
    or "text", and tells the formatters how to print its raw values."""

    key: str
    header: str
    kind: str = "text"


@dataclass
class Section:
    """One table of the report: raw values in ``rows`` (seconds for times),
    keyed by column; a key starting with "_" holds details for the JSON only."""

    key: str
    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    elapsed_s: float = 0.0


# -- machine --------------------------------------------------------------
def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict:
    """What the figures depend on: cores, numba threads, library versions, load.

    Examples:
        >>> from shapley_sets.bench import machine_info
        >>> info = machine_info()
        >>> info["numba_threads"] >= 1 and "numpy" in info
        True
    """
    import numba
    import scipy

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "numba_threads": numba.get_num_threads(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "shapley_sets": ss.__version__,
        "shapiq": _version("shapiq"),
        "load_average": load,
    }


# -- helpers ----------------------------------------------------------------
def _timings(config: BenchConfig, fns: dict[str, Callable], *, slow: bool = False):
    # Slow calls (about a second) get no warm-up call: each section first
    # runs its functions on a tiny set, which compiles and loads everything.
    return compare(
        fns,
        repeat=config.slow_repeat if slow else config.repeat,
        warmup=0 if slow else config.warmup,
        min_time=config.min_time,
        budget=config.budget,
    )


def _stat(config: BenchConfig, timing: Timing) -> float:
    return timing.best if config.statistic == "best" else timing.median


def _detail(timings: dict[str, Timing]) -> dict:
    return {name: t.as_dict() for name, t in timings.items()}


def _max_abs_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) if np.size(a) else 0.0


# -- sections -------------------------------------------------------------
def _reference_section(config, pairs, progress) -> Section:
    from ..engines.reference import coalition_table

    section = Section(
        "reference",
        "Reference engine, one best-of set",
        [
            Column("K", "K", "int"),
            Column("reference_shapley", "ss.reference_shapley", "time"),
            Column("exact_shapley", "ss.exact_shapley(table)", "time"),
            Column("target", "target", "text"),
            Column("meets", "meets", "text"),
        ],
        notes=[
            "ss.reference_shapley enumerates the 2^K coalitions of BestOf() and "
            "sweeps them; ss.exact_shapley times the sweep alone on a precomputed table.",
            "Targets (issue 2) apply to ss.reference_shapley.",
        ],
    )
    rng = np.random.default_rng(config.seed)
    u = ss.BestOf()
    ss.reference_shapley(u, rng.random(4))
    for k in config.reference_ks:
        progress(f"reference K={k}")
        x = rng.random(k)
        table = coalition_table(u, x, np.ones(k, dtype=bool))
        t = _timings(
            config,
            {
                "reference_shapley": lambda: ss.reference_shapley(u, x),
                "exact_shapley": lambda: ss.exact_shapley(table),
            },
            slow=k >= 20,
        )
        target = REFERENCE_TARGETS.get(k)
        row = {
            "K": k,
            "reference_shapley": _stat(config, t["reference_shapley"]),
            "exact_shapley": _stat(config, t["exact_shapley"]),
            "target": "" if target is None else f"<= {target * 1e3:g} ms",
            "meets": ""
            if target is None
            else ("yes" if _stat(config, t["reference_shapley"]) <= target else "no"),
            "_timings": _detail(t),
        }
        section.rows.append(row)
    return section


def _throughput_section(config, pairs, progress) -> Section:
    n, k = config.throughput_sets, config.throughput_k
    section = Section(
        "throughput",
        f"ss.shapley on {n:,} sets x {k} candidates vs GRPO normalisation and vs numpy",
        [
            Column("utility", "utility", "text"),
            Column("engine", "engine", "text"),
            Column("shapley", "ss.shapley", "time"),
            Column("grpo", "GRPO norm", "time"),
            Column("vs_grpo", "shapley / GRPO", "ratio"),
            Column("target_grpo", "target", "text"),
            Column("naive", "numpy closed form", "time"),
            Column("vs_naive", "numpy / shapley", "ratio"),
            Column("target_naive", "target", "text"),
            Column("max_abs_diff", "max abs diff vs numpy", "float"),
        ] + [Column(key, label, "time") for key, label, _ in SEMIVALUES],
        notes=[
            f"GRPO norm: (x - x.mean(1)) / x.std(1, ddof=1) on a ({n}, {k}) float64 array.",
            "numpy closed form: the same formula as the engine, vectorised numpy "
            "(sort + cumsum; Gauss-Legendre for AnySuccess), shapley_sets.bench.naive.",
            "The three are sampled in turns in one run; times are per call (see the header: medians or fastest samples).",
        ],
    )
    section.notes += [f"{w.label}: {e.name}, {e.complexity} per set." for e, w in pairs]
    rng = np.random.default_rng(config.seed)
    grpo_x = rng.random((n, k))
    for engine, workload in pairs:
        progress(f"throughput {workload.name}")
        case = workload.make(rng, n, k)
        fns = {
            "shapley": lambda: ss.shapley(case.u, case.x),
            "grpo": lambda: naive.grpo_normalise(grpo_x),
        }
        if case.naive is not None:
            fns["naive"] = case.naive
        for key, _, credit in SEMIVALUES:
            fns[key] = (lambda f: lambda: f(case.u, case.x))(credit)
        t = _timings(config, fns)
        row = {
            "utility": workload.label,
            "engine": engine.name,
            "shapley": _stat(config, t["shapley"]),
            "grpo": _stat(config, t["grpo"]),
            "vs_grpo": _stat(config, t["shapley"]) / _stat(config, t["grpo"]),
            "target_grpo": "" if workload.target_vs_grpo is None else f"<= {workload.target_vs_grpo:g}x",
            "_timings": _detail(t),
            **{key: _stat(config, t[key]) for key, _, _ in SEMIVALUES},
        }
        if case.naive is not None:
            row["naive"] = _stat(config, t["naive"])
            row["vs_naive"] = _stat(config, t["naive"]) / _stat(config, t["shapley"])
            row["target_naive"] = "" if workload.target_vs_naive is None else f">= {workload.target_vs_naive:g}x"
            row["max_abs_diff"] = _max_abs_diff(ss.shapley(case.u, case.x), case.naive())
        section.rows.append(row)
    return section


def _per_set_section(config, pairs, progress) -> Section:
    batch = config.per_set_batch
    section = Section(
        "per-set",
        "One set: reference engine vs fast engine",
        [
            Column("utility", "utility", "text"),
            Column("K", "K", "int"),
            Column("reference", "reference_shapley", "time"),
            Column("single", "shapley, 1 set", "time"),
            Column("amortised", f"shapley per set (batch {batch:,})", "time"),
            Column("speedup_single", "speed-up (1 set)", "ratio"),
            Column("speedup_amortised", "speed-up (batch)", "ratio"),
        ],
        notes=[
            "speed-up = reference time / fast time; '1 set' includes the per-call "
            "overhead (validation, dispatch), 'batch' is the cost per set in a batch.",
            f"Target (issue 3): >= {PER_SET_TARGET:g}x at K = 20.",
        ],
    )
    rng = np.random.default_rng(config.seed)
    for engine, workload in pairs:
        # Compile and load everything on a small set, so that the slow calls
        # below need no warm-up call of their own.
        small = workload.make(rng, 1, 4)
        ss.reference_shapley(small.u, small.x)
        for k in config.per_set_ks:
            if k > ss.MAX_REFERENCE_K:
                continue
            progress(f"per-set {workload.name} K={k}")
            case = workload.make(rng, batch, k)
            # A batch of one set: utilities may carry per-set data (Pairwise's
            # distance matrices) whose batch shape must match x's.
            one = workload.make(rng, 1, k)
            slow = _timings(config, {"reference": lambda: ss.reference_shapley(one.u, one.x)}, slow=k >= 20)
            fast = _timings(
                config,
                {"single": lambda: ss.shapley(one.u, one.x), "batch": lambda: ss.shapley(case.u, case.x)},
            )
            ref = _stat(config, slow["reference"])
            single = _stat(config, fast["single"])
            amortised = _stat(config, fast["batch"]) / batch
            section.rows.append(
                {
                    "utility": workload.label,
                    "K": k,
                    "reference": ref,
                    "single": single,
                    "amortised": amortised,
                    "speedup_single": ref / single,
                    "speedup_amortised": ref / amortised,
                    "_timings": {**_detail(slow), **_detail(fast)},
                }
            )
    return section


def _sweep_columns(first: list, pairs) -> list:
    return first + [Column(w.name, w.label, "time") for _, w in pairs] + [Column("grpo", "GRPO norm", "time")]


def _k_sweep_section(config, pairs, progress) -> Section:
    cells = config.k_sweep_cells
    section = Section(
        "k-sweep",
        "Cost per set as K grows",
        _sweep_columns([Column("K", "K", "int")], pairs),
        notes=[
            f"Each utility runs on a batch of max(1, {cells:,} // input floats per set) sets "
            "(K per set; M*K for ExpectedBest; K*(K+1) for Pairwise); "
            "times are per set (call time / batch). GRPO norm: the same on a (batch, K) array.",
            "Utilities with a cached per-K table (RankWeighted) build it during warm-up, untimed.",
        ],
    )
    rng = np.random.default_rng(config.seed)
    for k in config.k_sweep:
        progress(f"k-sweep K={k}")
        fns, sizes, row = {}, {}, {"K": k, "_batch": {}}
        for _, workload in pairs:
            n = max(1, cells // workload.cells(k))
            case = workload.make(rng, n, k)
            fns[workload.name] = (lambda c: lambda: ss.shapley(c.u, c.x))(case)
            sizes[workload.name] = n
        n = max(1, cells // k)
        grpo_x = rng.random((n, k))
        fns["grpo"] = lambda: naive.grpo_normalise(grpo_x)
        sizes["grpo"] = n
        t = _timings(config, fns)
        for name, timing in t.items():
            row[name] = _stat(config, timing) / sizes[name]
        row["_batch"] = sizes
        row["_timings"] = _detail(t)
        section.rows.append(row)
    return section


def _semivalue_k_sweep_section(config, pairs, progress) -> Section:
    cells = config.k_sweep_cells
    section = Section(
        "semivalue-k-sweep",
        "Cost per set as K grows: Banzhaf and leave-one-out",
        [Column("utility", "utility", "text"), Column("credit", "credit", "text")]
        + [Column(f"K{k}", f"K={k}", "time") for k in config.k_sweep],
        notes=[
            "Batches as in the K sweep above (ss.shapley's times are there); times per set.",
        ],
    )
    rng = np.random.default_rng(config.seed)
    rows = {(w.name, key): {"utility": w.label, "credit": label, "_timings": {}}
            for _, w in pairs for key, label, _ in SEMIVALUES}
    for k in config.k_sweep:
        progress(f"semivalue-k-sweep K={k}")
        fns, sizes = {}, {}
        for _, workload in pairs:
            n = max(1, cells // workload.cells(k))
            case = workload.make(rng, n, k)
            for key, _, credit in SEMIVALUES:
                name = f"{workload.name}/{key}"
                fns[name] = (lambda f, c: lambda: f(c.u, c.x))(credit, case)
                sizes[name] = n
        t = _timings(config, fns)
        for name, timing in t.items():
            utility, key = name.split("/")
            rows[utility, key][f"K{k}"] = _stat(config, timing) / sizes[name]
            rows[utility, key]["_timings"][f"K{k}"] = timing.as_dict()
    section.rows = list(rows.values())
    return section


def _batch_sweep_section(config, pairs, progress) -> Section:
    k = config.batch_k
    section = Section(
        "batch-sweep",
        f"Cost per call as the batch grows (K = {k})",
        _sweep_columns([Column("batch", "sets", "int")], pairs),
        notes=["Times are per call of ss.shapley on the whole batch (divide by the batch for per set)."],
    )
    rng = np.random.default_rng(config.seed)
    for n in config.batch_sizes:
        progress(f"batch-sweep n={n}")
        fns = {}
        for _, workload in pairs:
            case = workload.make(rng, n, k)
            fns[workload.name] = (lambda c: lambda: ss.shapley(c.u, c.x))(case)
        grpo_x = rng.random((n, k))
        fns["grpo"] = lambda: naive.grpo_normalise(grpo_x)
        t = _timings(config, fns)
        row = {"batch": n, **{name: _stat(config, timing) for name, timing in t.items()}}
        row["_timings"] = _detail(t)
        section.rows.append(row)
    return section


def _shapiq_section(config, pairs, progress) -> Section:
    section = Section(
        "shapiq",
        "shapiq's ExactComputer vs shapley_sets, one best-of set",
        [
            Column("K", "K", "int"),
            Column("shapiq", "shapiq ExactComputer('SV')", "time"),
            Column("reference", "ss.reference_shapley", "time"),
            Column("shapley", "ss.shapley", "time"),
            Column("vs_reference", "shapiq / reference", "ratio"),
            Column("vs_shapley", "shapiq / shapley", "ratio"),
            Column("max_abs_diff", "max abs diff vs ss.shapley", "float"),
        ],
    )
    try:
        shapiq = importlib.import_module("shapiq")
    except ImportError:
        section.notes.append(
            "shapiq is not installed: skipped (pip install shapiq; it pulls pandas, "
            "scikit-learn and matplotlib, so it is not a dependency)."
        )
        return section
    section.notes.append(
        f"shapiq {_version('shapiq')}: ExactComputer(game, n_players=K)('SV'), "
        "the game being BestOf().coalition_values on shapiq's coalition matrix; "
        "each call builds a new ExactComputer (shapiq caches results per instance)."
    )
    rng = np.random.default_rng(config.seed)
    u = ss.BestOf()
    warm = rng.random(4)
    shapiq.ExactComputer(lambda c: u.coalition_values(warm, np.asarray(c, dtype=bool)), n_players=4)("SV")
    ss.reference_shapley(u, warm)
    for k in config.shapiq_ks:
        progress(f"shapiq K={k}")
        x = rng.random(k)

        def game(coalitions, x=x):
            return u.coalition_values(x, np.asarray(coalitions, dtype=bool))

        def run_shapiq(k=k, game=game):
            values = shapiq.ExactComputer(game, n_players=k)("SV")
            return values.get_n_order_values(1)

        t = _timings(
            config,
            {
                "shapiq": run_shapiq,
                "reference": lambda: ss.reference_shapley(u, x),
                "shapley": lambda: ss.shapley(u, x),
            },
            slow=k >= 14,
        )
        section.rows.append(
            {
                "K": k,
                "shapiq": _stat(config, t["shapiq"]),
                "reference": _stat(config, t["reference"]),
                "shapley": _stat(config, t["shapley"]),
                "vs_reference": _stat(config, t["shapiq"]) / _stat(config, t["reference"]),
                "vs_shapley": _stat(config, t["shapiq"]) / _stat(config, t["shapley"]),
                "max_abs_diff": _max_abs_diff(run_shapiq(), ss.shapley(u, x)),
                "_timings": _detail(t),
            }
        )
    return section


def _targets_section(sections) -> Section:
    """The issue targets met or missed, gathered from the sections that ran."""
    summary = Section(
        "targets",
        "Targets",
        [
            Column("what", "what", "text"),
            Column("measured", "measured", "text"),
            Column("target", "target", "text"),
            Column("meets", "meets", "text"),
        ],
        notes=["Derived from the tables above; a loaded machine can miss a target that an idle one meets."],
    )

    def add(what, measured, text, target, ok):
        summary.rows.append(
            {"what": what, "measured": measured, "target": text, "meets": "yes" if ok else "no", "_value": target}
        )

    by_key = {s.key: s for s in sections}
    by_label = {w.label: w for w in WORKLOADS.values()}

    for row in by_key.get("reference", Section("", "", [])).rows:
        target = REFERENCE_TARGETS.get(row["K"])
        if target is not None:
            t = row["reference_shapley"]
            add(f"reference engine, K = {row['K']}", format_time(t), f"<= {format_time(target)}", target, t <= target)
    for row in by_key.get("throughput", Section("", "", [])).rows:
        workload = by_label.get(row["utility"])
        if workload is None:
            continue
        if workload.target_vs_grpo is not None:
            r = row["vs_grpo"]
            add(f"{row['utility']} / GRPO norm", format_ratio(r), f"<= {workload.target_vs_grpo:g}x",
                workload.target_vs_grpo, r <= workload.target_vs_grpo)
        if workload.target_vs_naive is not None and "vs_naive" in row:
            r = row["vs_naive"]
            add(f"{row['utility']} vs numpy", format_ratio(r), f">= {workload.target_vs_naive:g}x",
                workload.target_vs_naive, r >= workload.target_vs_naive)
    for row in by_key.get("per-set", Section("", "", [])).rows:
        if row["K"] == 20:
            r = row["speedup_amortised"]
            add(f"{row['utility']} vs reference, K = 20 (per set in a batch)", format_ratio(r),
                f">= {PER_SET_TARGET:,.0f}x", PER_SET_TARGET, r >= PER_SET_TARGET)
    return summary


_RUNNERS = {
    "reference": _reference_section,
    "throughput": _throughput_section,
    "per-set": _per_set_section,
    "k-sweep": _k_sweep_section,
    "semivalue-k-sweep": _semivalue_k_sweep_section,
    "batch-sweep": _batch_sweep_section,
    "shapiq": _shapiq_section,
}


def run_benchmarks(config: BenchConfig | None = None, *, progress: Callable[[str], None] | None = None) -> dict:
    """Run the benchmark sections of ``config`` and return the report.

    Args:
        config: sizes and repetitions (default :meth:`BenchConfig.full`).
        progress: called with a short label before each measurement.

    Returns:
        ``{"machine": machine_info(), "config": {...}, "utilities": [...],
        "skipped_engines": [...], "sections": [Section, ...]}``; format it
        with :func:`shapley_sets.bench.format_report`.

    Raises:
        ValueError: an unknown section or utility name in ``config``.

    Examples:
        >>> from shapley_sets.bench import BenchConfig, run_benchmarks
        >>> import dataclasses
        >>> cfg = dataclasses.replace(BenchConfig.smoke(), sections=("reference",))
        >>> report = run_benchmarks(cfg)
        >>> [row["K"] for row in report["sections"][0].rows]
        [4, 6]
    """
    config = config or BenchConfig.full()
    progress = progress or (lambda label: None)
    if config.statistic not in ("median", "best"):
        raise ValueError(f"statistic must be 'median' or 'best', got {config.statistic!r}")
    unknown = [s for s in config.sections if s not in _RUNNERS]
    if unknown:
        raise ValueError(f"unknown benchmark section(s) {unknown}; choose from {list(SECTIONS)}")
    pairs, missing = benchmarked()
    if config.utilities is not None:
        wanted = {name.lower() for name in config.utilities}
        known = {w.name.lower() for _, w in pairs}
        bad = sorted(wanted - known)
        if bad:
            raise ValueError(
                f"unknown or unregistered utility name(s) {bad}; benchmarked: {[w.name for _, w in pairs]}"
            )
        pairs = [(e, w) for e, w in pairs if w.name.lower() in wanted]
    machine = machine_info()
    sections = []
    for key in SECTIONS:
        if key in config.sections:
            started = time.perf_counter()
            section = _RUNNERS[key](config, pairs, progress)
            section.elapsed_s = time.perf_counter() - started
            sections.append(section)
    summary = _targets_section(sections)
    if summary.rows:
        sections.append(summary)
    try:
        import numba

        machine["numba_threading_layer"] = numba.threading_layer()
    except (ValueError, ImportError):
        pass
    try:
        machine["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return {
        "machine": machine,
        "config": dataclasses.asdict(config),
        "utilities": [{"name": w.name, "label": w.label, "engine": e.name, "complexity": e.complexity} for e, w in pairs],
        "skipped_engines": missing,
        "sections": sections,
    }
