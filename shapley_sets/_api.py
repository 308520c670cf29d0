"""The flat public functions: validate, then dispatch to an engine."""

from __future__ import annotations

import numpy as np

from ._typing import ArrayLike, FloatArray, UtilityLike
from ._validation import as_float_array, check_finite, prepare_mask
from .engines.dispatch import compute_shapley
from .engines.reference import exact_shapley_table, reference_from_prepared

__all__ = ["shapley", "value", "empty_value", "exact_shapley", "reference_shapley"]


def _prepare(u: object, x: ArrayLike, mask: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    if not hasattr(u, "coalition_values"):
        raise TypeError(
            "u must be a set utility (e.g. ss.BestOf()) or an object with a "
            f"coalition_values(x, members) method, got {type(u).__name__}"
        )
    core_ndim = getattr(u, "core_ndim", 1)
    arr = as_float_array(x, "x", min_ndim=core_ndim)
    check_finite(arr, "x", core_ndim)
    check = getattr(u, "check_input", None)
    if check is not None:
        check(arr)
    batch = arr.shape[: arr.ndim - core_ndim]
    present = prepare_mask(mask, batch + (arr.shape[-1],))
    return arr, present


def _checked_result(phi: np.ndarray, u) -> np.ndarray:
    if not np.isfinite(phi).all():
        raise ValueError(
            f"the Shapley values of {type(u).__name__} overflowed float64: the "
            "scores' differences exceed the float64 range; rescale x"
        )
    return phi


def shapley(u: UtilityLike, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
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
        TypeError: ``u`` is not a utility, or ``x``/``mask`` have a wrong dtype.
        ValueError: NaN/inf in ``x`` or input outside the utility's domain
            (naming the set and the candidate), a mask that does not
            broadcast, or a result that would overflow float64.

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
    arr, present = _prepare(u, x, mask)
    return _checked_result(compute_shapley(u, arr, present), u)


def value(u: UtilityLike, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """U of each whole set (its present candidates), shape ``(...)``.

    Args:
        u: a set utility.
        x: the utility's input, candidates on the last axis.
        mask: optional bool array broadcastable to ``(..., K)``.

    Returns:
        float64 array of the batch's shape (a 0-d array for one set).

    Examples:
        >>> import shapley_sets as ss
        >>> ss.value(ss.BestOf(), [[0.9, 0.2], [0.1, 0.3]]).tolist()
        [0.9, 0.3]
        >>> float(ss.value(ss.BestOf(floor=0.5), [0.1, 0.3]))
        0.5
    """
    arr, present = _prepare(u, x, mask)
    return np.asarray(u.coalition_values(arr, present[..., None, :])[..., 0], dtype=np.float64)


def empty_value(u: UtilityLike, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """U(∅), the worth of each set's empty coalition, shape ``(...)``.

    Efficiency reads ``shapley(u, x).sum(-1) == value(u, x) - empty_value(u, x)``:
    the Shapley values share out what the whole set adds to the empty one.
    U(∅) is 0 for most utilities, but not for all: ``BestOf(floor=b)`` has
    ``U(∅) = b``, ``ExpectedBest`` the weighted sum of its types' floors.

    Args:
        u: a set utility.
        x: the utility's input, candidates on the last axis; it is validated
            as in :func:`shapley`, and U(∅) may depend on it.
        mask: optional bool array broadcastable to ``(..., K)``, checked as
            in :func:`shapley` (the empty coalition holds no candidate
            whatever the mask).

    Returns:
        float64 array of the batch's shape (a 0-d array for one set).

    Raises:
        TypeError, ValueError: as :func:`shapley`.

    Examples:
        >>> import shapley_sets as ss
        >>> x = [[0.9, 0.2, 0.8], [0.1, 0.1, 0.0]]
        >>> ss.empty_value(ss.BestOf(), x).tolist()
        [0.0, 0.0]
        >>> u = ss.BestOf(floor=0.5)
        >>> ss.empty_value(u, x).tolist()
        [0.5, 0.5]
        >>> (ss.shapley(u, x).sum(-1) + ss.empty_value(u, x) - ss.value(u, x)).round(12).tolist()
        [0.0, 0.0]
    """
    arr, present = _prepare(u, x, mask)
    nobody = np.zeros(present.shape[:-1] + (1, present.shape[-1]), dtype=bool)
    return np.asarray(u.coalition_values(arr, nobody)[..., 0], dtype=np.float64)


def exact_shapley(table: ArrayLike) -> FloatArray:
    return exact_shapley_table(table)


exact_shapley.__doc__ = exact_shapley_table.__doc__


def reference_shapley(u: UtilityLike, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
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
    arr, present = _prepare(u, x, mask)
    return _checked_result(reference_from_prepared(u, arr, present), u)
