"""Batch analysis of a whole recording: the live tracker fed everything at once."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from vbt.config import AnalysisConfig
from vbt.results import SetResult
from vbt.tracker import LiveTracker


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# A recording with rows lost (a logger's dropped samples, rows left out for a missing value): the
# resampler bridges a hole with a straight line. A hole is a step between rows longer than
# HOLE_MIN_S and HOLE_INTERVALS typical steps over which the bar moved more than HOLE_MOVE_M (an
# encoder that writes a row only when its count changes moves one step per row: never a hole);
# a rep across one is doubtful (LiveTracker.samples_missing).
HOLE_MIN_S = 0.025
HOLE_INTERVALS = 4.0
HOLE_MOVE_M = 0.002
_HOLE_BLOCK = 1 << 20  # steps looked at in one go (an hour at 1 kHz is 3.6 million)


def sample_holes(t: np.ndarray, x: np.ndarray) -> list[tuple[float, float]]:
    """(time before, time after) of each hole in a recording (see HOLE_MIN_S), in time order."""
    n = t.size
    if n < 3:
        return []
    i = np.arange(0, n - 1, max(1, n // 20000))
    limit = max(HOLE_MIN_S, HOLE_INTERVALS * float(np.median(t[i + 1] - t[i])))
    holes = []
    for b in range(0, n - 1, _HOLE_BLOCK):
        j = np.flatnonzero(np.diff(t[b:b + _HOLE_BLOCK + 1]) > limit) + b
        j = j[np.abs(x[j + 1] - x[j]) > HOLE_MOVE_M]
        holes.extend(zip(t[j].tolist(), t[j + 1].tolist()))
    return holes


def analyze(t_s, position_m, config: AnalysisConfig = AnalysisConfig(), workers: int = 1) -> SetResult:
    """Reps, velocities and the stop rule of one recorded set.

    ``workers``: threads that analyse its reps side by side (the result does not depend on it).

    A recording is one set: stillness inside it does not split it. A rep across a hole in the samples
    (see HOLE_MIN_S) carries a ``quality`` that says so. Times in the result are on the
    recording's own clock (a rep that starts 7.48 s after a first sample at 12.0 s starts at 19.48 s).
    """
    return analyze_with(LiveTracker(config, auto_end_sets=False, rep_workers=workers), t_s, position_m)


def analyze_with(tracker: LiveTracker, t_s, position_m) -> SetResult:
    """:func:`analyze`'s steps on a fresh ``tracker`` built with ``auto_end_sets=False`` (a
    benchmark's variant of the tracker; ``analyze`` builds the plain one)."""
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(position_m, dtype=np.float64)
    origin = float(t[0]) if t.size else 0.0
    if origin != 0.0:
        t = t - origin  # the tracker runs from zero: a clock far from it would cost precision in its sums
    for hole in sample_holes(t, x):
        tracker.samples_missing(*hole)
    tracker.feed(t, x)
    (ended,) = [e for e in tracker.finish() if e.type == "set_end"]
    result = ended.result
    if origin != 0.0:
        result = replace(result, reps=tuple(
            replace(r, concentric_start_s=r.concentric_start_s + origin, concentric_end_s=r.concentric_end_s + origin)
            for r in result.reps))
    return result
