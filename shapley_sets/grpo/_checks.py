"""Argument checks shared by the GRPO functions (numpy only, after adaptation)."""

from __future__ import annotations

import numpy as np

from .._scalars import check_int, check_positive_real
from .._validation import as_float_array
from ..adapters.arrays import to_numpy
from ._groups import SCALES, SINGLETONS

__all__ = ["check_options", "rewards_1d", "check_choice"]


def check_choice(value, name: str, choices: tuple) -> str:
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_options(scale, eps, ddof, singleton) -> tuple:
    check_choice(scale, "scale", SCALES)
    check_choice(singleton, "singleton", SINGLETONS)
    eps = check_positive_real(
        "eps", eps, why="(it guards the division when all rewards of a group are equal)"
    )
    ddof = check_int("ddof", ddof, choices=(0, 1), why="(1 = unbiased std, as torch.std)")
    return scale, eps, ddof, singleton


def rewards_1d(values, name: str) -> np.ndarray:
    """float64 (N,) rewards; NaN allowed (= missing), infinities are not."""
    arr = as_float_array(to_numpy(values), name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (N,) (one reward per response), got {arr.shape}")
    inf = np.isinf(arr)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise ValueError(
            f"{name} must be finite or NaN (NaN = missing reward); found {arr[i]} at response {i}"
        )
    return arr
