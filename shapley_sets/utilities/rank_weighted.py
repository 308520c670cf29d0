"""Rank-weighted utilities: a weighted sum of a set's sorted scores
(docs/math.md#rank-weighted-utilities).

``U(S) = Σ_{k=1}^{|S|} w(|S|, k) · x_(k:S)``, where ``x_(k:S)`` is the k-th
largest score in S. Best-of, top-m sum and mean, mean, worst-of and
position-discounted lists are all members of this family; :class:`TopK` is
the top-m sum with its own closed form.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Union, cast

import numpy as np
from numpy.typing import ArrayLike

from .._cache import ByteCache
from .._scalars import check_int
from .base import Utility

#: What ``RankWeighted(weights)`` takes: ``w(s, k)`` or an array indexed ``[s, k]``.
Weights = Union[Callable[[int, int], float], ArrayLike]

__all__ = ["RankWeighted", "TopK"]

# Weight tables evaluated so far, per utility: the largest one is kept and
# sliced for smaller K, since w(s, k) does not depend on K. Bounded in bytes
# (a table is 8 (K + 1)² bytes) so that neither many utilities nor large K
# grow it without limit.
_WEIGHT_CACHE = ByteCache("rank-weighted weight tables", 512 << 20)


def _check_count(value: object, name: str) -> int:
    return check_int(name, value, minimum=1)


def _real_scalar(value, what: str) -> float:
    """``value`` as a finite float, or a ValueError that names ``what``."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (numbers.Real, np.bool_)):
        raise ValueError(f"{what} must return a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{what} must return a finite number, got {out}")
    return out


