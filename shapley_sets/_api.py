"""The flat public functions: validate, then dispatch to an engine."""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_float_array,
    check_finite,
    check_result_size,
    check_utility,
    prepare_mask,
)
from .engines.dispatch import compute_shapley
from .engines.reference import exact_shapley_table, reference_from_prepared
from .utilities.base import rescale

__all__ = ["shapley", "value", "exact_shapley", "reference_shapley"]


def _prepare(u, x, mask):
    check_utility(u)
    core_ndim = getattr(u, "core_ndim", 1)
    arr = as_float_array(x, "x", min_ndim=core_ndim)
    batch = arr.shape[: arr.ndim - core_ndim]
    # The result and the mask, before either (or a check of x, which may be
    # a broadcast view) is allocated.
    check_result_size(batch + (arr.shape[-1],), "the result", per_entry=9)
    check_finite(arr, "x", core_ndim)
    check = getattr(u, "check_input", None)
    if check is not None:
        check(arr)
    mask = prepare_mask(mask, batch + (arr.shape[-1],))
    return arr, mask


#: Where an intermediate overflows float64 though the answer need not (the
#: difference of two scores near ±1.8e308), the computation is repeated on
#: inputs scaled by this power of two, which is exact, and scaled back.
_SHRINK = 2.0 ** -64


def _finite_answer(compute, u, arr: np.ndarray, mask: np.ndarray, what: str) -> np.ndarray:
    """``compute(u, arr, mask)``, every entry finite: recomputed at a smaller
    scale where an intermediate overflowed, refused where the answer itself
    is beyond the float64 range. The same rule for every engine."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = compute(u, arr, mask)
        if np.isfinite(out).all():
            return out
        small = rescale(u, _SHRINK)
        if small is not None:
            out = compute(small, arr * _SHRINK, mask) / _SHRINK
    if np.isfinite(out).all():
        return out
    if not np.isinf(out).any():
        raise ValueError(
            f"{what} of {type(u).__name__} came out NaN: its coalition_values returned "
            "NaN for a coalition of these inputs"
        )
    raise ValueError(
        f"{what} of {type(u).__name__} are beyond the float64 range (about ±1.8e308) "
        "for these inputs; rescale x"
    )


def _whole_set_value(u, arr, mask):
    return np.asarray(u.coalition_values(arr, mask[..., None, :])[..., 0], dtype=np.float64)


def shapley(u, x, *, mask=None) -> np.ndarray:
    """Exact Shapley values of every candidate, by the fastest exact engine.

    Args:
        u: a set utility such as ``ss.BestOf()``. Utilities without a
            registered fast engine use the reference engine (K ≤ 25).
        x: the utility's input, candidates on the last axis, e.g. scores
            ``(..., K)``; leading axes are independent sets. Integer and
            float32 inputs are upcast to float64; the input is never modified.
        mask: optional bool array broadcastable to ``(..., K)``; True marks a
            candidate present. Absent candidates get exactly 0 and take no
            part, so a ragged batch is a padded array plus a mask.

    Returns:
        float64 array ``(..., K)``. For every set the values add up to
        ``U(present candidates) - U(∅)`` (efficiency).

    Raises:
        TypeError: ``u`` is not a utility (or is a utility class, not an
            instance), or ``x``/``mask`` have a wrong dtype.
        ValueError: NaN/inf in ``x`` or input outside the utility's domain
            (naming the set and the candidate), a ragged nested list (pad it
            and pass ``mask``), a mask with values other than 0/1 or that
            does not broadcast, a result larger than the machine's memory
            (before allocating it), or Shapley values beyond the float64
            range. Values near that limit whose intermediate differences
            overflow are computed exactly at a smaller (power-of-two) scale
            and returned.

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> x = np.array([[0.9, 0.2, 0.8], [0.1, 0.1, 0.0]])
        >>> ss.shapley(ss.BestOf(), x).round(4)
        array([[0.4667, 0.0667, 0.3667],
               [0.05  , 0.05  , 0.    ]])
        >>> ss.shapley(ss.BestOf(), x, mask=[True, True, False]).round(4)
        array([[0.8 , 0.1 , 0.  ],
               [0.05, 0.05, 0.  ]])
    """
    arr, mask = _prepare(u, x, mask)
    return _finite_answer(compute_shapley, u, arr, mask, "the Shapley values")


def value(u, x, *, mask=None) -> np.ndarray:
    """U of each whole set (its present candidates), shape ``(...)``.

    Args:
        u: a set utility.
        x: the utility's input, candidates on the last axis.
        mask: optional bool array broadcastable to ``(..., K)``.

    Returns:
        float64 array of the batch's shape (a 0-d array for one set).

    Raises:
        TypeError, ValueError: as :func:`shapley`; a value beyond the float64
            range is refused, never returned as inf.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.value(ss.BestOf(), [[0.9, 0.2], [0.1, 0.3]]).tolist()
        [0.9, 0.3]
        >>> float(ss.value(ss.BestOf(floor=0.5), [0.1, 0.3]))
        0.5
    """
    arr, mask = _prepare(u, x, mask)
    return _finite_answer(_whole_set_value, u, arr, mask, "the values")


def exact_shapley(table) -> np.ndarray:
    return exact_shapley_table(table)


exact_shapley.__doc__ = exact_shapley_table.__doc__


def reference_shapley(u, x, *, mask=None) -> np.ndarray:
    """Shapley values by enumerating all 2^K coalitions of ``u`` (K ≤ 25).

    The ground truth every fast engine is tested against: it only needs
    ``u.coalition_values``, so it works for any utility, including your own.
    Cost O(K·2^K) per set after evaluating 2^K coalitions.

    Args, Returns, Raises: as :func:`shapley`; additionally a ``ValueError``
    that states the cap and the memory needed when K exceeds 25.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.reference_shapley(ss.BestOf(), [1.0, 3.0, 2.0]).round(6).tolist()
        [0.333333, 1.833333, 0.833333]
    """
    arr, mask = _prepare(u, x, mask)
    return _finite_answer(reference_from_prepared, u, arr, mask, "the Shapley values")
