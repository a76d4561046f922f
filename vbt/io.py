"""Reading recorded position streams: our CSV and Chronojump's raw signal file.

Every failure a user can cause raises ``RecordingError`` with one readable line.

Whole files are parsed by compiled code, never token by token in Python: Chronojump's integers and
our CSV's two columns by numba scanners (``vbt.textscan``), a CSV they hand back (quotes, numbers
they cannot read to the exact double) by NumPy's C reader (``np.loadtxt``). When NumPy refuses it
too, the careful line-by-line reader runs, only to name the line that is wrong.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

FORMATS = ("auto", "csv", "chronojump")
CHRONOJUMP_SAMPLE_S = 0.001  # one value per millisecond in the saved raw signal
_CJ_TOKEN = re.compile(r"^[\s,]*-?\d+([\s,]+-?\d+)*[\s,]*$")
_CJ_FIRST = b"0123456789-"  # how a raw signal starts, after separators
_LEADING_SEPARATORS = re.compile(rb"[\s,]*")
_CJ_MAX_MM = 80  # per millisecond: 80 m/s, beyond any barbell


class RecordingError(ValueError):
    """A recording cannot be read; the message is one line a person can act on."""


@dataclass(frozen=True)
class Recording:
    t_s: np.ndarray  # seconds, strictly increasing
    position_m: np.ndarray  # metres, up positive
    source_format: str


def _check_series(t, x, path) -> None:
    if len(t) < 2:
        raise RecordingError(f"{path}: fewer than two samples, nothing to analyse")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(x))):
        raise RecordingError(f"{path}: contains non-numeric or infinite values")
    if np.any(np.diff(t) <= 0):
        bad = int(np.argmax(np.diff(t) <= 0)) + 2
        raise RecordingError(f"{path}: time does not increase at data row {bad}")


def parse_csv_text(text: str, path: str = "<csv>", raw: bytes | None = None) -> Recording:
    """Our CSV (``raw``: the same text as bytes, when the caller has them)."""
    # Commas as written by us; spreadsheets in many locales save with semicolons or tabs.
    start = len(text) - len(text[:4096].lstrip()) if text[:1].isspace() else 0
    end = text.find("\n", start)
    first = text[start:] if end < 0 else text[start:end]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except StopIteration:
        raise RecordingError(f"{path}: the file is empty") from None
    names = [h.strip().lower() for h in header]
    if "t_s" not in names or "position_m" not in names:
        raise RecordingError(
            f"{path}: not a VBT CSV recording (the header needs columns t_s and position_m, "
            f"found: {','.join(header)[:80]})"
        )
    it, ix = names.index("t_s"), names.index("position_m")
    if end < 0:
        raise RecordingError(f"{path}: fewer than two samples, nothing to analyse")
    fast = None
    if start == 0:  # the header on the first line: rows are numbered as the scanner counts them
        from vbt.textscan import csv_columns  # compiled; loads numba

        data = raw if raw is not None else text.encode("utf-8")
        fast = csv_columns(memoryview(data)[data.index(b"\n") + 1:], delimiter, it, ix)
    if fast is None:
        fast = _csv_columns_fast(text[end + 1:], delimiter, it, ix)
    if fast is not None:
        _check_series(fast[0], fast[1], path)
        return Recording(fast[0], fast[1], "csv")
    reader = csv.reader(io.StringIO(text[end + 1:]), delimiter=delimiter)
    t, x = [], []
    for row_no, row in enumerate(reader, start=text.count("\n", 0, end) + 2):
        if not row or all(not c.strip() for c in row):
            continue
        try:
            t.append(float(row[it]))
            x.append(float(row[ix]))
        except (ValueError, IndexError):
            raise RecordingError(f"{path}: line {row_no} is not two numbers in columns t_s and position_m") from None
    t_arr, x_arr = np.asarray(t, dtype=np.float64), np.asarray(x, dtype=np.float64)
    _check_series(t_arr, x_arr, path)
    return Recording(t_arr, x_arr, "csv")


def _csv_columns_fast(body: str, delimiter: str, it: int, ix: int):
    """(t, x) of a well-formed CSV body by NumPy's C parser, or None to take the careful path."""
    if not body.strip():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            data = np.loadtxt(io.StringIO(body), delimiter=delimiter, usecols=(it, ix), dtype=np.float64,
                              ndmin=2, comments=None)
    except (ValueError, IndexError, UserWarning, OverflowError):
        return None
    return np.ascontiguousarray(data[:, 0]), np.ascontiguousarray(data[:, 1])


