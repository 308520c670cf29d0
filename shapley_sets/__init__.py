"""shapley_sets: exact Shapley values of set-level rewards, for GRPO.

Split a set's reward among its candidates by their exact Shapley values in
the set's cooperative game, fast, for whole batches of ragged sets, and turn
them into GRPO advantages (:mod:`shapley_sets.grpo`).

    >>> import shapley_sets as ss
    >>> ss.shapley(ss.BestOf(), [0.9, 0.1]).round(2).tolist()
    [0.85, 0.05]
"""

from ._api import (
    banzhaf,
    empty_value,
    exact_shapley,
    leave_one_out,
    reference_shapley,
    semivalue,
    shapley,
    value,
)
from ._cache import clear_caches
from ._version import __version__
from ._warmup import warmup
from ._jit import CacheUnavailableWarning
from .blackbox import Estimate, SetFunction, shapley_estimate
from .engines import MAX_REFERENCE_K, ReferenceEngineWarning, register_engine, registered_engines
from .utilities import (
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
from . import grpo

__all__ = [
    "__version__",
    "MAX_REFERENCE_K",
    "CacheUnavailableWarning",
    "ReferenceEngineWarning",
    "BestOf",
    "Additive",
    "AnySuccess",
    "ExpectedAnySuccess",
    "ExpectedBest",
    "Pairwise",
    "RankWeighted",
    "TopK",
    "LinearCombination",
    "Estimate",
    "SetFunction",
    "Utility",
    "banzhaf",
    "clear_caches",
    "empty_value",
    "exact_shapley",
    "grpo",
    "leave_one_out",
    "reference_shapley",
    "register_engine",
    "registered_engines",
    "semivalue",
    "shapley",
    "shapley_estimate",
    "value",
    "warmup",
]
