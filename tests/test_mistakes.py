"""Plausible mistakes get a clear error naming the argument, set and
candidate, or an explicit documented choice: never an answer of another
meaning."""

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets import grpo
from shapley_sets import _validation
from shapley_sets.grpo import (
    candidate_advantages,
    completion_advantages,
    set_advantages,
    token_advantages,
)

BIG = 1.5e308


# -- ExpectedBest: the number of user types is explicit -------------------------

def test_a_batch_of_scores_is_not_read_as_one_set_of_many_user_types():
    scores = np.random.default_rng(0).random((1000, 8))
    with pytest.raises(TypeError, match="needs the number of user types M"):
        ss.ExpectedBest()
    with pytest.raises(ValueError, match=r"M = 8 user types \(from n_types\) but x has 1000 on axis -2"):
        ss.shapley(ss.ExpectedBest(n_types=8), scores)
    # One user type over a batch: the axis is added explicitly.
    got = ss.shapley(ss.ExpectedBest(n_types=1), scores[:, None, :])
    assert np.array_equal(got, ss.shapley(ss.BestOf(), scores))


def test_expected_best_weights_must_sum_to_one_or_say_what_to_do():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"weights sum to 4, not 1"):
        ss.ExpectedBest([3.0, 1.0])
    normalized = ss.ExpectedBest([3.0, 1.0], normalize=True)
    assert normalized.weights == (0.75, 0.25)
    np.testing.assert_allclose(ss.shapley(normalized, x), [0.75, 0.25])
    raw = ss.ExpectedBest([3.0, 1.0], normalize=False)
    np.testing.assert_allclose(ss.shapley(raw, x), [3.0, 1.0])
    # a sum off by rounding only is an expectation
    assert ss.ExpectedBest([0.1] * 10).weights == (0.1,) * 10


def test_completion_advantages_refuses_the_transposed_input():
    x = np.random.default_rng(1).random((6, 3))  # 6 completions, 3 user types
    u = ss.ExpectedBest(n_types=3)
    completion_advantages(u, x, 3)
    with pytest.raises(ValueError, match=r"M = 3 user types .* got shape \(3, 6\) \(x.T\?"):
        completion_advantages(u, x.T, 3)
    with pytest.raises(ValueError, match=r"M = 3 user types .* got shape \(6, 4\)"):
        completion_advantages(u, np.zeros((6, 4)), 3)


# -- shapes and types ---------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda x: ss.shapley(ss.BestOf(), x),
    lambda x: ss.value(ss.BestOf(), x),
    lambda x: ss.reference_shapley(ss.BestOf(), x),
])
def test_a_ragged_nested_list_says_pad_and_mask(call):
    with pytest.raises(ValueError, match=r"x is ragged .* pad every set .* pass mask="):
        call([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6]])


_R = np.array([0.1, 0.5, 0.2, 0.9])
_RAGGED = [[0.1, 0.2], [0.3], [0.4, 0.5], [0.6, 0.7]]


@pytest.mark.parametrize("call, name", [
    (lambda: grpo.credit_advantages(_R, _RAGGED, 2), "credits"),
    (lambda: grpo.candidate_advantages(_R, _RAGGED, 2, efficiency_rtol=None), "shapley_values"),
    (lambda: grpo.candidate_advantages(_RAGGED, np.ones((4, 2)), 2, efficiency_rtol=None), "set_rewards"),
    (lambda: grpo.set_advantages(_RAGGED, 2), "rewards"),
    (lambda: grpo.grpo_passk_advantages(_RAGGED, 2), "rewards"),
    (lambda: grpo.RECOMMENDED_RULE.from_credits(_R, _RAGGED, 2), "credits"),
    (lambda: grpo.RECOMMENDED_RULE.credits(ss.BestOf(), _RAGGED), "x"),
    (lambda: grpo.completion_advantages(ss.BestOf(), _RAGGED, 2), "x"),
    (lambda: grpo.token_advantages(np.ones((2, 2)), np.ones(2), [[0, 1, -1], [1]]), "candidate_ids"),
    (lambda: grpo.token_advantages(np.ones((2, 2)), np.ones(2), np.zeros((2, 2), int), [[1, 1], [1]]), "response_mask"),
])
def test_a_ragged_list_to_the_grpo_layer_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} is ragged \(its rows have different lengths\); pad every row"):
        call()


