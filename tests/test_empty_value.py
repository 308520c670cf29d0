"""ss.empty_value: U(∅) per set, the term that efficiency subtracts."""

import numpy as np
import pytest
from hypothesis import given, settings

import shapley_sets as ss
from shapley_sets.testing.cases import CASES, utility_cases

TYPES = sorted(CASES, key=lambda t: t.__name__)


@pytest.mark.parametrize("utility_type", TYPES, ids=[t.__name__ for t in TYPES])
def test_efficiency_with_empty_value(utility_type):
    @settings(max_examples=25, deadline=None)
    @given(utility_cases(utility_type, max_k=6))
    def check(case):
        u, x, mask = case
        empty = ss.empty_value(u, x, mask=mask)
        whole = ss.value(u, x, mask=mask)
        assert empty.shape == whole.shape
        phi = ss.shapley(u, x, mask=mask)
        # The fast engines round relative to the inputs (sorted differences,
        # products), as in the engine matrix: the set's largest |x| counts.
        core = getattr(u, "core_ndim", 1)
        x_scale = np.abs(x).reshape(x.shape[: x.ndim - core] + (-1,)).max(axis=-1, initial=0.0)
        scale = 1.0 + np.abs(whole) + np.abs(empty) + np.abs(phi).sum(-1) + x_scale * x.shape[-1]
        assert np.all(np.abs(phi.sum(-1) - (whole - empty)) <= 1e-9 * scale)

    check()


def test_known_empty_values():
    x = np.array([[0.9, 0.2, 0.8], [0.1, 0.1, 0.0]])
    assert ss.empty_value(ss.BestOf(), x).tolist() == [0.0, 0.0]
    assert ss.empty_value(ss.BestOf(floor=0.5), x).tolist() == [0.5, 0.5]
    assert ss.empty_value(ss.BestOf(floor=0.5) + 2 * ss.BestOf(floor=1.0), x).tolist() == [2.5, 2.5]
    types = np.stack([x, 1 - x], axis=-2)  # (2 sets, 2 user types, 3 candidates)
    u = ss.ExpectedBest(weights=[0.25, 0.75], floors=[0.2, 0.4])
    assert ss.empty_value(u, types).tolist() == pytest.approx([0.35, 0.35])
    # One set gives a 0-d array; an empty batch an empty one.
    assert ss.empty_value(ss.BestOf(floor=1.0), [3.0, 1.0]).shape == ()
    assert ss.empty_value(ss.BestOf(), np.zeros((0, 4))).shape == (0,)


def test_bad_input_is_refused_as_by_shapley():
    with pytest.raises(TypeError, match="utility"):
        ss.empty_value(object(), [1.0])
    with pytest.raises(ValueError):
        ss.empty_value(ss.BestOf(), [1.0, np.nan])
    with pytest.raises(ValueError):
        ss.empty_value(ss.BestOf(), [[1.0, 2.0]], mask=[True, False, True])
