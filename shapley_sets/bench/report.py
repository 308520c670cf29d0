"""Formatting a benchmark report: aligned text, Markdown tables or JSON."""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap

__all__ = [
    "TERMINAL_WIDTH",
    "format_time",
    "format_ratio",
    "format_speedup",
    "format_time_ratio",
    "format_report",
    "report_to_json",
]

#: Width of the plain-text report unless ``wide=True``.
TERMINAL_WIDTH = 100


def format_time(seconds) -> str:
    """Seconds with 3 significant digits and a unit from ns to s.

    Examples:
        >>> from shapley_sets.bench import format_time
        >>> format_time(0.000_012_34), format_time(2.5e-9), format_time(1.5)
        ('12.3 µs', '2.50 ns', '1.50 s')
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{_sig3(seconds / scale)} {unit}"
    return f"{_sig3(seconds / 1e-9)} ns"


def _sig3(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def format_ratio(ratio) -> str:
    """A bare ratio as ``0.84×``, ``12.3×`` or ``25,123×``.

    Examples:
        >>> from shapley_sets.bench import format_ratio
        >>> format_ratio(0.8412), format_ratio(12.34), format_ratio(25123.0)
        ('0.84×', '12.3×', '25,123×')
    """
    if ratio is None:
        return ""
    if ratio >= 1000:
        return f"{ratio:,.0f}×"
    return f"{_sig3(ratio)}×"


def format_speedup(ratio) -> str:
    """A speed-up (the baseline's time over ours) in words that say which side
    is faster: ``6.47× faster``, or ``0.93× as fast`` when ours is slower.

    Examples:
        >>> from shapley_sets.bench import format_speedup
        >>> format_speedup(6.47), format_speedup(0.93), format_speedup(23086.0)
        ('6.47× faster', '0.93× as fast', '23,086× faster')
    """
    if ratio is None:
        return ""
    return f"{format_ratio(ratio)} {'faster' if ratio >= 1 else 'as fast'}"


def format_time_ratio(ratio) -> str:
    """A time ratio (our time over the baseline's) in words: ``0.58× the
    time`` (faster than the baseline) or ``2.32× the time`` (slower).

    Examples:
        >>> from shapley_sets.bench import format_time_ratio
        >>> format_time_ratio(0.58), format_time_ratio(2.32)
        ('0.58× the time', '2.32× the time')
    """
    if ratio is None:
        return ""
    return f"{format_ratio(ratio)} the time"


def _cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "time":
        return format_time(value)
    if kind == "ratio":
        return format_ratio(value)
    if kind == "speedup":
        return format_speedup(value)
    if kind == "time_ratio":
        return format_time_ratio(value)
    if kind == "error_ratio":
        # our error over the baseline's: below 1 is more accurate
        return f"{format_ratio(value)} the error"
    if kind == "float":
        return f"{value:.1e}"
    if kind == "int":
        return f"{value:,}" if value >= 10_000 else str(value)
    return str(value)


def _table(section, wide: bool = True) -> tuple[list[str], list[list[str]], list[bool], list[str]]:
    # Columns nobody filled (e.g. numpy columns when no utility has one) are
    # dropped; detail columns (``Column.wide``) only show in the wide report.
    filled = [c for c in section.columns if any(row.get(c.key) not in (None, "") for row in section.rows)]
    columns = [c for c in filled if wide or not getattr(c, "wide", False)]
    hidden = [c.header for c in filled if c not in columns]
    headers = [c.header for c in columns]
    body = [[_cell(row.get(c.key), c.kind) for c in columns] for row in section.rows]
    right = [c.kind != "text" for c in columns]
    return headers, body, right, hidden


def _text_table(headers, body, right, width: int | None) -> list[str]:
    """Aligned columns; a table wider than ``width`` is split into several,
    each repeating the first column (the row's name)."""
    widths = [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(headers)]
    groups, current = [], [0]
    for i in range(1, len(headers)):
        used = sum(widths[j] + 2 for j in current) + widths[i]
        if width is not None and len(current) > 1 and used > width:
            groups.append(current)
            current = [0]
        current.append(i)
    groups.append(current)
    out = []
    for n, cols in enumerate(groups):
        if n:
            out.append("")

        def line(cells):
            return "  ".join(
                cells[i].rjust(widths[i]) if right[i] else cells[i].ljust(widths[i]) for i in cols
            ).rstrip()

        out.append(line(headers))
        out.append("  ".join("-" * widths[i] for i in cols))
        out += [line(row) for row in body]
    return out


def _wrap(text: str, width: int | None, first: str = "", rest: str = "  ") -> list[str]:
    if width is None:
        return [first + text]
    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False, break_long_words=False
    )


_STATISTIC = {"median": "medians", "best": "fastest samples"}


def _machine_lines(machine: dict, config: dict) -> list[str]:
    return [
        f"date: {machine['date']}; preset: {config['preset']}, repeat {config['repeat']} "
        f"(slow calls {config['slow_repeat']}), {_STATISTIC[config.get('statistic', 'median')]}, "
        f"min sample {config['min_time']} s",
        f"machine: {machine['processor']}, {machine['cpu_count']} CPUs "
        f"({machine['usable_cpus']} usable), numba threads {machine['numba_threads']}"
        + (f" ({machine['numba_threading_layer']})" if machine.get("numba_threading_layer") else "")
        + f", load average {machine['load_average']} -> {machine.get('load_average_end')}",
        f"python {machine['python']}, numpy {machine['numpy']}, numba {machine['numba']}, "
        f"scipy {machine['scipy']}, shapley_sets {machine['shapley_sets']}"
        + (f", shapiq {machine['shapiq']}" if machine.get("shapiq") else ""),
    ]


def format_report(report: dict, style: str = "text", *, wide: bool = False) -> str:
    """The report as aligned plain-text tables (``style="text"``) or as
    Markdown (``style="markdown"``, pipe tables ready for the docs).

    Plain text fits a terminal of :data:`TERMINAL_WIDTH` (100) columns: notes
    are wrapped, detail columns are left out (a note names them) and a table
    still too wide is split into parts that repeat its first column.
    ``wide=True`` prints every column, unsplit. Markdown always has every
    column.

    Args:
        report: what :func:`shapley_sets.bench.run_benchmarks` returned.
        style: "text" or "markdown".
        wide: plain text only: every column, lines as long as they need.

    Returns:
        The report as one string, machine information first.

    Raises:
        ValueError: an unknown ``style``.

    Examples:
        >>> import dataclasses
        >>> from shapley_sets.bench import BenchConfig, format_report, run_benchmarks
        >>> cfg = dataclasses.replace(BenchConfig.smoke(), sections=("reference",))
        >>> print(format_report(run_benchmarks(cfg), "markdown"))
        ### Machine
        ...
        | K | ss.reference_shapley | ss.exact_shapley(table) |
        |--:|--:|--:|
        | 4 | ... | ... |
        ...
    """
    if style not in ("text", "markdown"):
        raise ValueError(f"style must be 'text' or 'markdown', got {style!r}")
    md = style == "markdown"
    width = None if md or wide else TERMINAL_WIDTH
    out = []
    machine_lines = _machine_lines(report["machine"], report["config"])
    if report.get("command"):
        machine_lines.insert(0, f"command: {report['command']}")
    if md:
        out += ["### Machine", ""] + [f"- {line}" for line in machine_lines]
    else:
        for line in machine_lines:
            out += _wrap(line, width)
    if report.get("skipped_engines"):
        line = f"registered engines without a benchmark workload (skipped): {', '.join(report['skipped_engines'])}"
        out += [f"- {line}"] if md else _wrap(line, width)
    for section in report["sections"]:
        headers, body, right, hidden = _table(section, wide=md or wide)
        out.append("")
        took = f" ({section.elapsed_s:.1f} s)" if section.elapsed_s and not md else ""
        if md:
            out += [f"### {section.title}", ""]
        else:
            out += _wrap(f"== {section.title} =={took}", width, rest="   ")
        if headers:
            if md:

                def md_line(cells):
                    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

                out.append(md_line(headers))
                out.append("|" + "|".join("--:" if r else "---" for r in right) + "|")
                out += [md_line(row) for row in body]
            else:
                out += _text_table(headers, body, right, width)
        notes = list(section.notes)
        if hidden:
            notes.append(f"--wide adds: {', '.join(hidden)}.")
        if notes:
            if md and headers:
                out.append("")
            for note in notes:
                out += [f"- {note}"] if md else _wrap(note, width, "  note: ", "        ")
    return "\n".join(out)


def report_to_json(report: dict) -> str:
    """The report as JSON: raw numbers (times in seconds), the columns' kinds,
    and every sample of every timing under each row's ``_timings``.

    Examples:
        >>> import dataclasses, json
        >>> from shapley_sets.bench import BenchConfig, report_to_json, run_benchmarks
        >>> cfg = dataclasses.replace(BenchConfig.smoke(), sections=("reference",))
        >>> data = json.loads(report_to_json(run_benchmarks(cfg)))
        >>> data["sections"][0]["key"], sorted(data["sections"][0]["rows"][0])[:3]
        ('reference', ['K', '_timings', 'exact_shapley'])
    """
    data = dict(report)
    data["sections"] = [dataclasses.asdict(section) for section in report["sections"]]
    return json.dumps(data, indent=2, default=float)
