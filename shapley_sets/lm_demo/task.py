"""A set task of the demo as text: prompts that describe users, named items, a set utility.

The tasks are those of ``shapley-sets demo`` (:func:`shapley_sets.sim.make_task`:
``recommend``, ``code``, ``ideas``). A prompt describes a segment of users, a
mixture over the task's user types (topics for ``ideas``), named by the tastes
it weighs most; a completion lists K items. The set is worth the task's value
for that mixture: ``Σ_u w_u · max_{j∈S} s_{u,j}`` (``recommend``, ``ideas``:
:class:`shapley_sets.ExpectedBest`, the weights folded into the scores so that
one utility object serves every prompt) or ``Σ_u w_u · (1 − Π_{j∈S}(1 − p_{u,j}))``
(``code``: :class:`shapley_sets.ExpectedAnySuccess`). With one prompt
(the default) the segment is the task's own mixture and the problem is the
toy demo's, with a transformer instead of a softmax over the catalog.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import ExpectedAnySuccess, ExpectedBest, value
from ..sim import Problem, best_set, make_task
from .vocab import SEPARATOR, item_names

__all__ = ["TextTask", "make_text_task", "TASTES"]

TASTES = (
    "jazz", "opera", "hiking", "chess", "poetry", "cooking", "sailing", "anime",
    "football", "gardening", "history", "robots", "painting", "cycling", "baking", "travel",
    "cinema", "tennis", "science", "fashion", "music", "camping", "comics", "yoga",
    "theatre", "fishing", "coffee", "games", "dance", "birds", "cars", "wine",
)


@dataclass(frozen=True)
class TextTask:
    """Prompts, item names and the utility of a listed set, per prompt.

    Attributes:
        name: the task's name.
        names: the item names, by item index.
        prompts: one text per prompt (segment).
        scores: ``(P, M, C)`` the input of :attr:`utility` for item j and
            user type u: u's score times the segment's weight of u (kind
            ``"best"``) or u's probability of accepting j (kind ``"any"``).
        weights: ``(P, M)`` each segment's weights of the user types.
        kind: ``"best"`` or ``"any"`` (see the module docstring).
        k: items a completion should list (the set size K).
        optimum: ``(P,)`` the best set's utility per prompt.
        optimum_items: per prompt, a best set (item indices).
        optimum_method: ``"exact"`` (enumeration) or ``"greedy"``.
    """

    name: str
    names: tuple
    prompts: tuple
    scores: np.ndarray
    weights: np.ndarray
    kind: str
    k: int
    optimum: np.ndarray
    optimum_items: tuple
    optimum_method: str

    @property
    def utility(self):
        """One utility for every prompt: ``ExpectedBest`` with unit weights (the
        weights are in :attr:`scores`) or, for ``code``'s single segment,
        ``ExpectedAnySuccess`` with its user types' weights."""
        if self.kind == "best":
            return ExpectedBest(np.ones(self.scores.shape[1]), normalize=False)  # a weighted sum: weights live in scores
        return ExpectedAnySuccess(self.weights[0])

    def inputs(self, prompt: int, items) -> np.ndarray:
        """``(M, len(items))``: the utility input of one listed set; item -1 is worth nothing (zeros)."""
        items = np.asarray(items, dtype=np.intp)
        return np.where(items >= 0, self.scores[prompt][:, items], 0.0)

    def padded(self, prompts, item_lists):
        """The utility input ``(N, M, W)`` of ragged listed sets and their ``(N, W)`` mask.

        ``W`` is the longest list (at least 1); padding and item -1 are zeros.
        """
        n = len(item_lists)
        lengths = np.fromiter(map(len, item_lists), dtype=np.intp, count=n)
        width = max(int(lengths.max(initial=0)), 1)
        mask = np.arange(width)[None, :] < lengths[:, None]
        items = np.full((n, width), -1, dtype=np.intp)
        items[mask] = np.fromiter(itertools.chain.from_iterable(item_lists), dtype=np.intp, count=int(lengths.sum()))
        x = np.moveaxis(self.scores[np.asarray(prompts, dtype=np.intp)[:, None], :, items], -1, 1)
        return np.where((items >= 0)[:, None, :], x, 0.0), mask

    def values(self, prompts, item_lists) -> np.ndarray:
        """``U_p(S)`` of ragged listed sets (an empty set is worth 0, item -1 nothing).

        Examples:
            >>> task = make_text_task("code", n_items=8, n_types=3, k=2)
            >>> best = list(task.optimum_items[0])
            >>> v = task.values([0, 0, 0], [[], best, best + [-1]])
            >>> float(v[0]), bool(np.isclose(v[1], task.optimum[0])), bool(v[1] == v[2])
            (0.0, True, True)
        """
        x, mask = self.padded(prompts, item_lists)
        return value(self.utility, x, mask=mask)

    def uniform_value(self, rng, n: int = 4096) -> np.ndarray:
        """``(P,)`` Monte-Carlo expected utility of K distinct items drawn uniformly."""
        c = len(self.names)
        out = np.empty(len(self.prompts))
        for p in range(len(self.prompts)):
            sets = np.argsort(rng.random((n, c)), axis=1)[:, : self.k]
            out[p] = self.values(np.full(n, p), sets.tolist()).mean()
        return out

    def completion(self, items) -> str:
        """The text of a completion that lists ``items``."""
        return SEPARATOR.join(self.names[j] for j in items)