def parse_chronojump_text(text: str | bytes, path: str = "<chronojump>") -> Recording:
    """Chronojump raw signal: signed integers separated by commas and/or spaces, one per ms, in mm."""
    from vbt.textscan import positions  # compiled; loads numba

    raw = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    position, bad, largest = positions(raw, 1000.0)  # mm to m, as float(sum) / 1000
    if bad >= 0 or position.size == 0:
        if not raw.strip():
            raise RecordingError(f"{path}: the file is empty")
        line = raw.count(b"\n", 0, bad) + 1
        where = f" (line {line})" if position.size else ""
        raise RecordingError(
            f"{path}: not a Chronojump raw signal{where}: expected signed integers separated by commas or spaces"
        )
    if position.size < 2:
        raise RecordingError(f"{path}: fewer than two samples, nothing to analyse")
    if largest > _CJ_MAX_MM:
        raise RecordingError(
            f"{path}: values above {_CJ_MAX_MM} mm per millisecond are not a linear encoder's raw signal"
        )
    t = np.arange(position.size, dtype=np.float64)
    t *= CHRONOJUMP_SAMPLE_S  # strictly increasing and finite by construction
    return Recording(t, position, "chronojump")


def sniff_format(text: str) -> str:
    first = text.lstrip().split("\n", 1)[0].lower()
    if "t_s" in first and "position_m" in first:
        return "csv"
    if _CJ_TOKEN.match(text[:4096].rsplit(",", 1)[0] if len(text) > 4096 else text):
        return "chronojump"
    return "unknown"


def read_recording(path: str | os.PathLike, fmt: str = "auto") -> Recording:
    """Read a recording, detecting its format when ``fmt`` is 'auto'."""
    path = os.fspath(path)
    if fmt not in FORMATS:
        raise RecordingError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{path}: is a directory, not a recording") from None
    except PermissionError:
        raise RecordingError(f"{path}: permission denied") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lead = _LEADING_SEPARATORS.match(raw).end()
    if fmt in ("auto", "chronojump") and raw[lead:lead + 1] and raw[lead] in _CJ_FIRST:
        try:  # starts like a raw signal: the scanner validates it all, no need to decode
            return parse_chronojump_text(raw, path)
        except RecordingError:
            if fmt == "chronojump":
                raise  # else the text path below says what the file is
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(f"{path}: not a text recording (binary data)") from None
    if not text.strip():
        raise RecordingError(f"{path}: the file is empty")
    if fmt == "auto":
        fmt = sniff_format(text)
        if fmt == "unknown":
            raise RecordingError(
                f"{path}: format not recognised (expected a CSV with t_s,position_m or a Chronojump raw signal)"
            )
    if fmt == "csv":
        return parse_csv_text(text, path, raw)
    return parse_chronojump_text(raw, path)


def write_csv(path: str | os.PathLike, t_s: np.ndarray, position_m: np.ndarray) -> None:
    with open(path, "w", newline="") as fh:
        fh.write("t_s,position_m\n")
        for t, x in zip(t_s, position_m):
            fh.write(f"{t:.6f},{x:.6f}\n")


def write_chronojump(path: str | os.PathLike, counts_mm: np.ndarray) -> None:
    with open(path, "w") as fh:
        fh.write(", ".join(str(int(c)) for c in counts_mm))


# ---- units and plausibility ---------------------------------------------------------------------

#: Position units a CSV recording may be in (``--units``): metres per unit.
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
#: No barbell moves faster than this (the fastest lifts peak below 4 m/s); a recording that does is
#: in the wrong units or broken.
MAX_PLAUSIBLE_SPEED_M_S = 10.0


def in_units(rec: Recording, units: str) -> Recording:
    """The recording with its CSV positions read as ``units`` (a Chronojump file is always mm)."""
    if units not in UNITS:
        raise RecordingError(f"unknown units {units!r}: use one of {', '.join(UNITS)}")
    if units == "m" or rec.source_format != "csv":
        return rec
    return Recording(rec.t_s, rec.position_m * UNITS[units], rec.source_format)


def check_plausible(rec: Recording, path) -> None:
    """Refuse a recording whose bar moves faster than any barbell can (over 50 ms steps, so encoder
    quantisation at high sample rates does not count), with the likely cause."""
    t, x = rec.t_s, rec.position_m
    span = float(t[-1] - t[0])
    if not np.isfinite(span) or span <= 0.0:
        return
    grid = np.arange(float(t[0]), float(t[-1]), 0.05)
    if grid.size < 2:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        speed = np.abs(np.diff(np.interp(grid, t, x))) / 0.05
        peak = float(np.max(speed))
    if not np.isfinite(peak) or peak > MAX_PLAUSIBLE_SPEED_M_S:
        shown = "an impossible speed" if not np.isfinite(peak) else f"{peak:.3g} m/s"
        hint = "; is the file in millimetres? try --units mm" if rec.source_format == "csv" else ""
        raise RecordingError(f"{path}: the bar would move at {shown}, more than any barbell "
                             f"({MAX_PLAUSIBLE_SPEED_M_S:g} m/s){hint}")
