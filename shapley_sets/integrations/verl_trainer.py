"""verl 0.9 V1 trainers that carry layout-A candidates into the advantage step.

In verl 0.9's default (V1) trainer, rewards are computed while rolling out:
the agent loop sends each response to a reward-loop worker, gets back a
scalar ``reward_score`` and a ``reward_extra_info`` dict, and writes the
score on the response's last token (``rm_scores``). The advantage step then
reads only ``rm_scores``, the response mask and the uids from the
TransferQueue, and an estimator receives only ``token_level_rewards``,
``response_mask``, ``index`` and the config: nothing per-candidate reaches
it, and verl has no hook between the reward and the advantage step.

The trainers here are verl's own, with one method extended: before the
advantage step, when ``algorithm.adv_estimator=shapley_grpo``, they read the
candidate records that :class:`~shapley_sets.integrations.verl.ShapleyRewardManager`
put into ``reward_extra_info`` (key :data:`~shapley_sets.integrations.verl.CANDIDATES_KEY`)
and rewrite those responses' ``rm_scores`` in the layout-A encoding, which
the ``shapley_grpo`` estimator decodes; records from a judge add its calls
and standard errors to the step's metrics (``judge/calls``,
``judge/calls_per_set``, ``judge/credit_stderr_mean``,
``judge/credit_stderr_max``). Every other step is verl's.

With ``algorithm.adv_estimator=shapley_completion`` (layout B) and a judge
(``algorithm.shapley.judge``), the same method runs the judge, serially on
the driver: it reads the step's responses from the TransferQueue, groups
them by uid, gives the judge each response's text (decoded with the
trainer's tokenizer, ``skip_special_tokens=True``) or the string
``compute_score`` returned under :data:`COMPLETION_KEY`, and credits each
group's responses with the fewest calls
(:func:`~shapley_sets.integrations.verl_judge.judged_completion_rewards`:
``G + 1`` per group of G for the default leave-one-out), within
``judge_budget`` calls per group when set. Each response's reward (its
credit; ``G·φ_g + U(∅)`` under ``credit: shapley``) replaces its
``rm_scores`` on its last token, the judge's calls and standard errors go
into the step's metrics (the same ``judge/*`` keys), and
``shapley_completion`` normalises the rewards within each uid, so the
advantages are those of :func:`shapley_sets.grpo.judge_completion_advantages`
on the same responses (up to the float32 rounding of ``rm_scores``; exact
where the rewards are float32 numbers).

Registered with verl's ``register_trainer`` (select one with
``trainer.v1.trainer_mode=``): ``"shapley_sync"``, ``"shapley_colocate_async"``
and ``"shapley_separate_async"``, one per V1 trainer mode. Importing this
module needs verl's V1 trainer (and its ``transfer_queue``); the
``verl.plugins`` entry point imports it when they are installed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import transfer_queue as tq
from tensordict import TensorDict
from verl.trainer.ppo.v1 import (
    PPOTrainerColocateAsync,
    PPOTrainerSeparateAsync,
    PPOTrainerSync,
    register_trainer,
)

from . import verl as _verl
from .verl import CANDIDATES_KEY, _check_completion_judge, completion_rm_scores, rm_scores_from_records
from .verl_judge import judge_metrics, judged_completion_rewards

__all__ = [
    "TRAINER_MODES",
    "ShapleyCandidatesMixin",
    "ShapleyPPOTrainerSync",
    "ShapleyPPOTrainerColocateAsync",
    "ShapleyPPOTrainerSeparateAsync",
    "records_from_fields",
    "completion_objects",
    "COMPLETION_KEY",
]


def records_from_fields(extra_fields: Sequence[Any], top_level: Sequence[Any] | None = None) -> list[str | None]:
    """Each response's candidate record (or None) from its TransferQueue fields.

    The agent loop's reward path leaves ``reward_extra_info`` inside each
    response's ``extra_fields`` dict; the colocated reward-model path writes
    its keys as fields of their own (``top_level``, one value per response).

    Args:
        extra_fields: N ``extra_fields`` dicts (or None).
        top_level: optional N values of the field :data:`CANDIDATES_KEY`.

    Returns:
        N JSON strings or None.

    Examples:
        >>> records_from_fields([{"reward_extra_info": {"shapley_candidates": "{}"}}, {}])
        ['{}', None]
    """
    out = []
    for i, fields in enumerate(extra_fields):
        rec = None
        if top_level is not None and top_level[i] is not None:
            rec = top_level[i]
        elif isinstance(fields, dict):
            rec = (fields.get("reward_extra_info") or {}).get(CANDIDATES_KEY)
        out.append(rec)
    return out


def completion_objects(extra_fields: Sequence[Any], token_ids: Sequence[Sequence[int]], tokenizer: Any) -> list:
    """What the judge of layout B takes for each response: the string ``compute_score`` returned
    under :data:`COMPLETION_KEY` if it returned one for every response, else the response's text
    decoded as verl's reward managers decode it (``skip_special_tokens=True``).

    Args:
        extra_fields: N ``extra_fields`` dicts (or None) from the queue.
        token_ids: the N responses' tokens.
        tokenizer: the trainer's tokenizer (needed only to decode).

    Returns:
        N objects.

    Raises:
        ValueError: some responses carry :data:`COMPLETION_KEY` and others do not; texts to decode
            and no tokenizer.
        TypeError: a :data:`COMPLETION_KEY` value that is not a string.

    Examples:
        >>> completion_objects([{"reward_extra_info": {"judge_completion": "x = 2"}}], [[5, 6]], None)
        ['x = 2']
    """
    given = [((f or {}).get("reward_extra_info") or {}).get(COMPLETION_KEY) if isinstance(f, dict) else None
             for f in extra_fields]
    have = [i for i, g in enumerate(given) if g is not None]
    if have:
        if len(have) != len(given):
            lack = next(i for i, g in enumerate(given) if g is None)
            raise ValueError(
                f"compute_score returned {COMPLETION_KEY!r} for response {have[0]} but not for response {lack}: "
                "return it for every response, or for none (the judge then reads the decoded texts)"
            )
        bad = next((i for i in have if not isinstance(given[i], str)), None)
        if bad is not None:
            raise TypeError(f"response {bad}: {COMPLETION_KEY!r} must be a string, got {type(given[bad]).__name__}")
        return given
    if tokenizer is None or not hasattr(tokenizer, "decode"):
        raise ValueError(
            "the judge of shapley_completion reads the responses' texts, but the trainer has no tokenizer to "
            f"decode them; return them from compute_score under {COMPLETION_KEY!r}"
        )
    return [tokenizer.decode(ids, skip_special_tokens=True) for ids in token_ids]


#: The ``compute_score`` key (kept by verl in ``reward_extra_info``) of the string the layout-B
#: judge takes for a response instead of its decoded text.
COMPLETION_KEY = "judge_completion"


class ShapleyCandidatesMixin:
    """Writes layout-A candidates into ``rm_scores`` before verl's advantage step.

    Mixed in front of a verl V1 trainer class; active only when
    ``algorithm.adv_estimator`` is ``"shapley_grpo"`` (layout-A records), or
    ``"shapley_completion"`` with ``algorithm.shapley.judge`` set (layout B:
    the judge runs here, on the driver, before the advantage step).

    Examples:
        >>> ShapleyPPOTrainerSync.__mro__[1] is ShapleyCandidatesMixin
        True
    """

    # Set by the verl trainer this is mixed into (its OmegaConf config).
    config: Any

    def _compute_advantage(self, batch: Any, metrics: dict) -> Any:
        estimator = self.config.algorithm.adv_estimator
        if estimator == "shapley_grpo":
            self._write_candidate_scores(batch, metrics)
        elif estimator == "shapley_completion" and _verl._options(self.config.algorithm)["judge"] is not None:
            self._write_completion_scores(batch, metrics)
            try:
                return super()._compute_advantage(batch, metrics)  # type: ignore[misc]
            finally:  # a failed step leaves no rewards for the next one to take as judged
                _verl._judged.clear()
        elif not getattr(self, "_checked_records_unused", False):
            self._checked_records_unused = True  # the first step tells: one queue read, once
            self._warn_if_records_unused(batch, estimator)
        # A mixin: the verl trainer class after it in the MRO defines this.
        return super()._compute_advantage(batch, metrics)  # type: ignore[misc]

    def _warn_if_records_unused(self, batch: Any, estimator: str) -> None:
        """A shapley trainer mode with another estimator ignores the candidate records: say so."""
        fields = ["extra_fields"] + ([CANDIDATES_KEY] if CANDIDATES_KEY in (batch.fields or []) else [])
        if "extra_fields" not in (batch.fields or []):
            return
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        top = list(data[CANDIDATES_KEY]) if CANDIDATES_KEY in fields else None
        if any(r is not None for r in records_from_fields(list(data["extra_fields"]), top)):
            warnings.warn(
                f"compute_score returned candidate records, but algorithm.adv_estimator={estimator} "
                "ignores them: every token of a response gets the advantage of its set reward. Set "
                "algorithm.adv_estimator=shapley_grpo for the candidates' credits",
                UserWarning,
                stacklevel=2,
            )

    def _write_completion_scores(self, batch: Any, metrics: dict | None = None) -> None:
        """Layout B with a judge, serially on the driver: each uid's responses are one set; the judge
        credits them (:func:`~shapley_sets.integrations.verl_judge.judged_completion_rewards`) and
        each response's reward replaces its ``rm_scores`` (on its last token), which
        ``shapley_completion`` then normalises within the uid."""
        _check_completion_judge(_verl._options(self.config.algorithm))
        present = set(batch.fields or [])
        missing = sorted({"rm_scores", "responses", "uid", "extra_fields"} - present)
        if missing:
            raise ValueError(
                f"the judge of shapley_completion needs the queue fields {missing}, which this batch lacks"
            )
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                               select_fields=["rm_scores", "responses", "uid", "extra_fields"])
        nested = self._judge_completions(data, metrics)
        tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id,
                        fields=TensorDict({"rm_scores": nested}, batch_size=len(batch.keys)))

    def _judge_completions(self, data: Any, metrics: dict | None = None) -> Any:
        """The judged ``rm_scores`` (nested, one row per response) of the queue fields ``data``
        (``rm_scores``, ``responses``, ``uid``, ``extra_fields``); hands the rewards to the
        ``shapley_completion`` estimator of this process and adds ``judge/*`` to ``metrics``."""
        _verl._judged.clear()  # nothing of an earlier batch survives a failure below
        opts = _verl._options(self.config.algorithm)
        credit = _verl._rule(opts, "shapley_completion").credit
        lengths = data["rm_scores"].offsets().diff()
        n = len(lengths)
        extra = list(data["extra_fields"])
        if any(rec is not None for rec in records_from_fields(extra)):
            raise ValueError(
                "candidate records of layout A (compute_score's 'candidates', 'candidate_scores' or "
                "'shapley_values') reached shapley_completion, which judges whole responses; use "
                "algorithm.adv_estimator=shapley_grpo for candidates inside a response"
            )
        responses = data["responses"]
        ids = [responses[i].tolist() for i in range(n)]
        completions = completion_objects(extra, ids, getattr(self, "tokenizer", None))
        uids = list(data["uid"])
        rewards, judged = judged_completion_rewards(completions, uids, ids, opts, credit)
        rm = completion_rm_scores(lengths, rewards)
        _verl._judged["rewards"] = rm.sum(dim=-1).numpy()
        if metrics is not None:
            metrics.update(judged.metrics())
        return torch.nested.as_nested_tensor([rm[i, : int(lengths[i])] for i in range(n)], layout=torch.jagged)

    def _write_candidate_scores(self, batch: Any, metrics: dict | None = None) -> None:
        fields = ["rm_scores", "extra_fields"]
        colocated = CANDIDATES_KEY in (batch.fields or [])
        if colocated:
            fields.append(CANDIDATES_KEY)
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        rm = data["rm_scores"]
        lengths = rm.offsets().diff()
        records = records_from_fields(list(data["extra_fields"]), list(data[CANDIDATES_KEY]) if colocated else None)
        if all(r is None for r in records):
            return
        if metrics is not None:
            metrics.update(judge_metrics(records))
        padded = rm_scores_from_records(rm.to_padded_tensor(0.0), lengths, records)
        nested = torch.nested.as_nested_tensor(
            [padded[i, : int(lengths[i])] for i in range(len(records))], layout=torch.jagged
        )
        tq.kv_batch_put(
            keys=batch.keys, partition_id=batch.partition_id,
            fields=TensorDict({"rm_scores": nested}, batch_size=len(records)),
        )


@register_trainer("shapley_sync")
class ShapleyPPOTrainerSync(ShapleyCandidatesMixin, PPOTrainerSync):
    """verl's ``PPOTrainerSync`` (mode ``"sync"``) with :class:`ShapleyCandidatesMixin`."""


@register_trainer("shapley_colocate_async")
class ShapleyPPOTrainerColocateAsync(ShapleyCandidatesMixin, PPOTrainerColocateAsync):
    """verl's ``PPOTrainerColocateAsync`` with :class:`ShapleyCandidatesMixin`."""


@register_trainer("shapley_separate_async")
class ShapleyPPOTrainerSeparateAsync(ShapleyCandidatesMixin, PPOTrainerSeparateAsync):
    """verl's ``PPOTrainerSeparateAsync`` with :class:`ShapleyCandidatesMixin`."""


#: The trainer modes this module registers (``trainer.v1.trainer_mode=``).
TRAINER_MODES = ("shapley_sync", "shapley_colocate_async", "shapley_separate_async")
