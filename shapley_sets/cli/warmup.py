"""``shapley-sets warmup``: compile every kernel into numba's on-disk cache.

For image builds and CI caches: run it once where the package is installed
(with ``NUMBA_CACHE_DIR`` set if the package directory will be read-only),
and later processes load compiled code instead of compiling it.
"""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``shapley-sets warmup``."""
    parser.add_argument("--integrations", action="store_true",
                        help="also the trainer integrations' kernels (imports verl and torch)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")


def run(args: argparse.Namespace) -> int:
    """Compile every kernel; print what was compiled and where it is cached."""
    from .._jit import uncached_kernels
    from .._warmup import timed_warmup

    counts, seconds = timed_warmup(include_optional=args.integrations)
    if not args.quiet:
        for name, n in counts.items():
            print(f"  {name}: {n} specialisation{'s' if n != 1 else ''}")
    where = os.environ.get("NUMBA_CACHE_DIR") or "next to the package's modules (__pycache__)"
    uncached = uncached_kernels()
    if uncached:
        where = f"nowhere: numba cannot write a cache here ({len(uncached)} kernels uncached)"
    print(f"compiled or loaded {len(counts)} kernels in {seconds:.1f} s; cached {where}")
    return 1 if uncached else 0
