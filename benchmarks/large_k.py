"""First call of every utility at large K, and repeated calls on a ragged
batch, each first call in a fresh process.

    python benchmarks/large_k.py first [--k 4096 10000] [--weights shapley banzhaf loo]
                                       [--cold shapley] [--only NAME ...]
    python benchmarks/large_k.py ragged [--k 600] [--repeat 5]

``first``: for each utility, K and weighting a new interpreter runs one
``ss.shapley`` (or ``ss.semivalue``) call on 4 sets of K candidates and then
a second one; the first includes every table build and the compilation (cold:
``NUMBA_CACHE_DIR`` a new empty directory) or the loading (warm: the same
directory, filled by an earlier process) of the kernels. ``import
shapley_sets`` is not in the times. The peak resident memory of the process
is reported too. Cold runs are made for the weightings named by ``--cold``.

``ragged``: in one process, a batch of K sets whose numbers of present
candidates are 1..K (K distinct sizes) and a full batch of K sets of K; each
is called once (tables built), then ``--repeat`` more times, and the median of
those repeated calls is reported, with ragged / full.

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# name -> (utility expression, scores expression); ``k`` is K in both.
UTILITIES = {
    "BestOf": ("ss.BestOf()", "rng.random((4, k))"),
    "TopK(4)": ("ss.TopK(4)", "rng.random((4, k))"),
    "AnySuccess": ("ss.AnySuccess()", "rng.random((4, k)) * 0.01"),
    "ExpectedBest(8 types)": ("ss.ExpectedBest(n_types=8)", "rng.random((4, 8, k))"),
    "Pairwise": ("ss.Pairwise(rng.random((k, k)) * 0.0 + 0.1, lam=0.1)", "rng.random((4, k))"),
    "Additive": ("ss.Additive()", "rng.random((4, k))"),
    "mean": ("ss.RankWeighted.mean()", "rng.random((4, k))"),
    "worst_of": ("ss.RankWeighted.worst_of()", "rng.random((4, k))"),
    "top_m_sum(4)": ("ss.RankWeighted.top_m_sum(4)", "rng.random((4, k))"),
    "top_m_mean(4)": ("ss.RankWeighted.top_m_mean(4)", "rng.random((4, k))"),
    "discounted (DCG)": ("ss.RankWeighted.discounted()", "rng.random((4, k))"),
    # General weights, depending on the set's size: a callable and an array.
    "RankWeighted(callable)": (
        "ss.RankWeighted(lambda s, r: (1.0 if r <= 3 else 0.0) - 0.5 / s)", "rng.random((4, k))"),
    "RankWeighted(array)": (
        "ss.RankWeighted(np.tril(rng.normal(size=(k + 1, k + 1))))", "rng.random((4, k))"),
}

# What both probes start with: the utility, its scores and the weighting.
SETUP = """
import resource, statistics, time
import numpy as np
import shapley_sets as ss
rng = np.random.default_rng(0)
k = {k}
u = {u}
x = {x}
weights = {weights!r}
"""

PROBE = SETUP + """
call = (lambda: ss.shapley(u, x)) if weights == "shapley" else (lambda: ss.semivalue(u, x, weights))
t0 = time.perf_counter()
phi = call()
t1 = time.perf_counter()
call()
t2 = time.perf_counter()
assert np.isfinite(phi).all()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
print({{"first": t1 - t0, "second": t2 - t1, "peak_mib": peak}})
"""

RAGGED = SETUP + """
ragged = np.arange(k) < np.arange(1, k + 1)[:, None]  # sizes 1..K
full = np.ones((k, k), dtype=bool)
out = {{}}
for name, mask in (("full", full), ("ragged", ragged)):
    run = (lambda: ss.shapley(u, x, mask=mask)) if weights == "shapley" else (
        lambda: ss.semivalue(u, x, weights, mask=mask))
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    times = []
    for _ in range({repeat}):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    out[name] = (first, statistics.median(times))
print(out)
"""


def _run(code: str, cache_dir: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, cwd=str(REPO))
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return eval(out.stdout.strip().splitlines()[-1])


def _label(weights) -> str:
    return weights if isinstance(weights, str) else f"beta({weights[1]}, {weights[2]})"


def first_calls(ks, weightings, cold_for, only) -> None:
    cache = tempfile.mkdtemp(prefix="ss-large-k-")
    try:
        # Fill the cache once so that "warm" means warm for every kernel.
        subprocess.run([sys.executable, "-m", "shapley_sets", "warmup"], check=True,
                       env={**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(REPO)},
                       cwd=str(REPO), capture_output=True)
        print("| utility | weighting | K | first call, warm cache | first call, cold cache "
              "| second call | peak memory |")
        print("|---|---|---|---|---|---|---|")
        for name, (u, x) in UTILITIES.items():
            if only and name not in only:
                continue
            for k in ks:
                for weights in weightings:
                    code = PROBE.format(k=k, u=u, x=x, weights=weights)
                    warm = _run(code, cache)
                    cold_s = "–"
                    if _label(weights) in cold_for:
                        empty = tempfile.mkdtemp(prefix="ss-large-k-cold-")
                        try:
                            cold_s = f"{_run(code, empty)['first']:.2f} s"
                        finally:
                            shutil.rmtree(empty, ignore_errors=True)
                    print(f"| {name} | {_label(weights)} | {k:,} | {warm['first']:.2f} s | {cold_s} "
                          f"| {warm['second']:.3f} s | {warm['peak_mib']:,.0f} MiB |", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


RAGGED_CASES = ["top_m_mean(4)", "discounted (DCG)", "mean", "RankWeighted(callable)",
                "RankWeighted(array)", "AnySuccess", "TopK(4)", "BestOf"]


def ragged_calls(k, weightings, repeat, only) -> None:
    cache = tempfile.mkdtemp(prefix="ss-ragged-")
    try:
        print("| utility | weighting | full batch, repeated | ragged batch, repeated | ragged / full "
              "| ragged, first call |")
        print("|---|---|---|---|---|---|")
        for name in RAGGED_CASES:
            if only and name not in only:
                continue
            u, _ = UTILITIES[name]
            x = "rng.random((k, k)) * 0.01" if name == "AnySuccess" else "rng.random((k, k))"
            for weights in weightings:
                out = _run(RAGGED.format(k=k, u=u, x=x, weights=weights, repeat=repeat), cache)
                full, ragged = out["full"][1], out["ragged"][1]
                print(f"| {name} | {_label(weights)} | {full * 1e3:.1f} ms | {ragged * 1e3:.1f} ms "
                      f"| {ragged / full:.2f} | {out['ragged'][0]:.2f} s |", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _weights(text: str):
    if text.startswith("beta"):
        a, b = text[len("beta"):].strip("()").split(",")
        return ("beta", float(a), float(b))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["first", "ragged"])
    parser.add_argument("--k", type=int, nargs="+")
    parser.add_argument("--weights", nargs="+", default=["shapley", "banzhaf", "loo"],
                        help="shapley, banzhaf, loo or beta(a,b)")
    parser.add_argument("--cold", nargs="*", default=["shapley"],
                        help="weightings also measured with a cold cache")
    parser.add_argument("--only", nargs="*", help="utility names (the table's first column)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    weightings = [_weights(w) for w in args.weights]
    if args.what == "first":
        first_calls(args.k or [4096, 10_000], weightings, set(args.cold), args.only)
    else:
        ragged_calls((args.k or [600])[0], weightings, args.repeat, args.only)


if __name__ == "__main__":
    main()
