"""Character offsets of generated tokens within their decoded text.

A trainer hands the reward code the decoded completion and keeps the token
ids it generated. :func:`shapley_sets.grpo.token_candidates` needs, for each
of those ids, the characters it covers in that text. Re-tokenising the text
with offsets gives them when it reproduces the generated ids (the usual
case); otherwise each token's end is read from the decoded prefixes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["response_offsets"]


def response_offsets(tokenizer: Any, token_ids: Sequence[int], text: str, *, skip_special_tokens: bool = True) -> np.ndarray:
    """(T, 2) int64 character offsets of ``token_ids`` in ``text``.

    ``text`` must be ``tokenizer.decode(token_ids, skip_special_tokens=...)``
    (what trainers pass to reward functions). A token that adds no character
    of its own (a special token, the first bytes of a multi-byte character)
    gets a zero-length span, so it belongs to no candidate.

    Args:
        tokenizer: a Hugging Face tokenizer (fast or slow).
        token_ids: the T generated ids (padding removed).
        text: their decoded text.
        skip_special_tokens: as used to decode ``text``.

    Returns:
        (T, 2) int64 array of ``(start, end)`` character offsets.

    Examples:
        Used by :class:`shapley_sets.integrations.trl.CandidateReward` and the
        verl reward manager; both paths (re-tokenised and from prefixes) are
        tested in ``tests/test_integration_verl_layout_a.py``.
    """
    ids = [int(t) for t in token_ids]
    if not ids:
        return np.zeros((0, 2), dtype=np.int64)
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if list(enc["input_ids"]) == ids:
            return np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    except (NotImplementedError, ValueError, TypeError):
        pass  # a slow tokenizer has no offsets: read them from the prefixes
    prefixes = tokenizer.batch_decode([ids[: j + 1] for j in range(len(ids))], skip_special_tokens=skip_special_tokens)
    # A prefix may end inside a character (byte-level BPE) or be spelled
    # differently from the same characters in the whole text; what counts is
    # how much of the text it reproduces.
    ends = np.fromiter((len(os.path.commonprefix([p, text])) for p in prefixes), dtype=np.int64, count=len(ids))
    np.maximum.accumulate(ends, out=ends)
    starts = np.concatenate([[0], ends[:-1]])
    return np.stack([starts, ends], axis=1)
