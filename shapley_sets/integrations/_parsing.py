"""Candidates of one generated completion, from its text to its tokens.

Shared by the trainer integrations: a *parser* finds the candidates'
character spans in the decoded text, and the tokenizer's offsets turn them
into per-token candidate ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shapley_sets.grpo import SPAN_STYLES, candidate_spans, token_candidates

from ._offsets import response_offsets

__all__ = ["parse_spans", "check_parser", "token_ids_of_spans"]


def check_parser(parser: Any, name: str = "parser") -> Any:
    """Validate a parser spec once: a style name, a mapping ``{"style": ..., **options}``
    or a callable ``text -> [(start, end), ...]``; returns it."""
    if callable(parser):
        return parser
    if isinstance(parser, str):
        style, options = parser, {}
    elif isinstance(parser, Mapping) or hasattr(parser, "items"):
        options = dict(parser.items())
        style = options.pop("style", None)
    else:
        raise TypeError(f"{name} must be a style name, a mapping with 'style', or a callable; got {type(parser).__name__}")
    if style not in SPAN_STYLES:
        raise ValueError(f"{name} style must be one of {', '.join(map(repr, SPAN_STYLES))}; got {style!r}")
    candidate_spans([""], style=style, **options)  # unknown or missing options fail here, not mid-training
    return parser


def parse_spans(parser: Any, text: str) -> list[tuple[int, int]]:
    """The candidates' character spans in ``text`` under a parser spec (see :func:`check_parser`)."""
    if callable(parser):
        return [tuple(int(v) for v in span) for span in parser(text)]
    if isinstance(parser, str):
        return candidate_spans([text], style=parser)[0]
    options = dict(parser.items())
    return candidate_spans([text], style=options.pop("style"), **options)[0]


def token_ids_of_spans(tokenizer: Any, token_ids: Sequence[int], text: str, spans: Sequence, *,
                       skip_special_tokens: bool = True) -> np.ndarray:
    """(T,) candidate id of each generated token (-1 = none) for candidates at ``spans`` of ``text``."""
    offsets = response_offsets(tokenizer, token_ids, text, skip_special_tokens=skip_special_tokens)
    return token_candidates(offsets[None], [list(spans)])[0]
