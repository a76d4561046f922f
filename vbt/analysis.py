"""Batch analysis of a whole recording: the live tracker fed everything at once."""

from __future__ import annotations

import numpy as np

from vbt.config import AnalysisConfig
from vbt.results import SetResult
from vbt.tracker import LiveTracker


def analyze(t_s, position_m, config: AnalysisConfig = AnalysisConfig()) -> SetResult:
    """Reps, velocities and the stop rule of one recorded set.

    A recording is one set: stillness inside it does not split it. Times in the result are
    seconds from the first sample.
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(position_m, dtype=np.float64)
    if t.size and t[0] != 0.0:
        t = t - t[0]  # the tracker answers on its input's time base: the recording's, from its start
    tracker = LiveTracker(config, auto_end_sets=False)
    tracker.feed(t, x)
    (ended,) = [e for e in tracker.finish() if e.type == "set_end"]
    return ended.result
