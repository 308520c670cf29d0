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


# Below this many candidates insertion sort beats a general sort.
_INSERTION_SORT_MAX = 48


@njit(cache=True)
def argsort_ascending(values, count, order):
    """Sort ``values[:count]`` ascending in place, permuting ``order`` alike."""
    if count <= _INSERTION_SORT_MAX:
        for a in range(1, count):
            v = values[a]
            o = order[a]
            b = a - 1
            while b >= 0 and values[b] > v:
                values[b + 1] = values[b]
                order[b + 1] = order[b]
                b -= 1
            values[b + 1] = v
            order[b + 1] = o
        return
    perm = values[:count].argsort(kind="mergesort")
    sorted_values = values[:count][perm]
    sorted_order = order[:count][perm]
    values[:count] = sorted_values
    order[:count] = sorted_order


# Up to this many values, ranking by counting beats both sorts: its K²
# compares are branch-free and vectorise, where insertion sort mispredicts and
# a general sort allocates.
_RANK_SORT_MAX = 64


@njit(cache=True)
def sort_ascending_into(values, count, sorted_values, order):
    """Stable ascending sort of ``values[:count]`` into ``sorted_values``.

    ``order[r]`` receives the index in ``values`` of the r-th smallest value
    (equal values keep their order). ``values`` is left as it is. A stable
    sort has a single answer, so every branch below gives the same ``order``.
    The step kernels call it through :func:`rank_into` above
    ``_RANK_SORT_MAX`` values only.
    """
    if count > _RANK_SORT_MAX:
        for i in range(count):
            sorted_values[i] = values[i]
            order[i] = i
        argsort_ascending(sorted_values, count, order)
        return
    for i in range(count):
        v = values[i]
        # One loop of fixed length: splitting it at i (<= before, < after)
        # measured 1.6-2x slower at K = 16-64, its short loops vectorise worse.
        rank = 0
        for j in range(count):
            vj = values[j]
            rank += (vj < v) | ((vj == v) & (j < i))
        sorted_values[rank] = v
        order[rank] = i


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
        order = np.empty(count, dtype=np.int64)
        sort_ascending_into(values, count, ordered, order)
        for r in range(count):
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
