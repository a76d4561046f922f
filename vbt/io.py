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
import itertools
import math
import os
import re
import warnings
from dataclasses import dataclass, replace

import numpy as np

from vbt.units import POSITION_UNITS

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
    notes: tuple[str, ...] = ()  # what the reader inferred (units from the values...), for the user


def _check_series(t, path) -> tuple[np.ndarray, tuple[int, int, float] | None]:
    """``t`` as the analysis can take it (strictly increasing) and, when it had to be re-spaced, what
    was done (see _coarse_clock); a RecordingError when the times cannot be a recording's. They and
    the positions are finite: the readers have left out or named every other value."""
    if len(t) < 2:
        raise RecordingError(f"{path}: fewer than two samples, nothing to analyse")
    d = np.diff(t)
    if np.all(d > 0):
        return t, None
    spaced = _coarse_clock(t, d)
    if spaced is None:
        k = int(np.argmax(d <= 0))
        raise RecordingError(f"{path}: time does not increase at data row {k + 2} ({t[k]:g}, then {t[k + 1]:g}: "
                             f"a clock reset, or two recordings in one file? Each set is its own file)")
    return spaced


# A logger whose clock is coarser than its sampling (an Arduino's millis() at 1 kHz and faster, times
# rounded to 0.01 s) writes runs of rows with the same time, and with jitter a time one tick below the
# row before. Such steps back, of at most this many clock ticks, are read as ties.
CLOCK_BACK_TICKS = 1.0


def _coarse_clock(t: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, tuple[int, int, float]] | None:
    """Times of a coarse clock re-spaced (see CLOCK_BACK_TICKS): each run of rows sharing a time is spread
    evenly over one tick (the smallest step the times take), or up to the next time if that comes
    sooner: a pause in the logging after a run stays a pause. With them, the rows that shared a time,
    the rows that went back, and the tick. None when the times go back further than a tick (a clock
    reset, two recordings joined): the reader then names the row. ``d``: the steps of ``t``."""
    ticks = d[d > 0]
    if ticks.size == 0:
        return None
    tick = float(ticks.min())
    if np.any(d < -CLOCK_BACK_TICKS * tick * (1.0 + 1e-9)):
        return None
    held = np.maximum.accumulate(t)
    first = np.flatnonzero(np.diff(held, prepend=-np.inf) > 0)  # the row that starts each run
    times = held[first]
    spans = np.minimum(np.diff(times, append=np.inf), tick)
    counts = np.diff(np.append(first, held.size))
    within = np.arange(held.size) - np.repeat(first, counts)
    out = np.repeat(times, counts) + within * np.repeat(spans / counts, counts)
    return out, (int(np.sum(d == 0)), int(np.sum(d < 0)), tick)


def _spacing_note(rec: Recording, t_file: np.ndarray, spaced) -> Recording:
    """``rec`` with the note of a coarse clock's re-spacing (``spaced`` from _check_series), its tick in
    the units the recording was read in."""
    if spaced is None:
        return rec
    ties, back, tick = spaced
    tick_ms = 1e3 * tick * (rec.t_s[-1] - rec.t_s[0]) / (t_file[-1] - t_file[0])
    said = f"{ties} rows share the time of the row before" + (f", {back} go back a tick" if back else "")
    return replace(rec, notes=(f"times re-spaced: {said} (a clock of {tick_ms:.3g} ms, coarser than the "
                               f"sampling)",) + rec.notes)


# Column names a recording's header may use (lower case, units and punctuation stripped), in several
# languages spreadsheets are kept in; the units a name or a cell may carry, per unit of ours.
_TIME_NAMES = {"t", "time", "times", "timestamp", "elapsed", "elapsed time", "seconds", "sec", "secs", "ms",
               "millis", "milliseconds", "zeit", "tiempo", "temps", "tempo", "tid", "czas", "sample time"}
_POSITION_NAMES = {"position", "pos", "x", "y", "z", "displacement", "disp", "height", "distance", "bar position",
                   "bar height", "cable", "cable length", "extension", "encoder", "position bar", "posicion",
                   "posición", "weg", "höhe", "hoehe", "hauteur", "altura", "distancia", "posizione", "hoogte"}
# A column that numbers the samples (a logger's sample counter, a video's frame number) holds no times:
# the sampling rate the user gives (``--rate``) makes them times. Read as milliseconds, a 500 Hz
# sensor's counter halved every speed.
_COUNTER_NAMES = {"sample", "samples", "sample no", "sample number", "sample nr", "index", "idx", "n", "no", "nr",
                  "frame", "frames", "frame no", "frame number", "frame nr", "count", "counter", "tick", "ticks"}
_OTHER_NAMES = ("velocity", "speed", "vel", "v", "force", "power", "acceleration", "accel", "acc", "a", "f", "p",
                "load", "mass", "rep", "set", "geschwindigkeit", "velocidad", "vitesse", "kraft", "fuerza", "force")


def _other_quantity(name: str) -> bool:
    """A column of something other than time or position (velocity, force...)."""
    return name in _OTHER_NAMES or any(w in name for w in _OTHER_NAMES if len(w) > 3)


_TIME_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "seconds": 1.0, "second": 1.0, "ms": 1e-3, "msec": 1e-3,
               "millis": 1e-3, "milliseconds": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "microseconds": 1e-6}
_LENGTH_UNITS = {"m": "m", "metre": "m", "metres": "m", "meter": "m", "meters": "m", "cm": "cm", "mm": "mm",
                 "millimetres": "mm", "millimeters": "mm", "centimetres": "cm", "centimeters": "cm",
                 "in": "in", "inch": "in", "inches": "in"}
_NAME_UNIT = re.compile(r"^(?P<name>.*?)[\s_]*(?:[(\[{]\s*(?P<bracketed>[^)\]}]*?)\s*[)\]}]"
                        r"|[_\s](?P<suffix>[a-zµμ]+))?\s*$")


@dataclass(frozen=True)
class _Layout:
    """Where a CSV's time and position are, and what units its header gives them."""

    delimiter: str | None  # None: runs of spaces
    header_lines: int  # lines before the data (blank lines included)
    time_col: int
    position_col: int
    time_scale: float | None  # seconds per time unit, None when the header does not say
    position_units: str | None  # "m", "cm", "mm" or "in", None when the header does not say
    decimal_comma: bool
    names: tuple[str, str]  # as the header wrote them, or "column 1", "column 2"
    has_header: bool
    preamble: int = 0  # lines before the header left out, comments (#) not counted
    preamble_first: str = ""  # the first of them, as the note quotes it
    axes: tuple = ()  # (column, units, name) of each of x, y, z when the header has several of them
    counter: bool = False  # the time column numbers the samples (time_col -1: positions alone)


# Columns of coordinates (a video's bar-path track, a motion capture's marker): which one is vertical
# depends on the program (y in a calibrated video, z in most motion capture), so the one that moves
# most is taken (a bar's path drifts a few cm sideways over a rise of tens).
_AXES = ("x", "y", "z")


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a stray carriage return or quote: the cells as they stand
        return line.split(delimiter)


def _number_in(cell: str, decimal_comma: bool = False) -> float | None:
    cell = cell.strip().strip('"')
    if decimal_comma:
        cell = cell.replace(",", ".")
    try:
        return float(cell)
    except ValueError:
        return None


def _is_number(cell: str, decimal_comma: bool = False) -> bool:
    return _number_in(cell, decimal_comma) is not None


def _name_and_unit(cell: str) -> tuple[str, str | None]:
    """("position", "mm") from "Position (mm)", "position_mm", "position [mm]" or "position mm"."""
    text = cell.strip().strip('"').strip().lower()
    m = _NAME_UNIT.match(text)
    name, unit = text, None
    if m:
        unit = m.group("bracketed") or m.group("suffix")
        if unit is not None and (unit in _TIME_UNITS or unit in _LENGTH_UNITS):
            name = m.group("name")
        else:
            unit = None
    name = re.sub(r"[\s_.\-]+", " ", name).strip()
    return name, unit


