"""When and how a ``parallel=True`` kernel may be launched.

Two ways a launch of numba's thread pool goes wrong inside trainers:

- **fork.** A process forked after numba started its pool (a
  ``multiprocessing`` pool or a data-loader worker with Linux's default
  ``fork``) inherits a pool without its threads: GNU OpenMP terminates the
  child on its first parallel launch, and the parent waits on it for ever.
  A child forked after the pool started therefore runs every kernel on its
  serial path.
- **the workqueue layer** (numba's fallback where neither TBB nor OpenMP is
  available) is not thread-safe: two Python threads launching at once abort
  the process. Launches are serialised with a lock while the layer is
  unknown (the first launch) and for as long as it is ``workqueue``.

Neither changes numba's configuration. Each kernel's serial path and its
parallel wrapper run the same per-set code, so a set's values are bit for
bit the same whichever path ran it.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numba

__all__ = ["parallel_allowed", "launch"]

_forked_after_pool = False
_layer: str | None = None  # numba's threading layer, known after our first launch
_lock = threading.Lock()


def _pool_started() -> bool:
    try:
        numba.threading_layer()
    except ValueError:  # numba: "Threading layer is not initialized"
        return False
    return True


def _after_fork_in_child() -> None:
    global _forked_after_pool, _lock
    if _pool_started():
        _forked_after_pool = True
    # A lock another thread held at the fork stays held in the child.
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX only; Windows never forks
    os.register_at_fork(after_in_child=_after_fork_in_child)


def parallel_allowed() -> bool:
    """False in a process forked after numba's thread pool started."""
    return not _forked_after_pool


def launch(kernel: Callable[..., Any], *args: Any) -> Any:
    """``kernel(*args)`` for a ``parallel=True`` kernel, serialised under the
    workqueue layer (see the module's docstring)."""
    global _layer
    if _layer is not None and _layer != "workqueue":
        return kernel(*args)
    with _lock:
        result = kernel(*args)
        if _layer is None and _pool_started():
            _layer = numba.threading_layer()
    return result
