"""A judge (a :class:`shapley_sets.SetFunction`) in verl: layout A in the reward path, layout B on
the driver.

``compute_score`` returns the response's candidates as objects the judge
takes (``"candidates"``: the items' texts, say) instead of scores; the
reward manager ``"shapley"`` asks the judge for the coalitions the Shapley
values need (2^K − 1 with a known U(∅)), exact, or estimated within
``algorithm.shapley.judge_budget`` calls per response, and its record
carries the calls and the standard errors, which the trainer modes of
:mod:`shapley_sets.integrations.verl_trainer` log (:func:`judge_metrics`).

The judge comes from ``algorithm.shapley.judge``: an import path
``"package.module:name"`` of a ``SetFunction`` (resolved in the reward
worker, so it works across Ray processes), or the object itself given to
:func:`shapley_sets.integrations.verl.register` in that process. It must
know U(∅) as the estimator does: the record's values add up to U(S) − U(∅),
and ``shapley_grpo`` reads the set reward back as their sum plus
``algorithm.shapley.empty_value``.

In layout B (``shapley_completion``) the trainer modes call
:func:`judged_completion_rewards` on the driver with the step's responses,
one set per uid (the import path then resolves in the driver process).

Needs no verl: the functions here take the options mapping.
"""

from __future__ import annotations

import importlib
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shapley_sets.blackbox.set_function import SetFunction
from shapley_sets.grpo.judge import JudgeCredit, completion_rewards, group_members, judge_credit

__all__ = ["JUDGE_KEYS", "load_judge", "judged_credit", "judged_completion_rewards", "judge_metrics"]

#: The keys of ``algorithm.shapley`` that configure a judge.
JUDGE_KEYS = ("judge", "judge_budget", "judge_seed")


def load_judge(spec: Any) -> SetFunction:
    """The judge named by ``algorithm.shapley.judge``.

    Args:
        spec: a :class:`~shapley_sets.SetFunction`, or ``"module:name"``
            naming one (``name`` may be dotted: an attribute of an attribute).

    Returns:
        The ``SetFunction``.

    Raises:
        ValueError: ``None`` (no judge configured), a path without ``:``, or
            one that does not import.
        TypeError: the object is not a ``SetFunction``.

    Examples:
        >>> load_judge("shapley_sets.integrations.verl_judge:_EXAMPLE_JUDGE")
        SetFunction(<lambda>, empty_value=0.0)
    """
    if spec is None:
        raise ValueError(
            "compute_score returned 'candidates' for a judge, but no judge is configured: set "
            "algorithm.shapley.judge to 'module:name' of a ss.SetFunction (or register(judge=...))"
        )
    if isinstance(spec, str):
        module, sep, name = spec.partition(":")
        if not sep or not module or not name:
            raise ValueError(f"algorithm.shapley.judge must be 'module:name', got {spec!r}")
        try:
            obj: Any = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"algorithm.shapley.judge={spec!r} does not import: {exc}") from None
        spec = obj
    if not isinstance(spec, SetFunction):
        raise TypeError(f"algorithm.shapley.judge must name a ss.SetFunction, got {type(spec).__name__}")
    return spec


def _seed(seed: Any, token_ids: Sequence[int]):
    """A seed for one response: the configured one mixed with the response's tokens, so each response
    draws its own stream, the same in every worker and on every rerun."""
    if seed is None:
        return None
    digest = zlib.crc32(np.asarray(token_ids, dtype=np.int64).tobytes())
    return np.random.SeedSequence([int(seed), digest])


def judged_credit(candidates: Sequence, opts: Mapping, token_ids: Sequence[int], credit: Any = "shapley") -> dict:
    """One response's candidates credited by the configured judge.

    Args:
        candidates: the K candidate objects, in token order.
        opts: the ``algorithm.shapley`` options (``judge``, ``judge_budget``,
            ``judge_seed``, ``empty_value``).
        token_ids: the response's tokens (they key its random stream).
        credit: ``"shapley"`` (the Shapley rule's encoding: the values must
            add up to U(S) − ``empty_value``, so the judge's U(∅) is checked
            against it) or the marginal rule's credit (``"loo"``: K + 1
            calls, ...).

    Returns:
        ``{"phi": K credits, "score": U of the set, "judge_calls": calls,
        "judge_stderr": K standard errors}``.

    Raises:
        ValueError: for the Shapley credit, the judge's U(∅) differs from
            ``empty_value``; a budget too small; the judge's errors (its
            ``max_calls`` included).

    Examples:
        >>> opts = {"judge": _EXAMPLE_JUDGE, "judge_budget": None, "judge_seed": None, "empty_value": 0.0}
        >>> judged_credit(["red", "red", "blue"], opts, [5, 6, 7])
        {'phi': [0.5, 0.5, 1.0], 'score': 2.0, 'judge_calls': 5, 'judge_stderr': [0.0, 0.0, 0.0]}
        >>> judged_credit(["red", "red", "blue"], opts, [5, 6, 7], "loo")["phi"]
        [0.0, 0.0, 1.0]
    """
    judge = load_judge(opts["judge"])
    empty = float(opts["empty_value"])
    shapley = credit == "shapley"
    if shapley and judge.empty_value is not None and judge.empty_value != empty:
        raise ValueError(
            f"the judge's empty_value={judge.empty_value} differs from algorithm.shapley.empty_value={empty}: "
            "shapley_grpo reads the set reward as the sum of the Shapley values plus the latter"
        )
    budget = opts.get("judge_budget")
    judged = judge_credit(judge, [list(candidates)], rule=credit,
                          budget=None if budget is None else int(budget), seed=_seed(opts.get("judge_seed"), token_ids))
    k = len(candidates)
    if shapley and judge.empty_value is None and k and not np.isclose(judged.empty_values[0], empty,
                                                                     rtol=1e-9, atol=1e-12):
        raise ValueError(
            f"the judge valued the empty set at {float(judged.empty_values[0])}, but "
            f"algorithm.shapley.empty_value={empty}; set one to the other (SetFunction(..., empty_value=...))"
        )
    return {
        "phi": [float(v) for v in judged.credit[0, :k]],
        "score": float(judged.set_rewards[0]),
        "judge_calls": int(judged.calls),
        "judge_stderr": [float(v) for v in judged.stderr[0, :k]],
    }


