"""First call of each engine in a fresh process, with a cold and a warm
on-disk numba cache.

    python benchmarks/cold_start.py [--repeat 3]

Each measurement is a new interpreter: ``import shapley_sets`` is timed on
its own, then the first ``ss.shapley`` call of one utility (compilation or
cache loading included), then a second call (the steady state). "cold" runs
with ``NUMBA_CACHE_DIR`` set to a new empty directory, "warm" with the same
directory after a run has filled it; "after numba's set-up" first runs the
one-time initialisation numba does at the first compilation or cache load of
any function in a process, timed apart, then the call. The median over
``--repeat`` fresh processes is reported, as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CASES = {
    "BestOf": ("ss.BestOf()", "rng.random((4, 16))"),
    "TopK": ("ss.TopK(4)", "rng.random((4, 16))"),
    "RankWeighted": ("ss.RankWeighted.discounted()", "rng.random((4, 16))"),
    "AnySuccess": ("ss.AnySuccess()", "rng.random((4, 16))"),
    "ExpectedBest": ("ss.ExpectedBest(n_types=8)", "rng.random((4, 8, 16))"),
    "Pairwise": ("ss.Pairwise(np.eye(16) * 0 + 0.1)", "rng.random((4, 16))"),
    "Additive": ("ss.Additive()", "rng.random((4, 16))"),
    "BestOf + Additive": ("ss.BestOf() + ss.Additive()", "rng.random((4, 16))"),
    "exact_shapley": (None, "rng.random((4, 1 << 10))"),
}

PROBE = """
import time
t0 = time.perf_counter()
import numpy as np
import shapley_sets as ss
t1 = time.perf_counter()
init = 0.0
if {init}:
    # numba's own one-time set-up, done by the first compilation or cache
    # load of any function in the process: timed apart here.
    from numba.core.registry import cpu_target
    cpu_target.target_context.refresh()
    init = time.perf_counter() - t1
rng = np.random.default_rng(0)
x = {x}
u = {u}
call = (lambda: ss.exact_shapley(x)) if u is None else (lambda: ss.shapley(u, x))
t2 = time.perf_counter()
call()
t3 = time.perf_counter()
call()
t4 = time.perf_counter()
print({{"import": t1 - t0, "init": init, "first": t3 - t2, "second": t4 - t3}})
"""


def measure(name: str, cache_dir: str, init: bool = False) -> dict:
    u, x = CASES[name]
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "PYTHONPATH": str(REPO)}
    code = PROBE.format(u=u, x=x, init=init)
    out = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True, cwd=str(REPO))
    return eval(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the medians here")
    args = parser.parse_args()
    rows = {}
    for name in CASES:
        cold, warm, after = [], [], []
        for _ in range(args.repeat):
            cache = tempfile.mkdtemp(prefix="ss-cold-")
            try:
                cold.append(measure(name, cache))
                warm.append(measure(name, cache))
                after.append(measure(name, cache, init=True))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
        rows[name] = {
            "import_s": med(warm, "import"),
            "cold_first_s": med(cold, "first"),
            "warm_first_s": med(warm, "first"),
            "numba_init_s": med(after, "init"),
            "warm_first_after_init_s": med(after, "first"),
            "second_s": med(warm, "second"),
        }
    print("| engine | import | first call, cold cache | first call, warm cache | "
          "numba's set-up | first call after it | second call |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['import_s'] * 1e3:.0f} ms | {r['cold_first_s'] * 1e3:,.0f} ms | "
              f"{r['warm_first_s'] * 1e3:.0f} ms | {r['numba_init_s'] * 1e3:.0f} ms | "
              f"{r['warm_first_after_init_s'] * 1e3:.1f} ms | {r['second_s'] * 1e3:.2f} ms |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