def csv_layout(text: str, path: str = "<csv>") -> _Layout:
    """Find a CSV's delimiter, header and time and position columns (``RecordingError`` when there are
    none), from its first lines.

    A logger or a lab program often writes lines before the table: comments (``# device v2``), or
    what was recorded (``Athlete,John``, ``Load,100 kg``). When the first line does not start a table
    with data under it, the next PREAMBLE_MAX_LINES lines are tried as its header in turn; the lines
    before the one that does are left out (``_Layout.preamble`` counts those that are not comments).
    A row of units under the header (``s,mm``) gives the units the header's names do not."""
    lines = text[:65536].split("\n")
    cut_short = len(text) > 65536
    starts = list(itertools.islice(_content(lines, 0), PREAMBLE_MAX_LINES + 1))  # the header and what is over it
    if not starts:
        if any(line.strip() for line in lines):
            raise RecordingError(f"{path}: only comment lines (#) at its start, no table")
        raise RecordingError(f"{path}: the file is empty")
    first = None  # the first line's layout, or what is wrong with it
    for k, at in enumerate(starts):
        try:
            lay = _layout_at(lines, at, cut_short, path)
        except RecordingError as exc:
            lay = exc
        first = first or lay
        if isinstance(lay, _Layout) and _data_under(lines, lay):
            return replace(lay, preamble=k, preamble_first=lines[starts[0]].strip() if k else "")
        if any(_numbers_only(lines[i]) for i in starts[k:k + 2]):
            break  # a row of numbers, or the line over one, is no preamble: the table starts here or not at all
    if isinstance(first, _Layout):
        return first  # a table without data under it: the reader names the line that is wrong
    raise first


PREAMBLE_MAX_LINES = 30


def _numbers_only(line: str) -> bool:
    return bool(line.strip()) and not re.search(r"[^\d\s,;.+\-eE\"]", line)


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _content(lines: list[str], start: int):
    """The indices from ``start`` on of the lines that are neither blank nor comments (#)."""
    return (i for i in range(start, len(lines)) if lines[i].strip() and not _comment(lines[i]))


def _data_under(lines: list[str], lay: _Layout) -> bool:
    """Whether the first row under the header (and its units row) holds numbers (or a clock time) in
    the time and position columns."""
    under = next(_content(lines, lay.header_lines), None)
    if under is None:
        return False
    cells = _split(lines[under].strip("\r"), lay.delimiter)
    if len(cells) <= max(lay.time_col, lay.position_col):
        return False
    t, x = cells[lay.time_col], cells[lay.position_col]
    return (_is_number(t, lay.decimal_comma) or bool(_CLOCK.match(t))) and _is_number(x, lay.decimal_comma)


def _layout_at(lines: list[str], first_at: int, cut_short: bool, path: str) -> _Layout:
    """The layout of a table whose header (or first data row) is line ``first_at`` (0-based) of
    ``lines``, the first lines of the file (``cut_short``: the last of them may be cut)."""
    first = lines[first_at].strip("\r")
    delimiter = next((d for d in (",", ";", "\t") if d in first), None)
    cells = _split(first, delimiter)
    has_header = not all(_is_number(c, delimiter != ",") for c in cells)
    data_at = first_at + (1 if has_header else 0)
    axes = ()
    units_row = None
    if has_header:  # a row of units under the header ("s,mm", "(s);(m)"): the data start under it
        under = next(_content(lines, data_at), None)
        if under is not None:
            row = _split(lines[under].strip("\r"), delimiter)
            named = [_unit_cell(c) for c in row]
            if len(row) >= 2 and not any(_is_number(c, delimiter != ",") for c in row) and \
                    any(u in _TIME_UNITS for u in named) and any(u in _LENGTH_UNITS for u in named):
                units_row, data_at = named, under + 1
    data = [lines[i].strip("\r") for i in itertools.islice(_content(lines, data_at), 50)]
    if len(lines) > 1 and cut_short:
        data = data[:-1]  # may be cut short
    if delimiter is None and not has_header and len(cells) == 1 and data:
        delimiter = next((d for d in (",", ";", "\t") if d in data[0]), None)
    decimal_comma = delimiter != "," and any("," in row for row in data)
    rows = [_split(row, delimiter) for row in data]
    if len(cells) < 2:
        if not any(_is_number(row[0], decimal_comma) for row in rows if row):
            raise RecordingError(f"{path}: no table of numbers (the first line reads {_quoted(first.strip())})")
        name, unit = _name_and_unit(cells[0]) if has_header else ("", None)
        if name in _TIME_NAMES or _other_quantity(name):
            raise RecordingError(f"{path}: one column of numbers, {cells[0].strip()}: no positions")
        # positions alone: read at the rate the user gives (parse_csv_text asks for it when none is given)
        return _Layout(delimiter, data_at, -1, 0, 1.0, _LENGTH_UNITS.get(unit or ""), decimal_comma,
                       ("sample number", cells[0].strip() if has_header else "column 1"), has_header, counter=True)
    if has_header:
        parsed = [_name_and_unit(c) for c in cells]
        names = [n for n, _ in parsed]
        exact = {"t_s": ("t", "s"), "position_m": ("position", "m")}
        for i, c in enumerate(cells):  # our own names, whatever else the header holds
            if c.strip().strip('"').lower() in exact:
                parsed[i] = exact[c.strip().strip('"').lower()]
                names[i] = parsed[i][0]
        time_col = next((i for i, (n, u) in enumerate(parsed) if n in _TIME_NAMES or (u in _TIME_UNITS
                         and n in ("", "t", "time"))), None)
        if time_col is None:
            time_col = next((i for i, (n, u) in enumerate(parsed) if not _other_quantity(n) and (
                "time" in n.split() or n.startswith("time") or (u in _TIME_UNITS and u not in _LENGTH_UNITS))), None)
        if time_col is None:  # a sample counter, which the rate makes times (parse_csv_text)
            time_col = next((i for i, (n, _) in enumerate(parsed) if n in _COUNTER_NAMES), None)
        position_col = next((i for i, (n, u) in enumerate(parsed) if i != time_col and n in _POSITION_NAMES), None)
        if position_col is None:
            position_col = next((i for i, (n, u) in enumerate(parsed) if i != time_col and not _other_quantity(n) and (
                any(w in n for w in ("position", "displacement", "height", "distance", "posición", "posicion"))
                or (u in _LENGTH_UNITS and u != "s"))), None)
        if (time_col is None or position_col is None) and len(cells) == 2 and _increasing(rows, 0, decimal_comma) \
                and not any(_other_quantity(n) for n in names):
            time_col, position_col = 0, 1  # two columns, the first one rising: time and position
        if time_col is None or position_col is None:
            raise RecordingError(
                f"{path}: no time and position columns (a header such as t_s,position_m or time_ms,position_mm; "
                f"found: {','.join(c.strip() for c in cells)[:80]})")
        def unit(col, known):
            row_unit = units_row[col] if units_row is not None and col < len(units_row) else ""
            return parsed[col][1] or (row_unit if row_unit in known else None)

        tu = unit(time_col, _TIME_UNITS)
        time_scale = _TIME_UNITS.get(tu) if tu else None
        if time_scale is None and parsed[time_col][0] in ("ms", "millis", "milliseconds"):
            time_scale = 1e-3
        counter = time_scale is None and parsed[time_col][0] in _COUNTER_NAMES
        position_units = _LENGTH_UNITS.get(unit(position_col, _LENGTH_UNITS) or "")
        shown = (cells[time_col].strip(), cells[position_col].strip())
        if parsed[position_col][0] in _AXES:  # x, y (and z) of a video's or a motion capture's track
            axes = tuple((i, _LENGTH_UNITS.get(unit(i, _LENGTH_UNITS) or ""), cells[i].strip())
                         for i, (n, _) in enumerate(parsed) if i != time_col and n in _AXES)
    else:
        if not _increasing(rows, 0, decimal_comma):
            raise RecordingError(
                f"{path}: no header and the first column does not rise as time does (add a header such as "
                f"t_s,position_m)")
        time_col, position_col, time_scale, position_units = 0, 1, None, None
        shown = ("column 1", "column 2")
        counter = False
    return _Layout(delimiter, data_at, time_col, position_col, time_scale, position_units, decimal_comma, shown,
                   has_header, axes=axes if len(axes) > 1 else (), counter=counter)


