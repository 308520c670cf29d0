"""Compile every kernel ahead of use (for image builds and CI caches)."""

from __future__ import annotations

import importlib
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from numba.core.dispatcher import Dispatcher

__all__ = ["warmup", "kernels"]

# Modules whose kernels need an optional extra: warmed up only when asked.
_OPTIONAL = ("shapley_sets.integrations",)


def kernels(include_optional: bool = False) -> dict[str, Dispatcher]:
    """Every numba kernel of the package by qualified name (the
    ``inline="always"`` helpers, compiled into their callers, excluded).

    Examples:
        >>> from shapley_sets._warmup import kernels
        >>> "shapley_sets.engines.rank_weighted._step_chunk" in kernels()
        True
    """
    from numba.core.dispatcher import Dispatcher

    import shapley_sets

    found: dict[str, Dispatcher] = {}
    root = Path(shapley_sets.__file__).parent
    for path in sorted(root.rglob("*.py")):
        name = ".".join(("shapley_sets",) + path.relative_to(root).with_suffix("").parts)
        if not include_optional and name.startswith(_OPTIONAL):
            continue
        # Only modules with kernels are imported: the others may pull in
        # heavy optional dependencies (hypothesis, scipy.stats, torch).
        if "@njit" not in path.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if (isinstance(obj, Dispatcher) and obj.py_func.__module__ == name
                    and obj.targetoptions.get("inline", "never") == "never"):
                found[f"{name}.{attr}"] = obj
    return found


def _calls() -> list[Callable[[], object]]:
    """Public calls that reach every kernel: each serial chunk and parallel
    wrapper, the table builds and the ragged-batch helpers. numba compiles
    one specialisation per argument types, whatever path the data takes, so
    small sets are enough (a kernel's callees compile with it)."""
    import shapley_sets as ss
    from shapley_sets.engines._kernels import SETS_PER_TASK, TOKENS_PER_TASK

    rng = np.random.default_rng(0)
    big = SETS_PER_TASK + 1  # above one task: the parallel wrappers
    calls: list[Callable[[], object]] = []
    for k in (4,):
        x = rng.random((big, k))
        mask = rng.random((big, k)) < 0.7  # ragged: several set sizes
        for u in (ss.BestOf(), ss.TopK(2), ss.RankWeighted.discounted(),
                  ss.RankWeighted(lambda s, j: 1.0 / j), ss.AnySuccess()):
            calls.append(partial(ss.shapley, u, x[:2]))
            calls.append(partial(ss.shapley, u, x, mask=mask))
        xe = rng.random((big, 2, k))
        eb = ss.ExpectedBest(n_types=2)
        calls.append(partial(ss.shapley, eb, xe[:2]))
        calls.append(partial(ss.shapley, eb, xe, mask=mask))
    # Semivalue paths with kernels of their own: the discounted preset's
    # step shares (Banzhaf and Beta) and the weighted table sweep.
    xs = rng.random((2, 4))
    for weights in ("banzhaf", ("beta", 2.0, 3.0)):
        calls.append(partial(ss.semivalue, ss.RankWeighted.discounted(), xs, weights))
    calls.append(lambda: ss.exact_shapley(rng.random((2, 16))))
    calls.append(lambda: ss.exact_shapley(rng.random((80, 1 << 10))))
    calls.append(lambda: ss.exact_shapley(rng.random((2, 16)), "banzhaf"))
    calls.append(lambda: ss.exact_shapley(rng.random((80, 1 << 10)), "banzhaf"))
    calls.append(lambda: ss.grpo.token_candidates(np.array([[[0, 2], [2, 4], [0, 0]]]), [[(0, 3)]]))
    # Rows of TOKENS_PER_TASK tokens each: the parallel path of the per-token kernels.
    calls.append(lambda: ss.grpo.token_candidates(np.zeros((2, TOKENS_PER_TASK, 2), dtype=np.int64),
                                                  [[(0, 3)], []]))
    calls.append(lambda: ss.reference_shapley(ss.BestOf(), rng.random((2, 5))))
    ids = np.array([[0, 1, -1]])
    calls.append(lambda: ss.grpo.token_advantages([[1.0, 0.0]], [0.0], ids, ids >= 0))
    calls.append(lambda: ss.grpo.token_advantages([[1.0, 0.0]], [0.0], ids,
                                                  candidate_mask=[[True, True]]))
    # Group statistics (their kernel serves every GRPO advantage).
    calls.append(lambda: ss.grpo.candidate_advantages([1.0, 0.5], [[0.5, 0.5], [0.5, 0.0]], 2))
    calls.append(lambda: ss.grpo.set_advantages([1.0, 0.5], 2))
    calls.append(lambda: ss.grpo.credit_advantages([1.0, 0.5], [[0.5, 0.5], [0.5, 0.0]], 2, gate="spread"))
    # scale="batch" takes the numpy path, whose group statistics call their kernel directly.
    calls.append(lambda: ss.grpo.candidate_advantages([1.0, 0.5], [[0.5, 0.5], [0.5, 0.0]], 2, scale="batch"))
    # The trainers' one-kernel path of a rule's candidate, set and token advantages.
    from shapley_sets.grpo._fused import rule_token_advantages

    calls.append(lambda: rule_token_advantages(ss.grpo.RECOMMENDED_RULE, np.array([1.0, 0.5]),
                                               np.array([[0.5, 0.5], [0.5, 0.0]]), 2, ids.repeat(2, 0),
                                               np.ones((2, 3), dtype=np.int64), mask=np.ones((2, 2), bool)))
    return calls


