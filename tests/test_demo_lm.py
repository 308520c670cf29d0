"""``shapley-sets demo-lm`` and the pieces behind it (shapley_sets.lm_demo)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.cli.main import main

SMOKE = ["demo-lm", "--steps", "2", "--seeds", "1", "--warmup-steps", "80", "--eval-samples", "8",
         "--final-samples", "8", "--hidden", "32", "--layers", "1", "--quiet"]


def test_missing_extra_is_named(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "trl", None)  # `import trl` now raises ImportError
    assert main(SMOKE) == 2
    err = capsys.readouterr().err
    assert "needs the 'trl' extra" in err and "pip install 'shapley-sets[trl]'" in err and "'trl'" in err


def test_bad_options_are_reported(capsys):
    assert main(["demo-lm", "--steps", "0"]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err
    assert main(["demo-lm", "--seed", "-1"]) == 2
    assert "--seed must be at least 0" in capsys.readouterr().err
    assert main(["demo-lm", "--layout", "B", "--eval-samples", "4"]) == 2
    assert "--eval-samples must be at least --group-size" in capsys.readouterr().err
    assert main(["demo-lm", "--out", "/proc/no-such-dir/out"]) == 2
    assert "--out '/proc/no-such-dir/out' cannot be created" in capsys.readouterr().err


def test_the_command_line_parser_imports_no_trainer():
    code = (
        "import sys\n"
        "from shapley_sets.cli.main import build_parser\n"
        "build_parser().parse_args(['demo-lm', '--steps', '3'])\n"
        "bad = [m for m in ('torch', 'trl', 'transformers', 'tokenizers', 'datasets') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})


pytest.importorskip("trl", reason="trl is not installed (pip install 'shapley-sets[trl]')")

from shapley_sets.lm_demo.parse import ListParser  # noqa: E402
from shapley_sets.lm_demo.reward import TextSetReward  # noqa: E402
from shapley_sets.lm_demo.task import make_text_task  # noqa: E402
from shapley_sets.lm_demo.vocab import build_tokenizer, item_names, token_texts  # noqa: E402
from shapley_sets.sim import Problem, make_task, set_utility  # noqa: E402


@pytest.fixture(scope="module")
def small():
    task = make_text_task("recommend", n_items=12, n_types=3, k=3, seed=4)
    rng = np.random.default_rng(0)
    corpus = [task.completion(rng.choice(12, size=3, replace=False)) for _ in range(300)] + list(task.prompts)
    tok = build_tokenizer(corpus, vocab_size=40)
    return task, tok, ListParser(task.names, tok, task.k)


def test_names_are_distinct_and_split_into_several_tokens(small):
    task, tok, _ = small
    assert len(set(task.names)) == len(task.names) == 12
    lengths = [len(tok(" " + n)["input_ids"]) for n in task.names]
    assert max(lengths) >= 2  # offsets, not one token per item, decide the candidates
    with pytest.raises(ValueError, match="n must be between"):
        item_names(0)


def test_generated_tokens_decode_by_concatenation(small):
    _, tok, parser = small
    rng = np.random.default_rng(1)
    texts = token_texts(tok)
    for _ in range(200):
        ids = rng.integers(0, len(tok), size=int(rng.integers(1, 20))).tolist()
        text = tok.decode(ids, skip_special_tokens=True)
        assert text == "".join(texts[i] for i in ids)
        off = parser.offsets([ids])[0]
        assert all(text[a:b] == texts[i] for (a, b), i in zip(off, ids))


def test_parser_classifies_every_piece_and_maps_tokens_by_offsets(small):
    task, tok, parser = small
    n = task.names
    bad = n[0] + n[1]  # letters the tokenizer knows, but no item's name
    assert bad not in n
    cases = [
        (f"{n[0]}, {n[1]}, {n[2]}", [0, 1, 2], dict(valid=3)),
        (f"{n[0]}, {bad}, {n[0]}", [0, -1, -1], dict(valid=1, malformed=1, duplicate=1)),
        (f"{n[3]},, {n[4]}, {n[5]}, {n[6]}", [3, -1, 4], dict(valid=2, empty=1, beyond_k=2)),
        ("", [], dict(valid=0)),
        (f"{n[7]}", [7], dict(valid=1)),
    ]
    ids = [tok(text)["input_ids"] + [tok.eos_token_id] for text, _, _ in cases]
    parsed = parser([c[0] for c in cases], ids)
    assert parsed.items == [c[1] for c in cases]
    spans = ss.grpo.candidate_spans([c[0] for c in cases], style="separator", separator=",")
    for i, (text, items, _) in enumerate(cases):
        texts = token_texts(tok)
        pos = 0
        for t, c in zip(ids[i], parsed.token_ids[i]):
            piece = texts[t]
            a, b = pos, pos + len(piece)
            pos = b
            # candidate c's characters run from the end of candidate c - 1's text to the end of its own
            ends = [e for _, e in spans[i][: task.k]]
            owned = list(zip([0] + ends[:-1], ends))
            # a token belongs to the candidate covering most of its characters
            cover = [max(0, min(b, e) - max(a, s)) for s, e in owned]
            expect = int(np.argmax(cover)) if cover and max(cover) > 0 else -1
            assert c == expect, (text, piece, c, expect)
    totals = {}
    for _, _, c in cases:
        for key, v in c.items():
            totals[key] = totals.get(key, 0) + v
    for key, v in totals.items():
        assert parsed.counts[key] == v, key
    assert parsed.counts["short"] == 4


def test_parser_rejects_text_that_is_not_the_tokens_decoding(small):
    _, tok, parser = small
    with pytest.raises(ValueError, match="completion 0: its tokens decode to"):
        parser(["something else"], [tok("abc")["input_ids"]])


@pytest.mark.parametrize("name", ["recommend", "code", "ideas"])
def test_text_task_values_are_the_simulations(name):
    task = make_text_task(name, seed=2)
    problem = make_task(name, 2)
    rng = np.random.default_rng(3)
    sets = [rng.choice(problem.n_items, size=task.k, replace=False) for _ in range(20)]
    np.testing.assert_allclose(task.values(np.zeros(20, int), [s.tolist() for s in sets]),
                               set_utility(problem, np.array(sets)), rtol=1e-12)
    assert np.isclose(task.values([0], [list(task.optimum_items[0])])[0], task.optimum[0])


def test_segments_reweigh_the_user_types():
    task = make_text_task("ideas", seed=1, n_prompts=3)
    problem = make_task("ideas", 1)
    assert len(set(task.prompts)) == 3 and np.allclose(task.weights.sum(axis=1), 1.0)
    items = [0, 5, 9, 11]
    for p in range(3):
        expected = set_utility(Problem(problem.scores, task.weights[p], kind="best"), np.array(items))
        assert np.isclose(task.values([p], [items])[0], expected)
    with pytest.raises(ValueError, match="exactly 1 for 'code'"):
        make_text_task("code", n_prompts=2)


def test_code_task_utility_is_the_weighted_sum_of_any_success_and_malformed_items_are_null():
    task = make_text_task("code", n_items=8, n_types=3, k=2)
    u = task.utility
    assert isinstance(u, ss.ExpectedAnySuccess) and np.allclose(u.weights, task.weights[0])
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(6, 3, 5))
    x[:, :, 2] = 0.0  # a malformed item: probability 0 for every type
    for credit in ("shapley", "loo", "banzhaf"):
        got = ss.semivalue(u, x, credit)
        want = sum(wi * ss.semivalue(ss.AnySuccess(), x[:, i], credit) for i, wi in enumerate(task.weights[0]))
        np.testing.assert_allclose(got, want, atol=1e-12)
        np.testing.assert_allclose(got[:, 2], 0.0, atol=1e-15)
    with pytest.raises(ValueError, match="must lie in"):
        ss.value(u, np.full((3, 2), 1.5))


def test_reward_records_scores_and_token_candidates(small):
    task, tok, parser = small
    n = task.names
    texts = [f"{n[0]}, {n[1]}, {n[2]}", f"{n[2]}, zzz"]
    ids = [tok(t)["input_ids"] + [tok.eos_token_id] for t in texts]
    reward = TextSetReward(task, parser)
    r = reward(prompts=task.prompts * 2, completions=texts, completion_ids=ids, prompt_index=[0, 0])
    np.testing.assert_allclose(r, task.values([0, 0], [[0, 1, 2], [2, -1]]))
    (s0, t0), (s1, t1) = reward.last
    assert s0.shape == (3, 3) and s1.shape == (3, 2) and np.all(s1[:, 1] == 0.0)
    assert len(t0) == len(ids[0]) and set(t1.tolist()) == {-1, 0, 1}
    assert reward.counts["malformed"] == 1 and reward.seconds > 0


@pytest.mark.parametrize("layout", ["A", "B"])
def test_smoke_run_writes_curves_and_a_nontrivial_advantage_tensor(tmp_path, layout, capsys):
    out = tmp_path / layout
    assert main([*SMOKE, "--layout", layout, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "steps to 95%" in printed and "in shapley_sets" in printed
    result = json.loads((out / "result.json").read_text())
    assert (out / "learning_curves.png").stat().st_size > 0
    rows = result["methods"]
    assert [r["recommended"] for r in rows] == [False, True, False]
    for row in rows:
        curve = np.asarray(row["curve_fraction"])
        assert curve.shape == (1, 3) and np.all((curve >= 0) & np.isfinite(curve))
        assert len(row["final_fraction"]) == 1
    for row in rows[1:]:  # the credit rules change TRL's advantages
        adv = row["first_advantages"]
        assert adv["differs_from_trl"], row["method"]
        if layout == "A":
            assert len(adv["shape"]) == 2 and adv["distinct_values"] > adv["shape"][0]
    assert result["config"]["curve_measure"].endswith("sampled")
