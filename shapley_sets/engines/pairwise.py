"""Pairwise (2-additive) and additive utilities: closed forms
(docs/math.md#sums-of-simple-games).

A 2-additive game splits each pair's term equally between the pair, so
``φ_i = q_i - (λ/2) Σ_{j≠i present} D_ij``: one matrix-vector product per set.
"""

from __future__ import annotations

import numpy as np

from ..utilities.additive import Additive
from ..utilities.pairwise import Pairwise
from .registry import register_engine

__all__ = ["additive_shapley", "pairwise_shapley"]


@register_engine(Pairwise, name="pairwise (closed form)", complexity="O(K²)")
def pairwise_shapley(u: Pairwise, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    k = x.shape[-1]
    if k == 0:
        return np.zeros(mask.shape)
    d = u.distances.copy()
    d.reshape(-1, k * k)[:, :: k + 1] = 0.0  # pairs only: the diagonal never counts
    present = mask.astype(np.float64)
    if d.ndim == 2:
        # one shared matrix: a single (n, K) @ (K, K) product
        penalty = present.reshape(-1, k) @ d
        penalty = penalty.reshape(mask.shape)
    else:
        penalty = np.matmul(d, present[..., None])[..., 0]
        penalty = np.broadcast_to(penalty, mask.shape)
    return np.where(mask, x - (0.5 * u.lam) * penalty, 0.0)


@register_engine(Additive, name="additive (identity)", complexity="O(K)")
def additive_shapley(u: Additive, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, x, 0.0)
