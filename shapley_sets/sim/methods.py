"""Credit rules compared by the demo: who in a sampled set gets which advantage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import grpo
from .._typing import Tau

__all__ = ["Method", "default_methods"]


@dataclass(frozen=True)
class Method:
    """One credit rule.

    Attributes:
        kind: ``"grpo"`` (every candidate of a set gets the set advantage
            ``A_g``), ``"shape"`` (ShapE-GRPO layout A, docs/math.md#layout-a-candidates-inside-one-response) or
            ``"passk"`` (verl's ``grpo_passk`` over the group's sets, by
            :func:`shapley_sets.grpo.grpo_passk_advantages`: only the best set
            of the group gets ``(r_max − r_second) / std``; every candidate
            of a set gets its set's advantage).
        beta: weight of the within-set Shapley term (``"shape"`` only).
        tau: scale of the within-set term, ``"within"``, ``"set"`` or ``"none"``.

    Examples:
        >>> Method("shape", beta=1.0, tau="within").name
        'shape b=1 tau=within'
    """

    kind: str
    beta: float = 0.0
    tau: Tau = "within"

    def __post_init__(self):
        if self.kind not in ("grpo", "shape", "passk"):
            raise ValueError(f"kind must be 'grpo', 'shape' or 'passk', got {self.kind!r}")

    @property
    def name(self) -> str:
        if self.kind == "shape":
            return f"shape b={self.beta:g} tau={self.tau}"
        return self.kind

    @property
    def needs_shapley(self) -> bool:
        return self.kind == "shape"

    def advantages(self, rewards: np.ndarray, phi, group_size: int) -> np.ndarray:
        """Per-candidate advantages ``(..., G, K)`` from set rewards ``(..., G)``.

        Every leading index is its own group of ``group_size`` sets (one
        prompt of one seed). ``phi`` is ``(..., G, K)`` (ignored unless
        :attr:`needs_shapley`).
        """
        rewards = np.asarray(rewards, dtype=np.float64)
        k = phi.shape[-1]
        flat = rewards.reshape(-1)
        if self.kind == "grpo":
            a = grpo.set_advantages(flat, group_size)
            per_set = np.broadcast_to(a[:, None], (flat.size, k))
        elif self.kind == "passk":
            a = grpo.grpo_passk_advantages(flat, group_size)
            per_set = np.broadcast_to(a[:, None], (flat.size, k))
        else:
            per_set = grpo.candidate_advantages(
                flat, np.asarray(phi).reshape(-1, k), group_size, beta=self.beta, tau=self.tau
            )
        return np.asarray(per_set, dtype=np.float64).reshape(rewards.shape + (k,))


def default_methods(betas=(0.5, 1.0, 2.0), taus=("within", "set")) -> list[Method]:
    """Plain GRPO, ShapE-GRPO for every (β, τ), then verl's grpo_passk.

    Examples:
        >>> [m.name for m in default_methods(betas=(1.0,), taus=("within",))]
        ['grpo', 'shape b=1 tau=within', 'passk']
    """
    methods = [Method("grpo")]
    methods += [Method("shape", beta=float(b), tau=t) for t in taus for b in betas]
    methods.append(Method("passk"))
    return methods
