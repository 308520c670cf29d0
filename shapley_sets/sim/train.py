"""The training loop: the same policy, seeds and samples for every credit rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .methods import Method
from .policy import Adam, pl_grad, sample_sets
from .problem import Problem, set_utility

__all__ = ["TrainConfig", "train", "expected_utility", "steps_to_fraction"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters shared by every method of one comparison.

    Attributes:
        k: items per set (K).
        group_size: sets sampled per prompt and step (G).
        steps: policy updates.
        lr: Adam learning rate (gradient ascent on the mean per-draw surrogate).
        seeds: one training run per seed; a seed fixes the sampling noise, so
            every method sees the same first group of sets.
        eval_samples: sets sampled per seed after every step to estimate the
            policy's expected utility (the learning curve).
        final_samples: sets sampled per seed to estimate the final utility.

    Examples:
        >>> TrainConfig(steps=5, seeds=(0,)).group_size
        8
    """

    k: int = 4
    group_size: int = 8
    steps: int = 200
    lr: float = 0.1
    seeds: tuple = (0, 1, 2)
    eval_samples: int = 256
    final_samples: int = 4096


def expected_utility(problem: Problem, logits, k: int, rng, n: int) -> float:
    """Monte-Carlo estimate of ``E[U(S)]`` for ``S`` drawn from the policy.

    Examples:
        >>> import numpy as np
        >>> from shapley_sets.sim import make_problem
        >>> problem = make_problem(n_items=10, n_types=3)
        >>> e = expected_utility(problem, np.zeros(10), 3, np.random.default_rng(0), 1000)
        >>> 0.0 < e <= 1.0
        True
    """
    return float(set_utility(problem, sample_sets(logits, k, rng, n)).mean())


def steps_to_fraction(curve, target: float):
    """First index where ``curve >= target``, or ``None`` if never.

    Examples:
        >>> steps_to_fraction([0.1, 0.5, 0.95, 0.8], 0.9), steps_to_fraction([0.1], 0.9)
        (2, None)
    """
    hit = np.flatnonzero(np.asarray(curve) >= target)
    return int(hit[0]) if hit.size else None


def train(problem: Problem, method: Method, config: TrainConfig, progress=None) -> dict:
    """Train one policy per seed with ``method``'s credit rule.

    The policy is a softmax over the catalog (logits start at 0) that draws
    K distinct items by Plackett–Luce. Each step samples G sets per seed,
    scores them with the problem's set utility, turns the rewards into
    per-candidate advantages, and takes one Adam step on
    ``mean_{g,k} A_{g,k} · log π(item_{g,k} | items drawn before it)``.

    Args:
        problem: the catalog and user types.
        method: the credit rule.
        config: shared hyper-parameters.
        progress: optional callable ``progress(step)`` called after each step.

    Returns:
        dict with ``curves`` ``(seeds, steps + 1)`` (estimated expected
        utility after each number of steps) and ``final`` ``(seeds,)``.

    Examples:
        >>> from shapley_sets.grpo import RECOMMENDED_RULE
        >>> from shapley_sets.sim import Method, make_task
        >>> config = TrainConfig(k=3, group_size=4, steps=5, seeds=(0, 1), eval_samples=32, final_samples=64)
        >>> out = train(make_task("code", n_items=10, n_types=3), Method("rule", RECOMMENDED_RULE), config)
        >>> out["curves"].shape, out["final"].shape
        ((2, 6), (2,))
    """
    k, g = config.k, config.group_size
    seeds = list(config.seeds)
    n_seeds = len(seeds)
    # one stream per seed and purpose, so a seed's run does not depend on the others
    train_rngs = [np.random.default_rng([seed, 0]) for seed in seeds]
    eval_rngs = [np.random.default_rng([seed, 1]) for seed in seeds]
    theta = np.zeros((n_seeds, problem.n_items))
    opt = Adam(config.lr)
    curves = np.empty((n_seeds, config.steps + 1))
    for t in range(config.steps + 1):
        curves[:, t] = _expected_utilities(problem, theta, k, eval_rngs, config.eval_samples)
        if t == config.steps:
            break
        sets = np.stack([sample_sets(theta[s], k, train_rngs[s], g) for s in range(n_seeds)])
        rewards = set_utility(problem, sets)  # (S, G)
        if method.credit is None:
            credits = np.zeros(sets.shape)
        elif method.credit == "solo":
            credits = set_utility(problem, sets[..., None])  # U({k}) of every item
        else:
            credits = problem.credits(sets, method.credit)
        adv = method.advantages(rewards, credits, g, step=t)
        grad = pl_grad(theta, sets, adv) / (g * k)
        theta = opt.step(theta, grad)
        if progress is not None:
            progress(t + 1)
    final_rngs = [np.random.default_rng([seed, 2]) for seed in seeds]
    final = _expected_utilities(problem, theta, k, final_rngs, config.final_samples)
    return {"curves": curves, "final": final, "logits": theta}


def _expected_utilities(problem, theta, k, rngs, n) -> np.ndarray:
    """:func:`expected_utility` of every seed's policy, in one utility call."""
    sets = np.stack([sample_sets(theta[s], k, rngs[s], n) for s in range(len(rngs))])
    return set_utility(problem, sets).mean(axis=-1)
