"""What each credit rule optimises, checked by exact enumeration of all draws.

K candidates are drawn from a softmax policy π over a few items. Weighting
each candidate's ∇log π by its credit and summing over the K candidates gives,
in expectation over ALL n^K draws (enumerated, not sampled):

    set reward U(S)          ->  ∇E[U_K]
    Shapley credit           ->  Σ_{s=1..K} (1/s) ∇E[U_s]
    semivalue credit (p_K)   ->  K Σ_{s=0..K-1} p_K(s)/(s+1) ∇E[U_{s+1}]
    leave-one-out            ->  ∇E[U_K]

U_s is the utility of s i.i.d. draws. ∇E[U_s] is computed independently of
the credits, by complex-step differentiation of the enumerated expectation
(exact to rounding). Without replacement (K distinct candidates, each
candidate's log-prob conditional on those before it) leave-one-out is no
longer exact: the last test measures the gap that docs/math.md quotes.
"""

import itertools

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.engines.weights import as_weighting

K = 3
H = 1e-30  # complex step: the imaginary part carries the derivative exactly


def softmax(theta):
    e = np.exp(theta - theta.real.max())
    return e / e.sum()


def problem(name, n, seed):
    """(utility, per-item input maker, logits): ``inputs(tuple_of_items)`` is
    the utility's input for the candidates of a draw (batch + core)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    if name == "BestOf":
        score = rng.random(n)
        return ss.BestOf(floor=0.2), lambda draws: score[draws], theta
    if name == "TopK":
        score = rng.normal(size=n)
        return ss.TopK(2), lambda draws: score[draws], theta
    if name == "AnySuccess":
        p = rng.random(n)
        return ss.AnySuccess(), lambda draws: p[draws], theta
    if name == "ExpectedBest":
        taste = rng.random((3, n))
        u = ss.ExpectedBest([0.5, 0.3, 0.2])
        return u, lambda draws: np.moveaxis(taste[:, draws], 0, -2), theta
    raise ValueError(name)


def draws_of(n, s):
    return np.array(list(itertools.product(range(n), repeat=s)), dtype=np.int64).reshape(-1, s)


def expected_utility(u, inputs, theta, s):
    """E[U_s] under i.i.d. draws from softmax(theta) (theta may be complex)."""
    pi = softmax(theta)
    draws = draws_of(theta.shape[0], s)
    values = ss.value(u, inputs(draws))
    return (np.prod(pi[draws], axis=1) * values).sum()


def grad_expected_utility(u, inputs, theta, s):
    """∇_θ E[U_s] by complex steps, one per logit."""
    out = np.empty(theta.shape[0])
    for m in range(theta.shape[0]):
        step = theta.astype(complex)
        step[m] += 1j * H
        out[m] = expected_utility(u, inputs, step, s).imag / H
    return out


def credit_gradient(u, inputs, theta, credit):
    """E[Σ_k credit_k ∇log π(c_k)] over all n^K i.i.d. draws, exactly."""
    n = theta.shape[0]
    pi = softmax(theta)
    draws = draws_of(n, K)
    prob = np.prod(pi[draws], axis=1)
    c = credit(inputs(draws))  # (n^K, K)
    grad_log = np.eye(n)[draws] - pi  # ∇log π(c) = e_c - π, shape (n^K, K, n)
    return np.einsum("d,dk,dkn->n", prob, c, grad_log)


UTILITIES = ["BestOf", "TopK", "AnySuccess", "ExpectedBest"]


@pytest.mark.parametrize("n", [4, 5])
@pytest.mark.parametrize("name", UTILITIES)
def test_set_reward_and_shapley_identities(name, n):
    u, inputs, theta = problem(name, n, seed=n)
    grads = {s: grad_expected_utility(u, inputs, theta, s) for s in range(1, K + 1)}
    scale = max(np.abs(g).max() for g in grads.values())

    def set_reward(x):
        return np.repeat(ss.value(u, x)[:, None], K, axis=1)

    got = credit_gradient(u, inputs, theta, set_reward)
    np.testing.assert_allclose(got, grads[K], rtol=0, atol=1e-13 * scale)
    got = credit_gradient(u, inputs, theta, lambda x: ss.shapley(u, x))
    want = sum(grads[s] / s for s in range(1, K + 1))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * scale)


@pytest.mark.parametrize("weights", ["banzhaf", "loo", ("beta", 2, 3), ("beta", 0.5, 2)], ids=str)
@pytest.mark.parametrize("n", [4, 5])
@pytest.mark.parametrize("name", UTILITIES)
def test_semivalue_identity(name, n, weights):
    u, inputs, theta = problem(name, n, seed=10 + n)
    grads = {s: grad_expected_utility(u, inputs, theta, s) for s in range(1, K + 1)}
    scale = max(np.abs(g).max() for g in grads.values())
    p = as_weighting(weights).size_weights(K)
    want = K * sum(p[s] / (s + 1) * grads[s + 1] for s in range(K))
    got = credit_gradient(u, inputs, theta, lambda x: ss.semivalue(u, x, weights))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * scale)
    if weights == "loo":  # unbiased for the set's own objective, at the same scale
        np.testing.assert_allclose(got, grads[K], rtol=0, atol=1e-13 * scale)


# -- without replacement ------------------------------------------------------------


def without_replacement(theta):
    """All ordered draws of K distinct items, their probabilities and each
    candidate's ∇log π(c_k | c_<k) (Plackett-Luce: renormalised softmax)."""
    n = theta.shape[0]
    pi = softmax(theta)
    draws = np.array(list(itertools.permutations(range(n), K)), dtype=np.int64)
    prob = np.ones(len(draws), dtype=pi.dtype)
    grad_log = np.zeros((len(draws), K, n))
    for d, seq in enumerate(draws):
        left = np.ones(n, dtype=bool)
        for k, c in enumerate(seq):
            rest = pi.real * left
            cond = rest / rest.sum()
            prob[d] = prob[d] * pi[c] / (pi * left).sum()
            grad_log[d, k] = np.eye(n)[c] - cond
            left[c] = False
    return draws, prob, grad_log


