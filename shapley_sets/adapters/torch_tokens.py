"""Token-level advantages computed on the tensors' own device.

The numerical core runs on the CPU, but token-level tensors are the large
ones: (N, T) ids and masks, thousands of tokens per response. For tensors on
an accelerator, copying them to host memory and the answer back costs far
more than the expansion itself, so this twin of
``shapley_sets.grpo._kernels.gather_token_advantages`` does it with torch
operations where the tensors live. Only the small (N, K) candidate and (N,)
set advantages travel to the device. torch comes from ``sys.modules``: this
module is only reached with a tensor in hand.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["gather_token_advantages_torch"]


def gather_token_advantages_torch(cand: np.ndarray, set_adv: np.ndarray, ids, keep, present=None):
    """``out[i, t] = cand[i, ids[i, t]]``, ``set_adv[i]`` for id -1, 0 where
    ``keep`` is False; in float32 on ``ids``' device.

    Args:
        cand: (N, K) float64 numpy candidate advantages.
        set_adv: (N,) float64 numpy set advantages.
        ids: (N, T) integer tensor (any integer dtype up to int64).
        keep: (N, T) bool tensor on ``ids``' device, or None (keep all).
        present: optional (N, K) bool numpy array: the candidates present;
            a kept id naming an absent one is reported like an id out of range.

    Returns:
        ``(out, bad)``: the (N, T) float32 tensor and -1, or ``(None, bad)``
        with ``bad`` the row-major position of the first kept id outside
        [-1, K) (or naming an absent candidate), as the numba kernel reports it.

    The values are those of the numpy path cast to float32, bit for bit: a
    gather copies values, it does not round them.

    Examples:
        >>> import numpy as np, torch
        >>> ids = torch.tensor([[-1, 0, 1, 1]])
        >>> out, bad = gather_token_advantages_torch(np.array([[1.0, -1.0]]), np.array([0.5]), ids, None)
        >>> out.tolist(), bad
        ([[0.5, 1.0, -1.0, -1.0]], -1)
    """
    torch = sys.modules["torch"]
    device = ids.device
    n, t = ids.shape
    k = cand.shape[1]
    ids64 = ids.long()
    bad = (ids64 < -1) | (ids64 >= k)
    if present is not None and k:
        # torch.tensor copies: the validated mask is read-only, which
        # torch.from_numpy warns about.
        present_t = torch.tensor(np.asarray(present, dtype=np.bool_), device=device)
        bad |= (ids64 >= 0) & ~present_t.gather(1, ids64.clamp(0, k - 1))
    if keep is not None:
        bad &= keep
    if bool(bad.any()):  # the one device synchronisation
        return None, int(bad.reshape(-1).nonzero()[0, 0])
    candidate = torch.from_numpy(np.ascontiguousarray(cand, dtype=np.float32)).to(device)
    per_set = torch.from_numpy(np.ascontiguousarray(set_adv, dtype=np.float32)).to(device)
    if k:
        out = candidate.gather(1, ids64.clamp(0, k - 1))
        out = torch.where(ids64 >= 0, out, per_set[:, None])
    else:  # no candidates: every kept id is -1
        out = per_set[:, None].expand(n, t).clone()
    if keep is not None:
        out = torch.where(keep, out, torch.zeros((), dtype=out.dtype, device=device))
    return out, -1
