"""Scalar arguments fail alike everywhere: the wrong type raises TypeError,
the right type with a wrong value raises ValueError, and the message names
the argument (shapley_sets._scalars, used by every public entry point)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets._scalars import (
    check_finite_real,
    check_int,
    check_nonnegative_real,
    check_positive_real,
    check_real,
)

WRONG_TYPE = ["0.1", None, True, np.bool_(True), 1j, [0.1], np.array([0.1]), object()]
WRONG_REAL = [0.0, -1.0, math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", WRONG_TYPE, ids=repr)
def test_wrong_type_is_a_type_error(value):
    for check in (check_real, check_finite_real, check_positive_real, check_nonnegative_real):
        with pytest.raises(TypeError, match="^x must be a real number, got "):
            check("x", value)
    with pytest.raises(TypeError, match="^n must be an int"):
        check_int("n", value, minimum=1)


def test_right_type_wrong_value_is_a_value_error():
    for value in WRONG_REAL:
        with pytest.raises(ValueError, match=r"^eps must be a finite number > 0"):
            check_positive_real("eps", value)
    for value in (-1e-300, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"^beta must be a finite number >= 0"):
            check_nonnegative_real("beta", value)
    for value in (math.nan, math.inf):
        with pytest.raises(ValueError, match="^floor must be a finite number"):
            check_finite_real("floor", value)
    with pytest.raises(ValueError, match=r"^k must be an int between 1 and 3 \(why\), got 4$"):
        check_int("k", 4, minimum=1, maximum=3, why="(why)")
    with pytest.raises(ValueError, match="^ddof must be 0 or 1, got 2$"):
        check_int("ddof", 2, choices=(0, 1))
    with pytest.raises(TypeError, match="^ddof must be an int, 0 or 1, got float 1.0$"):
        check_int("ddof", 1.0, choices=(0, 1))


def test_numpy_and_python_numbers_are_accepted():
    assert check_positive_real("eps", np.float32(0.5)) == 0.5
    assert check_nonnegative_real("beta", np.int64(0)) == 0.0
    assert check_real("x", math.inf, finite=False) == math.inf
    assert check_int("k", np.int32(3), minimum=1) == 3
    assert type(check_int("k", np.int64(3))) is int
    assert type(check_positive_real("eps", np.float64(1e-6))) is float


# -- the public functions use it: the same mistake, the same error ---------------
R = np.array([1.0, 0.0, 1.0, 0.0])
PHI = np.array([[0.5, 0.5], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])

EPS_TAKERS = {
    "set_advantages": lambda eps: ss.grpo.set_advantages(R, 2, eps=eps),
    "candidate_advantages": lambda eps: ss.grpo.candidate_advantages(R, PHI, 2, eps=eps),
    "completion_advantages": lambda eps: ss.grpo.completion_advantages(ss.BestOf(), R, 2, eps=eps),
    "grpo_passk_advantages": lambda eps: ss.grpo.grpo_passk_advantages(R, 2, eps=eps),
    "passk_training_advantages": lambda eps: ss.grpo.passk_training_advantages(R, 2, 1, eps=eps),
}


@pytest.mark.parametrize("name", sorted(EPS_TAKERS))
def test_eps_fails_alike_everywhere(name):
    call = EPS_TAKERS[name]
    call(1e-6)
    for value in ("1e-6", None, True):
        with pytest.raises(TypeError, match="eps must be a real number"):
            call(value)
    for value in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="eps must be a finite number > 0"):
            call(value)


K_TAKERS = {
    "TopK": lambda k: ss.TopK(k),
    "RankWeighted.top_m_sum": lambda k: ss.RankWeighted.top_m_sum(k),
    "RankWeighted.top_m_mean": lambda k: ss.RankWeighted.top_m_mean(k),
    "passk_training_advantages": lambda k: ss.grpo.passk_training_advantages(R, 4, k),
}


@pytest.mark.parametrize("name", sorted(K_TAKERS))
def test_counts_fail_alike_everywhere(name):
    call = K_TAKERS[name]
    call(2)
    for value in (2.0, "2", True, None):
        with pytest.raises(TypeError, match="must be an int >= 1"):
            call(value)
    for value in (0, -3):
        with pytest.raises(ValueError, match="must be an int >= 1"):
            call(value)


def test_other_scalars():
    for bad, error in (("1", TypeError), (None, TypeError), (math.inf, ValueError), (math.nan, ValueError)):
        with pytest.raises(error, match="floor must be"):
            ss.BestOf(bad)
        with pytest.raises(error, match="lam must be"):
            ss.Pairwise(np.zeros((2, 2)), lam=bad)
    for bad, error in (("1", TypeError), (-0.5, ValueError), (math.nan, ValueError)):
        with pytest.raises(error, match="beta must be"):
            ss.grpo.candidate_advantages(R, PHI, 2, beta=bad)
        with pytest.raises(error, match="efficiency_rtol must be"):
            ss.grpo.candidate_advantages(R, PHI, 2, efficiency_rtol=bad)
    for bad, error in ((1.0, TypeError), ("1", TypeError), (2, ValueError)):
        with pytest.raises(error, match="ddof must be"):
            ss.grpo.set_advantages(R, 2, ddof=bad)


def test_axiom_checker_tolerances():
    from shapley_sets.testing import check_axioms

    x = [[3.0, 1.0]]
    assert check_axioms(ss.shapley, ss.BestOf(), x).ok
    for kwargs, error in ((dict(rtol="1e-9"), TypeError), (dict(rtol=-1.0), ValueError),
                          (dict(atol=math.nan), ValueError), (dict(seed=1.5), TypeError), (dict(seed=-1), ValueError)):
        with pytest.raises(error, match=next(iter(kwargs))):
            check_axioms(ss.shapley, ss.BestOf(), x, **kwargs)
