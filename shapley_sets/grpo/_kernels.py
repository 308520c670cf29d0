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
    """Per group: the count, mean and std (``ddof``) of the valid values;
    row i of the (N, K) ``values`` belongs to group ``index[i]``.

    Each group is scaled by its largest magnitude first and the std takes
    two passes (mean, then centred squares), so neither sums nor squares
    overflow and close, large values keep their spread. Sums run in input
    order (row by row), as ``np.bincount`` sums, so the results equal those
    of the numpy expression this replaced bit for bit; a row's terms are
    added in a register, not through memory, which keeps the additions of
    a group one dependent chain of registers. A
    group with no valid value gets mean NaN, one with at most ``ddof`` std NaN.
    """
    n, k = values.shape
    g = count.shape[0]
    peak = np.zeros(g)
    # Selects, not branches, on valid (a set's present candidates vary from
    # row to row: branches mispredicted about once a row and pass). Adding
    # +0.0 for an invalid entry leaves every sum bit for bit as it was: a
    # sum that starts at +0.0 never is -0.0.
    for i in range(n):
        q = index[i]
        top, seen = peak[q], count[q]
        for c in range(k):
            a = abs(values[i, c]) if valid[i, c] else 0.0
            seen += 1.0 if valid[i, c] else 0.0
            top = a if a > top or a != a else top  # np.maximum: NaN wins
        peak[q], count[q] = top, seen
    for q in range(g):
        if peak[q] == 0.0:
            peak[q] = 1.0
        mean[q] = 0.0
        std[q] = 0.0
    for i in range(n):
        q = index[i]
        top, total = peak[q], mean[q]
        for c in range(k):
            x = values[i, c] / top
            total += x if valid[i, c] else 0.0
        mean[q] = total
    for q in range(g):
        mean[q] = mean[q] / count[q] if count[q] > 0 else np.nan
    for i in range(n):
        q = index[i]
        top, centre, total = peak[q], mean[q], std[q]
        for c in range(k):
            x = values[i, c] / top - centre
            total += x * x if valid[i, c] else 0.0
        std[q] = total
    for q in range(g):
        std[q] = np.sqrt(std[q] / (count[q] - ddof)) * peak[q] if count[q] > ddof else np.nan
        mean[q] *= peak[q]


@njit(cache=True)
def set_advantage_rows(r, index, n_groups, by_std, eps, ddof, reward_singleton, adv, sigma):
    """Set advantages with ``scale="group"`` (``by_std``) or ``"none"``:
    ``adv[i] = (r[i] - mean) / (σ + eps)`` (or ``r[i] - mean``), 0 for a
    missing (NaN) reward and, unless ``reward_singleton``, for a group of one
    (with it, such a group has mean 0 and σ 1); ``sigma[i]`` the σ divided
    by (1 without ``by_std``; NaN taken as 1).

    Group statistics by :func:`group_moments`; each advantage is one
    subtraction and one division, as numpy's elementwise expression of it
    computed them (bit for bit). Returns the first response whose advantage
    or σ left the float64 range (-1 if none), for the caller to report.
    """
    n = r.shape[0]
    valid = np.empty((n, 1), dtype=np.bool_)
    for i in range(n):
        valid[i, 0] = not np.isnan(r[i])
    count, mean, std = np.zeros(n_groups), np.empty(n_groups), np.empty(n_groups)
    group_moments(r.reshape(n, 1), valid, index, ddof, count, mean, std)
    if reward_singleton:
        for q in range(n_groups):
            if count[q] == 1.0:
                mean[q] = 0.0
                std[q] = 1.0
    beyond = -1
    for i in range(n):
        q = index[i]
        s = std[q] if by_std else 1.0
        centred = r[i] - mean[q]
        a = centred / (s + eps) if by_std else centred
        drop = not valid[i, 0] or (not reward_singleton and count[q] == 1.0)
        if drop:
            a = 0.0
        if beyond < 0 and (not np.isfinite(a) or (np.isinf(s) and not drop)):
            beyond = i
        adv[i] = a
        sigma[i] = 1.0 if np.isnan(s) else s
    return beyond


@njit(cache=True)
def shapley_form_rows(r, phi, present, empty, index, n_groups, beta, tau, by_std, eps, ddof, reward_singleton,
                      out, adv, sigma):
    """The Shapley form's candidate advantages ``A_g + β·d/(τ + eps)``,
    ``d = K_g·φ + U(∅) − R`` for live candidates (present, in a set with a
    reward), 0 for the others; ``adv`` and ``sigma`` as
    :func:`set_advantage_rows` writes them. ``tau``: 0 the std of the d of
    each group's live candidates (1 where undefined), 1 the set's σ, 2 none.

    Each entry is computed as numpy's elementwise expression of the
    formula (``_candidate_advantages``' path for ``scale="batch"``) computes
    it, so the two agree bit for bit. Returns :func:`set_advantage_rows`'
    answer.
    """
    n, k = phi.shape
    beyond = set_advantage_rows(r, index, n_groups, by_std, eps, ddof, reward_singleton, adv, sigma)
    d = np.zeros((n, k))
    live = np.zeros((n, k), dtype=np.bool_)
    for i in range(n):
        k_g = 0
        for c in range(k):
            k_g += present[i, c]
        if np.isnan(r[i]):
            continue
        for c in range(k):
            if present[i, c]:
                live[i, c] = True
                d[i, c] = k_g * phi[i, c] + empty[i] - r[i]
    tau_g = np.ones(n_groups)
    if tau == 0:
        count, mean, std = np.zeros(n_groups), np.empty(n_groups), np.empty(n_groups)
        group_moments(d, live, index, ddof, count, mean, std)
        for q in range(n_groups):
            if not np.isnan(std[q]):
                tau_g[q] = std[q]
    for i in range(n):
        t = sigma[i] if tau == 1 else tau_g[index[i]]
        scale = beta / (t + eps)
        for c in range(k):
            out[i, c] = adv[i] + scale * d[i, c] if live[i, c] else 0.0
    return beyond


