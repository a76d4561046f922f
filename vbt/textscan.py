"""Compiled scanner for Chronojump's raw signal: one pass over the bytes, validating as it reads.

Kept apart from ``vbt.io`` so that reading a CSV or importing ``vbt.io`` does not load numba;
this module is imported on the first Chronojump file.
"""

from __future__ import annotations

import numpy as np
from vbt.kernels.jit import njit


def _bytes(raw) -> np.ndarray:
    """The bytes as the scanners read them: uint8, or int64 when the scanners run as plain Python
    (a first run, vbt.compile_cache.interpreted), where uint8 arithmetic would wrap (``c - 48``)."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    from vbt.compile_cache import interpreted

    return buf.astype(np.int64) if interpreted() else buf


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
    buf = _bytes(raw)
    out = np.empty((buf.size + 1) // 2, dtype=np.float64)
    k, bad, largest = scan_positions(buf, out, float(divisor))
    return out[:k], int(bad), int(largest)


_POW10 = np.array([10.0 ** k for k in range(23)])  # exact doubles
_EXACT = 2 ** 53


@njit(cache=True, nogil=True)
def _number(buf, i, end_a, end_b, pow10):
    """Parse a decimal number (optional sign, digits, '.', digits, exponent) at ``buf[i]``, with
    spaces around, ending at the byte ``end_a`` or ``end_b``, a line end or the end. Returns
    (value, index of the byte after it, ok). Only values NumPy and Python would read to the same
    double are accepted (at most 2**53 as an integer mantissa, a power of ten up to 22 either
    way: one correctly rounded operation); anything else is not ok, and the caller's careful
    path reads it."""
    n = buf.size
    while i < n and (buf[i] == 32 or buf[i] == 9) and buf[i] != end_a:
        i += 1
    neg = False
    if i < n and (buf[i] == 45 or buf[i] == 43):
        neg = buf[i] == 45
        i += 1
    m = 0
    digits = 0
    scale = 0
    exact = True
    while i < n and 48 <= buf[i] <= 57:
        m = m * 10 + (buf[i] - 48)
        digits += 1
        if m > 9007199254740992:
            exact = False
            break
        i += 1
    if i < n and buf[i] == 46:
        i += 1
        while i < n and 48 <= buf[i] <= 57:
            m = m * 10 + (buf[i] - 48)
            digits += 1
            scale -= 1
            if m > 9007199254740992:
                exact = False
                break
            i += 1
    if not exact or digits == 0:
        return 0.0, i, False
    if i < n and (buf[i] == 101 or buf[i] == 69):
        i += 1
        eneg = False
        if i < n and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        e = 0
        edigits = 0
        while i < n and 48 <= buf[i] <= 57 and e < 1000:
            e = e * 10 + (buf[i] - 48)
            edigits += 1
            i += 1
        if edigits == 0:
            return 0.0, i, False
        scale += -e if eneg else e
    while i < n and (buf[i] == 32 or buf[i] == 9) and buf[i] != end_a:
        i += 1
    if i < n and not (buf[i] == end_a or buf[i] == end_b or buf[i] == 10 or buf[i] == 13):
        return 0.0, i, False
    if scale < -22 or scale > 22:
        return 0.0, i, False
    v = float(m)
    if scale >= 0:
        v = v * pow10[scale]
    else:
        v = v / pow10[-scale]
    return (-v if neg else v), i, True


@njit(cache=True, nogil=True)
def scan_csv_columns(buf, delim, col_a, col_b, out_a, out_b, pow10):
    """Read columns ``col_a`` and ``col_b`` of the CSV rows in ``buf`` (no header) into ``out_a``
    and ``out_b`` (each at least the number of lines long). Blank lines are skipped. Returns
    (rows read, offset where the fast reading gave up or -1): a quote, a short row, or a cell
    that ``_number`` does not accept hands the file to the careful reader."""
    n = buf.size
    i = 0
    rows = 0
    while i < n:
        c = buf[i]
        if c == 10 or c == 13:
            i += 1
            continue
        line_start = i
        blank = True
        j = i
        while j < n and buf[j] != 10:
            if not (buf[j] == 32 or buf[j] == 9 or buf[j] == 13 or buf[j] == delim):
                blank = False
                break
            j += 1
        if blank:
            i = j
            continue
        col = 0
        got = 0
        while True:
            if col == col_a or col == col_b:
                v, i, ok = _number(buf, i, delim, delim, pow10)
                if not ok:
                    return rows, line_start
                if col == col_a:
                    out_a[rows] = v
                else:
                    out_b[rows] = v
                got += 1
            else:
                while i < n and buf[i] != delim and buf[i] != 10:
                    if buf[i] == 34:  # a quoted cell: the csv module's job
                        return rows, line_start
                    i += 1
            if i >= n or buf[i] == 10 or buf[i] == 13:
                break
            i += 1  # the delimiter
            col += 1
        if got != 2:
            return rows, line_start
        rows += 1
        while i < n and buf[i] != 10:
            i += 1
    return rows, -1


def csv_columns(body, delimiter: str, col_a: int, col_b: int):
    """Two columns of a CSV body (bytes-like) as float64 arrays, or None when the careful reader
    must read it."""
    buf = _bytes(body)
    size = (buf.size + 1) // 4 + 1  # a row is at least "1,2" and its line end
    out_a = np.empty(size, dtype=np.float64)
    out_b = np.empty(size, dtype=np.float64)
    rows, bad = scan_csv_columns(buf, ord(delimiter), col_a, col_b, out_a, out_b, _POW10)
    if bad >= 0:
        return None
    return out_a[:rows], out_b[:rows]
