"""Hypothesis strategies of ``(utility, x, mask)`` cases, one per utility type.

The test suite runs every registered engine against the reference engine on
the cases registered here, and fails if an engine has no cases: a new
utility joins the test matrix by registering both.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..utilities import BestOf, LinearCombination
from .strategies import masks, scores

__all__ = ["CASES", "register_cases", "utility_cases"]

#: utility type -> function(max_k) returning a strategy of (u, x, mask)
CASES: dict = {}


def register_cases(utility_type):
    """Register ``make(max_k) -> strategy of (u, x, mask)`` for ``utility_type``."""

    def decorate(make):
        CASES[utility_type] = make
        return make

    return decorate


@st.composite
def _with_mask(draw, u, x):
    """Attach a mask (sometimes None) to the input ``x`` of utility ``u``."""
    core = getattr(u, "core_ndim", 1)
    shape = x.shape[: x.ndim - core] + (x.shape[-1],)
    mask = draw(st.one_of(st.none(), masks(shape)))
    return u, x, mask


finite_floats = st.floats(-1e3, 1e3, allow_nan=False)


@register_cases(BestOf)
def _best_of_cases(max_k: int = 8):
    floors = st.one_of(st.just(0.0), finite_floats, st.sampled_from([-1e150, 1e-150]))
    return st.tuples(floors.map(BestOf), scores(k=st.integers(1, max_k))).flatmap(
        lambda ux: _with_mask(*ux)
    )


@register_cases(LinearCombination)
def _combination_cases(max_k: int = 8):
    """Combinations of the 1-D-input utilities registered so far."""

    @st.composite
    def build(draw):
        one_d = [t for t in CASES if t is not LinearCombination]
        first_u, x, mask = draw(CASES[draw(st.sampled_from(one_d))](max_k))
        if getattr(first_u, "core_ndim", 1) != 1:
            first_u, x, mask = draw(CASES[BestOf](max_k))
        k = x.shape[-1]
        # a second utility on the same x: draw its own case and keep its utility
        other_types = [t for t in one_d if t is not LinearCombination]
        second_u, _, _ = draw(CASES[draw(st.sampled_from(other_types))](max_k))
        if getattr(second_u, "core_ndim", 1) != 1:
            second_u = BestOf()
        try:
            second_u.check_input(x)
        except ValueError:
            second_u = BestOf()
        a = draw(st.floats(-3, 3, allow_nan=False))
        return first_u + a * second_u, x, mask if mask is None or mask.shape[-1] == k else None

    return build()


def utility_cases(utility_type, max_k: int = 8):
    """The registered strategy of ``(u, x, mask)`` cases for ``utility_type``.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.testing.cases import utility_cases
        >>> from hypothesis.strategies import SearchStrategy
        >>> isinstance(utility_cases(ss.BestOf), SearchStrategy)
        True
    """
    try:
        make = CASES[utility_type]
    except KeyError:
        raise KeyError(f"no hypothesis cases registered for {utility_type.__name__}") from None
    return make(max_k)
