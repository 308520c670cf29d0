"""``ss.shapley_estimate``: Shapley values (or any semivalue) from a budget of
coalition evaluations, with standard errors."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._scalars import check_real
from .._validation import check_fits_in_memory, set_label
from ..engines.reference import MAX_REFERENCE_K, exact_semivalue_table, exact_shapley_table
from ..engines.weights import Weighting, as_weighting
from .estimators import (
    _Plan,
    permutation_min_budget,
    permutation_plan,
    stratified_min_budget,
    stratified_plan,
)
from .exact import coalitions_needed
from .games import make_game
from .set_function import SetFunction

__all__ = ["Estimate", "METHODS", "shapley_estimate"]

#: Estimators of :func:`shapley_estimate`, the default first.
METHODS = ("stratified", "permutation")


@dataclass(frozen=True)
class Estimate:
    """What :func:`shapley_estimate` returns.

    Attributes:
        values: float64 ``(..., K)``, the estimates (exactly 0 for absent
            candidates).
        stderr: float64 ``(..., K)``, their standard errors: 0 where the value
            is exact (the budget covered every coalition needed, or the
            candidate is absent); ``inf`` where the sample is too small to
            measure a spread (one antithetic pair).
        dof: float64 ``(..., K)``, the degrees of freedom of each standard
            error (``inf`` where exact), used by :meth:`interval`.
        set_values: float64 ``(...)``, U of each whole set (always evaluated).
        calls: int64 ``(...)``, the evaluations each set used, never more
            than ``budget`` (U(∅) is free when a ``SetFunction`` has
            ``empty_value``).
        total_calls: evaluations made in all; for a ``SetFunction``,
            identical coalitions of different sets count once, so this may be
            less than ``calls.sum()``.
        method: the estimator used.
        weights: the semivalue's name (``"shapley"``, ``"banzhaf"``, ...).

    Examples:
        >>> import numpy as np, shapley_sets as ss
        >>> est = ss.shapley_estimate(ss.BestOf(), np.linspace(0.1, 1.0, 12), budget=200, seed=0)
        >>> bool(est.calls <= 200), est.values.shape
        (True, (12,))
        >>> low, high = est.interval(0.95)
        >>> bool(np.all(low <= high))
        True
    """

    values: np.ndarray
    stderr: np.ndarray
    dof: np.ndarray
    set_values: np.ndarray
    calls: np.ndarray
    total_calls: int
    method: str
    weights: str

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Confidence interval ``values ± t · stderr`` at ``level``, with the
        Student-t quantile of each value's degrees of freedom (normal where
        they are infinite); the interval is the point itself where exact.

        Examples:
            >>> import numpy as np, shapley_sets as ss
            >>> est = ss.shapley_estimate(ss.TopK(2), [3.0, 1.0, 2.0], budget=8)
            >>> [a.round(4).tolist() for a in est.interval()]  # 2^3 = 8 coalitions: exact
            [[2.6667, 0.6667, 1.6667], [2.6667, 0.6667, 1.6667]]
        """
        level = check_real("level", level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        from scipy import stats  # scipy.stats costs ~0.7 s to import: only when used

        t = stats.t.ppf(0.5 + level / 2.0, np.maximum(self.dof, 1.0))
        half = np.where(self.stderr > 0, t * self.stderr, 0.0)
        return self.values - half, self.values + half


def _seeded_streams(seed, n: int) -> list:
    """``n`` independent generators from ``seed``, or an error naming it
    (numpy's own speaks of "entropy")."""
    message = (f"seed must be None, an int >= 0 (or a sequence of them), a SeedSequence or a "
               f"Generator; got {seed!r:.60}")
    if isinstance(seed, bool):
        raise TypeError(message)
    try:
        rng = np.random.default_rng(seed)
    except TypeError:
        raise TypeError(message) from None
    except ValueError:
        raise ValueError(message) from None
    return rng.spawn(n)


def _check_plan_memory(sizes, budget: int, k: int) -> None:
    """Refuse, before drawing anything, a budget whose coalitions cannot fit in
    memory: up to ``budget`` rows of K booleans per set, and one set's draws
    as floats while it is planned (numpy would allocate lazily and the
    system kill the process as the rows fill)."""
    rows = sum(min(budget, 1 << min(int(n), 62)) for n in sizes if n)
    check_fits_in_memory(rows * k + min(budget, rows) * k * 8,
                         f"budget={budget} for {len(sizes)} set(s) of up to {k} candidates (the coalitions to evaluate)",
                         "lower the budget or split the batch")


def _check_budget(budget) -> int:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral):
        raise TypeError(f"budget must be a positive integer (evaluations per set), got {budget!r}")
    if budget < 1:
        raise ValueError(f"budget must be a positive integer (evaluations per set), got {budget}")
    return int(budget)