def _readonly_copy(values, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real numeric array or a callable, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    arr = np.array(arr, dtype=np.float64)  # a private copy: the caller may mutate theirs
    arr.flags.writeable = False
    return arr


def _array_key(arr: np.ndarray) -> tuple:
    # A digest, not the bytes: caches keep keys alive, and a second copy of a
    # large weight table in every key would double their memory.
    return (arr.shape, hashlib.blake2b(arr.tobytes(), digest_size=16).digest())


def _same_weights(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
            and np.array_equal(a, b, equal_nan=True)
        )
    return True  # callables: their keys already compared them


# -- the named presets --------------------------------------------------------
# Small frozen callables: equal and hashable by value (so that two calls of
# ``RankWeighted.mean()`` share one cached table) and able to fill a whole
# weight table at once instead of one Python call per entry.


@dataclass(frozen=True)
class _TopMSum:
    m: int

    def __call__(self, s, k):
        return 1.0 if k <= self.m else 0.0

    def _table(self, kmax):
        table = np.zeros((kmax + 1, kmax + 1))
        table[:, 1 : self.m + 1] = 1.0
        return table

    def __repr__(self):
        return f"RankWeighted.top_m_sum({self.m})"


@dataclass(frozen=True)
class _TopMMean:
    m: int

    def __call__(self, s, k):
        return 1.0 / min(s, self.m) if k <= self.m else 0.0

    def _table(self, kmax):
        sizes = np.arange(kmax + 1)
        table = np.zeros((kmax + 1, kmax + 1))
        table[1:, 1 : self.m + 1] = (1.0 / np.minimum(sizes[1:], self.m))[:, None]
        return table

    def __repr__(self):
        return f"RankWeighted.top_m_mean({self.m})"


@dataclass(frozen=True)
class _Mean:
    def __call__(self, s, k):
        return 1.0 / s

    def _table(self, kmax):
        table = np.zeros((kmax + 1, kmax + 1))
        table[1:, 1:] = (1.0 / np.arange(1, kmax + 1))[:, None]
        return table

    def __repr__(self):
        return "RankWeighted.mean()"


@dataclass(frozen=True)
class _WorstOf:
    def __call__(self, s, k):
        return 1.0 if k == s else 0.0

    def _table(self, kmax):
        return np.diag(np.r_[0.0, np.ones(kmax)])

    def __repr__(self):
        return "RankWeighted.worst_of()"


@dataclass(frozen=True, eq=False)
class _Discounted:
    """``w(s, k) = d_k``: either a callable of k or a 1-D array, ``d[k - 1]``."""

    d: Callable[[int], float] | np.ndarray
    _key: tuple

    def discounts(self, kmax: int) -> np.ndarray:
        """``d_1..d_kmax`` as a float array (checked finite)."""
        if callable(self.d):
            out = np.empty(kmax)
            for k in range(1, kmax + 1):
                out[k - 1] = _checked_call(
                    self.d, (k,), f"d({k})",
                    f"the discount of position {k} of the weights of RankWeighted.discounted")
            return out
        if self.d.shape[0] < kmax:
            raise ValueError(
                f"d has {self.d.shape[0]} discounts but sets of K = {kmax} present "
                f"candidates need at least {kmax} (d[k - 1] is the discount of position k)"
            )
        return self.d[:kmax]

    def __call__(self, s, k):
        return float(self.discounts(k)[k - 1])

    def _table(self, kmax):
        table = np.zeros((kmax + 1, kmax + 1))
        table[1:, 1:] = np.tril(np.broadcast_to(self.discounts(kmax), (kmax, kmax)))
        return table

    def __eq__(self, other):
        return (
            type(other) is _Discounted and self._key == other._key
            and _same_weights(self.d, other.d)
        )

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        if self.d is _dcg_discount:
            return "RankWeighted.discounted()"
        if callable(self.d):
            return f"RankWeighted.discounted({self.d!r})"
        return f"RankWeighted.discounted(<{self.d.shape[0]} discounts>)"


_PRESETS = (_TopMSum, _TopMMean, _Mean, _WorstOf, _Discounted)


def _dcg_discount(k):
    return 1.0 / math.log2(k + 1)


@dataclass(frozen=True, eq=False)
class RankWeighted(Utility):
    """``U(S) = Σ_{k=1}^{|S|} w(|S|, k) · x_(k:S)``, ``U(∅) = 0``.

    ``x_(k:S)`` is the k-th largest score among the set's present candidates.
    The weights may depend on the size of the set, so one class covers
    best-of, top-m sum and mean, mean, worst-of and position-discounted lists
    (see the presets below). Exact Shapley values cost, per set, a sort and two
    prefix sums, O(K log K), after tables that depend only on (K, weights) and
    are built once and cached (docs/math.md#step-games): in
    O(K) to O(K²) for the presets, which have closed forms, and O(K²) for
    other weights.

    Scores may be any real numbers and the weights any finite reals (negative
    weights included). Equal utilities (same weight array, same preset, same
    callable object) share cached tables.

    Args:
        weights: either a callable ``w(s, k)`` called with Python ints
            ``1 <= k <= s`` and returning a real number, evaluated lazily for
            the set sizes met and cached; or an array indexed ``[s, k]`` of
            shape at least ``(K + 1, K + 1)`` for sets of up to K present
            candidates (row 0 and column 0 are unused, and only entries with
            ``1 <= k <= s`` are read). The array is copied and kept read-only.
            For K in the thousands prefer the array: a callable is one Python
            call per entry, about K²/2 of them (8.4 million at K = 4096, a
            few seconds of the caller's code), while the engine's own table
            build takes well under a second; a table from numpy broadcasting
            (``s, k = np.ogrid[:K + 1, :K + 1]``) costs milliseconds.

    Presets (class methods, each documented):
        ``top_m_sum(m)``, ``top_m_mean(m)``, ``mean()``, ``worst_of()``,
        ``discounted(d=None)``.

    Raises:
        TypeError: ``weights`` is neither a callable nor a numeric array.
        ValueError: ``weights`` is not 2-D or has a NaN/inf among the entries
            it would be read at (naming ``(s, k)``). When computing: an array
            too small for the sets (naming the shape needed), or a callable
            that raises or returns a non-finite or non-real value (naming the
            ``(s, k)`` it failed at).

    Examples:
        >>> import numpy as np
        >>> import shapley_sets as ss
        >>> u = ss.RankWeighted(lambda s, k: 1.0 if k <= 2 else 0.0)  # top-2 sum
        >>> float(ss.value(u, [3.0, 1.0, 2.0]))
        5.0
        >>> ss.shapley(u, [3.0, 1.0, 2.0]).round(4).tolist()
        [2.6667, 0.6667, 1.6667]
        >>> w = np.zeros((4, 4)); w[1:, 1] = 1.0; w[2:, 2] = -0.5  # best minus half the runner-up
        >>> float(ss.value(ss.RankWeighted(w), [3.0, 1.0, 2.0]))
        2.0
        >>> ss.shapley(ss.RankWeighted.mean(), [3.0, 1.0, 2.0]).round(4).tolist()
        [1.4167, -0.0833, 0.6667]
    """

    weights: Weights
    _key: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        weights = self.weights
        if _is_torch(weights):
            raise TypeError("weights is a torch tensor; pass a numpy array or a callable")
        if callable(weights) and not isinstance(weights, np.ndarray):
            try:
                hash(weights)
                key = ("callable", weights)
            except TypeError:  # an unhashable callable is identified by its identity
                key = ("callable-id", id(weights))
        else:
            if isinstance(weights, (str, bytes)) or weights is None:
                raise TypeError(
                    f"weights must be a callable w(s, k) or an array indexed [s, k], got {weights!r}"
                )
            weights = _readonly_copy(weights, "weights", ndim=2)
            kmax = min(weights.shape) - 1
            if kmax >= 1:
                read = np.tril(np.ones((kmax, kmax), dtype=bool))
                bad = read & ~np.isfinite(weights[1 : kmax + 1, 1 : kmax + 1])
                if bad.any():
                    s, k = (int(i) + 1 for i in np.argwhere(bad)[0])
                    raise ValueError(
                        f"weights must be finite where read (1 <= k <= s); found "
                        f"{weights[s, k]} at weights[{s}, {k}]"
                    )
            object.__setattr__(self, "weights", weights)
            key = ("array",) + _array_key(weights)
        object.__setattr__(self, "_key", key)

    def __eq__(self, other):
        return (
            type(other) is type(self) and self._key == other._key
            and _same_weights(self.weights, other.weights)
        )

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        w = self.weights
        if type(w) in _PRESETS:
            return repr(w)
        if isinstance(w, np.ndarray):
            return f"RankWeighted(weights=<array of shape {w.shape}>)"
        return f"RankWeighted(weights={w!r})"

    # -- presets -----------------------------------------------------------
    @classmethod
    def top_m_sum(cls, m: int) -> "RankWeighted":
        """Sum of the m largest scores (all of them when the set is smaller).

        ``w(s, k) = 1 if k <= m``. Same utility as :class:`TopK` ``(m)``, and
        with ``m = 1`` as ``BestOf()`` on non-negative scores. Its Shapley
        values use the closed form ``φ_(i) = Σ_{j >= i} min(m, j)/j · Δ_j``
        (no table).

        Args:
            m: number of scores summed, an int >= 1.

        Returns:
            The :class:`RankWeighted` utility.

        Raises:
            TypeError, ValueError: ``m`` is not an int >= 1.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.shapley(ss.RankWeighted.top_m_sum(1), [1.0, 3.0, 2.0]).round(4).tolist()
            [0.3333, 1.8333, 0.8333]
        """
        return cls(_TopMSum(_check_count(m, "m")))

    @classmethod
    def top_m_mean(cls, m: int) -> "RankWeighted":
        """Mean of the m largest scores (of all of them when the set is smaller).

        ``w(s, k) = 1 / min(s, m) if k <= m``.

        Args:
            m: number of scores averaged, an int >= 1.

        Returns:
            The :class:`RankWeighted` utility.

        Raises:
            TypeError, ValueError: ``m`` is not an int >= 1.

        Examples:
            >>> import shapley_sets as ss
            >>> float(ss.value(ss.RankWeighted.top_m_mean(2), [4.0, 1.0, 2.0]))
            3.0
        """
        return cls(_TopMMean(_check_count(m, "m")))

    @classmethod
    def mean(cls) -> "RankWeighted":
        """Mean score of the set, ``w(s, k) = 1/s``.

        Returns:
            The :class:`RankWeighted` utility.

        Examples:
            >>> import shapley_sets as ss
            >>> float(ss.value(ss.RankWeighted.mean(), [4.0, 2.0]))
            3.0
        """
        return cls(_Mean())

    @classmethod
    def worst_of(cls) -> "RankWeighted":
        """Smallest score of the set, ``w(s, k) = 1 if k = s``.

        Returns:
            The :class:`RankWeighted` utility.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.shapley(ss.RankWeighted.worst_of(), [1.0, 3.0]).tolist()
            [-0.5, 1.5]
        """
        return cls(_WorstOf())

    @classmethod
    def discounted(cls, d: Callable[[int], float] | ArrayLike | None = None) -> "RankWeighted":
        """Position-discounted list (DCG-like): ``w(s, k) = d_k``.

        The user reads the list best first and the k-th best counts with
        discount ``d_k``, whatever the size of the set.

        Args:
            d: the discounts: a callable ``d(k)`` of the 1-based position, or a
                1-D array with ``d[k - 1]`` the discount of position k (at
                least as long as the largest set). Default
                ``1 / log2(k + 1)`` (DCG).

        Returns:
            The :class:`RankWeighted` utility.

        Raises:
            TypeError: ``d`` is neither a callable nor a numeric array.
            ValueError: ``d`` is not 1-D or has NaN/inf; when computing, ``d``
                shorter than the set, or a callable ``d`` that raises or
                returns a non-finite value (naming the position).

        Examples:
            >>> import shapley_sets as ss
            >>> round(float(ss.value(ss.RankWeighted.discounted(), [1.0, 3.0])), 6)
            3.63093
            >>> float(ss.value(ss.RankWeighted.discounted([1.0, 0.5]), [1.0, 3.0]))
            3.5
        """
        if d is None:
            d = _dcg_discount
        key: tuple
        if callable(d) and not isinstance(d, np.ndarray):
            try:
                key = ("callable", d, hash(d))
            except TypeError:
                key = ("callable-id", id(d))
        else:
            if isinstance(d, (str, bytes)):
                raise TypeError(f"d must be a callable d(k) or a 1-D array, got {d!r}")
            d = _readonly_copy(d, "d", ndim=1)
            if not np.isfinite(d).all():
                bad = int(np.flatnonzero(~np.isfinite(d))[0])
                raise ValueError(f"d must be finite; found {d[bad]} at d[{bad}] (position {bad + 1})")
            key = ("array",) + _array_key(d)
        return cls(_Discounted(d, key))

    # -- evaluation --------------------------------------------------------
    def weight_table(self, kmax: int) -> np.ndarray:
        """The weights as a read-only ``(kmax + 1, kmax + 1)`` array ``[s, k]``.

        Entries with ``1 <= k <= s <= kmax`` hold ``w(s, k)``; every other
        entry is 0 (row 0 and column 0 included, so ``U(∅) = 0``). Cached: a
        callable is called once per ``(s, k)`` ever needed.

        Args:
            kmax: the largest set size needed, an int >= 0.

        Returns:
            float64 array of shape ``(kmax + 1, kmax + 1)``.

        Raises:
            ValueError, TypeError: see the class (array too small, failing or
                non-finite callable).

        Examples:
            >>> import shapley_sets as ss
            >>> ss.RankWeighted.top_m_mean(2).weight_table(3)
            array([[0. , 0. , 0. , 0. ],
                   [0. , 1. , 0. , 0. ],
                   [0. , 0.5, 0.5, 0. ],
                   [0. , 0.5, 0.5, 0. ]])
        """
        kmax = int(kmax)
        cached = _WEIGHT_CACHE.get(self)
        if cached is not None and cached.shape[0] > kmax:
            return cached[: kmax + 1, : kmax + 1]
        table = self._evaluate(kmax, cached)
        table.flags.writeable = False
        _WEIGHT_CACHE.put(self, table)
        return table

    def _evaluate(self, kmax: int, previous) -> np.ndarray:
        w = self.weights
        if isinstance(w, np.ndarray):
            self._check_shape(kmax)
            return _read_region(w, kmax)
        if type(w) in _PRESETS:
            return _read_region(cast(Any, w)._table(kmax), kmax)
        # Arrays and presets returned above; __post_init__ let only callables through.
        f = cast(Callable[[int, int], float], w)
        table = np.zeros((kmax + 1, kmax + 1))
        start = 1
        if previous is not None:  # rows already evaluated stay valid
            done = previous.shape[0]
            table[:done, :done] = previous
            start = done
        for s in range(start, kmax + 1):
            table[s, 1 : s + 1] = _evaluate_row(f, s)
        return table

    def _check_shape(self, kmax: int) -> None:
        w = self.weights
        assert isinstance(w, np.ndarray)
        if min(w.shape) < kmax + 1:
            raise ValueError(
                f"weights has shape {w.shape}, but sets of K = {kmax} present "
                f"candidates need at least shape ({kmax + 1}, {kmax + 1}) "
                f"(weights[s, k] for 1 <= k <= s <= {kmax})"
            )

    def check_input(self, x: np.ndarray) -> None:
        """Check the weights for sets of up to K = ``x.shape[-1]`` candidates,
        so that weights too small or failing are reported before any work;
        raises as :meth:`weight_table`. An array's shape is checked (its
        entries were checked when it was given); a callable is evaluated and
        cached, unless its table is too large for the weight cache (then
        the engine evaluates it, once, as it builds the step tables). The
        presets need no table (their step tables have closed forms): only a
        discounted list's discounts are evaluated."""
        w = self.weights
        kmax = x.shape[-1]
        if type(w) is _Discounted:
            w.discounts(kmax)
        elif isinstance(w, np.ndarray):
            self._check_shape(kmax)  # checked finite where read when constructed
        elif type(w) not in _PRESETS and 8 * (kmax + 1) ** 2 <= _WEIGHT_CACHE.max_bytes:
            # A table too large for the cache (K ~ 8000 and above) is left to
            # the engine, which evaluates it once where it needs it (and fails
            # there with the same messages) instead of once here and again there.
            self.weight_table(kmax)

    def rescaled(self, c: float) -> "RankWeighted":
        """The same utility: a weighted sum of scores scales with them.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.RankWeighted.mean().rescaled(0.5)
            RankWeighted.mean()
        """
        return self

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        return _sorted_weighted_sums(x, members, self.weight_table)


def _evaluate_row(f: Callable[[int, int], float], s: int) -> np.ndarray:
    """``f(s, k)`` for k = 1..s as floats: one list and one conversion per row;
    the first failing or non-real entry is found, and named, entry by entry."""
    try:
        values = [f(s, k) for k in range(1, s + 1)]
    except Exception:
        values = None
    row = None
    if values is not None:
        try:
            row = np.asarray(values)
        except (ValueError, TypeError):  # ragged entries (sequences)
            row = None
    if row is not None:
        # Only numbers (numpy converts strings and parses them as floats).
        if row.shape == (s,) and row.dtype.kind in "biuf":
            row = row.astype(np.float64)
            if np.isfinite(row).all():
                return row
    row = np.empty(s)
    for k in range(1, s + 1):
        row[k - 1] = _checked_call(f, (s, k), f"weights({s}, {k})",
                                   f"the weight of the {k}-th largest score in a set of {s}")
    return row


def _checked_call(f, args: tuple, label: str, meaning: str) -> float:
    """``f(*args)`` as a finite float; a failure raises the same kind of
    error (TypeError stays TypeError, anything else ValueError) naming
    ``label`` and what the value means."""
    try:
        value = f(*args)
    except Exception as exc:
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"{label} raised {type(exc).__name__}: {exc} ({meaning})") from exc
    return _real_scalar(value, label)


