"""``shapley-sets demo`` and the simulation behind it (shapley_sets.sim)."""

import importlib.util
import itertools
import json
import math

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.cli.main import main
from shapley_sets.sim import (
    Method,
    Problem,
    best_set,
    default_methods,
    make_problem,
    pl_grad,
    pl_log_probs,
    sample_sets,
    set_utility,
)

TINY = ["--catalog", "8", "--user-types", "3", "-k", "3", "-g", "4", "--seeds", "2",
        "--steps", "4", "--eval-samples", "16", "--betas", "0.5,2", "--seed", "5"]


def _brute_force_optimum(problem, k):
    best = -np.inf
    for combo in itertools.combinations(range(problem.n_items), k):
        value = sum(w * max(problem.scores[u, j] for j in combo) for u, w in enumerate(problem.weights))
        best = max(best, value)
    return best


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, main(["demo", *TINY, "--out", str(out), "--quiet"])


def test_tiny_run_prints_a_table_with_every_method(tiny_run, capsys):
    # the module fixture ran before capsys started capturing: run again to see the output
    assert main(["demo", *TINY, "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""  # --quiet: no progress line
    for name in ["grpo", "shape b=0.5 tau=within", "shape b=2 tau=set", "passk"]:
        assert f"\n{name} " in printed.out
    assert "exact, by enumerating all 56 sets" in printed.out
    assert "reached 90%" in printed.out and "final % of opt" in printed.out


def test_tiny_run_writes_json_with_the_documented_structure(tiny_run):
    out, rc = tiny_run
    assert rc == 0
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["steps"] == 4 and result["config"]["seeds"] == [5, 6]
    names = [row["method"] for row in result["methods"]]
    assert names == [m.name for m in default_methods(betas=(0.5, 2.0))]
    for row in result["methods"]:
        curves = np.asarray(row["curve_fraction"])
        assert curves.shape == (2, 5)
        assert len(row["steps_to_90"]) == 2 and len(row["final_fraction"]) == 2
        assert [len(set(t)) for t in row["top_sets"]] == [3, 3]
        assert all(0 < f <= 1 + 1e-12 for f in row["top_set_fraction"])
        assert all(s is None or 0 <= s <= 4 for s in row["steps_to_90"])
        assert np.allclose(row["mean_curve_fraction"], curves.mean(axis=0))
        assert np.all((curves > 0) & (curves <= 1 + 1e-12))
    # same seeds and initial policy: every method starts from the same estimate
    starts = np.array([np.asarray(r["curve_fraction"])[:, 0] for r in result["methods"]])
    assert np.all(starts == starts[0])


def test_optimum_in_json_is_the_brute_force_optimum(tiny_run):
    out, _ = tiny_run
    result = json.loads((out / "result.json").read_text())
    problem = make_problem(8, 3, seed=5)
    assert result["optimum"]["method"] == "exact"
    assert result["optimum"]["value"] == pytest.approx(_brute_force_optimum(problem, 3), abs=1e-12)
    assert float(set_utility(problem, result["optimum"]["items"])) == pytest.approx(result["optimum"]["value"])


def test_png_written_when_matplotlib_is_available(tiny_run):
    pytest.importorskip("matplotlib")
    out, _ = tiny_run
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_a_note_is_printed(tmp_path, capsys):
    if importlib.util.find_spec("matplotlib") is not None:
        pytest.skip("matplotlib is installed")
    assert main(["demo", *TINY, "--steps", "1", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "matplotlib is not installed" in err
    assert (tmp_path / "result.json").exists() and not (tmp_path / "learning_curves.png").exists()


def test_large_catalog_uses_greedy_and_says_so(capsys):
    # C(40, 6) = 3,838,380 subsets: above the enumeration limit
    assert main(["demo", "--catalog", "40", "-k", "6", "-g", "2", "--seeds", "1", "--steps", "1",
                 "--eval-samples", "8", "--betas", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "greedy" in out and "(1 - 1/e)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--set-size", "9", "--catalog", "8"], "--set-size"),
        (["-g", "1"], "--group-size"),
        (["--lr", "0"], "--lr"),
        (["--steps", "0"], "--steps"),
    ],
)
def test_bad_arguments_are_reported(argv, message, capsys):
    assert main(["demo", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_betas_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--betas", "1,-1"])
    assert "--betas" in capsys.readouterr().err


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_set_exact_and_greedy(seed):
    problem = make_problem(9, 4, seed=seed)
    value, items, method = best_set(problem, 3)
    assert method == "exact"
    assert value == pytest.approx(_brute_force_optimum(problem, 3), abs=1e-12)
    assert float(ss.value(ss.ExpectedBest(problem.weights), problem.scores[:, items])) == pytest.approx(value)
    g_value, g_items, g_method = best_set(problem, 3, limit=0)
    assert g_method == "greedy" and len(set(g_items.tolist())) == 3
    assert (1 - 1 / math.e) * value - 1e-12 <= g_value <= value + 1e-12


def test_best_set_is_diverse_in_the_default_problem():
    # the reason the demo exists: the best set is not the k items best on average
    problem = make_problem(60, 6, seed=0)
    value, items, _ = best_set(problem, 4)
    popular = np.argsort(-(problem.weights @ problem.scores))[:4]
    assert set(items.tolist()) != set(popular.tolist())
    assert float(set_utility(problem, popular)) < value


def test_pl_log_probs_form_a_distribution_over_ordered_sets():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=5)
    tuples = np.array(list(itertools.permutations(range(5), 3)))
    total = np.exp(pl_log_probs(logits, tuples).sum(axis=-1)).sum()
    assert total == pytest.approx(1.0, abs=1e-12)


def test_pl_grad_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 7))  # two seeds
    sets = np.stack([sample_sets(logits[s], 3, rng, 4) for s in range(2)])
    adv = rng.normal(size=sets.shape)

    def objective(theta):
        return float((adv * pl_log_probs(theta, sets)).sum())

    grad = pl_grad(logits, sets, adv)
    h = 1e-6
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (objective(up) - objective(down)) / (2 * h)
    assert np.allclose(grad, numeric, atol=1e-7)


def test_sample_sets_follows_plackett_luce():
    rng = np.random.default_rng(2)
    logits = np.array([1.0, 0.0, -1.0, 0.5])
    sets = sample_sets(logits, 2, rng, 40_000)
    assert all(len(set(row)) == 2 for row in sets[:100].tolist())
    first = np.bincount(sets[:, 0], minlength=4) / len(sets)
    p = np.exp(logits) / np.exp(logits).sum()
    assert np.allclose(first, p, atol=0.01)
    # second draw given the first is item 0: softmax over the rest
    second = np.bincount(sets[sets[:, 0] == 0, 1], minlength=4)
    q = np.exp(logits[1:]) / np.exp(logits[1:]).sum()
    assert second[0] == 0 and np.allclose(second[1:] / second.sum(), q, atol=0.015)


def test_methods_reduce_to_grpo_at_beta_zero():
    rng = np.random.default_rng(3)
    problem = make_problem(10, 3, seed=3)
    sets = rng.permuted(np.tile(np.arange(10), (2, 4, 1)), axis=-1)[..., :3]  # (seeds, G, K)
    rewards = set_utility(problem, sets)
    phi = ss.shapley(ss.ExpectedBest(problem.weights), np.moveaxis(problem.scores[:, sets], 0, -2))
    assert np.allclose(phi.sum(axis=-1), rewards)
    plain = Method("grpo").advantages(rewards, phi, 4)
    assert plain.shape == (2, 4, 3)
    assert np.allclose(plain, ss.grpo.set_advantages(rewards.ravel(), 4).reshape(2, 4, 1))
    assert np.allclose(Method("shape", beta=0.0).advantages(rewards, phi, 4), plain)
    shaped = Method("shape", beta=1.0).advantages(rewards, phi, 4)
    assert np.allclose(shaped.mean(axis=-1), plain[..., 0])  # per set, candidates average to A_g


def test_passk_credits_only_each_groups_best_set():
    rewards = np.array([[0.2, 0.9, 0.5, 0.4], [0.1, 0.3, 0.7, 0.0]])  # (seeds, G)
    adv = Method("passk").advantages(rewards, np.zeros((2, 4, 3)), 4)
    assert adv.shape == (2, 4, 3)
    expected = np.zeros((2, 4))
    expected[0, 1] = 0.4 / (np.std(rewards[0], ddof=1) + 1e-6)
    expected[1, 2] = 0.4 / (np.std(rewards[1], ddof=1) + 1e-6)
    assert np.allclose(adv, expected[..., None])


def test_problem_shape_and_validation():
    p = make_problem(12, 5, seed=4)
    assert isinstance(p, Problem) and p.scores.shape == (5, 12)
    assert np.all((p.scores > 0) & (p.scores < 1)) and p.weights.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_items"):
        make_problem(1, 2)
    with pytest.raises(ValueError, match="k must be"):
        best_set(p, 13)