def _exact_cost(weighting: Weighting, n: int, empty_free: bool) -> int:
    if weighting.kind == "loo":
        return n + 1 - int(empty_free and n == 1)
    if n > MAX_REFERENCE_K:
        return 1 << 62
    return (1 << n) - int(empty_free)


def _exact_plan(weighting: Weighting, n: int) -> _Plan:
    rows = coalitions_needed(weighting, n)

    def finish(v: np.ndarray):
        if weighting.kind == "loo":
            phi = v[0] - v[1:]
        elif weighting.is_shapley:
            phi = exact_shapley_table(v[None, :])[0]
        else:
            phi = exact_semivalue_table(v[None, :], weighting)[0]
        return phi, np.zeros(n), np.full(n, np.inf)

    return _Plan(rows, finish)


def _plan(weighting, method, n, budget, empty_free, rng, where) -> _Plan:
    if _exact_cost(weighting, n, empty_free) <= budget:
        return _exact_plan(weighting, n)
    if weighting.kind == "loo":
        raise ValueError(
            f"leave-one-out is exact at K + 1 = {n + 1} evaluations; {where} has K = {n} "
            f"present candidates and budget={budget}"
        )
    if method == "permutation":
        need = permutation_min_budget(n, empty_free)
        if budget < need:
            raise ValueError(
                f"method='permutation' needs budget >= {need} (one pair of orders) for "
                f"{where} (K = {n}), got {budget}"
            )
        return permutation_plan(n, budget, empty_free, rng)
    p = np.asarray(weighting.size_weights(n), dtype=np.float64)
    need = stratified_min_budget(p, n, empty_free)
    if budget < need:
        raise ValueError(
            f"method='stratified' needs budget >= {need} (U of the whole set and of the "
            f"empty set, and two coalitions of every size) for {where} (K = {n}), got {budget}"
        )
    return stratified_plan(p, n, budget, empty_free, rng)


