"""The registry of exact Shapley engines.

Every fast engine is registered here against the utility type it serves; the
test suite is parametrised over this registry and compares each entry with
the reference engine, so a new engine joins the test matrix by registering.
The built-in engines are listed in one table, :mod:`.builtin`, installed by
the ``engines`` package itself.

Dispatch follows the class hierarchy. The engine of a utility is found by
walking its type's MRO: the first class that has a registered engine serves
it, unless a class before it defines its own ``coalition_values`` (a new
value function, which no inherited engine knows) or is declared
reference-only. So ``class MyBest(ss.BestOf): pass`` uses the best-of
engine, and a subclass that overrides ``coalition_values`` uses the
reference engine until an engine is registered for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

import numpy as np

__all__ = [
    "Engine",
    "declare_reference_only",
    "engine_for",
    "engine_for_type",
    "install",
    "install_all",
    "reference_only_reason",
    "register_engine",
    "registered_engines",
]

_Compute = TypeVar("_Compute", bound=Callable[..., np.ndarray])


@dataclass(frozen=True)
class Engine:
    """An exact Shapley engine for one utility type.

    Attributes:
        name: short name shown by benchmarks and errors.
        utility_type: the :class:`~shapley_sets.Utility` subclass it serves
            (and its subclasses that keep its ``coalition_values``).
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

    def __post_init__(self) -> None:
        # Shapley is always served (by ``compute``), whatever the caller lists.
        object.__setattr__(self, "weightings", frozenset(self.weightings) | {"shapley"})

    def serves(self, weighting: Any) -> bool:
        """True when the engine computes ``weighting`` itself (Shapley always)."""
        return weighting.kind == "shapley" or (
            self.semivalue is not None and weighting.kind in self.weightings
        )


_ENGINES: dict[type, Engine] = {}
_REFERENCE_ONLY: dict[type, str] = {}
_RESOLVED: dict[type, tuple[Engine | None, str | None]] = {}  # per concrete type


def install(engine: Engine) -> None:
    """Add ``engine`` to the registry (``register_engine`` without the decorator).

    Raises:
        ValueError: its utility type already has an engine or is declared
            reference-only.
    """
    t = engine.utility_type
    if t in _ENGINES:
        raise ValueError(f"an engine for {t.__name__} is already registered")
    if t in _REFERENCE_ONLY:
        raise ValueError(f"{t.__name__} is declared reference-only; it cannot have an engine")
    _ENGINES[t] = engine
    _RESOLVED.clear()


def install_all(engines: Iterable[Engine]) -> None:
    """:func:`install` each engine of ``engines`` that is not registered yet."""
    for engine in engines:
        if _ENGINES.get(engine.utility_type) != engine:
            install(engine)


def register_engine(utility_type: type, *, name: str, complexity: str,
                    semivalue: Callable[..., np.ndarray] | None = None,
                    weightings: Iterable[str] = ("shapley",)) -> Callable[[_Compute], _Compute]:
    """Decorator registering ``compute`` as the exact engine of ``utility_type``.

    ``ss.shapley`` then uses it for every utility of that type, and of its
    subclasses that do not define their own ``coalition_values`` (the
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
        TypeError: ``utility_type`` is not a class, or the decorated object
            is not callable.
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
    if not isinstance(utility_type, type):
        raise TypeError(f"utility_type must be a class, got {utility_type!r}")

    def decorate(compute: _Compute) -> _Compute:
        if not callable(compute):
            raise TypeError(f"an engine must be a function compute(u, x, mask), got {compute!r}")
        install(Engine(name, utility_type, compute, complexity, semivalue,
                       frozenset(weightings)))
        return compute

    return decorate


def declare_reference_only(utility_type: type, reason: str) -> None:
    """Declare that ``utility_type`` is served by the reference engine on purpose.

    Its subclasses do not inherit an engine from above it, and
    ``ss.shapley`` does not warn when it falls back to the reference engine
    on large inputs of this type.

    Args:
        utility_type: a :class:`~shapley_sets.Utility` subclass.
        reason: why it has no fast engine (shown by the docs and tests).

    Raises:
        TypeError: ``utility_type`` is not a class or ``reason`` not a string.
        ValueError: ``utility_type`` has a registered engine.

    Examples:
        >>> import numpy as np, shapley_sets as ss
        >>> from shapley_sets.engines import declare_reference_only, engine_for
        >>> class Parity(ss.Utility):
        ...     def coalition_values(self, x, members):
        ...         return (np.asarray(members).sum(-1) % 2).astype(float)
        >>> declare_reference_only(Parity, "a toy game, small K only")
        >>> engine_for(Parity()) is None
        True
    """
    if not isinstance(utility_type, type):
        raise TypeError(f"utility_type must be a class, got {utility_type!r}")
    if not isinstance(reason, str) or not reason:
        raise TypeError("reason must be a non-empty string")
    if utility_type in _ENGINES:
        raise ValueError(f"{utility_type.__name__} has a registered engine")
    _REFERENCE_ONLY[utility_type] = reason
    _RESOLVED.clear()


def reference_only_reason(utility_type: type) -> str | None:
    """Why ``utility_type`` is served by the reference engine on purpose: the
    reason given to :func:`declare_reference_only` for it or for the class
    whose value function it keeps; None if it was not declared so.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.engines import reference_only_reason
        >>> reference_only_reason(ss.BestOf) is None
        True
    """
    return _resolve(utility_type)[1]


def engine_for_type(utility_type: type) -> Engine | None:
    """The engine serving utilities of ``utility_type``, or None (reference).

    Walks the MRO: the first class with a registered engine serves it, unless
    a class met before it defines ``coalition_values`` or is declared
    reference-only.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.engines import engine_for_type
        >>> class MyBest(ss.BestOf):
        ...     pass
        >>> engine_for_type(MyBest).name
        'best-of (airport game)'
        >>> class Clipped(ss.BestOf):
        ...     def coalition_values(self, x, members):
        ...         return super().coalition_values(x, members).clip(max=1.0)
        >>> engine_for_type(Clipped) is None
        True
    """
    return _resolve(utility_type)[0]


def _resolve(utility_type: type) -> tuple[Engine | None, str | None]:
    cached = _RESOLVED.get(utility_type)
    if cached is not None:
        return cached
    found: tuple[Engine | None, str | None] = (None, None)
    for cls in utility_type.__mro__:
        engine = _ENGINES.get(cls)
        if engine is not None:
            found = (engine, None)
            break
        if cls in _REFERENCE_ONLY:
            found = (None, _REFERENCE_ONLY[cls])
            break
        if "coalition_values" in vars(cls):
            break  # a value function of its own: no inherited engine knows it
    _RESOLVED[utility_type] = found
    return found


def engine_for(utility: Any) -> Engine | None:
    """The engine serving ``utility`` (see :func:`engine_for_type`), or None.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.engines import engine_for
        >>> engine_for(ss.TopK(2)).complexity
        'O(K log K)'
    """
    return engine_for_type(type(utility))


def registered_engines() -> tuple[Engine, ...]:
    """All registered fast engines, in registration order.

    Examples:
        >>> import shapley_sets as ss
        >>> sorted(e.utility_type.__name__ for e in ss.registered_engines())[:3]
        ['Additive', 'AnySuccess', 'BestOf']
    """
    return tuple(_ENGINES.values())
