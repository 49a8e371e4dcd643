"""libstdc++'s ``std::sort`` (introsort), step by step, so that ties come out in Qt's order.

``QNetworkCookieJar::cookiesForUrl`` sorts its result with ``std::sort`` by path length, which is
not stable: up to 16 cookies keep jar order (the final insertion sort), more are shuffled by the
partitioning. Sending cookies in the same order as QNAM means reproducing that algorithm exactly
(libstdc++ ``bits/stl_algo.h``/``stl_heap.h``: threshold 16, median-of-three pivot, heapsort
fallback). ``less(a, b)`` is the comparator, as in C++.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSequence

type Less[T] = Callable[[T, T], bool]
_THRESHOLD = 16


def std_sort[T](items: MutableSequence[T], less: Less[T]) -> None:
    n = len(items)
    if n > 1:
        _introsort_loop(items, 0, n, 2 * (n.bit_length() - 1), less)
        _final_insertion_sort(items, 0, n, less)


def _introsort_loop[T](a: MutableSequence[T], first: int, last: int, depth: int, less: Less[T]) -> None:
    while last - first > _THRESHOLD:
        if depth == 0:
            _heap_sort(a, first, last, less)
            return
        depth -= 1
        cut = _partition_pivot(a, first, last, less)
        _introsort_loop(a, cut, last, depth, less)
        last = cut


def _partition_pivot[T](a: MutableSequence[T], first: int, last: int, less: Less[T]) -> int:
    mid = first + (last - first) // 2
    _median_to_first(a, first, first + 1, mid, last - 1, less)
    return _unguarded_partition(a, first + 1, last, first, less)


def _median_to_first[T](a: MutableSequence[T], result: int, x: int, y: int, z: int, less: Less[T]) -> None:
    if less(a[x], a[y]):
        if less(a[y], a[z]):
            pick = y
        elif less(a[x], a[z]):
            pick = z
        else:
            pick = x
    elif less(a[x], a[z]):
        pick = x
    elif less(a[y], a[z]):
        pick = z
    else:
        pick = y
    a[result], a[pick] = a[pick], a[result]


def _unguarded_partition[T](a: MutableSequence[T], first: int, last: int, pivot: int, less: Less[T]) -> int:
    while True:
        while less(a[first], a[pivot]):
            first += 1
        last -= 1
        while less(a[pivot], a[last]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _final_insertion_sort[T](a: MutableSequence[T], first: int, last: int, less: Less[T]) -> None:
    if last - first > _THRESHOLD:
        _insertion_sort(a, first, first + _THRESHOLD, less)
        for i in range(first + _THRESHOLD, last):
            _linear_insert(a, i, less)
    else:
        _insertion_sort(a, first, last, less)


def _insertion_sort[T](a: MutableSequence[T], first: int, last: int, less: Less[T]) -> None:
    for i in range(first + 1, last):
        if less(a[i], a[first]):
            val = a[i]
            a[first + 1:i + 1] = a[first:i]
            a[first] = val
        else:
            _linear_insert(a, i, less)


def _linear_insert[T](a: MutableSequence[T], last: int, less: Less[T]) -> None:
    val = a[last]
    nxt = last - 1
    while less(val, a[nxt]):
        a[last] = a[nxt]
        last = nxt
        nxt -= 1
    a[last] = val


def _heap_sort[T](a: MutableSequence[T], first: int, last: int, less: Less[T]) -> None:
    """``std::__partial_sort(first, last, last)``: make_heap, then sort_heap."""
    n = last - first
    if n >= 2:
        parent = (n - 2) // 2
        while True:
            _adjust_heap(a, first, parent, n, a[first + parent], less)
            if parent == 0:
                break
            parent -= 1
    while last - first > 1:
        last -= 1
        val = a[last]
        a[last] = a[first]
        _adjust_heap(a, first, 0, last - first, val, less)


def _adjust_heap[T](a: MutableSequence[T], first: int, hole: int, n: int, val: T, less: Less[T]) -> None:
    top = hole
    child = hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if less(a[first + child], a[first + child - 1]):
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(a[first + parent], val):
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = val
