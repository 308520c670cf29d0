"""Exact values of a :class:`SetFunction`, evaluating only the coalitions the
weighting needs.

Shapley, Banzhaf and the Beta family weigh every coalition, so a set of K
present candidates costs 2^K evaluations (2^K − 1 when ``empty_value`` gives
U(∅)); leave-one-out needs only the whole set and the K sets without one
candidate: K + 1. Identical coalitions of different sets are evaluated once.
"""

from __future__ import annotations

import numpy as np

from ..engines.reference import (
    MAX_REFERENCE_K,
    _all_coalitions,
    exact_semivalue_table,
    exact_shapley_table,
)
from ..engines.weights import Weighting, as_weighting
from .candidates import CandidateBatch, parse_candidates
from .set_function import SetFunction

__all__ = ["exact_values", "whole_set_values", "coalitions_needed", "count_calls"]


def _loo_members(n: int) -> np.ndarray:
    """The whole set (row 0) and the set without candidate i (row 1 + i)."""
    members = np.ones((n + 1, n), dtype=bool)
    members[1 + np.arange(n), np.arange(n)] = False
    return members


def coalitions_needed(weighting: Weighting, n: int) -> np.ndarray:
    """The coalitions (bool rows over n present candidates) an exact value needs."""
    if weighting.kind == "loo":
        return _loo_members(n)
    return _all_coalitions(0, 1 << n, n)


def _check_size(batch: CandidateBatch, weighting: Weighting, what: str) -> None:
    if weighting.kind == "loo" or not len(batch.sets):
        return
    n = int(batch.sizes.max())
    if n > MAX_REFERENCE_K:
        s = int(np.argmax(batch.sizes))
        raise ValueError(
            f"{what} enumerates all 2^K coalitions; a set (index {s}) has K = {n} present "
            f"candidates, above the cap of {MAX_REFERENCE_K} (2^{n} = {1 << n:,} evaluations): "
            "use ss.shapley_estimate(u, x, budget=...)"
        )


def exact_values(u: SetFunction, x, mask, weighting: Weighting, what: str) -> np.ndarray:
    """Exact semivalues of ``u`` on the batch ``x`` (see :func:`shapley_sets.semivalue`)."""
    batch = parse_candidates(x, mask)
    _check_size(batch, weighting, what)
    sizes = batch.sizes
    per_set = np.where(sizes > 0, sizes + 1 if weighting.kind == "loo" else 2.0 ** sizes, 0)
    if u.empty_value is not None:
        # U(∅) is given: only the 2^K sweep (and leave-one-out of one candidate) asks for it
        per_set = per_set - ((sizes > 0) & ((weighting.kind != "loo") | (sizes == 1)))
    u._check_bound(per_set, what)
    requests = [coalitions_needed(weighting, int(n)) if n else None for n in sizes]
    values = u._evaluate(batch, requests, what=what)
    phi = [np.zeros(int(n)) for n in sizes]
    if weighting.kind == "loo":
        for s, v in enumerate(values):
            if v is not None:
                phi[s] = v[0] - v[1:]
        return batch.scatter(phi)
    for n in np.unique(sizes):
        if n == 0:
            continue
        group = np.flatnonzero(sizes == n)
        table = np.stack([values[s] for s in group])
        if weighting.is_shapley:
            group_phi = exact_shapley_table(table)
        else:
            weighting.size_weights(int(n))  # checks a caller's weights for this K
            group_phi = exact_semivalue_table(table, weighting)
        for row, idx in zip(group_phi, group):
            phi[idx] = row
    return batch.scatter(phi)


def _one_coalition_each(u: SetFunction, batch, whole: bool, what: str) -> np.ndarray:
    """U of one coalition of each set, its whole set or (``whole`` False) ∅."""
    make = np.ones if whole else np.zeros
    requests = [make((1, int(n)), dtype=bool) for n in batch.sizes]
    values = u._evaluate(batch, requests, what=what)
    return np.array([v[0] for v in values], dtype=np.float64).reshape(batch.batch_shape)


def whole_set_values(u: SetFunction, x, mask) -> np.ndarray:
    """U of each whole set (its present candidates): one evaluation per set."""
    return _one_coalition_each(u, parse_candidates(x, mask), True, "ss.value")


def empty_set_values(u: SetFunction, x, mask) -> np.ndarray:
    """U(∅) of each set: ``u.empty_value`` where given (no call), else one
    evaluation of ``fn([])``, which every set shares."""
    batch = parse_candidates(x, mask)
    if u.empty_value is not None:
        return np.full(batch.batch_shape, float(u.empty_value))
    return _one_coalition_each(u, batch, False, "ss.empty_value")


def count_calls(u: SetFunction, x, mask, weights) -> int:
    """Evaluations the exact ``weights`` (or ``"value"``) on ``x`` would make."""
    batch = parse_candidates(x, mask)
    requests: list[np.ndarray | None]
    if isinstance(weights, str) and weights == "value":
        requests = [np.ones((1, int(n)), dtype=bool) for n in batch.sizes]
    else:
        weighting = as_weighting(weights)
        _check_size(batch, weighting, "the exact value")
        requests = [coalitions_needed(weighting, int(n)) if n else None for n in batch.sizes]
    return int(u._evaluate(batch, requests, what="", dry_run=True))