def _unit_cell(cell: str) -> str:
    """"mm" from a units row's "mm", "(mm)" or "[mm]"."""
    return cell.strip().strip('"').strip().strip("()[]{}").strip().lower()


def _increasing(rows, col, decimal_comma) -> bool:
    values = [_number_in(row[col], decimal_comma) if len(row) > col else None for row in rows[:50]]
    if len(values) < 2 or any(v is None for v in values):
        return False
    return all(b > a for a, b in zip(values, values[1:]))


def parse_csv_text(text: str, path: str = "<csv>", raw: bytes | None = None, units: str | None = None,
                   rate_hz: float | None = None) -> Recording:
    """A CSV of time and position (``raw``: the same text as bytes, when the caller has them).

    The header names the columns (``t_s,position_m`` as we write it; ``time_ms``, ``Position (mm)``,
    ``time;position`` and the like as other software and spreadsheets do); without one, the first two
    columns are time and position. Units come from ``units`` (a user's ``--units``), else the header,
    else the values: times spaced 0.25 or more apart are milliseconds, positions are metres, centimetres
    or millimetres by their range. ``Recording.notes`` says what was inferred.

    A column that numbers the samples (``sample``, ``frame``), or positions alone, take their times
    from ``rate_hz`` (the user's ``--rate``); without it the reader asks for it."""
    lay = csv_layout(text, path)
    text, raw, cut_note = _without_cut_last_line(text, raw, lay)
    if lay.counter and rate_hz is None:
        if lay.time_col < 0:
            raise RecordingError(f"{path}: one column of numbers: positions without times (give the sampling rate, "
                                 f"as in --rate 100, or add a time column and a header such as t_s,position_m)")
        raise RecordingError(f"{path}: the {lay.names[0]} column numbers the samples and the file gives no times: "
                             f"give the sampling rate, as in --rate 100")
    if lay.axes:
        rec = _vertical_axis(text, path, raw, units, lay, rate_hz)
    else:
        rec = _parse_csv_body(text, path, raw, units, lay, rate_hz)
    if rate_hz is not None and not lay.counter:
        rec = _with_note(rec, "--rate left unused: the file gives its own times")
    if lay.preamble:
        one = lay.preamble == 1
        rec = replace(rec, notes=(f"{lay.preamble} {'line' if one else 'lines'} before the header left out "
                                  f"({'it reads' if one else 'the first reads'} {_quoted(lay.preamble_first)})",)
                      + rec.notes)
    return _with_note(rec, cut_note)


def _vertical_axis(text: str, path: str, raw: bytes | None, units: str | None, lay: _Layout,
                   rate_hz: float | None) -> Recording:
    """The recording of the axis column (``lay.axes``) that moves most (its 1st to 99th percentile), with
    a note that says which and how far each moved."""
    recs, spans = [], []
    for col, col_units, name in lay.axes:
        rec = _parse_csv_body(text, path, raw, units, replace(lay, position_col=col, position_units=col_units,
                                                                 names=(lay.names[0], name), axes=()), rate_hz)
        lo, hi = np.percentile(rec.position_m, [1.0, 99.0])
        recs.append(rec)
        spans.append(float(hi - lo))
    k = int(np.argmax(spans))
    moved = ", ".join(f"{name} {100.0 * span:.0f} cm" for (_, _, name), span in zip(lay.axes, spans))
    return replace(recs[k], notes=(f"position from column {lay.axes[k][2]}, the axis that moves most "
                                   f"({moved})",) + recs[k].notes)


def _quoted(line: str) -> str:
    return repr(line if len(line) <= 40 else line[:39] + "…")


def _without_cut_last_line(text: str, raw: bytes | None, lay: _Layout) -> tuple[str, bytes | None, str | None]:
    """A file whose writer stopped mid-line (a logger killed, a file copied while it was being written)
    ends without a newline, in a line that is not two numbers: that line is left out, and a note says
    so, instead of the whole recording being refused. Any other bad line is still named as an error."""
    if text.endswith("\n"):
        return text, raw, None
    cut = text.rfind("\n")
    if cut < 0:
        return text, raw, None
    row = _split(text[cut + 1:].strip("\r"), lay.delimiter)
    if not any(c.strip() for c in row):
        return text, raw, None
    need = max(lay.time_col, lay.position_col)
    if len(row) > need and _is_number(row[lay.position_col], lay.decimal_comma) and \
            (_is_number(row[lay.time_col], lay.decimal_comma) or _CLOCK.match(row[lay.time_col])):
        return text, raw, None
    line_no = text.count("\n") + 1
    if raw is not None:
        raw = raw[:raw.rfind(b"\n") + 1]
    return text[:cut + 1], raw, f"the last line ({line_no}) was cut short and is left out"


def _parse_csv_body(text: str, path: str, raw: bytes | None, units: str | None, lay: _Layout,
                    rate_hz: float | None = None) -> Recording:
    counted = lay
    if lay.time_col < 0:  # positions alone: read their column twice, the times come from the rate below
        lay = replace(lay, time_col=lay.position_col)
    fast = None
    if lay.delimiter is not None and not lay.decimal_comma:
        from vbt.textscan import csv_columns  # compiled; loads numba

        data = raw if raw is not None else text.encode("utf-8")
        cut = -1
        for _ in range(lay.header_lines):  # the header, and what is above or under it
            cut = data.find(b"\n", cut + 1)
            if cut < 0:
                raise RecordingError(f"{path}: fewer than two samples, nothing to analyse")
        if cut >= 0:
            data = memoryview(data)[cut + 1:]
        fast = _all_finite(csv_columns(data, lay.delimiter, lay.time_col, lay.position_col))
    left_out, trailer = [], None
    if fast is None:
        body = text.split("\n", lay.header_lines)[-1] if lay.header_lines else text
        if lay.decimal_comma:
            body = body.replace(",", ".")
        fast = _all_finite(_csv_columns_fast(body, lay.delimiter, lay.time_col, lay.position_col))
        if fast is None:
            clock = _csv_clock_times(body, lay, path)
            if clock is not None:
                t, spaced = _check_series(clock[0], path)
                rec = _spacing_note(_with_units(t, clock[1], replace(lay, time_scale=1.0), units), t, spaced)
                rec = _with_note(replace(rec, notes=(clock[2],) + rec.notes), _missing_note(clock[3]))
                return _with_note(rec, clock[4])
            *fast, left_out, trailer = _csv_careful(body, lay, path)
    rate_note = None
    if counted.counter:  # sample numbers (or the samples' order) over the rate are the times
        numbers = np.arange(fast[1].size, dtype=np.float64) if counted.time_col < 0 else fast[0]
        fast = (numbers / rate_hz, fast[1])
        lay = replace(lay, time_scale=1.0)
        what = "the samples' order" if counted.time_col < 0 else f"the {lay.names[0]} column"
        rate_note = f"times from {what} at {rate_hz:g} Hz (--rate)"
    t, spaced = _check_series(fast[0], path)
    rec = _with_note(_spacing_note(_with_units(t, fast[1], lay, units), t, spaced), _missing_note(left_out))
    return _with_note(_with_note(rec, trailer), rate_note)


def _all_finite(columns):
    """``columns`` (t, x) when every value is a finite number, else None (the careful reader then
    leaves out the rows with a missing value and names a row with an infinite one)."""
    if columns is None or not (np.isfinite(columns[0]).all() and np.isfinite(columns[1]).all()):
        return None
    return columns


def _with_note(rec: Recording, note: str | None) -> Recording:
    return replace(rec, notes=rec.notes + (note,)) if note else rec


# A logger's clock in the time column: "2026-12-01T10:00:00.125", "2026-12-01 10:00:00,125" or
# "10:00:00.125" (the offset of a time zone, if any, is the same on every row and dropped).
# h:mm:ss[.fff] (a time of day, or a video program's time code), or m:ss.fff (a stopwatch's or a video's
# minutes and seconds: the fraction tells it from a time of day in hours and minutes)
_CLOCK = re.compile(r"^\s*\"?(?:(?P<date>\d{4}-\d{2}-\d{2})[T ])?"
                    r"(?:(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2}(?:[.,]\d+)?)|(?P<mm>\d{1,3}):(?P<ss>\d{2}[.,]\d+))"
                    r"(?:Z|[+-]\d{2}:?\d{2})?\"?\s*$")


