"""Semivalue weightings: parse the ``weights`` argument once, into one object.

A semivalue gives candidate i

    φ_i = Σ_{T ⊆ N∖i} q_K(|T|) · [U(T ∪ {i}) − U(T)],

where K is the number of present candidates and q_K(s) is the weight of ONE
coalition of size s. The total weight of the coalitions of size s is
``p_K(s) = C(K−1, s) · q_K(s)``, and ``Σ_s p_K(s) = 1`` (docs/math.md,
section "Semivalues").

The named weightings are probabilistic values: every other candidate joins
the coalition independently with probability t, and t ~ Beta(α, β) (Shapley
is α = β = 1), t = 1/2 (Banzhaf) or t = 1 (leave-one-out). For those,
``q_K(s) = E[t^s (1 − t)^(K−1−s)]`` does not depend on which other
candidates exist, so absent candidates are null players that change nobody's
value, and several engines use one table for every set size. Size weights
given by the caller have no such law and are read per set size.

Everything here is weights and tables, computed by ratio recurrences of the
binomial and beta-binomial laws and of the Beta function: never factorials.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from .._cache import also_clear

__all__ = ["Weighting", "as_weighting", "SHAPLEY", "BANZHAF", "LEAVE_ONE_OUT"]

#: How far a caller's size weights may sum from 1.
SUM_TOLERANCE = 1e-9

_NAMES = {"shapley": "shapley", "banzhaf": "banzhaf", "loo": "loo", "leave_one_out": "loo",
          "leave-one-out": "loo"}


def _positive(value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"weights: {what} of ('beta', α, β) must be a real number > 0, got {value!r}")
    out = float(value)
    if not (math.isfinite(out) and out > 0.0):
        raise ValueError(f"weights: {what} of ('beta', α, β) must be finite and > 0, got {out}")
    return out


def _checked_sizes(values, k: int, what: str) -> np.ndarray:
    """A caller's size weights p_K(0..K−1) as a read-only float64 array, or a
    ValueError naming ``what`` (the argument) and the size."""
    arr: np.ndarray = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be real size weights p_K(s), got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != k:
        raise ValueError(
            f"{what} must hold K = {k} size weights p_K(s), s = 0..{k - 1}, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{what} must be finite; found {arr[bad]} at size s = {bad}")
    if (arr < 0).any():
        bad = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(f"{what} must be non-negative; found {arr[bad]} at size s = {bad}")
    total = math.fsum(arr.tolist())
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(
            f"{what} must sum to 1 (the total weight of all coalition sizes), got {total!r}"
        )
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Weighting:
    """One semivalue weighting: its name, its size weights p_K(s) and its
    coalition weights q_K(s).

    Build it with :func:`as_weighting`. ``kind`` is ``"shapley"``,
    ``"banzhaf"``, ``"loo"``, ``"beta"`` or ``"sizes"`` (the caller's own size
    weights); ``alpha``/``beta`` are the Beta law of t for the probabilistic
    kinds (Banzhaf and leave-one-out are point masses at t = 1/2 and t = 1).

    Examples:
        >>> from shapley_sets.engines.weights import as_weighting
        >>> w = as_weighting(("beta", 2, 3))
        >>> w.name, w.size_weights(3).round(4).tolist()
        ('beta(2, 3)', [0.4, 0.4, 0.2])
        >>> as_weighting("banzhaf").coalition_weights(3).tolist()
        [0.25, 0.25, 0.25]
    """

    kind: str
    alpha: float = 1.0
    beta: float = 1.0
    sizes: np.ndarray | Callable[[int], ArrayLike] | None = field(default=None, repr=False)  # for "sizes"

    @property
    def name(self) -> str:
        """A short name for messages and tables, e.g. ``"beta(2, 3)"``."""
        if self.kind == "beta":
            return f"beta({self.alpha:g}, {self.beta:g})"
        return self.kind

    @property
    def is_shapley(self) -> bool:
        """True for the Shapley value (``"shapley"`` or Beta(1, 1))."""
        return self.kind == "shapley"

    @property
    def probabilistic(self) -> bool:
        """True when the weights come from a law of t (every kind but
        ``"sizes"``): then they do not depend on the absent candidates."""
        return self.kind != "sizes"

    # -- equality: the caches key on weightings ----------------------------
    def _key(self):
        if self.kind != "sizes":
            return (self.kind, self.alpha, self.beta)
        if callable(self.sizes):
            return ("sizes-callable", id(self.sizes))
        return ("sizes-array", self.sizes.tobytes())

    def __eq__(self, other):
        return isinstance(other, Weighting) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    # -- the weights --------------------------------------------------------
    def size_weights(self, k: int) -> np.ndarray:
        """``p_K(s)`` for s = 0..K−1 (read-only, sums to 1), K = ``k`` >= 1.

        Raises:
            ValueError: caller's size weights of the wrong length, not finite,
                negative or not summing to 1 (naming ``weights``).

        Examples:
            >>> from shapley_sets.engines.weights import as_weighting
            >>> as_weighting("banzhaf").size_weights(3).tolist()
            [0.25, 0.5, 0.25]
        """
        return _size_weights(self, int(k))

    def coalition_weights(self, k: int) -> np.ndarray:
        """``q_K(s) = p_K(s) / C(K−1, s)`` for s = 0..K−1: the weight of one
        coalition of size s (underflows to 0 for large K; the reference
        engine, K <= 25, is its only user).

        Examples:
            >>> from shapley_sets.engines.weights import as_weighting
            >>> as_weighting("loo").coalition_weights(3).tolist()
            [0.0, 0.0, 1.0]
        """
        k = int(k)
        if self.kind == "shapley":
            from .reference import shapley_weights

            return shapley_weights(k)
        if self.kind == "banzhaf":
            return np.full(k, math.ldexp(1.0, -(k - 1)))
        if self.kind == "loo":
            q = np.zeros(k)
            q[-1] = 1.0
            return q
        comb = np.array([math.comb(k - 1, s) for s in range(k)], dtype=float)
        return self.size_weights(k) / comb

    def absent_chance(self, n: int) -> np.ndarray:
        """``c[j] = E[(1 − t)^(j−1)]`` for j = 1..n (index 0 unused): the chance
        that none of j − 1 given other candidates joins. Probabilistic kinds
        only; the best-of step shares (docs/math.md#semivalues).

        Examples:
            >>> from shapley_sets.engines.weights import as_weighting
            >>> as_weighting("banzhaf").absent_chance(3).tolist()
            [0.0, 1.0, 0.5, 0.25]
        """
        return _absent_chance(self, int(n))

    def inclusion(self, k: int) -> float:
        """``E_p[s] / (K − 1)``: the chance that one given other candidate is
        in the coalition, for sets of K present candidates (0 when K = 1).

        Examples:
            >>> from shapley_sets.engines.weights import as_weighting
            >>> as_weighting(("beta", 3, 1)).inclusion(5)
            0.75
        """
        k = int(k)
        if k <= 1:
            return 0.0
        if self.kind in ("shapley", "banzhaf"):
            return 0.5
        if self.kind == "loo":
            return 1.0
        if self.kind == "beta":
            return self.alpha / (self.alpha + self.beta)
        p = self.size_weights(k)
        return float(p @ np.arange(k)) / (k - 1)


SHAPLEY = Weighting("shapley")
BANZHAF = Weighting("banzhaf")
LEAVE_ONE_OUT = Weighting("loo")


def as_weighting(weights) -> Weighting:
    """Parse the ``weights`` argument of :func:`shapley_sets.semivalue`.

    Args:
        weights: ``"shapley"``, ``"banzhaf"``, ``"loo"`` (also
            ``"leave_one_out"``), ``("beta", α, β)`` with α, β > 0, a
            :class:`Weighting`, a 1-D array of size weights ``p_K(s)``,
            s = 0..K−1 (for sets of exactly K = ``len(weights)`` present
            candidates), or a callable ``weights(K)`` returning that vector
            for any K (sets of any size, ragged batches included).

    Returns:
        The :class:`Weighting`.

    Raises:
        TypeError: ``weights`` is none of these.
        ValueError: an unknown name, α or β not > 0, or an array that is not
            1-D, not finite, negative or not summing to 1.

    Examples:
        >>> from shapley_sets.engines.weights import as_weighting
        >>> as_weighting("loo").name
        'loo'
        >>> as_weighting(("beta", 1, 1)).name   # Beta(1, 1) is the Shapley value
        'shapley'
        >>> as_weighting([0.25, 0.5, 0.25]).size_weights(3).tolist()
        [0.25, 0.5, 0.25]
    """
    if isinstance(weights, Weighting):
        return weights
    if isinstance(weights, str):
        kind = _NAMES.get(weights.lower())
        if kind is None:
            raise ValueError(
                f"weights must be 'shapley', 'banzhaf', 'loo', ('beta', α, β), or size "
                f"weights p_K(s); got {weights!r}"
            )
        return {"shapley": SHAPLEY, "banzhaf": BANZHAF, "loo": LEAVE_ONE_OUT}[kind]
    if isinstance(weights, tuple) and weights and isinstance(weights[0], str):
        if weights[0].lower() != "beta" or len(weights) != 3:
            raise ValueError(f"weights as a tuple must be ('beta', α, β), got {weights!r}")
        alpha = _positive(weights[1], "α")
        beta = _positive(weights[2], "β")
        if alpha == 1.0 and beta == 1.0:
            return SHAPLEY
        return Weighting("beta", alpha, beta)
    if callable(weights) and not isinstance(weights, np.ndarray):
        return Weighting("sizes", sizes=weights)
    if weights is None or isinstance(weights, (bytes, dict, set)):
        raise TypeError(
            "weights must be 'shapley', 'banzhaf', 'loo', ('beta', α, β), a 1-D array of "
            f"size weights p_K(s) or a callable K -> p_K; got {type(weights).__name__}"
        )
    arr = np.asarray(weights)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"weights must be real size weights p_K(s), got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"weights as an array must be 1-D size weights p_K(s), got shape {arr.shape}")
    return Weighting("sizes", sizes=_checked_sizes(arr, arr.shape[0], "weights"))


# -- cached tables -------------------------------------------------------------


def _from_ratios(ratios: np.ndarray) -> np.ndarray:
    """A pmf on 0..n from its ratios ``pmf(i + 1) / pmf(i)``: running products
    out from its largest term, normalised. Accurate to a few ulps per step
    (scipy's log-Beta pmf was off by 7.7e-13 relative at K = 300)."""
    n = ratios.shape[0]
    with np.errstate(divide="ignore"):
        logs = np.concatenate(([0.0], np.cumsum(np.log(ratios))))
    top = int(np.argmax(logs))  # only to choose where to start
    p = np.empty(n + 1)
    p[top] = 1.0
    p[top + 1:] = np.cumprod(ratios[top:])
    p[:top] = np.cumprod(1.0 / ratios[:top][::-1])[::-1]
    return p / math.fsum(p.tolist())


@lru_cache(maxsize=64)
def _size_weights(w: Weighting, k: int) -> np.ndarray:
    if w.kind == "sizes":
        sizes = w.sizes
        if callable(sizes):
            try:
                values = sizes(k)
            except Exception as exc:
                kind = TypeError if isinstance(exc, TypeError) else ValueError
                raise kind(f"weights({k}) raised {type(exc).__name__}: {exc}") from exc
            return _checked_sizes(values, k, f"weights({k})")
        assert isinstance(sizes, np.ndarray)  # a "sizes" weighting always carries them
        if sizes.shape[0] != k:
            raise ValueError(
                f"weights holds size weights for sets of K = {sizes.shape[0]} present "
                f"candidates, but a set has {k}; pass a callable weights(K) for sets of "
                "other sizes (ragged batches)"
            )
        return sizes
    if w.kind == "shapley":
        p = np.full(k, 1.0 / k)
    elif w.kind == "loo":
        p = np.zeros(k)
        p[-1] = 1.0
    else:
        n = k - 1
        i = np.arange(n, dtype=np.float64)
        if w.kind == "banzhaf":  # binomial(K − 1, 1/2)
            ratios = (n - i) / (i + 1)
        else:  # beta-binomial(K − 1, α, β)
            ratios = ((n - i) * (i + w.alpha)) / ((i + 1) * (n - i - 1 + w.beta))
        p = _from_ratios(ratios)
    p = np.asarray(p, dtype=np.float64)
    p.flags.writeable = False
    return p


@lru_cache(maxsize=64)
def _absent_chance(w: Weighting, n: int) -> np.ndarray:
    c = np.zeros(n + 1)
    if n < 1:
        c.flags.writeable = False
        return c
    j = np.arange(1, n + 1)
    if w.kind == "shapley":
        c[1:] = 1.0 / j
    elif w.kind == "banzhaf":
        c[1:] = np.ldexp(1.0, -(j - 1))
    elif w.kind == "loo":
        c[1] = 1.0
    elif w.kind == "beta":
        # E[(1-t)^(j-1)] = B(α, β + j − 1) / B(α, β) = Π_{i<j−1} (β + i) / (α + β + i):
        # a running product of ratios, accurate to a few ulps per factor. The
        # integer i = j − 1 is added last: (β + j) − 1 would lose the digits of a
        # small β (relative error 1e-7 at β = 1e-9).
        i = (j[:-1] - 1).astype(np.float64)
        ratios = (i + w.beta) / (i + (w.alpha + w.beta))
        c[1] = 1.0
        c[2:] = np.cumprod(ratios)
    else:
        raise ValueError("absent_chance needs a probabilistic weighting")
    c.flags.writeable = False
    return c


also_clear(_size_weights.cache_clear)
also_clear(_absent_chance.cache_clear)
