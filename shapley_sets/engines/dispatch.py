"""Dispatch validated input to the fastest exact engine."""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import set_label
from .reference import MAX_REFERENCE_K, reference_from_prepared, reference_semivalue_from_prepared
from .registry import engine_for_type, reference_only_reason

__all__ = ["ReferenceEngineWarning", "compute_semivalue", "compute_shapley"]

# From these sizes on, the reference engine's O(K·2^K) per set is slow enough
# (a batch of 2^22 coalition values takes seconds) to deserve a word.
_WARN_K = 16
_WARN_ENTRIES = 1 << 22

_warned: set[type] = set()


class ReferenceEngineWarning(UserWarning):
    """A large input of a utility without a fast engine went to the reference
    engine (all 2^K coalitions). Given once per utility type and process,
    for K >= 16 or more than 2^22 coalition values in a call.

    Examples:
        >>> import warnings, numpy as np, shapley_sets as ss
        >>> class Sum(ss.Utility):
        ...     def coalition_values(self, x, members):
        ...         return (np.asarray(members) * x[..., None, :]).sum(-1)
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     _ = ss.shapley(Sum(), np.ones(16))
        >>> seen[0].category.__name__
        'ReferenceEngineWarning'
    """


def compute_shapley(u, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Exact Shapley values of validated input by the engine serving ``u``'s
    type (:func:`~shapley_sets.engines.engine_for_type`), or by the reference
    engine when there is none."""
    if mask.size == 0:
        # No candidates (K = 0) or no sets: nothing to share, and no engine
        # needs to handle the degenerate shapes.
        return np.zeros(mask.shape)
    engine = engine_for_type(type(u))
    if engine is None:
        _warn_reference(u, mask)
        return reference_from_prepared(u, x, mask)
    return engine.compute(u, x, mask)


def _check_size_weights(weighting, mask: np.ndarray) -> None:
    """Evaluate a caller's size weights for every set size present, so that a
    wrong length, a failing callable or bad values are reported (naming the
    set) before any engine runs."""
    counts = np.count_nonzero(mask.reshape(-1, mask.shape[-1]), axis=1)
    fixed = None if callable(weighting.sizes) else weighting.sizes.shape[0]
    if fixed is not None:
        wrong = np.flatnonzero((counts != fixed) & (counts > 0))
        if wrong.size:
            s = int(wrong[0])
            raise ValueError(
                f"weights holds size weights for sets of K = {fixed} present candidates, "
                f"but {set_label(mask.shape[:-1], s)} has {int(counts[s])}; pass a "
                "callable weights(K) returning p_K(s) for sets of any size"
            )
    for c in np.unique(counts):
        if c > 0:
            weighting.size_weights(int(c))


def compute_semivalue(u, x: np.ndarray, mask: np.ndarray, weighting) -> np.ndarray:
    """Exact semivalues of validated input: the registered engine of ``u``'s
    type when it serves ``weighting``, else the reference engine."""
    if weighting.is_shapley:
        return compute_shapley(u, x, mask)
    if mask.size == 0:
        return np.zeros(mask.shape)
    if weighting.kind == "sizes":
        _check_size_weights(weighting, mask)
    engine = engine_for_type(type(u))
    # serves() implies a semivalue function; the last test narrows it for mypy.
    if engine is None or not engine.serves(weighting) or engine.semivalue is None:
        if x.shape[-1] > MAX_REFERENCE_K:
            raise ValueError(
                f"{type(u).__name__} has no fast engine for the {weighting.name} weighting, "
                f"and the reference engine takes at most K = {MAX_REFERENCE_K} candidates "
                f"(got K = {x.shape[-1]})"
            )
        if engine is None:
            _warn_reference(u, mask)
        return reference_semivalue_from_prepared(u, x, mask, weighting)
    return engine.semivalue(u, x, mask, weighting)


def _warn_reference(u, mask: np.ndarray) -> None:
    t = type(u)
    k = mask.shape[-1]
    n_sets = mask.size // k
    if t in _warned or (k < _WARN_K and n_sets << k < _WARN_ENTRIES):
        return
    if reference_only_reason(t) is not None:
        return
    _warned.add(t)
    warnings.warn(
        f"{t.__name__} has no fast exact engine, so ss.shapley enumerates all 2^{k} "
        f"coalitions of each of its {n_sets} set(s) (the reference engine, O(K·2^K) "
        "per set). A subclass keeps its parent's engine unless it defines "
        "coalition_values; register an engine with ss.register_engine, or declare "
        "the type with shapley_sets.engines.declare_reference_only to silence this. "
        "Shown once per utility type.",
        ReferenceEngineWarning,
        stacklevel=5,  # the caller of ss.shapley
    )
