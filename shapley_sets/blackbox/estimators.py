"""Monte-Carlo estimators of semivalues from few coalition evaluations.

Both work on one set of n present candidates, size weights p(s) (s = 0..n−1,
the total weight of the coalitions of size s; p = 1/n for Shapley), and a
random generator. Each is a *plan*: the coalitions to evaluate (bool rows,
distinct) and a ``finish(values) -> (phi, stderr, dof)`` that turns their
values into the estimate, its standard error and the degrees of freedom of
that standard error (for Student-t intervals).

Stratified ("stratified"). Write a_{i,s} (b_{i,s}) for the mean of U over the
coalitions of size s that contain (do not contain) i. Then

    φ_i = p(n−1) U(N) − p(0) U(∅) + Σ_{s=1}^{n−1} [p(s−1) a_{i,s} − p(s) b_{i,s}].

For a uniformly random coalition A of size s, ``d_i(A) = p(s−1) n/s`` if
i ∈ A, ``−p(s) n/(n−s)`` otherwise, makes U(A) d_i(A) unbiased for stratum
s's term, and one evaluation serves every candidate, in and out. The strata
that the budget covers are enumerated exactly; the others get i.i.d. draws,
allocated by the Neyman rule for equal residual variance (m_s ∝ √E[d_i²]).
A ridge regression of U on per-stratum intercepts and the candidates'
memberships (an additive surrogate, fitted on all evaluated coalitions)
serves as a control variate: the surrogate's stratum terms are exact, and
only its residual is sampled. Each draw's residual uses the fit *without that
draw* (exact leave-one-out updates), so the estimate is exactly unbiased. The
standard error sums, over the draws, the square of each draw's influence on
the estimate: its own term, plus its pull on the fitted surrogate times the
gap left between the surrogate's exact and sampled stratum terms (without
the second part the errors run 2-8% small at budgets of a few evaluations
per coefficient); Welch-Satterthwaite degrees of freedom over the strata. For the Shapley value
every per-draw term sums to zero over the candidates, so the estimate is
efficient (Σ φ̂_i = U(N) − U(∅)) with no adjustment.

Permutation ("permutation", Shapley only): marginal contributions along
random orders, each order paired with its reverse (antithetic); the standard
error is the spread over pairs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

__all__ = ["stratified_plan", "permutation_plan", "stratified_min_budget", "permutation_min_budget"]

# Draws per sampled stratum at least: two give a spread, hence a standard error.
_MIN_DRAWS = 2
# Ridge penalty on the surrogate's membership coefficients, in units of one
# evaluated coalition: it keeps the fit defined when coalitions are fewer than
# coefficients and has no effect on unbiasedness (any fit not using the draw is).
_RIDGE = 1.0


def _importance(p: np.ndarray, n: int) -> np.ndarray:
    """√E[d_i(A)²] per stratum s = 1..n−1 (index s), 0 at s = 0."""
    s = np.arange(1, n)
    w = np.zeros(n)
    w[1:] = np.sqrt(p[s - 1] ** 2 * n / s + p[s] ** 2 * n / (n - s))
    return w


def _base_cost(empty_free: bool) -> int:
    return 1 if empty_free else 2


def stratified_min_budget(p: np.ndarray, n: int, empty_free: bool) -> int:
    """Fewest evaluations the stratified estimator needs for one set of n."""
    return _base_cost(empty_free) + _MIN_DRAWS * int((_importance(p, n) > 0).sum())


def permutation_min_budget(n: int, empty_free: bool) -> int:
    """Fewest evaluations of one antithetic pair of orders for one set of n."""
    return _base_cost(empty_free) + 2 * (n - 1)


def _waterfill(total: float, w: np.ndarray, lo: float) -> np.ndarray:
    """``m ∝ w`` with ``m >= lo`` and ``Σ m = total`` (total >= lo · len(w))."""
    m = np.zeros(len(w))
    fixed = np.zeros(len(w), dtype=bool)
    while True:
        free = ~fixed
        rest = total - lo * fixed.sum()
        m[free] = rest * w[free] / w[free].sum()
        m[fixed] = lo
        low = free & (m < lo)
        if not low.any():
            return m
        fixed |= low


def _allocate(total: int, w: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which strata to enumerate, and integer draws for the others.

    A stratum whose share of the budget reaches its number of coalitions is
    enumerated (exact, and cheaper than that many draws); the budget left is
    shared again among the rest.
    """
    exact = np.zeros(len(w), dtype=bool)
    while True:
        free = ~exact
        if not free.any():
            return exact, np.zeros(len(w), dtype=np.int64)
        rest = total - sizes[exact].sum()
        m = np.zeros(len(w))
        m[free] = _waterfill(rest, w[free], _MIN_DRAWS)
        newly = free & (m >= sizes)
        if not newly.any():
            break
        exact |= newly
    draws = np.zeros(len(w), dtype=np.int64)
    draws[free] = np.floor(m[free]).astype(np.int64)
    left = int(rest - draws.sum())
    if left > 0:
        order = np.argsort(-(m - draws) * free, kind="stable")[:left]
        draws[order] += 1
    draws[exact] = 0
    return exact, draws