def warmup(*, include_optional: bool = False) -> dict[str, int]:
    """Compile (or load from numba's on-disk cache) every kernel, so that the
    first real call of each engine in later processes only loads the cache.

    Run it once when building an image or a CI cache (``shapley-sets
    warmup``); with ``NUMBA_CACHE_DIR`` set, the compiled code goes there.

    Args:
        include_optional: also the kernels of the trainer integrations
            (imports verl and torch).

    Raises:
        TypeError: ``include_optional`` is not a bool.

    Returns:
        The number of specialisations compiled or loaded in this process per
        kernel (qualified name). A kernel called only from other kernels
        shows 0 when its callers were loaded from the cache: their cached
        code includes it.

    Examples:
        >>> import shapley_sets as ss
        >>> counts = ss.warmup()
        >>> counts["shapley_sets.engines.rank_weighted._step_chunk"] >= 1
        True
    """
    if not isinstance(include_optional, bool):
        raise TypeError(f"include_optional must be True or False, got {include_optional!r}")
    for call in _calls():
        call()
    if include_optional:
        _warm_integrations()
    found = kernels(include_optional)
    return {name: len(k.signatures) for name, k in sorted(found.items())}


def _warm_integrations() -> None:
    from shapley_sets.engines._kernels import TOKENS_PER_TASK
    from shapley_sets.integrations._marks import expand_marks, read_marks
    from shapley_sets.integrations.verl import decode_token_rewards, encode_token_rewards

    encoded = encode_token_rewards([[0.5, 0.0]], [[-1, 0, 1, -1]])
    decode_token_rewards(encoded)
    # verl's masks: bool, int64 (attention masks) and float32, on one row and
    # on rows enough for the parallel tasks.
    for n, t in ((1, 4), (2, TOKENS_PER_TASK)):
        rewards = encoded.new_zeros((n, t))
        rewards[:, :4] = encoded
        for dtype in (np.bool_, np.int64, np.float32):
            mask = np.ones((n, t), dtype=dtype)
            decode_token_rewards(rewards, mask)
            # The estimator's steps, not the estimator: its calls count the training steps.
            marks = read_marks(rewards, mask)
            expand_marks(marks, np.zeros(marks.phi.shape), np.zeros(n))


def timed_warmup(include_optional: bool = False) -> tuple[dict[str, int], float]:
    """:func:`warmup` and the seconds it took."""
    start = time.perf_counter()
    counts = warmup(include_optional=include_optional)
    return counts, time.perf_counter() - start
