"""Linear combinations: Shapley values, and every semivalue, are linear in
the game (additivity)."""

from __future__ import annotations

from ..utilities.base import LinearCombination
from .dispatch import compute_semivalue
from .registry import register_engine
from .weights import SHAPLEY


def combination_semivalue(u: LinearCombination, x, mask, weighting):
    total = None
    for coef, term in u.terms:
        part = coef * compute_semivalue(term, x, mask, weighting)
        total = part if total is None else total + part
    return total


@register_engine(LinearCombination, name="linear combination", complexity="sum of the terms' costs",
                 semivalue=combination_semivalue,
                 weightings=("shapley", "banzhaf", "loo", "beta", "sizes"))
def combination_shapley(u: LinearCombination, x, mask):
    return combination_semivalue(u, x, mask, SHAPLEY)