def _distinct(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a bool matrix and, per row, its index among them."""
    packed = np.packbits(rows, axis=1)
    view = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    return rows[first], inverse.ravel()


def _draw(rng: np.random.Generator, m: int, n: int, s: int) -> np.ndarray:
    """m i.i.d. uniform coalitions of size s from n candidates."""
    rows = np.zeros((m, n), dtype=bool)
    if m and s:
        pick = np.argpartition(rng.random((m, n)), s - 1, axis=1)[:, :s]
        np.put_along_axis(rows, pick, True, axis=1)
    return rows


def _enumerate(n: int, s: int) -> np.ndarray:
    rows = np.zeros((math.comb(n, s), n), dtype=bool)
    for r, combo in enumerate(combinations(range(n), s)):
        rows[r, list(combo)] = True
    return rows


class _Plan:
    """Coalitions to evaluate (``members``, distinct rows) and how to finish."""

    def __init__(self, rows: np.ndarray, finish):
        self.members, self._index = _distinct(rows)
        self._finish = finish

    def finish(self, values: np.ndarray):
        return self._finish(values[self._index])


@dataclass(frozen=True, eq=False)
class _Layout:
    """What the stratified plan of one (p, n, budget) is, before any draw."""

    exact_strata: tuple  # enumerated sizes
    sampled: tuple  # (size, draws) of the sampled strata
    fixed_rows: np.ndarray  # U(N), U(∅), then the enumerated strata
    fixed_design: np.ndarray  # the surrogate's features of the enumerated rows
    fixed_gram: np.ndarray  # their Gram matrix, ridge included
    col: dict  # stratum size -> intercept column
    members: bool  # membership coefficients in the surrogate
    pairs: bool  # pair coefficients too
    terms: dict  # stratum size -> its exact surrogate term (a linear map of θ)
    term_sum: np.ndarray  # Σ over the sampled strata of those maps, dense (n, P)


# Above this many candidates the surrogate keeps only its per-size intercepts:
# membership coefficients would cost O(K^3) per set to fit.
_MEMBERS_MAX_K = 64
# Pair coefficients only up to this many candidates (K(K-1)/2 of them).
_PAIRS_MAX_K = 32


@lru_cache(maxsize=64)
def _layout(p_bytes: bytes, n: int, budget: int, empty_free: bool) -> _Layout:
    p = np.frombuffer(p_bytes)
    w = _importance(p, n)
    strata = np.flatnonzero(w > 0)
    sizes = np.array([math.comb(n, int(s)) for s in strata], dtype=float)
    exact, draws = _allocate(budget - _base_cost(empty_free), w[strata], sizes)
    exact_strata = tuple(int(s) for s in strata[exact])
    sampled = tuple((int(s), int(m)) for s, m in zip(strata, draws) if m > 0)
    blocks = [np.ones((1, n), dtype=bool), np.zeros((1, n), dtype=bool)]
    blocks += [_enumerate(n, s) for s in exact_strata]
    fixed = np.concatenate(blocks)
    # The surrogate: one intercept per stratum with rows, n membership
    # coefficients and, when the evaluations are plenty, one per pair of
    # candidates; fitted on the enumerated strata and the draws. Whether pairs
    # are used depends on n and the budget only, never on the values.
    col = {s: j for j, s in enumerate(exact_strata + tuple(s for s, _ in sampled))}
    n_int = len(col)
    n_fit = len(fixed) - 2 + sum(m for _, m in sampled)
    members = n <= _MEMBERS_MAX_K
    pairs = members and n <= _PAIRS_MAX_K and _use_pairs(n, n_fit, n_int)
    design = _design(fixed[2:], col, n_int, members, pairs)
    gram = design.T @ design
    gram[np.diag_indices(n_int)] += 1e-9
    n_par = design.shape[1]
    gram[np.arange(n_int, n_par), np.arange(n_int, n_par)] += _RIDGE
    terms = {s: _Term.of(p, n, s, col[s]) for s, _ in sampled}
    total = np.zeros((n, n_par))
    for term in terms.values():
        term.add_to(total, n_int, members, pairs)
    for arr in (fixed, design, gram, total):
        arr.flags.writeable = False
    return _Layout(exact_strata, sampled, fixed, design, gram, col, members, pairs, terms, total)


def stratified_plan(p: np.ndarray, n: int, budget: int, empty_free: bool,
                    rng: np.random.Generator) -> _Plan:
    """The stratified estimator's plan for one set (``budget`` >= its minimum)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    layout = _layout(p.tobytes(), n, budget, empty_free)
    draws = [_draw(rng, m, n, s) for s, m in layout.sampled]
    rows = np.concatenate([layout.fixed_rows] + draws)

    def finish(v: np.ndarray):
        return _stratified_finish(p, n, layout, rows, v)

    return _Plan(rows, finish)


def _stratified_finish(p, n, layout: _Layout, rows, v):
    phi = p[n - 1] * v[0] - p[0] * v[1]
    var = np.zeros(n)
    start = 2
    for s in layout.exact_strata:
        stop = start + math.comb(n, s)
        m, vals = rows[start:stop], v[start:stop]
        inside = (m.T @ vals) / math.comb(n - 1, s - 1)
        outside = ((~m).T @ vals) / math.comb(n - 1, s)
        phi = phi + p[s - 1] * inside - p[s] * outside
        start = stop
    if not layout.sampled:
        return phi, np.sqrt(var), np.full(n, np.inf)
    n_int = len(layout.col)
    drawn = _design(rows[start:], layout.col, n_int, layout.members, layout.pairs)
    design = np.concatenate([layout.fixed_design, drawn])
    fit_v = v[2:]
    inv = np.linalg.inv(layout.fixed_gram + drawn.T @ drawn)
    theta = inv @ (design.T @ fit_v)
    resid = fit_v - design @ theta
    at = start - 2  # the draws start here among the fitted rows
    blocks = []
    tilt = np.array(layout.term_sum)  # Σ_s (G_s − mean_t d_t x_tᵀ)
    apply = functools.partial(_Term.apply, n=n, n_int=n_int, members=layout.members, pairs=layout.pairs)
    for s, m in layout.sampled:
        term = layout.terms[s]
        x_t = design[at : at + m]
        if layout.members:
            hx = x_t @ inv  # rows of H x_t
            lev = np.einsum("ij,ij->i", hx, x_t)
        else:  # x_t is the stratum's intercept alone
            hx = np.repeat(inv[term.column][None, :], m, axis=0)
            lev = np.full(m, inv[term.column, term.column])
        r = resid[at : at + m] / (1.0 - lev)
        shift = apply(term, hx * r[:, None])  # G Δθ_t
        d = np.where(rows[2 + at : 2 + at + m], p[s - 1] * n / s, -p[s] * n / (n - s))
        z = apply(term, theta[None, :]) - shift + r[:, None] * d
        phi = phi + z.mean(axis=0)
        if layout.members:
            tilt -= d.T @ x_t / m
        else:  # x_t is the stratum's intercept alone
            tilt[:, term.column] -= d.mean(axis=0)
        blocks.append((z, m, term.column, resid[at : at + m], hx))
        at += m
    # The standard error: each draw's influence on the estimate, its own term
    # plus its pull on the surrogate's fit through the remaining gap between
    # the surrogate's exact and sampled stratum terms.
    parts = []
    for z, m, column, e, hx in blocks:
        if layout.members:
            pull = (hx * e[:, None]) @ tilt.T
        else:  # H is diagonal: the draw pulls its stratum's intercept only
            pull = e[:, None] * (inv[column, column] * tilt[:, column])[None, :]
        infl = (z - z.mean(axis=0)) / m + pull
        infl = infl - infl.mean(axis=0)
        part = (infl**2).sum(axis=0) * m / (m - 1)
        var = var + part
        parts.append((part, m))
    # Welch-Satterthwaite degrees of freedom of the summed stratum variances,
    # from the shares of the total (no squares of huge variances).
    safe = np.where(var > 0, var, 1.0)
    den = sum((part / safe) ** 2 / (m - 1) for part, m in parts)
    dof = np.where((var > 0) & (den > 0), 1.0 / np.where(den > 0, den, 1.0), np.inf)
    return phi, np.sqrt(var), dof


@lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


def _use_pairs(n: int, n_rows: int, n_int: int) -> bool:
    # Pair terms pay once there are as many evaluations as coefficients (the
    # ridge keeps the fit defined; measured on four game families, K = 10-20).
    return n >= 3 and n_rows >= n_int + n + n * (n - 1) // 2


def _design(rows: np.ndarray, col: dict, n_int: int, members: bool, pairs: bool) -> np.ndarray:
    n = rows.shape[1]
    size = rows.sum(axis=1)
    lookup = np.zeros(n + 1, dtype=np.int64)
    lookup[list(col)] = list(col.values())
    parts = [np.zeros((len(rows), n_int))]
    parts[0][np.arange(len(rows)), lookup[size]] = 1.0
    if members:
        parts.append(rows.astype(np.float64))
    if pairs:
        a, b = _pairs(n)
        parts.append((rows[:, a] & rows[:, b]).astype(np.float64))
    return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class _Term:
    """Stratum s's exact surrogate term, ``(G θ)_i = E[f(A)·θ d_i(A)]`` over
    uniform coalitions A of size s, as the few numbers that define G:

    intercept: ``p(s−1) − p(s)``; membership of j: ``p(s−1)`` for j = i,
    ``(p(s−1)(s−1) − p(s)s)/(n−1)`` otherwise; a pair: ``p(s−1)(s−1)/(n−1)``
    when it holds i, ``(p(s−1)(s−1)(s−2) − p(s)s(s−1))/((n−1)(n−2))``
    otherwise.
    """

    column: int
    intercept: float
    own: float
    other: float
    pair_with: float
    pair_without: float

    @staticmethod
    def of(p: np.ndarray, n: int, s: int, column: int) -> "_Term":
        other = (p[s - 1] * (s - 1) - p[s] * s) / (n - 1)
        with_i = p[s - 1] * (s - 1) / (n - 1)
        without_i = ((p[s - 1] * (s - 1) * (s - 2) - p[s] * s * (s - 1)) / ((n - 1) * (n - 2))
                     if n > 2 else 0.0)
        return _Term(column, float(p[s - 1] - p[s]), float(p[s - 1]), float(other), float(with_i),
                     float(without_i))

    def apply(self, thetas: np.ndarray, *, n: int, n_int: int, members: bool, pairs: bool) -> np.ndarray:
        """``G θ`` for each row θ of ``thetas`` (m, P): (m, n)."""
        out = np.repeat(self.intercept * thetas[:, self.column : self.column + 1], n, axis=1)
        if members:
            beta = thetas[:, n_int : n_int + n]
            out += (self.own - self.other) * beta + self.other * beta.sum(axis=1, keepdims=True)
        if pairs:
            gamma = thetas[:, n_int + n :]
            held = gamma @ _incidence(n)  # Σ of the pairs that hold i
            out += (self.pair_with - self.pair_without) * held
            out += self.pair_without * gamma.sum(axis=1, keepdims=True)
        return out

    def add_to(self, total: np.ndarray, n_int: int, members: bool, pairs: bool) -> None:
        """Add G, dense (n, P), to ``total``."""
        n = total.shape[0]
        total[:, self.column] += self.intercept
        if members:
            block = total[:, n_int : n_int + n]
            block += self.other
            block[np.diag_indices(n)] += self.own - self.other
        if pairs:
            total[:, n_int + n :] += self.pair_without + (self.pair_with - self.pair_without) * _incidence(n).T


@lru_cache(maxsize=16)
def _incidence(n: int) -> np.ndarray:
    """(pairs, n) 0/1: which candidates each pair holds."""
    a, b = _pairs(n)
    inc = np.zeros((len(a), n))
    inc[np.arange(len(a)), a] = 1.0
    inc[np.arange(len(a)), b] = 1.0
    inc.flags.writeable = False
    return inc


def permutation_plan(n: int, budget: int, empty_free: bool, rng: np.random.Generator) -> _Plan:
    """Antithetic permutation sampling of the Shapley value for one set."""
    pairs = (budget - _base_cost(empty_free)) // (2 * (n - 1))
    orders = np.empty((2 * pairs, n), dtype=np.int64)
    for q in range(pairs):
        orders[2 * q] = rng.permutation(n)
        orders[2 * q + 1] = orders[2 * q][::-1]
    rank = np.argsort(orders, axis=1)  # rank[o, i]: place of i in order o
    prefix = np.arange(1, n)[None, :, None] > rank[:, None, :]  # (orders, n-1, n)
    rows = np.concatenate([np.ones((1, n), dtype=bool), np.zeros((1, n), dtype=bool),
                           prefix.reshape(-1, n)])

    def finish(v: np.ndarray):
        chain = np.empty((2 * pairs, n + 1))
        chain[:, 0], chain[:, n] = v[1], v[0]
        chain[:, 1:n] = v[2:].reshape(2 * pairs, n - 1)
        marginal = np.take_along_axis(chain, rank + 1, axis=1) - np.take_along_axis(chain, rank, axis=1)
        per_pair = marginal.reshape(pairs, 2, n).mean(axis=1)
        phi = per_pair.mean(axis=0)
        se = per_pair.std(axis=0, ddof=1) / math.sqrt(pairs) if pairs > 1 else np.full(n, np.inf)
        return phi, se, np.full(n, float(pairs - 1) if pairs > 1 else np.inf)

    return _Plan(rows, finish)
