"""MkDocs hook used by the docs build (mkdocs.yml), not part of the package.

Renders the math at build time: pymdownx.arithmatex marks each formula
(``\\(...\\)`` inline, ``\\[...\\]`` displayed) in a ``span``/``div`` of class
``arithmatex``, and this hook replaces the TeX inside with MathML from
latex2mathml. Browsers draw MathML themselves, so the site needs no
JavaScript renderer and no network to show its formulas.
"""

from __future__ import annotations

import html
import re

try:
    from latex2mathml.converter import convert
except ImportError as err:  # say how to get it rather than a bare traceback
    raise ImportError(
        "building the docs needs latex2mathml (docs/_mathml.py renders their math): "
        'pip install -e ".[docs]"'
    ) from err

_MATH = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.DOTALL)
_DELIMITERS = {"span": (r"\(", r"\)", "inline"), "div": (r"\[", r"\]", "block")}
# latex2mathml writes \setminus as U+29F5 (reverse solidus operator), which
# few fonts have; U+2216 (set minus, what MathJax uses) is in every math font.
_TEX_FIXES = ((r"\setminus", r"\smallsetminus "),)
# Token elements whose text is a bare "&", a backslash (an unknown command
# such as \foo is written out as "\foo") or a dimension ("1ex" of "\\[1ex]").
_LEFTOVER = re.compile(r"<m[ion][^>]*>(?:[^<]*\\[^<]*|&|\d*(?:ex|em|pt))</m[ion]>")


def _render(match: re.Match) -> str:
    tag, body = match.group(1), html.unescape(match.group(2)).strip()
    opening, closing, display = _DELIMITERS[tag]
    if not (body.startswith(opening) and body.endswith(closing)):
        raise ValueError(f"unexpected arithmatex output: {match.group(0)[:80]!r}")
    tex = body[len(opening) : -len(closing)].strip()
    for old, new in _TEX_FIXES:
        tex = tex.replace(old, new)
    try:
        mathml = convert(tex, display=display)
    except Exception as err:  # noqa: BLE001 - name the formula, then fail the build
        raise ValueError(f"latex2mathml cannot render {tex!r}: {err}") from err
    # What latex2mathml does not know it writes out as text (an ``aligned``
    # environment's "&", an unknown command, a "\\[1ex]" row gap): fail
    # the build rather than show it.
    leftover = _LEFTOVER.search(mathml)
    if leftover:
        raise ValueError(
            f"latex2mathml left {leftover.group(0)!r} as text in {tex!r}; "
            "for aligned equations use \\begin{array}{rll} ... \\end{array}"
        )
    return f'<{tag} class="arithmatex">{mathml}</{tag}>'


def on_page_content(html_text: str, **kwargs) -> str:
    return _MATH.sub(_render, html_text)
