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
s's term, and one evaluation serves every candidate, in and out. A stratum
(or a stratum and its mirror size n − s) is enumerated exactly once its share
of the budget reaches half its coalitions (i.i.d. draws would repeat many);
the others get i.i.d. draws, allocated by the Neyman rule for equal residual
variance (m_s ∝ √E[d_i²]), except for the Banzhaf value, where that rule is
proportional allocation and the square root of it is used instead (see
``_compromise``). For a symmetric weighting (p(s) = p(n−1−s):
Shapley, Banzhaf, Beta(α, α)) each draw A comes with its complement N∖A,
when the surrogate below has no pair terms: the two terms are then equal and
opposite multiples of U(A) − U(N∖A), so the part of U that is symmetric under
complement (it has no semivalue) adds no variance, and a pairwise
interaction's antisymmetric part is additive, which the surrogate fits.
A ridge regression of U on per-stratum intercepts and the candidates'
memberships (plus one term per pair of candidates once the evaluations reach
twice those coefficients, and a slope in the coalition's size for each
membership and pair coefficient once they reach twice those again, up to 24
candidates; fitted on all evaluated coalitions, for the Banzhaf value with the
weights that make the fit's objective the estimate's variance) serves as a
control variate:
the surrogate's stratum terms are exact, and only its residual is sampled.
The slopes are
there because a higher-order interaction, seen within one size, looks like
its pairs times a factor that grows with the size (a unanimity game on
{a, b, c}, among coalitions of size s holding a and b, holds c with
probability (s − 2)/(n − 2)); one coefficient per pair for all sizes fits
the small and the large coalitions badly. Each unit's residuals (a draw, or a
draw and its complement) use the fit *without that unit* (exact rank-1 or
rank-2 downdates), so the estimate is exactly unbiased. The standard error
is the spread of the units' terms within each group of sizes, as for
independent units, averaged over whether each unit's coalition holds the
candidate (see ``_membership_terms``: with a few draws of size 1
the plain spread is mostly far too small), with Welch-Satterthwaite degrees
of freedom over the groups; under the square-root compromise (Banzhaf) each
group's variance counts as the noisier of normal theory and its jackknife
over the units (see ``_variance_inflation``). (A linearised correction for each unit's pull on
the fit, used before, made the errors 10-15% too small once the extreme sizes
are enumerated, and too large when the unit's own part of the pull is left
out.)
For the Shapley value every per-draw term sums to zero over the candidates,
so the estimate is efficient (Σ φ̂_i = U(N) − U(∅)) with no adjustment.

Permutation ("permutation", Shapley only): marginal contributions along
random orders, each order paired with its reverse (antithetic); the standard
error is the spread over pairs, each candidate's moderated towards the set's
mean (an empirical-Bayes variance, see ``_moderated_variance``): with a few
pairs a candidate's credits are often all equal, and its own spread 0.
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
# A group of strata is enumerated once its share of the budget reaches this
# fraction of its coalitions: m draws with replacement from N coalitions reach
# only N(1 − e^(−m/N)) distinct ones (about 0.39 N at m = N/2), so enumerating
# costs little more and leaves no variance (measured on four game families,
# K = 10-20, on seeds the comparison with shapiq does not use).
_ENUMERATE_AT = 0.5
# Pair coefficients in the surrogate once the evaluations reach this multiple
# of the surrogate's coefficients (below it, complementary pairs do better).
_PAIRS_AT = 2.0


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


def _log_comb(n: int, s: int) -> float:
    """ln C(n, s), by log-gamma: C(n, s) itself overflows a float from n ≈ 1,030 on."""
    return math.lgamma(n + 1) - math.lgamma(s + 1) - math.lgamma(n - s + 1)


def _coalition_count(n: int, s: int) -> float:
    """C(n, s) as a float, or inf where it exceeds 2^53 (any budget is far
    smaller, so such a stratum is never enumerated; at n in the thousands
    the middle counts overflow a float)."""
    if _log_comb(n, s) > 36.7:  # ln 2^53 ≈ 36.74
        return math.inf
    return float(math.comb(n, s))


