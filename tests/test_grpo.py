"""shapley_sets.grpo on numpy: formulas, invariants, conventions, bad input.

Every function is compared with a plain per-group loop written from the
formulas in docs/math.md#from-shapley-values-to-grpo-advantages (and the frameworks' conventions), independent of the
vectorised implementation.
"""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.grpo import (
    PRESETS,
    candidate_advantages,
    completion_advantages,
    grpo_passk_advantages,
    passk_training_advantages,
    set_advantages,
    token_advantages,
)


# --------------------------------------------------------------- references
def ref_set_advantages(r, labels, scale="group", eps=1e-6, ddof=1, singleton="reward"):
    r = np.asarray(r, dtype=float)
    out = np.zeros(len(r))
    valid = ~np.isnan(r)
    vals = r[valid]
    batch_std = vals.std(ddof=ddof) if len(vals) > ddof else 1.0
    for lab in dict.fromkeys(labels):
        rows = [i for i, l in enumerate(labels) if l == lab and valid[i]]
        v = r[rows]
        if len(rows) == 0:
            continue
        if len(rows) == 1:
            if singleton == "zero":
                continue
            mean, std = 0.0, 1.0
        else:
            mean, std = v.mean(), v.std(ddof=ddof)
        sigma = {"group": std, "batch": batch_std, "none": None}[scale]
        for i in rows:
            out[i] = r[i] - mean if sigma is None else (r[i] - mean) / (sigma + eps)
    return out


def ref_candidate_advantages(R, phi, labels, mask, beta, tau, empty, scale="group", eps=1e-6, ddof=1):
    a_set = ref_set_advantages(R, labels, scale, eps, ddof)
    n, k = phi.shape
    out = np.zeros((n, k))
    d = np.zeros((n, k))
    for i in range(n):
        if np.isnan(R[i]):
            continue
        kk = mask[i].sum()
        for j in range(k):
            if mask[i, j]:
                d[i, j] = kk * phi[i, j] + empty - R[i]
    for lab in dict.fromkeys(labels):
        rows = [i for i, l in enumerate(labels) if l == lab]
        live = [(i, j) for i in rows for j in range(k) if mask[i, j] and not np.isnan(R[i])]
        if tau == "within":
            dv = np.array([d[i, j] for i, j in live])
            t = dv.std(ddof=ddof) if len(dv) > ddof else 1.0
        elif tau == "set":
            valid = [R[i] for i in rows if not np.isnan(R[i])]
            if scale == "group":
                t = np.std(valid, ddof=ddof) if len(valid) > 1 else 1.0
            elif scale == "batch":
                t = np.nanstd(R, ddof=ddof)
            else:
                t = 1.0
        else:
            t = 1.0
        for i, j in live:
            out[i, j] = a_set[i] + beta * d[i, j] / (t + eps)
    return out


def random_labels(rng, n, n_groups):
    return list(rng.choice([f"uid-{i}" for i in range(n_groups)], size=n))


# ---------------------------------------------------------- set_advantages
@pytest.mark.parametrize("scale", ["group", "batch", "none"])
@pytest.mark.parametrize("singleton", ["reward", "zero"])
@pytest.mark.parametrize("seed", range(4))
def test_set_advantages_matches_loop(scale, singleton, seed):
    rng = np.random.default_rng(seed)
    n = 30
    labels = random_labels(rng, n, 7) + ["alone"]
    r = rng.normal(size=n + 1)
    r[rng.random(n + 1) < 0.15] = np.nan
    got = set_advantages(r, labels, scale=scale, singleton=singleton)
    np.testing.assert_allclose(got, ref_set_advantages(r, labels, scale, singleton=singleton), atol=1e-12)
    assert got.dtype == np.float64


def test_contiguous_int_groups_equal_labels():
    rng = np.random.default_rng(1)
    r = rng.normal(size=24)
    np.testing.assert_array_equal(set_advantages(r, 6), set_advantages(r, np.repeat(np.arange(4), 6)))


