"""The built-in engines: the one table that says which utility each serves.

``shapley_sets.engines`` installs this table when it is imported; nothing
registers itself as a side effect of being imported.
"""

from __future__ import annotations

from ..utilities import (
    Additive,
    AnySuccess,
    BestOf,
    ExpectedBest,
    LinearCombination,
    Pairwise,
    RankWeighted,
    TopK,
    Utility,
)
from .any_success import any_success_shapley
from .best_of import best_of_shapley
from .combination import combination_shapley
from .expected_best import expected_best_shapley
from .pairwise import additive_shapley, pairwise_shapley
from .rank_weighted import rank_weighted_shapley, top_k_shapley
from .registry import Engine

__all__ = ["BUILTIN_ENGINES", "REFERENCE_ONLY"]

BUILTIN_ENGINES: tuple[Engine, ...] = (
    Engine("best-of (airport game)", BestOf, best_of_shapley, "O(K log K)"),
    Engine("linear combination", LinearCombination, combination_shapley, "sum of the terms' costs"),
    Engine("any-success (exact Gauss-Legendre)", AnySuccess, any_success_shapley, "O(K²)"),
    Engine("expected best (weighted airport games)", ExpectedBest, expected_best_shapley,
           "O(M·K log K)"),
    Engine("pairwise (closed form)", Pairwise, pairwise_shapley, "O(K²)"),
    Engine("additive (identity)", Additive, additive_shapley, "O(K)"),
    Engine("top-k sum (closed form)", TopK, top_k_shapley, "O(K log K)"),
    Engine("rank-weighted (step tables)", RankWeighted, rank_weighted_shapley,
           "O(K log K) + O(K³) per (K, weights), cached"),
)

#: Exported utility types served by the reference engine on purpose, and why.
REFERENCE_ONLY: dict[type, str] = {
    Utility: "the abstract base class: subclasses define the value function",
}