def test_a_beta_schedule_refuses_a_step_that_is_not_a_number():
    sched = grpo.LinearSchedule(1.0, 0.0, 10)
    with pytest.raises(TypeError, match="step must be a number"):
        sched("3")
    with pytest.raises(ValueError, match="step must be finite"):
        sched(float("nan"))  # would give beta = NaN


def test_a_ragged_table_says_what_a_table_needs():
    with pytest.raises(ValueError, match=r"table is ragged .* 2\*\*K in all"):
        ss.exact_shapley([[0.0, 1.0, 2.0, 3.0], [0.0, 1.0]])


def test_a_ragged_mask_says_so():
    with pytest.raises(ValueError, match="mask is ragged"):
        ss.shapley(ss.BestOf(), np.zeros((2, 2)), mask=[[True, False], [True]])


@pytest.mark.parametrize("call", [
    lambda u: ss.shapley(u, [0.1, 0.2]),
    lambda u: ss.value(u, [0.1, 0.2]),
    lambda u: ss.reference_shapley(u, [0.1, 0.2]),
    lambda u: completion_advantages(u, [0.1, 0.2], 2),
])
def test_a_utility_class_instead_of_an_instance(call):
    with pytest.raises(TypeError, match=r"pass ss.BestOf\(\), not ss.BestOf \(the class\)"):
        call(ss.BestOf)


def test_every_mask_argument_follows_one_rule():
    cand = np.array([[1.0, -1.0]])
    ids = np.array([[0, 1, -1]])
    for bad, shown in ((2, "2(.0)?"), (0.5, "0.5"), (np.nan, "nan")):
        response_mask = np.array([[1.0, bad, 0.0]])
        with pytest.raises(ValueError, match=rf"response_mask must be boolean or hold only 0 and 1 .*found {shown} at response 0, token 1"):
            token_advantages(cand, [0.0], ids, response_mask)
        with pytest.raises(ValueError, match=rf"candidate_mask must be boolean or hold only 0 and 1 .*found {shown}"):
            token_advantages(cand, [0.0], ids, candidate_mask=[[1.0, bad]])
        with pytest.raises(ValueError, match=rf"mask must be boolean or hold only 0 and 1 .*found {shown}"):
            candidate_advantages([1.0], [[0.5, 0.5]], 1, mask=[[1, bad]])
    # 0/1 of any numeric dtype is accepted everywhere and means bool
    as_bool = token_advantages(cand, [0.0], ids, ids >= 0)
    for dtype in (np.int64, np.uint8, np.float32, np.float64):
        np.testing.assert_array_equal(token_advantages(cand, [0.0], ids, (ids >= 0).astype(dtype)), as_bool)


def test_token_advantages_refuse_non_finite_advantages():
    ids = np.array([[0, 1, -1]])
    with pytest.raises(ValueError, match=r"candidate_adv must be finite; found nan at response 0, candidate 1"):
        token_advantages([[1.0, np.nan]], [0.0], ids)
    with pytest.raises(ValueError, match=r"candidate_adv must be finite; found inf at response 1, candidate 0"):
        token_advantages([[1.0, 0.0], [np.inf, 0.0]], [0.0, 0.0], np.zeros((2, 3), int))
    with pytest.raises(ValueError, match=r"set_adv must be finite; found -inf at response 0"):
        token_advantages([[1.0, 0.0]], [-np.inf], ids)


# -- overflow: one rule for every engine ---------------------------------------

