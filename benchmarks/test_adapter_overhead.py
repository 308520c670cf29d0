"""Adapter overhead of layout A beside verl's own GRPO estimator, same batch.

512 responses (64 prompts x 8, verl's uid strings, shuffled) x 8 candidates x
1,024 tokens. Rows, each timed on numpy arrays and on torch CPU tensors:

- ``adapter``: ``candidate_advantages`` + ``set_advantages`` +
  ``token_advantages`` on precomputed Shapley values;
- ``adapter + shapley``: the same plus ``ss.value`` and ``ss.shapley``;
- ``verl estimator``: ``shapley_sets.integrations.verl``'s ``shapley_grpo``
  through verl's registry on encoded ``token_level_rewards`` (decoding
  included), torch only;
- ``verl layout A, driver side``: what verl's V1 driver runs per batch with
  the ``shapley_*`` trainer modes: the reward manager's records (Shapley
  values computed by the reward workers, JSON) written into ``rm_scores``,
  then the estimator;
- ``token_candidates``: the token -> candidate map of 512 x 1,024 tokens
  (offsets as an (N, T, 2) int64 array, 8 spans per completion as an
  (N, K, 2) array and as lists of pairs);

beside the real ``verl.trainer.ppo.core_algos.compute_grpo_outcome_advantage``
(and verl's ``grpo_vectorized``) on the same rewards. Nothing is asserted.

    python benchmarks/test_adapter_overhead.py         # table, median of 7 after a warm-up
    python benchmarks/test_adapter_overhead.py --numba-threads 1
    python -m pytest benchmarks/test_adapter_overhead.py   # pytest-benchmark
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest

import shapley_sets as ss
from shapley_sets.adapters.arrays import to_numpy

N, K, T, G = 512, 8, 1024, 8
REPEAT = 7


def make_batch(seed=0):
    """numpy inputs: x, mask, uids, candidate ids (N, T), response mask (N, T)."""
    rng = np.random.default_rng(seed)
    x = rng.random((N, K))
    mask = rng.random((N, K)) < 0.9
    mask[:, 0] = True
    # Present candidates first, so candidate ids are 0..K_g-1 in token order.
    mask = np.sort(mask, axis=1)[:, ::-1].copy()
    uids = np.array([f"uid-{i // G:04d}" for i in range(N)], dtype=object)[rng.permutation(N)]
    lengths = rng.integers(T // 2, T + 1, size=N)
    rmask = np.arange(T)[None, :] < lengths[:, None]
    k_g = mask.sum(axis=1)
    # A preamble, then each present candidate in one span, then the end of the response.
    ids = (np.arange(T)[None, :] * (k_g[:, None] + 1)) // lengths[:, None] - 1
    ids = np.where(rmask & (ids < k_g[:, None]), ids, -1)
    return x, mask, uids, ids, rmask


def adapter(R, phi, mask, uids, ids, rmask):
    cand = ss.grpo.candidate_advantages(R, phi, uids, mask=mask, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    return ss.grpo.token_advantages(cand, sa, ids, rmask)


def adapter_with_shapley(u, x, mask, uids, ids, rmask):
    # The numerical core takes numpy; tensors go through the array adapter (a CPU view).
    xn, mn = to_numpy(x), to_numpy(mask)
    R = ss.value(u, xn, mask=mn)
    phi = ss.shapley(u, xn, mask=mn)
    # Passing the caller's mask keeps the answer in the caller's type (a tensor for tensors).
    return adapter(R, phi, mask, uids, ids, rmask)


def token_batch(seed=0):
    """(N, T, 2) offsets of tokens of 1..7 characters, (N, K, 2) sorted spans."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, 8, size=(N, T))
    ends = np.cumsum(lens, axis=1)
    offsets = np.stack([ends - lens, ends], -1).astype(np.int64)
    cuts = np.sort(rng.integers(0, ends[:, -1:], size=(N, 2 * K)), axis=1)
    return offsets, cuts.reshape(N, K, 2).copy()


