"""The flat public functions: validate, then dispatch to an engine."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._typing import ArrayLike, FloatArray, UtilityLike, WeightsLike
from ._validation import (
    as_float_array,
    check_finite,
    check_result_size,
    check_utility,
    coalition_values_of,
    prepare_mask,
)
from .blackbox.set_function import SetFunction
from .engines.dispatch import compute_semivalue, compute_shapley
from .engines.reference import exact_semivalue_table, exact_shapley_table, reference_from_prepared
from .engines.weights import BANZHAF, LEAVE_ONE_OUT, SHAPLEY, as_weighting
from .utilities.base import rescale

__all__ = ["shapley", "semivalue", "banzhaf", "leave_one_out", "value", "empty_value",
           "exact_shapley", "reference_shapley"]


def _black_box():
    # A SetFunction's input is a batch of sets of arbitrary objects, not a
    # float array: it has its own validation and evaluation path.
    from .blackbox import exact

    return exact


def _prepare(u: object, x: ArrayLike, mask: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
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
    present = prepare_mask(mask, batch + (arr.shape[-1],))
    return arr, present


#: Where an intermediate overflows float64 though the answer need not (the
#: difference of two scores near ±1.8e308), the computation is repeated on
#: inputs scaled by this power of two, which is exact, and scaled back.
_SHRINK = 2.0 ** -64


def _finite_answer(compute: Callable[..., np.ndarray], u: Any, arr: np.ndarray, mask: np.ndarray,
                   what: str) -> np.ndarray:
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
            f"{what} of {type(u).__name__} came out NaN for these inputs: its coalition_values "
            "returned NaN for a coalition, or the engine failed on them (a bug worth reporting, "
            "with the inputs)"
        )
    raise ValueError(
        f"{what} of {type(u).__name__} are beyond the float64 range (about ±1.8e308) "
        "for these inputs; rescale x"
    )


def _whole_set_value(u: Any, arr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return coalition_values_of(u, arr, mask[..., None, :])[..., 0]


def shapley(u: UtilityLike | SetFunction, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """Exact Shapley values of every candidate, by the fastest exact engine.

    Args:
        u: a set utility such as ``ss.BestOf()``. Utilities without a
            registered fast engine use the reference engine (K ≤ 25). A
            :class:`~shapley_sets.SetFunction` (a black-box judge) is
            evaluated on every coalition once: 2^K calls per set, 2^K − 1
            with its ``empty_value``; more than its ``max_calls`` raises
            before any call.
        x: the utility's input, candidates on the last axis, e.g. scores
            ``(..., K)``; leading axes are independent sets. Integer and
            float32 inputs are upcast to float64; the input is never modified.
            For a ``SetFunction``: a list of sets of candidates (ragged
            allowed, results padded with 0) or an array ``(..., K)`` of them.
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
    if isinstance(u, SetFunction):
        return _black_box().exact_values(u, x, mask, SHAPLEY, "ss.shapley")
    arr, present = _prepare(u, x, mask)
    return _finite_answer(compute_shapley, u, arr, present, "the Shapley values")