@pytest.mark.parametrize("u,x,want", [
    (ss.TopK(1), [-1e308, 1e308], [-5e307, 1.5e308]),
    (ss.RankWeighted.mean(), [-BIG, BIG], [-BIG, BIG]),
    (ss.BestOf(-1e308), [1.7e308, 1e308], [1.7e308, 1e308]),
    (ss.Pairwise([[0.0, 1e308], [1e308, 0.0]]), [-1e308, 1e308], [-1.5e308, 5e307]),
    (ss.Additive(), [1e308, 1e308], [1e308, 1e308]),
    (ss.TopK(2), [1e308, 1e308], [1e308, 1e308]),
    (ss.ExpectedBest([1.0]), [[-1e308, BIG]], [0.0, BIG]),
])
def test_finite_answers_near_the_float64_limit_are_returned(u, x, want):
    # The difference of two scores overflows, the Shapley values do not.
    np.testing.assert_allclose(ss.shapley(u, x), want, rtol=1e-15)
    np.testing.assert_allclose(ss.reference_shapley(u, x), want, rtol=1e-15)


@pytest.mark.parametrize("u,x", [
    (ss.Additive() + ss.Additive(), [1e308, 1.0]),
    (ss.BestOf(-1.7e308), [1.7e308, 1.0]),
    (2.0 * ss.TopK(1), [1e308, 1.0]),
])
def test_answers_beyond_the_float64_range_are_refused(u, x):
    for f in (ss.shapley, ss.reference_shapley):
        with pytest.raises(ValueError, match=r"Shapley values of .* are beyond the float64 range"):
            f(u, x)


def test_value_follows_the_same_rule():
    with pytest.raises(ValueError, match=r"the values of Additive are beyond the float64 range"):
        ss.value(ss.Additive(), [1e308, 1e308])
    assert float(ss.value(ss.TopK(1), [-1e308, 1e308])) == 1e308


def test_exact_shapley_near_the_limit():
    # φ0 = (1e308 + (-1e308 - 1e308)) / 2: the differences overflow, φ does not
    np.testing.assert_allclose(ss.exact_shapley([0.0, 1e308, 1e308, -1e308]), [-5e307, -5e307])
    with pytest.raises(ValueError, match="beyond the float64 range"):
        ss.exact_shapley([0.0, 1.7e308, -1.7e308, 1.7e308])  # φ0 = 2.55e308


def test_a_subclass_with_its_own_values_is_not_rescaled():
    # Its values need not scale like its parent's: where its own coalition
    # values overflow there is no retry at a smaller scale, and the answer
    # is refused (Additive itself is rescued).
    class Logged(ss.Additive):
        def coalition_values(self, x, members):
            return super().coalition_values(x, members)

    assert ss.utilities.base.rescale(Logged(), 0.5) is None
    assert ss.utilities.base.rescale(ss.Additive(), 0.5) == ss.Additive()
    with pytest.raises(ValueError, match="Shapley values of Logged are beyond the float64 range"):
        ss.shapley(Logged(), [1e308, 1e308])
    np.testing.assert_allclose(ss.reference_shapley(ss.Additive(), [1e308, 1e308]), [1e308, 1e308])
    # Differences of finite coalition values are rescued at the table level.
    np.testing.assert_allclose(ss.shapley(Logged(), [1e308, -1e308]), [1e308, -1e308])


# -- GRPO statistics at large magnitudes ----------------------------------------

@pytest.mark.parametrize("scale", ["group", "batch"])
def test_set_advantages_of_huge_rewards_are_not_zero(scale):
    r = np.array([1.0, 0.0, 2.0, 1.0])
    want = set_advantages(r, 2, scale=scale, eps=1e-300)
    for factor in (1e154, 1e200, 1e300):
        np.testing.assert_allclose(set_advantages(r * factor, 2, scale=scale), want, rtol=1e-12)


def test_rewards_that_spread_beyond_float64_are_refused():
    with pytest.raises(ValueError, match="spread beyond the float64 range"):
        set_advantages([1.7e308, -1.7e308], 2)


