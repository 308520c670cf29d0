"""Credit rules end to end: which credit, which form, which β (maybe scheduled).

A :class:`CreditRule` names a per-candidate credit (a semivalue of the set
utility: leave-one-out, Banzhaf, Shapley or a Beta(α, β) semivalue), the form
that turns credits into advantages (:func:`credit_advantages`, the marginal
rule, or :func:`candidate_advantages`, the Shapley rule) and the weight β of
the credit term, a number or a function of the training step.
:data:`RECOMMENDED_RULE` is what the trainer integrations use unless told
otherwise.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

from .._api import semivalue, value
from .._typing import ArrayIn, ArrayOut, GroupsLike, UtilityLike
from ..blackbox.set_function import SetFunction
from ..adapters.arrays import like, to_numpy
from ._checks import check_beta, check_choice
from ._semivalues import check_credit
from .advantages import TAUS, candidate_advantages
from .credit import GATES, credit_advantages

__all__ = ["CreditRule", "LinearSchedule", "RECOMMENDED_RULE", "FORMS", "GATES"]

FORMS = ("marginal", "shapley")
@dataclass(frozen=True)
class LinearSchedule:
    """β that moves linearly from ``start`` to ``end`` over ``steps`` steps, then stays.

    A picklable callable of the training step, for :class:`CreditRule`'s
    ``beta`` (and the verl estimator's ``shapley.rule.beta`` mapping).

    Examples:
        >>> sched = LinearSchedule(1.0, 0.0, 100)
        >>> sched(0), sched(50), sched(100), sched(500)
        (1.0, 0.5, 0.0, 0.0)
    """

    start: float
    end: float
    steps: int

    def __post_init__(self):
        check_beta(self.start)
        check_beta(self.end)
        if isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral) or self.steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {self.steps!r}")

    def __call__(self, step: float) -> float:
        if isinstance(step, bool) or not isinstance(step, numbers.Real):
            raise TypeError(f"step must be a number (the training step), got {type(step).__name__}")
        if not math.isfinite(step):
            raise ValueError(f"step must be finite (the training step), got {step}")
        frac = min(max(float(step), 0.0) / self.steps, 1.0)
        return float(self.start + (self.end - self.start) * frac)


Beta = Union[float, Callable[[int], float]]


@dataclass(frozen=True)
class CreditRule:
    """A credit rule: per-candidate credit, the form of the advantage, and β.

    Attributes:
        credit: ``"loo"`` (leave-one-out ``U(S) − U(S∖k)``), ``"banzhaf"``,
            ``"shapley"`` or ``("beta", α, β)``: which semivalue of the set
            utility each candidate is credited with.
        form: ``"marginal"`` — :func:`credit_advantages`,
            ``A_g + β·z(c)`` with z a z-score over the group's candidates —
            or ``"shapley"`` — :func:`candidate_advantages`,
            ``A_g + β·d/τ`` with ``d = K·φ + U(∅) − R`` (needs
            ``credit="shapley"``).
        beta: weight of the credit term: a number >= 0 or a callable
            ``beta(step) -> float`` (e.g. :class:`LinearSchedule`).
        tau: the Shapley form's scale τ (``"within"``, ``"set"``, ``"none"``).
        gate: the marginal form's gate (:func:`credit_advantages`):
            ``"none"``, ``"spread"`` — the credit term times
            ``σ_R/(σ_R + σ_c)``, 0 in a group whose sets all earn the same
            reward — or ``"sum"`` — the credit term
            ``β·(c − c̄)/(σ_R + σ_c)``, also 0 in such a group.

    Raises:
        ValueError: an unknown credit, form or gate, the Shapley form with
            another credit or a gate, a negative β, an unknown τ.
        TypeError: ``beta`` neither a number nor callable.

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> x = np.array([[0.9, 0.2, 0.8], [0.3, 0.1, 0.2]])
        >>> rule = ss.grpo.CreditRule("loo", "marginal", beta=1.0)
        >>> rule.advantages(ss.BestOf(), x, 2).round(3)
        array([[ 1.998,  0.062,  0.062],
               [ 0.584, -1.353, -1.353]])
        >>> rule.name
        'marginal loo b=1'
        >>> ss.grpo.CreditRule("loo", beta=1.0, gate="spread").name
        'marginal loo b=1 gate=spread'
        >>> ss.grpo.CreditRule("shapley", "shapley", beta=ss.grpo.LinearSchedule(1.0, 0.0, 10)).beta_at(5)
        0.5
    """

    credit: Union[str, tuple] = "loo"
    form: str = "marginal"
    beta: Beta = 1.0
    tau: str = "within"
    gate: str = "none"

    def __post_init__(self):
        object.__setattr__(self, "credit", check_credit(self.credit))
        check_choice(self.form, "form", FORMS)
        check_choice(self.tau, "tau", TAUS)
        check_choice(self.gate, "gate", GATES)
        if self.form == "shapley" and self.gate != "none":
            raise ValueError(f"gate={self.gate!r} serves form='marginal' only; the Shapley form has no gate")
        if self.form == "shapley" and self.credit != "shapley":
            raise ValueError(
                f"form='shapley' (A_g + beta*d/tau, d from efficient Shapley values) needs "
                f"credit='shapley', got {self.credit!r}; use form='marginal' for other credits"
            )
        if callable(self.beta):
            return
        if isinstance(self.beta, bool) or not isinstance(self.beta, numbers.Real):
            raise TypeError(f"beta must be a number or a callable of the step, got {type(self.beta).__name__}")
        object.__setattr__(self, "beta", check_beta(self.beta))

    @property
    def name(self) -> str:
        """A short label, e.g. ``'marginal loo b=1'``."""
        credit = self.credit if isinstance(self.credit, str) else "beta({:g},{:g})".format(*self.credit[1:])
        beta = f"b={self.beta:g}" if not callable(self.beta) else f"b={self.beta!r}"
        if self.form == "shapley":
            return f"shapley-form b={self.beta:g} tau={self.tau}" if not callable(self.beta) else (
                f"shapley-form {beta} tau={self.tau}")
        gate = "" if self.gate == "none" else f" gate={self.gate}"
        return f"marginal {credit} {beta}{gate}"

    def beta_at(self, step: int = 0) -> float:
        """β at training step ``step`` (the number itself when β is constant).

        Raises:
            ValueError: the schedule returned a negative or non-finite β.
        """
        if not callable(self.beta):
            return float(self.beta)
        try:
            return check_beta(self.beta(step))
        except ValueError as exc:
            raise ValueError(f"the beta schedule at step {step}: {exc}") from None

    def credits(self, utility: UtilityLike | SetFunction, x: ArrayIn, *, mask: ArrayIn | None = None) -> np.ndarray:
        """The (N, K) credits this rule gives the candidates of ``x`` (numpy):
        ``ss.semivalue(utility, x, credit, mask=mask)``.

        Examples:
            >>> import numpy as np, shapley_sets as ss
            >>> x = np.array([[0.9, 0.2, 0.8], [0.3, 0.1, 0.2]])
            >>> ss.grpo.CreditRule("loo").credits(ss.BestOf(), x).round(3)  # U(S) - U(S without k)
            array([[0.1, 0. , 0. ],
                   [0.1, 0. , 0. ]])
        """
        return semivalue(utility, to_numpy(x, "x"), self.credit, mask=None if mask is None else to_numpy(mask, "mask"))

    def from_credits(self, set_rewards: ArrayIn, credits: ArrayIn, groups: GroupsLike, *,
                     mask: ArrayIn | None = None, step: int = 0, empty_value: float | ArrayIn = 0.0,
                     efficiency_rtol: float | None = 1e-6, **options: Any) -> ArrayOut:
        """Candidate advantages from set rewards and credits already computed.

        ``options`` are ``scale``, ``eps``, ``ddof``, ``singleton`` (see
        :func:`set_advantages`); ``empty_value`` and ``efficiency_rtol``
        serve the Shapley form only (:func:`candidate_advantages`).

        Examples:
            >>> import numpy as np, shapley_sets as ss
            >>> x = np.array([[0.9, 0.2, 0.8], [0.3, 0.1, 0.2]])
            >>> rule = ss.grpo.CreditRule("loo")
            >>> rewards, credits = ss.value(ss.BestOf(), x), rule.credits(ss.BestOf(), x)
            >>> rule.from_credits(rewards, credits, 2).round(3)  # as rule.advantages(ss.BestOf(), x, 2)
            array([[ 1.998,  0.062,  0.062],
                   [ 0.584, -1.353, -1.353]])
        """
        beta = self.beta_at(step)
        if self.form == "shapley":
            return candidate_advantages(
                set_rewards, credits, groups, beta=beta, tau=self.tau, empty_value=empty_value,
                mask=mask, efficiency_rtol=efficiency_rtol, **options,
            )
        return credit_advantages(set_rewards, credits, groups, beta=beta, gate=self.gate, mask=mask, **options)

    def advantages(self, utility: UtilityLike | SetFunction, x: ArrayIn, groups: GroupsLike, *,
                   mask: ArrayIn | None = None, step: int = 0, **options: Any) -> ArrayOut:
        """(N, K) candidate advantages of N sets ``x`` under this rule at ``step``.

        Args:
            utility: the set utility.
            x: (N, K) or (N, M, K) inputs of the N sets (numpy or torch).
            groups: int group size or N labels.
            mask: optional (N, K) bool mask of present candidates.
            step: the training step (read by a β schedule).
            **options: ``scale``, ``eps``, ``ddof``, ``singleton``.

        Returns:
            (N, K) float64 numpy array, or a float32 tensor on ``x``'s device.
        """
        x_np = to_numpy(x, "x")
        m = None if mask is None else to_numpy(mask, "mask")
        rewards = value(utility, x_np, mask=m)
        credits = self.credits(utility, x_np, mask=m)
        empty = value(utility, x_np, mask=np.zeros(x_np.shape[:1] + x_np.shape[-1:], dtype=bool))
        out = self.from_credits(rewards, credits, groups, mask=m, step=step, empty_value=empty, **options)
        return like(out, x, mask)


#: The rule the trainer integrations use unless told otherwise: leave-one-out
#: credit, marginal form, β = 1, the reward-spread gate (see the GRPO guide
#: for the measurements).
RECOMMENDED_RULE = CreditRule("loo", "marginal", beta=1.0, gate="spread")
