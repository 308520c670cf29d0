"""Any-success in O(K²): Owen's multilinear extension by exact quadrature
(docs/math.md#any-success); semivalues integrate it against the
law of t of their weighting (Gauss-Jacobi for Beta(α, β)) or evaluate it at
t = 1/2 (Banzhaf) or t = 1 (leave-one-out, docs/math.md#semivalues)."""

from __future__ import annotations

import numpy as np
from numba import prange

from .._cache import ByteCache
from .._jit import njit
from ..utilities.any_success import AnySuccess, ExpectedAnySuccess
from ._kernels import SETS_PER_TASK, kernel_input, run_in_chunks
from .weights import SHAPLEY

__all__ = ["any_success_semivalue", "any_success_shapley", "expected_any_success_semivalue",
           "expected_any_success_shapley", "gauss_jacobi_01", "gauss_legendre_01"]

#: The weightings served: those with a law of t (a caller's size weights
#: have none, and use the reference engine).
WEIGHTINGS = ("shapley", "banzhaf", "loo", "beta")


def _legendre_and_derivative(n: int, x: np.ndarray):
    p_prev = np.ones_like(x)
    p = x.copy()
    for k in range(1, n):
        p_prev, p = p, ((2 * k + 1) * x * p - k * p_prev) / (k + 1)
    return p, n * (x * p - p_prev) / (x * x - 1.0)


# Rules per node count (and Beta law): 16 n bytes each, so every rule of a
# ragged batch of sets up to K ~ 5000 fits at once.
_RULES = ByteCache("quadrature rules", 64 << 20)


