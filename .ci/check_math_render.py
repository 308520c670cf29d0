"""Opens the built docs in headless Chromium and fails if raw TeX is visible
on any page (the math page above all), if a page's formulas were not laid
out, or if any page loads a resource from outside the site.

The pages are loaded one after another in an iframe of a small wrapper page
that reads what the browser rendered (``innerText``, which leaves out what
CSS hides) and how many formulas it laid out, and writes that into its own
DOM, which ``--dump-dom`` prints: one browser start for the whole site.

Usage: python .ci/check_math_render.py SITE_DIR
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|sum|varphi|mathbb|operatorname|begin)\b")
EXTERNAL = re.compile(r"<(?:script|img|iframe)\b[^>]*\bsrc=\"(?:https?:)?//|<link\b[^>]*\bhref=\"(?:https?:)?//")

WRAPPER = """<!doctype html><meta charset="utf-8">
<iframe id="page" style="width:1200px;height:2000px"></iframe>
<pre id="out"></pre>
<script>
const pages = {pages};
const frame = document.getElementById("page");
const results = {{}};
function next(i) {{
  if (i === pages.length) {{
    document.getElementById("out").textContent = JSON.stringify(results);
    return;
  }}
  frame.onload = () => {{
    const doc = frame.contentDocument;
    const maths = [...doc.querySelectorAll("math")];
    results[pages[i]] = {{
      text: doc.body.innerText,
      formulas: maths.length,
      laid_out: maths.filter(m => m.getBoundingClientRect().height > 0).length,
      leftovers: maths.map(m => m.textContent).filter(s => /[&\\\\$]/.test(s)),
    }};
    next(i + 1);
  }};
  frame.src = pages[i];
}}
next(0);
</script>
"""


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium found (apt-get install chromium)")


def rendered(site: Path, pages: list[str]) -> dict:
    wrapper = site / "_render_check.html"
    wrapper.write_text(WRAPPER.format(pages=json.dumps(pages)), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run(
                [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 f"--user-data-dir={profile}", "--allow-file-access-from-files",
                 "--virtual-time-budget=60000", "--dump-dom", wrapper.resolve().as_uri()],
                capture_output=True, text=True, timeout=300, check=True,
            ).stdout
    finally:
        wrapper.unlink()
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.DOTALL)
    if not found or not found.group(1).strip():
        sys.exit(f"the browser did not render the pages (wrapper output: {dom[:300]!r})")
    return json.loads(html.unescape(found.group(1)))


def main(site: Path) -> int:
    problems = []
    pages = []
    for path in sorted(site.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for hit in EXTERNAL.findall(text):
            problems.append(f"{path.relative_to(site)} loads from outside the site: {hit}")
        if path.name == "index.html":
            pages.append(path.relative_to(site).as_posix())
    if "math/index.html" not in pages:
        problems.append("no math/index.html in the site")
    results = rendered(site, pages)
    for page in pages:
        result = results.get(page)
        if result is None:
            problems.append(f"{page}: not rendered")
            continue
        for line in result["text"].splitlines():
            if RAW_TEX.search(line):
                problems.append(f"{page}: raw TeX visible: {line.strip()[:120]}")
        for formula in result["leftovers"]:
            problems.append(f"{page}: TeX left as text inside a formula: {formula[:120]}")
        if result["laid_out"] != result["formulas"]:
            problems.append(f"{page}: {result['laid_out']} of {result['formulas']} formulas laid out")
    math = results.get("math/index.html", {"formulas": 0})
    if math["formulas"] < 10:
        problems.append(f"math/index.html: only {math['formulas']} formulas rendered")
    for p in problems:
        print(p, file=sys.stderr)
    print(
        f"{len(results)} pages in {Path(browser()).name}: {sum(r['formulas'] for r in results.values())} "
        f"formulas rendered ({math['formulas']} on the math page); "
        + ("no raw TeX, nothing loaded from outside" if not problems else f"{len(problems)} problems")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
