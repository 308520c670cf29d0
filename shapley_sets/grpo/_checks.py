"""Argument checks shared by the GRPO functions (numpy only, after adaptation)."""

from __future__ import annotations

import numpy as np

from .._scalars import check_int, check_nonnegative_real, check_positive_real
from .._validation import as_bool_mask, as_float_array, check_result_size
from ..adapters.arrays import to_numpy
from ._groups import SCALES, SINGLETONS

__all__ = ["check_options", "rewards_1d", "check_choice", "check_beta", "check_candidate_values",
           "check_batch_memory", "response_keep"]

# Working memory per entry of the GRPO functions' inputs, bytes: their
# measured peaks (tracemalloc) rounded up, 42-51 per reward (the group
# factorisation, the moments, the answer) and 22-33 per candidate value.
PER_REWARD = 56
PER_CANDIDATE_VALUE = 40


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


def check_batch_memory(shape: tuple, name: str, per_entry: int) -> None:
    """Refuse, before anything is allocated, a batch whose working arrays
    (``per_entry`` bytes for each entry of ``name``'s ``shape``) cannot fit
    in memory, naming the argument and stating the size needed (numpy
    would raise a MemoryError naming neither, or allocate lazily and the
    system kill the process as the pages fill)."""
    check_result_size(shape, f"a batch with {name}", per_entry=per_entry)


def _token_position(bad: np.ndarray) -> str:
    i, t = np.argwhere(bad)[0]
    return f"response {int(i)}, token {int(t)}"


def response_keep(mask: np.ndarray) -> np.ndarray:
    """An (N, T) ``response_mask`` as contiguous booleans, by the one rule of
    every mask argument; a value other than 0/1 is named by response and token."""
    return np.ascontiguousarray(as_bool_mask(mask, "response_mask", locate=_token_position,
                                             meaning="a response token"))


def rewards_1d(values, name: str) -> np.ndarray:
    """float64 (N,) rewards; NaN allowed (= missing), infinities are not."""
    raw = to_numpy(values, name)
    check_batch_memory(raw.shape, name, PER_REWARD)
    arr = as_float_array(raw, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (N,) (one reward per response), got {arr.shape}")
    inf = np.isinf(arr)
    if inf.any():
        i = int(np.flatnonzero(inf)[0])
        raise ValueError(
            f"{name} must be finite or NaN (NaN = missing reward); found {arr[i]} at response {i}"
        )
    return arr


def check_beta(beta: object) -> float:
    """``beta`` as a float: a ``TypeError`` unless it is a real number, a
    ``ValueError`` unless it is finite and >= 0."""
    return check_nonnegative_real("beta", beta)


def check_candidate_values(values, name: str, n: int, live: np.ndarray | None = None) -> np.ndarray:
    """float64 (N, K) per-candidate values; with ``live``, finite where live.

    ``live`` (N, K) bool marks the entries that are used; NaN or inf there is
    an error naming the response and the candidate.
    """
    raw = to_numpy(values, name)
    check_batch_memory(raw.shape, name, PER_CANDIDATE_VALUE)
    arr = as_float_array(raw, name, min_ndim=2)
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
