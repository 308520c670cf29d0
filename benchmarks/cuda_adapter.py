"""Layout-A adapter cost on torch CUDA tensors, beside the same work on numpy
and torch CPU, and beside a plain GRPO advantage computed on the GPU.

The numerical core runs on the CPU: CUDA tensors are copied to host memory,
and the advantages are copied back to the caller's device. This measures what
that costs on the batch of ``test_adapter_overhead.py`` (512 responses x 8
candidates x 1,024 tokens, BestOf). Needs torch with CUDA; verl is not needed.

    python benchmarks/cuda_adapter.py     # table, median of 7 after a warm-up

Rows:

- ``adapter``: ``candidate_advantages`` + ``set_advantages`` +
  ``token_advantages`` on precomputed Shapley values;
- ``adapter + shapley``: the same plus ``ss.value`` and ``ss.shapley``;
- ``torch GRPO on the device``: per-group mean/std normalisation of the set
  rewards broadcast over the response tokens, in torch on the same device:
  the floor any GRPO estimator pays there.

CUDA rows synchronise the device before the clock stops. Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import shapley_sets as ss  # noqa: E402
from test_adapter_overhead import REPEAT, G, K, N, T, adapter, adapter_with_shapley, make_batch  # noqa: E402


def torch_grpo(torch, R, rmask, groups):
    """Group-normalised set rewards on ``R``'s device, broadcast to tokens."""
    r = R.view(groups, -1)
    adv = (r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-6)
    return adv.view(-1, 1) * rmask


def main():
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("needs torch with CUDA")
    u = ss.BestOf()
    x, mask, uids, ids, rmask = make_batch()
    # Contiguous uid groups of G, so the torch baseline can reshape.
    order = np.argsort(uids, kind="stable")
    x, mask, uids, ids, rmask = x[order], mask[order], uids[order], ids[order], rmask[order]
    R, phi = ss.value(u, x, mask=mask), ss.shapley(u, x, mask=mask)

    def tensors(device):
        f32 = dict(dtype=torch.float32, device=device)
        return (torch.tensor(x, **f32), torch.tensor(mask, device=device), torch.tensor(R, **f32),
                torch.tensor(phi, **f32), torch.tensor(ids, device=device),
                torch.tensor(rmask.astype(np.float32), **f32))

    rows = {}
    for device in ("cpu", "cuda"):
        tx, tmask, tR, tphi, tids, trmask = tensors(device)
        rows[f"adapter, torch {device}"] = (device, lambda a=(tR, tphi, tmask, uids, tids, trmask): adapter(*a))
        rows[f"adapter + shapley, torch {device}"] = (
            device, lambda a=(u, tx, tmask, uids, tids, trmask): adapter_with_shapley(*a))
        rows[f"torch GRPO on the device, {device}"] = (
            device, lambda a=(torch, tR, trmask, N // G): torch_grpo(*a))
    rows["adapter, numpy"] = ("cpu", lambda: adapter(R, phi, mask, uids, ids, rmask))

    # The CUDA answer must equal the CPU one (float32, same formulas).
    cpu = adapter(*tensors("cpu")[2:4], tensors("cpu")[1], uids, *tensors("cpu")[4:])
    gpu = adapter(*tensors("cuda")[2:4], tensors("cuda")[1], uids, *tensors("cuda")[4:])
    assert gpu.device.type == "cuda" and gpu.dtype == torch.float32
    max_diff = float((gpu.cpu() - cpu).abs().max())

    def median_seconds(device, fn):
        fn()
        samples = []
        for _ in range(REPEAT):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if device == "cuda":
                torch.cuda.synchronize()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    torch.set_num_threads(1)
    times = {name: median_seconds(device, fn) for name, (device, fn) in rows.items()}
    print(f"batch {N} responses x {K} candidates x {T} tokens (BestOf), median of {REPEAT} after a warm-up;")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}; torch CPU on 1 thread; "
          f"cores {os.cpu_count()}; CUDA vs CPU adapter max |diff| {max_diff:.1e}")
    base = times["torch GRPO on the device, cuda"]
    print(f"{'':40s} {'ms':>9s} {'x torch GRPO on cuda':>21s}")
    for name, t in times.items():
        print(f"{name:40s} {t * 1e3:9.3f} {t / base:21.1f}")


if __name__ == "__main__":
    main()
