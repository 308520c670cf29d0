"""The flat public functions: validate, then dispatch to an engine."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_finite, prepare_mask
from .engines.dispatch import compute_semivalue, compute_shapley
from .engines.reference import exact_semivalue_table, exact_shapley_table, reference_from_prepared
from .engines.weights import BANZHAF, LEAVE_ONE_OUT, as_weighting

__all__ = ["shapley", "semivalue", "banzhaf", "leave_one_out", "value", "exact_shapley",
           "reference_shapley"]


def _prepare(u, x, mask):
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
    mask = prepare_mask(mask, batch + (arr.shape[-1],))
    return arr, mask


def _checked_result(phi: np.ndarray, u, what: str = "Shapley values") -> np.ndarray:
    if not np.isfinite(phi).all():
        raise ValueError(
            f"the {what} of {type(u).__name__} overflowed float64: the "
            "scores' differences exceed the float64 range; rescale x"
        )
    return phi


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
    arr, mask = _prepare(u, x, mask)
    return _checked_result(compute_shapley(u, arr, mask), u)


def semivalue(u, x, weights, *, mask=None) -> np.ndarray:
    """Exact semivalues of every candidate: Shapley, Banzhaf, leave-one-out,
    the Beta family or your own size weights, by the fastest exact engine.

    A semivalue gives candidate i ``φ_i = Σ_{T ⊆ N∖i} q_K(|T|) [U(T ∪ i) − U(T)]``
    with K the number of present candidates in i's set; ``p_K(s) =
    C(K−1, s) q_K(s)`` is the total weight of the coalitions of size s and sums
    to 1 over s = 0..K−1 (docs/math.md, "Semivalues"). Only the Shapley value
    is efficient; all are symmetric, additive and give null players 0.

    Args:
        u: a set utility such as ``ss.BestOf()``.
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
    arr, mask = _prepare(u, x, mask)
    what = "Shapley values" if weighting.is_shapley else f"{weighting.name} semivalues"
    return _checked_result(compute_semivalue(u, arr, mask, weighting), u, what)


def banzhaf(u, x, *, mask=None) -> np.ndarray:
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


def leave_one_out(u, x, *, mask=None) -> np.ndarray:
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


def value(u, x, *, mask=None) -> np.ndarray:
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
    arr, mask = _prepare(u, x, mask)
    return np.asarray(u.coalition_values(arr, mask[..., None, :])[..., 0], dtype=np.float64)


def exact_shapley(table, weights=None) -> np.ndarray:
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
    return _checked_result(reference_from_prepared(u, arr, mask), u)
