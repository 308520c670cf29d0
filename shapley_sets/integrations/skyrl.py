"""SkyRL integration: candidate-level advantages from SkyRL's advantage-estimator registry.

SkyRL's trainer calls the estimator named by
``trainer.algorithm.advantage_estimator`` from its registry
(``AdvantageEstimatorRegistry`` in ``skyrl.backends.skyrl_train.utils.ppo_utils``,
skyrl 0.3) as ``fn(token_level_rewards=..., response_mask=..., index=uids,
grpo_norm_by_std=..., config=..., ...)``, with the per-token rewards its
generator returned and nothing else per sample. So, as with verl, each
response's candidates travel inside its per-token rewards, in the layout-A
encoding of :mod:`shapley_sets.integrations.token_rewards`:
:func:`response_token_rewards` writes one response's list (the generator's
``"rewards"`` entry for it), and the estimator that :func:`register` adds
reads them back and returns the candidates' advantages on their tokens.

The estimator applies one :class:`~shapley_sets.grpo.CreditRule`, by default
:data:`~shapley_sets.grpo.RECOMMENDED_RULE`; :func:`response_token_rewards`
must be given the same rule, whose form decides the encoding (see there).
``grpo_norm_by_std`` picks ``scale="group"`` or ``"none"``; ε is SkyRL's
1e-6; a prompt with one response gets SkyRL's mean 0, std 1.

Examples:
    >>> import numpy as np, torch, shapley_sets as ss
    >>> import shapley_sets.integrations.skyrl as sk
    >>> u, x = ss.BestOf(), np.array([[0.9, 0.2], [0.4, 0.1]])   # two responses of one prompt, 2 candidates each
    >>> ids = [[0, 0, 1, -1], [0, 1, 1, -1]]                      # their tokens' candidates (the last: EOS)
    >>> rule = ss.grpo.RECOMMENDED_RULE
    >>> credits, rewards = rule.credits(u, x), ss.value(u, x)
    >>> per_token = [sk.response_token_rewards(credits[i], ids[i], set_reward=rewards[i]) for i in range(2)]
    >>> [round(v, 6) for v in per_token[0]]  # response 0's "rewards": c_0 and c_1 on their last tokens, R - Σc
    [0.0, 0.7, -0.0, 0.2]
    >>> estimator = sk.ShapleyEstimator(rule)
    >>> adv, _ = estimator(token_level_rewards=torch.tensor(per_token), response_mask=torch.ones(2, 4),
    ...                    index=["p0", "p0"])
    >>> adv
    tensor([[ 1.4072,  1.4072,  0.3182,  0.7071],
            [-0.6293, -1.0960, -1.0960, -0.7071]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skyrl.backends.skyrl_train.utils.ppo_utils import AdvantageEstimatorRegistry

from shapley_sets._scalars import check_int, check_real
from shapley_sets._typing import ArrayIn
from shapley_sets.adapters.arrays import to_numpy
from shapley_sets.grpo import PRESETS, RECOMMENDED_RULE, CreditRule
from shapley_sets.grpo._checks import check_options
from shapley_sets.grpo._groups import resolve_groups

from .token_rewards import _as_marks, _check_index, encode_token_rewards, layout_a_advantages

__all__ = ["ShapleyEstimator", "register", "response_token_rewards", "ESTIMATOR"]

#: The name :func:`register` uses unless told otherwise.
ESTIMATOR = "shapley_grpo"


class ShapleyEstimator:
    """A SkyRL advantage estimator: the candidate advantages of ``rule`` from
    per-token rewards in the layout-A encoding.

    Args:
        rule: the credit rule (default
            :data:`~shapley_sets.grpo.RECOMMENDED_RULE`); its ``beta`` may be a
            schedule of the training step.
        empty_value: U(∅) of the set utility, for the Shapley form only (the
            set reward is Σφ + U(∅)).
        step_offset: the training step of the first call (set it when
            resuming): SkyRL passes no step to an estimator, so the step is
            this plus the number of earlier calls, one per training step.

    Calling it with SkyRL's keywords returns ``(advantages, returns)``, both
    the same (N, T) float32 tensor on the rewards' device, zero off the
    response mask. It is a plain picklable object, so SkyRL's registry can
    hand it to other Ray processes with its rule.

    Raises:
        TypeError: ``rule`` is not a CreditRule.
        ValueError: (when called) no ``index``, a non-finite reward on a
            response token, a ``response_mask`` value other than 0/1, a
            config with ``use_kl_in_reward`` set.

    Examples:
        >>> import torch, shapley_sets as ss
        >>> from shapley_sets.integrations.skyrl import ShapleyEstimator, response_token_rewards
        >>> shapley = ss.grpo.CreditRule("shapley", "shapley")
        >>> rewards = torch.tensor([response_token_rewards([0.6, 0.2], [0, 0, 1], rule=shapley),
        ...                         response_token_rewards([0.1, 0.0], [0, 1, -1], rule=shapley)])
        >>> ShapleyEstimator(shapley)(token_level_rewards=rewards, response_mask=torch.ones(2, 3),
        ...                           index=["a", "a"])[0]
        tensor([[ 1.8953,  1.8953, -0.4811],
                [-0.4101, -1.0041, -0.7071]])
    """

    def __init__(self, rule: CreditRule = RECOMMENDED_RULE, *, empty_value: float = 0.0, step_offset: int = 0):
        if not isinstance(rule, CreditRule):
            raise TypeError(f"rule must be a ss.grpo.CreditRule, got {type(rule).__name__}")
        self.rule = rule
        self.empty_value = check_real("empty_value", empty_value)
        self.step_offset = check_int("step_offset", step_offset, minimum=0)
        self.calls = 0

    def __repr__(self) -> str:
        return f"ShapleyEstimator({self.rule.name!r}, empty_value={self.empty_value:g})"

    def __call__(self, token_level_rewards: torch.Tensor, response_mask: torch.Tensor, index: Any = None,
                 grpo_norm_by_std: bool = True, epsilon: float = 1e-6, **kwargs: Any) -> tuple:
        config = kwargs.get("config")
        if config is not None and getattr(config, "use_kl_in_reward", False):
            raise ValueError(
                "the Shapley estimator reads candidates from the per-token rewards, which a KL penalty "
                "in the reward (trainer.algorithm.use_kl_in_reward=true) overwrites; use use_kl_loss instead"
            )
        n = token_level_rewards.shape[0]
        _check_index(index, n, "SkyRL's uids")
        groups = resolve_groups(list(index), n, "index")
        scale, eps, ddof, singleton = check_options("group" if grpo_norm_by_std else "none", float(epsilon), 1,
                                                    PRESETS["verl"]["singleton"])
        step = self.step_offset + self.calls
        self.calls += 1
        out = layout_a_advantages(token_level_rewards, response_mask, groups, self.rule, scale=scale, eps=eps,
                                  ddof=ddof, singleton=singleton, empty_value=self.empty_value, step=step)
        return out, out


def register(name: str = ESTIMATOR, rule: CreditRule = RECOMMENDED_RULE, *, empty_value: float = 0.0,
             step_offset: int = 0, replace: bool = False) -> ShapleyEstimator:
    """Add a :class:`ShapleyEstimator` to SkyRL's advantage-estimator registry
    under ``name``; then ``trainer.algorithm.advantage_estimator=<name>``.

    Call it before SkyRL's ``ray.init`` or after it, in the driver: SkyRL's
    registry copies its functions to a Ray actor that other processes read.

    Args:
        name: the registry name.
        rule, empty_value, step_offset: as for :class:`ShapleyEstimator`.
        replace: replace an estimator already registered under ``name``
            (SkyRL refuses a second registration otherwise).

    Returns:
        The registered estimator.

    Raises:
        ValueError: ``name`` taken (without ``replace``), or is one of
            SkyRL's own estimators.

    Examples:
        >>> import shapley_sets.integrations.skyrl as sk
        >>> from skyrl.backends.skyrl_train.utils.ppo_utils import AdvantageEstimatorRegistry
        >>> sk.register("shapley_grpo_doc")
        ShapleyEstimator('marginal loo b=1 gate=spread', empty_value=0)
        >>> "shapley_grpo_doc" in AdvantageEstimatorRegistry.list_available()
        True
        >>> AdvantageEstimatorRegistry.unregister("shapley_grpo_doc")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    if name in ("grpo", "gae", "rloo", "reinforce++", "maxrl"):
        raise ValueError(f"{name!r} is one of SkyRL's own estimators; register under another name")
    estimator = ShapleyEstimator(rule, empty_value=empty_value, step_offset=step_offset)
    if name in AdvantageEstimatorRegistry.list_available():
        if not replace:
            raise ValueError(f"SkyRL already has an advantage estimator {name!r}; pass replace=True to replace it")
        AdvantageEstimatorRegistry.unregister(name)
    AdvantageEstimatorRegistry.register(name, estimator)
    return estimator


