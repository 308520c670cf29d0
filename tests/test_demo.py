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
    make_task,
    pl_grad,
    pl_log_probs,
    sample_sets,
    set_utility,
)

TINY = ["--catalog", "8", "--user-types", "3", "-k", "3", "-g", "4", "--seeds", "2",
        "--steps", "4", "--eval-samples", "16", "--seed", "5"]
TASK_NAMES = ("recommend", "code", "ideas")


def _brute_force_optimum(problem, k):
    # every K-subset, no pruning: an independent check of best_set
    combos = np.array(list(itertools.combinations(range(problem.n_items), k)))
    return float(set_utility(problem, combos).max())


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, main(["demo", "--task", "all", *TINY, "--out", str(out), "--quiet"])


def test_tiny_run_prints_a_table_per_task_with_every_method(tiny_run, capsys):
    # the module fixture ran before capsys started capturing: run again to see the output
    assert main(["demo", *TINY, "--quiet"]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""  # --quiet: no progress line
    for task in TASK_NAMES:
        assert f"== {task}: " in printed.out
    for name in ["grpo", "shape-grpo b=1", "marginal loo b=1", "marginal banzhaf b=1",
                 "marginal loo b=1 gate=spread *", "wta", "passk"]:
        assert printed.out.count(f"\n{name}  ") == 3  # the padded first column, then two spaces
    assert "exact, by enumeration" in printed.out
    assert "the uniform starting policy reaches" in printed.out
    for col in ("reached 90%", "steps to 95%", "final % of opt", "final >= grpo"):
        assert col in printed.out


def test_tiny_run_writes_json_with_the_documented_structure(tiny_run):
    out, rc = tiny_run
    assert rc == 0
    result = json.loads((out / "result.json").read_text())
    assert result["config"]["steps"] == 4 and result["config"]["seeds"] == [5, 6]
    assert list(result["tasks"]) == list(TASK_NAMES)
    for task in result["tasks"].values():
        names = [row["method"] for row in task["methods"]]
        assert names == [m.name for m in default_methods()]
        assert [row["recommended"] for row in task["methods"]].count(True) == 1
        grpo_final = np.asarray(task["methods"][0]["final_fraction"])
        for row in task["methods"]:
            curves = np.asarray(row["curve_fraction"])
            assert curves.shape == (2, 5)
            assert len(row["steps_to_90"]) == 2 and len(row["steps_to_95"]) == 2
            assert len(row["final_fraction"]) == 2
            assert row["final_ge_grpo"] == int((np.asarray(row["final_fraction"]) >= grpo_final).sum())
            assert all(s is None or 0 <= s <= 4 for s in row["steps_to_90"] + row["steps_to_95"])
            assert np.allclose(row["mean_curve_fraction"], curves.mean(axis=0))
            assert np.all((curves >= 0) & (curves <= 1 + 1e-12))
        # same seeds and initial policy: every method starts from the same estimate
        starts = np.array([np.asarray(r["curve_fraction"])[:, 0] for r in task["methods"]])
        assert np.all(starts == starts[0])
        assert task["uniform_fraction"] == pytest.approx(starts[0].mean())


def test_one_task_also_has_its_methods_at_the_top_level(tmp_path):
    assert main(["demo", "--task", "ideas", *TINY, "--steps", "1", "--out", str(tmp_path), "--quiet"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert list(result["tasks"]) == ["ideas"]
    assert result["methods"] == result["tasks"]["ideas"]["methods"]
    assert result["methods"][4]["recommended"] is True
    assert result["methods"][4]["method"] == "marginal loo b=1 gate=spread"
    assert [row["gate"] for row in result["methods"]] == [None, None, "none", "none", "spread", None, None]
    assert [row["recommended"] for row in result["methods"]].count(True) == 1


def test_optimum_in_json_is_the_brute_force_optimum(tiny_run):
    out, _ = tiny_run
    result = json.loads((out / "result.json").read_text())
    for name in TASK_NAMES:
        problem = make_task(name, 5, n_items=8, n_types=3)
        opt = result["tasks"][name]["optimum"]
        assert opt["method"] == "exact"
        assert opt["value"] == pytest.approx(_brute_force_optimum(problem, 3), abs=1e-12)
        assert float(set_utility(problem, opt["items"])) == pytest.approx(opt["value"])


@pytest.mark.parametrize("name", TASK_NAMES)
def test_default_problems_are_hard(name):
    # the uniform policy is at most half the optimum, as the demo claims
    problem = make_task(name, 0)
    value, _, method = best_set(problem, 4)
    assert method == "exact"
    sets = sample_sets(np.zeros(problem.n_items), 4, np.random.default_rng(0), 20_000)
    assert float(set_utility(problem, sets).mean()) / value < 0.45


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", TASK_NAMES)
def test_pruning_dominated_items_keeps_the_optimum(name, seed):
    problem = make_task(name, seed, n_items=12, n_types=4)
    value, items, _ = best_set(problem, 3)
    assert value == pytest.approx(_brute_force_optimum(problem, 3), abs=1e-12)
    assert float(set_utility(problem, items)) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_problem_credits_are_the_semivalues_of_the_set_utility(name):
    problem = make_task(name, 2, n_items=9, n_types=4)
    sets = np.array([[0, 3, 5, 8], [1, 2, 4, 6]])
    phi = problem.credits(sets, "shapley")
    assert np.allclose(phi.sum(axis=-1), set_utility(problem, sets))  # efficiency
    loo = problem.credits(sets, "loo")
    for j in range(4):
        rest = np.delete(sets, j, axis=1)
        assert np.allclose(loo[:, j], set_utility(problem, sets) - set_utility(problem, rest))
    banzhaf = problem.credits(sets, "banzhaf")
    for i, row in enumerate(sets):
        for j in range(4):
            others = [v for v in row if v != row[j]]
            gains = [
                float(set_utility(problem, list(t) + [row[j]])) - (float(set_utility(problem, list(t))) if t else 0.0)
                for s in range(4) for t in itertools.combinations(others, s)
            ]
            assert banzhaf[i, j] == pytest.approx(np.mean(gains), abs=1e-12)


def test_large_catalog_uses_greedy_and_says_so(capsys):
    # C(40, 6) = 3,838,380 subsets: above the enumeration limit
    assert main(["demo", "--task", "recommend", "--catalog", "40", "-k", "6", "-g", "2", "--seeds", "1",
                 "--steps", "1", "--eval-samples", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "greedy" in out and "monotone submodular" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--set-size", "9", "--catalog", "8"], "--set-size"),
        (["-g", "1"], "--group-size"),
        (["--lr", "0"], "--lr"),
        (["--steps", "0"], "--steps"),
        (["--task", "ideas", "--user-types", "2"], "--user-types"),
        (["--catalog", "1"], "--catalog"),
        (["--seed", "-1"], "--seed must be at least 0"),
    ],
)
def test_bad_arguments_are_reported(argv, message, capsys):
    assert main(["demo", *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_out_path_that_cannot_be_written_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["demo", "--out", str(blocker / "sub")]) == 2
    captured = capsys.readouterr()
    assert "--out" in captured.err and "cannot be created" in captured.err
    assert captured.out == ""  # no table: nothing was trained


@pytest.mark.parametrize("argv", [["--beta", "-1"], ["--beta", "x"], ["--task", "chess"]])
def test_bad_options_rejected_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit):
        main(["demo", *argv])
    assert argv[0] in capsys.readouterr().err


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


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["best", "any"])
def test_best_set_exact_and_greedy(seed, kind):
    p = make_problem(9, 4, seed=seed)
    problem = Problem(p.scores, p.weights, kind=kind)
    value, items, method = best_set(problem, 3)
    assert method == "exact"
    assert value == pytest.approx(_brute_force_optimum(problem, 3), abs=1e-12)
    u = ss.ExpectedBest(problem.weights) if kind == "best" else None
    if u is not None:
        assert float(ss.value(u, problem.scores[:, items])) == pytest.approx(value)
    g_value, g_items, g_method = best_set(problem, 3, limit=0)
    assert g_method == "greedy" and len(set(g_items.tolist())) == 3
    assert (1 - 1 / math.e) * value - 1e-12 <= g_value <= value + 1e-12


def test_best_set_is_diverse_in_the_default_problem():
    # the reason the demo exists: the best set is not the k items best on average
    problem = make_task("recommend", 0)
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
    problem = make_task("recommend", 3, n_items=10, n_types=3)
    sets = rng.permuted(np.tile(np.arange(10), (2, 4, 1)), axis=-1)[..., :3]  # (seeds, G, K)
    rewards = set_utility(problem, sets)
    phi = problem.credits(sets, "shapley")
    assert np.allclose(phi.sum(axis=-1), rewards)
    plain = Method("grpo").advantages(rewards, phi, 4)
    assert plain.shape == (2, 4, 3)
    assert np.allclose(plain, ss.grpo.set_advantages(rewards.ravel(), 4).reshape(2, 4, 1))
    shape0 = Method("rule", ss.grpo.CreditRule("shapley", "shapley", beta=0.0))
    assert np.allclose(shape0.advantages(rewards, phi, 4), plain)
    loo = problem.credits(sets, "loo")
    assert np.allclose(Method("rule", ss.grpo.CreditRule("loo", beta=0.0)).advantages(rewards, loo, 4), plain)
    shaped = Method("rule", ss.grpo.CreditRule("shapley", "shapley", beta=1.0)).advantages(rewards, phi, 4)
    assert np.allclose(shaped.mean(axis=-1), plain[..., 0])  # per set, candidates average to A_g
    marginal = Method("rule", ss.grpo.CreditRule("loo", beta=1.0)).advantages(rewards, loo, 4, step=3)
    want = ss.grpo.credit_advantages(rewards.ravel(), loo.reshape(-1, 3), 4).reshape(2, 4, 3)
    assert np.allclose(marginal, want)


def test_wta_gives_each_sets_reward_to_its_best_item_alone():
    rewards = np.array([[0.5, 0.9]])  # one seed, G = 2
    solo = np.array([[[0.1, 0.4, 0.4], [0.9, 0.2, 0.3]]])  # ties: the first drawn wins
    adv = Method("wta").advantages(rewards, solo, 2)
    cand = np.array([0.0, 0.5, 0.0, 0.9, 0.0, 0.0])
    want = (cand - cand.mean()) / (cand.std(ddof=1) + 1e-6)
    assert np.allclose(adv.ravel(), want)


def test_passk_credits_only_each_groups_best_set():
    rewards = np.array([[0.2, 0.9, 0.5, 0.4], [0.1, 0.3, 0.7, 0.0]])  # (seeds, G)
    adv = Method("passk").advantages(rewards, np.zeros((2, 4, 3)), 4)
    assert adv.shape == (2, 4, 3)
    expected = np.zeros((2, 4))
    expected[0, 1] = 0.4 / (np.std(rewards[0], ddof=1) + 1e-6)
    expected[1, 2] = 0.4 / (np.std(rewards[1], ddof=1) + 1e-6)
    assert np.allclose(adv, expected[..., None])


def test_default_methods_mark_the_recommended_rule_once():
    methods = default_methods()
    assert [m.recommended for m in methods].count(True) == 1
    other = ss.grpo.CreditRule("loo", beta=0.25)
    methods = default_methods(recommended=other)
    assert methods[-3].rule == other and methods[-3].recommended
    with pytest.raises(ValueError, match="CreditRule is needed exactly when"):
        Method("rule")


def test_problem_shape_and_validation():
    p = make_problem(12, 5, seed=4)
    assert isinstance(p, Problem) and p.scores.shape == (5, 12)
    assert np.all((p.scores > 0) & (p.scores < 1)) and p.weights.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_items"):
        make_problem(1, 2)
    with pytest.raises(ValueError, match="k must be"):
        best_set(p, 13)
    with pytest.raises(ValueError, match="kind must be one of"):
        Problem(p.scores, p.weights, kind="median")
    with pytest.raises(ValueError, match="task must be one of"):
        make_task("chess")
    with pytest.raises(ValueError, match="n_types must be at least 3 for ideas"):
        make_task("ideas", n_types=2)
