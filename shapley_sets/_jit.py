"""numba's ``njit`` that caches compiled code on disk where numba can, and
compiles in memory where it cannot (read-only installs).

Every kernel module decorates with :func:`njit` from here, never numba's own:
numba raises ``RuntimeError: cannot cache function ... no locator available``
at decoration time, that is at ``import shapley_sets``, when ``cache=True``
is asked for and neither the package's ``__pycache__``, numba's user-wide
cache directory (under HOME) nor ``NUMBA_CACHE_DIR`` is writable. That is a
container with a read-only root run without root privileges. There the
kernels still work, compiled on first use in each process.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numba

__all__ = ["njit", "CacheUnavailableWarning", "uncached_kernels"]

_UNCACHED: list[str] = []


class CacheUnavailableWarning(RuntimeWarning):
    """numba cannot write its on-disk cache here: kernels compile in every process.

    Given once, at import, where neither the package directory, numba's user
    cache directory nor ``NUMBA_CACHE_DIR`` is writable (a read-only install);
    set ``NUMBA_CACHE_DIR`` to a writable directory to keep compiled code.

    Examples:
        >>> import shapley_sets as ss
        >>> issubclass(ss.CacheUnavailableWarning, RuntimeWarning)
        True
    """


def uncached_kernels() -> tuple[str, ...]:
    """Qualified names of the kernels compiled without an on-disk cache."""
    return tuple(_UNCACHED)


def njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)``, except that ``cache=True`` falls back to no
    on-disk cache (with one :class:`CacheUnavailableWarning` per process)
    where numba has no writable cache location for the function's file."""

    def decorate(fn: Callable[..., Any]) -> Any:
        if not options.get("cache"):
            return numba.njit(**options)(fn)
        try:
            return numba.njit(**options)(fn)
        except RuntimeError as exc:
            if "no locator available" not in str(exc):
                raise
        if not _UNCACHED:
            warnings.warn(
                "numba cannot cache shapley_sets' compiled kernels: neither the "
                "package directory, numba's user cache directory nor "
                "NUMBA_CACHE_DIR is writable. Kernels compile on first use in "
                "every process; set NUMBA_CACHE_DIR to a writable directory to "
                "keep them.",
                CacheUnavailableWarning,
                stacklevel=3,
            )
        _UNCACHED.append(f"{fn.__module__}.{fn.__qualname__}")
        return numba.njit(**{**options, "cache": False})(fn)

    return decorate
