"""Formatting a benchmark report: aligned text, Markdown tables or JSON."""

from __future__ import annotations

import dataclasses
import json
import math

__all__ = ["format_time", "format_ratio", "format_report", "report_to_json"]


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
    """A ratio as ``0.84x``, ``12.3x`` or ``25,000x``.

    Examples:
        >>> from shapley_sets.bench import format_ratio
        >>> format_ratio(0.8412), format_ratio(12.34), format_ratio(25123.0)
        ('0.84x', '12.3x', '25,123x')
    """
    if ratio is None:
        return ""
    if ratio >= 1000:
        return f"{ratio:,.0f}x"
    return f"{_sig3(ratio)}x"


def _cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "time":
        return format_time(value)
    if kind == "ratio":
        return format_ratio(value)
    if kind == "float":
        return f"{value:.1e}"
    if kind == "int":
        return f"{value:,}" if value >= 10_000 else str(value)
    return str(value)


def _table(section) -> tuple[list[str], list[list[str]], list[bool]]:
    # Columns nobody filled (e.g. numpy columns when no utility has one) are dropped.
    columns = [c for c in section.columns if any(row.get(c.key) not in (None, "") for row in section.rows)]
    headers = [c.header for c in columns]
    body = [[_cell(row.get(c.key), c.kind) for c in columns] for row in section.rows]
    right = [c.kind != "text" for c in columns]
    return headers, body, right


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


def format_report(report: dict, style: str = "text") -> str:
    """The report as aligned plain-text tables (``style="text"``) or as
    Markdown (``style="markdown"``, pipe tables ready for the docs).

    Args:
        report: what :func:`shapley_sets.bench.run_benchmarks` returned.
        style: "text" or "markdown".

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
    out = []
    machine_lines = _machine_lines(report["machine"], report["config"])
    if report.get("command"):
        machine_lines.insert(0, f"command: {report['command']}")
    if md:
        out += ["### Machine", ""] + [f"- {line}" for line in machine_lines]
    else:
        out += machine_lines
    if report.get("skipped_engines"):
        line = f"registered engines without a benchmark workload (skipped): {', '.join(report['skipped_engines'])}"
        out.append(f"- {line}" if md else line)
    for section in report["sections"]:
        headers, body, right = _table(section)
        out.append("")
        took = f" ({section.elapsed_s:.1f} s)" if section.elapsed_s and not md else ""
        out.append(f"### {section.title}" if md else f"== {section.title} =={took}")
        if md:
            out.append("")
        if headers:
            if md:

                def md_line(cells):
                    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

                out.append(md_line(headers))
                out.append("|" + "|".join("--:" if r else "---" for r in right) + "|")
                out += [md_line(row) for row in body]
            else:
                widths = [max([len(h)] + [len(row[i]) for row in body]) for i, h in enumerate(headers)]

                def line(cells):
                    return "  ".join(
                        c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)
                    ).rstrip()

                out.append(line(headers))
                out.append("  ".join("-" * w for w in widths))
                out += [line(row) for row in body]
        if section.notes:
            if md and headers:
                out.append("")
            out += [f"- {note}" if md else f"  note: {note}" for note in section.notes]
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
