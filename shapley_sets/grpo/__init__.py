"""What trainers consume: GRPO advantages from set rewards and Shapley values.

See docs/math.md#from-shapley-values-to-grpo-advantages. Layout A
(:func:`candidate_advantages` — the Shapley rule — or
:func:`credit_advantages` — the marginal-credit rule —, then
:func:`token_advantages`): each response is a set of candidates, whose
tokens :func:`candidate_spans` and :func:`token_candidates` find from the
text and the tokenizer's offsets; :class:`CreditRule` names a rule end to
end and :data:`RECOMMENDED_RULE` is the one the trainer integrations use by
default. Layout B
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
from .credit import GATES, credit_advantages
from .judge import (
    JudgeCredit,
    completion_rewards,
    concat_credits,
    judge_candidate_advantages,
    judge_completion_advantages,
    judge_credit,
)
from .peers import grpo_passk_advantages, passk_training_advantages
from ._semivalues import CREDITS
from .rules import FORMS, RECOMMENDED_RULE, CreditRule, LinearSchedule
from .spans import SPAN_STYLES, candidate_spans
from .tokens import token_candidates

__all__ = [
    "CREDITS",
    "FORMS",
    "GATES",
    "PRESETS",
    "RECOMMENDED_RULE",
    "CreditRule",
    "LinearSchedule",
    "SPAN_STYLES",
    "candidate_spans",
    "JudgeCredit",
    "candidate_advantages",
    "credit_advantages",
    "completion_advantages",
    "grpo_passk_advantages",
    "judge_candidate_advantages",
    "judge_completion_advantages",
    "judge_credit",
    "completion_rewards",
    "concat_credits",
    "passk_training_advantages",
    "set_advantages",
    "token_advantages",
    "token_candidates",
]
