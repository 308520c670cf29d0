"""Public test helpers: hypothesis strategies, an axiom checker, table games.

Use them on your own attribution functions or utilities::

    from shapley_sets.testing import assert_axioms, scores
    from hypothesis import given

    @given(scores())
    def test_my_attribution(x):
        assert_axioms(my_attribution, ss.BestOf(), x)

The strategies need ``hypothesis`` (``pip install shapley-sets[test]``); the
axiom checker and :class:`TableGame` do not.
"""

from .axioms import (
    AXIOMS,
    SEMIVALUE_AXIOMS,
    AxiomFailure,
    AxiomReport,
    assert_axioms,
    check_axioms,
)
from .games import TableGame, coalition_codes

__all__ = [
    "AXIOMS",
    "AxiomFailure",
    "AxiomReport",
    "SEMIVALUE_AXIOMS",
    "TableGame",
    "assert_axioms",
    "check_axioms",
    "coalition_codes",
    "batch_shapes",
    "masks",
    "probabilities",
    "scores",
    "value_tables",
    "weightings",
]

_STRATEGIES = {"batch_shapes", "masks", "probabilities", "scores", "value_tables", "weightings"}


def __getattr__(name):
    # Strategies import hypothesis, which the runtime install does not have.
    if name in _STRATEGIES:
        from . import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
