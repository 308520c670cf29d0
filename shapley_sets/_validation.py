"""Input validation shared by every public entry point.

The Python layer checks everything here so that the numba kernels never see
bad data: a user gets a ``ValueError``/``TypeError`` that names the argument,
the set and the candidate, never a numba traceback or a silent NaN.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .adapters.arrays import is_tensor

__all__ = [
    "as_array",
    "as_bool_mask",
    "as_float_array",
    "check_finite",
    "check_in_range",
    "check_result_size",
    "check_utility",
    "prepare_mask",
    "set_label",
]


_PAD_AND_MASK = (
    "pad every set to the same length K and pass mask= with True for the real "
    "candidates (absent ones get 0 and take no part)"
)


def as_array(values, name: str, what: str = "its sets have different numbers of candidates",
             fix: str = _PAD_AND_MASK) -> np.ndarray:
    """``np.asarray(values)``, with a ragged nested sequence reported as such
    (``what`` says what differs, ``fix`` what to do)."""
    try:
        arr = np.asarray(values)
    except ValueError as exc:
        if "inhomogeneous" not in str(exc) and "sequence" not in str(exc):
            raise
        arr = None
    if arr is None or (arr.dtype == object and _is_ragged(arr)):
        raise ValueError(f"{name} is ragged ({what}); {fix}")
    return arr


def _is_ragged(arr: np.ndarray) -> bool:
    return any(isinstance(v, (list, tuple, np.ndarray)) for v in arr.ravel()[:1000])


def check_utility(u, name: str = "u") -> None:
    """Raise ``TypeError`` unless ``u`` is a utility instance (not its class)."""
    if isinstance(u, type):
        if hasattr(u, "coalition_values"):
            raise TypeError(
                f"{name} must be a utility instance: pass ss.{u.__name__}(), not "
                f"ss.{u.__name__} (the class)"
            )
    elif hasattr(u, "coalition_values"):
        return
    raise TypeError(
        f"{name} must be a set utility (e.g. ss.BestOf()) or an object with a "
        f"coalition_values(x, members) method, got {type(u).__name__}"
    )


def coalition_values_of(u: Any, x: Any, members: np.ndarray) -> np.ndarray:
    """``u.coalition_values(x, members)`` as float64 of shape ``members.shape[:-1]``.

    A custom utility's own mistakes (values of another shape, complex or
    non-numeric values) are named as its: numpy would say "could not
    broadcast" or cast complex values to real without a word."""
    out = np.asarray(u.coalition_values(x, members))
    name = type(u).__name__
    if out.dtype.kind not in "biuf":
        raise TypeError(f"{name}.coalition_values must return real numbers, got dtype {out.dtype}")
    want = members.shape[:-1]
    if out.shape != want:
        raise ValueError(
            f"{name}.coalition_values returned shape {out.shape} for members of shape {members.shape}: "
            f"it must return one value per coalition, shape {want} (members' shape without its last axis)"
        )
    return out.astype(np.float64, copy=False)


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


#: Result sizes (bytes) that need no look at the machine's memory.
_ALWAYS_FITS = 1 << 26


def check_result_size(shape: tuple, name: str = "the result", *, per_entry: int = 8) -> None:
    """Raise ``ValueError`` before allocating when ``shape`` (float64 entries,
    ``per_entry`` bytes each with the engine's own arrays) exceeds the
    machine's physical memory, stating the size needed."""
    entries = 1
    for n in shape:
        entries *= int(n)
    if entries * per_entry <= _ALWAYS_FITS:  # the common case: no message to format
        return
    check_fits_in_memory(entries * per_entry, f"{name} of shape {tuple(int(n) for n in shape)}",
                         "split the batch into smaller calls")


def check_fits_in_memory(need: int, what: str, advice: str) -> None:
    """Raise ``ValueError`` when ``need`` bytes exceed the machine's physical
    memory: "{what} needs N GiB, more than this machine's M GiB; {advice}"."""
    if need <= _ALWAYS_FITS:  # no machine this runs on has less: no system call for small needs
        return
    have = _memory_bytes()
    if have is not None and need > have:
        raise ValueError(
            f"{what} needs {need / 2**30:.4g} GiB, more than this machine's {have / 2**30:.4g} GiB "
            f"of memory; {advice}"
        )


def as_float_array(values, name: str, *, min_ndim: int = 1) -> np.ndarray:
    """Return ``values`` as a float64 array without ever changing the input.

    Integer, boolean and float32 inputs are upcast; complex, object, string
    and datetime inputs raise ``TypeError``. The result may share memory with
    the input (callers never write to it).
    """
    if is_tensor(values):
        raise TypeError(
            f"{name} is a torch tensor; the numerical core takes numpy arrays "
            f"(use {name}.detach().cpu().numpy(), or the shapley_sets.grpo "
            "functions, which accept tensors)"
        )
    arr = as_array(values, name)
    kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    if kind not in "biuf":
        raise TypeError(
            f"{name} must be a numeric array (bool, int or float), got dtype {arr.dtype}"
        )
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s) "
            f"(candidates on the last axis), got shape {arr.shape}"
        )
    return arr.astype(np.float64, copy=False)