def response_token_rewards(credits: ArrayIn, candidate_ids: ArrayIn, *, set_reward: float | None = None,
                           rule: CreditRule = RECOMMENDED_RULE) -> list[float]:
    """One response's per-token rewards (the generator's ``"rewards"`` entry)
    carrying its candidates for :class:`ShapleyEstimator` with ``rule``.

    Args:
        credits: (K,) the candidates' credits under ``rule``
            (``rule.credits(u, x)[i]``; Shapley values for the Shapley form).
        candidate_ids: (T,) ints in [-1, K), the candidate of each response
            token (``ss.grpo.token_candidates``), -1 for none; each
            candidate's tokens one contiguous run, candidates in order.
        set_reward: the set's reward R; needed for the marginal form, which
            puts R − Σc on the response's last token (the last token must
            then belong to no candidate: an end-of-sequence token). The
            Shapley form takes R = Σφ + U(∅) from efficiency and ignores it.
        rule: the estimator's rule, whose form decides the encoding.

    Returns:
        T floats: each candidate's credit on its last token (``-0.0`` for an
        exact 0), 0 elsewhere, and in the marginal form R − Σc on the last
        token; their sum is R − U(∅) in the Shapley form and R in the
        marginal form, so SkyRL's logged rewards stay the set rewards.

    Raises:
        ValueError: shapes, ids out of range or out of order, non-finite
            values; in the marginal form no ``set_reward``, or a candidate
            on the last token.

    Examples:
        >>> response_token_rewards([0.3, 0.0], [0, 1, 1, -1], set_reward=0.5)
        [0.3, 0.0, -0.0, 0.2]
    """
    if not isinstance(rule, CreditRule):
        raise TypeError(f"rule must be a ss.grpo.CreditRule, got {type(rule).__name__}")
    c = np.asarray(to_numpy(credits, "credits"), dtype=np.float64)
    ids = np.asarray(to_numpy(candidate_ids, "candidate_ids"))
    if c.ndim != 1 or ids.ndim != 1:
        raise ValueError(f"credits must have shape (K,) and candidate_ids (T,), got {c.shape} and {ids.shape}")
    row = encode_token_rewards(c[None, :], ids[None, :])[0].numpy()  # checks ids, order and finiteness
    marks = np.flatnonzero((row != 0) | np.signbit(row))  # each present candidate's last token
    out = np.zeros(ids.shape[0])
    out[marks] = c[ids[marks]]
    if rule.form == "marginal":
        if set_reward is None:
            raise ValueError(f"the marginal form ({rule.name}) needs set_reward, the set's reward R")
        reward = check_real("set_reward", set_reward)
        if ids.shape[0] == 0:
            raise ValueError("a response needs at least one token to carry its set reward")
        if ids[-1] >= 0:
            raise ValueError(
                f"candidate {int(ids[-1])} owns the response's last token, which carries R − Σc in the "
                "marginal encoding; end each response with a token of no candidate (its end-of-sequence token)"
            )
        out[-1] = reward - out[marks].sum()
        marks = np.append(marks, ids.shape[0] - 1)
    # SkyRL makes a float32 tensor of the lists: float64 values, each a mark in float32 too
    out[marks] = _as_marks(out[marks])
    return out.tolist()
