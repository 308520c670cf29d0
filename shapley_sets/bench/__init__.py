"""Measurement code behind ``shapley-sets bench`` and ``benchmarks/``.

Not imported by ``import shapley_sets``. Figures are medians of samples taken
side by side in one run (:mod:`~shapley_sets.bench.timing`); workloads are
keyed by utility type (:mod:`~shapley_sets.bench.workloads`), so every
registered engine with a workload is benchmarked; plain numpy versions of the
closed forms (:mod:`~shapley_sets.bench.naive`) are timed beside the engines.

    >>> from shapley_sets.bench import BenchConfig, run_benchmarks, format_report
    >>> BenchConfig.quick().repeat
    3
"""

from .report import (
    TERMINAL_WIDTH,
    format_ratio,
    format_report,
    format_speedup,
    format_time,
    format_time_ratio,
    report_to_json,
)
from .suite import SECTIONS, BenchConfig, Column, Section, machine_info, run_benchmarks
from .timing import Timing, compare, measure
from .workloads import WORKLOADS, Case, Workload, benchmarked

__all__ = [
    "SECTIONS",
    "TERMINAL_WIDTH",
    "WORKLOADS",
    "BenchConfig",
    "Case",
    "Column",
    "Section",
    "Timing",
    "Workload",
    "benchmarked",
    "compare",
    "format_ratio",
    "format_report",
    "format_speedup",
    "format_time",
    "format_time_ratio",
    "machine_info",
    "measure",
    "report_to_json",
    "run_benchmarks",
]
