"""Release files agree with the package: the licence text is the one
pyproject declares, and the citation and changelog name the current version."""

from __future__ import annotations

import re
from pathlib import Path

import shapley_sets as ss

ROOT = Path(__file__).resolve().parent.parent


def test_license_matches_pyproject():
    # A regex, not tomllib: the tests also run on Python 3.10.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^license = \{ text = "MIT" \}$', pyproject, re.MULTILINE)
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_citation_names_the_version_and_the_paper():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(rf"^version: {re.escape(ss.__version__)}$", text, re.MULTILINE)
    assert "arXiv:2603.29871" in text and "ShapE-GRPO" in text


def test_changelog_has_the_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(ss.__version__)} - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.MULTILINE)
    assert "## Unreleased" in text


def test_package_is_marked_typed():
    assert (Path(ss.__file__).parent / "py.typed").is_file()
