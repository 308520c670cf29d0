"""Group ids and group statistics: the kernel and the fast label paths
against plain numpy / Python references, bit for bit."""

import numpy as np
import pytest

from shapley_sets.grpo._groups import Groups, group_stats, resolve_groups


def _numpy_group_stats(values, valid, groups, ddof):
    """The bincount expression group_stats computed before its kernel."""
    idx, g = groups.index, groups.n_groups
    v = np.where(valid, values, 0.0)
    count = np.bincount(idx, weights=valid.astype(np.float64), minlength=g)
    peak = np.zeros(g)
    with np.errstate(invalid="ignore"):  # NaN values: the peak is NaN, as the kernel's
        np.maximum.at(peak, idx, np.abs(v))
    peak[peak == 0] = 1.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scaled = v / peak[idx]
        mean = np.bincount(idx, weights=scaled, minlength=g) / count
        centred = np.where(valid, scaled - mean[idx], 0.0)
        ss = np.bincount(idx, weights=centred * centred, minlength=g)
        std = np.sqrt(ss / (count - ddof)) * peak
        mean *= peak
    std[count <= ddof] = np.nan
    mean[count == 0] = np.nan
    return count, mean, std


@pytest.mark.parametrize("seed", range(40))
def test_group_stats_kernel_equals_the_numpy_expression(seed):
    rng = np.random.default_rng(seed)
    n, g = int(rng.integers(1, 80)), int(rng.integers(1, 9))
    values = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300)
    if seed % 4 == 1:
        values[rng.random(n) < 0.2] = np.nan
    if seed % 4 == 2:
        values[rng.random(n) < 0.2] = np.inf * rng.choice([-1, 1])
    if seed % 4 == 3:
        values[:] = 1.7e308 - rng.random(n) * 1e300  # close to the float64 limit
    valid = rng.random(n) < 0.8
    groups = Groups(rng.integers(0, g, size=n).astype(np.intp), g)
    for ddof in (0, 1):
        got = group_stats(values, valid, groups, ddof)
        want = _numpy_group_stats(values, valid, groups, ddof)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


def _first_appearance(labels):
    ids = {}
    return [ids.setdefault(label, len(ids)) for label in labels]


@pytest.mark.parametrize("labels", [
    ["uid-b", "uid-a", "uid-b", "uid-c", "uid-a"],
    ["b", 1, None, (1, 2), "b", True, 1],  # 1 == True: one group, as Python equality says
    ["a", 1.0, 1, np.float64(2.0), "a"],   # floats take the label-by-label path
])
def test_object_labels_get_ids_in_order_of_first_appearance(labels):
    arr = np.empty(len(labels), dtype=object)
    arr[:] = labels
    g = resolve_groups(arr, len(labels))
    assert g.index.tolist() == _first_appearance(labels)
    assert g.n_groups == len(set(_first_appearance(labels)))


def test_object_labels_errors_name_the_label():
    arr = np.empty(3, dtype=object)
    arr[:] = ["a", [1], "b"]
    with pytest.raises(TypeError, match=r"groups\[1\] = \[1\] is not hashable"):
        resolve_groups(arr, 3)
    arr[:] = ["a", float("nan"), "b"]
    with pytest.raises(ValueError, match=r"groups\[1\] is NaN"):
        resolve_groups(arr, 3)
