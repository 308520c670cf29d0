"""The demo's three tasks, after the three settings of set-level RL.

- ``recommend``: recommend K items to a user of an unknown type; each type
  likes a few items of the catalog (sparse tastes) and keeps its favourite of
  the set: the expected best utility.
- ``code``: propose K programs for a task; a sampled user type (a hidden
  test) accepts each program independently with its probability, and the
  set succeeds if any program is accepted: an expected any-success utility.
  A few generalist programs pass every test with a moderate probability;
  specialists pass one test type with a high one.
- ``ideas``: propose K ideas; each idea belongs to a few topics and the set
  is worth the total weight of the topics it covers: coverage, which is the
  expected best utility over 0/1 memberships (its exact Shapley value splits
  each topic's weight equally among the ideas covering it).

Every generator is seeded and hard by construction: a uniformly random set
is worth well under half the best set (the demo prints the figure).
"""

from __future__ import annotations

import numpy as np

from .problem import Problem

__all__ = ["TASKS", "TASK_DEFAULTS", "make_task"]

TASKS = ("recommend", "code", "ideas")

#: Catalog size, number of user types (topics for ``ideas``) and set size K of each task's default problem.
TASK_DEFAULTS = {
    "recommend": {"n_items": 80, "n_types": 8, "k": 4},
    "code": {"n_items": 80, "n_types": 8, "k": 4},
    "ideas": {"n_items": 80, "n_types": 24, "k": 4},
}


def _recommend(rng, n_items, n_types):
    scores = rng.uniform(0.0, 0.1, size=(n_types, n_items))
    liked = max(2, n_items // 16)
    for u in range(n_types):
        items = rng.choice(n_items, size=liked, replace=False)
        scores[u, items] = rng.uniform(0.5, 1.0, size=liked)
    return Problem(scores=scores, weights=rng.dirichlet(np.full(n_types, 2.0)), kind="best")


def _code(rng, n_items, n_types):
    p = rng.uniform(0.0, 0.04, size=(n_types, n_items))
    specialists = max(2, n_items // 16)
    for u in range(n_types):
        items = rng.choice(n_items, size=specialists, replace=False)
        p[u, items] = rng.uniform(0.4, 0.9, size=specialists)
    generalists = rng.choice(n_items, size=3, replace=False)
    p[:, generalists] = rng.uniform(0.15, 0.25, size=(n_types, 3))
    return Problem(scores=p, weights=rng.dirichlet(np.full(n_types, 2.0)), kind="any")


def _ideas(rng, n_items, n_topics):
    member = np.zeros((n_topics, n_items))
    # most ideas touch one or two topics, a few touch three
    sizes = rng.choice([1, 2, 3], size=n_items, p=[0.45, 0.4, 0.15])
    for j, s in enumerate(sizes):
        member[rng.choice(n_topics, size=s, replace=False), j] = 1.0
    return Problem(scores=member, weights=rng.dirichlet(np.full(n_topics, 1.0)), kind="best")


_MAKERS = {"recommend": _recommend, "code": _code, "ideas": _ideas}


def make_task(name: str, seed: int = 0, *, n_items: int | None = None, n_types: int | None = None) -> Problem:
    """The seeded problem of task ``name`` (see the module docstring).

    Args:
        name: ``"recommend"``, ``"code"`` or ``"ideas"``.
        seed: seed of ``np.random.default_rng``.
        n_items: catalog size (default :data:`TASK_DEFAULTS`); >= 2.
        n_types: user types, or topics for ``ideas`` (default
            :data:`TASK_DEFAULTS`); >= 1 (>= 3 for ``ideas``).

    Returns:
        a :class:`Problem`.

    Raises:
        ValueError: an unknown task or sizes out of range.

    Examples:
        >>> p = make_task("ideas", seed=1, n_items=10, n_types=5)
        >>> p.scores.shape, p.kind, set(np.unique(p.scores).tolist())
        ((5, 10), 'best', {0.0, 1.0})
    """
    if name not in _MAKERS:
        raise ValueError(f"task must be one of {TASKS}, got {name!r}")
    d = TASK_DEFAULTS[name]
    n_items = d["n_items"] if n_items is None else int(n_items)
    n_types = d["n_types"] if n_types is None else int(n_types)
    if n_items < 2:
        raise ValueError(f"n_items must be at least 2, got {n_items}")
    if n_types < (3 if name == "ideas" else 1):
        raise ValueError(f"n_types must be at least {3 if name == 'ideas' else 1} for {name}, got {n_types}")
    return _MAKERS[name](np.random.default_rng(seed), n_items, n_types)
