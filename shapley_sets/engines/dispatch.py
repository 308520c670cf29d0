"""Dispatch validated input to the fastest exact engine."""

from __future__ import annotations

import numpy as np

from .reference import reference_from_prepared
from .registry import engine_for

__all__ = ["compute_shapley"]


def compute_shapley(u, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Exact Shapley values of validated input by the registered engine of
    ``u``'s type, or by the reference engine when none is registered."""
    engine = engine_for(u)
    if engine is None:
        return reference_from_prepared(u, x, mask)
    return engine.compute(u, x, mask)