@pytest.mark.parametrize(
    "make_labels",
    [
        lambda g: np.array([f"u{x}" for x in g]),
        lambda g: np.array([f"u{x}" for x in g], dtype=object),
        lambda g: list(g * 7 + 3),
        lambda g: np.asarray(g, dtype=np.float32),
        lambda g: [("p", int(x)) for x in g],
        lambda g: [int(x) if x % 2 else str(x) for x in g],  # mixed str / int
    ],
)
def test_labels_any_order_and_kind(make_labels):
    rng = np.random.default_rng(2)
    r = rng.normal(size=40)
    contiguous = set_advantages(r, 8)
    perm = rng.permutation(40)
    g = np.repeat(np.arange(5), 8)[perm]
    got = set_advantages(r[perm], make_labels(g))
    np.testing.assert_allclose(got, contiguous[perm], atol=1e-12)


def test_mixed_labels_are_not_merged():
    # 1 and "1" are different labels, even though np.asarray would merge them.
    got = set_advantages([0.0, 2.0, 4.0, 8.0], [1, "1", 1, "1"], scale="none")
    np.testing.assert_allclose(got, [-2.0, -3.0, 2.0, 3.0])


def test_singleton_groups():
    r = [3.0, 1.0, 2.0]
    verl = set_advantages(r, ["a", "b", "b"], **PRESETS["verl"])
    assert verl[0] == pytest.approx(3.0 / (1 + 1e-6), rel=1e-15)
    trl = set_advantages(r, ["a", "b", "b"], **PRESETS["trl"])
    assert trl[0] == 0.0
    np.testing.assert_allclose(set_advantages([5.0, -2.0], 1), [5.0, -2.0], rtol=1e-5)
    np.testing.assert_array_equal(set_advantages([5.0, -2.0], 1, singleton="zero"), [0.0, 0.0])
    # a group with one non-missing reward is a singleton too
    assert set_advantages([np.nan, 4.0], 2, scale="none")[1] == 4.0


def test_nan_rewards_are_missing():
    r = np.array([1.0, np.nan, 3.0, 0.0, np.nan, np.nan, np.nan, 2.0])
    got = set_advantages(r, [0, 0, 0, 1, 1, 2, 2, 2])
    assert got[1] == got[4] == got[5] == got[6] == 0.0
    np.testing.assert_allclose(got[[0, 2]], [-1 / (2**0.5 + 1e-6), 1 / (2**0.5 + 1e-6)])
    assert np.isfinite(got).all()


def test_equal_rewards_give_zero():
    np.testing.assert_array_equal(set_advantages(np.full(8, 0.7), 4), np.zeros(8))


def test_presets_formulas():
    rng = np.random.default_rng(3)
    r = rng.normal(size=16).astype(np.float32)
    g = r.reshape(4, 4).astype(np.float64)
    verl = (g - g.mean(1, keepdims=True)) / (g.std(1, ddof=1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(set_advantages(r, 4, **PRESETS["verl"]), verl.ravel(), rtol=1e-12)
    trl_batch = (g - g.mean(1, keepdims=True)) / (g.std(ddof=1) + 1e-4)
    np.testing.assert_allclose(set_advantages(r, 4, scale="batch", **PRESETS["trl"]), trl_batch.ravel(), rtol=1e-12)


# ----------------------------------------------------- candidate_advantages
def random_layout_a(rng, n, k, n_groups, ragged=True, floor=0.0):
    x = rng.random((n, k))
    mask = rng.random((n, k)) < 0.8 if ragged else np.ones((n, k), bool)
    mask[:, 0] = True
    u = ss.BestOf(floor=floor)
    return u, x, mask, ss.value(u, x, mask=mask), ss.shapley(u, x, mask=mask)


@pytest.mark.parametrize("tau", ["within", "set", "none"])
@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_candidate_advantages_matches_loop(tau, scale):
    rng = np.random.default_rng(4)
    labels = random_labels(rng, 20, 4)
    _, _, mask, R, phi = random_layout_a(rng, 20, 5, 4, floor=0.1)
    R[3] = np.nan
    got = candidate_advantages(R, phi, labels, beta=0.7, tau=tau, empty_value=0.1, mask=mask, scale=scale)
    want = ref_candidate_advantages(R, phi, labels, mask, 0.7, tau, 0.1, scale=scale)
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("tau", ["within", "set", "none"])
def test_beta_zero_is_set_advantages(tau):
    rng = np.random.default_rng(5)
    _, _, mask, R, phi = random_layout_a(rng, 24, 6, 3)
    got = candidate_advantages(R, phi, 8, beta=0.0, tau=tau, mask=mask)
    want = np.where(mask, set_advantages(R, 8)[:, None], 0.0)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 5.0])
