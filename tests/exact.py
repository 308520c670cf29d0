"""Exact rational Shapley values by brute force, the tests' ground truth."""

from fractions import Fraction
from math import factorial


def rational_shapley(table):
    """Shapley values of one value table with exact rational arithmetic."""
    n_coal = len(table)
    k = n_coal.bit_length() - 1
    values = [Fraction(v) for v in table]
    weights = [Fraction(factorial(s) * factorial(k - s - 1), factorial(k)) for s in range(k)]
    phi = [Fraction(0)] * k
    for m in range(n_coal):
        size = bin(m).count("1")
        for i in range(k):
            if not m >> i & 1:
                phi[i] += weights[size] * (values[m | 1 << i] - values[m])
    return phi


def table_of(k, value_of):
    """Value table of the set function ``value_of(frozenset)`` on k players."""
    return [value_of(frozenset(j for j in range(k) if m >> j & 1)) for m in range(1 << k)]


def rational_coalition_weights(k, weights):
    """q_K(s), s = 0..K-1, as Fractions, for ``"shapley"``, ``"banzhaf"``,
    ``"loo"``, ``("beta", a, b)`` with integer a, b, or Fraction size weights."""
    from math import comb

    if weights == "shapley":
        return [Fraction(1, k * comb(k - 1, s)) for s in range(k)]
    if weights == "banzhaf":
        return [Fraction(1, 2 ** (k - 1))] * k
    if weights == "loo":
        return [Fraction(int(s == k - 1)) for s in range(k)]
    if isinstance(weights, tuple) and weights[0] == "beta":
        a, b = weights[1], weights[2]

        def beta_fn(x, y):  # B(x, y) for positive integers, as a product of ratios
            out = Fraction(1, x + y - 1)
            for i in range(1, y):
                out *= Fraction(i, x + i - 1)
            return out

        return [beta_fn(s + a, k - 1 - s + b) / beta_fn(a, b) for s in range(k)]
    return [Fraction(p) / comb(k - 1, s) for s, p in enumerate(weights)]


def rational_semivalue(table, weights, present=None):
    """Semivalues of one value table in exact rational arithmetic, each set
    with the weights of its own number of present candidates (``present``:
    a list of the present candidates; default all)."""
    n_coal = len(table)
    k = n_coal.bit_length() - 1
    here = list(range(k)) if present is None else sorted(present)
    q = rational_coalition_weights(len(here), weights) if here else []
    values = [Fraction(v) for v in table]
    phi = [Fraction(0)] * k
    for i in here:
        others = [j for j in here if j != i]
        for m in range(1 << len(others)):
            code = sum(1 << others[b] for b in range(len(others)) if m >> b & 1)
            size = bin(m).count("1")
            phi[i] += q[size] * (values[code | 1 << i] - values[code])
    return phi
