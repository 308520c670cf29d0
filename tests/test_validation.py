"""Bad input gets a clear error naming the argument, the set and the candidate."""

import subprocess
import sys

import numpy as np
import pytest

import shapley_sets as ss


def test_nan_in_scores_names_set_and_candidate():
    x = np.zeros((3, 4, 5))
    x[2, 1, 4] = np.nan
    with pytest.raises(ValueError, match=r"x must be finite; found nan at set \(2, 1\), candidate 4"):
        ss.shapley(ss.BestOf(), x)


def test_inf_in_single_set():
    with pytest.raises(ValueError, match=r"found inf at the set, candidate 1"):
        ss.shapley(ss.BestOf(), [0.0, np.inf])


def test_nan_is_refused_even_under_a_false_mask():
    with pytest.raises(ValueError, match=r"set \(0,\), candidate 1"):
        ss.shapley(ss.BestOf(), [[0.0, np.nan]], mask=[[True, False]])


@pytest.mark.parametrize(
    "x, exc, pattern",
    [
        (np.array([1 + 1j]), TypeError, "x must be real-valued"),
        (np.array([object()]), TypeError, "x must be a numeric array"),
        (np.array(["a"]), TypeError, "x must be a numeric array"),
        (np.float64(1.0), ValueError, "x must have at least 1 dimension"),
    ],
)
def test_bad_score_types(x, exc, pattern):
    with pytest.raises(exc, match=pattern):
        ss.shapley(ss.BestOf(), x)


def test_mask_that_does_not_broadcast():
    with pytest.raises(ValueError, match=r"mask of shape \(3,\) does not broadcast to the sets' shape \(2, 4\)"):
        ss.shapley(ss.BestOf(), np.zeros((2, 4)), mask=np.ones(3, dtype=bool))


def test_mask_must_be_boolean_or_zero_one():
    # One rule for every mask argument: booleans, or numbers that are each
    # exactly 0 or 1; anything else is refused, not guessed at.
    with pytest.raises(ValueError, match=r"mask must be boolean or hold only 0 and 1 .*found 0.5 at the set, candidate 0"):
        ss.shapley(ss.BestOf(), np.zeros(2), mask=[0.5, 1.0])
    with pytest.raises(ValueError, match=r"found 2 at set \(1,\), candidate 0"):
        ss.shapley(ss.BestOf(), np.zeros((2, 2)), mask=[[0, 1], [2, 0]])
    with pytest.raises(ValueError, match="found nan"):
        ss.shapley(ss.BestOf(), np.zeros(2), mask=[np.nan, 1.0])
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        ss.shapley(ss.BestOf(), np.zeros(2), mask=["yes", "no"])
    x = np.array([0.3, 0.9])
    want = ss.shapley(ss.BestOf(), x, mask=[False, True])
    for mask in ([0, 1], np.array([0, 1], dtype=np.uint8), [0.0, 1.0], np.array([0, 1], np.float32)):
        assert np.array_equal(ss.shapley(ss.BestOf(), x, mask=mask), want)


def test_utility_must_be_a_utility():
    with pytest.raises(TypeError, match="u must be a set utility"):
        ss.shapley(max, [1.0, 2.0])


def test_inputs_are_never_modified():
    x = np.array([[3.0, -1.0, 2.0]], dtype=np.float64)
    mask = np.array([True, False, True])
    x_before, mask_before = x.copy(), mask.copy()
    for f in (ss.shapley, ss.value, ss.reference_shapley):
        f(ss.BestOf(0.5), x, mask=mask)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(mask, mask_before)


def test_read_only_input_is_fine():
    x = np.array([1.0, 2.0])
    x.setflags(write=False)
    np.testing.assert_allclose(ss.shapley(ss.BestOf(), x), [0.5, 1.5])


def test_torch_tensor_gets_a_clear_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="torch tensor"):
        ss.shapley(ss.BestOf(), torch.zeros(3))


def test_duck_typed_utility_uses_the_reference_engine():
    class Count:
        """U(S) = |S|^2, a user's own utility with no fast engine."""

        def coalition_values(self, x, members):
            return np.asarray(members).sum(-1).astype(float) ** 2

    phi = ss.shapley(Count(), np.zeros(4))
    np.testing.assert_allclose(phi, [4.0] * 4)


def test_import_is_light():
    code = (
        "import sys, shapley_sets, shapley_sets.testing;"
        "heavy = {'torch', 'trl', 'verl', 'jax', 'matplotlib', 'transformers', 'hypothesis', 'pandas'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m in ('scipy.special', 'scipy.stats')))"  # a runtime dependency, but ~0.2 s: only when used
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_cli_help_and_version():
    for args in (["--help"], ["--version"]):
        out = subprocess.run(
            [sys.executable, "-m", "shapley_sets", *args], capture_output=True, text=True, check=True
        )
        assert "shapley-sets" in out.stdout
    assert ss.__version__ in out.stdout


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 5), (2, 0, 3)])
@pytest.mark.parametrize(
    "u", [ss.BestOf(), ss.TopK(2), ss.RankWeighted.mean(), ss.AnySuccess(), ss.Additive(), ss.BestOf() + ss.TopK(1)],
    ids=repr,
)
def test_empty_sets_and_empty_batches(u, shape):
    phi = ss.shapley(u, np.zeros(shape))
    assert phi.shape == shape and phi.dtype == np.float64
    assert ss.value(u, np.zeros(shape)).shape == shape[:-1]
