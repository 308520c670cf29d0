"""The timing harness: warm-up, calibrated repeats, medians, interleaving.

Timings on a shared machine are noisy, so every figure is the median of
several samples, each sample long enough (``min_time``) for the clock to be
accurate, and the functions that a ratio compares are sampled in turns, so
that a burst of load hits both sides of the ratio alike.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Mapping

__all__ = ["Timing", "measure", "compare"]

# A sample never repeats a call more often than this, however fast it is.
_MAX_NUMBER = 1_000_000


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one function.

    Attributes:
        median: median over the samples of the seconds per call.
        best: the fastest sample's seconds per call.
        samples: every sample's seconds per call, in the order taken.
        number: calls per sample (fast functions are called many times in a
            row so that one sample lasts at least ``min_time``).
    """

    median: float
    best: float
    samples: tuple
    number: int

    def as_dict(self) -> dict:
        """The timing as plain JSON-ready numbers (seconds)."""
        return {
            "median_s": self.median,
            "best_s": self.best,
            "samples_s": list(self.samples),
            "number": self.number,
        }


def _calibrate(fn: Callable[[], object], min_time: float) -> tuple[int, float]:
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    if once >= min_time:
        return 1, once
    number = min(_MAX_NUMBER, max(1, math.ceil(min_time / max(once, 1e-9))))
    return number, once


def _sample(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(
    fns: Mapping[str, Callable[[], object]],
    *,
    repeat: int = 5,
    warmup: int = 1,
    min_time: float = 0.02,
    budget: float = float("inf"),
) -> dict[str, Timing]:
    """Time several zero-argument functions side by side, in turns.

    Each function is first called ``warmup`` times (numba compiles, caches
    fill), then calibrated: a function that takes less than ``min_time`` is
    called ``number`` times per sample. Then ``repeat`` rounds each take one
    sample of every function, so that background load falls on all of them
    alike. Past ``budget`` seconds, rounds stop once three are done (a slow
    function then has fewer samples, never fewer than ``min(repeat, 3)``).

    Args:
        fns: name -> zero-argument callable.
        repeat: samples per function (at least 1).
        warmup: untimed calls before calibration.
        min_time: shortest sample, in seconds.
        budget: seconds after which no further round starts (past 3 rounds).

    Returns:
        name -> :class:`Timing`, in the order of ``fns``.

    Examples:
        >>> from shapley_sets.bench.timing import compare
        >>> t = compare({"a": lambda: sum(range(100)), "b": lambda: None}, repeat=3, min_time=1e-4)
        >>> sorted(t), len(t["a"].samples), t["a"].median > 0
        (['a', 'b'], 3, True)
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    started = time.perf_counter()
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    numbers = {}
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for name, fn in fns.items():
        number, once = _calibrate(fn, min_time)
        numbers[name] = number
        if number == 1:
            # A call that is long enough on its own is already a sample.
            samples[name].append(once)
    for _ in range(repeat):
        if all(len(s) >= repeat for s in samples.values()):
            break
        if time.perf_counter() - started > budget and all(
            len(s) >= min(repeat, 3) for s in samples.values()
        ):
            break
        for name, fn in fns.items():
            if len(samples[name]) < repeat:
                samples[name].append(_sample(fn, numbers[name]))
    return {
        name: Timing(
            median=statistics.median(s),
            best=min(s),
            samples=tuple(s),
            number=numbers[name],
        )
        for name, s in samples.items()
    }


def measure(fn: Callable[[], object], **options) -> Timing:
    """Time one zero-argument function (see :func:`compare` for ``options``).

    Examples:
        >>> from shapley_sets.bench.timing import measure
        >>> measure(lambda: None, repeat=2, min_time=1e-4).number > 1
        True
    """
    return compare({"fn": fn}, **options)["fn"]