def _read_region(table: np.ndarray, kmax: int) -> np.ndarray:
    """A copy of ``table[s, k]`` for 1 <= k <= s <= kmax, zero elsewhere
    (whatever the unused entries hold, NaN included)."""
    out = np.zeros((kmax + 1, kmax + 1))
    read = np.tril(np.ones((kmax, kmax), dtype=bool))
    out[1:, 1:][read] = table[1 : kmax + 1, 1 : kmax + 1][read]
    return out


def _is_torch(obj) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _sorted_weighted_sums(x, members, weight_table):
    """``Σ_k w(|S|, k) x_(k:S)`` for many coalitions ``members`` (batch + (C, K))."""
    members = np.asarray(members, dtype=bool)
    k = x.shape[-1]
    picked = np.where(members, x[..., None, :], -np.inf)
    ordered = np.sort(picked, axis=-1)[..., ::-1]  # decreasing; absent (-inf) last
    sizes = members.sum(axis=-1)
    kmax = int(sizes.max(initial=0))
    table = weight_table(kmax)
    rows = np.zeros((kmax + 1, k))
    rows[:, :kmax] = table[:, 1 : kmax + 1]
    weights = rows[sizes]
    present = np.arange(k) < sizes[..., None]
    return np.where(present, weights * np.where(present, ordered, 0.0), 0.0).sum(axis=-1)


