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


def analyze(t_s, position_m, config: AnalysisConfig = AnalysisConfig(), workers: int = 1) -> SetResult:
    """Reps, velocities and the stop rule of one recorded set.

    ``workers``: threads that analyse its reps side by side (the result does not depend on it).

    A recording is one set: stillness inside it does not split it. Times in the result are on the
    recording's own clock (a rep that starts 7.48 s after a first sample at 12.0 s starts at 19.48 s).
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(position_m, dtype=np.float64)
    origin = float(t[0]) if t.size else 0.0
    if origin != 0.0:
        t = t - origin  # the tracker runs from zero: a clock far from it would cost precision in its sums
    tracker = LiveTracker(config, auto_end_sets=False, rep_workers=workers)
    tracker.feed(t, x)
    (ended,) = [e for e in tracker.finish() if e.type == "set_end"]
    result = ended.result
    if origin != 0.0:
        result = replace(result, reps=tuple(
            replace(r, concentric_start_s=r.concentric_start_s + origin, concentric_end_s=r.concentric_end_s + origin)
            for r in result.reps))
    return result