def cases():
    """name -> zero-argument callable; the verl rows first."""
    import json

    import torch
    from verl.trainer.ppo import core_algos

    import shapley_sets.integrations.verl as sv

    u = ss.BestOf()
    x, mask, uids, ids, rmask = make_batch()
    R, phi = ss.value(u, x, mask=mask), ss.shapley(u, x, mask=mask)
    tx, tmask = torch.tensor(x, dtype=torch.float32), torch.from_numpy(mask)
    tR, tphi = torch.tensor(R, dtype=torch.float32), torch.tensor(phi, dtype=torch.float32)
    tids, trmask = torch.from_numpy(ids), torch.from_numpy(rmask.astype(np.float32))
    tlr = sv.encode_token_rewards(phi, ids, rmask)  # row sums are the set rewards R
    verl_grpo = core_algos.compute_grpo_outcome_advantage
    verl_vec = core_algos.get_adv_estimator_fn("grpo_vectorized")
    ours = core_algos.get_adv_estimator_fn("shapley_grpo")
    cfg = {"norm_adv_by_std_in_grpo": True}
    # The reward manager's records: each present candidate's value on its last token.
    records, lengths = [], torch.from_numpy(rmask.sum(1))
    for i in range(N):
        cand_ids = ids[i]
        k_i = int(mask[i].sum())
        ends = [int(np.flatnonzero(cand_ids == c)[-1]) for c in range(k_i)]
        records.append(json.dumps({"phi": phi[i, :k_i].tolist(), "ends": ends}))
    scalar = torch.zeros(N, T)
    scalar[torch.arange(N), lengths - 1] = torch.tensor(R, dtype=torch.float32)
    offsets, spans = token_batch()
    span_lists = [[tuple(map(int, p)) for p in row] for row in spans]

    def driver_path():
        tl = sv.rm_scores_from_records(scalar, lengths, records)
        return ours(token_level_rewards=tl, response_mask=trmask, index=uids, config=cfg)

    return {
        "verl compute_grpo_outcome_advantage": lambda: verl_grpo(tlr, trmask, uids),
        "verl grpo_vectorized": lambda: verl_vec(token_level_rewards=tlr, response_mask=trmask, index=uids, config=cfg),
        "adapter, numpy": lambda: adapter(R, phi, mask, uids, ids, rmask),
        "adapter, torch CPU": lambda: adapter(tR, tphi, tmask, uids, tids, trmask),
        "adapter + shapley, numpy": lambda: adapter_with_shapley(u, x, mask, uids, ids, rmask),
        "adapter + shapley, torch CPU": lambda: adapter_with_shapley(u, tx, tmask, uids, tids, trmask),
        "verl estimator shapley_grpo (decode + adapter)": lambda: ours(
            token_level_rewards=tlr, response_mask=trmask, index=uids, config=cfg
        ),
        "verl layout A, driver side (records + estimator)": driver_path,
        "token_candidates, spans as an array": lambda: ss.grpo.token_candidates(offsets, spans),
        "token_candidates, spans as lists": lambda: ss.grpo.token_candidates(offsets, span_lists),
    }


def median_seconds(fn, repeat=REPEAT):
    fn()  # warm-up: numba compilation, caches
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main(argv=None):
    import argparse

    import numba
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numba-threads", type=int, default=None,
                        help="numba threads for ss.shapley (default: numba's; on a loaded machine, waking "
                             "parallel workers can cost milliseconds, so compare with 1)")
    args = parser.parse_args(argv)
    if args.numba_threads:
        numba.set_num_threads(args.numba_threads)
    torch.set_num_threads(1)  # compare work, not how busy the other core is
    table = cases()
    load0 = os.getloadavg()[0]
    times = {name: median_seconds(fn) for name, fn in table.items()}
    base = times["verl compute_grpo_outcome_advantage"]
    vec = times["verl grpo_vectorized"]
    print(f"batch {N} responses x {K} candidates x {T} tokens (BestOf), median of {REPEAT} after a warm-up;")
    print(f"torch {torch.__version__} on 1 thread; numba {numba.get_num_threads()} thread(s); "
          f"cores {os.cpu_count()}; load average {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'':50s} {'ms':>9s} {'x verl grpo':>12s} {'x grpo_vectorized':>18s}")
    for name, t in times.items():
        print(f"{name:50s} {t * 1e3:9.2f} {t / base:12.2f} {t / vec:18.2f}")


# -- pytest-benchmark ----------------------------------------------------------------
NAMES = [
    "verl compute_grpo_outcome_advantage",
    "verl grpo_vectorized",
    "adapter, numpy",
    "adapter, torch CPU",
    "adapter + shapley, numpy",
    "adapter + shapley, torch CPU",
    "verl estimator shapley_grpo (decode + adapter)",
    "verl layout A, driver side (records + estimator)",
    "token_candidates, spans as an array",
    "token_candidates, spans as lists",
]


@pytest.fixture(scope="module")
def table():
    pytest.importorskip("pytest_benchmark", reason="pip install -e '.[bench]' (pytest-benchmark)")
    pytest.importorskip("verl", reason="verl is not installed (pip install -e '.[verl]')")
    return cases()


@pytest.mark.benchmark(group=f"adapter overhead {N}x{K}x{T}")
@pytest.mark.parametrize("name", NAMES)
def test_adapter_overhead(benchmark, table, name):
    benchmark(table[name])


if __name__ == "__main__":
    main()
