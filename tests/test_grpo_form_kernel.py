"""The one-kernel set and candidate advantages (scale "group" and "none"; the
marginal rule at every scale) against numpy's elementwise expression of the
same formulas, bit for bit."""

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.grpo._groups import group_stats, resolve_groups


def numpy_set_advantages(r, labels, scale, eps, ddof, singleton):
    g = resolve_groups(labels, r.shape[0])
    valid = ~np.isnan(r)
    count, mean, std = group_stats(r, valid, g, ddof)
    single = count == 1
    if singleton == "reward":
        mean[single] = 0.0
        std[single] = 1.0
    sigma = std[g.index] if scale == "group" else np.ones(r.shape)
    with np.errstate(invalid="ignore"):
        centred = r - mean[g.index]
        adv = centred if scale == "none" else centred / (sigma + eps)
    drop = ~valid
    if singleton == "zero":
        drop |= single[g.index]
    adv[drop] = 0.0
    return adv, np.where(np.isnan(sigma), 1.0, sigma), g


def numpy_candidate_advantages(R, phi, labels, present, beta, tau, empty, scale, eps, ddof, singleton):
    a_set, sigma, g = numpy_set_advantages(R, labels, scale, eps, ddof, singleton)
    live = present & ~np.isnan(R)[:, None]
    phi_live = np.where(live, phi, 0.0)
    k_g = present.sum(axis=1)
    with np.errstate(invalid="ignore"):
        d = np.where(live, k_g[:, None] * phi_live + empty[:, None] - R[:, None], 0.0)
    if tau == "within":
        k = phi.shape[1]
        flat = type(g)(np.repeat(g.index, k), g.n_groups)
        _, _, std_d = group_stats(d.ravel(), live.ravel(), flat, ddof)
        tau_row = np.where(np.isnan(std_d), 1.0, std_d)[g.index]
    elif tau == "set":
        tau_row = sigma
    else:
        tau_row = np.ones(R.shape[0])
    out = a_set[:, None] + (beta / (tau_row + eps))[:, None] * d
    out[~live] = 0.0
    return out, a_set


def numpy_credit_advantages(R, c, labels, present, beta, gate, scale, eps, ddof, singleton):
    a_set, _, g = numpy_set_advantages(R, labels, scale, eps, ddof, singleton)
    live = present & ~np.isnan(R)[:, None]
    c = np.where(live, c, 0.0)
    k = c.shape[1]
    flat = type(g)(np.repeat(g.index, k), g.n_groups)
    _, mean_c, std_c = group_stats(c.ravel(), live.ravel(), flat, ddof)
    z = (c - np.where(np.isnan(mean_c), 0.0, mean_c)[g.index][:, None]) / (
        np.where(np.isnan(std_c), 1.0, std_c)[g.index][:, None] + eps)
    term = np.where(live, z, 0.0)
    if gate != "none":
        rows = ~np.isnan(R)
        _, _, s_r = group_stats(np.where(rows, R, 0.0), rows, g, ddof)
        s_c = np.where(np.isnan(std_c), 0.0, std_c)
        with np.errstate(invalid="ignore", divide="ignore"):
            if gate == "spread":
                total = s_r + s_c
                w = np.where(total > 0, s_r / np.where(total > 0, total, 1.0), 0.0)
            else:
                w = np.where(s_r > 0, (s_c + eps) / (s_r + s_c + eps), 0.0)
        term *= np.where(np.isnan(s_r), 1.0, w)[g.index][:, None]
    out = a_set[:, None] + beta * term
    out[~live] = 0.0
    return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("scale", ["group", "none"])
@pytest.mark.parametrize("singleton", ["reward", "zero"])
def test_the_kernels_equal_the_numpy_expression(seed, scale, singleton):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 50)), int(rng.integers(1, 10))
    labels = rng.integers(0, max(1, n // 3), size=n)  # groups of one among them
    R = rng.normal(size=n) * 10.0 ** rng.integers(-4, 5)
    R[rng.random(n) < 0.15] = np.nan
    phi = rng.normal(size=(n, k))
    present = rng.random((n, k)) < 0.7
    phi[~present & (rng.random((n, k)) < 0.5)] = np.nan  # absent candidates are not read
    empty = rng.normal(size=n)
    for ddof in (0, 1):
        want, _, _ = numpy_set_advantages(R, labels, scale, 1e-6, ddof, singleton)
        got = ss.grpo.set_advantages(R, labels, scale=scale, ddof=ddof, singleton=singleton)
        np.testing.assert_array_equal(got, want)
        for tau in ("within", "set", "none"):
            want, _ = numpy_candidate_advantages(R, phi, labels, present, 0.7, tau, empty, scale, 1e-6, ddof,
                                                 singleton)
            got = ss.grpo.candidate_advantages(R, phi, labels, mask=present, beta=0.7, tau=tau, empty_value=empty,
                                               scale=scale, ddof=ddof, singleton=singleton, efficiency_rtol=None)
            np.testing.assert_array_equal(got, want)
        for gate in ("none", "spread", "sum"):
            credit = np.round(phi, 1) if seed % 3 == 0 else phi  # ties: groups of equal credits
            want = numpy_credit_advantages(R, credit, labels, present, 0.7, gate, scale, 1e-6, ddof, singleton)
            got = ss.grpo.credit_advantages(R, credit, labels, mask=present, beta=0.7, gate=gate, scale=scale,
                                            ddof=ddof, singleton=singleton)
            np.testing.assert_array_equal(got, want)


def test_rewards_that_spread_beyond_float64_are_refused_by_the_kernel():
    with pytest.raises(ValueError, match="response 0's group .* spread beyond the float64 range"):
        ss.grpo.set_advantages([1.7e308, -1.7e308], 2)
