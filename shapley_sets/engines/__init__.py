"""Engines: how Shapley values are computed.

The built-in fast engines are listed in :mod:`.builtin` and installed here.
"""

from .builtin import BUILTIN_ENGINES, REFERENCE_ONLY
from .dispatch import ReferenceEngineWarning, compute_shapley
from .reference import MAX_REFERENCE_K, exact_shapley_table, reference_from_prepared
from .registry import (
    Engine,
    declare_reference_only,
    engine_for,
    engine_for_type,
    install_all,
    reference_only_reason,
    register_engine,
    registered_engines,
)

install_all(BUILTIN_ENGINES)
for _type, _reason in REFERENCE_ONLY.items():
    declare_reference_only(_type, _reason)

__all__ = [
    "Engine",
    "MAX_REFERENCE_K",
    "ReferenceEngineWarning",
    "compute_shapley",
    "declare_reference_only",
    "engine_for",
    "engine_for_type",
    "exact_shapley_table",
    "reference_from_prepared",
    "reference_only_reason",
    "register_engine",
    "registered_engines",
]