def semivalue(u: UtilityLike | SetFunction, x: ArrayLike, weights: WeightsLike, *,
              mask: ArrayLike | None = None) -> FloatArray:
    """Exact semivalues of every candidate: Shapley, Banzhaf, leave-one-out,
    the Beta family or your own size weights, by the fastest exact engine.

    A semivalue gives candidate i ``φ_i = Σ_{T ⊆ N∖i} q_K(|T|) [U(T ∪ i) − U(T)]``
    with K the number of present candidates in i's set; ``p_K(s) =
    C(K−1, s) q_K(s)`` is the total weight of the coalitions of size s and sums
    to 1 over s = 0..K−1 (docs/math.md#semivalues). Only the Shapley value
    is efficient; all are symmetric, additive and give null players 0.

    Args:
        u: a set utility such as ``ss.BestOf()``, or a
            :class:`~shapley_sets.SetFunction` (2^K calls per set, 2^K − 1
            with its ``empty_value``; leave-one-out K + 1).
        x: its input, candidates on the last axis (as for :func:`shapley`).
        weights: one of
            ``"shapley"``; ``"banzhaf"`` (``q_K(s) = 2^-(K-1)``); ``"loo"``
            (leave-one-out, ``U(S) − U(S∖i)``); ``("beta", α, β)`` with α, β > 0
            (every other candidate joins with probability t ~ Beta(α, β);
            (1, 1) is Shapley); a 1-D array of **size** weights
            ``p_K(s)``, s = 0..K−1, non-negative and summing to 1, for sets
            of exactly K = ``len(weights)`` present candidates; or a callable
            ``weights(K)`` returning that vector for any K (use it for ragged
            batches: each set gets the weights of its own size).
        mask: optional bool array broadcastable to ``(..., K)``; absent
            candidates get exactly 0, and a set's K counts only its present
            candidates.

    Returns:
        float64 array ``(..., K)``.

    Raises:
        TypeError: as :func:`shapley`, or ``weights`` of a wrong type.
        ValueError: as :func:`shapley`; an unknown weighting name, α or β not
            > 0, size weights of the wrong length (naming the set), not
            finite, negative or not summing to 1; a weighting the utility's
            engine does not serve at K > 25 (the reference engine's cap).

    Utilities whose engine does not serve a weighting (see
    ``ss.registered_engines()``, ``Engine.weightings``) use the reference engine.

    Examples:
        >>> import shapley_sets as ss
        >>> x = [0.9, 0.2, 0.8]
        >>> ss.semivalue(ss.BestOf(), x, "banzhaf").round(4).tolist()
        [0.45, 0.05, 0.35]
        >>> ss.semivalue(ss.BestOf(), x, "loo").round(4).tolist()
        [0.1, 0.0, 0.0]
        >>> ss.semivalue(ss.BestOf(), x, ("beta", 1, 1)).round(4).tolist()  # Shapley
        [0.4667, 0.0667, 0.3667]
        >>> ss.semivalue(ss.BestOf(), x, [0.0, 0.0, 1.0]).round(4).tolist()  # sizes: loo
        [0.1, 0.0, 0.0]
    """
    weighting = as_weighting(weights)
    if isinstance(u, SetFunction):
        return _black_box().exact_values(u, x, mask, weighting, f"ss.semivalue ({weighting.name})")
    arr, present = _prepare(u, x, mask)
    what = "the Shapley values" if weighting.is_shapley else f"the {weighting.name} semivalues"
    return _finite_answer(lambda v, a, m: compute_semivalue(v, a, m, weighting), u, arr, present, what)


