"""Compiled scanner for Chronojump's raw signal: one pass over the bytes, validating as it reads.

Kept apart from ``vbt.io`` so that reading a CSV or importing ``vbt.io`` does not load numba;
this module is imported on the first Chronojump file.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def scan_signed_ints(buf, out):
    """Read ``[\\s,]*-?\\d+([\\s,]+-?\\d+)*[\\s,]*`` from the bytes ``buf`` into ``out``.

    Returns (number of integers read, offset of the first byte that breaks the grammar or -1).
    ``out`` holds at least (len(buf) + 1) // 2 values. Integers beyond 10**15 are clamped there:
    a raw signal's values are below a hundred."""
    n = buf.size
    k = 0
    i = 0
    while i < n:
        c = buf[i]
        if c == 44 or c == 32 or c == 10 or c == 13 or c == 9:
            i += 1
            continue
        neg = c == 45
        if neg:
            i += 1
            if i >= n:
                return k, i - 1
            c = buf[i]
        if c < 48 or c > 57:
            return k, i
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
                return k, i
        out[k] = -v if neg else v
        k += 1
    return k, -1


def signed_ints(raw: bytes) -> tuple[np.ndarray, int]:
    """(the integers, offset of the first bad byte or -1) of a comma/space separated text."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    out = np.empty((buf.size + 1) // 2, dtype=np.int64)
    k, bad = scan_signed_ints(buf, out)
    return out[:k], int(bad)
