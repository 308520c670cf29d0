"""ss.SetFunction: exact values by enumerating only what is needed, each
coalition once, calls counted and capped, clear errors."""

import asyncio
import math
import threading
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

import shapley_sets as ss


class Recorder:
    """fn(candidates) = best score of the coalition (0 when empty); records calls."""

    def __init__(self, scores):
        self.scores = scores
        self.seen = []
        self.lock = threading.Lock()

    def __call__(self, cands):
        with self.lock:
            self.seen.append(tuple(sorted(map(str, cands))))
        return max((self.scores[c] for c in cands), default=0.0)


def _scores(k, seed=0):
    rng = np.random.default_rng(seed)
    return {f"c{j}": float(v) for j, v in enumerate(rng.random(k))}


def test_shapley_matches_the_structured_utility_on_ragged_sets():
    scores = _scores(9)
    names = list(scores)
    sets = [names[:4], names[4:9], names[2:3], []]
    u = ss.SetFunction(Recorder(scores), empty_value=0.0)
    phi = ss.shapley(u, sets)
    assert phi.shape == (4, 5)
    for s, cands in enumerate(sets):
        want = ss.shapley(ss.BestOf(), [scores[c] for c in cands]) if cands else np.zeros(0)
        np.testing.assert_allclose(phi[s, : len(cands)], want, rtol=1e-12, atol=1e-15)
        assert np.all(phi[s, len(cands):] == 0.0)


def test_shapley_equals_exact_rational_arithmetic():
    rng = np.random.default_rng(3)
    k = 5
    table = {frozenset(c): int(rng.integers(-20, 20)) for r in range(k + 1)
             for c in combinations(range(k), r)}
    u = ss.SetFunction(lambda cands: float(table[frozenset(cands)]))
    phi = ss.shapley(u, [list(range(k))])[0]
    for i in range(k):
        exact = Fraction(0)
        others = [j for j in range(k) if j != i]
        for r in range(k):
            for t in combinations(others, r):
                w = Fraction(math.factorial(r) * math.factorial(k - r - 1), math.factorial(k))
                exact += w * (table[frozenset(t) | {i}] - table[frozenset(t)])
        assert abs(phi[i] - float(exact)) <= 1e-12 * 20


@pytest.mark.parametrize("empty, shapley_calls", [(None, 16), (0.0, 15)])
def test_calls_needed_per_rule(empty, shapley_calls):
    scores = _scores(4)
    rec = Recorder(scores)
    u = ss.SetFunction(rec, empty_value=empty)
    sets = [list(scores)]
    ss.shapley(u, sets)
    assert u.last_calls == shapley_calls == len(rec.seen) == len(set(rec.seen))
    ss.banzhaf(u, sets)
    assert u.last_calls == shapley_calls
    ss.leave_one_out(u, sets)
    assert u.last_calls == 5  # the whole set and the 4 sets without one
    ss.semivalue(u, sets, ("beta", 2, 3))
    assert u.last_calls == shapley_calls
    ss.value(u, sets)
    assert u.last_calls == 1
    assert u.total_calls == 2 * shapley_calls + 5 + shapley_calls + 1


def test_identical_coalitions_of_different_sets_are_evaluated_once():
    scores = _scores(4)
    a, b, c, d = scores
    rec = Recorder(scores)
    u = ss.SetFunction(rec, empty_value=0.0)
    phi = ss.shapley(u, [[a, b, c], [c, b, a], [a, b, d]])
    # {a,b,c}: 7 coalitions; the reordered copy shares all; {a,b,d} adds {d},{a,d},{b,d},{a,b,d}
    assert u.last_calls == 7 + 4
    np.testing.assert_allclose(phi[1], phi[0][::-1])


def test_hash_collisions_never_merge_different_coalitions(monkeypatch):
    from shapley_sets.blackbox import set_function

    # Every id gets the same word: all coalitions of one size collide.
    monkeypatch.setattr(set_function, "_hash_words", lambda n: np.ones(n, dtype=np.uint64))
    scores = _scores(5)
    names = list(scores)
    u = ss.SetFunction(Recorder(scores), empty_value=0.0)
    phi = ss.shapley(u, [names[:4], names[1:5]])
    assert u.last_calls == 15 + 15 - 7  # the 7 coalitions of names[1:4] are shared
    for s, cands in enumerate([names[:4], names[1:5]]):
        want = ss.shapley(ss.BestOf(), [scores[c] for c in cands])
        np.testing.assert_allclose(phi[s, :4], want, rtol=1e-12)


def test_unhashable_candidates_are_shared_by_identity_only():
    one, two = {"idea": "solar"}, {"idea": "wind"}
    twin = {"idea": "solar"}  # equal to `one` but another object
    calls = []

    def fn(cands):
        calls.append(len(cands))
        return float(len({c["idea"] for c in cands}))

    u = ss.SetFunction(fn, empty_value=0.0)
    phi = ss.shapley(u, [[one, two], [one, two], [twin, two]])
    assert u.last_calls == 3 + 2  # {twin}, {twin, two} are new; {two} is shared
    np.testing.assert_allclose(phi[0], [1.0, 1.0])
    np.testing.assert_allclose(phi[2], [1.0, 1.0])


