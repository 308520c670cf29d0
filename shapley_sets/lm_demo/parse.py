"""From a completion's text and tokens to its candidates and each token's candidate.

A completion should list K item names separated by commas. The parser
splits it into pieces (:func:`shapley_sets.grpo.candidate_spans`); the first
K pieces are the set's candidates. A piece that names an item not named
before is that item; a malformed piece (not an item name), an empty one
(``"a,,b"``) or a duplicate of an earlier item is a candidate worth nothing
(a null player: its credit under every rule is that of an item no user
wants), so that credit rules can tell the model which piece was wrong.
Pieces after the K-th are no candidate. Everything is counted.

Each token's candidate comes from the token's character offsets
(:func:`shapley_sets.grpo.token_candidates`) and the candidates' spans, where
a candidate's span starts right after the previous candidate's text: the
separator before an item belongs to it, as the decision to list one more
item. Without this, the commas of empty pieces would belong to no
candidate, and a policy trained with a credit rule can learn to write a
single good item followed by empty pieces, whose lone item then takes all
the credit (a first run of the demo did exactly that).

The offsets are those of the generated tokens themselves, not of a
re-encoding of the text: a model can generate a non-canonical split of a
word ("b" + "ole" where the tokenizer would write "bo" + "le"), and
re-encoding would then give other tokens than the ones trained on.
"""

from __future__ import annotations

import itertools

from dataclasses import dataclass, field

import numpy as np

from .. import grpo
from .vocab import SEPARATOR, token_texts

__all__ = ["ListParser", "ParsedBatch", "COUNTS"]

#: What the parser counts, per batch of completions.
COUNTS = ("completions", "candidates", "valid", "malformed", "duplicate", "empty", "beyond_k", "short")


@dataclass
class ParsedBatch:
    """Candidates of a batch of completions.

    Attributes:
        items: per completion, its candidates in order: an item index, or
            -1 for a malformed, empty or duplicate piece (worth nothing).
        token_ids: ``(N, T)`` int64, each token's candidate index in
            ``[0, len(items[i]))`` or -1 (pieces after the K-th, EOS,
            padding); ``T`` is the longest completion.
        counts: totals over the batch, keyed by :data:`COUNTS`:
            ``candidates`` = ``valid + malformed + empty + duplicate``, the
            first K pieces; ``beyond_k``: pieces after those; ``short``:
            completions with fewer than K valid items.
    """

    items: list
    token_ids: np.ndarray
    counts: dict = field(default_factory=dict)


class ListParser:
    """Parses comma-separated item lists generated with ``tokenizer``.

    Args:
        names: the item names, by item index.
        tokenizer: the tokenizer the completions were generated with; its
            tokens must decode by concatenation (true of the byte-level
            tokenizer of :func:`shapley_sets.lm_demo.vocab.build_tokenizer`).
        k: the most candidates a completion may have (the set size K).

    Examples:
        >>> from shapley_sets.lm_demo.vocab import build_tokenizer
        >>> names = ["kabo", "tumi", "zaza"]
        >>> tok = build_tokenizer(["kabo, tumi, zaza"] * 3, vocab_size=40)
        >>> parser = ListParser(names, tok, k=2)
        >>> text = "zaza, kab, zaza, kabo, tumi"
        >>> parsed = parser([text], [tok(text)["input_ids"] + [tok.eos_token_id]])
        >>> parsed.items          # "zaza", then "kab" (malformed); the rest is beyond K = 2
        [[2, -1]]
        >>> parsed.counts["valid"], parsed.counts["malformed"], parsed.counts["beyond_k"]
        (1, 1, 3)
        >>> from shapley_sets.lm_demo.vocab import token_texts
        >>> texts = token_texts(tok)
        >>> ids = tok(text)["input_ids"][:5]
        >>> [(texts[t], int(c)) for t, c in zip(ids, parsed.token_ids[0])]
        [('za', 0), ('za', 0), (',', 1), (' ', 1), ('kab', 1)]
    """

    def __init__(self, names, tokenizer, k: int):
        self.names = list(names)
        self.index = {name: i for i, name in enumerate(self.names)}
        if len(self.index) != len(self.names):
            raise ValueError("names must be distinct")
        self.k = int(k)
        self.lengths = np.array([len(t) for t in token_texts(tokenizer)], dtype=np.int64)
        self.separator = SEPARATOR.strip()

    def offsets(self, completion_ids) -> np.ndarray:
        """``(N, T, 2)`` character offsets of each generated token in its decoded text.

        Padding past a completion's end is ``(0, 0)``.
        """
        n = len(completion_ids)
        lengths = np.fromiter(map(len, completion_ids), dtype=np.int64, count=n)
        t = max(int(lengths.max(initial=0)), 1)
        flat = np.fromiter(itertools.chain.from_iterable(completion_ids), dtype=np.int64, count=int(lengths.sum()))
        # each token's text length, rows left-aligned (row-major order of the mask is the ids' order)
        chars = np.zeros((n, t), dtype=np.int64)
        chars[np.arange(t)[None, :] < lengths[:, None]] = self.lengths[flat]
        ends = np.cumsum(chars, axis=1)
        out = np.stack([ends - chars, ends], axis=-1)
        out[chars == 0] = 0  # zero-length tokens (special, padding) are (0, 0), no candidate's
        return out

    def __call__(self, texts, completion_ids) -> ParsedBatch:
        """Parse decoded ``texts`` and the token ids they were decoded from."""
        offsets = self.offsets(completion_ids)
        ends = offsets[:, :, 1].max(axis=1)
        wrong = np.flatnonzero(ends != np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        if wrong.size:
            i = int(wrong[0])
            raise ValueError(
                f"completion {i}: its tokens decode to {int(ends[i])} characters but the text has "
                f"{len(texts[i])}; the tokenizer must decode by concatenation"
            )
        counts = dict.fromkeys(COUNTS, 0)
        counts["completions"] = len(texts)
        items, kept = [], []
        for text, spans in zip(texts, grpo.candidate_spans(texts, style="separator", separator=self.separator)):
            chosen: list[int] = []
            chosen_spans: list[tuple[int, int]] = []
            seen: set[int] = set()
            for a, b in spans:
                if len(chosen) == self.k:
                    counts["beyond_k"] += 1
                    continue
                if a == b:
                    counts["empty"] += 1
                    j = -1
                else:
                    found = self.index.get(text[a:b])
                    if found is None:
                        counts["malformed"] += 1
                        j = -1
                    elif found in seen:
                        counts["duplicate"] += 1
                        j = -1
                    else:
                        j = found
                        seen.add(j)
                        counts["valid"] += 1
                # the span reaches back to the previous candidate's end: its separator is this candidate's
                start = chosen_spans[-1][1] if chosen_spans else 0
                chosen.append(j)
                chosen_spans.append((start, b))
            counts["candidates"] += len(chosen)
            counts["short"] += len(seen) < self.k
            items.append(chosen)
            kept.append(chosen_spans)
        token_ids = grpo.token_candidates(offsets, kept)
        return ParsedBatch(items=items, token_ids=token_ids, counts=counts)
