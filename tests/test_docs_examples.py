"""Every Python example of the docs pages runs.

Each page's ```python blocks run in order as one script, in a fresh
interpreter (so that, as in a user's script, a multiprocessing example can
pickle its functions), offline. A block that is an outline with the user's
own parts left out (``...``, a judge of their own) is marked by the line
``<!-- sketch: not run by tests/test_docs_examples.py -->`` just before its
fence, which the built site does not show.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKETCH = "<!-- sketch: not run by tests/test_docs_examples.py -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```python\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "```python" in p.read_text())


def runnable_blocks(text: str) -> list[str]:
    """The page's Python blocks, dedented, less those marked as sketches."""
    blocks = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        if before != SKETCH:
            blocks.append(textwrap.dedent(m.group("body")))
    return blocks


def test_the_block_finder_skips_sketches_and_reads_indented_blocks():
    page = (f"a\n```python\nx = 1\n```\n{SKETCH}\n```python\n...\n```\n"
            "1. item\n\n   ```python\n   y = 2\n   ```\n")
    assert runnable_blocks(page) == ["x = 1\n", "y = 2\n"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT / "docs")) for p in PAGES])
def test_docs_page_examples_run(page, tmp_path):
    blocks = runnable_blocks(page.read_text())
    if not blocks:
        pytest.skip("only sketches")
    script = "\n\n".join(blocks)
    for extra in ("torch", "trl", "verl", "skyrl", "transformers", "hypothesis"):
        if re.search(rf"^\s*(import|from) {extra}\b", script, re.M):
            pytest.importorskip(extra)
    path = tmp_path / "example.py"
    path.write_text(script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true",
           "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{page.name}'s examples failed:\n{run.stderr[-3000:]}"