@pytest.mark.parametrize("tau", ["within", "set", "none"])
@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_present_candidates_average_to_set_advantage(beta, tau, scale):
    rng = np.random.default_rng(6)
    _, _, mask, R, phi = random_layout_a(rng, 32, 7, 4)
    A = candidate_advantages(R, phi, 8, beta=beta, tau=tau, mask=mask, scale=scale)
    mean_present = A.sum(1) / mask.sum(1)
    np.testing.assert_allclose(mean_present, set_advantages(R, 8, scale=scale), atol=1e-9)
    assert (A[~mask] == 0).all()


def test_within_tau_finite_when_set_rewards_equal():
    # Every response's best candidate scores 1, so all set rewards are equal
    # (σ = 0) while the candidates still differ.
    rng = np.random.default_rng(7)
    x = rng.random((8, 4)) * 0.9
    x[:, 0] = 1.0
    R, phi = ss.value(ss.BestOf(), x), ss.shapley(ss.BestOf(), x)
    within = candidate_advantages(R, phi, 8)
    assert np.isfinite(within).all() and np.abs(within).max() < 10
    assert np.abs(within).max() > 0.1
    by_sigma = candidate_advantages(R, phi, 8, tau="set")
    assert np.abs(by_sigma).max() > 1e4  # why "within" is the default


def test_within_tau_all_equal_candidates_gives_zero():
    R = np.full(4, 2.0)
    phi = np.full((4, 2), 1.0)
    np.testing.assert_array_equal(candidate_advantages(R, phi, 4), np.zeros((4, 2)))


def test_candidate_empty_value_and_absent_nan():
    u = ss.BestOf(floor=0.5)
    x = np.array([[0.9, 0.2, 0.7], [0.6, 0.8, 0.0]])
    mask = np.array([[True, True, True], [True, True, False]])
    R, phi = ss.value(u, x, mask=mask), ss.shapley(u, x, mask=mask)
    phi_nan = np.where(mask, phi, np.nan)
    A = candidate_advantages(R, phi_nan, 2, empty_value=0.5, mask=mask)
    np.testing.assert_allclose(A, ref_candidate_advantages(R, phi, [0, 0], mask, 1.0, "within", 0.5))
    with pytest.raises(ValueError, match="efficiency"):
        candidate_advantages(R, phi, 2, mask=mask)  # forgot empty_value
    per_row = candidate_advantages(R, phi, 2, empty_value=[0.5, 0.5], mask=mask)
    np.testing.assert_array_equal(per_row, A)


def test_candidate_missing_set_reward_row_is_zero():
    R = np.array([1.0, np.nan, 0.5, 0.2])
    phi = np.array([[0.6, 0.4], [np.nan, np.nan], [0.25, 0.25], [0.1, 0.1]])
    A = candidate_advantages(R, phi, 2)
    np.testing.assert_array_equal(A[1], [0.0, 0.0])
    assert A[0].mean() == pytest.approx(set_advantages(R, 2)[0])


def test_candidate_efficiency_check_names_response():
    R = np.array([1.0, 0.5])
    phi = np.array([[0.6, 0.4], [0.3, 0.3]])
    with pytest.raises(ValueError, match=r"response 1: .*0\.6.*0\.5"):
        candidate_advantages(R, phi, 2)
    out = candidate_advantages(R, phi, 2, efficiency_rtol=None)
    assert np.isfinite(out).all()


