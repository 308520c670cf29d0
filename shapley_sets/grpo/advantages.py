"""GRPO advantages from set rewards and Shapley values
(docs/math.md#from-shapley-values-to-grpo-advantages).

Every function takes numpy arrays or torch tensors (CPU or CUDA) and answers
in the caller's type: numpy in gives float64 numpy out; a tensor anywhere in
the arguments gives a float32 tensor on that tensor's device, outside any
autograd graph. Group statistics are vectorised (``np.bincount``), so the
cost is O(N·K) with no Python loop over responses or groups.

Conventions (verified against the installed sources of verl 0.9.1
``compute_grpo_outcome_advantage`` and TRL 1.16 ``GRPOTrainer``):

- std is unbiased (``ddof=1``), as ``torch.std``;
- ``A = (R - mean) / (std + eps)``; ``scale="none"`` is ``R - mean`` (Dr.GRPO,
  verl ``norm_adv_by_std_in_grpo=False``, TRL ``scale_rewards="none"``);
  ``scale="batch"`` keeps the group mean and divides by the std of every
  reward of the batch (TRL ``scale_rewards="batch"``);
- NaN rewards are missing: they take no part in any mean or std and get
  advantage 0 (TRL's treatment of unscorable completions);
- a group with a single (non-missing) reward follows ``singleton``:
  ``"reward"`` takes mean 0 and std 1, so its advantage is R / (1 + eps)
  (verl); ``"zero"`` gives it advantage 0 (TRL).

:data:`PRESETS` holds each framework's convention: ``**PRESETS["trl"]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .._api import semivalue, shapley
from .._scalars import check_nonnegative_real
from .._typing import ArrayIn, ArrayOut, GroupsLike, Scale, Singleton, Tau, UtilityLike
from .._validation import as_float_array, check_finite, check_utility, coalition_values_of, prepare_mask
from ..adapters.arrays import first_tensor, like, to_numpy
from ..engines._kernels import kernel_input
from ..adapters.torch_tokens import gather_token_advantages_torch
from ._checks import (
    check_batch_memory,
    check_beta,
    check_candidate_values,
    check_choice,
    check_options,
    response_keep,
    rewards_1d,
)
from ._groups import Groups, group_stats, resolve_groups
from ._semivalues import check_credit
from ._kernels import gather_token_advantages, set_advantage_rows, shapley_form_rows

__all__ = [
    "PRESETS",
    "set_advantages",
    "candidate_advantages",
    "completion_advantages",
    "token_advantages",
]

#: Keyword arguments that reproduce each framework's own GRPO advantages
#: (to float32 rounding) when passed as ``**PRESETS[name]``; pick ``scale``
#: to match the trainer's setting (verl ``norm_adv_by_std_in_grpo=False`` and
#: TRL ``scale_rewards="none"`` are ``scale="none"``).
PRESETS: dict[str, dict[str, Any]] = {
    "verl": {"eps": 1e-6, "ddof": 1, "singleton": "reward"},
    "trl": {"eps": 1e-4, "ddof": 1, "singleton": "zero"},
}

TAUS = ("within", "set", "none")
_EMPTY_KEEP = np.ones((1, 1), dtype=np.bool_)
_EMPTY_KEEP.flags.writeable = False  # as every kernel input (kernel_input)


def _set_advantages(r: np.ndarray, groups: Groups, scale, eps, ddof, singleton):
    """Advantages and the per-response σ they were divided by (1 for "none")."""
    if scale != "batch":
        adv, sigma = np.empty(r.shape[0]), np.empty(r.shape[0])
        beyond = set_advantage_rows(*_group_inputs(r, groups), scale == "group", eps, ddof, singleton == "reward",
                                    adv, sigma)
        _check_beyond(r, beyond)
        return adv, sigma
    # scale="batch": the group means, and the std of every valid reward of the batch.
    valid = ~np.isnan(r)
    count, mean, _ = group_stats(r, valid, groups, ddof)
    single = count == 1
    if singleton == "reward":
        mean[single] = 0.0
    n_valid = int(valid.sum())
    if n_valid > ddof:
        vals = r[valid]
        peak = float(np.abs(vals).max()) or 1.0  # scaled: no overflow in the squares
        vals = vals / peak
        batch_std = peak * float(np.sqrt(((vals - vals.mean()) ** 2).sum() / (n_valid - ddof)))
    else:
        # One valid reward in the whole batch: it is a singleton group, so
        # its advantage is 0 ("zero") or R / (1 + eps) ("reward").
        batch_std = 1.0
    sigma = np.full(r.shape, batch_std)
    with np.errstate(invalid="ignore"):
        adv = (r - mean[groups.index]) / (sigma + eps)
    drop = ~valid
    if singleton == "zero":
        drop |= single[groups.index]
    adv[drop] = 0.0
    beyond = ~np.isfinite(adv) | (np.isinf(sigma) & ~drop)
    _check_beyond(r, int(np.flatnonzero(beyond)[0]) if beyond.any() else -1)
    return adv, np.where(np.isnan(sigma), 1.0, sigma)


def _group_inputs(r: np.ndarray, groups: Groups) -> tuple:
    # Read-only contiguous inputs: the one specialisation `shapley-sets warmup` compiles.
    index = kernel_input(np.asarray(groups.index, dtype=np.intp))
    return kernel_input(np.asarray(r, dtype=np.float64)), index, groups.n_groups


def _check_beyond(r: np.ndarray, i: int) -> None:
    if i >= 0:
        raise ValueError(
            f"the rewards of response {i}'s group (reward {r[i]:.6g}) spread beyond the "
            "float64 range (their differences or std exceed about 1.8e308), which would "
            "make its advantage inf or 0; rescale the rewards"
        )


def set_advantages(
    rewards: ArrayIn,
    groups: GroupsLike,
    *,
    scale: Scale = "group",
    eps: float = 1e-6,
    ddof: int = 1,
    singleton: Singleton = "reward",
) -> ArrayOut:
    """Plain GRPO advantages of N responses: the baseline (β = 0).

    ``A_i = (R_i - mean_g R) / (σ + eps)`` with the mean over response i's
    prompt group g and σ the group std (``scale="group"``), the std of the
    whole batch (``"batch"``), or no division at all (``"none"``).

    Args:
        rewards: (N,) rewards, numpy array or torch tensor. NaN marks a
            missing reward: it is left out of every mean and std and its
            advantage is 0.
        groups: an int G (contiguous groups of G responses; N must be a
            multiple of G) or N labels of any hashable kind (verl's uid
            strings, ints, a numpy object array), in any order.
        scale: "group" | "batch" | "none".
        eps: added to σ before dividing; > 0. verl uses 1e-6, TRL 1e-4.
        ddof: 1 (unbiased std, as ``torch.std``) or 0.
        singleton: a group with one non-missing reward gets mean 0 and std 1
            with ``"reward"`` (verl; advantage R / (1 + eps); with
            ``scale="batch"`` it is divided by the batch std like the rest)
            or advantage 0 with ``"zero"`` (TRL). See :data:`PRESETS`.
            With ``scale="batch"`` and a single non-missing reward in the
            whole batch, the batch std is taken as 1.

    Returns:
        (N,) float64 numpy array, or a float32 tensor on the input's device.

    Raises:
        ValueError: wrong shapes, infinite rewards, a group size that does
            not divide N, unknown ``scale``/``singleton``, ``eps <= 0``.
        TypeError: non-numeric rewards, unhashable labels.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.grpo.set_advantages([1.0, 0.0, 0.0, 0.0], 2).round(4)
        array([ 0.7071, -0.7071,  0.    ,  0.    ])
        >>> ss.grpo.set_advantages([1.0, 3.0, 2.0], ["b", "a", "b"], scale="none")
        array([-0.5,  3. ,  0.5])
        >>> ss.grpo.set_advantages([1.0, 3.0, 2.0], ["b", "a", "b"], **ss.grpo.PRESETS["trl"])
        array([-0.7070...,  0.    ,  0.7070...])
    """
    scale, eps, ddof, singleton = check_options(scale, eps, ddof, singleton)
    r = rewards_1d(rewards, "rewards")
    g = resolve_groups(groups, r.shape[0])
    adv, _ = _set_advantages(r, g, scale, eps, ddof, singleton)
    return like(adv, rewards)


def _empty_values(empty_value, n: int) -> np.ndarray:
    arr = as_float_array(to_numpy(empty_value, "empty_value"), "empty_value", min_ndim=0)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(
            f"empty_value must be a number or have shape ({n},) (U(∅) per response), got {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"empty_value must be finite; found {arr[i]} at response {i}")
    return arr


def _check_efficiency(R, phi_sum, abs_sum, empty, live_rows, rtol):
    gap = np.abs(phi_sum + empty - R)
    tol = rtol * np.maximum.reduce([np.ones_like(R), np.abs(R), abs_sum + np.abs(empty)])
    bad = live_rows & (gap > tol)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"response {i}: its Shapley values sum to {phi_sum[i]:.10g} and U(∅) = "
            f"{empty[i]:.10g}, which does not add up to its set reward {R[i]:.10g} "
            "(efficiency: Σφ + U(∅) = R). Pass the set rewards and Shapley values "
            "of the same utility, the right empty_value, and the same mask; or set "
            "efficiency_rtol=None to skip this check"
        )


def candidate_advantages(
    set_rewards: ArrayIn,
    shapley_values: ArrayIn,
    groups: GroupsLike,
    *,
    beta: float = 1.0,
    tau: Tau = "within",
    empty_value: float | ArrayIn = 0.0,
    mask: ArrayIn | None = None,
    scale: Scale = "group",
    eps: float = 1e-6,
    ddof: int = 1,
    singleton: Singleton = "reward",
    efficiency_rtol: float | None = 1e-4,
) -> ArrayOut:
    """Layout A: advantages of the K candidates inside each of N responses.

    With ``A_g`` the set advantage of response g (:func:`set_advantages`),
    ``K_g`` its number of present candidates and ``U(∅)`` = ``empty_value``::

        r_{g,k} = K_g · φ_{g,k} + U(∅)        mean over k equals R_g
        d_{g,k} = r_{g,k} - R_g               sums to 0 over the set
        A_{g,k} = A_g + β · d_{g,k} / (τ + eps)

    so β = 0 gives every present candidate its set's advantage, and for every
    β the present candidates of a set average to ``A_g``.

    Args:
        set_rewards: (N,) set rewards R_g = U(S_g); NaN = missing (the whole
            row of advantages is 0).
        shapley_values: (N, K) Shapley values, e.g. ``ss.shapley(u, x)``.
            Entries of absent candidates are ignored (they may be NaN).
        groups: int group size or N labels, as in :func:`set_advantages`.
        beta: weight ≥ 0 of the within-set term.
        tau: scale of the within-set term: ``"within"`` (std of all d of the
            prompt group's present candidates; stays finite when every set
            of the group earns the same reward), ``"set"`` (the σ that A_g
            is divided by; 1 with ``scale="none"``), or ``"none"`` (τ = 1).
            τ is taken as 1 where it is undefined (a group with at most
            ``ddof`` present candidates, whose d are all 0).
        empty_value: U(∅), a number or (N,) per response, e.g.
            ``ss.empty_value(u, x)`` for the utility and input of ``phi``.
        mask: optional bool (N, K) or broadcastable; True = candidate present.
            Absent candidates get 0.
        scale, eps, ddof, singleton: as in :func:`set_advantages`.
        efficiency_rtol: Σ_k φ_{g,k} + U(∅) must equal R_g within this
            relative tolerance (of max(1, |R_g|, Σ|φ_{g,k}| + |U(∅)|)),
            else a ``ValueError`` names the response; None skips the check.

    Returns:
        (N, K) float64 numpy array, or a float32 tensor on the inputs' device.

    Raises:
        ValueError: shapes, negative or non-finite ``beta``, unknown
            ``tau``, non-finite Shapley values of present candidates, or
            Shapley values that do not add up to the set rewards.
        TypeError: non-numeric input, a non-boolean mask.

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> x = np.array([[0.9, 0.2, 0.8], [0.3, 0.1, 0.2]])
        >>> R, phi = ss.value(ss.BestOf(), x), ss.shapley(ss.BestOf(), x)
        >>> A = ss.grpo.candidate_advantages(R, phi, 2)
        >>> A.round(3)
        array([[ 1.896, -0.957,  1.182],
               [-0.113, -1.182, -0.826]])
        >>> np.allclose(A.mean(axis=1), ss.grpo.set_advantages(R, 2))
        True
        >>> ss.grpo.candidate_advantages(R, phi, 2, beta=0.0).round(3)
        array([[ 0.707,  0.707,  0.707],
               [-0.707, -0.707, -0.707]])
    """
    scale, eps, ddof, singleton = check_options(scale, eps, ddof, singleton)
    check_choice(tau, "tau", TAUS)
    beta = check_beta(beta)
    if efficiency_rtol is not None:
        efficiency_rtol = check_nonnegative_real("efficiency_rtol", efficiency_rtol)
    R = rewards_1d(set_rewards, "set_rewards")
    n = R.shape[0]
    phi = check_candidate_values(shapley_values, "shapley_values", n)
    present = prepare_mask(None if mask is None else to_numpy(mask, "mask"), phi.shape)
    empty = _empty_values(empty_value, n)
    g = resolve_groups(groups, n)
    out, _ = _candidate_advantages(R, phi, present, empty, g, beta, tau, scale, eps, ddof, singleton,
                                   efficiency_rtol)
    return like(out, set_rewards, shapley_values, mask)


def _candidate_advantages(R, phi, present, empty, g: Groups, beta, tau, scale, eps, ddof, singleton,
                          efficiency_rtol):
    """:func:`candidate_advantages` on checked float64 arrays: the (N, K)
    advantages and the set advantages A_g they were built on (those of
    :func:`set_advantages`). Checks the present Shapley values (finite) and
    their efficiency."""
    n = R.shape[0]
    valid_set = ~np.isnan(R)
    live = present & valid_set[:, None]
    check_candidate_values(phi, "shapley_values", n, live)
    phi_live = np.where(live, phi, 0.0)
    k_g = present.sum(axis=1)
    if efficiency_rtol is not None:
        _check_efficiency(
            R, phi_live.sum(axis=1), np.abs(phi_live).sum(axis=1), empty,
            valid_set & (k_g > 0), efficiency_rtol,
        )
    if scale != "batch":
        return _shapley_form(R, phi, present, empty, g, beta, tau, scale == "group", eps, ddof, singleton)
    a_set, sigma = _set_advantages(R, g, scale, eps, ddof, singleton)
    with np.errstate(invalid="ignore"):
        d = np.where(live, k_g[:, None] * phi_live + empty[:, None] - R[:, None], 0.0)
    if tau == "within":
        k = phi.shape[1]
        flat = Groups(np.repeat(g.index, k), g.n_groups)
        _, _, std_d = group_stats(d.ravel(), live.ravel(), flat, ddof)
        tau_row = np.where(np.isnan(std_d), 1.0, std_d)[g.index]
    elif tau == "set":
        tau_row = sigma
    else:
        tau_row = np.ones(n)
    out = a_set[:, None] + (beta / (tau_row + eps))[:, None] * d
    out[~live] = 0.0
    return out, a_set


def _shapley_form(R, phi, present, empty, g: Groups, beta, tau, by_std, eps, ddof, singleton):
    """:func:`_candidate_advantages` with ``scale="group"`` (``by_std``) or
    ``"none"``, in one kernel, on arrays it has checked (φ finite where
    present in a set with a reward): the (N, K) advantages and the set
    advantages."""
    n = R.shape[0]
    out, a_set, sigma = np.empty(phi.shape), np.empty(n), np.empty(n)
    r_in, index, n_groups = _group_inputs(R, g)
    beyond = shapley_form_rows(
        r_in, kernel_input(np.asarray(phi, dtype=np.float64)), kernel_input(np.asarray(present, dtype=np.bool_)),
        kernel_input(np.asarray(empty, dtype=np.float64)), index, n_groups, float(beta), TAUS.index(tau), by_std,
        eps, ddof, singleton == "reward", out, a_set, sigma,
    )
    _check_beyond(R, beyond)
    return out, a_set


def completion_advantages(
    utility: UtilityLike,
    x: ArrayIn,
    groups: GroupsLike,
    *,
    eps: float = 1e-6,
    ddof: int = 1,
    scale: Scale = "group",
    singleton: Singleton = "reward",
    credit: Any = "shapley",
) -> ArrayOut:
    """Layout B: the completions of a prompt group are the candidates of one set.

    For a group of G completions, ``φ_g`` is completion g's Shapley value in
    ``U(group)``, ``r_g = G · φ_g + U(∅)`` (the group's mean r is U of the
    whole group) and ``A_g = (r_g - mean r) / (std r + eps)``. Groups may
    differ in size; all of them go through one batched ``ss.shapley`` call
    (padded to the largest group, with a mask). With another ``credit``
    (the marginal-credit rule with completions as candidates), ``r_g`` is
    completion g's credit itself, e.g. ``U(group) − U(group ∖ g)`` for
    ``"loo"``, and is normalised the same way.

    Args:
        utility: a set utility, e.g. ``ss.BestOf()``.
        x: one input per completion along axis 0: shape (N,) for utilities
            of scores (``core_ndim == 1``), (N, M) for utilities whose set
            input is (M, K) such as ``ss.ExpectedBest`` (row i is completion
            i's column). NaN marks a missing (unscorable) completion, a
            whole row for (N, M): it takes no part in its group's set, whose
            other completions share U of the present ones, and its advantage
            is 0, as in :func:`set_advantages`.
        groups: int group size or N labels, as in :func:`set_advantages`.
        eps, ddof, scale, singleton: as in :func:`set_advantages`, applied to r.
        credit: ``"shapley"`` (default), ``"loo"``, ``"banzhaf"`` or
            ``("beta", α, β)``: the semivalue each completion is credited with
            (see :func:`shapley_sets.semivalue`).

    Returns:
        (N,) float64 numpy array, or a float32 tensor on ``x``'s device.

    Raises:
        ValueError: shapes, infinite x, input outside the utility's domain
            (named as "candidate i" = completion i), bad options.
        TypeError: ``utility`` is not a utility, non-numeric x.

    Examples:
        >>> import shapley_sets as ss
        >>> # Two prompts, three completions each; the user keeps the best one.
        >>> ss.grpo.completion_advantages(ss.BestOf(), [0.9, 0.8, 0.1, 0.5, 0.5, 0.5], 3).round(4)
        array([ 0.7759,  0.3527, -1.1286,  0.    ,  0.    ,  0.    ])
        >>> # A missing (NaN) reward leaves its group as a set of two.
        >>> ss.grpo.completion_advantages(ss.BestOf(), [0.9, float("nan"), 0.1], 3).round(4)
        array([ 0.7071,  0.    , -0.7071])
        >>> # Leave-one-out credit: only a completion the set cannot do without counts.
        >>> ss.grpo.completion_advantages(ss.BestOf(), [0.9, 0.8, 0.1], 3, credit="loo").round(4)
        array([ 1.1547, -0.5773, -0.5773])
    """
    scale, eps, ddof, singleton = check_options(scale, eps, ddof, singleton)
    credit = check_credit(credit)
    check_utility(utility, "utility")
    core_ndim = int(getattr(utility, "core_ndim", 1))
    arr = as_float_array(to_numpy(x, "x"), "x")
    if arr.ndim != core_ndim:
        want = {1: "shape (N,)", 2: "shape (N, M)"}.get(core_ndim, f"{core_ndim} axes")
        raise ValueError(
            f"x must have {want} for {type(utility).__name__} (one input per completion "
            f"along axis 0), got shape {arr.shape}"
        )
    m_types = getattr(utility, "n_types", None)
    if core_ndim == 2 and isinstance(m_types, int) and arr.shape[1] != m_types:
        hint = " (x.T? completions go on axis 0)" if arr.shape[0] == m_types else ""
        raise ValueError(
            f"x must have shape (N, M) with M = {m_types} user types of "
            f"{type(utility).__name__}, one row per completion; got shape {arr.shape}{hint}"
        )
    n = arr.shape[0]
    # A NaN input is a missing completion (an unscorable one, as TRL marks
    # it): out of its group's set, advantage 0. Its row takes a present
    # completion's values, which keep it inside the utility's domain; the
    # mask below keeps it out of every coalition.
    missing = np.isnan(arr).reshape(n, -1).any(axis=1) if n else np.zeros(0, dtype=bool)
    if missing.any() and not missing.all():
        arr = arr.copy()
        arr[missing] = arr[int(np.flatnonzero(~missing)[0])]
    # As one set of N candidates, x's checks name "candidate i" = completion i.
    as_set = np.moveaxis(arr, 0, -1)
    if not missing.all():
        check_finite(as_set, "x", core_ndim)
        check = getattr(utility, "check_input", None)
        if check is not None:
            check(as_set)
    g = resolve_groups(groups, n)
    if n == 0 or missing.all():
        return like(np.zeros(n), x)

    sizes = g.sizes
    width = int(sizes.max())
    order = np.argsort(g.index, kind="stable")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    slot = np.empty(n, dtype=np.intp)
    slot[order] = np.arange(n) - np.repeat(starts, sizes)
    # Padding repeats each group's first completion, so padded inputs stay in
    # the utility's domain; the mask keeps them out of every coalition.
    first = order[starts]
    rows = np.repeat(first[:, None], width, axis=1)
    rows[g.index, slot] = np.arange(n)
    present = np.zeros((g.n_groups, width), dtype=bool)
    present[g.index, slot] = ~missing
    batch = np.ascontiguousarray(np.moveaxis(arr[rows], 1, -1))

    if credit == "shapley":
        phi = shapley(utility, batch, mask=present)
        none = np.zeros((g.n_groups, 1, width), dtype=bool)
        empty = coalition_values_of(utility, batch, none)[:, 0]
        k_present = np.bincount(g.index, weights=~missing, minlength=g.n_groups)
        r = k_present[g.index] * phi[g.index, slot] + empty[g.index]
    else:
        r = semivalue(utility, batch, credit, mask=present)[g.index, slot]
    r[missing] = np.nan
    adv, _ = _set_advantages(r, g, scale, eps, ddof, singleton)
    return like(adv, x)


def token_advantages(
    candidate_adv: ArrayIn,
    set_adv: ArrayIn,
    candidate_ids: ArrayIn,
    response_mask: ArrayIn | None = None,
    *,
    candidate_mask: ArrayIn | None = None,
) -> ArrayOut:
    """Per-token advantages: each token gets its candidate's advantage.

    Args:
        candidate_adv: (N, K) candidate advantages (:func:`candidate_advantages`).
        set_adv: (N,) set advantages (:func:`set_advantages`), given to tokens
            of no candidate (preamble, separators, end of sequence).
        candidate_ids: (N, T) integers in [-1, K): the candidate each token
            belongs to, -1 for none.
        response_mask: optional (N, T) mask, boolean or numbers that are
            each exactly 0 or 1; tokens where it is False/0 (padding) get
            advantage 0 and their ids are not read.
        candidate_mask: optional (N, K) bool, True = candidate present (the
            ``mask`` given to :func:`candidate_advantages`). Given, a token
            whose id names an absent candidate is an error; without it such
            a token gets that candidate's advantage (0 from
            :func:`candidate_advantages`).

    Returns:
        (N, T) float64 numpy array, or a float32 tensor on the inputs' device.

    Raises:
        ValueError: shapes, NaN or infinity in ``candidate_adv`` or
            ``set_adv``, a ``response_mask`` or ``candidate_mask`` value other
            than 0/1 (0.5, NaN), an id outside [-1, K), or an id naming a
            candidate that ``candidate_mask`` marks absent (naming the
            response, the token position and the candidate).
        TypeError: non-integer ids or a non-numeric mask.

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> cand = np.array([[1.0, -1.0]])
        >>> ids = np.array([[-1, 0, 0, -1, 1, 1, -1, 7]])
        >>> ss.grpo.token_advantages(cand, [0.5], ids, ids != 7)
        array([[ 0.5,  1. ,  1. ,  0.5, -1. , -1. ,  0.5,  0. ]])
        >>> ss.grpo.token_advantages(cand, [0.5], ids, ids != 7, candidate_mask=[[True, False]])
        Traceback (most recent call last):
        ...
        ValueError: candidate_ids name candidate 1 at response 0, token 4, which candidate_mask marks absent
    """
    cand = as_float_array(to_numpy(candidate_adv, "candidate_adv"), "candidate_adv", min_ndim=2)
    if cand.ndim != 2:
        raise ValueError(f"candidate_adv must have shape (N, K), got {cand.shape}")
    n, k = cand.shape
    sa = as_float_array(to_numpy(set_adv, "set_adv"), "set_adv")
    if sa.shape != (n,):
        raise ValueError(f"set_adv must have shape ({n},) to match candidate_adv {cand.shape}, got {sa.shape}")
    _check_finite_rows(cand, "candidate_adv")
    _check_finite_rows(sa, "set_adv")
    present = None
    if candidate_mask is not None:
        present = prepare_mask(to_numpy(candidate_mask, "candidate_mask"), (n, k), name="candidate_mask")
    target = first_tensor(candidate_adv, set_adv, candidate_ids, response_mask)
    if target is not None and target.device.type != "cpu":
        # The answer goes to an accelerator: expand there, without taking the
        # (N, T) tensors through host memory.
        out = _token_advantages_on_device(target.device, cand, sa, candidate_ids, response_mask, present)
        if out is not None:
            return out
    ids = to_numpy(candidate_ids, "candidate_ids")
    if ids.dtype.kind not in "iu":
        raise TypeError(f"candidate_ids must be an integer array, got dtype {ids.dtype}")
    m = None if response_mask is None else to_numpy(response_mask, "response_mask")
    _check_token_shapes(n, ids.shape, None if m is None else m.shape)
    # the answer (8 bytes a token), the ids as contiguous int64 unless they
    # are, and the mask as booleans
    per_token = 8 + 8 * (ids.dtype != np.int64 or not ids.flags.c_contiguous) + (m is not None)
    check_batch_memory(ids.shape, "candidate_ids", per_token)
    if ids.dtype == np.uint64 and ids.size and int(ids.max()) > np.iinfo(np.int64).max:
        # beyond int64: it would wrap in the cast below
        i, t = np.unravel_index(int(ids.argmax()), ids.shape)
        _raise_bad_id(int(ids[i, t]), int(i), int(t), k)
    keep = _EMPTY_KEEP
    if m is not None:
        keep = response_keep(m)
    ids64 = np.ascontiguousarray(ids, dtype=np.int64)
    out = np.empty(ids.shape)
    bad = gather_token_advantages(
        kernel_input(cand), kernel_input(sa), kernel_input(ids64), kernel_input(keep),
        response_mask is not None, _EMPTY_KEEP if present is None else kernel_input(present),
        present is not None, out,
    )
    if bad >= 0:
        i, t = divmod(bad, ids.shape[1])
        _raise_bad_id(int(ids64[i, t]), i, t, k)
    return like(out, candidate_adv, set_adv, candidate_ids, response_mask)


def _check_finite_rows(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        where = f"response {int(first[0])}" + (f", candidate {int(first[1])}" if arr.ndim == 2 else "")
        raise ValueError(f"{name} must be finite; found {arr[tuple(first)]} at {where}")


def _check_token_shapes(n: int, ids_shape: tuple, mask_shape):
    """The shape checks of :func:`token_advantages`, shared by its host and
    device paths (``mask_shape`` None: no response mask)."""
    ids_shape, n_axes = tuple(ids_shape), len(ids_shape)
    if n_axes != 2 or ids_shape[0] != n:
        raise ValueError(f"candidate_ids must have shape ({n}, T), got {ids_shape}")
    if mask_shape is not None and tuple(mask_shape) != ids_shape:
        raise ValueError(
            f"response_mask must have the shape of candidate_ids {ids_shape}, got {tuple(mask_shape)}"
        )


def _raise_bad_id(c: int, i: int, t: int, k: int):
    if 0 <= c < k:
        raise ValueError(
            f"candidate_ids name candidate {c} at response {i}, token {t}, which candidate_mask marks absent"
        )
    raise ValueError(
        f"candidate_ids must lie in [-1, {k}) (-1 = token of no candidate, K = {k}); "
        f"found {c} at response {i}, token {t}"
    )


def _token_advantages_on_device(device, cand, sa, candidate_ids, response_mask, present=None):
    """:func:`token_advantages` in torch on ``device``, with the same checks
    and messages; None where only the host path can check the ids (uint64)."""
    torch = sys.modules["torch"]
    n, k = cand.shape
    ids = torch.as_tensor(candidate_ids, device=device)
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"candidate_ids must be an integer array, got dtype {ids.dtype}")
    if ids.dtype == getattr(torch, "uint64", None):
        return None  # values above int64's range would wrap in .long()
    m = None if response_mask is None else torch.as_tensor(response_mask, device=device)
    _check_token_shapes(n, ids.shape, None if m is None else m.shape)
    keep = None
    if m is not None:
        if m.is_complex():
            raise TypeError(f"response_mask must be boolean or 0/1, got dtype {m.dtype}")
        if m.dtype == torch.bool:
            keep = m
        else:
            bad = (m != 0) & (m != 1)  # NaN is neither
            if bool(bad.any()):
                i, t = (int(v) for v in bad.nonzero()[0])
                raise ValueError(
                    "response_mask must be boolean or hold only 0 and 1 (True/1 = a response "
                    f"token); found {float(m[i, t])} at response {i}, token {t}"
                )
            keep = m != 0
    out, bad = gather_token_advantages_torch(cand, sa, ids, keep, present)
    if bad >= 0:
        i, t = divmod(bad, ids.shape[1])
        _raise_bad_id(int(ids[i, t]), i, t, k)
    return out