def gauss_legendre_01(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] with ``n`` nodes (read-only).

    ``scipy.special.roots_legendre`` (O(n²)) is polished by two Newton steps
    on the three-term recurrence and its weights are recomputed from
    ``2 / ((1 - x²) P_n'(x)²)``: at 512 nodes the rule's error on
    degree-1023 polynomials is about 1e-14. Cached (see
    ``ss.clear_caches``).

    Examples:
        >>> from shapley_sets.engines.any_success import gauss_legendre_01
        >>> t, w = gauss_legendre_01(2)
        >>> t.round(6).tolist(), w.tolist()
        ([0.211325, 0.788675], [0.5, 0.5])
        >>> round(float(w @ t**3), 15)   # exact up to degree 3
        0.25
    """
    if n < 1:
        raise ValueError(f"the number of nodes must be at least 1, got {n}")
    key = ("legendre", int(n))
    cached = _RULES.get(key)
    if cached is not None:
        return cached
    from scipy import special  # ~0.2 s to import: only when a rule is built, not at import

    x, _ = special.roots_legendre(n)
    for _ in range(2):
        p, dp = _legendre_and_derivative(n, x)
        x = x - p / dp
    _, dp = _legendre_and_derivative(n, x)
    w = 2.0 / ((1.0 - x * x) * dp * dp)
    # the rule is symmetric about 0; enforce it exactly
    x = 0.5 * (x - x[::-1])
    w = 0.5 * (w + w[::-1])
    t = 0.5 * (x + 1.0)
    w = w / w.sum()  # the exact rule integrates 1 over [0, 1] to 1
    t.flags.writeable = False
    w.flags.writeable = False
    _RULES.put(key, (t, w))
    return t, w


def gauss_jacobi_01(n: int, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes and weights on [0, 1] for the Beta(α, β) density,
    ``n`` nodes, weights summing to 1 (read-only): exact for polynomials of
    degree up to 2n - 1 integrated against t^(α-1) (1-t)^(β-1) / B(α, β).
    Where the law is a point mass within float64 (α/β beyond ~1e300), one
    node at its mean.

    Examples:
        >>> from shapley_sets.engines.any_success import gauss_jacobi_01
        >>> t, w = gauss_jacobi_01(2, 2.0, 3.0)
        >>> round(float(w @ t), 12), round(float(w @ t**3), 12)   # E[t] = 2/5, E[t³] = 4/35
        (0.4, 0.114285714286)
    """
    if n < 1:
        raise ValueError(f"the number of nodes must be at least 1, got {n}")
    key = ("jacobi", int(n), float(alpha), float(beta))
    cached = _RULES.get(key)
    if cached is not None:
        return cached
    # Golub-Welsch for the Beta probability law itself: the nodes are the
    # eigenvalues of the Jacobi matrix of its orthonormal polynomials,
    # polished by two Newton steps on p_n, and the weights the Christoffel
    # numbers 1 / Σ_{m<n} p_m(t)², all from the same three-term recurrence.
    # No Gamma function enters (scipy's roots_jacobi normalises by
    # 2^(a+b+1) B(a+1, b+1), which is NaN beyond a ratio of about 10⁴
    # between α and β, and it refuses α or β below 1.1e-16).
    from scipy.linalg import eigvalsh_tridiagonal  # only Beta weightings need it; not at import

    diagonal, off = _beta_recurrence(n + 1, float(alpha), float(beta))  # one more term: p_n
    t = eigvalsh_tridiagonal(diagonal[:n], off[:n - 1]) if n > 1 else diagonal[:1].copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(2):
            p_n, dp_n, _ = _orthonormal_at(t, diagonal, off, n)
            step = p_n / dp_n
            t = np.where(np.isfinite(step), t - step, t)
        total = _orthonormal_at(t, diagonal, off, n)[2]
    w = np.where(np.isfinite(total), 1.0 / total, 0.0)  # a node far in a tail carries no weight
    if not w.sum() > 0:
        # The recurrence broke down (an off-diagonal that underflowed to 0):
        # the law is a point mass at its mean to within float64.
        t, w = diagonal[:1].copy(), np.ones(1)
    w = w / w.sum()
    t.flags.writeable = False
    w.flags.writeable = False
    _RULES.put(key, (t, w))
    return t, w


def _orthonormal_at(t: np.ndarray, diagonal: np.ndarray, off: np.ndarray, n: int):
    """``p_n(t)``, ``p_n'(t)`` and ``Σ_{m<n} p_m(t)²`` of the orthonormal
    polynomials of the recurrence (``diagonal``, ``off``: at least n terms)."""
    p_before, p = np.zeros_like(t), np.ones_like(t)
    dp_before, dp = np.zeros_like(t), np.zeros_like(t)
    total = np.ones_like(t)
    for m in range(n):
        back = off[m - 1] if m else 0.0
        p_next = ((t - diagonal[m]) * p - back * p_before) / off[m]
        dp_next = (p + (t - diagonal[m]) * dp - back * dp_before) / off[m]
        p_before, p, dp_before, dp = p, p_next, dp, dp_next
        if m < n - 1:
            total += p * p
    return p, dp, total


def _beta_recurrence(n: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal (n,) and off-diagonal (n - 1,) of the Jacobi matrix of the
    Beta(a, b) law on [0, 1]: the Jacobi polynomials' recurrence on [-1, 1]
    (weight (1 - x)^(b-1) (1 + x)^(a-1)) mapped by t = (1 + x) / 2, written
    in a and b themselves, so that a - 1 never rounds away a small a, and
    with the first terms' removable 0/0 taken out."""
    s = a + b
    m = np.arange(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        # as products of ratios of like size: no overflow for a, b up to 1e308
        x_diag = ((a - b) / (2.0 * m + s - 2.0)) * ((s - 2.0) / (2.0 * m + s))
    x_diag[0] = (a - b) / s
    if n > 1:
        x_diag[1] = ((a - b) / s) * (s - 2.0) / (s + 2.0)
    k = np.arange(1, n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        squared = (4.0 * k * ((k - 1.0 + a) / (2.0 * k - 2.0 + s)) * ((k - 1.0 + b) / (2.0 * k - 2.0 + s))
                   * ((k - 2.0 + s) / (2.0 * k - 1.0 + s)) / (2.0 * k - 3.0 + s))
    if n > 1:
        squared[0] = 4.0 * (a / s) * (b / s) / (s + 1.0)
    return 0.5 * (1.0 + x_diag), 0.5 * np.sqrt(squared)


def _rule(count: int, weighting) -> tuple[np.ndarray, np.ndarray]:
    """The quadrature of ``weighting``'s law of t that is exact for the
    degree-(count - 1) integrand of a set of ``count`` present candidates."""
    if weighting.kind == "banzhaf":
        return _POINT_HALF
    if weighting.kind == "loo":
        return _POINT_ONE
    n = (count + 1) // 2
    if weighting.is_shapley:
        return gauss_legendre_01(n)
    return gauss_jacobi_01(n, weighting.alpha, weighting.beta)


_POINT_HALF = (np.array([0.5]), np.array([1.0]))  # Banzhaf: t = 1/2
_POINT_ONE = (np.array([1.0]), np.array([1.0]))  # leave-one-out: t = 1
for _a in _POINT_HALF + _POINT_ONE:
    _a.flags.writeable = False


def _packed_rules(counts, weighting):
    """The rules for the given set sizes, concatenated: the rule of a set of
    c present candidates is ``nodes[first[c]:first[c] + size[c]]``."""
    counts = [int(c) for c in counts]
    first = np.zeros(max(counts) + 1, dtype=np.int64)
    size = np.zeros(max(counts) + 1, dtype=np.int64)
    nodes, weights, offset, seen = [], [], 0, {}
    for c in counts:
        t, w = _rule(c, weighting)
        n = t.shape[0]
        if n not in seen:  # sizes that share a rule share its nodes
            seen[n] = offset
            nodes.append(t)
            weights.append(w)
            offset += n
        first[c] = seen[n]
        size[c] = n
    return np.concatenate(nodes), np.concatenate(weights), first, size


@njit(cache=True)
def _any_success_set(p, mask, nodes, weights, first_of, size_of, out, scratch, index):
    present = scratch[0]
    factor = scratch[1]
    before = scratch[2]
    integral = scratch[3]
    count = 0
    for j in range(p.shape[0]):
        out[j] = 0.0
        if mask[j]:
            present[count] = p[j]
            index[count] = j
            integral[count] = 0.0
            count += 1
    if count == 0:
        return
    # Π_{j≠i}(1 - t p_j) has degree count - 1: the rule of this size
    # integrates it exactly ((count + 1) // 2 Gauss nodes, or one point).
    first = first_of[count]
    for q in range(first, first + size_of[count]):
        t = nodes[q]
        # leave-one-out products from prefix and suffix products: no
        # division, so p = 1 needs no special case
        prefix = 1.0
        for j in range(count):
            factor[j] = 1.0 - t * present[j]
            before[j] = prefix
            prefix *= factor[j]
        suffix = weights[q]
        for j in range(count - 1, -1, -1):
            integral[j] += before[j] * suffix
            suffix *= factor[j]
    for j in range(count):
        out[index[j]] = present[j] * integral[j]


@njit(cache=True)
def _any_success_chunk(p, mask, nodes, weights, first_of, size_of, out, first_set, stop_set):
    k = p.shape[1]
    scratch = np.empty((4, k))
    index = np.empty(k, dtype=np.int64)
    for s in range(first_set, stop_set):
        _any_success_set(p[s], mask[s], nodes, weights, first_of, size_of, out[s], scratch, index)


@njit(cache=True, parallel=True)
def _any_success_kernel(p, mask, nodes, weights, first_of, size_of, out):
    n = p.shape[0]
    for task in prange((n + SETS_PER_TASK - 1) // SETS_PER_TASK):
        _any_success_chunk(p, mask, nodes, weights, first_of, size_of, out,
                           task * SETS_PER_TASK, min(n, (task + 1) * SETS_PER_TASK))


def any_success_semivalue(u: AnySuccess, x: np.ndarray, mask: np.ndarray,
                          weighting) -> np.ndarray:
    k = x.shape[-1]
    n = int(np.prod(mask.shape[:-1], dtype=np.int64))
    p2d = kernel_input(x.reshape(n, k))
    mask2d = mask.reshape(n, k)
    out = np.empty(p2d.shape, dtype=np.float64)
    if p2d.size:
        counts = np.flatnonzero(np.bincount(np.count_nonzero(mask2d, axis=1), minlength=k + 1))
        counts = counts[counts > 0]
        if counts.size == 0:  # every set is empty
            counts = np.ones(1, dtype=np.int64)
        nodes, weights, first_of, size_of = _packed_rules(counts, weighting)
        run_in_chunks(_any_success_chunk, _any_success_kernel, n,
                      p2d, mask2d, nodes, weights, first_of, size_of, out)
    return out.reshape(x.shape)


def any_success_shapley(u: AnySuccess, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return any_success_semivalue(u, x, mask, SHAPLEY)


def expected_any_success_semivalue(u: ExpectedAnySuccess, x: np.ndarray, mask: np.ndarray,
                                   weighting) -> np.ndarray:
    # Linear in the utility: each user type's any-success values (all types
    # of all sets in one batch), weighted by its share.
    per_type_mask = np.ascontiguousarray(np.broadcast_to(mask[..., None, :], x.shape))
    per_type = any_success_semivalue(AnySuccess(), x, per_type_mask, weighting)
    return np.einsum("...uk,u->...k", per_type, u.weight_array(x.shape[-2]))


def expected_any_success_shapley(u: ExpectedAnySuccess, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return expected_any_success_semivalue(u, x, mask, SHAPLEY)
