"""Peer advantage rules to compare against, on the same rewards and groups.

- :func:`grpo_passk_advantages`: verl's ``grpo_passk`` estimator (arXiv
  2503.19595): only the best response of a group gets ``r_max - r_second``
  (its leave-one-out marginal to the group's max), everybody else 0.
- :func:`passk_training_advantages`: the closed-form Pass@k-training
  advantages for binary rewards (arXiv 2508.10751, "analytical derivation").

Both accept numpy arrays or torch tensors and answer in the caller's type.
"""

from __future__ import annotations

import numpy as np

from .._scalars import check_int, check_positive_real
from .._typing import ArrayIn, ArrayOut, GroupsLike, Scale
from ..adapters.arrays import like
from ._checks import check_choice, rewards_1d
from ._groups import group_stats, resolve_groups

__all__ = ["grpo_passk_advantages", "passk_training_advantages"]


def _finite_rewards(rewards, name="rewards") -> np.ndarray:
    r = rewards_1d(rewards, name)
    nan = np.isnan(r)
    if nan.any():
        raise ValueError(
            f"{name} must be finite for this rule (no missing rewards); found NaN at "
            f"response {int(np.flatnonzero(nan)[0])}"
        )
    return r


def _check_eps(eps: object) -> float:
    return check_positive_real("eps", eps)


def _smallest_group(sizes, need: int, what: str) -> None:
    small = np.flatnonzero(sizes < need)
    if small.size:
        raise ValueError(
            f"{what} needs at least {need} responses per group; group number "
            f"{int(small[0])} (in order of first appearance for labels) has {int(sizes[small[0]])}"
        )


def grpo_passk_advantages(rewards: ArrayIn, groups: GroupsLike, *, scale: Scale = "group", eps: float = 1e-6) -> ArrayOut:
    """verl's ``grpo_passk`` rule: the best response gets ``r_max - r_second``.

    Per group: the response with the largest reward gets
    ``(r_max - r_second_max) / (std + eps)`` (``scale="group"``, std with
    ddof 1 over the group, verl's ``norm_adv_by_std_in_grpo=True``) or
    ``r_max - r_second_max`` (``scale="none"``); every other response gets 0.
    Under a tie for the maximum the difference is 0, so every response of the
    group gets 0 whichever of them verl's ``torch.topk`` picks.

    Args:
        rewards: (N,) finite rewards.
        groups: int group size or N labels (see :func:`set_advantages`);
            every group needs at least 2 responses, as in verl.
        scale: "group" | "none".
        eps: > 0, verl's ``epsilon`` (1e-6).

    Returns:
        (N,) float64 numpy array, or a float32 tensor on the input's device.

    Raises:
        ValueError: NaN/inf rewards, a group of fewer than 2 responses, bad options.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.grpo.grpo_passk_advantages([0.2, 0.9, 0.5, 1.0, 1.0, 0.0], 3, scale="none")
        array([0. , 0.4, 0. , 0. , 0. , 0. ])
    """
    check_choice(scale, "scale", ("group", "none"))
    eps = _check_eps(eps)
    r = _finite_rewards(rewards)
    g = resolve_groups(groups, r.shape[0])
    out = np.zeros(r.shape[0])
    if r.shape[0] == 0:
        return like(out, rewards)
    _smallest_group(g.sizes, 2, "grpo_passk")
    # Sort by (group, reward): each group's last two entries are its top two.
    order = np.lexsort((r, g.index))
    ends = np.cumsum(g.sizes) - 1
    best, second = order[ends], order[ends - 1]
    gap = r[best] - r[second]
    if scale == "group":
        _, _, std = group_stats(r, np.ones(r.shape, bool), g, 1)
        gap = gap / (std + eps)
    out[best] = gap
    return like(out, rewards)


def _comb_ratio(a, b, k):
    """C(a, k) / C(b, k) for integers 0 <= k <= b, a <= b, by log-gamma; 0 when a < k."""
    # Imported here: scipy.special takes about half a second to import, which
    # `import shapley_sets` should not pay for a rule few callers use.
    from scipy.special import gammaln

    a, b, k = (np.asarray(v, dtype=np.float64) for v in (a, b, k))
    ok = a >= k
    a_ok = np.where(ok, a, k)
    log = gammaln(a_ok + 1) - gammaln(a_ok - k + 1) - gammaln(b + 1) + gammaln(b - k + 1)
    # a == b is exactly 1: all-wrong groups must get exactly 0, not rounding / eps.
    return np.where(a == b, 1.0, np.where(ok, np.exp(log), 0.0))


def passk_training_advantages(rewards: ArrayIn, groups: GroupsLike, k: int, *, eps: float = 1e-6) -> ArrayOut:
    """Closed-form Pass@k-training advantages for binary rewards (arXiv 2508.10751).

    For a group of n responses of which c are correct, averaging the
    group-of-k rewards over all C(n, k) k-subsets gives::

        R̄     = 1 - C(n-c, k) / C(n, k)                    mean pass@k reward
        σ     = sqrt(R̄ (1 - R̄))
        A_pos = (1 - R̄) / (σ + eps)                        correct responses
        A_neg = (1 - R̄ - C(n-c-1, k-1) / C(n-1, k-1)) / (σ + eps)   wrong ones

    ``eps = 1e-6`` as in the authors' code (RUCAIBox/Passk_Training); groups
    that are all correct or all wrong get 0. Binomial ratios use log-gamma,
    so n in the thousands is fine. With k = 1 this is GRPO with ddof = 0.

    Args:
        rewards: (N,) binary rewards (0/1 or bool).
        groups: int group size or N labels (see :func:`set_advantages`);
            every group needs at least k responses.
        k: the k of pass@k, an int >= 1.
        eps: > 0.

    Returns:
        (N,) float64 numpy array, or a float32 tensor on the input's device.

    Raises:
        ValueError: non-binary rewards (naming the response), k < 1, a group
            smaller than k.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.grpo.passk_training_advantages([1, 0, 0, 0], 4, k=2).round(4)
        array([ 1.    , -0.3333, -0.3333, -0.3333])
    """
    k = check_int("k", k, minimum=1)
    eps = _check_eps(eps)
    r = _finite_rewards(rewards)
    nonbinary = (r != 0) & (r != 1)
    if nonbinary.any():
        i = int(np.flatnonzero(nonbinary)[0])
        raise ValueError(f"rewards must be binary (0 or 1); found {r[i]} at response {i}")
    g = resolve_groups(groups, r.shape[0])
    if r.shape[0] == 0:
        return like(np.zeros(0), rewards)
    n = g.sizes.astype(np.float64)
    _smallest_group(g.sizes, int(k), f"pass@{k} training")
    c = np.bincount(g.index, weights=r, minlength=g.n_groups)
    mean = np.clip(1.0 - _comb_ratio(n - c, n, k), 0.0, 1.0)
    sigma = np.sqrt(mean * (1.0 - mean))
    a_pos = (1.0 - mean) / (sigma + eps)
    a_neg = (1.0 - mean - _comb_ratio(n - c - 1, n - 1, k - 1)) / (sigma + eps)
    out = np.where(r == 1, a_pos[g.index], a_neg[g.index])
    return like(out, rewards)
