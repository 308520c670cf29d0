"""GRPO advantages when a black box (an LLM judge, a set reward model) values
the sets: candidate credit exact when the budget allows, estimated otherwise,
with the number of judge calls and the estimation error to log."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import as_array
from ..blackbox.estimate import shapley_estimate
from ..blackbox.set_function import SetFunction
from ._groups import resolve_groups
from ._semivalues import check_credit
from .advantages import candidate_advantages, set_advantages
from .rules import CreditRule

__all__ = [
    "JudgeCredit",
    "judge_credit",
    "judge_candidate_advantages",
    "judge_completion_advantages",
    "completion_rewards",
    "concat_credits",
]

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
        rule: the credit: ``"shapley"``, ``"loo"``, ``"banzhaf"`` or
            ``("beta", α, β)``.
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


def judge_credit(u: SetFunction, sets: Any, *, rule: Any = "shapley", budget: int | None = None,
                 seed: Any = None, mask: Any = None) -> JudgeCredit:
    """Credit of every candidate of every set under ``rule``, from the judge ``u``.

    Without ``budget`` the credit is exact: 2^K evaluations per set for
    Shapley, Banzhaf and the Beta semivalues (2^K − 1 with ``empty_value``),
    K + 1 for leave-one-out; the judge's ``max_calls`` caps them (an error
    stating the calls needed, before any call). With a ``budget``, sets whose exact credit needs more are
    estimated (:func:`shapley_sets.shapley_estimate`, stratified), with
    standard errors; sets it covers stay exact.

    Args:
        u: the :class:`~shapley_sets.SetFunction` that values a set.
        sets: N sets of candidates (a list of lists, ragged allowed, or an
            object array with ``mask``).
        rule: the credit: ``"shapley"``, ``"loo"``, ``"banzhaf"`` or
            ``("beta", α, β)``, or a :class:`~shapley_sets.grpo.CreditRule`,
            whose ``credit`` is taken.
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
        >>> ss.grpo.judge_credit(u, [["solar roof", "solar farm", "wind farm"]], rule=ss.grpo.RECOMMENDED_RULE).credit.tolist()
        [[0.0, 0.0, 1.0]]
    """
    if not isinstance(u, SetFunction):
        raise TypeError(f"u must be a ss.SetFunction, got {type(u).__name__}")
    if isinstance(rule, CreditRule):
        rule = rule.credit
    try:
        rule = check_credit(rule)
    except ValueError:
        raise ValueError(f"rule must be one of {RULES} or ('beta', alpha, beta), got {rule!r}") from None
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
                                budget: int | None = None, seed: Any = None, credit: Any = "shapley",
                                **options: Any) -> tuple:
    """Layout B from a judge: the completions of a prompt group are the
    candidates of one set, valued by ``u``; completion g of a group of G gets
    ``r_g = G · φ_g + U(∅)`` (Shapley, exact or estimated), or with another
    ``credit`` its credit itself (``U(group) − U(group ∖ g)`` for ``"loo"``:
    G + 1 calls per group), normalised within the group as
    :func:`~shapley_sets.grpo.completion_advantages` does.

    Args:
        u, budget, seed: as for :func:`judge_credit`.
        completions: N completions (any objects the judge takes).
        groups: int group size or N labels.
        credit: the semivalue, as ``rule`` of :func:`judge_credit`.
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
        >>> adv, credit = ss.grpo.judge_completion_advantages(u, ["a", "a", "b", "c"], 4, credit="loo")
        >>> adv.round(3).tolist(), credit.calls
        ([-0.866, -0.866, 0.866, 0.866], 4)
    """
    completions = list(completions)
    members = group_members(groups, len(completions))
    r, judged = completion_rewards(u, completions, members, credit=credit, budget=budget, seed=seed)
    return set_advantages(r, groups, **options), judged


def group_members(groups: Any, n: int) -> list[np.ndarray]:
    """The indices of each group's members, groups in order of first appearance (the sets
    :func:`judge_completion_advantages` judges; a trainer that writes layout B's rewards itself
    judges the same sets through this).

    Examples:
        >>> [m.tolist() for m in group_members(["b", "a", "b"], 3)]
        [[0, 2], [1]]
    """
    g = resolve_groups(groups, n)
    order = np.argsort(g.index, kind="stable")
    return np.split(order, np.cumsum(g.sizes)[:-1]) if len(order) else []


def completion_rewards(u: SetFunction, completions: Sequence, members: Sequence, *, credit: Any = "shapley",
                       budget: int | None = None, seed: Any = None) -> tuple[np.ndarray, JudgeCredit]:
    """Per-completion rewards of layout B from a judge, before the group normalisation.

    Set s holds the completions ``members[s]`` (indices into
    ``completions``). Completion g of a set of G gets ``G · φ_g + U(∅)``
    under the Shapley credit (the set's mean is then U of the set) and its
    credit itself under any other; completions in no set get NaN, which
    :func:`~shapley_sets.grpo.set_advantages` turns into advantage 0.

    Args:
        u: the judge, a :class:`~shapley_sets.SetFunction`.
        completions: the N candidate objects.
        members: one sequence of indices per set.
        credit, budget, seed: as ``rule``, ``budget``, ``seed`` of
            :func:`judge_credit`.

    Returns:
        ``(rewards (N,), JudgeCredit)``, one set of the credit per member list.

    Examples:
        >>> import shapley_sets as ss
        >>> u = ss.SetFunction(lambda answers: float(len(set(answers))), empty_value=0.0)
        >>> r, credit = ss.grpo.completion_rewards(u, ["a", "a", "b", "x"], [[0, 1, 2]])
        >>> r.tolist(), credit.set_rewards.tolist()
        ([1.5, 1.5, 3.0, nan], [2.0])
        >>> ss.grpo.completion_rewards(u, ["a", "a", "b"], [[0, 1, 2]], credit="loo")[0].tolist()
        [0.0, 0.0, 1.0]
    """
    members = _member_indices(members, len(completions))
    judged = judge_credit(u, [[completions[i] for i in idx] for idx in members], rule=credit,
                          budget=budget, seed=seed)
    r = np.full(len(completions), np.nan)
    for s, idx in enumerate(members):
        c = judged.credit[s, : len(idx)]
        r[idx] = len(idx) * c + judged.empty_values[s] if judged.rule == "shapley" else c
    return r, judged


def _member_indices(members, n: int) -> list[np.ndarray]:
    """``members`` as int arrays, checked: indices of the n completions, each
    in one set at most (a completion is one set's candidate)."""
    if isinstance(members, np.ndarray) and members.ndim == 2:  # one row of indices per set
        members = list(members)
    if isinstance(members, (str, bytes)) or not isinstance(members, Sequence):
        raise TypeError(f"members must be a sequence of index lists, one per set, got {type(members).__name__}")
    owner = np.full(n, -1, dtype=np.intp)
    out = []
    for s, idx in enumerate(members):
        arr = as_array(idx, f"members[{s}]", what="it is not a flat list", fix="give one flat list of indices per set")
        if arr.ndim > 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise TypeError(f"members[{s}] must be a flat list of integer indices into completions, "
                            f"got {arr.dtype} of shape {arr.shape}")
        arr = arr.astype(np.intp).reshape(-1)
        outside = (arr < 0) | (arr >= n)
        if outside.any():
            raise ValueError(f"members[{s}] holds index {int(arr[outside][0])}, outside 0..{n - 1} "
                             f"(there are {n} completions)")
        for i in arr.tolist():
            if owner[i] >= 0:
                where = "twice" if owner[i] == s else f"and in members[{int(owner[i])}]"
                raise ValueError(f"members[{s}] holds completion {i} {where}; a completion is one set's "
                                 "candidate once")
            owner[i] = s
        out.append(arr)
    return out


def concat_credits(parts: Sequence[JudgeCredit]) -> JudgeCredit:
    """One :class:`JudgeCredit` of the sets of several, in order (e.g. the
    parts judged on each process of a trainer); calls add up.

    Examples:
        >>> import shapley_sets as ss
        >>> u = ss.SetFunction(lambda c: float(len(c)), empty_value=0.0)
        >>> a, b = ss.grpo.judge_credit(u, [["x"]]), ss.grpo.judge_credit(u, [["y", "z"]])
        >>> both = ss.grpo.concat_credits([a, b])
        >>> both.credit.tolist(), both.calls, both.calls_per_set.tolist()
        ([[1.0, 0.0], [1.0, 1.0]], 4, [1, 3])
    """
    parts = list(parts)
    if not parts:
        raise ValueError("concat_credits needs at least one JudgeCredit")
    wrong = next((i for i, p in enumerate(parts) if not isinstance(p, JudgeCredit)), None)
    if wrong is not None:
        raise TypeError(f"concat_credits takes JudgeCredit objects; parts[{wrong}] has type {type(parts[wrong]).__name__}")
    rules = {str(p.rule) for p in parts}
    if len(rules) != 1:
        raise ValueError(f"concat_credits needs credits of one rule, got {sorted(rules)}")
    width = max(p.credit.shape[1] for p in parts)

    def pad(a, fill):
        return np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=fill) for p in a])

    return JudgeCredit(
        np.concatenate([p.set_rewards for p in parts]),
        pad([p.credit for p in parts], 0.0),
        pad([p.stderr for p in parts], 0.0),
        pad([p.mask for p in parts], False),
        np.concatenate([p.empty_values for p in parts]),
        int(sum(p.calls for p in parts)),
        np.concatenate([p.calls_per_set for p in parts]),
        parts[0].rule,
    )
