"""Every registered fast engine against the reference engine, and the axioms.

An engine joins this matrix by being registered (``ss.register_engine``) and
having hypothesis cases (``shapley_sets.testing.cases.register_cases``).
"""

import numpy as np
import pytest
from hypothesis import given

import shapley_sets as ss
from shapley_sets.testing import assert_axioms
from shapley_sets.testing.cases import CASES, utility_cases

ENGINES = ss.registered_engines()
IDS = [e.utility_type.__name__ for e in ENGINES]


def assert_close_to_reference(u, x, mask, rtol=1e-12, fast=None, ref=None, empty_scale=False):
    """Compare ``fast`` with ``ref`` (by default ``ss.shapley`` and
    ``ss.reference_shapley``) relative to the set's scale; with
    ``empty_scale`` that scale includes ``|U(∅)|`` (see the semivalue matrix)."""
    fast = ss.shapley(u, x, mask=mask) if fast is None else fast
    ref = ss.reference_shapley(u, x, mask=mask) if ref is None else ref
    # Relative to the set's scale. Fast engines work on the inputs (sorted
    # differences, products), so their rounding is relative to the largest
    # input of the set as well as to the values themselves.
    core = getattr(u, "core_ndim", 1)
    x_scale = np.abs(x).reshape(x.shape[: x.ndim - core] + (-1,)).max(axis=-1, initial=0.0)
    scale = np.maximum(np.abs(ref).max(axis=-1), np.abs(ss.value(u, x, mask=mask)))
    scale = np.maximum(scale, x_scale)
    if empty_scale:
        nobody = np.zeros(np.shape(ref), dtype=bool)
        scale = np.maximum(scale, np.abs(ss.value(u, x, mask=nobody)))
    scale = scale[..., None]
    # Subnormal scales leave no relative precision: allow a few units of the
    # smallest subnormal there.
    k = max(1, x.shape[-1])
    tol = rtol * scale * k + 64 * k * np.finfo(np.float64).smallest_subnormal
    err = np.abs(fast - ref)
    assert np.all(err <= tol), f"max error {err.max()} above tolerance; fast={fast}, ref={ref}"


def test_every_engine_has_cases():
    missing = [e.utility_type.__name__ for e in ENGINES if e.utility_type not in CASES]
    assert not missing, f"registered engines without hypothesis cases: {missing}"


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_engine_matches_reference(engine):
    @given(utility_cases(engine.utility_type, max_k=10))
    def check(case):
        u, x, mask = case
        assert_close_to_reference(u, x, mask)

    check()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_engine_satisfies_axioms(engine):
    @given(utility_cases(engine.utility_type, max_k=7))
    def check(case):
        u, x, mask = case
        # Subnormal inputs leave no relative precision (as above); a combination's
        # terms may cancel far below the inputs, so the slack also scales with them.
        atol = 64 * np.finfo(np.float64).smallest_subnormal + 1e-12 * float(np.abs(x).max(initial=0.0))
        assert_axioms(ss.shapley, u, x, mask=mask, rtol=1e-9, atol=atol)

    check()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_absent_candidates_get_exactly_zero(engine):
    @given(utility_cases(engine.utility_type, max_k=10))
    def check(case):
        u, x, mask = case
        if mask is None:
            return
        phi = ss.shapley(u, x, mask=mask)
        assert np.all(phi[~np.broadcast_to(mask, phi.shape)] == 0.0)

    check()


@pytest.mark.parametrize("engine", ENGINES, ids=IDS)
def test_engine_does_not_modify_inputs(engine):
    @given(utility_cases(engine.utility_type, max_k=6))
    def check(case):
        u, x, mask = case
        x_before = x.copy()
        mask_before = None if mask is None else mask.copy()
        ss.shapley(u, x, mask=mask)
        np.testing.assert_array_equal(x, x_before)
        if mask is not None:
            np.testing.assert_array_equal(mask, mask_before)

    check()