def shapley_estimate(
    u: Any,
    x: Any,
    *,
    budget: int,
    seed: int | np.random.SeedSequence | np.random.Generator | None = None,
    method: str = "stratified",
    weights: Any = "shapley",
    mask: Any = None,
) -> Estimate:
    """Shapley values (or any semivalue) estimated from at most ``budget``
    utility evaluations per set, with standard errors.

    Exact, with standard error 0, when the budget covers every coalition the
    value needs (2^K, or 2^K − 1 with a known U(∅); K + 1 for leave-one-out).
    Otherwise, with the default ``method="stratified"``: U of the whole and
    the empty set, every coalition of the sizes the budget covers, and random
    coalitions of the other sizes; each evaluated coalition serves every
    candidate, in it and out of it; a surrogate fitted to the evaluations
    (the candidates' memberships, then their pairs and slopes in the
    coalition's size as the budget allows; each draw left out of its own
    fit) removes most of the variance. The estimate is unbiased, and for the Shapley value it is
    efficient: the values add up to U(N) − U(∅) exactly. ``"permutation"``
    (Shapley only) samples random orders, each with its reverse; each
    candidate's spread over the pairs is moderated towards the set's mean
    spread (an empirical-Bayes variance), so its intervals hold their level
    over a set's candidates rather than for each one.

    Args:
        u: any utility: a :class:`SetFunction` (``x`` a batch of sets of
            candidates) or a structured one such as ``ss.BestOf()`` (``x``
            scores).
        x: the utility's input, as for :func:`shapley_sets.shapley`.
        budget: the most utility evaluations per set.
        seed: seeds the draws (an int, a ``SeedSequence`` or a ``Generator``);
            the same seed gives the same estimate. Each set draws from its own
            child stream, so a set's estimate depends on the seed and its index.
        method: ``"stratified"`` (default) or ``"permutation"``.
        weights: the semivalue, as for :func:`shapley_sets.semivalue`:
            ``"shapley"`` (default), ``"banzhaf"``, ``"loo"`` (exact at
            K + 1 evaluations), ``("beta", α, β)``, or size weights.
        mask: optional bool array broadcastable to ``(..., K)``.

    Returns:
        An :class:`Estimate` with ``values``, ``stderr`` (shaped like the
        candidates), ``calls`` (per set) and ``total_calls``.

    Raises:
        TypeError: a wrong type of ``budget``, ``method``, ``seed`` or input.
        ValueError: a negative ``seed``; ``budget`` below what the method needs for some set
            (naming the set and the minimum), ``"permutation"`` with a weighting
            other than Shapley, an unknown method, or the errors of the
            utility's input and of a :class:`SetFunction`'s ``fn``.

    Examples:
        >>> import numpy as np, shapley_sets as ss
        >>> x = np.random.default_rng(0).random((2, 16))
        >>> est = ss.shapley_estimate(ss.BestOf(), x, budget=320, seed=1)
        >>> est.calls.tolist()  # draws may repeat a coalition: it is evaluated once
        [315, 315]
        >>> bool(np.all(np.abs(est.values - ss.shapley(ss.BestOf(), x)) < 5 * est.stderr + 1e-12))
        True
        >>> bool(np.allclose(est.values.sum(-1), x.max(-1)))  # efficient
        True
    """
    budget = _check_budget(budget)
    if not isinstance(method, str):
        raise TypeError(f"method must be one of {METHODS}, got {method!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    weighting = as_weighting(weights)
    if method == "permutation" and not weighting.is_shapley:
        raise ValueError(
            f"method='permutation' estimates Shapley values only; use method='stratified' "
            f"for {weighting.name}"
        )
    game = make_game(u, x, mask)
    _check_plan_memory(game.sizes, budget, game.k)
    streams = _seeded_streams(seed, len(game.sizes))
    plans = []
    for s, n in enumerate(game.sizes):
        where = set_label(game.batch_shape, s)
        plans.append(None if n == 0 else _plan(weighting, method, int(n), budget, game.empty_free,
                                               streams[s], where))
    no_set = None if game.empty_free else np.zeros((1, game.k), dtype=bool)[:, :0]
    requests = [no_set if plan is None else plan.members for plan in plans]
    values = game.values(requests, f"ss.shapley_estimate (budget={budget})")
    phi, se, dof, calls = [], [], [], np.zeros(len(plans), dtype=np.int64)
    whole = np.full(len(plans), u.empty_value if game.empty_free else 0.0)
    for s, plan in enumerate(plans):
        if plan is None:
            if requests[s] is not None:  # no candidate present: U(∅) is U of the set
                whole[s] = values[s][0]
                calls[s] = 1
            phi.append(np.zeros(0))
            se.append(np.zeros(0))
            dof.append(np.zeros(0))
            continue
        est, err, nu = plan.finish(values[s])
        whole[s] = values[s][int(np.flatnonzero(plan.members.all(axis=1))[0])]
        phi.append(est)
        se.append(err)
        dof.append(nu)
        has_empty = bool((~plan.members.any(axis=1)).any())
        calls[s] = len(plan.members) - int(game.empty_free and has_empty)
    dofs = game.scatter(dof)  # absent candidates: 0 here, exact (inf) below
    return Estimate(
        values=game.scatter(phi),
        stderr=game.scatter(se),
        dof=np.where(dofs > 0, dofs, np.inf),
        set_values=whole.reshape(game.batch_shape),
        calls=calls.reshape(game.batch_shape),
        total_calls=u.last_calls if isinstance(u, SetFunction) else int(calls.sum()),
        method=method,
        weights=weighting.name,
    )