def test_candidate_advantages_tau_within_at_huge_scale():
    rng = np.random.default_rng(3)
    x = rng.random((4, 3))
    R, phi = ss.value(ss.BestOf(), x), ss.shapley(ss.BestOf(), x)
    want = candidate_advantages(R, phi, 2, eps=1e-300)  # eps is negligible at 1e200
    got = candidate_advantages(R * 1e200, phi * 1e200, 2)
    np.testing.assert_allclose(got, want, rtol=1e-9)


# -- memory --------------------------------------------------------------------

def test_a_result_larger_than_memory_is_refused_before_allocating():
    x = np.broadcast_to(np.float64(0.5), (10**7, 10**6))  # 8e13 bytes of result
    with pytest.raises(ValueError, match=r"the result of shape \(10000000, 1000000\) needs [0-9.e+]+ GiB, more than this machine"):
        ss.shapley(ss.BestOf(), x)
    with pytest.raises(ValueError, match="needs"):
        ss.value(ss.BestOf(), x)


def test_grpo_batches_larger_than_memory_are_refused_naming_the_argument(monkeypatch):
    # Broadcast views hold no memory; numpy would raise a MemoryError naming
    # neither argument nor size, or allocate lazily until the system kills
    # the process.
    monkeypatch.setattr(_validation, "_memory_bytes", lambda: 1 << 30)
    grpo = ss.grpo
    n = 1 << 25  # 32 MiB of entries: above every check's floor, far beyond 1 GiB of working memory
    r = np.broadcast_to(np.float64(1.0), (n,))
    labels = np.broadcast_to(np.int64(0), (n,))
    values = np.broadcast_to(np.float64(0.5), (1 << 20, 64))
    r_small = np.ones(1 << 20)
    offsets = np.broadcast_to(np.array([0, 1], dtype=np.int64), (1 << 14, 1 << 13, 2))
    ids = np.broadcast_to(np.int64(0), (1 << 14, 1 << 13))
    cases = [
        ("rewards", lambda: grpo.set_advantages(r, labels)),
        ("rewards", lambda: grpo.grpo_passk_advantages(r, labels)),
        ("rewards", lambda: grpo.passk_training_advantages(r, labels, 2)),
        ("set_rewards", lambda: grpo.candidate_advantages(r, np.zeros((n, 1)), labels)),
        ("shapley_values", lambda: grpo.candidate_advantages(r_small, values, 8)),
        ("credits", lambda: grpo.credit_advantages(r_small, values, 8)),
        ("offsets", lambda: grpo.token_candidates(offsets, [[(0, 1)]] * (1 << 14))),
        ("candidate_ids", lambda: grpo.token_advantages(np.zeros((1 << 14, 1)), np.zeros(1 << 14), ids)),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=rf"a batch with {name} of shape \([0-9, ]+\) needs [0-9.]+ GiB, "
                                             r"more than this machine's 1 GiB of memory; split the batch"):
            call()
    # the same calls at a size that fits are answered
    assert grpo.set_advantages(r[:64], labels[:64]).shape == (64,)
    assert grpo.token_candidates(offsets[:2, :4], [[(0, 1)]] * 2).tolist() == [[0] * 4] * 2


def test_memory_check_skips_when_the_size_is_unknown(monkeypatch):
    monkeypatch.setattr(_validation, "_memory_bytes", lambda: None)
    _validation.check_result_size((10**9, 10**9))
    monkeypatch.setattr(_validation, "_memory_bytes", lambda: 1 << 27)
    with pytest.raises(ValueError, match=r"shape \(33554432,\) needs 0.25 GiB, more than this machine's 0.125 GiB"):
        _validation.check_result_size((1 << 25,))


def test_a_small_result_needs_no_look_at_the_memory(monkeypatch):
    def unexpected():
        raise AssertionError("a small result looked up the machine's memory")

    monkeypatch.setattr(_validation, "_memory_bytes", unexpected)
    _validation.check_result_size((4096, 16))