# ---------------------------------------------------- completion_advantages
def ref_completion(u, x, labels, eps=1e-6, ddof=1):
    x = np.asarray(x, dtype=float)
    r = np.zeros(x.shape[0])
    for lab in dict.fromkeys(labels):
        rows = [i for i, l in enumerate(labels) if l == lab]
        xs = np.moveaxis(x[rows], 0, -1)
        phi = ss.reference_shapley(u, xs)
        empty = u.coalition_values(xs, np.zeros((1, len(rows)), bool))[0]
        r[rows] = len(rows) * phi + empty
    return ref_set_advantages(r, labels, eps=eps, ddof=ddof)


@pytest.mark.parametrize("floor", [0.0, 0.3])
def test_completion_advantages_ragged_labels(floor):
    rng = np.random.default_rng(8)
    labels = random_labels(rng, 23, 5)
    x = rng.random(23)
    u = ss.BestOf(floor=floor)
    np.testing.assert_allclose(completion_advantages(u, x, labels), ref_completion(u, x, labels), atol=1e-10)


def test_completion_advantages_core_ndim_2():
    rng = np.random.default_rng(9)
    x = rng.random((12, 3))  # 12 completions, 3 user types
    u = ss.ExpectedBest([0.5, 0.3, 0.2], floors=0.1)
    labels = [0] * 5 + [1] * 4 + [2] * 3
    np.testing.assert_allclose(completion_advantages(u, x, labels), ref_completion(u, x, labels), atol=1e-10)


def test_completion_mean_r_is_group_value():
    # Efficiency: the group's mean r is U(group), so plain set rewards shift
    # the same way; with "none", A_g = G φ_g + U(∅) - U(group).
    x = np.array([0.2, 0.9, 0.4])
    phi = ss.shapley(ss.BestOf(), x)
    got = completion_advantages(ss.BestOf(), x, 3, scale="none")
    np.testing.assert_allclose(got, 3 * phi - 0.9, atol=1e-12)


def test_completion_rejects_bad_x():
    with pytest.raises(ValueError, match="candidate 2"):
        completion_advantages(ss.AnySuccess(), [0.1, 0.5, 1.5, 0.2], 2)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        completion_advantages(ss.BestOf(), np.zeros((4, 2)), 2)
    with pytest.raises(TypeError, match="utility"):
        completion_advantages(max, [1.0, 2.0], 2)


# -------------------------------------------------------- token_advantages
def test_token_advantages_matches_loop():
    rng = np.random.default_rng(10)
    n, k, t = 6, 4, 50
    cand, sa = rng.normal(size=(n, k)), rng.normal(size=n)
    ids = rng.integers(-1, k, size=(n, t))
    mask = rng.random((n, t)) < 0.9
    ids_padded = np.where(mask, ids, 99)  # garbage at padding is never read
    got = token_advantages(cand, sa, ids_padded, mask)
    want = np.zeros((n, t))
    for i in range(n):
        for j in range(t):
            if mask[i, j]:
                want[i, j] = sa[i] if ids[i, j] < 0 else cand[i, ids[i, j]]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(token_advantages(cand, sa, ids)[mask], want[mask])


def test_token_advantages_bad_ids():
    cand, sa = np.zeros((2, 3)), np.zeros(2)
    ids = np.zeros((2, 5), dtype=np.int64)
    ids[1, 4] = 3
    with pytest.raises(ValueError, match=r"\[-1, 3\).*found 3 at response 1, token 4"):
        token_advantages(cand, sa, ids)
    ids[1, 4] = -2
    with pytest.raises(ValueError, match="response 1, token 4"):
        token_advantages(cand, sa, ids)
    with pytest.raises(TypeError, match="integer"):
        token_advantages(cand, sa, ids.astype(float))
    with pytest.raises(ValueError, match=r"set_adv must have shape \(2,\)"):
        token_advantages(cand, np.zeros(3), np.zeros((2, 5), int))
    # uint64 ids beyond int64 are reported, not wrapped to negative ids
    big = np.zeros((2, 5), dtype=np.uint64)
    big[0, 2] = np.iinfo(np.uint64).max
    with pytest.raises(ValueError, match=rf"\[-1, 3\).*found {np.iinfo(np.uint64).max} at response 0, token 2"):
        token_advantages(cand, sa, big)
    with pytest.raises(ValueError, match=r"candidate_ids must have shape \(2, T\), got \(5,\)"):
        token_advantages(cand, sa, np.zeros(5, dtype=np.uint64))
    with pytest.raises(ValueError, match=r"response_mask must have the shape of candidate_ids \(2, 5\), got \(2, 4\)"):
        token_advantages(cand, sa, ids * 0, np.ones((2, 4), bool))


