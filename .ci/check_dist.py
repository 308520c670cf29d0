"""Checks the built sdist and wheel in DIST: the sdist holds only the files
the package, its tests and its docs need (no virtual environments, caches or
build output of the checkout), and the wheel ships the same package files
plus py.typed and the licence. Exits non-zero with the offending names."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

SDIST_TOP = {
    "shapley_sets", "tests", "benchmarks", "docs", "conftest.py", "mkdocs.yml", "README.md",
    "CHANGELOG.md", "CITATION.cff", "LICENSE", "pyproject.toml", "PKG-INFO", ".gitignore",
}
JUNK = ("__pycache__", ".pyc", ".nbi", ".nbc", ".pytest_cache", ".hypothesis", ".egg-info")


def main(dist: Path) -> int:
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    with tarfile.open(sdist) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()]
    with zipfile.ZipFile(wheel) as whl:
        wheel_names = whl.namelist()
    problems = [f"sdist: unexpected {n}" for n in names if n.split("/", 1)[0] not in SDIST_TOP]
    problems += [f"sdist: junk {n}" for n in names if any(j in n for j in JUNK)]
    problems += [f"wheel: junk {n}" for n in wheel_names if any(j in n for j in JUNK)]
    package = {n for n in names if n.startswith("shapley_sets/")}
    shipped = {n for n in wheel_names if n.startswith("shapley_sets/")}
    problems += [f"wheel lacks {n}" for n in sorted(package - shipped)]
    problems += [f"wheel has {n}, not in the sdist" for n in sorted(shipped - package)]
    if "shapley_sets/py.typed" not in shipped:
        problems.append("wheel lacks shapley_sets/py.typed")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel_names):
        problems.append("wheel lacks the LICENSE")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{sdist.name}: {len(names)} files; {wheel.name}: {len(wheel_names)} files"
          + ("" if problems else "; ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
