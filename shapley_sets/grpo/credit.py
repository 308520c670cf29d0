"""The marginal-credit rule: candidate advantages from any per-candidate credit.

For per-candidate credits ``c_{g,k}`` (leave-one-out marginals
``U(S_g) - U(S_g ∖ k)``, Banzhaf values, Shapley values, any semivalue)::

    A_{g,k} = A_g + β · (c_{g,k} - mean c) / (std c + eps)

``A_g`` is the set's plain GRPO advantage; the mean and std run over every
present candidate of every set in the prompt's group (G·K of them), so the
credit term compares a candidate with all candidates the group saw, not only
with its own set. With leave-one-out credit and i.i.d. candidates the credit
term's expected gradient is that of the set reward itself (see
``docs/math.md``), which is why it speeds learning up without pulling the
policy towards another objective.
"""

from __future__ import annotations

import numpy as np

from .._typing import ArrayIn, ArrayOut, GroupsLike, Scale, Singleton
from .._validation import as_float_array, prepare_mask
from ..engines._kernels import kernel_input
from ..adapters.arrays import like, to_numpy
from ._checks import (
    PER_CANDIDATE_VALUE,
    check_batch_memory,
    check_beta,
    check_candidate_values,
    check_choice,
    check_options,
    rewards_1d,
)
from ._groups import resolve_groups
from ._kernels import GATE_CODES, marginal_form_rows
from .advantages import _set_advantages

__all__ = ["credit_advantages", "GATES"]


#: The marginal rule's gates: ``"none"`` (w = 1), ``"spread"`` (w = σ_R/(σ_R + σ_c))
#: and ``"sum"`` (the credit term on the scale σ_R + σ_c: ``(c − c̄)/(σ_R + σ_c)``).
GATES = ("none", "spread", "sum")


def credit_advantages(
    set_rewards: ArrayIn, credits: ArrayIn, groups: GroupsLike, *, beta: float = 1.0, gate: str = "none",
    mask: ArrayIn | None = None, scale: Scale = "group", eps: float = 1e-6, ddof: int = 1,
    singleton: Singleton = "reward",
) -> ArrayOut:
    """Marginal-credit rule: ``A_{g,k} = A_g + β·w·(c_{g,k} − mean c)/(std c + eps)``.

    ``A_g`` is :func:`set_advantages` of the set rewards; the credit term is
    a z-score of the credits over the present candidates of every
    (non-missing) set of the prompt's group. Per set the advantages do not
    average to ``A_g`` (unlike :func:`candidate_advantages`): a set whose
    candidates all earn more credit than the group's other candidates is
    pushed up as a whole.

    ``w`` is the gate: 1 with ``gate="none"``; with ``gate="spread"`` it is
    ``σ_R / (σ_R + σ_c)``, ``σ_R`` the std of the group's set rewards and
    ``σ_c`` that of its candidates' credits (both with ``ddof``). While the
    group's sets earn different rewards it is close to 1; when every set
    earns the same (a settled policy, where ``A_g = 0``) it is 0, and the
    z-score no longer blows the credits' leftover differences up to unit
    scale (see ``docs/math.md``, "the reward-spread gate"). Both stds scale
    with the utility, so ``w`` does not depend on its units. A group with
    at most ``ddof`` sets has no ``σ_R`` and is not gated (``w = 1``).

    Args:
        set_rewards: (N,) set rewards ``R_g = U(S_g)``; NaN = missing (the
            whole row gets 0 and takes part in no statistic).
        credits: (N, K) per-candidate credits, e.g. leave-one-out marginals
            ``ss.leave_one_out(u, x)``; entries of absent candidates are
            ignored (they may be NaN).
        groups: an int group size or N labels, as in :func:`set_advantages`.
        beta: weight of the credit term, a finite number >= 0 (0 is plain GRPO).
        gate: ``"none"``, ``"spread"`` or ``"sum"`` (see above).
        mask: optional bool (N, K) or broadcastable; True = candidate present.
            Absent candidates get 0.
        scale, eps, ddof, singleton: as in :func:`set_advantages` for ``A_g``;
            ``eps`` and ``ddof`` also serve the credit z-score, which is
            always divided by the group's credit std (a group with at most
            ``ddof`` present candidates gets credit term 0).

    Returns:
        (N, K) float64 numpy array, or a float32 tensor on the inputs' device.

    Raises:
        ValueError: shapes, a negative or non-finite ``beta``, an unknown
            ``gate``, non-finite credits of present candidates (naming
            response and candidate), bad options.
        TypeError: non-numeric input, a non-boolean mask.

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> x = np.array([[0.9, 0.2, 0.8], [0.3, 0.1, 0.2]])
        >>> R = ss.value(ss.BestOf(), x)
        >>> loo = R[:, None] - np.array([[0.8, 0.9, 0.9], [0.2, 0.3, 0.3]])  # U(S) - U(S minus k)
        >>> ss.grpo.credit_advantages(R, loo, 2).round(3)
        array([[ 1.998,  0.062,  0.062],
               [ 0.584, -1.353, -1.353]])
        >>> ss.grpo.credit_advantages(R, loo, 2, beta=0.0).round(3)
        array([[ 0.707,  0.707,  0.707],
               [-0.707, -0.707, -0.707]])

        With the gate, a group whose two sets are the same earns no credit
        push, while the first group (σ_R = 0.42, σ_c = 0.05) keeps 89% of it:

        >>> R2, loo2 = np.r_[R, R[0], R[0]], np.r_[loo, loo[:1], loo[:1]]
        >>> ss.grpo.credit_advantages(R2, loo2, 2, gate="spread").round(3)
        array([[ 1.858,  0.132,  0.132],
               [ 0.444, -1.283, -1.283],
               [ 0.   ,  0.   ,  0.   ],
               [ 0.   ,  0.   ,  0.   ]])
    """
    scale, eps, ddof, singleton = check_options(scale, eps, ddof, singleton)
    beta = check_beta(beta)
    check_choice(gate, "gate", GATES)
    R = rewards_1d(set_rewards, "set_rewards")
    n = R.shape[0]
    raw = to_numpy(credits, "credits")
    check_batch_memory(raw.shape, "credits", PER_CANDIDATE_VALUE)
    shape = as_float_array(raw, "credits", min_ndim=2).shape
    if len(shape) != 2 or shape[0] != n:
        raise ValueError(f"credits must have shape (N, K) with N = {n} (len(set_rewards)), got {shape}")
    present = prepare_mask(None if mask is None else to_numpy(mask, "mask"), shape)
    live = present & ~np.isnan(R)[:, None]
    c = np.where(live, check_candidate_values(credits, "credits", n, live), 0.0)
    g = resolve_groups(groups, n)
    a_set, _ = _set_advantages(R, g, scale, eps, ddof, singleton)
    out = np.empty(shape)
    marginal_form_rows(kernel_input(R), kernel_input(c), kernel_input(~np.isnan(R)[:, None]), kernel_input(live),
                       kernel_input(np.asarray(g.index, dtype=np.intp)), g.n_groups, GATE_CODES[gate], beta,
                       eps, ddof, kernel_input(a_set), out)
    return like(out, set_rewards, credits, mask)

