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


#: Codes of :func:`rule_token_advantages_kernel`: done, or a case it leaves to
#: the composed functions (which raise the error that names it).
FUSED_OK, FUSED_NOT_FINITE, FUSED_BAD_ID = 0, 1, 2


@njit(cache=True)
def _set_advantage_rows(R, valid, index, n_groups, divide, eps, ddof, zero_singletons, adv, sigma):
    """``_set_advantages`` (scale "group" if ``divide`` else "none") into
    ``adv``/``sigma``, the same operations in the same order; returns the
    raw per-group std (NaN where undefined) and False where an advantage or
    a σ is not finite (the composed function raises there)."""
    n = R.shape[0]
    count, mean, std = np.zeros(n_groups), np.empty(n_groups), np.empty(n_groups)
    group_moments(R, valid, index, ddof, count, mean, std)
    raw_std = std.copy()
    for q in range(n_groups):
        if count[q] == 1.0 and not zero_singletons:
            mean[q] = 0.0
            std[q] = 1.0
    ok = True
    for i in range(n):
        q = index[i]
        s = std[q] if divide else 1.0
        a = R[i] - mean[q]
        if divide:
            a = a / (s + eps)
        drop = not valid[i] or (zero_singletons and count[q] == 1.0)
        if drop:
            a = 0.0
        if not np.isfinite(a) or (np.isinf(s) and not drop):
            ok = False
        adv[i] = a
        sigma[i] = 1.0 if np.isnan(s) else s
    return raw_std, ok


@njit(cache=True)
def _flat_group_stats(values, live, index, n_groups, ddof):
    """Mean and std of the live (N, K) entries of each group, as
    ``group_stats`` on the raveled arrays."""
    n, k = values.shape
    flat_index = np.empty(n * k, dtype=index.dtype)
    for i in range(n):
        for j in range(k):
            flat_index[i * k + j] = index[i]
    count, mean, std = np.zeros(n_groups), np.empty(n_groups), np.empty(n_groups)
    group_moments(values.reshape(n * k), live.reshape(n * k), flat_index, ddof, count, mean, std)
    return mean, std


@njit(cache=True)
def rule_token_advantages_kernel(R, credits, present, index, n_groups, shapley_form, gate, tau, beta, divide,
                                 eps, ddof, zero_singletons, empty, first_row, ids, keep, has_keep,
                                 cand, set_adv, tokens):
    """A credit rule's candidate, set and token advantages in one pass each.

    The operations of ``credit_advantages`` (``shapley_form`` False; gate 0
    none, 1 spread, 2 sum) or of ``_candidate_advantages`` (True; tau 0
    within, 1 set, 2 none), then ``gather_token_advantages`` for the rows
    ``first_row..`` of ``cand`` that ``ids`` (T tokens each) covers, in the
    composed functions' order, so that the results are theirs bit for bit.
    Stops with a code where the composed functions would raise.
    """
    n, k = credits.shape
    valid = np.empty(n, dtype=np.bool_)
    for i in range(n):
        valid[i] = not np.isnan(R[i])
    live = np.empty((n, k), dtype=np.bool_)
    c = np.zeros((n, k))
    for i in range(n):
        for j in range(k):
            live[i, j] = present[i, j] and valid[i]
            if live[i, j]:
                if not np.isfinite(credits[i, j]):
                    return FUSED_NOT_FINITE
                c[i, j] = credits[i, j]
    sigma = np.empty(n)
    raw_std, ok = _set_advantage_rows(R, valid, index, n_groups, divide, eps, ddof, zero_singletons,
                                      set_adv, sigma)
    if not ok:
        return FUSED_NOT_FINITE
    if shapley_form:
        d = np.zeros((n, k))
        for i in range(n):
            k_g = 0
            for j in range(k):
                k_g += present[i, j]
            for j in range(k):
                if live[i, j]:
                    d[i, j] = k_g * c[i, j] + empty[i] - R[i]
        scale_row = np.empty(n)
        if tau == 0:
            _, std_d = _flat_group_stats(d, live, index, n_groups, ddof)
            for i in range(n):
                s = std_d[index[i]]
                scale_row[i] = beta / ((1.0 if np.isnan(s) else s) + eps)
        else:
            for i in range(n):
                scale_row[i] = beta / ((sigma[i] if tau == 1 else 1.0) + eps)
        for i in range(n):
            for j in range(k):
                cand[i, j] = set_adv[i] + scale_row[i] * d[i, j] if live[i, j] else 0.0
    else:
        mean_c, std_c = _flat_group_stats(c, live, index, n_groups, ddof)
        w = np.ones(n_groups)
        if gate != 0:
            for q in range(n_groups):
                s_r, s_c = raw_std[q], std_c[q]
                if np.isnan(s_c):
                    s_c = 0.0
                if np.isnan(s_r):
                    w[q] = 1.0
                elif gate == 1:
                    total = s_r + s_c
                    w[q] = s_r / total if total > 0 else 0.0
                else:
                    w[q] = (s_c + eps) / (s_r + s_c + eps) if s_r > 0 else 0.0
        for i in range(n):
            q = index[i]
            m = 0.0 if np.isnan(mean_c[q]) else mean_c[q]
            s = 1.0 if np.isnan(std_c[q]) else std_c[q]
            for j in range(k):
                if live[i, j]:
                    term = (c[i, j] - m) / (s + eps)
                    if gate != 0:
                        term *= w[q]
                    cand[i, j] = set_adv[i] + beta * term
                else:
                    cand[i, j] = 0.0
    for i in range(n):
        if not np.isfinite(set_adv[i]):
            return FUSED_NOT_FINITE
        for j in range(k):
            if not np.isfinite(cand[i, j]):
                return FUSED_NOT_FINITE
    if gather_token_advantages(cand[first_row:], set_adv[first_row:], ids, keep, has_keep,
                               present[first_row:], True, tokens) >= 0:
        return FUSED_BAD_ID
    return FUSED_OK
