"""Argument checks shared by the GRPO functions (numpy only, after adaptation)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import as_float_array
from ..adapters.arrays import to_numpy
from ._groups import SCALES, SINGLETONS

__all__ = ["check_options", "rewards_1d", "check_choice", "check_beta", "check_candidate_values"]


def check_choice(value, name: str, choices: tuple) -> str:
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_options(scale, eps, ddof, singleton) -> tuple:
    check_choice(scale, "scale", SCALES)
    check_choice(singleton, "singleton", SINGLETONS)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    eps = float(eps)
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(
            f"eps must be finite and > 0 (it guards the division when all rewards "
            f"of a group are equal); got {eps}"
        )
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 or 1 (1 = unbiased std, as torch.std), got {ddof!r}")
    return scale, eps, int(ddof), singleton


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


def check_beta(beta) -> float:
    """``beta`` as a float; a ``ValueError`` unless it is a finite number >= 0."""
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    return float(beta)


def check_candidate_values(values, name: str, n: int, live: np.ndarray | None = None) -> np.ndarray:
    """float64 (N, K) per-candidate values; with ``live``, finite where live.

    ``live`` (N, K) bool marks the entries that are used; NaN or inf there is
    an error naming the response and the candidate.
    """
    arr = as_float_array(to_numpy(values), name, min_ndim=2)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape (N, K) with N = {n} (len(set_rewards)), got {arr.shape}")
    if live is not None:
        bad = live & ~np.isfinite(arr)
        if bad.any():
            i, k = np.argwhere(bad)[0]
            raise ValueError(
                f"{name} must be finite for present candidates; found {arr[i, k]} "
                f"at response {i}, candidate {k}"
            )
    return arr
