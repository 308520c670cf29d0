"""The registry of exact Shapley engines.

Every fast engine is registered here against the utility type it serves; the
test suite is parametrised over this registry and compares each entry with
the reference engine, so a new engine joins the test matrix by registering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Engine", "register_engine", "engine_for", "registered_engines"]


@dataclass(frozen=True)
class Engine:
    """An exact Shapley engine for one utility type.

    Attributes:
        name: short name shown by benchmarks and errors.
        utility_type: the :class:`~shapley_sets.Utility` subclass it serves.
        compute: ``compute(u, x, mask) -> phi``; ``x`` is the validated
            float64 input (``batch + core``), ``mask`` a C-contiguous bool
            array ``batch + (K,)``; returns float64 ``batch + (K,)`` with
            exactly 0 for absent candidates. It must never write to ``x`` or
            ``mask``.
        complexity: cost per set, for the docs (e.g. ``"O(K log K)"``).
    """

    name: str
    utility_type: type
    compute: Callable[..., np.ndarray]
    complexity: str


_ENGINES: dict[type, Engine] = {}


def register_engine(utility_type: type, *, name: str, complexity: str):
    """Decorator registering ``compute`` as the exact engine of ``utility_type``."""

    def decorate(compute):
        if utility_type in _ENGINES:
            raise ValueError(f"an engine for {utility_type.__name__} is already registered")
        _ENGINES[utility_type] = Engine(name, utility_type, compute, complexity)
        return compute

    return decorate


def engine_for(utility) -> Engine | None:
    """The registered engine for ``utility``'s exact type, or None."""
    return _ENGINES.get(type(utility))


def registered_engines() -> tuple[Engine, ...]:
    """All registered fast engines, in registration order."""
    return tuple(_ENGINES.values())