def _clock_seconds(cell: str, day0: int | None) -> tuple[float, int] | None:
    """(seconds since midnight of day ``day0`` (None: of the cell's own day), the cell's day) of a
    clock time, or None when the cell is not one."""
    from datetime import date

    m = _CLOCK.match(cell)
    if m is None:
        return None
    try:
        day = date.fromisoformat(m.group("date")).toordinal() if m.group("date") else 0
    except ValueError:  # 2026-13-45
        return None
    if m.group("h") is None:
        secs = int(m.group("mm")) * 60 + float(m.group("ss").replace(",", "."))
    else:
        secs = int(m.group("h")) * 3600 + int(m.group("m")) * 60 + float(m.group("s").replace(",", "."))
    return (day - (day if day0 is None else day0)) * 86400.0 + secs, day


def _data_rows(body: str, lay: _Layout):
    """(line number in the file, cells) of each data row that is neither blank nor a comment (#)."""
    for row_no, line in enumerate(body.split("\n"), start=lay.header_lines + 1):
        if _comment(line):
            continue
        row = _split(line.strip("\r"), lay.delimiter)
        if row and any(c.strip() for c in row):
            yield row_no, row


TRAILER_MAX_LINES = 20


def _trailer(rows, row_no: int, row: list[str], it: int) -> str | None:
    """A program may write a few lines after its table ("end of recording", a summary such as
    "mean,0.61"). When the row at line ``row_no`` holds no time (no number or clock time in column
    ``it``), and neither does any of the rest of ``rows`` (the iterator it came from), and they are at
    most TRAILER_MAX_LINES lines, they are such a trailer: the note that says they are left out, else
    None (the row is an error: a data row gone wrong keeps its time)."""
    def timeless(r):
        return len(r) <= it or not (_is_number(r[it]) or _CLOCK.match(r[it]) or _missing(r[it]))

    if not timeless(row):
        return None
    rest = list(itertools.islice(rows, TRAILER_MAX_LINES))
    if len(rest) >= TRAILER_MAX_LINES or not all(timeless(r) for _, r in rest):
        return None
    if not rest:
        return f"the last line ({row_no}) holds no data and is left out"
    return f"the last {len(rest) + 1} lines ({row_no}-{rest[-1][0]}) hold no data and are left out"


def _csv_clock_times(body: str, lay: _Layout, path: str):
    """(t in s from the first row, x, note, lines left out for a missing value, the trailer's note or
    None) of a CSV whose time column holds clock times, or None when its first row's time is no clock
    time (a row that breaks the pattern is named, as elsewhere). Time-of-day alone that goes back (past
    midnight) moves on a day."""
    it, ix = lay.time_col, lay.position_col
    t, x, left_out = [], [], []
    day0 = None
    wrap = 0.0
    rows = _data_rows(body, lay)
    trailer = None
    for row_no, row in rows:
        got = _clock_seconds(row[it], day0) if len(row) > it else None
        if got is None and not t:
            return None
        if len(row) > max(it, ix) and ((_missing(row[it]) and (_missing(row[ix]) or _is_number(row[ix])))
                                       or (got is not None and _missing(row[ix]))):
            left_out.append(row_no)  # a sample the logger lost: no time or no position
            continue
        try:
            xi = float(row[ix])
            if not math.isfinite(xi):
                raise ValueError
        except (ValueError, IndexError):
            got = None
        if got is None:
            trailer = _trailer(rows, row_no, row, it)
            if trailer is not None:
                break
            raise RecordingError(
                f"{path}: line {row_no} is not a clock time and a number in columns {lay.names[0]} and "
                f"{lay.names[1]}")
        secs, day = got
        if day0 is None:
            day0 = day
        if day == 0 and t and secs + wrap < t[-1] - 43200.0:
            wrap += 86400.0  # a time of day past midnight
        t.append(secs + wrap)
        x.append(xi)
    t_arr = np.asarray(t, dtype=np.float64)
    return t_arr - t_arr[0], np.asarray(x, dtype=np.float64), \
        f"times read from the clock times in {lay.names[0]} (seconds from the first row)", left_out, trailer


# What a logger, a spreadsheet or a data frame writes for a value it does not have (a lost sample).
_MISSING = frozenset({"", "nan", "na", "n/a", "#n/a", "null", "none"})


def _missing(cell: str) -> bool:
    return cell.strip().strip('"').strip().lower() in _MISSING


def _missing_note(lines: list[int]) -> str | None:
    """What the reader says of the rows it left out for a missing value (their line numbers)."""
    if not lines:
        return None
    shown = ", ".join(str(n) for n in lines[:3]) + (", …" if len(lines) > 3 else "")
    one = len(lines) == 1
    return (f"{len(lines)} {'row' if one else 'rows'} without a value (empty, NaN or NA) left out: "
            f"{'line' if one else 'lines'} {shown}")


def _csv_careful(body: str, lay: _Layout, path: str):
    """Row by row, to name the line that is wrong. A row whose time or position is missing (empty,
    NaN, NA: a sample a logger lost) is left out; its line number is kept for the note; so is a
    trailer (:func:`_trailer`). (t, x, lines left out, the trailer's note or None)"""
    it, ix = lay.time_col, lay.position_col
    t, x, left_out = [], [], []
    rows = _data_rows(body, lay)
    trailer = None
    for row_no, row in rows:
        cells = (row[it], row[ix]) if len(row) > max(it, ix) else None
        if cells is not None and any(_missing(c) for c in cells) and \
                all(_missing(c) or _is_number(c) for c in cells):
            left_out.append(row_no)
            continue
        try:
            if cells is None:
                raise ValueError
            ti, xi = float(cells[0]), float(cells[1])
        except ValueError:
            trailer = _trailer(rows, row_no, row, it) if t else None
            if trailer is not None:
                break
            raise RecordingError(
                f"{path}: line {row_no} is not two numbers in columns {lay.names[0]} and {lay.names[1]}") from None
        if not (math.isfinite(ti) and math.isfinite(xi)):
            raise RecordingError(f"{path}: line {row_no} holds an infinite value in columns {lay.names[0]} and "
                                 f"{lay.names[1]}")
        t.append(ti)
        x.append(xi)
    return np.asarray(t, dtype=np.float64), np.asarray(x, dtype=np.float64), left_out, trailer


def _with_units(t: np.ndarray, x: np.ndarray, lay: _Layout, units: str | None) -> Recording:
    notes = []
    scale = lay.time_scale
    if scale is None:
        step = float(np.median(np.diff(t)))
        scale = 1.0 if step < 0.25 else 1e-3 if step < 250 else 1e-6
        if scale != 1.0:
            notes.append(f"times read as {'ms' if scale == 1e-3 else 'µs'} (samples a median {step:g} apart)")
    if scale != 1.0:
        t = t * scale
    if units is None:
        units = lay.position_units
    if units is None:
        units = _units_from_values(t, x)
        if units != "m":
            notes.append(f"positions read as {units} (from their range; --units sets them)")
    if units != "m":
        x = x * UNITS[units]
    t, x, held = collapse_held(t, x)
    if held > 1:
        every = (f"on only one sample in every {held:.3g}" if held >= 2 else
                 f"once every {held:.3g} samples, on the sensor's own clock")
        notes.append(f"positions change {every} (a sensor read more slowly than the "
                     f"file was written): read at the sensor's own rate, {1.0 / float(np.median(np.diff(t))):.0f} Hz")
    x, sizes = remove_glitches(t, x)
    if sizes.size:
        lo, hi = 1e3 * float(sizes.min()), 1e3 * float(sizes.max())
        span = f"{lo:.0f} mm" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f} mm"
        notes.append(f"{sizes.size} sample{'s' if sizes.size > 1 else ''} {span} off the line between the "
                     f"readings either side (a glitch: no bar moves so) put back on it")
    return Recording(t, x, "csv", tuple(notes))


