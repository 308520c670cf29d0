"""Development-only exploration: credit-rule variants that are not library options.

Each variant is written here from its formula in numpy, as a :class:`Method`
whose advantages the demo's training loop uses unchanged (same tasks, K = 4,
G = 8, 300 steps, Adam lr 0.1, seeds). ``R`` are a group's set rewards,
``A_g = (R − R̄)/σ_R`` (0 where σ_R = 0), ``c`` leave-one-out credits,
``c̄``/``σ_c`` their mean/std over the group's G·K candidates, λ the
number after the colon:

- ``rscale:λ`` — ``A_g + λ(c − c̄)/σ_R`` (the credit on the reward's scale; 0 where σ_R = 0);
- ``rsum:λ`` — ``A_g + λ(c − c̄)/(σ_R + σ_c)``, the library's ``gate="sum"``;
- ``rsumg:λ`` — ``rsum`` times the spread gate σ_R/(σ_R + σ_c);
- ``rmax:λ`` — ``A_g + λ(c − c̄)/max(σ_R, σ_c)``;
- ``cv:λ`` — ``(R − b_k)/σ_R`` with the per-candidate baseline ``b_k = λ·U(S∖k) + (1 − λ)·R̄``;
- ``cvopt`` — the same with λ per group = Cov(R, U(S∖k))/Var(U(S∖k)) over its candidates, clipped to [0, 1];
- ``rscale_set:λ`` — ``rscale`` with the credits centred in their own set;
- ``posclip:λ`` — the spread-gated z-score with its negative half dropped;
- ``spread:λ`` — the library's ``gate="spread"`` with β = λ (a cross-check);
- ``seq:G:λ`` / ``seqgain:G:λ`` — credit ``U(S) − U(c_<k)`` (exactly unbiased without
  replacement: the baseline depends on the earlier draws only) or ``U(c_≤k) − U(c_<k)``
  (the gain at its draw), z-scored, gate G = ``spread`` or ``ungated``.

``grpo`` and ``rec`` (:data:`RECOMMENDED_RULE`) are the library's;
``grpo@N`` is plain GRPO trained with training seed ``seed + N`` on the same
problem: how often one GRPO run ends at or above another measures how far
from a coin toss "final ≥ GRPO's" is for a rule no better than GRPO. Run on
development seeds only::

    PYTHONPATH=. python benchmarks/credit_variants.py --seeds 100-109 --rules grpo,rec,rsum:1,cv:0.5

It prints, per rule, the pooled speed-up to 95% against GRPO (an unreached
run counts as 300 steps), the runs with final ≥ GRPO's, and per task the
speed-up and the mean final's difference in points.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from shapley_sets.grpo import RECOMMENDED_RULE, CreditRule
from shapley_sets.sim import TASKS, Method
from shapley_sets.sim.problem import Problem, set_utility

from credit_rules import run_protocol  # the same protocol as the held-out script (run from benchmarks/'s parent)


@dataclass(frozen=True)
class Variant(Method):
    """A credit-rule variant; ``rule`` only tells the loop which credit to compute."""

    variant: str = ""
    lam: float = 1.0
    cred: str = "loo"

    @property
    def credit(self):
        return self.cred

    def advantages(self, rewards, credits, group_size, step=0):
        lead = np.shape(rewards)
        r = np.asarray(rewards, float).reshape(-1, group_size)
        c = np.asarray(credits, float).reshape(r.shape + (-1,))
        m, s = r.mean(1, keepdims=True), r.std(1, ddof=1, keepdims=True)
        a = np.where(s > 0, (r - m) / (s + 1e-6), 0.0)[..., None]
        cm, cs = c.mean((1, 2), keepdims=True), c.std((1, 2), ddof=1, keepdims=True)
        sr = s[..., None]
        differ = sr > 0  # the sets of the group earn different rewards
        safe = np.where(differ, sr, 1.0)
        v, lam = self.variant, self.lam
        if v == "rscale":
            out = a + lam * np.where(differ, (c - cm) / safe, 0.0)
        elif v == "rsum":
            out = a + lam * np.where(differ, (c - cm) / (sr + cs + 1e-12), 0.0)
        elif v == "rsumg":
            out = a + lam * np.where(differ, (c - cm) * sr / (sr + cs + 1e-12) ** 2, 0.0)
        elif v == "rmax":
            out = a + lam * np.where(differ, (c - cm) / (np.maximum(sr, cs) + 1e-12), 0.0)
        elif v == "cv":
            out = np.where(differ, ((1 - lam) * (r - m)[..., None] + lam * c) / safe, 0.0)
        elif v == "cvopt":
            u = r[..., None] - c  # U(S minus k)
            du = u - u.mean((1, 2), keepdims=True)
            dr = np.broadcast_to((r - m)[..., None], c.shape)
            cov, var = (du * dr).mean((1, 2), keepdims=True), (du * du).mean((1, 2), keepdims=True)
            lam_g = np.clip(np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0), 0.0, 1.0)
            base = lam_g * u + (1 - lam_g) * m[..., None]
            out = np.where(differ, (r[..., None] - base) / safe, 0.0)
        elif v == "rscale_set":
            out = a + lam * np.where(differ, (c - c.mean(2, keepdims=True)) / safe, 0.0)
        elif v in ("posclip", "spread"):
            z = (c - cm) / (cs + 1e-6)
            w = np.where(differ, sr / (sr + cs + 1e-300), 0.0)
            out = a + lam * w * (np.maximum(z, 0.0) if v == "posclip" else z)
        elif v == "ungated":
            out = a + lam * (c - cm) / (cs + 1e-6)
        else:
            raise ValueError(f"unknown variant {v!r}")
        return out.reshape(lead + (c.shape[-1],))


_semivalue_credits = Problem.credits


def _credits(self, sets, credit):
    """Problem.credits plus the two sequential credits, which need the draw order."""
    if credit not in ("seq", "seqgain"):
        return _semivalue_credits(self, sets, credit)
    sets = np.asarray(sets)
    k = sets.shape[-1]
    prefix = np.stack([np.zeros(sets.shape[:-1])] + [set_utility(self, sets[..., :j]) for j in range(1, k + 1)], -1)
    return prefix[..., k:] - prefix[..., :k] if credit == "seq" else prefix[..., 1:] - prefix[..., :k]


@dataclass(frozen=True)
class Rerun(Method):
    """Plain GRPO with another training seed (``seed + seed_offset``)."""

    seed_offset: int = 0


def _method(spec: str) -> Method:
    if spec == "grpo":
        return Method("grpo")
    if spec.startswith("grpo@"):
        return Rerun("grpo", label=spec, seed_offset=int(spec[5:]))
    if spec == "rec":
        return Method("rule", RECOMMENDED_RULE, label="rec")
    parts = spec.split(":")
    if parts[0] in ("seq", "seqgain"):
        gate = "spread" if parts[1] == "spread" else "ungated"
        return Variant("rule", CreditRule("loo"), label=spec, variant=gate, lam=float(parts[2]), cred=parts[0])
    return Variant("rule", CreditRule("loo"), label=spec, variant=parts[0], lam=float(parts[1]) if len(parts) > 1 else 1.0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="100-109", help="problem and training seeds, A-B (development only)")
    parser.add_argument("--rules", default="grpo,rec,rsum:1", help="comma-separated; grpo first")
    parser.add_argument("--tasks", default=",".join(TASKS))
    args = parser.parse_args(argv)
    Problem.credits = _credits  # this script only: the sequential credits
    lo, _, hi = args.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    methods = [_method(s) for s in args.rules.split(",")]
    tasks = args.tasks.split(",")
    start = time.perf_counter()
    res = run_protocol(tasks, seeds, methods, start)
    base = methods[0].name
    print(f"seeds {args.seeds}, tasks {','.join(tasks)}: pooled speed-up to 95% vs {base}, runs with final >= {base}'s,"
          f" per task speed-up and mean final - {base}'s (points)")
    for m in methods:
        keys = [(t, s) for t in tasks for s in seeds]
        speed = sum(res[t, s, base][0] for t, s in keys) / sum(res[t, s, m.name][0] for t, s in keys)
        ge = sum(res[t, s, m.name][1] >= res[t, s, base][1] for t, s in keys)
        per = []
        for t in tasks:
            sp = sum(res[t, s, base][0] for s in seeds) / sum(res[t, s, m.name][0] for s in seeds)
            df = 100 * np.mean([res[t, s, m.name][1] - res[t, s, base][1] for s in seeds])
            per.append(f"{t} {sp:.2f}x {df:+.2f}")
        print(f"{m.name:18s} {speed:.2f}x  {ge:>3d}/{len(keys)}  | " + " | ".join(per))
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
