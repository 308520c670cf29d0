"""The built-in engines: the one table that says which utility each serves.

``shapley_sets.engines`` installs this table when it is imported; nothing
registers itself as a side effect of being imported.
"""

from __future__ import annotations

from ..utilities import (
    Additive,
    AnySuccess,
    BestOf,
    ExpectedAnySuccess,
    ExpectedBest,
    LinearCombination,
    Pairwise,
    RankWeighted,
    TopK,
    Utility,
)
from .any_success import WEIGHTINGS as ANY_SUCCESS_WEIGHTINGS
from .any_success import (
    any_success_semivalue,
    any_success_shapley,
    expected_any_success_semivalue,
    expected_any_success_shapley,
)
from .best_of import best_of_semivalue, best_of_shapley
from .combination import combination_semivalue, combination_shapley
from .expected_best import expected_best_semivalue, expected_best_shapley
from .pairwise import additive_semivalue, additive_shapley, pairwise_semivalue, pairwise_shapley
from .rank_weighted import WEIGHTINGS as RANK_WEIGHTINGS
from .rank_weighted import (
    rank_weighted_semivalue,
    rank_weighted_shapley,
    top_k_semivalue,
    top_k_shapley,
)
from .registry import Engine

# Weightings with a closed form for every engine that serves all of them.
_ALL_WEIGHTINGS = frozenset({"shapley", "banzhaf", "loo", "beta", "sizes"})

__all__ = ["BUILTIN_ENGINES", "REFERENCE_ONLY"]

BUILTIN_ENGINES: tuple[Engine, ...] = (
    Engine("best-of (airport game)", BestOf, best_of_shapley, "O(K log K)",
           best_of_semivalue, frozenset(RANK_WEIGHTINGS)),
    Engine("linear combination", LinearCombination, combination_shapley, "sum of the terms' costs",
           combination_semivalue, _ALL_WEIGHTINGS),
    Engine("any-success (exact Gauss-Legendre)", AnySuccess, any_success_shapley, "O(K²)",
           any_success_semivalue, frozenset(ANY_SUCCESS_WEIGHTINGS)),
    Engine("expected any-success (weighted any-success games)", ExpectedAnySuccess,
           expected_any_success_shapley, "O(M·K²)", expected_any_success_semivalue,
           frozenset(ANY_SUCCESS_WEIGHTINGS)),
    Engine("expected best (weighted airport games)", ExpectedBest, expected_best_shapley,
           "O(M·K log K)", expected_best_semivalue, frozenset(RANK_WEIGHTINGS)),
    Engine("pairwise (closed form)", Pairwise, pairwise_shapley, "O(K²)",
           pairwise_semivalue, _ALL_WEIGHTINGS),
    Engine("additive (identity)", Additive, additive_shapley, "O(K)",
           additive_semivalue, _ALL_WEIGHTINGS),
    Engine("top-k sum (closed form)", TopK, top_k_shapley, "O(K log K)",
           top_k_semivalue, frozenset(RANK_WEIGHTINGS)),
    Engine("rank-weighted (step tables)", RankWeighted, rank_weighted_shapley,
           "O(K log K) + tables per (K, weights), cached: O(K) to O(K²) for the presets, "
           "O(K²) otherwise",
           rank_weighted_semivalue, frozenset(RANK_WEIGHTINGS)),
)

#: Exported utility types served by the reference engine on purpose, and why.
REFERENCE_ONLY: dict[type, str] = {
    Utility: "the abstract base class: subclasses define the value function",
}