# -- further mistakes, one public function at a time ------------------------------

def test_register_engine_refuses_a_non_callable():
    class Toy(ss.Utility):
        def coalition_values(self, x, members):
            return np.zeros(np.shape(members)[:-1])

    with pytest.raises(TypeError, match="an engine must be a function"):
        ss.register_engine(Toy, name="toy", complexity="O(1)")(5)
    assert all(e.utility_type is not Toy for e in ss.registered_engines())


def test_linear_combination_refuses_what_is_not_a_utility():
    with pytest.raises(TypeError, match=r"pass ss.BestOf\(\), not ss.BestOf"):
        ss.LinearCombination.of((1.0, ss.BestOf))
    with pytest.raises(TypeError, match="every term must be a utility instance, got 'u'"):
        ss.LinearCombination.of((1.0, "u"))
    with pytest.raises(TypeError, match="coefficient must be a finite real number"):
        ss.LinearCombination.of(("2", ss.BestOf()))


def test_a_utility_times_an_array_is_refused_not_broadcast():
    # numpy would otherwise make an object array of utilities, one per entry
    for product in (lambda: ss.BestOf() * np.array([1.0, 2.0]), lambda: np.array([1.0, 2.0]) * ss.BestOf()):
        with pytest.raises(TypeError, match=r"scaled by one real number, got an array of shape \(2,\)"):
            product()
    with pytest.raises(TypeError):
        ss.BestOf() + np.zeros(3)
    np.testing.assert_allclose(ss.shapley(np.float64(2.0) * ss.BestOf(), [0.2, 0.4]), [0.2, 0.6])


def test_candidate_advantages_option_types():
    args = ([1.0], [[0.5, 0.5]], 1)
    with pytest.raises(TypeError, match="efficiency_rtol must be a real number, got str '1e-4'"):
        candidate_advantages(*args, efficiency_rtol="1e-4")
    with pytest.raises(ValueError, match="efficiency_rtol must be a finite number >= 0"):
        candidate_advantages(*args, efficiency_rtol=-1.0)
    with pytest.raises(ValueError, match=r"empty_value must be finite; found nan at response 1"):
        candidate_advantages([1.0, 1.0], [[0.5, 0.5]] * 2, 1, empty_value=[0.0, np.nan])


def test_check_axioms_takes_one_axiom_by_name():
    from shapley_sets.testing import check_axioms

    report = check_axioms(ss.banzhaf, ss.BestOf(), [[0.3, 0.9, 0.5]], axioms="symmetry")  # not its letters
    assert report.checked == ("symmetry",) and report.ok
    assert not check_axioms(ss.banzhaf, ss.BestOf(), [[0.3, 0.9, 0.5]], axioms="efficiency").ok


def test_coalition_codes_refuse_what_int64_codes_cannot_hold():
    from shapley_sets.testing import coalition_codes

    assert coalition_codes(np.eye(62, dtype=bool)[-1:]).tolist() == [1 << 61]
    with pytest.raises(ValueError, match="K <= 62"):
        coalition_codes(np.ones((1, 70), dtype=bool))  # the codes overflowed to 0
    with pytest.raises(TypeError, match="members must be a boolean array"):
        coalition_codes(np.array([[0.5, 1.0]]))


def test_check_axioms_refuses_a_non_callable_attribution():
    from shapley_sets.testing import check_axioms

    with pytest.raises(TypeError, match="attribution must be a function"):
        check_axioms(5, ss.BestOf(), [1.0, 2.0])
    with pytest.raises(TypeError, match=r"pass ss.BestOf\(\)"):
        check_axioms(ss.shapley, ss.BestOf, [1.0, 2.0])


