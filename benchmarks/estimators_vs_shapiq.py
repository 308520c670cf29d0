"""Error at equal budget: ss.shapley_estimate against shapiq's approximators.

The protocol and the games are in ``shapley_sets.bench.estimation`` (also the
``estimators`` section of ``shapley-sets bench``). shapiq pulls pandas,
scikit-learn and matplotlib, so it lives in its own environment:

    python -m venv --system-site-packages .venv-shapiq
    .venv-shapiq/bin/pip install shapiq
    PYTHONPATH=$PWD .venv-shapiq/bin/python benchmarks/estimators_vs_shapiq.py

Options: ``--ks 10,16``, ``--seeds 3``, ``--json out.json``, ``--families
unanimity``, ``--seed-offset 20`` (seeds 20, 21, ... instead of 0, 1, ...:
the comparison's figures use offset 0; estimator changes are developed on
other seeds).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json

import shapley_sets as ss
from shapley_sets.bench.estimation import FAMILIES, compare_estimators


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="10,16,20")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", default=None)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed-offset", type=int, default=0)
    args = parser.parse_args(argv)
    rows = compare_estimators(ks=tuple(int(v) for v in args.ks.split(",")), seeds=args.seeds,
                              families=tuple(args.families.split(",")), seed_offset=args.seed_offset)
    for r in rows:
        theirs = "shapiq not installed" if r["ratio"] is None else (
            f"shapiq {r['shapiq_best']:20s} {r['shapiq_mae']:.3e}  ours/shapiq {r['ratio']:.3f}"
            f"  seeds ours<=shapiq {r['seeds_ours_not_worse']}/{args.seeds}")
        print(f"{r['family']:14s} K={r['K']:2d} budget={r['budget']:5d}  ours {r['ours_best']:11s} "
              f"{r['ours_mae']:.3e}  {theirs}", flush=True)
    if args.json:
        try:
            version = importlib.metadata.version("shapiq")
        except importlib.metadata.PackageNotFoundError:
            version = None
        with open(args.json, "w") as fh:
            json.dump({"shapiq": version, "shapley_sets": ss.__version__, "seeds": args.seeds,
                       "seed_offset": args.seed_offset,
                       "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