def set_label(batch_shape: tuple, flat_set: int) -> str:
    """Human-readable index of set number ``flat_set`` in a batch of ``batch_shape``."""
    if not batch_shape:
        return "the set"
    idx = np.unravel_index(flat_set, batch_shape)
    inner = ", ".join(str(int(i)) for i in idx)
    if len(idx) == 1:
        inner += ","
    return f"set ({inner})"


def _locate(arr: np.ndarray, bad: np.ndarray, core_ndim: int) -> str:
    """Describe the first True position of ``bad`` as set + position in the set."""
    first = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), arr.shape)
    batch_shape = arr.shape[: arr.ndim - core_ndim]
    flat_set = int(np.ravel_multi_index(first[: len(batch_shape)], batch_shape)) if batch_shape else 0
    core = first[len(batch_shape):]
    where = set_label(batch_shape, flat_set)
    if core_ndim == 1:
        return f"{where}, candidate {int(core[0])}"
    if core_ndim == 2:
        return f"{where}, row {int(core[0])}, candidate {int(core[1])}"
    return f"{where}, position {tuple(int(c) for c in core)}"


def check_finite(arr: np.ndarray, name: str, core_ndim: int = 1) -> None:
    """Raise ``ValueError`` at the first NaN or infinity in ``arr``."""
    finite = np.isfinite(arr)
    if finite.all():
        return
    bad = ~finite
    first_val = arr.ravel()[int(np.flatnonzero(bad.ravel())[0])]
    raise ValueError(
        f"{name} must be finite; found {first_val} at {_locate(arr, bad, core_ndim)}"
    )


def check_in_range(
    arr: np.ndarray, name: str, low: float, high: float, core_ndim: int = 1
) -> None:
    """Raise ``ValueError`` at the first value of ``arr`` outside ``[low, high]``."""
    bad = (arr < low) | (arr > high)
    if not bad.any():
        return
    first_val = arr.ravel()[int(np.flatnonzero(bad.ravel())[0])]
    raise ValueError(
        f"{name} must lie in [{low}, {high}]; found {first_val} at "
        f"{_locate(arr, bad, core_ndim)}"
    )


def as_bool_mask(mask, name: str, locate=None, meaning: str = "candidate present") -> np.ndarray:
    """``mask`` as a bool array by the one rule of every mask argument.

    Booleans are taken as they are; numbers (int or float) must each be
    exactly 0 or 1 (a 0/1 attention mask), anything else is refused rather
    than guessed at: 2 or 0.5 → ``ValueError`` naming the first such entry
    (``locate(bad)`` words its position), strings, objects → ``TypeError``.
    """
    if is_tensor(mask):
        raise TypeError(f"{name} is a torch tensor; pass a numpy bool array")
    m = as_array(mask, name)
    if m.dtype == np.bool_:
        return m
    if m.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a boolean array (True = {meaning}) or 0/1 numbers, "
            f"got dtype {m.dtype}"
        )
    bad = (m != 0) & (m != 1)  # NaN is neither
    if bad.any():
        first = m.ravel()[int(np.flatnonzero(bad.ravel())[0])]
        where = locate(bad) if locate is not None else (
            _locate(m, bad, 1) if m.ndim else "the scalar mask")
        raise ValueError(
            f"{name} must be boolean or hold only 0 and 1 (True/1 = {meaning}); found "
            f"{first} at {where}"
        )
    return m != 0


def prepare_mask(mask, shape: tuple, name: str = "mask") -> np.ndarray:
    """Broadcast an optional mask to ``shape`` (batch + (K,)) by the rule of
    :func:`as_bool_mask`.

    Returns a read-only C-contiguous bool array of exactly ``shape`` (a view
    of the caller's mask when that already is one: it is never modified).
    Always read-only, so that numba compiles each kernel for one mask type.
    """
    if mask is None:
        out = np.ones(shape, dtype=np.bool_)
        out.flags.writeable = False
        return out
    m = as_bool_mask(mask, name)
    try:
        out = np.broadcast_to(m, shape)
    except ValueError:
        raise ValueError(
            f"{name} of shape {m.shape} does not broadcast to the sets' shape {shape} "
            "(batch axes + candidate axis)"
        ) from None
    out = np.ascontiguousarray(out)
    out.flags.writeable = False
    return out
