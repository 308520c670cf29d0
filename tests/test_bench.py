"""The benchmark harness: structure of its report, and the numpy closed forms
it times beside the engines (checked against brute force). No timings are
asserted here; speed lives in benchmarks/ and `shapley-sets bench`."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
import types

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.bench import (
    SECTIONS,
    WORKLOADS,
    BenchConfig,
    benchmarked,
    compare,
    format_ratio,
    format_speedup,
    format_time_ratio,
    format_report,
    format_time,
    report_to_json,
    run_benchmarks,
)
from shapley_sets.bench import naive
from shapley_sets.cli.main import main


# -- numpy closed forms against brute force ------------------------------------
def brute_force(value_of, k: int) -> np.ndarray:
    """Shapley values of the set function ``value_of(tuple_of_members)``."""
    table = np.empty(1 << k)
    for m in range(1 << k):
        table[m] = value_of(tuple(j for j in range(k) if m >> j & 1))
    return ss.exact_shapley(table)


def ranked(x, members):
    return sorted((x[j] for j in members), reverse=True)


@pytest.mark.parametrize("seed", range(3))
def test_naive_best_of_and_top_k(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=6)
    for floor in (0.0, 0.3):
        expected = brute_force(lambda s: max([floor] + [x[j] for j in s]), 6)
        np.testing.assert_allclose(naive.best_of(x, floor), expected, atol=1e-12)
    for m in (1, 2, 6):
        expected = brute_force(lambda s: sum(ranked(x, s)[:m]), 6)
        np.testing.assert_allclose(naive.top_k(x, m), expected, atol=1e-12)


@pytest.mark.parametrize(
    "weights",
    [
        lambda s, r: 1.0 / np.log2(r + 1.0),
        lambda s, r: 1.0 / s,
        lambda s, r: float(r == s),
        lambda s, r: float(r <= 2) / min(s, 2),
    ],
    ids=["dcg", "mean", "worst-of", "top-2-mean"],
)
def test_naive_rank_weighted(weights):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6))
    x[1, 2] = x[1, 4]  # a tie
    for row, xs in zip(naive.rank_weighted(x, weights), x):
        expected = brute_force(
            lambda s: sum(weights(len(s), r + 1) * v for r, v in enumerate(ranked(xs, s))), 6
        )
        np.testing.assert_allclose(row, expected, atol=1e-12)


def test_naive_any_success_expected_best_pairwise_additive():
    rng = np.random.default_rng(2)
    k = 6
    p = rng.random(k)
    p[0] = 1.0
    expected = brute_force(lambda s: 1.0 - np.prod([1.0 - p[j] for j in s]), k)
    np.testing.assert_allclose(naive.any_success(p), expected, atol=1e-12)

    x = rng.random((3, k))
    weights, floors = np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.0, 0.4])
    expected = brute_force(
        lambda s: sum(w * max([b] + [x[u, j] for j in s]) for u, (w, b) in enumerate(zip(weights, floors))),
        k,
    )
    np.testing.assert_allclose(naive.expected_best(x, weights, floors), expected, atol=1e-12)

    p3 = rng.random((3, k))
    expected = brute_force(
        lambda s: sum(w * (1.0 - np.prod([1.0 - p3[u, j] for j in s])) for u, w in enumerate(weights)), k
    )
    np.testing.assert_allclose(naive.expected_any_success(p3, weights), expected, atol=1e-12)

    q = rng.normal(size=k)
    d = rng.random((k, k))
    d = d + d.T
    expected = brute_force(
        lambda s: sum(q[j] for j in s) - 0.3 * sum(d[i, j] for i, j in itertools.combinations(s, 2)), k
    )
    np.testing.assert_allclose(naive.pairwise(q, d, 0.3), expected, atol=1e-12)
    np.testing.assert_array_equal(naive.additive(q), q)


def test_naive_grpo_normalise_matches_definition():
    x = np.random.default_rng(3).random((4, 5))
    out = naive.grpo_normalise(x)
    np.testing.assert_allclose(out.mean(1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(1, ddof=1), 1.0)


# -- harness ----------------------------------------------------------------------
def test_compare_structure():
    calls = {"a": 0}

    def a():
        calls["a"] += 1

    t = compare({"a": a, "b": lambda: None}, repeat=4, warmup=2, min_time=0.0)
    assert list(t) == ["a", "b"]
    assert len(t["a"].samples) == 4 and t["a"].number >= 1
    assert t["a"].best <= t["a"].median
    assert calls["a"] >= 2 + 4
    with pytest.raises(ValueError, match="repeat"):
        compare({"a": a}, repeat=0)


def test_formatters():
    assert format_time(0.25) == "250 ms"
    assert format_time(3e-6) == "3.00 µs"
    assert format_ratio(0.5) == "0.50×"
    assert format_ratio(123456.0) == "123,456×"
    # Every printed ratio says which side is faster.
    assert format_speedup(3.2) == "3.20× faster" and format_speedup(0.5) == "0.50× as fast"
    assert format_time_ratio(0.6) == "0.60× the time" and format_time_ratio(2.0) == "2.00× the time"


def test_every_registered_engine_with_a_workload_is_benchmarked():
    pairs, missing = benchmarked()
    names = [w.name for _, w in pairs]
    registered = {e.utility_type.__name__ for e in ss.registered_engines()}
    assert set(names) | set(missing) == registered
    assert "BestOf" in names
    assert set(names) <= set(WORKLOADS)
    assert missing == []  # every built-in utility has a row in `bench`


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_naive_agrees_with_engine(name):
    pairs, _ = benchmarked()
    workload = dict((w.name, w) for _, w in pairs).get(name)
    if workload is None:
        pytest.skip(f"{name} has no registered engine yet")
    case = workload.make(np.random.default_rng(4), 5, 7)
    assert case.x.shape[0] == 5 and case.x.shape[-1] == 7
    np.testing.assert_allclose(ss.shapley(case.u, case.x), case.naive(), atol=1e-10)


@pytest.fixture(scope="module")
def smoke_report():
    return run_benchmarks(BenchConfig.smoke())


def test_smoke_report_structure(smoke_report):
    sections = {s.key: s for s in smoke_report["sections"]}
    assert list(sections) == list(SECTIONS) + ["targets"]
    for key, section in sections.items():
        column_keys = {c.key for c in section.columns}
        for row in section.rows:
            assert {k for k in row if not k.startswith("_")} <= column_keys, key
    config = BenchConfig.smoke()
    benchmarked_names = [u["name"] for u in smoke_report["utilities"]]
    assert [r["K"] for r in sections["reference"].rows] == list(config.reference_ks)
    assert len(sections["throughput"].rows) == len(benchmarked_names)
    for row in sections["throughput"].rows:
        assert row["shapley"] > 0 and row["vs_grpo"] > 0
        assert row["max_abs_diff"] < 1e-9
    assert len(sections["per-set"].rows) == len(benchmarked_names) * len(config.per_set_ks)
    assert [r["K"] for r in sections["k-sweep"].rows] == list(config.k_sweep)
    assert all(set(benchmarked_names) <= set(r) for r in sections["k-sweep"].rows)
    assert [r["batch"] for r in sections["batch-sweep"].rows] == list(config.batch_sizes)
    # Banzhaf and leave-one-out beside Shapley: in the throughput table and one growth line each
    assert all(row["banzhaf"] > 0 and row["loo"] > 0 for row in sections["throughput"].rows)
    semi = sections["semivalue-k-sweep"].rows
    assert len(semi) == 2 * len(benchmarked_names)
    assert all(all(row[f"K{k}"] > 0 for k in config.k_sweep) for row in semi)
    assert smoke_report["machine"]["numba_threads"] >= 1
    # The summary gathers the issue targets of the utilities that ran.
    targets = [r["what"] for r in sections["targets"].rows]
    assert "BestOf() vs GRPO norm" in targets and "BestOf() vs numpy" in targets
    assert all(r["meets"] in ("yes", "no") for r in sections["targets"].rows)


def test_smoke_report_formats(smoke_report):
    data = json.loads(report_to_json(smoke_report))
    assert [s["key"] for s in data["sections"]] == list(SECTIONS) + ["targets"]
    assert data["sections"][1]["rows"][0]["_timings"]["shapley"]["number"] >= 1
    text = format_report(smoke_report)
    assert "== Reference engine, one best-of set ==" in text and "numba threads" in text
    md = format_report(smoke_report, "markdown")
    for block in md.split("\n\n"):
        table = [line for line in block.splitlines() if line.startswith("|")]
        if table:
            assert len({line.count("|") for line in table}) == 1, block
    with pytest.raises(ValueError, match="style"):
        format_report(smoke_report, "html")


def test_text_report_fits_100_columns_unless_wide(smoke_report):
    text = format_report(smoke_report)
    assert max(len(line) for line in text.splitlines()) <= 100
    wide = format_report(smoke_report, wide=True)
    assert max(len(line) for line in wide.splitlines()) > 100
    # The narrow report names what it leaves out; the wide one has it.
    assert "--wide adds: engine, GRPO target, numpy target, max abs diff vs numpy." in text
    assert "max abs diff vs numpy" in wide and "--wide adds" not in wide
    # A table too wide even without its detail columns is split, row names repeated.
    k_sweep = text.split("== Cost per set as K grows ==")[1].split("\n== ")[0]
    assert k_sweep.count("\nK  ") == 2 and "GRPO norm" in k_sweep


def test_every_ratio_cell_is_worded(smoke_report):
    for section in smoke_report["sections"]:
        for column in section.columns:
            assert column.kind != "ratio", (section.key, column.key)
    text = format_report(smoke_report)
    assert "× the time" in text and ("× faster" in text or "× as fast" in text)
    assert not any(word in text for word in ("issue", "Issue"))


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="section"):
        run_benchmarks(dataclasses.replace(BenchConfig.smoke(), sections=("nope",)))
    with pytest.raises(ValueError, match="utility"):
        run_benchmarks(dataclasses.replace(BenchConfig.smoke(), utilities=("Nope",)))
    with pytest.raises(ValueError, match="statistic"):
        run_benchmarks(dataclasses.replace(BenchConfig.smoke(), statistic="mean"))


def test_shapiq_section_with_a_stand_in(monkeypatch):
    class ExactComputer:
        def __init__(self, game, n_players):
            self.game, self.n = game, n_players

        def __call__(self, index):
            assert index == "SV"
            codes = np.arange(1 << self.n)
            coalitions = (codes[:, None] >> np.arange(self.n)) & 1
            table = self.game(coalitions.astype(bool))
            values = ss.exact_shapley(table)
            return types.SimpleNamespace(get_n_order_values=lambda order: values)

    monkeypatch.setitem(sys.modules, "shapiq", types.SimpleNamespace(ExactComputer=ExactComputer))
    config = dataclasses.replace(BenchConfig.smoke(), sections=("shapiq",), shapiq_ks=(3, 5))
    (section,) = run_benchmarks(config)["sections"]
    assert [r["K"] for r in section.rows] == [3, 5]
    assert all(r["max_abs_diff"] < 1e-12 for r in section.rows)


# -- command line ------------------------------------------------------------------
def test_cli_json(capsys):
    code = main(["bench", "--smoke", "--json", "--quiet", "--only", "reference,throughput", "--only", "bestof"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["key"] for s in data["sections"]] == ["reference", "throughput", "targets"]
    assert [r["utility"] for r in data["sections"][1]["rows"]] == ["BestOf()"]


def test_cli_wide(capsys):
    argv = ["bench", "--smoke", "--quiet", "--only", "throughput", "--only", "bestof"]
    assert main(argv) == 0
    narrow = capsys.readouterr().out
    assert main(argv + ["--wide"]) == 0
    wide = capsys.readouterr().out
    assert "max abs diff vs numpy" not in narrow.split("note:")[0] and "max abs diff vs numpy" in wide
    assert max(map(len, narrow.splitlines())) <= 100


def test_cli_markdown_and_progress(capsys):
    assert main(["bench", "--smoke", "--markdown", "--only", "reference", "--repeat", "2", "--best"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("### Machine")
    assert "command: shapley-sets bench --smoke --only reference --best --repeat 2" in captured.out
    assert "fastest samples" in captured.out
    assert "| K |" in captured.out
    assert "[bench] reference K=4" in captured.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "nonsense"], "neither a section"),
        (["--repeat", "0"], "--repeat"),
        (["--threads", "0"], "--threads"),
    ],
)
def test_cli_bad_options(capsys, argv, message):
    assert main(["bench", "--smoke", "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err
