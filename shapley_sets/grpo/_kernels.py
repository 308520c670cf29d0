"""Numba kernels of the GRPO layer (compute only; the Python layer validates)."""

from __future__ import annotations

from .._jit import njit


@njit(cache=True)
def gather_token_advantages(cand, set_adv, ids, keep, has_keep, present, has_present, out):
    """out[i, t] = cand[i, ids[i, t]], set_adv[i] for id -1, 0 where not kept.

    One pass over the tokens. An id outside [-1, K), or (with
    ``has_present``) naming a candidate that ``present`` marks absent, is not
    read: the kernel stops and returns its flat position for the caller to
    report (-1 if none).
    """
    n, t = ids.shape
    k = cand.shape[1]
    for i in range(n):
        for j in range(t):
            if has_keep and not keep[i, j]:
                out[i, j] = 0.0
                continue
            c = ids[i, j]
            if c == -1:
                out[i, j] = set_adv[i]
            elif 0 <= c < k and (not has_present or present[i, c]):
                out[i, j] = cand[i, c]
            else:
                return i * t + j
    return -1