def test_object_array_with_mask():
    scores = _scores(4)
    names = np.array(list(scores), dtype=object).reshape(2, 2)
    u = ss.SetFunction(Recorder(scores), empty_value=0.0)
    mask = np.array([[True, False], [True, True]])
    phi = ss.shapley(u, names, mask=mask)
    want = ss.shapley(ss.BestOf(), np.vectorize(scores.get)(names).astype(float), mask=mask)
    np.testing.assert_allclose(phi, want, rtol=1e-12)
    assert phi[0, 1] == 0.0


def test_max_calls_refuses_before_any_call():
    rec = Recorder(_scores(6))
    u = ss.SetFunction(rec, max_calls=40)
    with pytest.raises(ValueError, match="needs 64 evaluations"):
        ss.shapley(u, [list(rec.scores)])
    assert rec.seen == []
    ss.leave_one_out(u, [list(rec.scores)])  # 7 calls: allowed
    assert len(rec.seen) == 7
    big = ss.SetFunction(rec, max_calls=10)
    with pytest.raises(ValueError, match="at least 64"):
        ss.shapley(big, [list(rec.scores), list(rec.scores)[:3]])


def test_max_calls_counts_after_sharing():
    rec = Recorder(_scores(4))
    names = list(rec.scores)
    u = ss.SetFunction(rec, empty_value=0.0, max_calls=15)
    ss.shapley(u, [names, names[::-1]])  # 30 before sharing, 15 after
    assert u.last_calls == 15


def test_reference_shapley_cap_names_the_set():
    u = ss.SetFunction(lambda c: 0.0)
    with pytest.raises(ValueError, match="K = 26"):
        ss.shapley(u, [[1], list(range(26))])


def test_batched_fn_and_batch_size():
    scores = _scores(5)
    requests = []

    def judge(coalitions):
        requests.append(len(coalitions))
        return [max((scores[c] for c in co), default=0.0) for co in coalitions]

    u = ss.SetFunction(judge, batched=True, empty_value=0.0, batch_size=10)
    phi = ss.shapley(u, [list(scores)])
    np.testing.assert_allclose(phi[0], ss.shapley(ss.BestOf(), list(scores.values())), rtol=1e-12)
    assert requests == [10, 10, 10, 1] and u.last_requests == 4 and u.last_calls == 31


def test_async_fn_respects_the_concurrency_limit():
    scores = _scores(5)
    state = {"now": 0, "peak": 0}

    async def judge(cands):
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(0)
        state["now"] -= 1
        return max((scores[c] for c in cands), default=0.0)

    u = ss.SetFunction(judge, concurrency=3)
    phi = ss.shapley(u, [list(scores)])
    np.testing.assert_allclose(phi[0], ss.shapley(ss.BestOf(), list(scores.values())), rtol=1e-12)
    assert 1 < state["peak"] <= 3

    async def inside_a_loop():
        return ss.shapley(u, [list(scores)])

    np.testing.assert_allclose(asyncio.run(inside_a_loop()), phi)


