"""Pairwise (2-additive) and additive utilities: closed forms
(docs/math.md#sums-of-simple-games).

A 2-additive game splits each pair's term equally between the pair, so
``φ_i = q_i - (λ/2) Σ_{j≠i present} D_ij``: one matrix-vector product per set.
A semivalue charges candidate i for partner j with the chance ρ that j is in
the coalition: ``φ_i = q_i - λ ρ Σ_j D_ij``, ``ρ = E_p[s] / (K - 1)`` (1/2 for
Shapley and Banzhaf, 1 for leave-one-out, α / (α + β) for Beta(α, β)).
"""

from __future__ import annotations

import numpy as np

from ..utilities.additive import Additive
from ..utilities.pairwise import Pairwise
from .weights import SHAPLEY

__all__ = ["additive_semivalue", "additive_shapley", "pairwise_semivalue", "pairwise_shapley"]

_ALL = ("shapley", "banzhaf", "loo", "beta", "sizes")


def _partner_chance(weighting, mask: np.ndarray):
    """ρ of every set (a scalar when it does not depend on the set's size)."""
    if weighting.probabilistic:
        return weighting.inclusion(2)
    counts = np.count_nonzero(mask, axis=-1)
    table = np.zeros(mask.shape[-1] + 1)
    for c in np.unique(counts):  # only the sizes that occur: array weights serve one K
        if c > 1:
            table[c] = weighting.inclusion(int(c))
    return table[counts][..., None]


def pairwise_semivalue(u: Pairwise, x: np.ndarray, mask: np.ndarray, weighting) -> np.ndarray:
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
    # λ times the penalty first: ρ·λ alone underflows where λ is subnormal (ρ = 1/2
    # makes both orders the same, bit for bit, in the normal range)
    return np.where(mask, x - _partner_chance(weighting, mask) * (u.lam * penalty), 0.0)


def pairwise_shapley(u: Pairwise, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return pairwise_semivalue(u, x, mask, SHAPLEY)


def additive_semivalue(u: Additive, x: np.ndarray, mask: np.ndarray, weighting) -> np.ndarray:
    # every marginal contribution of candidate i is x_i, and the weights sum to 1
    return np.where(mask, x, 0.0)


def additive_shapley(u: Additive, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return additive_semivalue(u, x, mask, SHAPLEY)
