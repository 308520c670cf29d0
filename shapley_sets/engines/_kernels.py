"""Small numba building blocks shared by the order-statistics kernels."""

from __future__ import annotations

from numba import njit

#: Sets processed by one parallel task. Each task owns its scratch buffers, and
#: every set is computed by the same sequential code whatever the thread
#: count, so results are bit-identical for any number of threads.
SETS_PER_TASK = 512

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


# Between these counts, ranking by counting beats both sorts: its K² compares
# are branch-free and vectorise, where insertion sort mispredicts and a
# general sort allocates.
_RANK_SORT_MIN = 8
_RANK_SORT_MAX = 64


@njit(cache=True)
def sort_ascending_into(values, count, sorted_values, order):
    """Stable ascending sort of ``values[:count]`` into ``sorted_values``.

    ``order[r]`` receives the index in ``values`` of the r-th smallest value
    (equal values keep their order). ``values`` is left as it is.
    """
    if count < _RANK_SORT_MIN or count > _RANK_SORT_MAX:
        for i in range(count):
            sorted_values[i] = values[i]
            order[i] = i
        argsort_ascending(sorted_values, count, order)
        return
    for i in range(count):
        v = values[i]
        rank = 0
        for j in range(count):
            rank += (values[j] < v) | ((values[j] == v) & (j < i))
        sorted_values[rank] = v
        order[rank] = i
