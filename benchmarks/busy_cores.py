"""A parallel call with one and with all numba threads, the other cores idle or busy.

    python benchmarks/busy_cores.py [--repeat 60]

``ss.shapley(ss.BestOf(), x)`` on 65,536 sets of 16 candidates (numba's
parallel path), with 1 and with ``numba.config.NUMBA_NUM_THREADS`` threads,
alternated twice; first with nothing else running, then with one process
spinning per core but the first, as data loaders or other ranks keep cores
busy in a trainer. Prints the medians and 90th percentiles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numba
import numpy as np

import shapley_sets as ss


def measure(label: str, repeat: int) -> None:
    x = np.random.default_rng(0).random((65536, 16))
    u = ss.BestOf()
    ss.shapley(u, x)  # compiled or loaded, and the pool started
    most = numba.config.NUMBA_NUM_THREADS
    runs: dict = {}
    for threads in (1, most, 1, most):
        numba.set_num_threads(threads)
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            ss.shapley(u, x)
            samples.append(time.perf_counter() - t0)
        runs.setdefault(threads, []).append((statistics.median(samples), float(np.percentile(samples, 90))))
    numba.set_num_threads(most)
    for threads, pairs in runs.items():
        medians = ", ".join(f"{m * 1e3:.2f}" for m, _ in pairs)
        p90 = ", ".join(f"{p * 1e3:.2f}" for _, p in pairs)
        print(f"{label}: {threads} thread(s): median {medians} ms; 90th percentile {p90} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args(argv)
    print(f"cores {os.cpu_count()}, numba threads {numba.config.NUMBA_NUM_THREADS}, "
          f"layer after the first call: see below; load average {os.getloadavg()[0]:.2f}")
    measure("other cores idle", args.repeat)
    print(f"threading layer: {numba.threading_layer()}")
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(max(1, (os.cpu_count() or 2) - 1))]
    try:
        time.sleep(0.5)
        measure("other cores busy (one spinning process each)", args.repeat)
    finally:
        for p in spinners:
            p.kill()


if __name__ == "__main__":
    main()