def judged_completion_rewards(completions: Sequence, uids: Sequence, token_ids: Sequence[Sequence[int]],
                              opts: Mapping, credit: Any) -> tuple[np.ndarray, JudgeCredit]:
    """Layout B's per-response rewards from the configured judge: the responses of one uid are
    one set, judged as :func:`shapley_sets.grpo.judge_completion_advantages` judges its groups.

    Args:
        completions: the N objects the judge takes (the responses' texts).
        uids: the N responses' prompt uids.
        token_ids: the N responses' tokens; with ``judge_seed`` they key the batch's
            random stream (the same on every rerun of the same batch).
        opts: the ``algorithm.shapley`` options (``judge``, ``judge_budget``, ``judge_seed``).
        credit: the semivalue (``"loo"``: G + 1 calls per group of G; ``"shapley"``, ...).

    Returns:
        ``(rewards (N,), JudgeCredit)`` as :func:`shapley_sets.grpo.completion_rewards`
        returns them: ``G·φ_g + U(∅)`` under the Shapley credit, the credit itself otherwise.

    Raises:
        ValueError: lengths that disagree; no judge configured; the judge's errors
            (its ``max_calls`` and a ``judge_budget`` too small included, before any call).

    Examples:
        >>> opts = {"judge": _EXAMPLE_JUDGE, "judge_budget": None, "judge_seed": None}
        >>> r, judged = judged_completion_rewards(["a", "a", "b", "c"], ["p", "p", "q", "q"],
        ...                                       [[1], [1], [2], [3]], opts, "loo")
        >>> r.tolist(), judged.calls
        ([0.0, 0.0, 1.0, 1.0], 5)
    """
    n = len(completions)
    if len(uids) != n or len(token_ids) != n:
        raise ValueError(f"one uid and one token list per completion ({n}), got {len(uids)} and {len(token_ids)}")
    if opts.get("judge") is None:
        raise ValueError(
            "shapley_completion judges on the driver only with algorithm.shapley.judge set to 'module:name' "
            "of a ss.SetFunction (or register(judge=...))"
        )
    judge = load_judge(opts["judge"])
    budget = opts.get("judge_budget")
    flat = [t for ids in token_ids for t in ids]
    return completion_rewards(judge, list(completions), group_members(list(uids), n), credit=credit,
                              budget=None if budget is None else int(budget),
                              seed=_seed(opts.get("judge_seed"), flat))


def judge_metrics(records: Sequence[Any], prefix: str = "judge/") -> dict:
    """Numbers for verl's training log from a batch's candidate records:
    judge calls in all, per judged response, and the mean and largest
    standard error of the judged candidates' Shapley values; empty when no
    record came from a judge.

    Args:
        records: the JSON strings (or dicts, or None) of
            :data:`shapley_sets.integrations.verl.CANDIDATES_KEY`.
        prefix: the metrics' prefix.

    Returns:
        A dict of floats.

    Examples:
        >>> m = judge_metrics(['{"phi": [1.0], "ends": [0], "judge_calls": 3, "judge_stderr": [0.5]}',
        ...                    '{"phi": [2.0, 0.0], "ends": [0, 1], "judge_calls": 1, "judge_stderr": [0.0, 0.0]}',
        ...                    None])
        >>> m["judge/calls"], m["judge/calls_per_set"], m["judge/credit_stderr_max"]
        (4.0, 2.0, 0.5)
    """
    judged = []
    for rec in records:
        if isinstance(rec, str):
            if "judge_calls" not in rec:
                continue
            rec = json.loads(rec)
        if isinstance(rec, Mapping) and "judge_calls" in rec:
            judged.append(rec)
    if not judged:
        return {}
    calls = np.array([r["judge_calls"] for r in judged], dtype=np.float64)
    stderr = np.array([v for r in judged for v in r.get("judge_stderr", [])], dtype=np.float64)
    return {
        f"{prefix}calls": float(calls.sum()),
        f"{prefix}calls_per_set": float(calls.mean()),
        f"{prefix}credit_stderr_mean": float(stderr.mean()) if stderr.size else 0.0,
        f"{prefix}credit_stderr_max": float(stderr.max()) if stderr.size else 0.0,
    }


# The judge of the examples above: the number of distinct candidates.
_EXAMPLE_JUDGE = SetFunction(lambda items: float(len(set(items))), empty_value=0.0)
