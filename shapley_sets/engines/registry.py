"""The registry of exact Shapley (and semivalue) engines.

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
        semivalue: optional ``semivalue(u, x, mask, weighting) -> phi``, same
            contract as ``compute`` for a
            :class:`~shapley_sets.engines.weights.Weighting` whose ``kind`` is
            in ``weightings``.
        weightings: the weighting kinds the engine serves exactly
            (``"shapley"``, ``"banzhaf"``, ``"loo"``, ``"beta"``, ``"sizes"``).
            ``ss.semivalue`` takes any other weighting to the reference
            engine (K <= 25).
    """

    name: str
    utility_type: type
    compute: Callable[..., np.ndarray]
    complexity: str
    semivalue: Callable[..., np.ndarray] | None = None
    weightings: frozenset = frozenset({"shapley"})

    def serves(self, weighting) -> bool:
        """True when the engine computes ``weighting`` itself (Shapley always)."""
        return weighting.kind == "shapley" or (
            self.semivalue is not None and weighting.kind in self.weightings
        )


_ENGINES: dict[type, Engine] = {}


def register_engine(utility_type: type, *, name: str, complexity: str,
                    semivalue: Callable[..., np.ndarray] | None = None,
                    weightings=("shapley",)):
    """Decorator registering ``compute`` as the exact engine of ``utility_type``.

    ``ss.shapley`` then uses it for every utility of exactly that type (the
    reference engine serves types without one). Register hypothesis cases for
    the type as well (:func:`shapley_sets.testing.cases.register_cases`) so
    that the test suite compares the engine with the reference engine.

    Args:
        utility_type: the :class:`~shapley_sets.Utility` subclass served.
        name: short name for benchmarks and docs.
        complexity: cost per set, e.g. ``"O(K)"``.
        semivalue: optional ``semivalue(u, x, mask, weighting) -> phi`` for
            the semivalues of ``ss.semivalue`` (see :class:`Engine`).
        weightings: the weighting kinds ``semivalue`` serves; the others
            fall back to the reference engine.

    Returns:
        A decorator that registers ``compute(u, x, mask) -> phi`` (see
        :class:`Engine`) and returns it unchanged.

    Raises:
        ValueError: ``utility_type`` already has an engine.

    Examples:
        >>> import numpy as np, shapley_sets as ss
        >>> class Size(ss.Utility):
        ...     "U(S) = |S|: every present candidate is worth 1."
        ...     def coalition_values(self, x, members):
        ...         return np.asarray(members).sum(-1).astype(float)
        >>> @ss.register_engine(Size, name="size", complexity="O(K)")
        ... def size_shapley(u, x, mask):
        ...     return mask.astype(float)
        >>> ss.shapley(Size(), np.zeros(3), mask=[True, False, True]).tolist()
        [1.0, 0.0, 1.0]
        >>> ss.reference_shapley(Size(), np.zeros(3), mask=[True, False, True]).tolist()
        [1.0, 0.0, 1.0]
    """

    def decorate(compute):
        if utility_type in _ENGINES:
            raise ValueError(f"an engine for {utility_type.__name__} is already registered")
        _ENGINES[utility_type] = Engine(name, utility_type, compute, complexity, semivalue,
                                        frozenset(weightings) | {"shapley"})
        return compute

    return decorate


def engine_for(utility) -> Engine | None:
    """The registered engine for ``utility``'s exact type, or None.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.engines import engine_for
        >>> engine_for(ss.TopK(2)).complexity
        'O(K log K)'
    """
    return _ENGINES.get(type(utility))


def registered_engines() -> tuple[Engine, ...]:
    """All registered fast engines, in registration order.

    Examples:
        >>> import shapley_sets as ss
        >>> sorted(e.utility_type.__name__ for e in ss.registered_engines())[:3]
        ['Additive', 'AnySuccess', 'BestOf']
    """
    return tuple(_ENGINES.values())
