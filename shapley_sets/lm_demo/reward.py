"""The reward: parse each completion, score its candidates, value the set, and time it."""

from __future__ import annotations

import time

import numpy as np

from .. import value
from ..integrations.trl import CandidateReward
from .parse import COUNTS

__all__ = ["TextSetReward"]


class TextSetReward(CandidateReward):
    """A :class:`~shapley_sets.integrations.trl.CandidateReward` for listed sets, batched.

    Parses the whole batch at once (one :func:`~shapley_sets.grpo.candidate_spans`
    and one :func:`~shapley_sets.grpo.token_candidates` call), scores each
    completion's candidates for its prompt (``prompt_index`` column) and
    returns ``U_p(S)``. Keeps, for the trainer, the per-completion
    ``(scores, token_candidates)`` records of :class:`CandidateReward`, and
    for the report the parser's counts and the seconds spent here.

    Examples:
        >>> from shapley_sets.lm_demo.parse import ListParser
        >>> from shapley_sets.lm_demo.task import make_text_task
        >>> from shapley_sets.lm_demo.vocab import build_tokenizer
        >>> task = make_text_task("ideas", n_items=6, n_types=3, k=2)
        >>> tok = build_tokenizer([task.completion(range(6))], vocab_size=60)
        >>> reward = TextSetReward(task, ListParser(task.names, tok, k=2))
        >>> text = task.completion([0, 0])                  # a duplicate: worth nothing
        >>> r = reward(prompts=task.prompts, completions=[text],
        ...            completion_ids=[tok(text)["input_ids"]], prompt_index=[0])
        >>> bool(np.isclose(r[0], task.values([0], [[0]])[0])), reward.counts["duplicate"]
        (True, 1)
    """

    def __init__(self, task, parser):
        # Not CandidateReward.__init__: this class parses the whole batch itself (its own __call__), so it
        # takes neither a per-completion candidate_fn nor the integration's parser.
        self.utility = task.utility
        self.candidate_fn = self.parser = self.score_fn = self.tokenizer = None
        self.__name__ = "set_utility"
        self.last = None
        self.last_values = None
        self.last_batch = None
        self.task = task
        self.list_parser = parser
        self.counts = dict.fromkeys(COUNTS, 0)
        self.seconds = 0.0

    def __call__(self, prompts, completions, completion_ids, prompt_index, **kwargs):
        start = time.perf_counter()
        parsed = self.list_parser(completions, completion_ids)
        x, mask = self.task.padded(prompt_index, parsed.items)
        self.last = [
            (x[i, :, : len(items)], parsed.token_ids[i, : len(completion_ids[i])])
            for i, items in enumerate(parsed.items)
        ]
        rewards = value(self.utility, x, mask=mask)
        self.last_values = rewards
        self.last_batch = (x, mask)
        for key, n in parsed.counts.items():
            self.counts[key] += n
        self.seconds += time.perf_counter() - start
        return np.asarray(rewards, dtype=np.float64).tolist()
