"""The reference engine: exact Shapley values (and every other semivalue) of
any set function by enumerating its 2^K coalitions (docs/math.md#reference-engine,
docs/math.md#semivalues). Exponential, exact, and the ground truth every fast
engine is tested against."""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import njit
from .._validation import as_array, as_float_array, check_finite, coalition_values_of
from ._kernels import kernel_input
from ._launch import launch, parallel_allowed

__all__ = [
    "MAX_REFERENCE_K",
    "shapley_weights",
    "exact_shapley_table",
    "exact_semivalue_table",
    "reference_from_prepared",
    "reference_semivalue_from_prepared",
]

#: Largest K the reference engine accepts: a value table of 2^25 float64 is
#: 256 MiB per set, and the O(K 2^K) sweep takes seconds.
MAX_REFERENCE_K = 25

# Coalitions evaluated per call of ``coalition_values`` are bounded so that the
# boolean membership array stays around 16 M entries whatever the batch.
_MEMBER_BUDGET = 1 << 24


def shapley_weights(k: int) -> np.ndarray:
    """Size weights ``w_K(s) = s! (K-s-1)! / K! = 1 / (K C(K-1, s))``, s = 0..K-1.

    Computed by the ratio recurrence ``w(s+1) = w(s) (s+1) / (K-1-s)`` from
    ``w(0) = 1/K`` (never factorials), mirrored by the symmetry
    ``w(s) = w(K-1-s)``: finite and accurate to about K/2 ulps for every K
    (they underflow only beyond K ~ 1000, far above the engine's cap).

    Examples:
        >>> from shapley_sets.engines.reference import shapley_weights
        >>> shapley_weights(3).tolist()
        [0.3333333333333333, 0.16666666666666666, 0.3333333333333333]
    """
    if k < 1:
        return np.zeros(0)
    weights = np.empty(k)
    weights[0] = 1.0 / k
    for s in range(1, (k + 1) // 2):
        weights[s] = weights[s - 1] * s / (k - s)
    weights[(k + 1) // 2 :] = weights[: k // 2][::-1]
    return weights


def _table_bytes_message(n_sets: int, k: int) -> str:
    need = n_sets * (1 << k) * 8
    return (
        f"K = {k} candidates exceeds the reference engine's cap of "
        f"{MAX_REFERENCE_K}: enumerating 2^{k} coalitions for {n_sets} set(s) would "
        f"need {need / 2**30:.3g} GiB for the value table alone"
    )


@njit(cache=True)
def _coalition_sizes(k):
    sizes = np.zeros(1 << k, dtype=np.int64)
    for m in range(1, 1 << k):
        sizes[m] = sizes[m >> 1] + (m & 1)
    return sizes


@njit(cache=True)
def _exact_shapley_chunk(table, weights, sizes, out, start, stop):
    n_coal = table.shape[1]
    k = out.shape[1]
    for s in range(start, stop):
        t = table[s]
        for i in range(k):
            bit = 1 << i
            acc = 0.0
            # Walk the coalitions without bit i in blocks: the low bits run
            # 0..bit-1, the high part skips every block that contains i.
            for hi in range(0, n_coal, bit << 1):
                for m in range(hi, hi + bit):
                    acc += weights[sizes[m]] * (t[m | bit] - t[m])
            out[s, i] = acc


@njit(cache=True, parallel=True)
def _exact_shapley_kernel(table, weights, sizes, out):
    # One set per task: a set is O(K 2^K) work, enough to spread on its own.
    for s in prange(table.shape[0]):
        _exact_shapley_chunk(table, weights, sizes, out, s, s + 1)


@njit(cache=True)
def _exact_semivalue_chunk(table, weights, sizes, present, out, start, stop):
    """Semivalues of sets ``start..stop``: set s's present candidates are the
    bits of ``present[s]``, and a coalition of c of its n present candidates
    weighs ``weights[n, c]`` (each set uses the weights of its own size).
    Coalitions holding an absent candidate are skipped; absent candidates get 0."""
    n_coal = table.shape[1]
    k = out.shape[1]
    for s in range(start, stop):
        t = table[s]
        here = present[s]
        absent = (n_coal - 1) & ~here
        n_here = sizes[here]
        w = weights[n_here]
        for i in range(k):
            bit = 1 << i
            acc = 0.0
            if here & bit:
                for hi in range(0, n_coal, bit << 1):
                    for m in range(hi, hi + bit):
                        if m & absent:
                            continue
                        acc += w[sizes[m]] * (t[m | bit] - t[m])
            out[s, i] = acc


@njit(cache=True, parallel=True)
def _exact_semivalue_kernel(table, weights, sizes, present, out):
    for s in prange(table.shape[0]):
        _exact_semivalue_chunk(table, weights, sizes, present, out, s, s + 1)


# Below this many table entries in all (sets × 2^K) the whole sweep takes
# microseconds, less than launching the thread pool: run it serially.
_SERIAL_TABLE_ENTRIES = 1 << 16


def exact_shapley_table(table) -> np.ndarray:
    """Shapley values of every set function given by a value table.

    Args:
        table: array ``(..., 2**K)``; ``table[..., m] = U(S)`` where bit j of
            ``m`` is set iff candidate j is in S. Leading axes are a batch.
            Integer and float32 tables are upcast to float64.

    Returns:
        float64 array ``(..., K)``: ``phi[..., i]`` is candidate i's Shapley
        value. ``phi.sum(-1) == table[..., -1] - table[..., 0]`` (efficiency).

    Raises:
        TypeError: the table is not a real numeric array.
        ValueError: its last axis is not a power of two, K exceeds
            ``MAX_REFERENCE_K`` (checked before anything is copied), it
            holds NaN or infinity, or the Shapley values are beyond the
            float64 range. Values near that limit whose differences overflow
            are computed exactly on the table scaled by a power of two.

    Examples:
        >>> import shapley_sets as ss
        >>> # U(∅)=0, U({0})=1, U({1})=2, U({0,1})=4
        >>> ss.exact_shapley([0.0, 1.0, 2.0, 4.0]).tolist()
        [1.5, 2.5]
    """
    flat, batch, k = _flat_table(table)
    out = _table_shapley(flat, k)
    if not np.isfinite(out).all():
        raise ValueError(
            "the Shapley values of this table are beyond the float64 range (about "
            "±1.8e308); rescale the table"
        )
    return out.reshape(batch + (k,))


def _flat_table(table):
    """A value table checked and flattened to C-contiguous float64
    ``(n_sets, 2**K)``, with its batch shape and K. The length and the cap
    are checked before anything is copied."""
    raw = table
    if not hasattr(raw, "dtype") or not hasattr(raw, "shape"):
        raw = as_array(raw, "table", "its sets have tables of different lengths",
                       "every set needs one value per coalition of the same K candidates, "
                       "2**K in all")
    shape = tuple(raw.shape)
    if len(shape) == 0:
        raise ValueError("table must have at least one axis (coalitions on the last axis)")
    length = shape[-1]
    if length < 1 or length & (length - 1):
        raise ValueError(
            f"table's last axis must have length 2**K (one value per coalition), got {length}"
        )
    k = length.bit_length() - 1
    n_sets = int(np.prod(shape[:-1], dtype=np.int64))
    if k > MAX_REFERENCE_K:
        raise ValueError(_table_bytes_message(n_sets, k))
    arr = as_float_array(raw, "table")
    check_finite(arr, "table", core_ndim=1)
    return np.ascontiguousarray(arr.reshape(n_sets, length)), shape[:-1], k


def exact_semivalue_table(table, weighting, present=None) -> np.ndarray:
    """Semivalues of every set function given by a value table (see
    :func:`exact_shapley_table` for ``table``).

    Args:
        table: array ``(..., 2**K)``, ``table[..., m] = U(S)``.
        weighting: a :class:`~shapley_sets.engines.weights.Weighting`.
        present: optional int array of the batch's shape: bit j set iff
            candidate j is present. Each set uses the weights of its own
            number of present candidates; absent candidates get exactly 0.
            Default: every candidate present.

    Returns:
        float64 array ``(..., K)``.
    """
    flat, batch, k = _flat_table(table)
    n_sets, length = flat.shape
    if present is None:
        present = np.full(n_sets, length - 1, dtype=np.int64)
    present = np.ascontiguousarray(np.asarray(present, dtype=np.int64).reshape(n_sets))
    sizes = _coalition_sizes(k)
    # weights[n, c]: one coalition of c members in a set of n present candidates
    weights = np.zeros((k + 1, max(k, 1)))
    for n in np.unique(sizes[present]):
        if n > 0:
            weights[n, :n] = weighting.coalition_weights(int(n))
    out = np.zeros((n_sets, k), dtype=np.float64)
    if n_sets and k:
        args = (kernel_input(flat), kernel_input(weights), kernel_input(sizes), kernel_input(present), out)
        _run_sweep(_exact_semivalue_chunk, _exact_semivalue_kernel, args, n_sets, length)
    return out.reshape(batch + (k,))


# Where differences of coalition values overflow though the values need not
# (values near ±1.8e308), the sweep is repeated on the table scaled by this
# power of two, which is exact, and scaled back.
_SHRINK = 2.0 ** -64


def _table_shapley(flat: np.ndarray, k: int) -> np.ndarray:
    """Shapley values ``(n, K)`` of a finite C-contiguous table ``(n, 2**K)``;
    non-finite entries only where the answer is beyond float64."""
    n_sets = flat.shape[0]
    out = np.zeros((n_sets, k), dtype=np.float64)
    if not (n_sets and k):
        return out
    _sweep(flat, k, out)
    if not np.isfinite(out).all():
        with np.errstate(over="ignore"):
            _sweep(np.ascontiguousarray(flat * _SHRINK), k, out)
            out /= _SHRINK
    return out


def _sweep(flat, k, out):
    n_sets, length = flat.shape
    args = (kernel_input(flat), kernel_input(shapley_weights(k)), kernel_input(_coalition_sizes(k)), out)
    _run_sweep(_exact_shapley_chunk, _exact_shapley_kernel, args, n_sets, length)


def _run_sweep(chunk, kernel, args, n_sets: int, length: int) -> None:
    """``chunk(*args, 0, n_sets)`` serially where the pool is not worth its
    launch (one set, or a small table) or not safe (:mod:`._launch`), else
    the ``parallel=True`` ``kernel(*args)``, one set per task."""
    if n_sets == 1 or n_sets * length <= _SERIAL_TABLE_ENTRIES or not parallel_allowed():
        chunk(*args, 0, n_sets)
    else:
        launch(kernel, *args)


def _all_coalitions(start: int, stop: int, k: int) -> np.ndarray:
    """Members (stop - start, k) of the coalitions coded start..stop-1 (bit j: candidate j).

    The codes' bytes unpacked, least significant bit first: about 8x faster at
    K = 20 than shifting an int64 copy of every code once per candidate."""
    codes = np.arange(start, stop, dtype="<i8")
    return np.unpackbits(codes.view(np.uint8).reshape(-1, 8), axis=1, count=k, bitorder="little").view(bool)


def coalition_table(u, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Value table ``batch + (2**K,)`` of ``u`` restricted to the present candidates."""
    k = x.shape[-1]
    batch = mask.shape[:-1]
    n_sets = max(1, int(np.prod(batch, dtype=np.int64)))
    table = np.empty(batch + (1 << k,), dtype=np.float64)
    step = max(1, _MEMBER_BUDGET // (n_sets * max(k, 1)))
    for start in range(0, 1 << k, step):
        stop = min(1 << k, start + step)
        # Absent candidates are dropped from every coalition: they become null
        # players, whose Shapley value is 0 and who change nobody else's.
        members = _all_coalitions(start, stop, k) & mask[..., None, :]
        table[..., start:stop] = coalition_values_of(u, x, members)
    return table


def _checked_coalition_table(u, x: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    k = x.shape[-1]
    if k > MAX_REFERENCE_K:
        raise ValueError(_table_bytes_message(int(np.prod(mask.shape[:-1], dtype=np.int64)), k))
    with np.errstate(over="ignore", invalid="ignore"):
        table = coalition_table(u, x, mask)
    if np.isinf(table).any() and not np.isnan(table).any():
        # Coalition values beyond float64 (a sum of scores near its limit):
        # an answer the caller recomputes at a smaller scale, or refuses.
        return None
    check_finite(table, f"coalition values of {type(u).__name__}", core_ndim=1)
    return table


def reference_from_prepared(u, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reference Shapley values of validated input (see ``ss.reference_shapley``);
    inf where coalition values are beyond float64."""
    table = _checked_coalition_table(u, x, mask)
    if table is None:
        return np.full(mask.shape, np.inf)
    k = x.shape[-1]
    return _table_shapley(np.ascontiguousarray(table.reshape(-1, table.shape[-1])), k).reshape(mask.shape)


def reference_semivalue_from_prepared(u, x: np.ndarray, mask: np.ndarray, weighting) -> np.ndarray:
    """Reference semivalues of validated input: each set with the weights of
    its own number of present candidates (see ``ss.semivalue``)."""
    if weighting.is_shapley:
        return reference_from_prepared(u, x, mask)
    table = _checked_coalition_table(u, x, mask)
    if table is None:
        return np.full(mask.shape, np.inf)
    k = x.shape[-1]
    flat_mask = mask.reshape(-1, k).astype(np.int64)
    present = (flat_mask << np.arange(k, dtype=np.int64)).sum(-1)
    return exact_semivalue_table(table, weighting, present).reshape(mask.shape)