def _waterfill(total: float, w: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``m ∝ w`` with ``m >= lo`` and ``Σ m = total`` (total >= Σ lo)."""
    m = np.zeros(len(w))
    fixed = np.zeros(len(w), dtype=bool)
    while True:
        free = ~fixed
        rest = total - lo[fixed].sum()
        m[free] = rest * w[free] / w[free].sum()
        m[fixed] = lo[fixed]
        low = free & (m < lo)
        if not low.any():
            return m
        fixed |= low


def _allocate(total: int, w: np.ndarray, sizes: np.ndarray, lo: np.ndarray,
              cost) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which groups of strata to enumerate, and integer units for the others.

    A group whose share of the budget reaches ``_ENUMERATE_AT`` of its number
    of coalitions is enumerated (exact), when the budget still leaves every
    other group its minimum; the budget left is shared again among the rest. ``cost(g, rows)`` is the evaluations of one
    unit of group g when it gets ``rows`` (a pair of complements costs 2).
    Returns the enumerated groups, the units of the others and each unit's cost.
    """
    exact = np.zeros(len(w), dtype=bool)
    while True:
        free = ~exact
        if not free.any():
            return exact, np.zeros(len(w), dtype=np.int64), np.ones(len(w), dtype=np.int64)
        rest = total - sizes[exact].sum()
        m = np.zeros(len(w))
        m[free] = _waterfill(rest, w[free], lo[free])
        # enumerate the groups whose share reaches the threshold, fullest first,
        # as long as the others keep their minimum draws within the budget
        newly = False
        for g in np.argsort(-m / sizes, kind="stable"):
            if free[g] and m[g] >= _ENUMERATE_AT * sizes[g]:
                others = free.copy()
                others[g] = False
                if sizes[exact].sum() + sizes[g] + lo[others].sum() <= total:
                    exact[g], free[g], newly = True, False, True
        if not newly:
            break
    c = np.array([cost(g, m[g]) for g in range(len(w))], dtype=np.int64)
    units = np.where(free, np.floor(m / c), 0).astype(np.int64)
    left = int(rest - (units * c).sum())
    for g in np.argsort(-(m / c - units) * free, kind="stable"):
        if free[g] and c[g] <= left:
            units[g] += 1
            left -= int(c[g])
    return exact, units, c


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


# Values whose largest magnitude lies outside these are finished at a power
# of two's scale: the error model squares the values' differences, and the
# moderation squares those again, which overflow (to inf, then NaN) from
# about 1e77 and underflow (to a spread of 0) below about 1e-77.
_SAFE_LOW, _SAFE_HIGH = 2.0**-200, 2.0**200


class _Plan:
    """Coalitions to evaluate (``members``, distinct rows) and how to finish."""

    def __init__(self, rows: np.ndarray, finish):
        self.members, self._index = _distinct(rows)
        self._finish = finish

    def finish(self, values: np.ndarray):
        """``(estimates, stderr, dof)`` from the values of ``members``.

        Both are homogeneous in the values (of degree 1; the degrees of
        freedom of degree 0), so values far from 1 are scaled by a power of
        two first and the results back: exactly, and without overflow."""
        v = values[self._index]
        top = float(np.max(np.abs(v), initial=0.0))
        if top == 0.0 or _SAFE_LOW <= top <= _SAFE_HIGH:
            return self._finish(v)
        shift = -math.frexp(top)[1]  # 2^shift · top lies in [0.5, 1)
        est, se, dof = self._finish(np.ldexp(v, shift))
        return np.ldexp(est, -shift), np.ldexp(se, -shift), dof


@dataclass(frozen=True, eq=False)
class _Layout:
    """What the stratified plan of one (p, n, budget) is, before any draw."""

    exact_strata: tuple  # enumerated sizes
    groups: tuple  # (size, units, paired) of the drawn groups, in row order
    sampled: tuple  # (size, rows) of the sampled strata, in row order
    fixed_rows: np.ndarray  # U(N), U(∅), then the enumerated strata
    fixed_design: np.ndarray | None  # the surrogate's features of the enumerated rows (None: intercepts only)
    fixed_gram: np.ndarray | None  # their Gram matrix, ridge included
    col: dict  # stratum size -> intercept column
    members: bool  # membership coefficients in the surrogate
    pairs: bool  # pair coefficients too
    slopes: bool  # and each member and pair coefficient's change with the size
    terms: dict  # stratum size -> its exact surrogate term (a linear map of θ)
    scale: np.ndarray | None = None  # √ of the drawn rows' fit weights (None: all 1)
    jackknife_dof: bool = False  # degrees of freedom from the jackknifed group variances too


# Above this many candidates the surrogate keeps only its per-size intercepts:
# membership coefficients would cost O(K^3) per set to fit.
_MEMBERS_MAX_K = 64
# Pair coefficients only up to this many candidates (K(K-1)/2 of them).
_PAIRS_MAX_K = 32
# Size slopes only up to this many candidates: they double the coefficients
# P, and the fit and its leave-one-out updates cost O(budget · P²) per set;
# at K = 24 P is about that of the pairs at K = 32.
_SLOPES_MAX_K = 24


def _is_symmetric(p: np.ndarray) -> bool:
    """p(s) = p(n−1−s): Shapley, Banzhaf, Beta(α, α)."""
    return bool(np.allclose(p, p[::-1], rtol=1e-12, atol=0.0))


def _compromise(w: np.ndarray, n: int) -> bool:
    """Whether the draws follow the square root of the Neyman rule.

    The Neyman rule ``m_s ∝ w_s`` takes the residual variance to be the same in
    every stratum. For the Banzhaf value ``w_s ∝ C(n, s)``: the rule is
    proportional allocation (as uniform coalitions would be), which gives the
    small strata of the extreme sizes a draw or two, and those are where the
    surrogate, fitted mostly on middle sizes, misses most: two draws of such
    terms then carry much of the variance (about 45% for best-of at K = 10
    with 60 evaluations), and no interval built from them holds its level.
    There the draws follow ``√w_s`` instead, the square-root (power 1/2) compromise of
    survey sampling for strata of very unequal sizes (Bankier, 1988), and the
    surrogate is fitted by weighted least squares (``_fit_scale``). Weightings
    whose importances fall less steeply (Shapley, Beta(α, β)) keep the Neyman
    rule, under which their extreme sizes get many draws or are enumerated
    (tried on Beta(2, 3), the compromise only raised the error).
    """
    sizes = np.arange(1, n)
    kept = w[1:] > 0  # at n in the thousands the extreme sizes' importances underflow to 0
    ws = w[1:][kept]
    if len(ws) == 0 or np.allclose(ws, ws[0], rtol=1e-9, atol=0.0):
        return False  # nothing to compromise between (n = 3, symmetric weights)
    # proportional to C(n, s) where they are positive: compared as logs
    log_counts = np.array([_log_comb(n, int(k)) for k in sizes[kept]])
    gaps = np.log(ws) - log_counts
    return bool(np.allclose(gaps, gaps[0], rtol=0.0, atol=1e-9))


def _fit_scale(w: np.ndarray, sampled: tuple) -> np.ndarray | None:
    """√ of each drawn row's weight in the surrogate's weighted fit: the row of
    a stratum s with m_s rows weighs (w_s / m_s)², normalised to a mean of 1
    over the drawn rows (the ridge keeps its scale).

    The estimate's variance is about Σ_s w_s² E_s[r²] / m_s for residuals r of
    stratum s, estimated by Σ_s (w_s / m_s)² Σ_rows r²: these weights make the
    fit minimise it. With the Neyman rule (m_s ∝ w_s) they are nearly equal; under
    the square-root compromise the oversampled extreme sizes would otherwise
    pull the fit away from the middle sizes that carry most of the weight.
    """
    omega = np.concatenate([np.full(m, (w[s] / m) ** 2) for s, m in sampled])
    if np.all(omega == omega[0]):
        return None  # equal weights: the plain fit
    return np.sqrt(omega / omega.mean())


def _groups(strata: np.ndarray, n: int, paired: bool) -> list:
    """Strata drawn together: a size s < n/2 with n − s when paired, else alone."""
    if not paired:
        return [(int(s),) for s in strata]
    return [(int(s), n - int(s)) if 2 * s < n else (int(s),) for s in strata if 2 * s <= n]


@lru_cache(maxsize=64)
def _layout(p_bytes: bytes, n: int, budget: int, empty_free: bool) -> _Layout:
    p = np.frombuffer(p_bytes)
    w = _importance(p, n)
    strata = np.flatnonzero(w > 0)
    # For a symmetric weighting, each draw A of size s comes with its complement
    # (size n − s): their terms are then equal and opposite multiples of
    # U(A) − U(N∖A), so the part of U symmetric under complement, which has no
    # semivalue, adds no variance. The middle size pairs within itself once it
    # has two pairs' worth of draws.
    # With pair terms in the surrogate the pairing gains nothing (their
    # antisymmetric part is linear) and halves the independent units, so it is
    # used only without them. Both depend on n and the budget only.
    n_rows = budget - _base_cost(empty_free)
    members = n <= _MEMBERS_MAX_K
    pairs = members and n <= _PAIRS_MAX_K and _use_pairs(n, n_rows, len(strata))
    slopes = pairs and n <= _SLOPES_MAX_K and _use_slopes(n, n_rows, len(strata))
    symmetric = _is_symmetric(p) and not pairs
    groups = _groups(strata, n, symmetric)
    gw = np.array([sum(w[s] for s in g) for g in groups])
    compromise = _compromise(w, n)
    if compromise:
        gw = np.sqrt(gw)
    sizes = np.array([sum(_coalition_count(n, s) for s in g) for g in groups])
    lo = np.array([_MIN_DRAWS * len(g) for g in groups], dtype=float)
    paired = [len(g) == 2 or (symmetric and 2 * g[0] == n) for g in groups]

    def cost(j, rows):
        return 2 if len(groups[j]) == 2 or (paired[j] and rows >= 2 * _MIN_DRAWS) else 1

    exact, units, unit_cost = _allocate(budget - _base_cost(empty_free), gw, sizes, lo, cost)
    exact_strata = tuple(sorted(s for g, e in zip(groups, exact) if e for s in g))
    drawn, sampled = [], []
    for j, g in enumerate(groups):
        if exact[j] or units[j] == 0:
            continue
        pair = bool(unit_cost[j] == 2)
        drawn.append((g[0], int(units[j]), pair))
        if len(g) == 2:
            sampled += [(g[0], int(units[j])), (g[1], int(units[j]))]
        else:
            sampled.append((g[0], int(units[j]) * (2 if pair else 1)))
    blocks = [np.ones((1, n), dtype=bool), np.zeros((1, n), dtype=bool)]
    blocks += [_enumerate(n, s) for s in exact_strata]
    fixed = np.concatenate(blocks)
    # The surrogate: one intercept per stratum with rows, n membership
    # coefficients and, when the evaluations are plenty, one per pair of
    # candidates; fitted on the enumerated strata and the draws. Whether pairs
    # are used depends on n and the budget only, never on the values.
    col = {s: j for j, s in enumerate(exact_strata + tuple(s for s, _ in sampled))}
    n_int = len(col)
    terms = {s: _Term.of(p, n, s, col[s], slopes) for s, _ in sampled}
    fixed.flags.writeable = False
    design = gram = None  # intercepts only: the fit is by stratum (_InterceptFit), no P x P algebra
    if members:
        design = _design(fixed[2:], col, n_int, members, pairs, slopes)
        gram = design.T @ design
        gram[np.diag_indices(n_int)] += 1e-9
        n_par = design.shape[1]
        gram[np.arange(n_int, n_par), np.arange(n_int, n_par)] += _RIDGE
        design.flags.writeable = gram.flags.writeable = False
    # With intercepts only, a stratum's rows share one weight, under which the
    # weighted fit is the plain one (each intercept its stratum's mean).
    scale = _fit_scale(w, tuple(sampled)) if compromise and sampled and members else None
    if scale is not None:
        scale.flags.writeable = False
    # Under the square-root compromise the degrees of freedom also take the
    # jackknifed spread of each group's variance (_variance_inflation); under
    # the Neyman rule they are normal theory's (on the same development seeds
    # the jackknife moved the Shapley coverages by 0.4 points at most).
    return _Layout(exact_strata, tuple(drawn), tuple(sampled), fixed, design, gram, col, members,
                   pairs, slopes, terms, scale, jackknife_dof=compromise)


def stratified_plan(p: np.ndarray, n: int, budget: int, empty_free: bool,
                    rng: np.random.Generator) -> _Plan:
    """The stratified estimator's plan for one set (``budget`` >= its minimum)."""
    p = np.ascontiguousarray(p, dtype=np.float64)
    layout = _layout(p.tobytes(), n, budget, empty_free)
    draws = []
    for s, units, pair in layout.groups:
        first = _draw(rng, units, n, s)
        draws += [first, ~first] if pair else [first]
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
    # the weighted fit is the plain one on rows scaled by √weight (enumerated
    # rows weigh 1); its leave-one-out residuals are then scaled back
    scale = np.ones(len(v) - 2)
    if layout.scale is not None:
        scale[start - 2 :] = layout.scale
    fit_v = v[2:] * scale
    fit = _InterceptFit(rows[2:], layout.col, fit_v) if layout.fixed_gram is None else \
        _DenseFit(rows[start:], layout, fit_v)
    theta, resid = fit.theta, fit.resid
    apply = functools.partial(_Term.apply, n=n, n_int=n_int, members=layout.members, pairs=layout.pairs,
                              slopes=layout.slopes)
    first = start - 2  # the draws start here among the fitted rows
    at, parts = 0, []
    for s, units, pair in layout.groups:
        # A unit is one draw, or a draw and its complement. Its residuals use
        # the fit without the unit (a rank-1 or rank-2 downdate), so they are
        # independent of it and the estimate is unbiased.
        width = 2 if pair else 1
        idx = at + np.arange(units)[:, None] + units * np.arange(width)[None, :]  # (units, width)
        lev, unit = fit.unit(first + idx)  # lev: (units, width, width)
        e = resid[first + idx]
        if width == 1:
            r = e / (1.0 - lev[:, :, 0])
        else:
            r = np.linalg.solve(np.eye(2)[None] - lev, e[:, :, None])[:, :, 0]
        loo_theta = fit.without(unit, r)
        r = r / scale[first + idx]
        # z_u, the unit's term: its rows' terms, each weighted by the unit's
        # share of its stratum (1 for a draw or a pair across two sizes, 1/2
        # for a pair within the middle size).
        cross = pair and 2 * s != n
        sizes = (s, n - s) if cross else (s,) * width
        share = 1.0 if cross else 1.0 / width
        z = np.zeros((units, n))
        for c, size in enumerate(sizes):
            # d_i of the rows: a group's at a time, not all draws' at once (budget x K numbers)
            d = np.where(rows[start + idx[:, c]], p[size - 1] * n / size, -p[size] * n / (n - size))
            z += share * (apply(layout.terms[size], loo_theta) + r[:, c, None] * d)
        phi = phi + z.mean(axis=0)
        inside = rows[start + idx[:, 0]]
        mu, w = _membership_terms(p, n, s, sizes, share, z, r, inside)
        part = _averaged_variance(mu, w) / units
        var = var + part
        grow = _variance_inflation(mu, w) if layout.jackknife_dof else 1.0
        parts.append((part, units, grow))
        at += units * width
    # Welch-Satterthwaite degrees of freedom of the summed group variances,
    # from the shares of the total (no squares of huge variances); each
    # group's variance counts as noisy as normal theory says (2σ⁴/(m − 1)),
    # times its jackknife inflation where the layout asks for it.
    safe = np.where(var > 0, var, 1.0)
    den = sum(grow * (part / safe) ** 2 / (m - 1) for part, m, grow in parts)
    dof = np.where((var > 0) & (den > 0), 1.0 / np.where(den > 0, den, 1.0), np.inf)
    return phi, np.sqrt(var), dof


class _DenseFit:
    """The ridge fit of the surrogate on every fitted row (the enumerated
    strata, then the draws) and its leave-one-unit-out updates."""

    def __init__(self, drawn_rows: np.ndarray, layout: _Layout, fit_v: np.ndarray):
        assert layout.fixed_design is not None and layout.fixed_gram is not None
        drawn = _design(drawn_rows, layout.col, len(layout.col), layout.members, layout.pairs, layout.slopes)
        if layout.scale is not None:  # the weighted fit: the drawn rows scaled by √weight
            drawn = drawn * layout.scale[:, None]
        self.design = np.concatenate([layout.fixed_design, drawn])
        self.inv = np.linalg.inv(layout.fixed_gram + drawn.T @ drawn)
        self.theta = self.inv @ (self.design.T @ fit_v)
        self.resid = fit_v - self.design @ self.theta

    def unit(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The leverages ``x_c · inv · x_d`` of each unit's rows ``idx`` (units,
        width) and what :meth:`without` needs of them (``x · inv``)."""
        x_u = self.design[idx]  # (units, width, P)
        hx = x_u @ self.inv
        return np.einsum("ucp,udp->ucd", hx, x_u), hx

    def without(self, hx: np.ndarray, r: np.ndarray) -> np.ndarray:
        """θ refitted without each unit, from its rows' deleted residuals ``r``."""
        return self.theta[None, :] - np.einsum("ucp,uc->up", hx, r)


class _InterceptFit:
    """:class:`_DenseFit` when the surrogate is one intercept per stratum:
    each row's features are one indicator, the Gram matrix is diagonal (the
    rows per stratum) and θ the strata's means. O(rows + P) where the dense
    algebra costs O(rows · P²): at K in the thousands P is in the thousands."""

    def __init__(self, fit_rows: np.ndarray, col: dict, fit_v: np.ndarray):
        self.column = _intercept_columns(fit_rows, col)
        counts = np.bincount(self.column, minlength=len(col)) + 1e-9  # the Gram diagonal, ridge included
        self.inv_diag = 1.0 / counts
        self.theta = np.bincount(self.column, weights=fit_v, minlength=len(col)) * self.inv_diag
        self.resid = fit_v - self.theta[self.column]

    def unit(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.column[idx]  # (units, width): each row's one feature
        return np.where(c[:, :, None] == c[:, None, :], self.inv_diag[c][:, :, None], 0.0), c

    def without(self, c: np.ndarray, r: np.ndarray) -> np.ndarray:
        out = np.repeat(self.theta[None, :], len(c), axis=0)
        units = np.arange(len(c))
        for w in range(c.shape[1]):  # a unit's rows may share a column: one subtraction per row
            out[units, c[:, w]] -= self.inv_diag[c[:, w]] * r[:, w]
        return out


def _membership_terms(p, n, s, sizes, share, z, r, inside) -> tuple[np.ndarray, np.ndarray]:
    """What the variance of one unit's term, per candidate, is made of, from a
    group's m units: ``(μ, w)`` for :func:`_averaged_variance`.

    A unit's term for candidate i is ``T_i + R_i``: ``T_i``, the surrogate's
    part, is fitted without the unit, so it does not depend on the unit's
    coalition; ``R_i = share · Σ_c r_c d_i(A_c)`` takes one of two values,
    ``v_in`` or ``v_out``, as i is in the unit's first coalition or not, an
    event of probability q = s/n. The plain spread of the terms carries the
    noise of that Bernoulli draw (for the Shapley value it multiplies the
    kurtosis of the terms by about 1/(q(1−q)) − 3: 8 at s = 1, K = 10), and
    with a few draws of size 1, most of which miss i, the spread is mostly
    far too small and intervals built on it fall short. This is the sample
    variance averaged over each unit's membership of i, given the unit's
    residuals (Rao-Blackwellised): with ``μ_u = T_u + q v_in + (1−q) v_out``
    and ``w_u = q(1−q)(v_in − v_out)²``, it is
    ``(Σ_u (μ_u − μ̄)² + (1 − 1/m) Σ_u w_u) / (m − 1)``. It has the
    expectation of the sample variance when a unit's residuals do not depend
    on whether it holds i, and is never negative; where they do (the
    surrogate misses an interaction with i) it can be off either way: on the
    games of benchmarks/estimator_coverage.py (K = 10, seed 99), the mean
    squared standard error came out 8% below to 21% above the estimates'
    variance.

    ``r`` (units, rows): the units' residuals; ``inside`` (units, n): which
    candidates each unit's first coalition holds. Returns ``μ`` (units, n)
    and ``w`` (units,).
    """
    units = len(z)
    q = s / n
    v_in, v_out = np.zeros(units), np.zeros(units)
    for c, size in enumerate(sizes):
        hold, miss = p[size - 1] * n / size, -p[size] * n / (n - size)
        # the second row of a unit is the first one's complement: i is in it
        # exactly when i is not in the first
        if c == 1:
            hold, miss = miss, hold
        v_in += share * r[:, c] * hold
        v_out += share * r[:, c] * miss
    observed = np.where(inside, v_in[:, None], v_out[:, None])
    mu = z - observed + (q * v_in + (1.0 - q) * v_out)[:, None]
    w = q * (1.0 - q) * (v_in - v_out) ** 2
    return mu, w


def _averaged_variance(mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(Σ_u (μ_u − μ̄)² + (1 − 1/m) Σ_u w_u) / (m − 1)`` over the m units."""
    units = len(mu)
    return (((mu - mu.mean(axis=0)) ** 2).sum(axis=0) + (1.0 - 1.0 / units) * w.sum()) / (units - 1)


def _variance_inflation(mu: np.ndarray, w: np.ndarray) -> np.ndarray | float:
    """How much noisier a group's variance is than normal theory says: the
    delete-one jackknife variance of :func:`_averaged_variance` over its m
    units, in units of the normal-theory ``2 s⁴ / (m − 1)``, and never below 1.

    Satterthwaite's degrees of freedom take each group's variance to be as
    noisy as a normal sample's. Terms with heavy tails make it noisier,
    ``σ⁴ (2/(m − 1) + κ/m)`` for excess kurtosis κ, and the degrees of
    freedom too many: for the Banzhaf value of best-of (K = 10, 400 trials
    of benchmarks/estimator_coverage.py) the variance of the squared
    standard errors is that of 2.9 degrees of freedom at 60 evaluations and
    5.4 at 100 (seeds 5 and 11), where Satterthwaite gives about 10 and 19, and
    the intervals too short mostly when the draws missed the rare coalitions
    with large residuals, whose estimates and standard errors are then both
    small. The jackknife (Efron and Stein, 1981) measures that spread from
    the units themselves; with a few units it is mostly too small, hence
    normal theory as the floor, so the degrees of freedom only go down. Two
    units leave no spread to jackknife: normal theory alone (1).
    """
    m = len(mu)
    if m < 3:
        return 1.0
    s2 = _averaged_variance(mu, w)
    dev = mu - mu.mean(axis=0)
    # the variance without unit u, in closed form; rounding can leave a hair below 0
    rest = np.maximum((dev**2).sum(axis=0) - m / (m - 1) * dev**2, 0.0)
    loo = (rest + (1.0 - 1.0 / (m - 1)) * (w.sum() - w)[:, None]) / (m - 2)
    safe = np.where(s2 > 0, s2, 1.0)
    ratio = loo / safe  # scale-free: no fourth powers of the values
    jack = (m - 1) / m * ((ratio - ratio.mean(axis=0)) ** 2).sum(axis=0)
    return np.where(s2 > 0, np.maximum(1.0, jack * (m - 1) / 2.0), 1.0)


@lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


def _use_pairs(n: int, n_rows: int, n_int: int) -> bool:
    # The ridge keeps the fit defined; the threshold was measured on four game
    # families, K = 10-20.
    return n >= 3 and n_rows >= _PAIRS_AT * (n_int + n + n * (n - 1) // 2)


def _use_slopes(n: int, n_rows: int, n_int: int) -> bool:
    # The same rule as for the pairs: evaluations at least _PAIRS_AT times the
    # coefficients, which the slopes double (all but the intercepts).
    return n_rows >= _PAIRS_AT * (n_int + 2 * (n + n * (n - 1) // 2))


def _size_slope(size, n: int):
    """The slope features' factor, ``(2s − n)/n`` in (−1, 1), like a membership:
    the same ridge then holds a slope about as much as its coefficient."""
    return (2.0 * size - n) / n


def _intercept_columns(rows: np.ndarray, col: dict, size: np.ndarray | None = None) -> np.ndarray:
    """Each row's intercept column: ``col`` of its size (``size``: the rows' sizes, if known)."""
    lookup = np.zeros(rows.shape[1] + 1, dtype=np.int64)
    lookup[list(col)] = list(col.values())
    return lookup[rows.sum(axis=1) if size is None else size]


def _design(rows: np.ndarray, col: dict, n_int: int, members: bool, pairs: bool,
            slopes: bool = False) -> np.ndarray:
    """The surrogate's features of each row: a one-hot intercept of its size,
    its memberships, its pairs and, with ``slopes``, memberships and pairs
    again, times ``_size_slope`` of the row's size."""
    n = rows.shape[1]
    size = rows.sum(axis=1)
    parts = [np.zeros((len(rows), n_int))]
    parts[0][np.arange(len(rows)), _intercept_columns(rows, col, size)] = 1.0
    if members:
        parts.append(rows.astype(np.float64))
    if pairs:
        a, b = _pairs(n)
        parts.append((rows[:, a] & rows[:, b]).astype(np.float64))
    if slopes:
        parts += [part * _size_slope(size, n)[:, None] for part in parts[1:]]
    return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class _Term:
    """Stratum s's exact surrogate term, ``(G θ)_i = E[f(A)·θ d_i(A)]`` over
    uniform coalitions A of size s, as the few numbers that define G:

    intercept: ``p(s−1) − p(s)``; membership of j: ``p(s−1)`` for j = i,
    ``(p(s−1)(s−1) − p(s)s)/(n−1)`` otherwise; a pair: ``p(s−1)(s−1)/(n−1)``
    when it holds i, ``(p(s−1)(s−1)(s−2) − p(s)s(s−1))/((n−1)(n−2))``
    otherwise. A slope feature is a membership or a pair times ``slope``,
    the constant ``_size_slope(s, n)`` on the stratum: its term is theirs
    times ``slope``.
    """

    column: int
    intercept: float
    own: float
    other: float
    pair_with: float
    pair_without: float
    slope: float = 0.0

    @staticmethod
    def of(p: np.ndarray, n: int, s: int, column: int, slopes: bool = False) -> "_Term":
        other = (p[s - 1] * (s - 1) - p[s] * s) / (n - 1)
        with_i = p[s - 1] * (s - 1) / (n - 1)
        without_i = ((p[s - 1] * (s - 1) * (s - 2) - p[s] * s * (s - 1)) / ((n - 1) * (n - 2))
                     if n > 2 else 0.0)
        return _Term(column, float(p[s - 1] - p[s]), float(p[s - 1]), float(other), float(with_i),
                     float(without_i), float(_size_slope(s, n)) if slopes else 0.0)

    def apply(self, thetas: np.ndarray, *, n: int, n_int: int, members: bool, pairs: bool,
              slopes: bool = False) -> np.ndarray:
        """``G θ`` for each row θ of ``thetas`` (m, P): (m, n)."""
        out = np.repeat(self.intercept * thetas[:, self.column : self.column + 1], n, axis=1)
        shared = thetas[:, n_int:]
        if slopes:
            half = shared.shape[1] // 2
            out += self._shared(shared[:, :half], n, members, pairs)
            out += self.slope * self._shared(shared[:, half:], n, members, pairs)
        else:
            out += self._shared(shared, n, members, pairs)
        return out

    def _shared(self, coef: np.ndarray, n: int, members: bool, pairs: bool) -> np.ndarray:
        """The members' and pairs' part of ``G θ`` (coefficients ``coef``, (m, q))."""
        out = np.zeros((len(coef), n))
        if members:
            beta = coef[:, :n]
            out += (self.own - self.other) * beta + self.other * beta.sum(axis=1, keepdims=True)
        if pairs:
            gamma = coef[:, n:]
            held = gamma @ _incidence(n)  # Σ of the pairs that hold i
            out += (self.pair_with - self.pair_without) * held
            out += self.pair_without * gamma.sum(axis=1, keepdims=True)
        return out


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
        se, dof = _pair_stderr(per_pair)
        return phi, se, dof

    return _Plan(rows, finish)


def _pair_stderr(per_pair: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors and degrees of freedom of the mean over pairs.

    ``per_pair`` (pairs, n): each antithetic pair's credit of every candidate.
    With a few pairs a candidate's credits are often all equal (a weak
    candidate of a best-of set gains only when it comes first or last), so its
    own spread is 0 while its value is not known; the candidates' variances
    are therefore moderated towards their mean (``_moderated_variance``).
    One pair has no spread: infinite standard errors.
    """
    pairs, n = per_pair.shape
    if pairs < 2:
        return np.full(n, np.inf), np.full(n, np.inf)
    s2, dof = _moderated_variance(per_pair.var(axis=0, ddof=1), float(pairs - 1))
    return np.sqrt(s2 / pairs), np.full(n, dof)


def _moderated_variance(s2: np.ndarray, d: float) -> tuple[np.ndarray, float]:
    """Sample variances ``s2`` of n candidates, each on ``d`` degrees of
    freedom, moderated towards their mean: ``Z s²_k + (1 − Z) s̄²``, and the
    degrees of freedom of the result.

    An empirical-Bayes variance, as limma's moderated t: the candidates' true
    variances σ²_k are taken as draws from one prior, and each is estimated
    by the best linear predictor from its own s²_k (Bühlmann's credibility),
    the prior's moments estimated from the n candidates on the natural scale
    (limma's log scale breaks on exact zeros): s̄² for the prior mean, and Z
    as the share of the spread of the s² across the candidates that is not
    sampling noise, ``1 − E[Var(s² | σ²)] / Var(s²)``, with the noise
    ``2σ⁴ / d`` of normal data, whose mean is ``2 E[s⁴] / (d + 2)``; Z = 0
    (the pooled variance for all) when the spread is no more than noise.
    Under limma's conjugate prior (a scaled inverse χ² worth d0 degrees of
    freedom) this is each σ²_k's posterior mean, Z = d / (d + d0 − 2); the
    degrees of freedom d / Z = d + d0 − 2, two fewer than limma's, and at most
    the n·d of the pooled variance. (Limma's own variance and d + d0 from the
    same moments covered less: the credits are far from normal, and their
    sample variances noisier than normal theory says.) Constant credits for
    every candidate (an additive game) keep every variance 0.
    """
    n = len(s2)
    if n < 2:
        return s2, d
    spread = s2.var(ddof=1)
    noise = 2.0 / (d + 2.0) * float(np.mean(s2**2))
    own = 1.0 - noise / spread if spread > noise else 0.0
    dof = min(d / own, n * d) if own > 0 else n * d
    return own * s2 + (1.0 - own) * s2.mean(), dof
