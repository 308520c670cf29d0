"""The package, its docs, its benchmarks and its README stand on their own: they cite no file
outside the repository (the mathematics is in docs/math.md, cited by section
anchor) and say nothing of how the project is planned (issues, tickets).
Command output is covered too: every message the commands print is a string
in the package's source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MATH = ROOT / "docs" / "math.md"

FILES = sorted(
    [*ROOT.joinpath("shapley_sets").rglob("*.py"), *ROOT.joinpath("docs").rglob("*.md"),
     *ROOT.joinpath("docs").rglob("*.py"), *ROOT.joinpath("benchmarks").rglob("*.py"),
     *ROOT.joinpath("benchmarks").rglob("*.md"), ROOT / "README.md", ROOT / "CHANGELOG.md",
     ROOT / "mkdocs.yml", ROOT / "pyproject.toml"]
)

# Design notes that live outside the repository, and planning words. "issue"
# is allowed where it names an upstream project's GitHub issue.
FORBIDDEN = {
    "a design note outside the repository": re.compile(r"\b(?:MATH|API|STYLE|DESIGN)\.md\b|shared/design|/work/"),
    # A bare "§8" is a design note's section; a paper's section is cited with the paper.
    "a section number of an outside note": re.compile(r"^(?!.*(?:arXiv|paper)).*§\s*\d", re.IGNORECASE),
    "planning (issues)": re.compile(r"(?<!GitHub )(?<!/)\bissues?\b(?!\s*(?:\(|:)?\s*https?://)", re.IGNORECASE),
    "planning (tickets, milestones)": re.compile(r"\b(?:tickets?|milestones?|roadmap)\b", re.IGNORECASE),
}


def _hits(pattern: re.Pattern) -> list[str]:
    out = []
    for path in FILES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                out.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return out


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_nothing_cites_outside_files_or_planning(what):
    hits = _hits(FORBIDDEN[what])
    assert not hits, f"{what}:\n" + "\n".join(hits)


def test_the_patterns_catch_what_they_are_for():
    # A test of the test: each pattern fires on the phrases it exists for
    # and not on the ones that are allowed.
    assert FORBIDDEN["a design note outside the repository"].search("see MATH.md for the proof")
    section = FORBIDDEN["a section number of an outside note"]
    assert section.search("(§7)") and not section.search("the paper's §4 (arXiv 2603.29871)")
    issue = FORBIDDEN["planning (issues)"]
    assert issue.search("Targets (issue 2) apply") and issue.search("the issue targets")
    assert not issue.search("reported as a GitHub issue upstream")
    assert not issue.search("see issue https://github.com/x/y/issues/1")


def test_cited_math_anchors_exist():
    text = MATH.read_text(encoding="utf-8")
    anchors = set(re.findall(r"^#+ .*\{#([\w-]+)\}\s*$", text, re.MULTILINE))
    assert {"rank-weighted-utilities", "airport-game", "from-shapley-values-to-grpo-advantages"} <= anchors
    cited = {}
    for path in FILES:
        for anchor in re.findall(r"math\.md#([\w-]+)", path.read_text(encoding="utf-8")):
            cited.setdefault(anchor, path.relative_to(ROOT))
    cited.pop("anchor", None)  # math.md's own description of the citation form
    missing = {a: str(p) for a, p in cited.items() if a not in anchors}
    assert not missing, f"docs/math.md has no stable anchor {{#...}} for: {missing}"
    assert len(cited) >= 8