def test_threads_and_thread_local_call_counts():
    scores = _scores(6)
    u = ss.SetFunction(Recorder(scores), concurrency=4)
    names = list(scores)
    seen = {}

    def work(k):
        ss.shapley(u, [names[:k]])
        seen[k] = u.last_calls

    threads = [threading.Thread(target=work, args=(k,)) for k in (3, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {3: 8, 6: 64}
    assert u.total_calls == 72


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_values_name_the_set_and_coalition(bad):
    u = ss.SetFunction(lambda c: bad if c == ["b"] else 1.0)
    with pytest.raises(ValueError, match=r"set \(1,\), the coalition of candidates \[1\] \(\['b'\]\)"):
        ss.shapley(u, [["a"], ["a", "b"]])


def test_wrong_outputs():
    with pytest.raises(ValueError, match="returned 1 values for a batch of 4"):
        ss.shapley(ss.SetFunction(lambda cs: [0.0], batched=True), [["a", "b"]])
    with pytest.raises(TypeError, match="real number, got str"):
        ss.shapley(ss.SetFunction(lambda c: "0.5"), [["a"]])
    with pytest.raises(TypeError, match="sequence of numbers"):
        ss.shapley(ss.SetFunction(lambda cs: 1.0, batched=True), [["a"]])
    # a mapping has a length, but iterating it gives its keys, not its values
    with pytest.raises(TypeError, match="sequence of numbers, one per coalition, got dict"):
        ss.shapley(ss.SetFunction(lambda cs: {i: 1.0 for i in range(len(cs))}, batched=True), [["a"]])
    with pytest.raises(TypeError, match="sequence of numbers, one per coalition, got set"):
        ss.shapley(ss.SetFunction(lambda cs: set(range(len(cs))), batched=True), [["a"]])


@pytest.mark.parametrize("given", [None, 0.25])
def test_empty_value_of_a_set_function(given):
    seen = []
    u = ss.SetFunction(lambda c: seen.append(list(c)) or len(c) + 0.5, empty_value=given)
    x = [["a", "b"], ["c"], []]
    u0 = ss.empty_value(u, x)
    expected = 0.5 if given is None else given
    np.testing.assert_array_equal(u0, [expected] * 3)
    assert seen == ([] if given is not None else [[]])  # one call fn([]) shared by every set
    np.testing.assert_allclose(ss.shapley(u, x).sum(-1) + ss.empty_value(u, x), ss.value(u, x), rtol=1e-12)


def test_errors_raised_by_fn_keep_their_type_and_name_the_coalition():
    def fn(cands):
        if len(cands) == 2:
            raise KeyError("judge down")
        return 0.0

    with pytest.raises(KeyError) as info:
        ss.shapley(ss.SetFunction(fn), [["a", "b"]])
    assert "coalition of candidates [0, 1]" in "".join(getattr(info.value, "__notes__", []))


def test_bad_input():
    u = ss.SetFunction(lambda c: 0.0)
    with pytest.raises(TypeError, match="set 0 is a str"):
        ss.shapley(u, ["ab", "cd"])
    with pytest.raises(TypeError, match="list of sets"):
        ss.shapley(u, 3)
    with pytest.raises(TypeError, match="fn must be callable"):
        ss.SetFunction(3)
    with pytest.raises(ValueError, match="empty_value must be finite"):
        ss.SetFunction(len, empty_value=float("nan"))
    with pytest.raises(ValueError, match="max_calls"):
        ss.SetFunction(len, max_calls=0)
    with pytest.raises(TypeError, match="max_calls"):
        ss.SetFunction(len, max_calls=2.5)


def test_inputs_are_not_modified():
    sets = [["a", "b"], ["c"]]
    before = [list(s) for s in sets]
    ss.shapley(ss.SetFunction(lambda c: float(len(c))), sets)
    assert sets == before


@pytest.mark.parametrize("weights", ["shapley", "banzhaf", "loo", ("beta", 2.0, 0.5),
                                     lambda k: np.full(k, 1.0 / k)])
def test_every_weighting_matches_the_table_game(weights):
    from shapley_sets.testing import TableGame

    rng = np.random.default_rng(4)
    k = 5
    table = rng.normal(size=1 << k)
    u = ss.SetFunction(lambda c: float(table[sum(1 << j for j in c)]))
    sets = [list(range(k)), [0, 2, 4]]
    got = ss.semivalue(u, sets, weights)
    np.testing.assert_allclose(got[0], ss.semivalue(TableGame(table), np.zeros(k), weights), rtol=1e-12,
                               atol=1e-12)
    mask = np.zeros(k, dtype=bool)
    mask[[0, 2, 4]] = True
    want = ss.semivalue(TableGame(table), np.zeros(k), weights, mask=mask)[mask]
    np.testing.assert_allclose(got[1, :3], want, rtol=1e-12, atol=1e-12)


def test_numeric_candidate_ids_and_list_masks():
    values = np.array([0.3, 0.9, 0.5, 0.1])
    u = ss.SetFunction(lambda ids: max((values[i] for i in ids), default=0.0), empty_value=0.0)
    ids = np.array([[0, 1, 2], [3, 2, 0]])
    np.testing.assert_allclose(ss.shapley(u, ids), ss.shapley(ss.BestOf(), values[ids]), rtol=1e-12)
    np.testing.assert_allclose(ss.value(u, ids), [0.9, 0.5])
    mask = [[True, False, True], [True, True, True]]
    np.testing.assert_allclose(ss.shapley(u, [[0, 1, 2], [3, 2]], mask=mask)[0],
                               ss.shapley(ss.BestOf(), values[[0, 1, 2]], mask=mask[0]), rtol=1e-12)


@pytest.mark.parametrize("empty, calls", [(None, 2), (0.0, 1)])
def test_leave_one_out_of_a_single_candidate(empty, calls):
    u = ss.SetFunction(lambda c: 1.0 + len(c), empty_value=empty)
    loo = ss.leave_one_out(u, [["only"]])
    assert u.last_calls == calls
    assert loo.tolist() == [[1.0 if empty is None else 2.0]]


@pytest.mark.parametrize("weights", ["shapley", "loo", "banzhaf", "value"])
@pytest.mark.parametrize("empty", [None, 0.0])
def test_calls_needed_is_what_a_call_makes(weights, empty):
    rng = np.random.default_rng(6)
    pool = [f"c{j}" for j in range(8)]
    sets = [list(rng.choice(pool, int(rng.integers(0, 6)), replace=True)) for _ in range(6)]
    rec = Recorder({c: float(j) for j, c in enumerate(pool)})
    u = ss.SetFunction(rec, empty_value=empty)
    need = u.calls_needed(sets, weights)
    assert rec.seen == []
    if weights == "value":
        ss.value(u, sets)
    else:
        ss.semivalue(u, sets, weights)
    assert u.last_calls == need == len(rec.seen)