def test_layout_a_end_to_end_tokens_average():
    rng = np.random.default_rng(11)
    _, _, mask, R, phi = random_layout_a(rng, 8, 3, 2, ragged=False)
    A = candidate_advantages(R, phi, 4, beta=1.0)
    sa = set_advantages(R, 4)
    ids = np.repeat(np.arange(3), 10)[None].repeat(8, 0)  # equal-length candidates
    tok = token_advantages(A, sa, ids)
    np.testing.assert_allclose(tok.mean(1), sa, atol=1e-12)


# ------------------------------------------------------------------ peers
def test_grpo_passk_matches_loop():
    rng = np.random.default_rng(12)
    r = np.round(rng.random(30) * 4) / 4  # plenty of ties
    labels = random_labels(rng, 30, 4)
    for scale in ("group", "none"):
        got = grpo_passk_advantages(r, labels, scale=scale)
        want = np.zeros(30)
        for lab in set(labels):
            rows = [i for i, l in enumerate(labels) if l == lab]
            v = r[rows]
            top = np.sort(v)[::-1]
            gap = top[0] - top[1]
            if scale == "group":
                gap /= v.std(ddof=1) + 1e-6
            want[rows[int(np.argmax(v))]] = gap
        np.testing.assert_allclose(got, want, atol=1e-12)
        assert np.count_nonzero(got) <= len(set(labels))


def test_grpo_passk_needs_two():
    with pytest.raises(ValueError, match="at least 2"):
        grpo_passk_advantages([1.0, 0.0, 1.0], ["a", "a", "b"])


def exact_passk(n, c, k):
    def comb_ratio(a, b, kk):
        return Fraction(math.comb(a, kk), math.comb(b, kk)) if a >= 0 else Fraction(0)
    mean = 1 - comb_ratio(n - c, n, k)
    sigma = math.sqrt(mean * (1 - mean))
    pos = float(1 - mean) / (sigma + 1e-6)
    neg = float(1 - mean - comb_ratio(n - c - 1, n - 1, k - 1)) / (sigma + 1e-6)
    return pos, neg


