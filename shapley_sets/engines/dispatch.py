"""Dispatch validated input to the fastest exact engine."""

from __future__ import annotations

import numpy as np

from .reference import reference_from_prepared
from .registry import engine_for

__all__ = ["compute_shapley"]


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
