"""Candidates' character spans in completions of the usual formats.

:func:`candidate_spans` finds where each candidate of a completion lies (a
list item, a line, a piece between separators, a string of a JSON array, a
regex match), as ``(start, end)`` character spans that
:func:`shapley_sets.grpo.token_candidates` maps to tokens. A candidate's
text is ``text[start:end]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import cast

__all__ = ["candidate_spans", "SPAN_STYLES"]

#: The formats :func:`candidate_spans` parses.
SPAN_STYLES = ("numbered", "bulleted", "lines", "separator", "json", "regex")

_MARKERS = {
    # "1. x", "1) x", "(1) x"; the marker needs a space after it (or ends the line).
    "numbered": re.compile(r"[ \t]*\(?\d+[.)](?:[ \t]+|(?=\r?$))"),
    "bulleted": re.compile(r"[ \t]*[-*+\u2022](?:[ \t]+|(?=\r?$))"),
}
_JSON = json.JSONDecoder()


def candidate_spans(
    texts: Sequence[str],
    *,
    style: str = "numbered",
    separator: str | None = None,
    pattern: str | re.Pattern | None = None,
) -> list[list[tuple[int, int]]]:
    """Per text, the character spans ``(start, end)`` of its candidates, in order.

    Styles:

    - ``"numbered"`` / ``"bulleted"``: list items, one per line starting
      with a marker (``1.``, ``1)``, ``(1)`` / ``-``, ``*``, ``+``, ``•``,
      indentation allowed). An item is the text after its marker; the
      following non-blank lines without a marker continue it; a blank line
      or the next marker ends it. Text before the first item is no
      candidate's.
    - ``"lines"``: every non-blank line.
    - ``"separator"``: the pieces between occurrences of ``separator``; a
      piece with nothing but whitespace is an empty candidate (its span has
      ``start == end``), and a text of only whitespace has none.
    - ``"json"``: the strings of the first JSON array of strings in the text
      (surrounding prose or code fences allowed); a span covers a string's
      characters between its quotes, as written (escapes included). A text
      with no such array has no candidates.
    - ``"regex"``: every match of ``pattern`` (``re.finditer``); with a
      capture group, group 1's span (an empty span at the match's start
      where the group takes no part), so the candidates' texts are
      ``re.findall``'s.

    Leading and trailing whitespace is never part of a span (except
    ``"regex"``, which takes the match as it is).

    Args:
        texts: the completions' texts, a sequence of strings.
        style: one of :data:`SPAN_STYLES`.
        separator: the separator string of ``style="separator"``.
        pattern: the regex (a string or a compiled pattern) of ``style="regex"``.

    Returns:
        One list per text of ``(start, end)`` pairs (ints), in text order.

    Raises:
        TypeError: ``texts`` is a single string or holds a non-string
            (naming its index); ``pattern`` of the wrong type.
        ValueError: an unknown style, an option given to a style that does
            not take it, a missing or empty ``separator``/``pattern``, a
            ``pattern`` that matches the empty string.

    Examples:
        >>> text = "Ideas:\\n1. red\\n2. blue\\n   and green"
        >>> spans = candidate_spans([text])
        >>> spans
        [[(10, 13), (17, 34)]]
        >>> [text[s:e] for s, e in spans[0]]
        ['red', 'blue\\n   and green']
        >>> candidate_spans(['Answer: ["a", "b c"]', "none"], style="json")
        [[(10, 11), (15, 18)], []]
        >>> candidate_spans(["x; ;y"], style="separator", separator=";")
        [[(0, 1), (2, 2), (4, 5)]]
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a sequence of strings (one per completion), got {type(texts).__name__}")
    if style not in SPAN_STYLES:
        raise ValueError(f"style must be one of {', '.join(map(repr, SPAN_STYLES))}; got {style!r}")
    if separator is not None and style != "separator":
        raise ValueError(f"separator applies to style='separator' only, not {style!r}")
    if pattern is not None and style != "regex":
        raise ValueError(f"pattern applies to style='regex' only, not {style!r}")
    if style == "separator" and (not isinstance(separator, str) or not separator):
        raise ValueError(f"style='separator' needs a non-empty separator string, got {separator!r}")
    if style == "regex":
        if pattern is None:
            raise ValueError("style='regex' needs a pattern")
        if isinstance(pattern, str):
            try:
                pattern = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        elif not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
            raise TypeError(f"pattern must be a str or a compiled str pattern, got {type(pattern).__name__}")
        if pattern.fullmatch("") is not None:
            # re.finditer would return an empty match at every position the pattern does not cover
            raise ValueError(
                f"pattern {pattern.pattern!r} matches the empty string, so every position of a text "
                "would be an empty candidate; make it match at least one character (e.g. '+' for '*')"
            )
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be a string, got {type(text).__name__}")
        if style in _MARKERS:
            out.append(_list_items(text, _MARKERS[style]))
        elif style == "lines":
            out.append([sp for a, b in _lines(text) if (sp := _strip(text, a, b))[0] < sp[1]])
        elif style == "separator":
            out.append(_pieces(text, cast(str, separator)))  # checked above
        elif style == "json":
            out.append(_json_strings(text))
        else:
            out.append(_matches(text, cast(re.Pattern, pattern)))  # compiled above
    return out


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    """``(a, b)`` without leading and trailing whitespace (``(a, a)`` if all blank)."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _lines(text: str):
    """``(start, end)`` of every line, without its newline."""
    a = 0
    for line in text.split("\n"):
        yield a, a + len(line)
        a += len(line) + 1


def _list_items(text: str, marker: re.Pattern) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    open_item = False
    for a, b in _lines(text):
        m = marker.match(text, a, b)
        if m is not None:
            start = m.end()
            items.append((start, _strip(text, start, b)[1]))
            open_item = True
            continue
        s, e = _strip(text, a, b)
        if s == e:
            open_item = False  # a blank line ends the item
        elif open_item:
            items[-1] = (items[-1][0], e)
    return items


def _pieces(text: str, sep: str) -> list[tuple[int, int]]:
    if not text.strip():
        return []
    spans, a = [], 0
    while True:
        b = text.find(sep, a)
        end = len(text) if b < 0 else b
        s, e = _strip(text, a, end)
        spans.append((s, e) if s < e else (a, a))
        if b < 0:
            return spans
        a = b + len(sep)


def _json_strings(text: str) -> list[tuple[int, int]]:
    start = text.find("[")
    while start >= 0:
        try:
            value, _ = _JSON.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return _string_literals(text, start, len(value))
        start = text.find("[", start + 1)
    return []


def _string_literals(text: str, start: int, count: int) -> list[tuple[int, int]]:
    # raw_decode accepted text[start:] as an array of `count` strings, so its
    # quotes at depth one are exactly the elements' delimiters.
    spans: list[tuple[int, int]] = []
    j = start + 1
    while len(spans) < count:
        j = text.index('"', j)
        k = j + 1
        while text[k] != '"':
            k += 2 if text[k] == "\\" else 1
        spans.append((j + 1, k))
        j = k + 1
    return spans


def _matches(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    if pattern.groups == 0:
        return [m.span() for m in pattern.finditer(text)]
    spans = []
    for m in pattern.finditer(text):
        s, e = m.span(1)
        spans.append((s, e) if s >= 0 else (m.start(), m.start()))
    return spans