def wor_expected_utility(u, inputs, theta):
    draws, prob, _ = without_replacement(theta)
    return (prob * ss.value(u, inputs(draws))).sum()


def wor_gradients(u, inputs, theta, credit):
    """(E[Σ_k credit_k ∇log π(c_k | c_<k)], ∇E[U(S)]) without replacement."""
    draws, prob, grad_log = without_replacement(theta)
    got = np.einsum("d,dk,dkn->n", prob.real, credit(inputs(draws)), grad_log)
    want = np.empty(theta.shape[0])
    for m in range(theta.shape[0]):
        step = theta.astype(complex)
        step[m] += 1j * H
        want[m] = wor_expected_utility(u, inputs, step).imag / H
    return got, want


def test_without_replacement_set_reward_is_exact_but_leave_one_out_is_not():
    # Fixed before looking: 6 items, K = 3, best-of, seed 0 (docs/math.md quotes it).
    u, inputs, theta = problem("BestOf", 6, seed=0)

    def set_reward(x):
        return np.repeat(ss.value(u, x)[:, None], K, axis=1)

    got, want = wor_gradients(u, inputs, theta, set_reward)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * np.abs(want).max())
    loo, want = wor_gradients(u, inputs, theta, lambda x: ss.leave_one_out(u, x))
    gap = np.linalg.norm(loo - want) / np.linalg.norm(want)
    assert gap > 0.05, gap  # a real bias, not rounding


def wor_loo_gap(name="BestOf", n=6, seed=0):
    """The relative gap ‖E[LOO gradient] − ∇E[U(S)]‖ / ‖∇E[U(S)]‖ without replacement."""
    u, inputs, theta = problem(name, n, seed)
    loo, want = wor_gradients(u, inputs, theta, lambda x: ss.leave_one_out(u, x))
    return np.linalg.norm(loo - want) / np.linalg.norm(want)


if __name__ == "__main__":  # the figures docs/math.md quotes
    for name in UTILITIES:
        print(name, f"{wor_loo_gap(name):.4f}")
