"""Dispatch validated input to the fastest exact engine."""

from __future__ import annotations

import numpy as np

from .._validation import set_label
from .reference import MAX_REFERENCE_K, reference_from_prepared, reference_semivalue_from_prepared
from .registry import engine_for

__all__ = ["compute_shapley", "compute_semivalue"]


def compute_shapley(u, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Exact Shapley values of validated input by the registered engine of
    ``u``'s type, or by the reference engine when none is registered."""
    if mask.size == 0:
        # No candidates (K = 0) or no sets: nothing to share, and no engine
        # needs to handle the degenerate shapes.
        return np.zeros(mask.shape)
    engine = engine_for(u)
    if engine is None:
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
    engine = engine_for(u)
    if engine is None or not engine.serves(weighting):
        if x.shape[-1] > MAX_REFERENCE_K:
            raise ValueError(
                f"{type(u).__name__} has no fast engine for the {weighting.name} weighting, "
                f"and the reference engine takes at most K = {MAX_REFERENCE_K} candidates "
                f"(got K = {x.shape[-1]})"
            )
        return reference_semivalue_from_prepared(u, x, mask, weighting)
    return engine.semivalue(u, x, mask, weighting)
