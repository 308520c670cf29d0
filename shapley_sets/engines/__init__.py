"""Engines: how Shapley values are computed.

Importing this package registers every built-in fast engine.
"""

from . import best_of, combination  # noqa: F401  (registration side effects)
from . import any_success, expected_best, pairwise  # noqa: F401  (registration)
from . import rank_weighted  # noqa: F401  (registration)
from .dispatch import compute_shapley
from .reference import MAX_REFERENCE_K, exact_shapley_table, reference_from_prepared
from .registry import Engine, engine_for, register_engine, registered_engines

__all__ = [
    "Engine",
    "MAX_REFERENCE_K",
    "compute_shapley",
    "engine_for",
    "exact_shapley_table",
    "reference_from_prepared",
    "register_engine",
    "registered_engines",
]