def banzhaf(u: UtilityLike | SetFunction, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """Exact Banzhaf values: ``ss.semivalue(u, x, "banzhaf", mask=mask)``.

    Every coalition of the other present candidates weighs the same,
    ``2^-(K-1)``: a candidate's mean marginal contribution over all of them.

    Args, Returns, Raises: as :func:`semivalue`.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.banzhaf(ss.BestOf(), [[0.9, 0.2, 0.8]]).round(4).tolist()
        [[0.45, 0.05, 0.35]]
    """
    return semivalue(u, x, BANZHAF, mask=mask)


def leave_one_out(u: UtilityLike | SetFunction, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """Leave-one-out credit ``U(S) − U(S∖k)`` of every present candidate k.

    ``ss.semivalue(u, x, "loo", mask=mask)``: S is the set's present
    candidates; absent candidates get exactly 0.

    Args, Returns, Raises: as :func:`semivalue`.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.leave_one_out(ss.BestOf(), [0.9, 0.2, 0.8]).round(4).tolist()
        [0.1, 0.0, 0.0]
        >>> ss.leave_one_out(ss.BestOf(), [0.9, 0.2, 0.8], mask=[False, True, True]).round(4).tolist()
        [0.0, 0.0, 0.6]
    """
    return semivalue(u, x, LEAVE_ONE_OUT, mask=mask)


def value(u: UtilityLike | SetFunction, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """U of each whole set (its present candidates), shape ``(...)``.

    Args:
        u: a set utility, or a :class:`~shapley_sets.SetFunction` (one call
            per set).
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
    if isinstance(u, SetFunction):
        return _black_box().whole_set_values(u, x, mask)
    arr, present = _prepare(u, x, mask)
    return _finite_answer(_whole_set_value, u, arr, present, "the values")


def empty_value(u: UtilityLike | SetFunction, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
    """U(∅), the worth of each set's empty coalition, shape ``(...)``.

    Efficiency reads ``shapley(u, x).sum(-1) == value(u, x) - empty_value(u, x)``:
    the Shapley values share out what the whole set adds to the empty one.
    U(∅) is 0 for most utilities, but not for all: ``BestOf(floor=b)`` has
    ``U(∅) = b``, ``ExpectedBest`` the weighted sum of its types' floors.

    Args:
        u: a set utility, or a :class:`~shapley_sets.SetFunction` (its
            ``empty_value`` where given, else one call ``fn([])`` that every
            set shares).
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
        >>> judge = ss.SetFunction(lambda ideas: 0.1 + len(set(ideas)))   # U(∅) = fn([]) = 0.1
        >>> ss.empty_value(judge, [["a", "b"], ["c"]]).tolist()
        [0.1, 0.1]
    """
    if isinstance(u, SetFunction):
        return _black_box().empty_set_values(u, x, mask)
    arr, present = _prepare(u, x, mask)
    return empty_values_of(u, arr, present)


def empty_values_of(u: Any, arr: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`empty_value` on an input already validated for ``u`` (``arr``,
    float64) and its ``(..., K)`` mask ``present``."""
    nobody = np.zeros(present.shape[:-1] + (1, present.shape[-1]), dtype=bool)
    return coalition_values_of(u, arr, nobody)[..., 0]


def exact_shapley(table: ArrayLike, weights: WeightsLike | None = None) -> FloatArray:
    """Shapley values (or any semivalue) of every set function given by a value table.

    Args:
        table: array ``(..., 2**K)``; ``table[..., m] = U(S)`` where bit j of
            ``m`` is set iff candidate j is in S. Leading axes are a batch.
            Integer and float32 tables are upcast to float64.
        weights: optional semivalue weighting, as for :func:`semivalue`
            (``"banzhaf"``, ``"loo"``, ``("beta", α, β)``, size weights of
            length K or a callable); default the Shapley value.

    Returns:
        float64 array ``(..., K)``: ``phi[..., i]`` is candidate i's value.
        For the Shapley value ``phi.sum(-1) == table[..., -1] - table[..., 0]``
        (efficiency).

    Raises:
        TypeError: the table is not a real numeric array, or ``weights`` has
            a wrong type.
        ValueError: its last axis is not a power of two, K exceeds
            ``MAX_REFERENCE_K`` (checked before anything is copied), it holds
            NaN or infinity, or ``weights`` is invalid (see :func:`semivalue`).

    Examples:
        >>> import shapley_sets as ss
        >>> # U(∅)=0, U({0})=1, U({1})=2, U({0,1})=4
        >>> ss.exact_shapley([0.0, 1.0, 2.0, 4.0]).tolist()
        [1.5, 2.5]
        >>> ss.exact_shapley([0.0, 1.0, 2.0, 4.0], "banzhaf").tolist()
        [1.5, 2.5]
        >>> ss.exact_shapley([0.0, 1.0, 2.0, 4.0], "loo").tolist()
        [2.0, 3.0]
    """
    if weights is None:
        return exact_shapley_table(table)
    weighting = as_weighting(weights)
    if weighting.is_shapley:
        return exact_shapley_table(table)
    length = np.shape(table)[-1] if np.ndim(table) else 0
    if weighting.kind == "sizes" and length >= 1 and not length & (length - 1):
        weighting.size_weights(length.bit_length() - 1)  # the length check, naming weights
    return exact_semivalue_table(table, weighting)


def reference_shapley(u: UtilityLike | SetFunction, x: ArrayLike, *, mask: ArrayLike | None = None) -> FloatArray:
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
    if isinstance(u, SetFunction):
        return _black_box().exact_values(u, x, mask, SHAPLEY, "ss.reference_shapley")
    arr, present = _prepare(u, x, mask)
    return _finite_answer(reference_from_prepared, u, arr, present, "the Shapley values")
