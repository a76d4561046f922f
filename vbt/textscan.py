"""Compiled scanner for Chronojump's raw signal: one pass over the bytes, validating as it reads.

Kept apart from ``vbt.io`` so that reading a CSV or importing ``vbt.io`` does not load numba;
this module is imported on the first Chronojump file.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def scan_positions(buf, out, divisor):
    """Read ``[\\s,]*-?\\d+([\\s,]+-?\\d+)*[\\s,]*`` from the bytes ``buf``; write the running sum
    of the integers divided by ``divisor`` into ``out`` (Chronojump's counts are mm moved per ms: the
    running sum is the position).

    Returns (number of integers read, offset of the first byte that breaks the grammar or -1,
    largest absolute integer). ``out`` holds at least (len(buf) + 1) // 2 values. Integers
    beyond 10**15 are clamped there: a raw signal's values are below a hundred."""
    n = buf.size
    k = 0
    i = 0
    total = 0
    largest = 0
    while i < n:
        c = buf[i]
        if c == 44 or c == 32 or c == 10 or c == 13 or c == 9:
            i += 1
            continue
        neg = c == 45
        if neg:
            i += 1
            if i >= n:
                return k, i - 1, largest
            c = buf[i]
        if c < 48 or c > 57:
            return k, i, largest
        v = 0
        while i < n:
            c = buf[i]
            if c < 48 or c > 57:
                break
            if v < 1_000_000_000_000_000:
                v = v * 10 + (c - 48)
            i += 1
        if i < n:
            c = buf[i]
            if not (c == 44 or c == 32 or c == 10 or c == 13 or c == 9):
                return k, i, largest
        if v > largest:
            largest = v
        total += -v if neg else v
        out[k] = total / divisor
        k += 1
    return k, -1, largest


def positions(raw: bytes, divisor: float) -> tuple[np.ndarray, int, int]:
    """(running sums of the integers divided by ``divisor``, offset of the first bad byte or -1, largest
    absolute integer) of a comma/space separated text."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    out = np.empty((buf.size + 1) // 2, dtype=np.float64)
    k, bad, largest = scan_positions(buf, out, float(divisor))
    return out[:k], int(bad), int(largest)
