"""Input validation shared by every public entry point.

The Python layer checks everything here so that the numba kernels never see
bad data: a user gets a ``ValueError``/``TypeError`` that names the argument,
the set and the candidate, never a numba traceback or a silent NaN.
"""

from __future__ import annotations

import numpy as np

from .adapters.arrays import is_tensor

__all__ = [
    "as_float_array",
    "check_finite",
    "check_in_range",
    "prepare_mask",
    "set_label",
]


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
    arr = np.asarray(values)
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


def prepare_mask(mask, shape: tuple, name: str = "mask") -> np.ndarray:
    """Broadcast an optional boolean mask to ``shape`` (batch + (K,)).

    Returns a read-only C-contiguous bool array of exactly ``shape`` (a view
    of the caller's mask when that already is one: it is never modified).
    Always read-only, so that numba compiles each kernel for one mask type.
    """
    if mask is None:
        out = np.ones(shape, dtype=np.bool_)
        out.flags.writeable = False
        return out
    if is_tensor(mask):
        raise TypeError(f"{name} is a torch tensor; pass a numpy bool array")
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        if m.dtype.kind in "iu" and np.isin(m, (0, 1)).all():
            m = m.astype(np.bool_)
        else:
            raise TypeError(
                f"{name} must be a boolean array (True = candidate present), got dtype {m.dtype}"
            )
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