#: Codes of :func:`rule_token_advantages_kernel`: done, or a case it leaves to
#: the composed functions (which raise the error that names it).
FUSED_OK, FUSED_NOT_FINITE, FUSED_BAD_ID = 0, 1, 2


#: Codes of the marginal rule's gates in :func:`marginal_form_rows`.
GATE_CODES = {"none": 0, "spread": 1, "sum": 2}


@njit(cache=True)
def marginal_form_rows(r, c, valid, live, index, n_groups, gate, beta, eps, ddof, set_adv, cand):
    """The marginal rule's candidate advantages ``cand`` (N, K):
    ``set_adv[i] + beta * w * (c - mean c) / (std c + eps)`` for live
    entries, 0 elsewhere, the credits' mean and std over the live entries of
    each group, ``w`` the gate (0 none: 1; 1 spread: σ_R/(σ_R + σ_c), 0
    where both are 0; 2 sum: (σ_c + eps)/(σ_R + σ_c + eps), 0 where σ_R is;
    1 where a group has too few sets for σ_R). ``valid`` (N, 1): the rows
    whose set reward ``r`` is not missing.

    The group statistics are :func:`group_moments`'; a group with too few
    live credits for a std has its credits equal to their mean, so they get
    term 0.
    """
    n, k = c.shape
    count, mean_r, std_r = np.zeros(n_groups), np.empty(n_groups), np.empty(n_groups)
    group_moments(r.reshape(n, 1), valid, index, ddof, count, mean_r, std_r)
    count, mean_c, std_c = np.zeros(n_groups), np.empty(n_groups), np.empty(n_groups)
    group_moments(c, live, index, ddof, count, mean_c, std_c)
    for i in range(n):
        q = index[i]
        w = 1.0
        if gate != 0 and not np.isnan(std_r[q]):
            s_r, s_c = std_r[q], 0.0 if np.isnan(std_c[q]) else std_c[q]
            if gate == 1:
                w = s_r / (s_r + s_c) if s_r + s_c > 0 else 0.0
            else:
                w = (s_c + eps) / (s_r + s_c + eps) if s_r > 0 else 0.0
        m = 0.0 if np.isnan(mean_c[q]) else mean_c[q]
        s = 1.0 if np.isnan(std_c[q]) else std_c[q]
        for j in range(k):
            if live[i, j]:
                term = (c[i, j] - m) / (s + eps)
                if gate != 0:
                    term *= w
                cand[i, j] = set_adv[i] + beta * term
            else:
                cand[i, j] = 0.0


@njit(cache=True)
def rule_token_advantages_kernel(R, credits, present, index, n_groups, shapley_form, gate, tau, beta, by_std,
                                 eps, ddof, reward_singleton, empty, first_row, ids, keep, has_keep,
                                 cand, set_adv, tokens):
    """A credit rule's candidate, set and token advantages in one call.

    The operations of ``credit_advantages`` (``shapley_form`` False; gate 0
    none, 1 spread, 2 sum) or of ``_candidate_advantages`` (True, through
    :func:`shapley_form_rows`; tau 0 within, 1 set, 2 none), then
    :func:`gather_token_advantages` for the rows ``first_row..`` of ``cand``
    that ``ids`` covers, in the composed functions' order, so that the
    results are theirs bit for bit. Stops with a code where the composed
    functions would raise.
    """
    n, k = credits.shape
    valid = np.empty((n, 1), dtype=np.bool_)
    live = np.empty((n, k), dtype=np.bool_)
    c = np.zeros((n, k))
    for i in range(n):
        valid[i, 0] = not np.isnan(R[i])
        for j in range(k):
            live[i, j] = present[i, j] and valid[i, 0]
            if live[i, j]:
                if not np.isfinite(credits[i, j]):
                    return FUSED_NOT_FINITE
                c[i, j] = credits[i, j]
    sigma = np.empty(n)
    if shapley_form:
        beyond = shapley_form_rows(R, c, present, empty, index, n_groups, beta, tau, by_std, eps, ddof,
                                   reward_singleton, cand, set_adv, sigma)
    else:
        beyond = set_advantage_rows(R, index, n_groups, by_std, eps, ddof, reward_singleton, set_adv, sigma)
        marginal_form_rows(R, c, valid, live, index, n_groups, gate, beta, eps, ddof, set_adv, cand)
    if beyond >= 0:
        return FUSED_NOT_FINITE
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
