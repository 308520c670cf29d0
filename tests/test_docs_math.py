"""The docs build's math hook (docs/_mathml.py): arithmatex's TeX becomes
MathML, and every formula of the docs converts. The browser check of the
built site is in .ci/run (.ci/check_math_render.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytest.importorskip("latex2mathml")  # the docs extra

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("_mathml", ROOT / "docs" / "_mathml.py")
mathml = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mathml)


def test_inline_and_displayed_formulas_become_mathml():
    page = (
        '<p>value <span class="arithmatex">\\(\\varphi_i &lt; 1\\)</span> and</p>\n'
        '<div class="arithmatex">\\[\n\\sum_i \\varphi_i = U(N) - U(\\emptyset)\n\\]</div>'
    )
    out = mathml.on_page_content(page)
    assert "\\(" not in out and "\\[" not in out and "varphi" not in out
    assert out.count("<math") == 2
    assert 'display="inline"' in out and 'display="block"' in out
    assert "<mo>&#x0003C;</mo>" in out  # the &lt; is read as TeX "<", written as MathML


def test_set_minus_uses_the_common_glyph():
    out = mathml.on_page_content('<span class="arithmatex">\\(N \\setminus \\{i\\}\\)</span>')
    assert "&#x02216;" in out and "&#x029F5;" not in out


def test_unexpected_markup_fails_the_build():
    with pytest.raises(ValueError, match="arithmatex"):
        mathml.on_page_content('<span class="arithmatex">$x$</span>')


def test_every_formula_of_the_docs_converts():
    count = 0
    for path in sorted((ROOT / "docs").rglob("*.md")):
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        for match in re.finditer(r"\$\$(.+?)\$\$|\$(.+?)\$", text, flags=re.DOTALL):
            block = match.group(1) is not None
            tex = match.group(1) if block else match.group(2)
            tag, left, right = ("div", "\\[", "\\]") if block else ("span", "\\(", "\\)")
            out = mathml.on_page_content(f'<{tag} class="arithmatex">{left}{tex}{right}</{tag}>')
            assert out.count("<math") == 1, (path.name, tex)
            count += 1
    assert count > 200


@pytest.mark.parametrize(
    "tex",
    [r"\begin{aligned} a &= b \\ c &= d \end{aligned}", r"\foo x", r"a \\[1ex] b"],
    ids=["aligned", "unknown-command", "row-gap"],
)
def test_what_latex2mathml_would_print_as_text_fails_the_build(tex):
    with pytest.raises(ValueError, match="as text"):
        mathml.on_page_content(f'<div class="arithmatex">\\[{tex}\\]</div>')