# ---- a sensor read more slowly than the file is written ------------------------------------------
# A logger that writes a sensor's last reading at 1 kHz while the sensor updates at 100 Hz repeats
# each reading ten times: the bar seems to jump at every tenth sample and stand still between, and
# the fits place its ends as on a staircase, not as on a 100 Hz sensor (readings held 10 ms, 630
# family sets: MV p95 0.037-0.046 m/s as they are, 0.017-0.028 read at the sensor's rate; the stop
# rep right on 84.4 % of the clear sets against 90.7 %: bench_families.py --held 10
# [--unrepaired]). Every change of reading then falls on the same sample of each
# period: kept, those samples are the sensor's own stream. A recording whose readings change on
# consecutive samples as often as a moving bar makes them (any sensor with noise or fine steps) never
# shows that pattern; HELD_MIN_CHANGES changes, HELD_SHARE of them on one phase, are asked for.
# A sensor on its own clock (a 97 Hz sensor logged at 1 kHz) changes on every phase in turn: it is
# read by :func:`_collapse_drifting` (bench_families.py --held-drift 10.3: MV p95 0.046 -> 0.017 on
# the 'fine' sensors, 0.046 -> 0.028 at 1 mm). One that updates less than twice per sample (the same
# sensor logged at 105-190 Hz), or whose logger's times jitter, is read by :func:`_collapse_on_clock`.
HELD_MAX_PERIOD = 50
HELD_MIN_CHANGES = 200
HELD_SHARE = 0.99
HELD_RUN = 8  # a drifting sensor's runs of one-update gaps are checked this many at a time
HELD_STRETCH_BREAK = 3  # ... and its update times fitted on stretches without a longer pause
HELD_FAST_STEPS = 4.0  # a reading held between two fast moves: both changes this many smallest changes,
HELD_FAST_M = 0.002  # ... and this far (m), the same way
HELD_FAST_MIN = 20  # ... at least this many such pairs held
HELD_FAST_SHARE = 0.02  # ... and this share of the pairs of fast changes in a row
HELD_CLOCK_SPAN = 0.04  # the sensor's period is sought within this share of the changes' mean gap
HELD_CLOCK_WINDOW_S = 3.0  # ... first over the changes of this long a stretch
HELD_CLOCK_MAX_TIMES = 5000  # ... then over at most this many changes of the whole recording
HELD_CLOCK_TOL = 0.1  # an update may lie this share of a period outside its change's two samples
HELD_CLOCK_OUTSIDE = 0.005  # the phase may leave this share of the changes' updates outside them
HELD_JITTER = 0.02  # a logger whose sample intervals scatter by more than this share of their median jitters
HELD_CLOCK_MISS = 0.05  # held samples (a noisy reading repeats by chance) the clock may put an update at


