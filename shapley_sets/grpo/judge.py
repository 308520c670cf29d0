"""GRPO advantages when a black box (an LLM judge, a set reward model) values
the sets: candidate credit exact when the budget allows, estimated otherwise,
with the number of judge calls and the estimation error to log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..blackbox.estimate import shapley_estimate
from ..blackbox.set_function import SetFunction
from ._groups import resolve_groups
from .advantages import candidate_advantages, set_advantages

__all__ = ["JudgeCredit", "judge_credit", "judge_candidate_advantages", "judge_completion_advantages"]

RULES = ("shapley", "loo", "banzhaf")


@dataclass(frozen=True)
class JudgeCredit:
    """Per-candidate credit of sets valued by a :class:`~shapley_sets.SetFunction`.

    Attributes:
        set_rewards: (N,) U of each whole set.
        credit: (N, K) the rule's credit (0 for absent candidates).
        stderr: (N, K) its standard error (0 where exact).
        mask: (N, K) present candidates.
        empty_values: (N,) U(∅) (for the Shapley rule: U(N) minus the credit,
            which adds up exactly).
        calls: evaluations of the judge in all (shared coalitions once).
        calls_per_set: (N,) evaluations each set needed on its own.
        rule: ``"shapley"``, ``"loo"`` or ``"banzhaf"``.
    """

    set_rewards: np.ndarray
    credit: np.ndarray
    stderr: np.ndarray
    mask: np.ndarray
    empty_values: np.ndarray
    calls: int
    calls_per_set: np.ndarray
    rule: str

    def metrics(self, prefix: str = "judge/") -> dict:
        """Numbers for a trainer's log: calls, calls per set, mean and largest
        standard error of the present candidates' credit.

        Examples:
            >>> import shapley_sets as ss
            >>> u = ss.SetFunction(lambda ideas: float(len(set(ideas))), empty_value=0.0)
            >>> c = ss.grpo.judge_credit(u, [["a", "b"], ["a", "a"]])
            >>> c.metrics()["judge/calls"], c.metrics()["judge/credit_stderr_max"]
            (4.0, 0.0)
        """
        present = self.stderr[self.mask]
        return {
            f"{prefix}calls": float(self.calls),
            f"{prefix}calls_per_set": float(self.calls_per_set.mean()) if self.calls_per_set.size else 0.0,
            f"{prefix}credit_stderr_mean": float(present.mean()) if present.size else 0.0,
            f"{prefix}credit_stderr_max": float(present.max()) if present.size else 0.0,
        }


def judge_credit(u: SetFunction, sets: Any, *, rule: str = "shapley", budget: int | None = None,
                 seed: Any = None, mask: Any = None) -> JudgeCredit:
    """Credit of every candidate of every set under ``rule``, from the judge ``u``.

    Without ``budget`` the credit is exact: 2^K evaluations per set for
    Shapley and Banzhaf (2^K − 1 with ``empty_value``), K + 1 for
    leave-one-out. With a ``budget``, sets whose exact credit needs more are
    estimated (:func:`shapley_sets.shapley_estimate`, stratified), with
    standard errors; sets it covers stay exact.

    Args:
        u: the :class:`~shapley_sets.SetFunction` that values a set.
        sets: N sets of candidates (a list of lists, ragged allowed, or an
            object array with ``mask``).
        rule: ``"shapley"``, ``"loo"`` or ``"banzhaf"``.
        budget: the most judge evaluations per set; None: exact.
        seed: seeds the estimate.
        mask: optional, as for :func:`shapley_sets.shapley`.

    Returns:
        A :class:`JudgeCredit`.

    Raises:
        TypeError: ``u`` is not a SetFunction.
        ValueError: an unknown rule; ``max_calls`` or ``budget`` too small
            (stating what is needed); the judge's errors.

    Examples:
        >>> import shapley_sets as ss
        >>> u = ss.SetFunction(lambda ideas: float(len({i.split()[0] for i in ideas})), empty_value=0.0)
        >>> c = ss.grpo.judge_credit(u, [["solar roof", "solar farm", "wind farm"]])
        >>> c.credit.tolist(), c.set_rewards.tolist(), c.calls
        ([[0.5, 0.5, 1.0]], [2.0], 7)
    """
    if not isinstance(u, SetFunction):
        raise TypeError(f"u must be a ss.SetFunction, got {type(u).__name__}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    est = shapley_estimate(u, sets, budget=budget if budget is not None else 1 << 62, seed=seed,
                           weights=rule, mask=mask)
    if est.values.ndim != 2:
        raise ValueError(f"sets must be a batch of N sets (2-D candidates), got shape {est.values.shape}")
    from ..blackbox.candidates import parse_candidates

    batch = parse_candidates(sets, mask)
    present = np.zeros(est.values.shape, dtype=bool)
    for s, pos in enumerate(batch.positions):
        present[s, pos] = True
    if u.empty_value is not None:
        empty = np.full(len(est.set_values), u.empty_value)
    elif rule == "shapley":
        empty = est.set_values - est.values.sum(axis=1)
    else:
        empty = np.full(len(est.set_values), np.nan)
    return JudgeCredit(est.set_values, est.values, est.stderr, present, empty, est.total_calls,
                       est.calls, rule)


def judge_candidate_advantages(u: SetFunction, sets: Any, groups: Any, *, budget: int | None = None,
                               seed: Any = None, mask: Any = None, **options: Any) -> tuple:
    """Layout A from a judge: each response is a set of candidates valued by
    ``u``; Shapley credit (exact or estimated) into
    :func:`~shapley_sets.grpo.candidate_advantages`.

    Args:
        u, sets, budget, seed, mask: as for :func:`judge_credit`.
        groups: the responses' prompt groups, as for ``candidate_advantages``.
        **options: ``beta``, ``tau``, ``scale``, ``eps``, ``ddof``, ``singleton``.

    Returns:
        ``(advantages (N, K), JudgeCredit)``; log ``credit.metrics()``.

    Examples:
        >>> import shapley_sets as ss
        >>> u = ss.SetFunction(lambda ideas: float(len(set(ideas))), empty_value=0.0)
        >>> adv, credit = ss.grpo.judge_candidate_advantages(u, [["a", "b"], ["a", "a"]], 2)
        >>> adv.round(3).tolist(), credit.calls
        ([[0.707, 0.707], [-0.707, -0.707]], 4)
    """
    credit = judge_credit(u, sets, rule="shapley", budget=budget, seed=seed, mask=mask)
    adv = candidate_advantages(credit.set_rewards, credit.credit, groups, mask=credit.mask,
                               empty_value=credit.empty_values, **options)
    return adv, credit


def judge_completion_advantages(u: SetFunction, completions: Any, groups: Any, *,
                                budget: int | None = None, seed: Any = None, **options: Any) -> tuple:
    """Layout B from a judge: the completions of a prompt group are the
    candidates of one set, valued by ``u``; completion g of a group of G gets
    ``r_g = G · φ_g + U(∅)`` (Shapley, exact or estimated), normalised within
    the group as :func:`~shapley_sets.grpo.completion_advantages` does.

    Args:
        u, budget, seed: as for :func:`judge_credit`.
        completions: N completions (any objects the judge takes).
        groups: int group size or N labels.
        **options: ``scale``, ``eps``, ``ddof``, ``singleton``.

    Returns:
        ``(advantages (N,), JudgeCredit)`` with one set per group (in order of
        first appearance).

    Examples:
        >>> import shapley_sets as ss
        >>> u = ss.SetFunction(lambda answers: float(len(set(answers))), empty_value=0.0)
        >>> adv, credit = ss.grpo.judge_completion_advantages(u, ["a", "a", "b", "c"], 4)
        >>> adv.round(3).tolist(), credit.calls
        ([-0.866, -0.866, 0.866, 0.866], 11)
    """
    completions = list(completions)
    g = resolve_groups(groups, len(completions))
    order = np.argsort(g.index, kind="stable")
    members = np.split(order, np.cumsum(g.sizes)[:-1]) if len(order) else []
    sets = [[completions[i] for i in idx] for idx in members]
    credit = judge_credit(u, sets, rule="shapley", budget=budget, seed=seed)
    r = np.zeros(len(completions))
    for s, idx in enumerate(members):
        r[idx] = len(idx) * credit.credit[s, : len(idx)] + credit.empty_values[s]
    return set_advantages(r, groups, **options), credit
