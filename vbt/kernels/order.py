"""Search, selection, ranking and interpolation by index: small loops written out."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

# ---- small helpers, written out: numba's generic numpy implementations (argsort's quicksort,
# median's selection, searchsorted's keyword variants, slice assignment's broadcast checks with
# their error strings) cost seconds each of a first run's compile; these loops cost a fraction.


@njit(cache=True)
def search_left(a, v, n):
    """The first index i < n with a[i] >= v (n when none): ``np.searchsorted(a[:n], v)``."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def search_right(a, v, n):
    """The first index i < n with a[i] > v (n when none): ``np.searchsorted(a[:n], v, 'right')``."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _kth_smallest(w, k):
    """The k-th smallest value of w (0-based), reordering w (Hoare's selection)."""
    lo = 0
    hi = w.shape[0] - 1
    while lo < hi:
        pivot = w[(lo + hi) >> 1]
        i = lo
        j = hi
        while i <= j:
            while w[i] < pivot:
                i += 1
            while w[j] > pivot:
                j -= 1
            if i <= j:
                tmp = w[i]
                w[i] = w[j]
                w[j] = tmp
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return w[k]
    return w[k]


@njit(cache=True)
def median_of(a):
    """``np.median`` of a 1-D array (a copy is reordered, not a)."""
    n = a.shape[0]
    if n == 0:
        return np.nan
    w = a.copy()
    hi = _kth_smallest(w, n // 2)
    if n % 2 == 1:
        return hi
    lo = w[0]
    for i in range(1, n // 2):  # after the selection, everything left of n // 2 is <= it
        lo = max(lo, w[i])
    return 0.5 * (lo + hi) if n > 1 else hi


@njit(cache=True)
def median3(x, j, d):
    """The median of x[j - d], x[j] and x[j + d] (the ends of x stand in beyond them)."""
    a = x[max(0, j - d)]
    b = x[j]
    c = x[min(x.shape[0] - 1, j + d)]
    return max(min(a, b), min(max(a, b), c))


@njit(cache=True)
def robust_sd(a):
    """The scatter of ``a`` that a few outliers do not move: 1.4826 times the median absolute
    deviation from its median (the sd of normal samples). ``a`` is left as it is."""
    mid = median_of(a)
    d = np.empty(a.shape[0])
    for k in range(a.shape[0]):
        d[k] = abs(a[k] - mid)
    return 1.4826 * median_of(d)


@njit(cache=True)
def rank_order(score, out):
    """``out[:] = np.argsort(score)`` for a short array (ties keep their order)."""
    n = score.shape[0]
    for i in range(n):
        out[i] = i
    for i in range(1, n):
        j = i
        while j > 0 and score[out[j - 1]] > score[out[j]]:
            tmp = out[j - 1]
            out[j - 1] = out[j]
            out[j] = tmp
            j -= 1


@njit(cache=True)
def _interp_idx(arr, fidx):
    i = int(math.floor(fidx))
    if i < 0:
        return arr[0]
    if i >= arr.shape[0] - 1:
        return arr[arr.shape[0] - 1]
    f = fidx - i
    return arr[i] * (1.0 - f) + arr[i + 1] * f
