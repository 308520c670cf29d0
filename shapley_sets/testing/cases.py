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
    """Register ``make(max_k) -> strategy of (u, x, mask)`` for ``utility_type``.

    The engine matrix (``tests/test_engine_matrix.py``) draws its cases from
    here, and fails for a registered engine whose utility type has none.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.testing.strategies import scores
        >>> class Doubled(ss.Additive):
        ...     pass
        >>> @register_cases(Doubled)
        ... def _doubled_cases(max_k=8):
        ...     return scores(k=st.integers(1, max_k)).map(lambda x: (Doubled(), x, None))
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(CASES[Doubled](4))
        ... def check(case):
        ...     u, x, mask = case
        ...     assert type(u) is Doubled and 1 <= x.shape[-1] <= 4 and mask is None
        >>> check()
        >>> del CASES[Doubled]  # leave the test matrix as it was
    """

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


# -- structured utilities (docs/math.md) ---------------------------------------
from ..utilities import Additive, AnySuccess, ExpectedAnySuccess, ExpectedBest, Pairwise  # noqa: E402
from .strategies import batch_shapes, probabilities  # noqa: E402


def _flush_subnormals(a):
    # The reference's weighted sums round subnormal values by whole units of
    # the smallest float, beyond any relative tolerance: keep them out.
    return np.where(np.abs(a) < 1e-290, 0.0, a)


@register_cases(AnySuccess)
def _any_success_cases(max_k: int = 8):
    return probabilities(k=st.integers(1, max_k)).map(_flush_subnormals).flatmap(
        lambda p: _with_mask(AnySuccess(), p)
    )


@register_cases(Additive)
def _additive_cases(max_k: int = 8):
    return scores(k=st.integers(1, max_k)).map(_flush_subnormals).flatmap(
        lambda x: _with_mask(Additive(), x)
    )


@st.composite
def expected_best_inputs(draw, max_k: int = 8, max_types: int = 4):
    """``(ExpectedBest, x)`` with x of shape ``batch + (M, K)``; weights None,
    zeros or positive; floors shared or per type, often equal to a score."""
    k = draw(st.integers(1, max_k))
    m = draw(st.integers(1, max_types))
    batch = tuple(draw(batch_shapes(max_dims=2, max_side=3)))
    x = draw(scores(k=k, batch_shape=st.just(batch + (m,))))
    weight = st.one_of(st.sampled_from([0.0, 0.25, 1.0, 3.0]), st.floats(0.0, 10.0))
    weights = draw(st.one_of(st.none(), st.lists(weight, min_size=m, max_size=m)))
    floor = st.one_of(st.just(0.0), st.sampled_from(sorted(set(x.ravel().tolist()))),
                      finite_floats)
    floors = draw(st.one_of(floor, st.lists(floor, min_size=m, max_size=m)))
    return ExpectedBest(weights, floors, n_types=m, normalize=False), x


@register_cases(ExpectedBest)
def _expected_best_cases(max_k: int = 8):
    return expected_best_inputs(max_k).flatmap(lambda ux: _with_mask(*ux))


@st.composite
def expected_any_success_inputs(draw, max_k: int = 8, max_types: int = 4):
    """``(ExpectedAnySuccess, x)`` with probabilities x of shape ``batch + (M, K)``;
    weights None, zeros or positive (a weighted sum, not normalised)."""
    k = draw(st.integers(1, max_k))
    m = draw(st.integers(1, max_types))
    batch = tuple(draw(batch_shapes(max_dims=2, max_side=3)))
    x = _flush_subnormals(draw(probabilities(k=st.just(k), batch_shape=st.just(batch + (m,)))))
    weight = st.one_of(st.sampled_from([0.0, 0.25, 1.0, 3.0]), st.floats(0.0, 10.0))
    weights = draw(st.one_of(st.none(), st.lists(weight, min_size=m, max_size=m)))
    return ExpectedAnySuccess(weights, n_types=m, normalize=False), x


@register_cases(ExpectedAnySuccess)
def _expected_any_success_cases(max_k: int = 8):
    return expected_any_success_inputs(max_k).flatmap(lambda ux: _with_mask(*ux))


