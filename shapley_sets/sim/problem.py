"""A set problem: a catalog, user types, the value of a set, credits and the best set."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .. import AnySuccess, ExpectedBest, semivalue

__all__ = ["KINDS", "Problem", "make_problem", "set_utility", "best_set", "BRUTE_FORCE_LIMIT"]

# Above this many K-subsets the optimum comes from greedy (with its bound)
# instead of enumeration; 60 choose 4 = 487,635 is enumerated in well under a second.
BRUTE_FORCE_LIMIT = 3_000_000
_CHUNK = 65_536


KINDS = ("best", "any")


@dataclass(frozen=True)
class Problem:
    """A catalog of items valued by several user types.

    Attributes:
        scores: ``(M, C)``: with ``kind="best"``, the utility of item ``j``
            for user type ``u`` in [0, 1] (0/1 memberships make it a
            coverage problem: type = topic); with ``kind="any"``, the
            probability that type ``u`` accepts item ``j``.
        weights: ``(M,)`` share of each user type (sums to 1).
        kind: ``"best"``: a set is worth ``Σ_u π_u max_{j∈S} s_{u,j}``
            (:class:`shapley_sets.ExpectedBest`); ``"any"``: a sampled user
            type accepts each item independently with its probability and the
            set succeeds if any item is accepted,
            ``Σ_u π_u (1 − Π_{j∈S} (1 − s_{u,j}))`` (a mixture of
            :class:`shapley_sets.AnySuccess`).

    Examples:
        >>> import numpy as np
        >>> p = Problem(scores=np.array([[1.0, 0.0], [0.0, 1.0]]), weights=np.array([0.5, 0.5]))
        >>> p.n_types, p.n_items, p.kind
        (2, 2, 'best')
    """

    scores: np.ndarray
    weights: np.ndarray
    kind: str = "best"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def n_types(self) -> int:
        return self.scores.shape[0]

    @property
    def n_items(self) -> int:
        return self.scores.shape[1]

    def inputs(self, sets) -> np.ndarray:
        """The utility inputs ``(..., M, K)`` of integer item sets ``(..., K)``."""
        return np.moveaxis(self.scores[:, np.asarray(sets, dtype=np.intp)], 0, -2)

    def credits(self, sets, credit) -> np.ndarray:
        """Per-item credits ``(..., K)``: a semivalue (:func:`shapley_sets.semivalue`) of the set value.

        Examples:
            >>> import numpy as np
            >>> p = Problem(np.array([[0.5, 0.5, 0.0]]), np.array([1.0]), kind="any")
            >>> p.credits([[0, 1, 2]], "shapley").tolist()
            [[0.375, 0.375, 0.0]]
        """
        x = self.inputs(sets)
        if self.kind == "best":
            return semivalue(ExpectedBest(self.weights), x, credit)
        # a semivalue is linear in the utility: the mixture's credit is the
        # weighted sum of each type's noisy-or credit
        per_type = semivalue(AnySuccess(), x, credit)  # (..., M, K)
        return np.tensordot(per_type, self.weights, axes=(-2, 0))


def make_problem(n_items: int = 60, n_types: int = 6, seed: int = 0, *, dim: int = 4) -> Problem:
    """A seeded catalog where different user types like different items.

    Items have latent features ``f_j ~ N(0, I_dim)`` and a popularity
    ``p_j ~ N(0, 0.5²)``; user type ``u`` has a random unit taste direction
    ``a_u``, and ``s_{u,j} = sigmoid(2 · a_u·f_j + p_j)``. Taste directions
    differ, so one item rarely pleases every type and the best set of K
    items covers several types; the popularity term adds "safe" items that
    many types like moderately. Type shares ``π ~ Dirichlet(2, …, 2)``.

    Args:
        n_items: catalog size C (≥ 2).
        n_types: number of user types M (≥ 1).
        seed: seed of ``np.random.default_rng``.
        dim: dimension of the latent features.

    Returns:
        a :class:`Problem`.

    Raises:
        ValueError: ``n_items < 2``, ``n_types < 1`` or ``dim < 1``.

    Examples:
        >>> p = make_problem(10, 3, seed=1)
        >>> p.scores.shape, round(float(p.weights.sum()), 12)
        ((3, 10), 1.0)
    """
    if n_items < 2:
        raise ValueError(f"n_items must be at least 2, got {n_items}")
    if n_types < 1:
        raise ValueError(f"n_types must be at least 1, got {n_types}")
    if dim < 1:
        raise ValueError(f"dim must be at least 1, got {dim}")
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_items, dim))
    popularity = 0.5 * rng.standard_normal(n_items)
    taste = rng.standard_normal((n_types, dim))
    taste /= np.linalg.norm(taste, axis=1, keepdims=True)
    scores = 1.0 / (1.0 + np.exp(-(2.0 * taste @ features.T + popularity)))
    weights = rng.dirichlet(np.full(n_types, 2.0))
    return Problem(scores=scores, weights=weights)


def set_utility(problem: Problem, sets) -> np.ndarray:
    """The value ``U(S)`` of item sets (see :class:`Problem` for both kinds).

    Args:
        problem: the :class:`Problem`.
        sets: integer array ``(..., K)`` of item indices (order irrelevant).

    Returns:
        float64 array ``(...)``.

    Examples:
        >>> p = Problem(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.25, 0.75]))
        >>> set_utility(p, [[0], [1]]).tolist(), float(set_utility(p, [0, 1]))
        ([0.25, 0.75], 1.0)
        >>> float(set_utility(Problem(np.array([[0.5, 0.5]]), np.array([1.0]), kind="any"), [0, 1]))
        0.75
    """
    sets = np.asarray(sets, dtype=np.intp)
    picked = problem.scores[:, sets]  # (M, ..., K)
    if problem.kind == "best":
        per_type = picked.max(axis=-1)
    else:
        per_type = -np.expm1(np.log1p(-picked).sum(axis=-1))
    return np.tensordot(problem.weights, per_type, axes=(0, 0))


def best_set(problem: Problem, k: int, *, limit: int = BRUTE_FORCE_LIMIT):
    """The best set of ``k`` items: exact by enumeration, or greedy.

    Enumeration (over the items no other item dominates, which leaves the
    optimum unchanged) is used when ``C(n_items, k) <= limit``. Otherwise the set is
    built greedily; both kinds of utility are monotone submodular, so the
    greedy value is at least ``(1 − 1/e)`` of the optimum (Nemhauser, Wolsey
    and Fisher, 1978) and fractions "of the optimum" are then fractions of
    the greedy value (they may exceed 1).

    Args:
        problem: the :class:`Problem`.
        k: set size, ``1 <= k <= n_items``.
        limit: the largest number of subsets to enumerate.

    Returns:
        ``(value, items, method)`` with ``items`` a sorted int array and
        ``method`` either ``"exact"`` or ``"greedy"``.

    Raises:
        ValueError: ``k`` out of range.

    Examples:
        >>> p = Problem(np.array([[0.9, 0.8, 0.0], [0.0, 0.1, 0.7]]), np.array([0.5, 0.5]))
        >>> value, items, method = best_set(p, 2)
        >>> round(value, 6), items.tolist(), method
        (0.8, [0, 2], 'exact')
    """
    n = problem.n_items
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the catalog size {n}, got {k}")
    if math.comb(n, k) <= limit:
        return _enumerate(problem, k)
    return _greedy(problem, k)


def _undominated(problem) -> np.ndarray:
    """Items no other item dominates (>= for every type, > for one, or equal and earlier).

    Both utilities only grow when an item's scores grow, so some best set
    avoids every dominated item: swap a dominated item for its dominator, or,
    if that is already in the set, for any undominated item outside it.
    """
    s = problem.scores
    ge = (s[:, :, None] >= s[:, None, :]).all(axis=0)  # ge[i, j]: i >= j everywhere
    gt = (s[:, :, None] > s[:, None, :]).any(axis=0)
    earlier = np.arange(problem.n_items)[:, None] < np.arange(problem.n_items)[None, :]
    dominated = (ge & (gt | earlier)).any(axis=0)
    return np.flatnonzero(~dominated)


def _enumerate(problem, k):
    items = _undominated(problem)
    if items.size < k:
        items = np.arange(problem.n_items)
    best_value, best_items = -np.inf, None
    combos = itertools.combinations(items.tolist(), k)
    while True:
        chunk = np.fromiter(itertools.islice(combos, _CHUNK), dtype=np.dtype((np.intp, k)))
        if len(chunk) == 0:
            break
        values = set_utility(problem, chunk)
        i = int(np.argmax(values))
        if values[i] > best_value:
            best_value, best_items = float(values[i]), chunk[i]
    return best_value, np.sort(best_items), "exact"


def _greedy(problem, k):
    chosen: list[int] = []
    current = 0.0
    for _ in range(k):
        rest = np.setdiff1d(np.arange(problem.n_items), chosen)
        values = set_utility(problem, np.column_stack([np.tile(chosen, (rest.size, 1)), rest]).astype(np.intp))
        j = int(np.argmax(values))
        chosen.append(int(rest[j]))
        current = float(values[j])
    return current, np.sort(np.array(chosen, dtype=np.intp)), "greedy"
