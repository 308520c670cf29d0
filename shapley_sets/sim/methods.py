"""Credit rules compared by the demo: who in a sampled set gets which advantage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import grpo
from ..grpo import CreditRule

__all__ = ["Method", "default_methods", "KINDS"]

KINDS = ("grpo", "rule", "wta", "passk")


@dataclass(frozen=True)
class Method:
    """One credit rule of the comparison.

    Attributes:
        kind: ``"grpo"`` (every item of a set gets the set advantage ``A_g``),
            ``"rule"`` (a :class:`shapley_sets.grpo.CreditRule`: the Shapley
            rule of ShapE-GRPO or a marginal-credit rule), ``"wta"``
            (winner-takes-all: the item of the set worth most on its own gets
            the set's reward, the others 0, normalised over the group's
            G·K items) or ``"passk"`` (verl's ``grpo_passk`` over the group's
            sets: only the best set gets ``(r_max − r_second) / std``, all its
            items alike).
        rule: the credit rule (``kind="rule"`` only).
        label: the name shown in the table (default: derived).
        recommended: this is the library's recommended rule.

    Examples:
        >>> Method("rule", grpo.CreditRule("loo", beta=1.0)).name
        'marginal loo b=1'
        >>> Method("grpo").name
        'grpo'
    """

    kind: str
    rule: CreditRule | None = None
    label: str | None = None
    recommended: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "rule") != isinstance(self.rule, CreditRule):
            raise ValueError("a CreditRule is needed exactly when kind='rule'")

    @property
    def name(self) -> str:
        if self.label is not None:
            return self.label
        return self.rule.name if self.kind == "rule" else self.kind

    @property
    def credit(self):
        """The credit the rule needs per item (None: set rewards suffice)."""
        if self.kind == "rule":
            return self.rule.credit
        return "solo" if self.kind == "wta" else None

    def advantages(self, rewards, credits, group_size: int, step: int = 0) -> np.ndarray:
        """Per-item advantages ``(..., G, K)`` from set rewards ``(..., G)``.

        Every leading index is its own group of ``group_size`` sets (one
        prompt of one seed). ``credits`` ``(..., G, K)`` are the per-item
        credits named by :attr:`credit` (for ``"wta"``: each item's value on
        its own, ``U({k})``); ignored when :attr:`credit` is None.
        """
        rewards = np.asarray(rewards, dtype=np.float64)
        lead = rewards.shape
        flat = rewards.reshape(-1)
        c = None if credits is None else np.asarray(credits, dtype=np.float64).reshape(flat.size, -1)
        k = c.shape[1]
        if self.kind == "grpo":
            per = np.repeat(grpo.set_advantages(flat, group_size)[:, None], k, axis=1)
        elif self.kind == "passk":
            per = np.repeat(grpo.grpo_passk_advantages(flat, group_size)[:, None], k, axis=1)
        elif self.kind == "wta":
            winner = c == c.max(axis=1, keepdims=True)
            first = winner & (np.cumsum(winner, axis=1) == 1)  # ties: the first drawn wins
            # the winners' rewards, z-scored over the group's G·K items: the
            # rewards of one group as one flat group of candidates
            cand = np.where(first, flat[:, None], 0.0).reshape(-1, group_size * k)
            per = grpo.set_advantages(cand.ravel(), group_size * k).reshape(flat.size, k)
        else:
            per = self.rule.from_credits(flat, c, group_size, step=step, efficiency_rtol=None)
        return np.asarray(per, dtype=np.float64).reshape(lead + (k,))


def default_methods(recommended: CreditRule = grpo.RECOMMENDED_RULE, beta: float = 1.0) -> list[Method]:
    """The demo's rules, in table order.

    Plain GRPO; ShapE-GRPO (the Shapley rule, β, τ = "within"); the marginal
    rule with leave-one-out and with Banzhaf credit (β); the recommended rule
    (marked; a separate row only when it is none of those, as the default,
    which is gated, is); winner-takes-all; verl's grpo_passk.

    Examples:
        >>> [m.name for m in default_methods()]  # doctest: +NORMALIZE_WHITESPACE
        ['grpo', 'shape-grpo b=1', 'marginal loo b=1', 'marginal banzhaf b=1', 'marginal loo b=1 gate=spread',
         'wta', 'passk']
    """
    rules = [
        Method("rule", CreditRule("shapley", "shapley", beta=beta), label=f"shape-grpo b={beta:g}"),
        Method("rule", CreditRule("loo", beta=beta)),
        Method("rule", CreditRule("banzhaf", beta=beta)),
    ]
    marked = [Method(m.kind, m.rule, m.label, recommended=m.rule == recommended) for m in rules]
    if not any(m.recommended for m in marked):
        marked.append(Method("rule", recommended, recommended=True))
    return [Method("grpo"), *marked, Method("wta"), Method("passk")]