def test_check_axioms_calls_an_attribution_without_a_mask_keyword_without_one():
    from shapley_sets.testing import check_axioms

    def plain(u, x):  # a user's own function, written without mask=
        return ss.shapley(u, x)

    assert check_axioms(plain, ss.BestOf(), [[0.3, 0.9, 0.5]]).ok
    assert check_axioms(plain, ss.BestOf(), [[0.3, 0.9, 0.5]], mask=[[True, True, True]]).ok
    with pytest.raises(TypeError, match="attribution plain takes no mask= keyword, but mask marks absent"):
        check_axioms(plain, ss.BestOf(), [[0.3, 0.9, 0.5]], mask=[[True, False, True]])
    # **kwargs and a keyword-only mask are passed it
    assert check_axioms(lambda u, x, **kw: ss.shapley(u, x, **kw), ss.BestOf(), [[0.3, 0.9, 0.5]],
                        mask=[[True, False, True]]).ok


def test_warmup_option_type():
    with pytest.raises(TypeError, match="include_optional must be True or False"):
        ss.warmup(include_optional="yes")


def test_a_nan_value_is_not_called_an_overflow():
    class Broken(ss.Utility):
        def coalition_values(self, x, members):
            return np.full(np.shape(members)[:-1], np.nan)

    with pytest.raises(ValueError, match="values of Broken came out NaN for these inputs: its coalition_values returned NaN"):
        ss.value(Broken(), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"coalition values of Broken must be finite; found nan"):
        ss.shapley(Broken(), [1.0, 2.0])


def test_shapley_estimate_names_a_bad_seed_and_a_bad_level():
    x = [[0.3, 0.9, 0.5, 0.1]]
    for seed, error in (("a", TypeError), (1.5, TypeError), (True, TypeError), (-1, ValueError)):
        with pytest.raises(error, match="seed must be None, an int >= 0"):
            ss.shapley_estimate(ss.BestOf(), x, budget=10, seed=seed)
    est = ss.shapley_estimate(ss.BestOf(), x, budget=10, seed=[1, 2])
    with pytest.raises(TypeError, match="level must be a real number"):
        est.interval("0.95")


def test_a_custom_utilitys_own_mistakes_are_named_as_its():
    x = np.array([[0.3, 0.9, 0.5]])

    class WrongShape(ss.Utility):
        def coalition_values(self, x, members):
            return np.zeros(3)  # one value per set, not per coalition

    class Complex(ss.Utility):
        def coalition_values(self, x, members):
            return np.zeros(members.shape[:-1], dtype=complex)  # numpy would drop the imaginary part

    class Nothing(ss.Utility):
        pass

    for call in (ss.shapley, ss.value, ss.empty_value, ss.reference_shapley):
        with pytest.raises(ValueError, match=r"WrongShape.coalition_values returned shape \(3,\)"):
            call(WrongShape(), x)
        with pytest.raises(TypeError, match="Complex.coalition_values must return real numbers"):
            call(Complex(), x)
    with pytest.raises(NotImplementedError, match=r"Nothing must define coalition_values\(x, members\)"):
        ss.shapley(Nothing(), x)


def test_an_estimate_whose_coalitions_cannot_fit_in_memory_is_refused_before_drawing(monkeypatch):
    from shapley_sets import _validation

    x = np.random.default_rng(0).random((1, 40))
    with pytest.raises(ValueError, match=r"budget=10000000000 for 1 set\(s\) of up to 40 candidates .* needs "
                                         r"[0-9.]+ GiB, more than this machine's .*lower the budget"):
        ss.shapley_estimate(ss.BestOf(), x, budget=10**10)  # 400 GB of coalitions: numpy would allocate lazily
    assert ss.shapley_estimate(ss.BestOf(), x[:, :10], budget=10**10).calls.tolist() == [1024]  # exact: 2^10 rows
    monkeypatch.setattr(_validation, "_memory_bytes", lambda: 1 << 27)
    with pytest.raises(ValueError, match="lower the budget or split the batch"):
        ss.shapley_estimate(ss.BestOf(), x, budget=500_000)  # 20 MB of rows + 160 MB of draws > 128 MiB
    ss.shapley_estimate(ss.BestOf(), x, budget=200)
