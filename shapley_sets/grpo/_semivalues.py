"""Per-candidate credits: semivalues of a set utility (leave-one-out, Banzhaf, Shapley, Beta)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .._api import _prepare, shapley, value
from ..adapters.arrays import to_numpy

__all__ = ["credit_values", "check_credit", "CREDITS"]

#: The named credits; ``("beta", α, β)`` is the Beta(α, β) semivalue.
CREDITS = ("loo", "banzhaf", "shapley")
#: Largest K for the Banzhaf and Beta credits (they enumerate the 2^K coalitions).
_ENUMERATE_MAX_K = 16


def check_credit(credit):
    if isinstance(credit, str) and credit in CREDITS:
        return credit
    # a list too: ("beta", a, b) read from a YAML/Hydra config arrives as one
    if isinstance(credit, Sequence) and not isinstance(credit, (str, bytes)) and len(credit) == 3 \
            and credit[0] == "beta":
        a, b = credit[1], credit[2]
        for name, v in (("alpha", a), ("beta", b)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"credit ('beta', alpha, beta) needs finite {name} > 0, got {v!r}")
        return ("beta", float(a), float(b))
    raise ValueError(
        f"credit must be 'loo', 'banzhaf', 'shapley' or ('beta', alpha, beta), got {credit!r}"
    )


def _size_weights(credit, k: int) -> np.ndarray:
    """q_k(s), the weight of ONE coalition of size s among the k-1 others."""
    from scipy.special import betaln

    s = np.arange(k, dtype=np.float64)
    if credit == "banzhaf":
        return np.full(k, 0.5 ** (k - 1))
    if credit == "loo":
        q = np.zeros(k)
        q[k - 1] = 1.0
        return q
    a, b = (1.0, 1.0) if credit == "shapley" else credit[1:]
    return np.exp(betaln(s + a, k - 1 - s + b) - betaln(a, b))


def _enumerated_credits(u, arr, mask, credit) -> np.ndarray:
    k = arr.shape[-1]
    if k > _ENUMERATE_MAX_K:
        raise ValueError(
            f"credit {credit!r} enumerates the 2^K coalitions of each set and supports K <= "
            f"{_ENUMERATE_MAX_K}, got K = {k}"
        )
    bits = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(bool)  # (2^K, K)
    # absent candidates never join: their inputs are never read
    table = np.asarray(u.coalition_values(arr, bits & mask[..., None, :]), dtype=np.float64)
    # a coalition counts only if it holds present candidates alone
    valid = ~(bits & ~mask[..., None, :]).any(axis=-1)  # (..., 2^K)
    k_present = mask.sum(axis=-1)
    q = np.zeros(mask.shape)  # q[..., s]: weight of one coalition of size s
    for kp in np.unique(k_present):
        if kp > 0:
            q[k_present == kp, :kp] = _size_weights(credit, int(kp))
    sizes = bits.sum(axis=-1)
    out = np.zeros(mask.shape)
    for i in range(k):
        t = np.flatnonzero(~bits[:, i])  # coalitions without i; T ∪ {i} sets bit i
        w = np.where(valid[..., t], q[..., sizes[t]], 0.0)
        out[..., i] = (w * (table[..., t | (1 << i)] - table[..., t])).sum(axis=-1)
    return np.where(mask, out, 0.0)


def credit_values(utility, x, credit, *, mask=None) -> np.ndarray:
    """Per-candidate credits of each set: a semivalue of ``utility``.

    Args:
        utility: a set utility, e.g. ``ss.BestOf()``.
        x: the sets' inputs, as for :func:`shapley_sets.shapley`.
        credit: ``"loo"`` (``U(S) - U(S ∖ k)``), ``"banzhaf"``, ``"shapley"``
            or ``("beta", α, β)``.
        mask: optional bool mask of present candidates.

    Returns:
        float64 numpy array of shape ``x``'s batch + (K,); 0 for absent
        candidates.

    Raises:
        ValueError: an unknown credit, bad input (as :func:`shapley_sets.shapley`),
            K > 16 for the Banzhaf and Beta credits.

    Examples:
        >>> import shapley_sets as ss
        >>> ss.grpo.credit_values(ss.BestOf(), [[0.9, 0.2, 0.8]], "loo").round(3).tolist()
        [[0.1, 0.0, 0.0]]
        >>> ss.grpo.credit_values(ss.BestOf(), [[0.9, 0.2, 0.8]], "banzhaf").round(3).tolist()
        [[0.45, 0.05, 0.35]]
    """
    credit = check_credit(credit)
    x = to_numpy(x)
    m = None if mask is None else to_numpy(mask)
    if credit == "shapley":
        return shapley(utility, x, mask=m)
    arr, present = _prepare(utility, x, m)
    if credit == "loo":
        k = arr.shape[-1]
        drop = present[..., None, :] & ~np.eye(k, dtype=bool)  # (..., K, K): S without k
        full = value(utility, arr, mask=present)
        rest = np.asarray(utility.coalition_values(arr, drop), dtype=np.float64)
        return np.where(present, full[..., None] - rest, 0.0)
    return _enumerated_credits(utility, arr, present, credit)