@pytest.mark.parametrize("n", [1, 2, 5, 8, 16])
def test_passk_training_exact(n):
    for k in range(1, n + 1):
        for c in range(n + 1):
            r = np.array([1.0] * c + [0.0] * (n - c))
            got = passk_training_advantages(r, n, k)
            pos, neg = exact_passk(n, c, k)
            np.testing.assert_allclose(got[:c], pos, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(got[c:], neg, rtol=1e-10, atol=1e-12)


def test_passk_training_k1_is_grpo_ddof0():
    rng = np.random.default_rng(13)
    r = (rng.random(32) < 0.4).astype(float)
    np.testing.assert_allclose(
        passk_training_advantages(r, 8, 1), set_advantages(r, 8, ddof=0), atol=1e-12
    )


def test_passk_training_large_groups_finite():
    r = np.zeros(3000)
    r[:7] = 1
    got = passk_training_advantages(r, 3000, 1500)
    assert np.isfinite(got).all() and got[0] > 0 > got[-1]


def test_passk_training_bad_input():
    with pytest.raises(ValueError, match="binary.*0.5 at response 1"):
        passk_training_advantages([1.0, 0.5], 2, 1)
    with pytest.raises(ValueError, match="at least 3"):
        passk_training_advantages([1, 0, 1, 0], 2, 3)
    with pytest.raises(ValueError, match="k must be"):
        passk_training_advantages([1, 0], 2, 0)


# ------------------------------------------------------- validation, purity
@pytest.mark.parametrize(
    "kwargs, exc, pattern",
    [
        (dict(scale="std"), ValueError, "scale must be one of"),
        (dict(singleton="drop"), ValueError, "singleton must be one of"),
        (dict(eps=0.0), ValueError, "eps must be a finite number > 0"),
        (dict(ddof=2), ValueError, "ddof must be 0 or 1"),
    ],
)
def test_bad_options(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        set_advantages([1.0, 2.0], 2, **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="not a multiple of 4"):
        set_advantages(np.zeros(6), 4)
    with pytest.raises(ValueError, match=r"expected shape \(3,\)"):
        set_advantages(np.zeros(3), ["a", "b"])
    with pytest.raises(ValueError, match="inf at response 1"):
        set_advantages([0.0, np.inf], 2)
    with pytest.raises(TypeError, match="not hashable"):
        set_advantages([0.0, 1.0], [[1], [2]])
    with pytest.raises(ValueError, match=r"groups\[1\] is NaN"):
        set_advantages([0.0, 1.0], [1.0, np.nan])
    with pytest.raises(TypeError, match="group labels"):
        set_advantages([0.0, 1.0], "ab")
    R, phi = np.array([1.0, 1.0]), np.array([[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError, match="beta"):
        candidate_advantages(R, phi, 2, beta=-1.0)
    with pytest.raises(ValueError, match="tau must be one of"):
        candidate_advantages(R, phi, 2, tau="sigma")
    with pytest.raises(ValueError, match=r"shapley_values must have shape \(N, K\) with N = 2"):
        candidate_advantages(R, phi[:1], 2)
    with pytest.raises(ValueError, match="response 0, candidate 1"):
        candidate_advantages(R, np.array([[0.5, np.nan], [1.0, 0.0]]), 2)
    with pytest.raises(ValueError, match="does not broadcast"):
        candidate_advantages(R, phi, 2, mask=np.ones(3, bool))


def test_inputs_never_modified():
    rng = np.random.default_rng(14)
    _, _, mask, R, phi = random_layout_a(rng, 8, 4, 2)
    R[2] = np.nan
    labels = np.array(["a", "b"] * 4, dtype=object)
    ids = rng.integers(-1, 4, size=(8, 9))
    rmask = rng.random((8, 9)) < 0.8
    x = rng.random(8)
    before = [a.copy() for a in (R, phi, mask, labels, ids, rmask, x)]
    A = candidate_advantages(R, phi, labels, mask=mask)
    sa = set_advantages(R, labels, scale="batch")
    token_advantages(A, sa, ids, rmask)
    completion_advantages(ss.BestOf(), x, labels)
    grpo_passk_advantages(x, labels)
    for b, a in zip(before, (R, phi, mask, labels, ids, rmask, x)):
        np.testing.assert_array_equal(a, b)


def test_empty_batch():
    assert set_advantages(np.zeros(0), 4).shape == (0,)
    assert candidate_advantages(np.zeros(0), np.zeros((0, 3)), []).shape == (0, 3)
    assert completion_advantages(ss.BestOf(), np.zeros(0), 2).shape == (0,)


def test_grpo_does_not_import_torch():
    code = (
        "import sys, shapley_sets as ss, numpy as np\n"
        "ss.grpo.token_advantages(np.zeros((1, 2)), [0.0], np.zeros((1, 3), int))\n"
        "ss.grpo.set_advantages([1.0, 2.0], ['a', 'a'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------ property-based
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 25),
    k=st.integers(1, 6),
    n_groups=st.integers(1, 6),
    beta=st.floats(0, 10),
    tau=st.sampled_from(["within", "set", "none"]),
    scale=st.sampled_from(["group", "batch", "none"]),
    singleton=st.sampled_from(["reward", "zero"]),
)
def test_candidate_invariants_property(seed, n, k, n_groups, beta, tau, scale, singleton):
    rng = np.random.default_rng(seed)
    labels = list(rng.integers(0, n_groups, size=n))
    x = rng.random((n, k)) * rng.choice([1.0, 1e-3, 1e3])
    mask = rng.random((n, k)) < 0.7
    R = ss.value(ss.BestOf(), x, mask=mask)
    R[rng.random(n) < 0.1] = np.nan
    phi = ss.shapley(ss.BestOf(), x, mask=mask)
    opts = dict(tau=tau, scale=scale, singleton=singleton, mask=mask)
    A = candidate_advantages(R, phi, labels, beta=beta, **opts)
    a_set = set_advantages(R, labels, scale=scale, singleton=singleton)
    assert np.isfinite(A).all()
    live = mask & ~np.isnan(R)[:, None]
    assert (A[~live] == 0).all()
    rows = live.any(1)
    scale_ref = np.maximum(1.0, np.abs(A).max())
    np.testing.assert_allclose(
        A[rows].sum(1) / live[rows].sum(1), a_set[rows], atol=1e-9 * scale_ref
    )
    np.testing.assert_array_equal(
        candidate_advantages(R, phi, labels, beta=0.0, **opts), np.where(live, a_set[:, None], 0.0)
    )


def test_token_advantages_candidate_mask_checks():
    cand = np.array([[1.0, 0.0, -1.0]])
    ids = np.array([[-1, 0, 2, 2]])
    present = np.array([[True, False, True]])
    np.testing.assert_array_equal(
        token_advantages(cand, [0.5], ids, candidate_mask=present), token_advantages(cand, [0.5], ids)
    )
    # broadcast over the responses, like candidate_advantages' mask
    np.testing.assert_array_equal(
        token_advantages(cand, [0.5], ids, candidate_mask=[True, False, True]), [[0.5, 1.0, -1.0, -1.0]]
    )
    with pytest.raises(ValueError, match="candidate 1 at response 0, token 1, which candidate_mask marks absent"):
        token_advantages(cand, [0.5], np.array([[-1, 1, 2, 2]]), candidate_mask=present)
    with pytest.raises(ValueError, match="candidate_mask of shape"):
        token_advantages(cand, [0.5], ids, candidate_mask=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="candidate_mask must be boolean or hold only 0 and 1"):
        token_advantages(cand, [0.5], ids, candidate_mask=np.ones((1, 3)) * 0.5)
    # out-of-range ids keep their own message
    with pytest.raises(ValueError, match=r"must lie in \[-1, 3\) .*; found 5 at response 0, token 3"):
        token_advantages(cand, [0.5], np.array([[-1, 0, 2, 5]]), candidate_mask=present)


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
@pytest.mark.parametrize("singleton", ["reward", "zero"])
def test_completion_advantages_nan_is_a_missing_completion(scale, singleton):
    # A missing completion leaves its group as the set of the others: the
    # advantages are those of the batch without it, and 0 for it.
    rng = np.random.default_rng(21)
    labels = np.array(random_labels(rng, 30, 6))
    x = rng.random(30)
    x[[2, 7, 8, 19]] = np.nan
    group = labels[~np.isnan(x)][0]
    x[labels == group] = np.nan  # and one whole group missing
    keep = ~np.isnan(x)
    opts = dict(scale=scale, singleton=singleton)
    for u in (ss.BestOf(0.2), ss.AnySuccess(), ss.TopK(2)):
        got = completion_advantages(u, x, labels, **opts)
        want = np.zeros(30)
        want[keep] = completion_advantages(u, x[keep], labels[keep], **opts)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        assert np.all(got[~keep] == 0.0)


def test_completion_advantages_nan_rows_and_edge_cases():
    u = ss.ExpectedBest([0.5, 0.5])
    x = np.array([[0.2, 0.4], [np.nan, 0.9], [0.7, 0.1], [0.3, 0.3]])
    got = completion_advantages(u, x, [0, 0, 0, 1])
    want = completion_advantages(u, x[[0, 2, 3]], [0, 0, 1])
    np.testing.assert_allclose(got[[0, 2, 3]], want, atol=1e-12)
    assert got[1] == 0.0
    np.testing.assert_array_equal(completion_advantages(ss.BestOf(), [np.nan] * 4, 2), np.zeros(4))
    assert completion_advantages(ss.BestOf(), np.zeros(0), 2).shape == (0,)
    with pytest.raises(ValueError, match="candidate 1"):  # inf is not missing
        completion_advantages(ss.BestOf(), [0.5, np.inf, np.nan, 0.1], 2)
    with pytest.raises(ValueError, match="candidate 2"):  # the domain is still checked
        completion_advantages(ss.AnySuccess(), [np.nan, 0.5, 1.5, 0.2], 2)
