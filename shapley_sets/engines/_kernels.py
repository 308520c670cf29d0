"""Small numba building blocks shared by the order-statistics kernels, and
the dispatch between a kernel's serial chunk and its parallel wrapper."""

from __future__ import annotations

import numpy as np

from .._jit import njit
from ._launch import launch, parallel_allowed

#: Sets processed by one parallel task. Each task owns its scratch buffers, and
#: every set is computed by the same sequential code whatever the thread
#: count, so results are bit-identical for any number of threads.
SETS_PER_TASK = 512


def kernel_input(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a C-contiguous, read-only array for a kernel.

    numba compiles writable and read-only arrays separately; a caller's array
    may be either (``np.load(mmap_mode="r")``, a frombuffer view). Kernels
    never write their inputs, so every input reaches them read-only: one
    compiled specialisation, the one ``shapley-sets warmup`` compiled, serves
    every caller. The caller's own array is not touched (a view is marked).
    """
    out = np.ascontiguousarray(arr)
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out


def run_in_chunks(chunk, parallel, n_sets, *args):
    """Run a kernel over ``n_sets`` sets: ``chunk(*args, 0, n_sets)`` when they
    fit in one task, else ``parallel(*args)``.

    Each engine's work lives in one serial ``chunk(*args, start, stop)``; its
    ``parallel=True`` wrapper only hands chunks of ``SETS_PER_TASK`` sets to
    its tasks. A batch of one task gains nothing from the thread pool but
    pays its launch (tens of µs idle, milliseconds on a loaded machine), so it
    calls the chunk directly. Both paths run the same per-set code: a set's
    values do not depend on the batch around it nor on the thread count.
    Where a launch is unsafe (a process forked after the pool started) every
    batch takes the chunk; under numba's workqueue layer launches are
    serialised (:mod:`._launch`).
    """
    if n_sets <= SETS_PER_TASK or not parallel_allowed():
        chunk(*args, 0, n_sets)
    else:
        launch(parallel, *args)


#: Tokens per parallel task of the per-token kernels (rows of a batch of
#: responses); below two tasks' worth the serial path runs. A task is about
#: a millisecond of serial work: a launch costs tens of µs on an idle
#: machine, but where every core is busy it waits for the OS to run the
#: worker threads, measured at about 20 ms on 2 busy cores, so only batches
#: of several milliseconds are split.
TOKENS_PER_TASK = 1 << 20


def run_rows_in_tasks(rows, tasks, n_rows, row_length, *args):
    """Run a per-row kernel over ``n_rows`` rows of ``row_length`` tokens:
    ``rows(*args, 0, n_rows)``, or ``tasks(*args, per_task)`` handing
    ``rows`` chunks of ``per_task`` rows (about :data:`TOKENS_PER_TASK`
    tokens) to numba's threads.

    Rows are independent and each is computed by the same serial code on
    either path, so the result does not depend on the thread count. Where
    a launch is unsafe the serial path runs (:mod:`._launch`).
    """
    per_task = max(1, TOKENS_PER_TASK // max(row_length, 1))  # read at each call: tests lower it
    if n_rows <= per_task or not parallel_allowed():
        rows(*args, 0, n_rows)
    else:
        launch(tasks, *args, per_task)


# Up to this many values, ranking by counting beats a general sort: its K²
# compares are branch-free and vectorise, where a general sort branches and
# allocates.
_RANK_SORT_MAX = 64


@njit(cache=True)
def _counting_width(count):
    """How many entries the counting compares each value with, for ``count``
    values (9 to 64 of them; otherwise ``count``).

    LLVM vectorises a loop of unknown length 32 values at a time, so a set of
    16 would be compared one value at a time; a loop of a fixed 16, 32 or 64
    compiles to whole vector compares. The entries past ``count`` are set to
    +inf, which is never strictly smaller than a finite value. At K = 16 the
    counting measured about 2x faster so.
    """
    if count <= 8 or count > _RANK_SORT_MAX:
        return count
    if count <= 16:
        return 16
    if count <= 32:
        return 32
    return 64


@njit(cache=True)
def rank_buffer_length(k):
    """The length of a ``values`` buffer that :func:`rank_into` can rank up
    to ``k`` values in (room for its padding)."""
    return max(k, _counting_width(k))


@njit(cache=True)
def _count_smaller(values, count, width, rank):
    # ``width`` is a literal at every call site, so the inner loop has a
    # fixed length after inlining.
    rank_sum = 0
    for i in range(count):
        v = values[i]
        smaller = 0
        for j in range(width):
            smaller += values[j] < v
        rank[i] = smaller
        rank_sum += smaller
    return rank_sum


@njit(cache=True, inline="always")
def rank_into(values, count, ordered, rank):
    """Ascending order of ``values[:count]``, up to ties, without the permutation.

    ``ordered[:count]`` receives the values sorted ascending and ``rank[i]``
    a position with ``ordered[rank[i]] == values[i]``; ``values[:count]`` is
    left as it is, and ``values`` must have ``rank_buffer_length(count)``
    entries, the ones past ``count`` being scratch. Equal values may share a
    position. That is all the step kernels need: they read a candidate's
    result at ``rank[i]`` from running sums of steps
    ``ordered[r] - ordered[r - 1]``, and a step inside a tie is an exact zero
    (of either sign: 0.0 and -0.0 tie, and both may appear in one tie),
    which leaves a sum started at +0.0 bit for bit as it is; so any correct
    ranking gives the kernels the same results, bit for bit.

    Up to ``_RANK_SORT_MAX`` values a position is the count of strictly
    smaller values: one compare and add per pair, where a stable rank also
    needs an equality and an index test and measured about 1.8x slower at
    K = 16. Inlined into the kernels: their per-set loops measured faster so,
    most at small K.
    """
    if count > _RANK_SORT_MAX:
        # A stable sort: ties keep their order, so each gets its own position.
        order = values[:count].argsort(kind="mergesort")
        for r in range(count):
            ordered[r] = values[order[r]]
            rank[order[r]] = r
        return
    if count <= 2:
        if count == 2:
            a = values[0]
            b = values[1]
            rank[0] = 1 if b < a else 0
            rank[1] = 1 if a < b else 0
            ordered[0] = min(a, b)
            ordered[1] = max(a, b)
        elif count == 1:
            rank[0] = 0
            ordered[0] = values[0]
        return
    if count <= 4:
        # Ties are common in small sets (binary rewards): scatter while
        # counting and always repair, rather than test for ties first (the
        # test and a second pass measured ~30% slower at K = 4 with ties).
        for r in range(count):
            ordered[r] = -np.inf
        for i in range(count):
            v = values[i]
            smaller = 0
            for j in range(count):
                smaller += values[j] < v
            rank[i] = smaller
            ordered[smaller] = v
        _fill_ties(ordered, count)
        return
    if count <= 8:
        # A loop of unknown length is fastest here; ``_count_smaller`` with
        # ``width=count`` measured ~40% slower at K = 8 (it does not inline
        # as well), hence this copy of its loop.
        rank_sum = 0
        for i in range(count):
            v = values[i]
            smaller = 0
            for j in range(count):
                smaller += values[j] < v
            rank[i] = smaller
            rank_sum += smaller
    else:
        width = _counting_width(count)
        for j in range(count, width):
            values[j] = np.inf
        if width == 16:
            rank_sum = _count_smaller(values, count, 16, rank)
        elif width == 32:
            rank_sum = _count_smaller(values, count, 32, rank)
        else:
            rank_sum = _count_smaller(values, count, 64, rank)
    # Counts of strictly smaller values sum to count(count - 1)/2 exactly when
    # they are all different (a tie lowers its later members' counts and
    # raises none): then every position is filled once and nothing is left
    # to repair. Continuous scores take this path.
    if 2 * rank_sum == count * (count - 1):
        for i in range(count):
            ordered[rank[i]] = values[i]
        return
    for r in range(count):
        ordered[r] = -np.inf
    for i in range(count):
        ordered[rank[i]] = values[i]
    _fill_ties(ordered, count)


@njit(cache=True, inline="always")
def _fill_ties(ordered, count):
    # A tie of t values fills only its first position (the rest hold -inf);
    # the other t - 1 take the value before them, which is the tie's.
    previous = ordered[0]
    for r in range(1, count):
        current = max(ordered[r], previous)
        ordered[r] = current
        previous = current
