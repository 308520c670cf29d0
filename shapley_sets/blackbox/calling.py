"""Calling the caller's function on many coalitions: one by one, batched,
on threads or as coroutines, always with the outputs checked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Set as AbstractSet
from typing import Callable, Sequence

import numpy as np

__all__ = ["call_all"]


def _as_value(result, describe: Callable[[int], str], c: int) -> float:
    if type(result) is float and math.isfinite(result):
        return result
    if isinstance(result, (str, bytes)) or isinstance(result, (list, tuple, dict)):
        raise TypeError(
            f"fn must return a real number, got {type(result).__name__} for {describe(c)}"
        )
    try:
        value = float(result)
    except (TypeError, ValueError):
        raise TypeError(
            f"fn must return a real number, got {type(result).__name__} for {describe(c)}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"fn returned {value} for {describe(c)}; set values must be finite")
    return value


def _batch_values(result, chunk: Sequence[int], describe) -> np.ndarray:
    try:
        # a mapping or a set has a length but no order: its keys would be read as the values
        if isinstance(result, (str, bytes, Mapping, AbstractSet)):
            raise TypeError
        length = len(result)
    except TypeError:
        raise TypeError(
            "a batched fn must return a sequence of numbers, one per coalition, "
            f"got {type(result).__name__} for a batch of {len(chunk)} coalitions "
            f"starting with {describe(chunk[0])}"
        ) from None
    if length != len(chunk):
        raise ValueError(
            f"a batched fn returned {length} values for a batch of {len(chunk)} coalitions "
            f"(the first is {describe(chunk[0])}); it must return one value per coalition"
        )
    if isinstance(result, (list, tuple, np.ndarray)):
        arr = np.asarray(result)
        if arr.ndim == 1 and arr.dtype.kind in "biuf":
            arr = arr.astype(np.float64)
            if np.isfinite(arr).all():
                return arr
    return np.array([_as_value(r, describe, c) for r, c in zip(result, chunk)], dtype=np.float64)


def _annotated(err: BaseException, what: str) -> BaseException:
    if hasattr(err, "add_note"):
        err.add_note(f"(raised by fn while evaluating {what})")
    return err


def _chunks(n: int, size: int | None) -> list:
    size = n if not size else size
    return [range(start, min(n, start + size)) for start in range(0, n, max(size, 1))]


def _run_coroutines(make, n: int, concurrency: int) -> list:
    import asyncio  # only for async judges: asyncio costs tens of ms to import
    import concurrent.futures

    async def main():
        gate = asyncio.Semaphore(concurrency)

        async def one(i):
            async with gate:
                return await make(i)

        return await asyncio.gather(*(one(i) for i in range(n)))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # Called from inside an event loop (a notebook, an async trainer): the
    # coroutines run on a private loop in a worker thread, this call blocks.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def call_all(
    fn: Callable,
    coalitions: list,
    describe: Callable[[int], str],
    *,
    batched: bool,
    is_async: bool,
    concurrency: int | None,
    batch_size: int | None,
) -> tuple[np.ndarray, int]:
    """Values of ``fn`` on every coalition (a list of candidate lists).

    Returns the float64 values and the number of times ``fn`` was invoked.
    ``describe(c)`` names coalition c (its set and candidates) in errors.
    """
    n = len(coalitions)
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out, 0
    if batched:
        chunks = _chunks(n, batch_size)

        def finish(i, result):
            out[chunks[i].start : chunks[i].stop] = _batch_values(result, chunks[i], describe)

        def what(i):
            return f"a batch of {len(chunks[i])} coalitions starting with {describe(chunks[i][0])}"

        args = [coalitions[chunk.start : chunk.stop] for chunk in chunks]
    else:
        chunks = list(range(n))

        def finish(i, result):
            out[i] = _as_value(result, describe, i)

        what = describe
        args = coalitions
    count = len(args)

    if is_async:
        async def make(i):
            try:
                return await fn(args[i])
            except Exception as err:
                raise _annotated(err, what(i))

        for i, result in enumerate(_run_coroutines(make, count, concurrency or 16)):
            finish(i, result)
        return out, count

    def call(i):
        try:
            return fn(args[i])
        except Exception as err:
            raise _annotated(err, what(i))

    if concurrency and concurrency > 1 and count > 1:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(min(concurrency, count)) as pool:
            for i, result in enumerate(pool.map(call, range(count))):
                finish(i, result)
    else:
        for i in range(count):
            finish(i, call(i))
    return out, count
