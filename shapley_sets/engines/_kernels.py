"""Small numba building blocks shared by the order-statistics kernels, and
the dispatch between a kernel's serial chunk and its parallel wrapper."""

from __future__ import annotations

import numpy as np
from numba import njit

#: Sets processed by one parallel task. Each task owns its scratch buffers, and
#: every set is computed by the same sequential code whatever the thread
#: count, so results are bit-identical for any number of threads.
SETS_PER_TASK = 512


def run_in_chunks(chunk, parallel, n_sets, *args):
    """Run a kernel over ``n_sets`` sets: ``chunk(*args, 0, n_sets)`` when they
    fit in one task, else ``parallel(*args)``.

    Each engine's work lives in one serial ``chunk(*args, start, stop)``; its
    ``parallel=True`` wrapper only hands chunks of ``SETS_PER_TASK`` sets to
    its tasks. A batch of one task gains nothing from the thread pool but
    pays its launch (tens of µs idle, milliseconds on a loaded machine), so it
    calls the chunk directly. Both paths run the same per-set code: a set's
    values do not depend on the batch around it nor on the thread count.
    """
    if n_sets <= SETS_PER_TASK:
        chunk(*args, 0, n_sets)
    else:
        parallel(*args)


# Up to this many values, ranking by counting beats a general sort: its K²
# compares are branch-free and vectorise, where a general sort branches and
# allocates.
_RANK_SORT_MAX = 64


@njit(cache=True)
def rank_into(values, count, ordered, rank):
    """Ascending order of ``values[:count]``, up to ties, without the permutation.

    ``ordered[:count]`` receives the values sorted ascending and ``rank[i]``
    a position with ``ordered[rank[i]] == values[i]``; ``values`` is left as
    it is. Equal values may share a position. That is all the step kernels
    need: they read a candidate's result at ``rank[i]`` from running sums of
    steps ``ordered[r] - ordered[r - 1]``, and a step inside a tie is an exact
    zero (of either sign: 0.0 and -0.0 tie), which leaves a sum started at
    +0.0 bit for bit as it is: every position of a tie holds the same bits,
    the ones a stable sort gives.

    Up to ``_RANK_SORT_MAX`` values a position is the count of strictly
    smaller values: one compare and add per pair, where a stable rank also
    needs an equality and an index test and measured about 1.8x slower at
    K = 16.
    """
    if count > _RANK_SORT_MAX:
        # A stable sort: ties keep their order, so each gets its own position.
        order = values[:count].argsort(kind="mergesort")
        for r in range(count):
            ordered[r] = values[order[r]]
            rank[order[r]] = r
        return
    if count == 0:
        return
    for r in range(count):
        ordered[r] = -np.inf
    for i in range(count):
        v = values[i]
        smaller = 0
        for j in range(count):
            smaller += values[j] < v
        rank[i] = smaller
        ordered[smaller] = v
    # A tie of t values fills only its first position; the other t - 1 take
    # the value before them, which is the tie's.
    previous = ordered[0]
    for r in range(1, count):
        current = max(ordered[r], previous)
        ordered[r] = current
        previous = current