@dataclass(frozen=True)
class TopK(Utility):
    """``U(S)`` = the sum of the k largest scores in S (of all of them if
    ``|S| < k``), ``U(∅) = 0``.

    The user reads the k best candidates of the set. A member of the
    rank-weighted family (``RankWeighted.top_m_sum(k)``), with the closed form
    ``φ_(i) = Σ_{j >= i} min(k, j)/j · Δ_j`` over the present scores sorted
    decreasingly, ``Δ_j = x_j - x_{j+1}``, ``x_{K+1} = 0``: O(K log K) per
    set and no table. Scores may be negative; on non-negative scores
    ``TopK(1)`` is ``BestOf()``.

    Args:
        k: how many of the largest scores count, an int >= 1.

    Raises:
        TypeError: ``k`` is not an int (bools are rejected).
        ValueError: ``k < 1``.

    Examples:
        >>> import shapley_sets as ss
        >>> float(ss.value(ss.TopK(2), [3.0, 1.0, 2.0]))
        5.0
        >>> ss.shapley(ss.TopK(2), [3.0, 1.0, 2.0]).round(4).tolist()
        [2.6667, 0.6667, 1.6667]
        >>> ss.shapley(ss.TopK(2), [3.0, 1.0, 2.0], mask=[True, False, True]).tolist()
        [3.0, 0.0, 2.0]
    """

    k: int

    def __post_init__(self):
        object.__setattr__(self, "k", _check_count(self.k, "k"))

    def as_rank_weighted(self) -> RankWeighted:
        """The same utility as a :class:`RankWeighted` (``top_m_sum(k)``).

        Returns:
            ``RankWeighted.top_m_sum(self.k)``.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.TopK(3).as_rank_weighted()
            RankWeighted.top_m_sum(3)
        """
        return RankWeighted.top_m_sum(self.k)

    def rescaled(self, c: float) -> "TopK":
        """The same utility: a sum of scores scales with them.

        Examples:
            >>> import shapley_sets as ss
            >>> ss.TopK(2).rescaled(0.5)
            TopK(k=2)
        """
        return self

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray:
        members = np.asarray(members, dtype=bool)
        picked = np.where(members, x[..., None, :], -np.inf)
        top = np.sort(picked, axis=-1)[..., ::-1][..., : self.k]
        return np.where(np.isfinite(top), top, 0.0).sum(axis=-1)
