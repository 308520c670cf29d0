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
