"""Checks of scalar arguments (eps, beta, k, floor, ...), shared by every
public entry point so that the same mistake raises the same error anywhere:
a value of the wrong type raises ``TypeError``, a value of the right type
outside its range raises ``ValueError``, and both name the argument.

Python and numpy numbers are accepted (``np.float32(0.5)``, ``np.int64(3)``);
``bool`` is not a number here (``eps=True`` is a mistake, not 1.0).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "check_real",
    "check_finite_real",
    "check_positive_real",
    "check_nonnegative_real",
    "check_int",
]


def _kind(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def check_real(name: str, value: object, *, finite: bool = True, minimum: float | None = None,
               strict: bool = False, why: str = "") -> float:
    """``value`` as a float, or the error that names ``name``.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        finite: refuse NaN and ±inf.
        minimum: refuse values below it (at or below it with ``strict``).
        strict: make ``minimum`` exclusive.
        why: appended to the range message, e.g. "(it guards a division)".

    Returns:
        ``float(value)``.

    Raises:
        TypeError: ``value`` is not a real number (a bool, a string, None,
            a complex number, an array...).
        ValueError: ``value`` is NaN/inf (with ``finite``) or below ``minimum``.

    Examples:
        >>> check_real("beta", 0.5, minimum=0.0)
        0.5
        >>> check_real("beta", "0.5")
        Traceback (most recent call last):
        ...
        TypeError: beta must be a real number, got str '0.5'
        >>> check_real("beta", -1, minimum=0.0)
        Traceback (most recent call last):
        ...
        ValueError: beta must be a finite number >= 0, got -1.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    out = float(value)
    bad_range = minimum is not None and (out <= minimum if strict else out < minimum)
    if (finite and not math.isfinite(out)) or bad_range or math.isnan(out):
        what = "a finite number" if finite else "a number"
        if minimum is not None:
            what += f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be {what}{' ' + why if why else ''}, got {out}")
    return out


def check_finite_real(name: str, value: object) -> float:
    """A finite real number (a floor, a coefficient).

    Examples:
        >>> check_finite_real("floor", 1)
        1.0
        >>> check_finite_real("floor", float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: floor must be a finite number, got inf
    """
    return check_real(name, value)


def check_positive_real(name: str, value: object, *, why: str = "") -> float:
    """A finite real number > 0 (eps, a temperature, a learning rate).

    Examples:
        >>> check_positive_real("eps", 1e-6)
        1e-06
        >>> check_positive_real("eps", 0.0)
        Traceback (most recent call last):
        ...
        ValueError: eps must be a finite number > 0, got 0.0
        >>> check_positive_real("eps", None)
        Traceback (most recent call last):
        ...
        TypeError: eps must be a real number, got NoneType None
    """
    return check_real(name, value, minimum=0.0, strict=True, why=why)


def check_nonnegative_real(name: str, value: object) -> float:
    """A finite real number >= 0 (a weight such as beta, a tolerance).

    Examples:
        >>> check_nonnegative_real("beta", 0)
        0.0
    """
    return check_real(name, value, minimum=0.0)


def check_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None,
              choices: tuple[int, ...] | None = None, why: str = "") -> int:
    """``value`` as an int, or the error that names ``name``.

    Integral numbers only: ``2.0`` is refused (a float where a count is
    expected is a mistake worth reporting), and so is ``True``.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        minimum, maximum: the allowed range, inclusive (None: unbounded).
        choices: the allowed values, if only a few are.
        why: appended to the range message.

    Returns:
        ``int(value)``.

    Raises:
        TypeError: ``value`` is not an integer.
        ValueError: ``value`` is outside the range or not among ``choices``.

    Examples:
        >>> check_int("k", 3, minimum=1)
        3
        >>> check_int("k", 2.0, minimum=1)
        Traceback (most recent call last):
        ...
        TypeError: k must be an int >= 1, got float 2.0
        >>> check_int("k", 0, minimum=1)
        Traceback (most recent call last):
        ...
        ValueError: k must be an int >= 1, got 0
        >>> check_int("ddof", 2, choices=(0, 1))
        Traceback (most recent call last):
        ...
        ValueError: ddof must be 0 or 1, got 2
    """
    if choices is not None:
        expected = " or ".join(str(c) for c in choices)
    elif minimum is not None and maximum is not None:
        expected = f"an int between {minimum} and {maximum}"
    elif minimum is not None:
        expected = f"an int >= {minimum}"
    elif maximum is not None:
        expected = f"an int <= {maximum}"
    else:
        expected = "an int"
    suffix = f" {why}" if why else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {expected if choices is None else 'an int, ' + expected}"
                        f"{suffix}, got {_kind(value)}")
    out = int(value)
    if ((choices is not None and out not in choices) or (minimum is not None and out < minimum)
            or (maximum is not None and out > maximum)):
        raise ValueError(f"{name} must be {expected}{suffix}, got {out}")
    return out
