"""Numba kernels of the GRPO layer (compute only; the Python layer validates)."""

from __future__ import annotations

import numpy as np

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


@njit(cache=True)
def group_moments(values, valid, index, ddof, count, mean, std):
    """Per group: the count, mean and std (``ddof``) of the valid values.

    Each group is scaled by its largest magnitude first and the std takes
    two passes (mean, then centred squares), so neither sums nor squares
    overflow and close, large values keep their spread. Sums run in input
    order, as ``np.bincount`` sums, so the results equal those of the
    numpy expression this replaced bit for bit. A group with no valid
    value gets mean NaN, one with at most ``ddof`` std NaN.
    """
    g = count.shape[0]
    peak = np.zeros(g)
    for e in range(values.shape[0]):
        if valid[e]:
            q = index[e]
            count[q] += 1.0
            a = abs(values[e])
            if a > peak[q] or a != a:  # np.maximum: NaN wins
                peak[q] = a
    for q in range(g):
        if peak[q] == 0.0:
            peak[q] = 1.0
        mean[q] = 0.0
        std[q] = 0.0
    for e in range(values.shape[0]):
        if valid[e]:
            mean[index[e]] += values[e] / peak[index[e]]
    for q in range(g):
        mean[q] = mean[q] / count[q] if count[q] > 0 else np.nan
    for e in range(values.shape[0]):
        if valid[e]:
            c = values[e] / peak[index[e]] - mean[index[e]]
            std[index[e]] += c * c
    for q in range(g):
        std[q] = np.sqrt(std[q] / (count[q] - ddof)) * peak[q] if count[q] > ddof else np.nan
        mean[q] *= peak[q]
