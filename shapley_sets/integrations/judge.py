"""A judge's set rewards as a per-completion reward for any GRPO trainer.

Layout B (the G completions of a prompt are the candidates of one set, valued
by a judge that sees them together): completion g's reward is its Shapley
credit scaled to the set, ``r_g = G · φ_g + U(∅)``. A trainer that
normalises rewards within each prompt group, as GRPO does, then produces
exactly :func:`shapley_sets.grpo.judge_completion_advantages`; so this
reward function works with a stock trainer (TRL's ``GRPOTrainer``, verl's
GRPO estimator through a custom reward function), with no change to it.

Needs no framework: it is a plain callable with TRL's reward-function
signature.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..blackbox.set_function import SetFunction
from ..grpo._semivalues import check_credit
from ..grpo.judge import completion_rewards

__all__ = ["JudgeReward"]


class JudgeReward:
    """TRL-style reward function: Shapley credit of each completion among the
    completions of its prompt, from a judge that values sets of completions.

    Completions with the same prompt (compared by ``==``, in order of first
    appearance) form one set, so the whole group must be scored in one call:
    true of TRL on one process; with several processes, pass
    ``group_key=`` a column that identifies the group if TRL splits groups.

    Args:
        judge: a :class:`~shapley_sets.SetFunction` over completions (whatever
            TRL passes as ``completions``: strings or message lists).
        budget: judge calls per group; groups whose exact credit needs more
            (2^G − 1 with ``empty_value``) are estimated. None: exact.
        credit: the semivalue (as :func:`shapley_sets.grpo.judge_credit`'s
            ``rule``): ``"shapley"`` (default) gives ``G · φ_g + U(∅)``;
            another credit gives the credit itself, e.g. ``"loo"``
            (G + 1 calls per group), which GRPO's normalisation turns into
            the marginal rule's completion advantages.
        seed: seeds the estimates; each call draws from the next stream.
        group_key: name of a per-completion keyword column to group by
            instead of the prompt.
        name: the ``__name__`` TRL logs the reward under.

    Attributes:
        last_metrics: after each call, ``{"judge/calls", "judge/calls_per_set",
            "judge/credit_stderr_mean", "judge/credit_stderr_max"}``, ready for
            a logger.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.integrations.judge import JudgeReward
        >>> distinct = ss.SetFunction(lambda answers: float(len(set(answers))), empty_value=0.0)
        >>> reward = JudgeReward(distinct)
        >>> reward(prompts=["p", "p", "p", "q", "q"], completions=["a", "a", "b", "c", "d"])
        [1.5, 1.5, 3.0, 2.0, 2.0]
        >>> reward.last_metrics["judge/calls"]
        8.0
    """

    def __init__(self, judge: SetFunction, *, budget: int | None = None, seed: Any = None,
                 group_key: str | None = None, name: str = "judge_reward", credit: Any = "shapley") -> None:
        if not isinstance(judge, SetFunction):
            raise TypeError(f"judge must be a ss.SetFunction, got {type(judge).__name__}")
        self.judge = judge
        self.budget = budget
        self.credit = check_credit(credit)
        self.group_key = group_key
        self.__name__ = name
        self._seeds = np.random.SeedSequence(seed)
        self.last_metrics: dict = {}

    def __call__(self, prompts: list, completions: list, **kwargs: Any) -> list:
        keys = kwargs[self.group_key] if self.group_key is not None else prompts
        if len(keys) != len(completions):
            raise ValueError(
                f"got {len(completions)} completions but {len(keys)} group keys "
                f"({self.group_key or 'prompts'})"
            )
        groups: list = []
        members: list = []
        for i, key in enumerate(keys):
            for g, known in enumerate(groups):
                if known == key:
                    members[g].append(i)
                    break
            else:
                groups.append(key)
                members.append([i])
        rewards, credit = completion_rewards(self.judge, completions, members, credit=self.credit,
                                             budget=self.budget, seed=self._seeds.spawn(1)[0])
        self.last_metrics = credit.metrics()
        return rewards.tolist()
