"""Adapter overhead of layout A vs a GRPO estimator on the same batch.

512 responses (64 prompts x 8, verl-style uid strings) x 8 candidates x 1,024
tokens. Times ``candidate_advantages`` + ``set_advantages`` +
``token_advantages`` for numpy arrays and for torch CPU tensors, beside a
faithful restatement of verl's ``compute_grpo_outcome_advantage`` (its
per-response Python loop) and of its vectorised variant, on the same batch.
Median of 7 runs after one warm-up, torch on one thread; nothing is asserted.

    python benchmarks/grpo_overhead.py
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

import numpy as np

import shapley_sets as ss

N, K, T, G = 512, 8, 1024, 8
REPEAT = 7


def median_time(fn) -> float:
    fn()
    samples = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((N, K))
    mask = rng.random((N, K)) < 0.9
    mask[:, 0] = True
    R = ss.value(ss.BestOf(), x, mask=mask)
    phi = ss.shapley(ss.BestOf(), x, mask=mask)
    uids = np.array([f"uid-{i // G:04d}" for i in range(N)], dtype=object)[rng.permutation(N)]
    lengths = rng.integers(T // 2, T + 1, size=N)
    response_mask = np.arange(T)[None, :] < lengths[:, None]
    # Tokens: a preamble, then K candidates in consecutive spans, then the end.
    ids = np.minimum((np.arange(T)[None, :] * (K + 1)) // lengths[:, None] - 1, K - 1)
    ids = np.where(response_mask, ids, -1)
    # Absent candidates own no tokens.
    ids = np.where(np.take_along_axis(mask, np.maximum(ids, 0), axis=1), ids, -1)
    return R, phi, mask, uids, ids, response_mask


def layout_a(R, phi, mask, uids, ids, response_mask):
    A = ss.grpo.candidate_advantages(R, phi, uids, mask=mask)
    sa = ss.grpo.set_advantages(R, uids)
    return ss.grpo.token_advantages(A, sa, ids, response_mask)


def main():
    import torch

    # One intra-op thread: the figures then compare work, not how busy the
    # other cores happen to be.
    torch.set_num_threads(1)

    R, phi, mask, uids, ids, rmask = batch()
    t_np = median_time(lambda: layout_a(R, phi, mask, uids, ids, rmask))
    t_tok_np = median_time(lambda: ss.grpo.token_advantages(phi, R, ids, rmask))

    tR, tphi, tmask = torch.tensor(R, dtype=torch.float32), torch.tensor(phi, dtype=torch.float32), torch.tensor(mask)
    tids, trmask = torch.tensor(ids), torch.tensor(rmask, dtype=torch.float32)
    t_torch = median_time(lambda: layout_a(tR, tphi, tmask, uids, tids, trmask))

    token_level_rewards = torch.zeros(N, T)
    token_level_rewards[:, 0] = tR

    def verl_loop():  # compute_grpo_outcome_advantage, verl 0.9.1, restated
        scores = token_level_rewards.sum(dim=-1)
        id2score, id2mean, id2std = defaultdict(list), {}, {}
        with torch.no_grad():
            for i in range(N):
                id2score[uids[i]].append(scores[i])
            for idx in id2score:
                if len(id2score[idx]) == 1:
                    id2mean[idx], id2std[idx] = torch.tensor(0.0), torch.tensor(1.0)
                else:
                    s = torch.stack(id2score[idx])
                    id2mean[idx], id2std[idx] = torch.mean(s), torch.std(s)
            for i in range(N):
                scores[i] = (scores[i] - id2mean[uids[i]]) / (id2std[uids[i]] + 1e-6)
            return scores.unsqueeze(-1) * trmask

    def verl_vectorised():  # compute_grpo_vectorized_outcome_advantage, restated
        with torch.no_grad():
            scores = token_level_rewards.sum(dim=-1)
            _, inv = np.unique(uids.astype(str), return_inverse=True)
            g = torch.from_numpy(inv.astype(np.int64))
            n_g = int(g.max()) + 1
            count = torch.zeros(n_g).index_add_(0, g, torch.ones(N))
            mean = torch.zeros(n_g).index_add_(0, g, scores) / count
            c = scores - mean[g]
            std = torch.sqrt(torch.zeros(n_g).index_add_(0, g, c * c) / (count - 1).clamp_min(1))
            return ((scores - mean[g]) / (std[g] + 1e-6)).unsqueeze(-1) * trmask

    t_verl = median_time(verl_loop)
    t_verl_vec = median_time(verl_vectorised)
    ref = verl_loop()
    ours = layout_a(tR, tphi, tmask, uids, tids, trmask)
    beta0 = ss.grpo.token_advantages(
        ss.grpo.candidate_advantages(tR, tphi, uids, mask=tmask, beta=0.0),
        ss.grpo.set_advantages(tR, uids), tids, trmask,
    )
    print(f"batch: {N} responses x {K} candidates x {T} tokens, median of {REPEAT}")
    print(f"layout A, numpy in       : {t_np * 1e3:8.2f} ms  (token_advantages alone {t_tok_np * 1e3:.2f} ms)")
    print(f"layout A, torch CPU in   : {t_torch * 1e3:8.2f} ms")
    print(f"verl GRPO loop (restated): {t_verl * 1e3:8.2f} ms")
    print(f"verl GRPO vectorised     : {t_verl_vec * 1e3:8.2f} ms")
    print(f"beta=0 vs verl loop, max |diff|: {float((beta0 - ref).abs().max()):.2e}; "
          f"beta=1 output {tuple(ours.shape)} {ours.dtype}")


if __name__ == "__main__":
    main()
