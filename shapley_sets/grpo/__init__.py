"""What trainers consume: GRPO advantages from set rewards and Shapley values.

See MATH.md §7. Layout A (:func:`candidate_advantages`, then
:func:`token_advantages`): each response is a set of candidates. Layout B
(:func:`completion_advantages`): the completions of a prompt are the
candidates of one set. :func:`set_advantages` is plain GRPO (the β = 0
baseline); :data:`PRESETS` reproduces verl's and TRL's conventions; the peers
:func:`grpo_passk_advantages` and :func:`passk_training_advantages` are the
rules to compare against. Numpy arrays and torch tensors are both accepted;
this package never imports torch.

    >>> import shapley_sets as ss
    >>> ss.grpo.set_advantages([2.0, 0.0], 2, **ss.grpo.PRESETS["verl"]).round(4)
    array([ 0.7071, -0.7071])
"""

from .advantages import (
    PRESETS,
    candidate_advantages,
    completion_advantages,
    set_advantages,
    token_advantages,
)
from .judge import JudgeCredit, judge_candidate_advantages, judge_completion_advantages, judge_credit
from .peers import grpo_passk_advantages, passk_training_advantages

__all__ = [
    "PRESETS",
    "JudgeCredit",
    "candidate_advantages",
    "completion_advantages",
    "grpo_passk_advantages",
    "judge_candidate_advantages",
    "judge_completion_advantages",
    "judge_credit",
    "passk_training_advantages",
    "set_advantages",
    "token_advantages",
]
