"""``shapley-sets bench``: how fast the exact engines are on this machine.

Runs :func:`shapley_sets.bench.run_benchmarks` and prints its tables (plain
text, Markdown or JSON). Figures are medians of samples taken side by side in
one run; on a loaded machine, rerun before quoting them.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

SECTION_HELP = "reference, throughput, per-set, k-sweep, semivalue-k-sweep, batch-sweep, shapiq"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``shapley-sets bench``."""
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller run, about 30 seconds")
    # Tiny sizes for tests: exercises every code path, figures mean nothing.
    size.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    out.add_argument("--markdown", action="store_true", help="print Markdown tables (for the docs)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=(
            f"run only these sections ({SECTION_HELP}) and/or utilities (e.g. BestOf); "
            "repeatable or comma-separated"
        ),
    )
    parser.add_argument("--repeat", type=int, metavar="N", help="timed samples per figure (medians over them)")
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="numba threads for this run (default: numba's, i.e. NUMBA_NUM_THREADS or the core count)",
    )
    parser.add_argument(
        "--best",
        action="store_true",
        help="report the fastest sample instead of the median (steadier on a loaded machine)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _config(args):
    from ..bench import SECTIONS, WORKLOADS, BenchConfig

    config = BenchConfig.smoke() if args.smoke else BenchConfig.quick() if args.quick else BenchConfig.full()
    changes = {"seed": args.seed, "statistic": "best" if args.best else "median"}
    if args.repeat is not None:
        if args.repeat < 1:
            raise ValueError(f"--repeat must be at least 1, got {args.repeat}")
        changes["repeat"] = args.repeat
        changes["slow_repeat"] = min(config.slow_repeat, args.repeat) if args.quick else args.repeat
    names = [n.strip() for item in args.only or [] for n in item.split(",") if n.strip()]
    sections, utilities = [], []
    workload_names = {w.lower(): w for w in WORKLOADS}
    for name in names:
        if name.lower() in SECTIONS:
            sections.append(name.lower())
        elif name.lower() in workload_names:
            utilities.append(workload_names[name.lower()])
        else:
            raise ValueError(
                f"--only {name!r} is neither a section ({SECTION_HELP}) nor a utility "
                f"({', '.join(WORKLOADS)})"
            )
    if sections:
        changes["sections"] = tuple(s for s in SECTIONS if s in sections)
    if utilities:
        changes["utilities"] = tuple(utilities)
    return dataclasses.replace(config, **changes)


def _command(args) -> str:
    """The command line that reproduces this run (output options left out)."""
    words = ["shapley-sets", "bench"]
    if args.quick:
        words.append("--quick")
    if args.smoke:
        words.append("--smoke")
    for item in args.only or []:
        words += ["--only", item]
    if args.best:
        words.append("--best")
    for flag in ("repeat", "threads"):
        if getattr(args, flag) is not None:
            words += [f"--{flag}", str(getattr(args, flag))]
    if args.seed:
        words += ["--seed", str(args.seed)]
    return " ".join(words)


def run(args) -> int:
    """Run the benchmarks and print the report; exit status 2 on bad options."""
    from ..bench import format_report, report_to_json, run_benchmarks

    try:
        config = _config(args)
    except ValueError as err:
        print(f"shapley-sets bench: error: {err}", file=sys.stderr)
        return 2

    if args.threads is not None:
        import numba

        limit = numba.config.NUMBA_NUM_THREADS
        if not 1 <= args.threads <= limit:
            print(
                f"shapley-sets bench: error: --threads must be between 1 and {limit} "
                f"(NUMBA_NUM_THREADS), got {args.threads}",
                file=sys.stderr,
            )
            return 2
        numba.set_num_threads(args.threads)

    def progress(label):
        if not args.quiet:
            print(f"[bench] {label}", file=sys.stderr, flush=True)

    try:
        report = run_benchmarks(config, progress=progress)
    except ValueError as err:
        print(f"shapley-sets bench: error: {err}", file=sys.stderr)
        return 2
    report["command"] = _command(args)
    if args.json:
        print(report_to_json(report))
    else:
        print(format_report(report, "markdown" if args.markdown else "text"))
    return 0
