"""Dispatch follows the class hierarchy, engines are listed in one table, and
every exported utility has a fast engine or an explicit reference-only
declaration."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines import (
    BUILTIN_ENGINES,
    declare_reference_only,
    dispatch,
    engine_for,
    engine_for_type,
    reference_only_reason,
)

ENGINE_DIR = Path(ss.__file__).parent / "engines"


@pytest.mark.parametrize("engine", BUILTIN_ENGINES, ids=lambda e: e.utility_type.__name__)
def test_a_subclass_that_keeps_the_value_function_keeps_the_engine(engine):
    sub = type("Sub" + engine.utility_type.__name__, (engine.utility_type,), {})
    grandchild = type("Grand", (sub,), {"__doc__": "no new value function"})
    assert engine_for_type(sub) is engine
    assert engine_for_type(grandchild) is engine


def test_a_plain_subclass_of_best_of_runs_the_best_of_engine_at_large_k():
    class MyBest(ss.BestOf):
        pass

    x = np.random.default_rng(1).random((4, 40))  # far above the reference cap
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ss.shapley(MyBest(0.2), x)
    assert np.array_equal(got, ss.shapley(ss.BestOf(0.2), x))


def test_a_subclass_with_its_own_value_function_uses_the_reference_engine():
    class Capped(ss.BestOf):
        def coalition_values(self, x, members):
            return np.minimum(super().coalition_values(x, members), 0.5)

    class CappedAgain(Capped):
        pass

    assert engine_for_type(Capped) is None and engine_for_type(CappedAgain) is None
    x = np.array([0.9, 0.3, 0.6])
    phi = ss.shapley(Capped(), x)
    assert np.array_equal(phi, ss.reference_shapley(Capped(), x))
    assert phi.sum() == pytest.approx(0.5)  # not best-of's 0.9: its own values
    assert not np.allclose(phi, ss.shapley(ss.BestOf(), x))


def test_a_reference_only_declaration_stops_inheritance_and_the_warning():
    class Parity(ss.BestOf):
        pass

    declare_reference_only(Parity, "test: no engine on purpose")
    assert engine_for(Parity()) is None
    assert reference_only_reason(Parity) == "test: no engine on purpose"
    with pytest.raises(ValueError, match="has a registered engine"):
        declare_reference_only(ss.BestOf, "no")
    with pytest.raises(TypeError, match="must be a class"):
        declare_reference_only(ss.BestOf(), "an instance")
    x = np.random.default_rng(2).random((2, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.shapley(Parity(), x)


def test_a_large_input_for_the_reference_engine_warns_once_per_type():
    class Slow(ss.Utility):
        def coalition_values(self, x, members):
            return (np.asarray(members) * x[..., None, :]).sum(-1)

    class Slower(Slow):
        def coalition_values(self, x, members):
            return 2 * super().coalition_values(x, members)

    small = np.ones((3, 8))
    big = np.ones((1, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.shapley(Slow(), small)  # small: no word
    with pytest.warns(ss.ReferenceEngineWarning, match=r"Slow has no fast exact engine.*2\^16") as seen:
        ss.shapley(Slow(), big)
    assert seen[0].filename == __file__  # points at the caller of ss.shapley
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.shapley(Slow(), big)  # once per type
    with pytest.warns(ss.ReferenceEngineWarning, match="Slower"):
        ss.shapley(Slower(), np.ones((2000, 12)))  # 2000 · 2^12 coalition values
    # Asking for the reference engine by name is not a fallback.
    class Asked(Slow):
        def coalition_values(self, x, members):
            return super().coalition_values(x, members)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.reference_shapley(Asked(), big)
    assert Asked not in dispatch._warned


def test_every_exported_utility_has_an_engine_or_a_reference_only_declaration():
    exported = [getattr(ss, name) for name in ss.__all__]
    utilities = [t for t in exported if isinstance(t, type) and issubclass(t, ss.Utility)]
    assert ss.BestOf in utilities and ss.Utility in utilities
    missing = [t.__name__ for t in utilities
               if engine_for_type(t) is None and reference_only_reason(t) is None]
    assert not missing, f"exported utilities with no engine and no reference-only declaration: {missing}"


def test_the_built_in_engines_are_registered_from_one_table():
    # No engine module registers itself when imported: the table in
    # engines/builtin.py is the only list, and all of it is installed.
    decorated = [p.name for p in ENGINE_DIR.glob("*.py")
                 if re.search(r"^@register_engine", p.read_text(), re.M)]
    assert not decorated
    registered = ss.registered_engines()
    for engine in BUILTIN_ENGINES:
        assert engine in registered
        assert engine_for_type(engine.utility_type) is engine


def test_registering_a_type_twice_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        ss.register_engine(ss.BestOf, name="again", complexity="O(1)")(lambda u, x, m: x)
    with pytest.raises(TypeError, match="must be a class"):
        ss.register_engine(ss.BestOf(), name="instance", complexity="O(1)")


def test_registering_an_engine_for_a_subclass_takes_over_from_the_parent():
    class Doubled(ss.TopK):
        def coalition_values(self, x, members):
            return 2 * super().coalition_values(x, members)

    assert engine_for_type(Doubled) is None

    @ss.register_engine(Doubled, name="doubled top-k", complexity="O(K log K)")
    def doubled(u, x, mask):
        return 2 * engine_for_type(ss.TopK).compute(u, x, mask)

    x = np.array([0.3, 0.9, 0.5, 0.1])
    assert engine_for_type(Doubled).name == "doubled top-k"
    np.testing.assert_allclose(ss.shapley(Doubled(2), x), ss.reference_shapley(Doubled(2), x),
                               rtol=1e-12)
