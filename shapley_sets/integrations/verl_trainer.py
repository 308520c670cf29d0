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

Registered with verl's ``register_trainer`` (select one with
``trainer.v1.trainer_mode=``): ``"shapley_sync"``, ``"shapley_colocate_async"``
and ``"shapley_separate_async"``, one per V1 trainer mode. Importing this
module needs verl's V1 trainer (and its ``transfer_queue``); the
``verl.plugins`` entry point imports it when they are installed.
"""

from __future__ import annotations

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

from .verl import CANDIDATES_KEY, rm_scores_from_records
from .verl_judge import judge_metrics

__all__ = [
    "TRAINER_MODES",
    "ShapleyCandidatesMixin",
    "ShapleyPPOTrainerSync",
    "ShapleyPPOTrainerColocateAsync",
    "ShapleyPPOTrainerSeparateAsync",
    "records_from_fields",
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


class ShapleyCandidatesMixin:
    """Writes layout-A candidates into ``rm_scores`` before verl's advantage step.

    Mixed in front of a verl V1 trainer class; active only when
    ``algorithm.adv_estimator`` is ``"shapley_grpo"``.

    Examples:
        >>> ShapleyPPOTrainerSync.__mro__[1] is ShapleyCandidatesMixin
        True
    """

    # Set by the verl trainer this is mixed into (its OmegaConf config).
    config: Any

    def _compute_advantage(self, batch: Any, metrics: dict) -> Any:
        if self.config.algorithm.adv_estimator == "shapley_grpo":
            self._write_candidate_scores(batch, metrics)
        # A mixin: the verl trainer class after it in the MRO defines this.
        return super()._compute_advantage(batch, metrics)  # type: ignore[misc]

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
