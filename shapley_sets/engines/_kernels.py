"""Small numba building blocks shared by the order-statistics kernels, and
the dispatch between a kernel's serial chunk and its parallel wrapper."""

from __future__ import annotations

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
    (equal values keep their order). ``values`` is left as it is. The one sort
    of the best-of, top-k, rank-weighted and expected-best kernels: a stable
    sort has a single answer, so every branch below gives the same ``order``.
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