def make_text_task(task: str = "recommend", *, k: int = 4, n_prompts: int = 1, seed: int = 0,
                   n_items: int | None = None, n_types: int | None = None) -> TextTask:
    """A task of :func:`shapley_sets.sim.make_task` as text.

    Args:
        task: ``"recommend"``, ``"code"`` or ``"ideas"``.
        k: items per completion.
        n_prompts: segments; the first is the problem's own mixture of user
            types, the others reweigh it by a seeded Dirichlet(1) draw
            (``code`` takes one).
        seed: seed of the problem, the names and the segments.
        n_items, n_types: catalog size and user types (topics) of the
            problem; the task's defaults when None.

    Raises:
        ValueError: an unknown task, ``k`` out of range, ``n_prompts`` < 1
            (or > 1 for ``code``), more types than there are taste words.

    Examples:
        >>> task = make_text_task("recommend", n_items=10, n_types=3, k=2, n_prompts=2)
        >>> len(task.names), task.scores.shape, task.prompts[0].startswith("user likes: ")
        (10, (2, 3, 10), True)
    """
    problem = make_task(task, seed, n_items=n_items, n_types=n_types)
    m, c = problem.scores.shape
    if m > len(TASTES):
        raise ValueError(f"at most {len(TASTES)} user types can be described, got {m}")
    if not 1 <= k <= c:
        raise ValueError(f"k must be between 1 and the catalog size {c}, got {k}")
    if n_prompts < 1 or (problem.kind == "any" and n_prompts > 1):
        raise ValueError(f"n_prompts must be at least 1 (exactly 1 for {task!r}), got {n_prompts}")
    rng = np.random.default_rng([seed, 7])
    weight_list = [problem.weights]
    for _ in range(n_prompts - 1):
        w = problem.weights * rng.dirichlet(np.ones(m))
        weight_list.append(w / w.sum())
    prompts, optimum, optimum_items, methods = [], [], [], set()
    for w in weight_list:
        top = np.argsort(-w, kind="stable")[: min(3, m)]
        prompts.append("user likes: " + SEPARATOR.join(TASTES[u] for u in top) + "\n")
        v, items, method = best_set(Problem(problem.scores, w, kind=problem.kind), k)
        optimum.append(v)
        optimum_items.append(tuple(int(j) for j in items))
        methods.add(method)
    if len(set(prompts)) < len(prompts):
        raise ValueError("two segments have the same description; use another seed or fewer prompts")
    weights = np.stack(weight_list)
    if problem.kind == "best":
        scores = weights[:, :, None] * problem.scores[None]
    else:
        scores = np.broadcast_to(problem.scores, (len(weights),) + problem.scores.shape).copy()
    return TextTask(
        name=task, names=tuple(item_names(c, seed=seed)), prompts=tuple(prompts), scores=scores,
        weights=weights, kind=problem.kind, k=k, optimum=np.asarray(optimum),
        optimum_items=tuple(optimum_items), optimum_method="exact" if methods == {"exact"} else "greedy",
    )
