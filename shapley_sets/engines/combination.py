"""Linear combinations: Shapley values are linear in the game (additivity)."""

from __future__ import annotations

from ..utilities.base import LinearCombination
from .dispatch import compute_shapley


def combination_shapley(u: LinearCombination, x, mask):
    total = None
    for coef, term in u.terms:
        part = coef * compute_shapley(term, x, mask)
        total = part if total is None else total + part
    return total
