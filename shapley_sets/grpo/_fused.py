"""A credit rule's candidate, set and token advantages in one kernel call.

A trainer's step needs all three (:meth:`CreditRule.from_credits`,
:func:`set_advantages`, :func:`token_advantages`). Composed, they are some
thirty small numpy operations and three rounds of checks; in a trainer,
right after the model's forward and backward passes have pushed the
library's code and data out of the CPU caches, each of those costs several
times what it costs in a loop, and together they were most of the library's
share of a small model's step. :func:`rule_token_advantages` does the same
arithmetic, in the same order, in one kernel call; anything that kernel
does not take (``scale="batch"``, tensors, values the composed functions
refuse) goes to the composed functions, so the results and the errors are
theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import response_keep
from ._groups import resolve_groups
from ._kernels import FUSED_OK, GATE_CODES, rule_token_advantages_kernel
from .advantages import _EMPTY_KEEP, _empty_values, set_advantages, token_advantages
from .rules import CreditRule

__all__ = ["rule_token_advantages"]

_TAUS = {"within": 0, "set": 1, "none": 2}


def rule_token_advantages(rule: CreditRule, set_rewards: np.ndarray, credits: np.ndarray, groups: Any,
                          candidate_ids: np.ndarray, response_mask: np.ndarray | None, *, mask: np.ndarray,
                          rows: slice = slice(None), step: int = 0, empty_value: Any = 0.0,
                          **options: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens, candidate, set)`` advantages of ``rule``, as composed by::

        cand = rule.from_credits(set_rewards, credits, groups, mask=mask, step=step,
                                 empty_value=empty_value, efficiency_rtol=None, **options)
        sa = set_advantages(set_rewards, groups, **options)
        tokens = token_advantages(cand[rows], sa[rows], candidate_ids, response_mask,
                                  candidate_mask=mask[rows])

    equal to them bit for bit. ``rows`` selects the responses whose tokens
    ``candidate_ids`` holds (a process's share of a gathered batch); the
    candidate and set advantages are those of every response. numpy inputs
    only: float64 ``set_rewards`` (N,) and ``credits`` (N, K), a bool
    ``mask`` (N, K), int64 ``candidate_ids``.
    """
    options = {"scale": "group", "eps": 1e-6, "ddof": 1, "singleton": "reward", **options}
    fast = _fast(rule, set_rewards, credits, groups, candidate_ids, response_mask, mask, rows, step,
                 empty_value, options)
    if fast is not None:
        return fast
    cand = rule.from_credits(set_rewards, credits, groups, mask=mask, step=step, empty_value=empty_value,
                             efficiency_rtol=None, **options)
    sa = set_advantages(set_rewards, groups, **options)
    tokens = token_advantages(cand[rows], sa[rows], candidate_ids, response_mask, candidate_mask=mask[rows])
    return tokens, cand, sa


def _fast(rule, R, credits, groups, ids, response_mask, mask, rows, step, empty_value, options):
    """The kernel's answer, or None where the composed functions must run."""
    scale, eps, ddof, singleton = (options[k] for k in ("scale", "eps", "ddof", "singleton"))
    plain = (isinstance(a, np.ndarray) for a in (R, credits, mask, ids))
    if not all(plain) or set(options) != {"scale", "eps", "ddof", "singleton"} or scale not in ("group", "none"):
        return None
    n = R.shape[0] if R.ndim == 1 else -1
    if (R.dtype != np.float64 or credits.dtype != np.float64 or credits.ndim != 2 or credits.shape[0] != n
            or mask.dtype != np.bool_ or mask.shape != credits.shape or ids.dtype != np.int64 or ids.ndim != 2
            or singleton not in ("reward", "zero") or ddof not in (0, 1) or isinstance(ddof, bool)
            or not isinstance(eps, float) or not eps > 0 or np.isinf(R).any()):
        return None
    start, stop, stride = rows.indices(n)
    if stride != 1 or stop - start != ids.shape[0]:
        return None
    form_shapley = rule.form == "shapley"
    empty = np.zeros(n)
    if form_shapley:
        try:
            empty = _empty_values(empty_value, n)
        except (TypeError, ValueError):
            return None  # the composed path raises it
    keep, has_keep = _EMPTY_KEEP, response_mask is not None
    if has_keep:
        if not isinstance(response_mask, np.ndarray) or response_mask.shape != ids.shape:
            return None
        # the composed path's rule and message for a mask value other than 0/1
        keep = response_keep(response_mask)
    g = resolve_groups(groups, n)
    beta = rule.beta_at(step)
    cand, sa = np.empty(credits.shape), np.empty(n)
    tokens = np.empty(ids.shape)
    code = rule_token_advantages_kernel(
        np.ascontiguousarray(R), np.ascontiguousarray(credits), np.ascontiguousarray(mask), g.index, g.n_groups,
        form_shapley, GATE_CODES[rule.gate], _TAUS[rule.tau], beta, scale == "group", eps, ddof,
        singleton == "reward", np.ascontiguousarray(empty), start, np.ascontiguousarray(ids), keep, has_keep,
        cand, sa, tokens,
    )
    return (tokens, cand, sa) if code == FUSED_OK else None