@st.composite
def symmetric_matrices(draw, k: int, batch_shape=()):
    """Symmetric float64 matrices ``batch_shape + (K, K)`` from a small pool
    (ties, zeros, negative entries) at one drawn scale."""
    scale = draw(st.sampled_from([1.0, 2.0 ** -20, 1e3, 1e-8]))
    pool = np.asarray(draw(st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=4))) * scale
    shape = tuple(batch_shape) + (k, k)
    n = int(np.prod(shape, dtype=np.int64))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n))
    a = pool[np.asarray(picks, dtype=np.int64)].reshape(shape)
    upper = np.triu(a, 1)
    return _flush_subnormals(upper + np.swapaxes(upper, -1, -2) + a * np.eye(k))


@st.composite
def pairwise_inputs(draw, max_k: int = 8):
    """``(Pairwise, q)``: one shared (K, K) matrix or one per set."""
    k = draw(st.integers(1, max_k))
    batch = tuple(draw(batch_shapes(max_dims=2, max_side=3)))
    q = _flush_subnormals(draw(scores(k=k, batch_shape=st.just(batch), magnitudes=(1.0, 1e3, 1e-8))))
    per_set = draw(st.booleans())
    d = draw(symmetric_matrices(k, batch if per_set else ()))
    lam = draw(st.one_of(st.sampled_from([1.0, 0.5, 0.0, -1.0]), st.floats(-3.0, 3.0)))
    return Pairwise(d, lam), q


@register_cases(Pairwise)
def _pairwise_cases(max_k: int = 8):
    return pairwise_inputs(max_k).flatmap(lambda uq: _with_mask(*uq))


# -- rank-weighted family (docs/math.md) ---------------------------------------
from ..utilities import RankWeighted, TopK  # noqa: E402

# Weights that mix signs and sizes but stay moderate, so that coalition values
# are not cancellations of much larger terms (the reference engine rounds
# those too).
_rank_weights = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0]), st.floats(-3.0, 3.0, allow_nan=False)
)


@st.composite
def _rank_weighted_utilities(draw, k: int):
    """A RankWeighted for sets of up to ``k`` candidates: a preset, an array
    (unused entries sometimes NaN, since they must never be read) or a
    callable, with negative weights."""
    kind = draw(st.sampled_from(["preset", "array", "callable", "formula"]))
    if kind == "preset":
        m = draw(st.integers(1, k + 1))
        return draw(st.sampled_from([
            RankWeighted.top_m_sum(m), RankWeighted.top_m_mean(m), RankWeighted.mean(),
            RankWeighted.worst_of(), RankWeighted.discounted(),
            RankWeighted.discounted(lambda pos: 1.0 / pos),
            RankWeighted.discounted(np.asarray(draw(st.lists(_rank_weights, min_size=k, max_size=k + 2)))),
        ]))
    size = k + 1 + draw(st.integers(0, 2))
    table = np.asarray(draw(st.lists(_rank_weights, min_size=size * size, max_size=size * size)))
    table = table.reshape(size, size)
    if draw(st.booleans()):
        table[np.triu_indices(size, 1)] = np.nan
        table[0, :] = np.nan
        table[:, 0] = np.inf
    if kind == "array":
        return RankWeighted(table)
    if kind == "callable":
        return RankWeighted(lambda s, pos: table[s, pos])
    a, b, c = (draw(_rank_weights) for _ in range(3))
    return RankWeighted(lambda s, pos: a + b * pos / s + c * (pos == s))


def _normal_scores(max_k: int):
    # Scores within a few orders of the subnormal range are flushed to 0:
    # there the reference engine's own rounding is absolute (x / (K C(K-1, s))
    # loses bits), so a relative comparison would blame an exact fast engine.
    return scores(k=st.integers(1, max_k)).map(lambda x: np.where(np.abs(x) < 1e-290, 0.0, x))


@register_cases(RankWeighted)
def _rank_weighted_cases(max_k: int = 8):
    @st.composite
    def build(draw):
        x = draw(_normal_scores(max_k))
        return draw(_with_mask(draw(_rank_weighted_utilities(x.shape[-1])), x))

    return build()


@register_cases(TopK)
def _top_k_cases(max_k: int = 8):
    return st.tuples(st.integers(1, max_k + 1).map(TopK), _normal_scores(max_k)).flatmap(
        lambda ux: _with_mask(*ux)
    )


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
