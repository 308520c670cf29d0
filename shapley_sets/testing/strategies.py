"""Hypothesis strategies for set-function inputs.

Adversarial by design: ties, negative scores, huge and tiny magnitudes,
K = 1, masks with all-false rows. Import needs ``hypothesis`` (the ``test``
extra).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "batch_shapes",
    "masks",
    "probabilities",
    "scores",
    "value_tables",
    "weightings",
]

# Magnitudes a score array is drawn at: huge and tiny ones included, but not
# so huge that differences of two scores overflow float64.
MAGNITUDES = (1e-150, 1e-8, 1.0, 1e3, 1e12, 1e150)


def batch_shapes(max_dims: int = 2, max_side: int = 4):
    """Leading batch shapes, including ``()`` (one set).

    Examples:
        >>> from hypothesis import given, settings
        >>> from shapley_sets.testing import batch_shapes
        >>> @settings(max_examples=5)
        ... @given(batch_shapes(max_dims=2, max_side=3))
        ... def check(shape):
        ...     assert len(shape) <= 2 and all(1 <= side <= 3 for side in shape)
        >>> check()
    """
    return hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side)


@st.composite
def scores(draw, k=st.integers(1, 8), batch_shape=None, *, magnitudes=MAGNITUDES,
           allow_negative: bool = True):
    """Float64 score arrays ``batch + (K,)`` with deliberate ties.

    Values come from a small pool per array, so ties are frequent; the pool
    mixes signs (unless ``allow_negative`` is False) and one scale from
    ``magnitudes``.

    Examples:
        >>> from hypothesis import given, settings
        >>> from shapley_sets.testing import scores
        >>> @settings(max_examples=5)
        ... @given(scores())
        ... def check(x):
        ...     assert x.ndim >= 1 and np.isfinite(x).all()
        >>> check()
    """
    k = draw(k) if isinstance(k, st.SearchStrategy) else k
    shape = draw(batch_shapes() if batch_shape is None else batch_shape)
    scale = draw(st.sampled_from(magnitudes))
    low = -1.0 if allow_negative else 0.0
    pool = draw(st.lists(st.floats(low, 1.0, allow_nan=False), min_size=1, max_size=6))
    pool = np.asarray(pool) * scale
    n = int(np.prod(shape, dtype=np.int64)) * k
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n))
    return pool[np.asarray(picks, dtype=np.int64)].reshape(tuple(shape) + (k,)) if n else np.zeros(tuple(shape) + (k,))


@st.composite
def probabilities(draw, k=st.integers(1, 8), batch_shape=None):
    """Probability arrays ``batch + (K,)`` in [0, 1], with exact 0s, 1s and ties.

    Examples:
        >>> from hypothesis import given, settings
        >>> from shapley_sets.testing import probabilities
        >>> @settings(max_examples=5)
        ... @given(probabilities(k=4))
        ... def check(p):
        ...     assert p.shape[-1] == 4 and ((0 <= p) & (p <= 1)).all()
        >>> check()
    """
    k = draw(k) if isinstance(k, st.SearchStrategy) else k
    shape = tuple(draw(batch_shapes() if batch_shape is None else batch_shape))
    elements = st.one_of(
        st.sampled_from([0.0, 1.0, 0.5]),
        st.floats(0.0, 1.0, allow_nan=False),
        st.floats(0.0, 1e-9, allow_nan=False),
        st.floats(1.0 - 1e-9, 1.0, allow_nan=False),
    )
    return draw(hnp.arrays(np.float64, shape + (k,), elements=elements))


@st.composite
def masks(draw, shape):
    """Bool masks of ``shape``; some rows all-False, some all-True.

    Examples:
        >>> from hypothesis import given, settings
        >>> from shapley_sets.testing import masks
        >>> @settings(max_examples=5)
        ... @given(masks((3, 4)))
        ... def check(m):
        ...     assert m.shape == (3, 4) and m.dtype == bool
        >>> check()
    """
    shape = tuple(shape)
    mode = draw(st.sampled_from(["random", "all", "none", "rows"]))
    if mode == "all":
        return np.ones(shape, dtype=bool)
    if mode == "none":
        return np.zeros(shape, dtype=bool)
    m = draw(hnp.arrays(np.bool_, shape))
    if mode == "rows" and m.ndim > 1:
        m = m.copy()
        m.reshape(-1, shape[-1])[0] = False
    return m


@st.composite
def value_tables(draw, k=st.integers(0, 6), batch_shape=None, *, integer: bool = False):
    """Value tables ``batch + (2**K,)`` of arbitrary set functions.

    With ``integer=True`` the values are small integers, so exact rational
    arithmetic can check results.

    Examples:
        >>> from hypothesis import given, settings, strategies as st
        >>> import shapley_sets as ss
        >>> from shapley_sets.testing import value_tables
        >>> @settings(max_examples=5)
        ... @given(value_tables(k=st.just(3)))
        ... def check(table):
        ...     phi = ss.exact_shapley(table)
        ...     assert np.allclose(phi.sum(-1), table[..., -1] - table[..., 0], atol=1e-6)
        >>> check()
    """
    k = draw(k) if isinstance(k, st.SearchStrategy) else k
    shape = tuple(draw(batch_shapes(max_dims=1, max_side=3) if batch_shape is None else batch_shape))
    if integer:
        elements = st.integers(-50, 50).map(float)
    else:
        elements = st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from([0.0, 1.0, -1.0]),
        )
    return draw(hnp.arrays(np.float64, shape + (1 << k,), elements=elements))


class RandomSizeWeights:
    """Size weights ``p_K`` drawn from a Dirichlet law seeded by ``(seed, K)``,
    some sizes zeroed: a deterministic callable ``K -> p_K`` for
    ``ss.semivalue`` (equal seeds give equal weights).

    Examples:
        >>> w = RandomSizeWeights(3)
        >>> p = w(4)
        >>> p.shape, bool(abs(p.sum() - 1) < 1e-12), bool((w(4) == p).all())
        ((4,), True, True)
    """

    def __init__(self, seed: int):
        self.seed = int(seed)

    def __call__(self, k: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, int(k)])
        p = rng.dirichlet(np.full(k, 0.7))
        keep = rng.random(k) < 0.7
        keep[rng.integers(k)] = True
        p = np.where(keep, p, 0.0)
        return p / p.sum()

    def __repr__(self):
        return f"RandomSizeWeights({self.seed})"


def weightings(*, sizes: bool = True):
    """Semivalue weightings for ``ss.semivalue``: the named ones, Beta(α, β)
    with α, β from 0.2 to 5 (and integers), and, with ``sizes``, callables of
    random size weights (:class:`RandomSizeWeights`).

    Examples:
        >>> from hypothesis import given, settings
        >>> import shapley_sets as ss
        >>> from shapley_sets.testing import weightings
        >>> @settings(max_examples=10)
        ... @given(weightings())
        ... def check(w):
        ...     assert ss.semivalue(ss.BestOf(), [1.0, 2.0], w).shape == (2,)
        >>> check()
    """
    shape = st.one_of(st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.floats(0.2, 5.0))
    options = [
        st.sampled_from(["shapley", "banzhaf", "loo"]),
        st.tuples(st.just("beta"), shape, shape),
    ]
    if sizes:
        options.append(st.integers(0, 2**31 - 1).map(RandomSizeWeights))
    return st.one_of(*options)