def collapse_held(t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(t, x, k): when the readings change only on every k-th sample (above), one sample per
    period, the one where each new reading appears; the same when the period is not a whole number
    of samples (:func:`_collapse_drifting`), or under two samples, or the logger's times jitter
    (:func:`_collapse_on_clock`); else the recording as it is and k = 1."""
    changed = x[1:] != x[:-1]
    n_changes = int(np.count_nonzero(changed))
    if n_changes < HELD_MIN_CHANGES:
        return t, x, 1
    # two changes on consecutive samples lie on different phases of any period: a moving bar on a
    # noisy or fine sensor makes them all the time, and then no period can hold 99 % (one pass); so
    # does a sensor updating less than twice per sample (:func:`_collapse_on_clock`)
    if np.count_nonzero(changed[1:] & changed[:-1]) > (1.0 - HELD_SHARE) * n_changes:
        return _collapse_on_clock(t, x)
    changes = np.flatnonzero(changed) + 1
    gaps = np.diff(changes)
    common = int(np.argmax(np.bincount(np.minimum(gaps, HELD_MAX_PERIOD + 1))))  # the period or a multiple
    for k in range(min(common, HELD_MAX_PERIOD), 1, -1):
        if common % k or np.count_nonzero(gaps % k) > (1.0 - HELD_SHARE) * gaps.size:
            continue
        counts = np.bincount(changes % k, minlength=k)
        phase = int(np.argmax(counts))
        if counts[phase] >= HELD_SHARE * changes.size:
            keep = np.arange(phase, x.size, k)
            return t[keep], x[keep], k
    # A drifting sensor: on the lines fitted to its changes, which count in samples, where the logger's
    # samples come evenly; where they jitter (samples unequal in time), on its own clock in time first.
    dt = np.diff(t)
    jitters = float(np.std(dt)) > HELD_JITTER * float(np.median(dt))
    if jitters:
        clocked = _collapse_on_clock(t, x)
        if clocked[2] != 1:
            return clocked
    drifting = _collapse_drifting(t, x, changes, gaps)
    if drifting[2] != 1 or jitters:  # (the clock, already sought, was not found)
        return drifting
    return _collapse_on_clock(t, x)


def _collapse_on_clock(t: np.ndarray, x: np.ndarray):
    """A sensor on its own clock, drifting against the logger's samples: whether it updates less than
    twice per sample (a 97 Hz sensor logged at 105-190 Hz changes reading on most samples, so neither a
    phase nor the gaps between changes show it) or more slowly (then the logger's jittering timestamps
    can leave its gaps on no steady clock in samples, which :func:`_collapse_drifting` asks for), while
    the bar moves fast its reading stays for a sample or more between two changes of the same sign, each
    at least HELD_FAST_STEPS of the smallest change and HELD_FAST_M: the bar cannot stop between two such
    moves, and no noise repeats a reading so far. With HELD_FAST_MIN such pairs, HELD_FAST_SHARE of the
    pairs of fast changes in a row, the sensor's own clock is sought (:func:`_update_clock`), starting
    from the pairs' mean spacing; where it is found and puts no update inside those held readings, the
    recording is read as the sensor's stream: one sample per update at the update's time, with the
    reading it took. (t, x, period in samples), or the recording as it is and 1."""
    d = np.diff(x)
    moved = np.abs(d[d != 0.0])
    if moved.size < HELD_MIN_CHANGES:
        return t, x, 1
    fast = max(HELD_FAST_STEPS * float(moved.min()), HELD_FAST_M)
    changes = np.flatnonzero(d != 0.0) + 1
    step = d[changes - 1]
    pair = (np.abs(step[:-1]) >= fast) & (np.abs(step[1:]) >= fast) & (np.sign(step[:-1]) == np.sign(step[1:]))
    gaps = np.diff(changes)
    held_pair = pair & (gaps >= 2)
    n_held = int(np.count_nonzero(held_pair))
    if n_held < HELD_FAST_MIN or n_held < HELD_FAST_SHARE * int(np.count_nonzero(pair)):
        return t, x, 1
    mids = 0.5 * (t[changes - 1] + t[changes])
    # (in fast motion each update changes the reading: fast changes in a row are one update apart)
    clock = _update_clock(t, changes, mids, float(np.mean(np.diff(mids)[pair])))
    if clock is None:
        return t, x, 1
    phase, period = clock
    # no update inside a held reading (between a held sample and the one before it); a few readings of a
    # noisy sensor repeat by chance
    j = np.flatnonzero(held_pair)
    h = np.concatenate([np.arange(changes[i] + 1, changes[i + 1]) for i in j])
    k = np.floor((t[h] - phase) / period)
    if np.count_nonzero(phase + k * period > t[h - 1] + HELD_CLOCK_TOL * period) > HELD_CLOCK_MISS * h.size:
        return t, x, 1
    # Each update's reading: that of the change it made (each change's update is placed by its two
    # samples, which a clock a few microseconds off does not move), else the last one before (the
    # reading stayed); an update that no sample follows before the next one is not seen, and left out.
    first = int(np.ceil((t[0] - phase) / period))
    at = phase + np.arange(first, int(np.floor((t[-1] - phase) / period)) + 1) * period
    n = _nearest_updates(t[changes - 1], t[changes], phase, period)[0].astype(np.int64) - first
    inside = (n >= 0) & (n < at.size)
    made = np.full(at.size, -1, dtype=np.int64)
    made[n[inside]] = changes[inside]
    # (an update without a change is kept where a sample clearly follows it before the next update;
    # one a sample barely follows may really come just after it, unseen, and hold the next reading)
    i = np.searchsorted(t, at + HELD_CLOCK_TOL * period, side="left")
    seen = (made >= 0) | np.concatenate((i[:-1] < np.searchsorted(t, at[1:], side="left"), [i[-1] < t.size]))
    last = np.maximum.accumulate(np.where(made >= 0, np.arange(at.size), -1))
    reading = np.where(last >= 0, x[np.maximum(made[np.maximum(last, 0)], 0)], x[0])
    return at[seen], reading[seen], period / float(np.median(np.diff(t)))


def _update_clock(t: np.ndarray, changes: np.ndarray, mid: np.ndarray, period0: float):
    """(phase, period) in seconds of a sensor's updates phase + i * period, from the samples where its
    reading changes (each shows the last update since the sample before it), or None.

    The period: the one about whose multiples the midpoints of those sample pairs gather most tightly
    (each lies within half a sample of its update), within HELD_CLOCK_SPAN of ``period0``, first over
    the HELD_CLOCK_WINDOW_S holding the most changes, then over all of them near it (at most
    HELD_CLOCK_MAX_TIMES), each on a grid that drifts a twentieth of a period over the span searched.
    Then each change takes its update (the last one between its two samples, or the nearest), and a
    line through them gives period and phase; the midpoints lean early where a jittery logger's longer
    interval holds two updates (its change shows the later one), so the phase is last set where the
    updates fall between their two samples for all but HELD_CLOCK_OUTSIDE of the changes. None when
    more than 1 - HELD_SHARE of the changes then find no update within HELD_CLOCK_TOL of a period of
    their two samples, or share one. ``mid``: the midpoints of each change's two samples."""
    tm = mid - mid[0]
    span = float(tm[-1])
    if not span > 0.0:
        return None
    w = min(span, HELD_CLOCK_WINDOW_S)
    j0 = int(np.argmax(np.searchsorted(tm, tm + w) - np.arange(tm.size)))
    sub = tm[j0:np.searchsorted(tm, tm[j0] + w)] - tm[j0]
    period = _gather(sub, period0 * (1.0 - HELD_CLOCK_SPAN), period0 * (1.0 + HELD_CLOCK_SPAN),
                     0.05 * period0 * period0 / max(w, period0))
    reach = 2.0 * period * period / max(w, period)
    period = _gather(tm[::max(1, tm.size // HELD_CLOCK_MAX_TIMES)], period - reach, period + reach,
                     0.05 * period * period / span)
    phase = mid[0] + period * float(np.angle(np.mean(np.exp(2j * np.pi * tm / period)))) / (2.0 * np.pi)
    a, b = t[changes - 1], t[changes]
    for _ in range(4):
        n, _off = _nearest_updates(a, b, phase, period)
        period, phase = np.polyfit(n, mid, 1)
    n, off = _nearest_updates(a, b, phase, period)
    lo = float(np.quantile(a - n * period, 1.0 - HELD_CLOCK_OUTSIDE))
    hi = float(np.quantile(b - n * period, HELD_CLOCK_OUTSIDE))
    if lo < hi:
        phase = 0.5 * (lo + hi)
        n, off = _nearest_updates(a, b, phase, period)
    bad = (off > HELD_CLOCK_TOL * period) | np.concatenate(([False], np.diff(n) < 1))
    if np.count_nonzero(bad) > (1.0 - HELD_SHARE) * changes.size:
        return None
    return float(phase), float(period)


def _gather(tm: np.ndarray, lo: float, hi: float, step: float) -> float:
    """The period in [lo, hi] (every ``step``) about whose multiples the times ``tm`` gather most
    tightly: the largest mean resultant length of their phases."""
    grid = lo + step * np.arange(int((hi - lo) / step) + 1)
    best_r, best_p = -1.0, lo
    for chunk in np.array_split(grid, grid.size * tm.size // 2_000_000 + 1):
        r = np.abs(np.exp(2j * np.pi * tm[None, :] / chunk[:, None]).mean(axis=1))
        j = int(np.argmax(r))
        if r[j] > best_r:
            best_r, best_p = float(r[j]), float(chunk[j])
    return best_p


def _nearest_updates(a: np.ndarray, b: np.ndarray, phase: float, period: float):
    """Each change's update number: the last update in (a, b] (its sample and the one before), else
    the nearer one either side; and how far outside (a, b] it lies (0 inside)."""
    k = np.floor((b - phase) / period)
    before = a - (phase + k * period)  # > 0: the last update at or before b comes before a
    after = phase + (k + 1) * period - b
    k = np.where((before > 0.0) & (after < before), k + 1, k)
    return k, np.where(before > 0.0, np.minimum(before, after), 0.0)


def _collapse_drifting(t: np.ndarray, x: np.ndarray, changes: np.ndarray, gaps: np.ndarray):
    """A sensor whose updates drift against the logger's clock (a sensor at 97 Hz logged at 1 kHz
    updates every 10.3 samples): its changes of reading fall on no fixed phase, but every gap between
    two of them is one update (k or k+1 samples, k >= 2) or several (2k or more); none falls between.
    Then the samples where each reading appears are the sensor's, and where the reading stayed (a
    still bar), the gap is filled with samples as many updates apart as fit in it. (t, x, period in
    samples), or the recording as it is and 1."""
    if gaps.size < HELD_MIN_CHANGES:
        return t, x, 1
    hist = np.bincount(np.minimum(gaps, HELD_MAX_PERIOD + 2))
    k = int(np.argmax(hist[:HELD_MAX_PERIOD + 1]))
    if k >= 2 and hist[k - 1] > hist[k + 1]:
        k -= 1  # the period lies between k and k + 1
    one = (gaps == k) | (gaps == k + 1)
    if k < 2 or np.count_nonzero(one) < 0.5 * gaps.size or \
            np.count_nonzero(~one & (gaps < 2 * k)) > (1.0 - HELD_SHARE) * gaps.size:
        return t, x, 1
    period = float(np.mean(gaps[one]))
    # ... and on a steady clock: any HELD_RUN one-update gaps in a row span HELD_RUN periods within a
    # sample (a bar that speeds up or slows down, on a noiseless 1 mm encoder, changes count every 2
    # or 3 samples too, but its runs drift away from any one period)
    run = np.convolve(one.astype(np.int64), np.ones(HELD_RUN, dtype=np.int64), "valid") == HELD_RUN
    span = np.convolve(gaps, np.ones(HELD_RUN), "valid")[run]
    if span.size < HELD_MIN_CHANGES // 4 or \
            np.count_nonzero(np.abs(span - HELD_RUN * period) > 1.0) > (1.0 - HELD_SHARE) * span.size:
        return t, x, 1
    # Each update's time: a change shows at the first sample after the update, up to a sample late,
    # which a ~100 Hz stream's velocity feels. On a steady clock the updates of a stretch of motion lie
    # on a line: fitted per stretch (a pause of more than HELD_STRETCH_BREAK updates starts a new one),
    # half a sample before the changes on average. Each gap then holds as many updates as fit in it,
    # evenly spread (the reading stays; a still bar), and as many as fit before the first change and
    # after the last.
    updates = np.maximum(1, np.round(gaps / period)).astype(np.int64)
    at = changes - 0.5
    brk = np.flatnonzero(updates > HELD_STRETCH_BREAK) + 1
    for lo, hi in zip(np.concatenate(([0], brk)), np.concatenate((brk, [changes.size]))):
        if hi - lo >= 4:
            m = np.concatenate(([0], np.cumsum(updates[lo:hi - 1]))).astype(np.float64)
            slope, offset = np.polyfit(m, at[lo:hi], 1)
            at[lo:hi] = offset + slope * m
    within = np.arange(int(updates.sum())) - np.repeat(np.cumsum(updates) - updates, updates)
    inner = np.repeat(at[:-1], updates) + within * np.repeat(np.diff(at) / updates, updates)
    head = at[0] - np.arange(int(at[0] / period), 0, -1) * period
    tail = at[-1] + np.arange(0, int((x.size - 1 - at[-1]) / period) + 1) * period
    head = head[head >= 0.0]
    reading = np.concatenate((np.full(head.size, x[changes[0] - 1]), np.repeat(x[changes[:-1]], updates),
                              np.full(tail.size, x[changes[-1]])))
    at = np.concatenate((head, inner, tail))
    return np.interp(at, np.arange(x.size, dtype=np.float64), t), reading, period


# ---- glitches -----------------------------------------------------------------------------------
# A single reading far off the line between its neighbours is a glitch of the sensor or the file (a
# bad conversion, a corrupted cell), not the bar: to leave that line by more than GLITCH_MIN_M and
# come back within two sample intervals takes more than GLITCH_ACC_M_S2. Left in, six 5-30 mm
# glitches per set took MV p95 from 0.014-0.022 to 0.040-0.050 m/s and the stop rep, right on 92.8 %
# of the clear sets, to 76.7 % (630 family sets: benchmarks/bench_families.py --glitches 6
# --unrepaired); put back, MV p95 0.0182 / 0.0233 / 0.0139 against the clean sets' 0.0177 / 0.0222 /
# 0.0139 and the stop rep right on 93.2 %.
# - The floor keeps clear of a real encoder's own jitter: a count's flicker (1 mm on Chronojump's,
#   about 3 mm on OpenBarbell's: GLITCH_STEPS of the recording's smallest change) and its noise
#   (GLITCH_NOISE_SD robust sd of the samples about their neighbours' line).
# - A lone reading, or two side by side: each reading either side must lie on the line that skips
#   the glitch (a step is left as it is: it may be the bar). A glitch two samples from another is
#   skipped by its neighbour's check too (the neighbour is judged on the line to the reading beyond).
GLITCH_MIN_M = 0.003
GLITCH_STEPS = 3.0
GLITCH_NOISE_SD = 8.0
GLITCH_ACC_M_S2 = 100.0  # 10 g: a bar turning at a chest or the floor stays well below it


def _off_line(t, x, a, j, b, floor):
    """How far x[j] lies off the line from x[a] to x[b], and the most that the floor or
    GLITCH_ACC_M_S2 explains there (index arrays of equal length)."""
    w = (t[j] - t[a]) / (t[b] - t[a])
    off = np.abs(x[j] - (x[a] + (x[b] - x[a]) * w))
    return off, np.maximum(floor, 0.5 * GLITCH_ACC_M_S2 * (t[j] - t[a]) * (t[b] - t[j]))


def remove_glitches(t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` with each glitch (above: a lone reading, or two side by side) put back on the straight
    line between the readings either side of it (to the nearest of the recording's steps), and the
    glitched readings' sizes (their distance from that line, m). The first and last two samples are
    kept as they are."""
    if x.size < 6:
        return x, np.empty(0)
    # (slices, not index arrays: a 10-minute 1 kHz file takes a few ms)
    off = np.abs(x[1:-3] + (x[3:-1] - x[1:-3]) * ((t[2:-2] - t[1:-3]) / (t[3:-1] - t[1:-3])) - x[2:-2])
    # a pair c, c+1 against the line from c-1 to c+2: the first reading of it (the second is as far)
    off2 = np.abs(x[1:-4] + (x[4:-1] - x[1:-4]) * ((t[2:-3] - t[1:-4]) / (t[4:-1] - t[1:-4])) - x[2:-3])
    if not (np.any(off > GLITCH_MIN_M) or np.any(off2 > GLITCH_MIN_M)):  # the common case: no glitch
        return x, np.empty(0)
    moved = np.abs(np.diff(x))
    moved = moved[moved > 0.0]
    step = float(moved.min()) if moved.size else 0.0
    floor = max(GLITCH_MIN_M, GLITCH_STEPS * step, GLITCH_NOISE_SD * 1.4826 * float(np.median(off)))
    # lone readings; a neighbour's own check skips a glitch beyond it (two glitches a sample apart)
    c = np.arange(2, x.size - 2)[off > floor]  # candidates: few
    cand = np.zeros(x.size, dtype=bool)
    cand[c] = True
    off, limit = _off_line(t, x, c - 1, c, c + 1, floor)
    out_and_back = (x[c] > np.maximum(x[c - 1], x[c + 1])) | (x[c] < np.minimum(x[c - 1], x[c + 1]))
    a = np.where(cand[c - 2] & (c >= 3), c - 3, c - 2)
    b = np.where(cand[np.minimum(c + 2, x.size - 1)] & (c + 3 < x.size), c + 3, c + 2)
    off_l, lim_l = _off_line(t, x, a, c - 1, c + 1, floor)
    off_r, lim_r = _off_line(t, x, c - 1, c + 1, b, floor)
    hit = out_and_back & (off > limit) & (off_l <= lim_l) & (off_r <= lim_r)
    # pairs: both readings off the line from c-1 to c+2 on the same side, beyond both outer readings,
    # each outer reading on the line that skips the pair
    p = np.arange(2, x.size - 3)[off2 > floor]
    p_off1, p_lim1 = _off_line(t, x, p - 1, p, p + 2, floor)
    p_off2, p_lim2 = _off_line(t, x, p - 1, p + 1, p + 2, floor)
    hi_out = np.minimum(x[p], x[p + 1]) > np.maximum(x[p - 1], x[p + 2])
    lo_out = np.maximum(x[p], x[p + 1]) < np.minimum(x[p - 1], x[p + 2])
    pa_off, pa_lim = _off_line(t, x, p - 2, p - 1, p + 2, floor)
    pb_off, pb_lim = _off_line(t, x, p - 1, p + 2, np.minimum(p + 3, x.size - 1), floor)
    p_hit = (hi_out | lo_out) & (p_off1 > p_lim1) & (p_off2 > p_lim2) & (pa_off <= pa_lim) & (pb_off <= pb_lim)
    if not (np.any(hit) or np.any(p_hit)):
        return x, np.empty(0)
    # A glitch moves its neighbours off their own lines too, and two of them can pass for a pair
    # beside it: a glitch found is taken only if every reading within three samples that stands off
    # its neighbours' line (a candidate) lies beside a glitch found (a cluster of three or more is
    # left as it is), and where the glitches found touch (within a sample), the one that stands
    # furthest off is taken
    c, off = c[hit], off[hit]
    p, p_off1, p_off2 = p[p_hit], p_off1[p_hit], p_off2[p_hit]
    first = np.concatenate((c, p))
    last = np.concatenate((c, p + 1))
    score = np.concatenate((off, np.maximum(p_off1, p_off2)))
    explained = np.zeros(x.size + 1, dtype=bool)
    for f, g in zip(first, last):
        explained[f - 1:g + 2] = True
    loose = cand & ~explained[:x.size]
    taken = np.zeros(x.size, dtype=bool)
    keep = np.zeros(first.size, dtype=bool)
    for i in np.argsort(-score, kind="stable"):
        if not loose[max(0, first[i] - 3):last[i] + 4].any() and not taken[first[i] - 1:last[i] + 2].any():
            taken[first[i]:last[i] + 1] = True
            keep[i] = True
    single = keep[:c.size]
    pair = keep[c.size:]
    c, off = c[single], off[single]
    p, p_off1, p_off2 = p[pair], p_off1[pair], p_off2[pair]
    x = x.copy()
    # each glitched reading j goes back onto the line from the reading left of it to the one right of it, on
    # the encoder's own steps, as its neighbours are: a reading between two counts would halve the
    # step the analysis reads from the recording (the smallest change) and change every rep
    for j, left, right in ((c, c - 1, c + 1), (p, p - 1, p + 2), (p + 1, p - 1, p + 2)):
        rise = (x[right] - x[left]) * (t[j] - t[left]) / (t[right] - t[left])
        x[j] = x[left] + (np.round(rise / step) * step if step > 0.0 else rise)
    return x, np.concatenate((off, p_off1, p_off2))


def _units_from_values(t: np.ndarray, x: np.ndarray) -> str:
    """m, cm or mm for positions without units: the one that gives a barbell's range of travel (a
    range beyond 5 is not metres; beyond 158, the geometric middle of a 0.5 m range in cm and mm,
    not centimetres, nor where centimetres would move faster than any barbell)."""
    span = float(np.max(x) - np.min(x))
    if not np.isfinite(span) or span <= 5.0:
        return "m"
    if span > 158.0 or _peak_speed(t, x * UNITS["cm"]) > MAX_PLAUSIBLE_SPEED_M_S / 2:
        return "mm"
    return "cm"


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
    notes = ()
    end = raw.rstrip(b" \t\r\n,")
    if end.endswith(b"-") and end[:-1].rstrip(b" \t\r\n,") != end[:-1]:
        # a writer stopped after a value's sign (a file copied while it was being written)
        raw = end[:-1]
        notes = ("the last value was cut short (a sign with no digits) and is left out",)
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
    return Recording(t, position, "chronojump", notes)


def sniff_format(text: str) -> str:
    """"chronojump" for a raw signal, "csv" for a table of numbers (with or without a header)."""
    head = text[:4096].rsplit(",", 1)[0] if len(text) > 4096 else text
    if _CJ_TOKEN.match(head) and not _looks_like_table(head):
        return "chronojump"
    try:
        csv_layout(text)
    except RecordingError:
        return "unknown"
    return "csv"


def _looks_like_table(head: str) -> bool:
    """Rows of the same two or more numbers, the first one rising (a time column): a CSV, even when its
    numbers are integers that a raw signal could hold."""
    rows = [line for line in head.split("\n") if line.strip()][:20]
    if len(rows) < 3:
        return False
    if len(head) == 4096:
        rows = rows[:-1]
    split = [[c for c in re.split(r"[\s,;]+", row.strip()) if c] for row in rows]
    if len({len(r) for r in split}) != 1 or len(split[0]) < 2:
        return False
    try:
        first = [float(r[0]) for r in split]
    except ValueError:
        return False
    return all(b > a for a, b in zip(first, first[1:]))


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when ``head`` is text in UTF-16 written without a byte-order mark:
    every other byte zero (the table's characters are ASCII) and the others not."""
    n = len(head) // 2 * 2
    if n < 8:
        return None
    even, odd = head[0:n:2], head[1:n:2]
    if not odd.strip(b"\x00") and b"\x00" not in even:
        return "utf-16-le"
    if not even.strip(b"\x00") and b"\x00" not in odd:
        return "utf-16-be"
    return None


def read_recording(path: str | os.PathLike, fmt: str = "auto", units: str | None = None,
                   rate_hz: float | None = None) -> Recording:
    """Read a recording, detecting its format when ``fmt`` is 'auto'. ``units``: a CSV's position units
    as the user gave them (else the header's, else inferred from the values); ``rate_hz``: the sampling
    rate of a CSV that numbers its samples or holds positions alone (the user's ``--rate``)."""
    path = os.fspath(path)
    if rate_hz is not None:
        check_rate(rate_hz)
    if fmt not in FORMATS:
        raise RecordingError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if units is not None and units not in UNITS:
        raise RecordingError(f"unknown units {units!r}: use one of {', '.join(UNITS)}")
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
    utf16 = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else _utf16_without_bom(raw[:4096])
    if utf16:  # UTF-16, as some spreadsheets save "Unicode text" (with a byte-order mark or not)
        try:
            raw = raw.decode(utf16).encode("utf-8")
        except UnicodeDecodeError:
            raise RecordingError(f"{path}: not a text recording (binary data)") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    head = raw[:65536]  # as much as the layout reads: a CRLF file is not counted through
    if b"\r" in head and head.count(b"\r") - head.count(b"\r\n") > head.count(b"\n"):
        # lines ended by a bare carriage return (a spreadsheet's "CSV (Macintosh)"): one line
        # else, read as a header with nothing under it (a stray one in a note is left as it is)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    lead = _LEADING_SEPARATORS.match(raw).end()
    if (fmt == "chronojump" or (fmt == "auto" and not _looks_like_table(raw[:4096].decode("latin-1")))) \
            and raw[lead:lead + 1] and raw[lead] in _CJ_FIRST:
        try:  # starts like a raw signal: the scanner validates it all, no need to decode
            return _rate_unused(parse_chronojump_text(raw, path), rate_hz)
        except RecordingError:
            if fmt == "chronojump":
                raise  # else the text path below says what the file is
    if b"\x00" in raw[:4096]:
        raise RecordingError(f"{path}: not a text recording (binary data)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # a spreadsheet's local encoding: only names differ
        raw = text.encode("utf-8")
    if not text.strip():
        raise RecordingError(f"{path}: the file is empty")
    if fmt == "auto":
        fmt = sniff_format(text)
        if fmt == "unknown":
            try:
                csv_layout(text, path)
            except RecordingError as exc:
                detail = str(exc).removeprefix(f"{path}: ")
                raise RecordingError(f"{path}: format not recognised: not a Chronojump raw signal, and as a CSV: "
                                     f"{detail}") from None
    if fmt == "csv":
        return parse_csv_text(text, path, raw, units, rate_hz)
    return _rate_unused(parse_chronojump_text(raw, path), rate_hz)


MAX_RATE_HZ = 100000.0


def check_rate(rate_hz: float) -> None:
    """A user's ``--rate``: a sampling rate in Hz (``RecordingError`` when it is not one)."""
    if not (math.isfinite(rate_hz) and 0.0 < rate_hz <= MAX_RATE_HZ):
        raise RecordingError(f"--rate: {rate_hz:g} Hz is not a sampling rate (above 0, at most {MAX_RATE_HZ:g} Hz)")


def _rate_unused(rec: Recording, rate_hz: float | None) -> Recording:
    return _with_note(rec, "--rate left unused: a Chronojump raw signal is 1 kHz" if rate_hz is not None else None)


def write_csv(path: str | os.PathLike, t_s: np.ndarray, position_m: np.ndarray) -> None:
    with open(path, "w", newline="") as fh:
        fh.write("t_s,position_m\n")
        for t, x in zip(t_s, position_m):
            fh.write(f"{t:.6f},{x:.6f}\n")


def write_chronojump(path: str | os.PathLike, counts_mm: np.ndarray) -> None:
    with open(path, "w") as fh:
        fh.write(", ".join(str(int(c)) for c in counts_mm))


# ---- units and plausibility ---------------------------------------------------------------------

#: Position units a CSV recording may be in (``--units``): metres per unit (inches only when the
#: header or --units says so; never judged from the values).
UNITS = dict(zip(POSITION_UNITS, (1.0, 0.01, 0.001, 0.0254)))
#: No barbell moves faster than this (the fastest lifts peak below 4 m/s); a recording that does is
#: in the wrong units or broken.
MAX_PLAUSIBLE_SPEED_M_S = 10.0


def _peak_speed(t: np.ndarray, x: np.ndarray) -> float:
    """Fastest speed over 50 ms steps (so encoder quantisation at high sample rates does not count)."""
    span = float(t[-1] - t[0])
    if not np.isfinite(span) or span <= 0.0:
        return 0.0
    grid = np.arange(float(t[0]), float(t[-1]), 0.05)
    if grid.size < 2:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        speed = np.abs(np.diff(np.interp(grid, t, x))) / 0.05
        return float(np.max(speed))


def upside_down(rec: Recording) -> Recording:
    """``rec`` as recorded by a transducer mounted upside down (or wired with A and B swapped): the
    positions negated, so that the bar rises when the recorded cable shortens. Nothing in a file tells
    which way a transducer was mounted (a Chronojump raw file has no header; the encoder's own setting
    of "inverted" lives in Chronojump's database), so the user says it (``--inverted``)."""
    return replace(rec, position_m=-rec.position_m,
                   notes=rec.notes + ("positions negated (--inverted: transducer mounted upside down)",))


def check_plausible(rec: Recording, path) -> None:
    """Refuse a recording whose bar moves faster than any barbell can, with the likely cause."""
    peak = _peak_speed(rec.t_s, rec.position_m)
    if not np.isfinite(peak) or peak > MAX_PLAUSIBLE_SPEED_M_S:
        shown = "an impossible speed" if not np.isfinite(peak) else f"{peak:.3g} m/s"
        hint = "; is the file in millimetres? try --units mm" if rec.source_format == "csv" else ""
        raise RecordingError(f"{path}: the bar would move at {shown}, more than any barbell "
                             f"({MAX_PLAUSIBLE_SPEED_M_S:g} m/s){hint}")
