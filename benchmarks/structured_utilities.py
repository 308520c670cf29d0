"""Time AnySuccess and ExpectedBest against numpy GRPO normalisation and a
straightforward numpy implementation of the same closed forms.

    .venv/bin/python benchmarks/structured_utilities.py [--sets 65536] [--k 16] [--types 8]

Prints the median of 7 runs after a warm-up, in milliseconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import shapley_sets as ss
from shapley_sets.engines.any_success import gauss_legendre_01


def median_ms(fn, repeats=7):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def grpo_normalise(x):
    return (x - x.mean(1, keepdims=True)) / x.std(1, ddof=1, keepdims=True)


def any_success_numpy(p):
    """φ_i = p_i Σ_q w_q Π_{j≠i}(1 - t_q p_j), leave-one-out by cumprod."""
    k = p.shape[-1]
    t, w = gauss_legendre_01((k + 1) // 2)
    f = 1.0 - t[:, None, None] * p[None]
    ones = np.ones(f.shape[:-1] + (1,))
    before = np.cumprod(np.concatenate([ones, f[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, f[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return p * np.einsum("q,qnk->nk", w, before * after)


def expected_best_numpy(x, weights, floors):
    """Σ_u π_u airport(max(x_u - b_u, 0)) with argsort and cumsum."""
    n, m, k = x.shape
    gains = np.maximum(x - floors[:, None], 0.0)
    order = np.argsort(gains, axis=-1)
    y = np.take_along_axis(gains, order, axis=-1)
    steps = np.diff(y, axis=-1, prepend=0.0) / (k - np.arange(k))
    shares = np.empty_like(y)
    np.put_along_axis(shares, order, np.cumsum(steps, axis=-1), axis=-1)
    return np.einsum("nuk,u->nk", shares, weights)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=65536)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--types", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, k, m = args.sets, args.k, args.types
    rewards = rng.random((n, k))
    p = rng.random((n, k))
    x = rng.random((n, m, k))
    weights = rng.random(m)
    weights /= weights.sum()  # probabilities of the user types
    floors = np.full(m, 0.1)
    u = ss.ExpectedBest(weights, floors)

    np.testing.assert_allclose(any_success_numpy(p[:100]), ss.shapley(ss.AnySuccess(), p[:100]),
                               rtol=1e-12)
    np.testing.assert_allclose(expected_best_numpy(x[:100], weights, floors),
                               ss.shapley(u, x[:100]), rtol=1e-12, atol=1e-15)

    base = median_ms(lambda: grpo_normalise(rewards))
    rows = [
        (f"GRPO normalisation ({n}, {k})", base),
        (f"AnySuccess shapley ({n}, {k})", median_ms(lambda: ss.shapley(ss.AnySuccess(), p))),
        ("AnySuccess numpy closed form", median_ms(lambda: any_success_numpy(p))),
        (f"ExpectedBest shapley ({n}, {m}, {k})", median_ms(lambda: ss.shapley(u, x))),
        ("ExpectedBest numpy closed form", median_ms(lambda: expected_best_numpy(x, weights, floors))),
        (f"BestOf shapley ({n}, {k})", median_ms(lambda: ss.shapley(ss.BestOf(), rewards))),
    ]
    for name, ms in rows:
        print(f"{name:<42} {ms:9.2f} ms  {ms / base:6.2f}x normalisation")


if __name__ == "__main__":
    main()
