"""The live tracker: samples in, rep / warning / stop / set-end events out.

The batch path (``vbt.analysis.analyze``) is this same tracker fed a whole recording at once,
so the live stream and a recorded file run the same numba kernels; the result does not depend
on how the stream is chunked.
"""

from __future__ import annotations

# Implementation lands with the analysis core (issue 2). Public contract:
#
#   tracker = LiveTracker(AnalysisConfig(...), auto_end_sets=True)
#   events = tracker.feed(t_s: np.ndarray, position_m: np.ndarray)   # any chunk size, t increasing
#   events = tracker.advance(t_s: float)    # time passes with no new sample (heartbeat): may end a set
#   events = tracker.end_set(reason="manual")  # close the set now (GUI button); emits SetEnded
#   events = tracker.finish()               # end of stream: closes a pending rep, emits SetEnded
#   tracker.current_set() -> SetResult      # reps of the set in progress (with losses)
#   tracker.set_config(AnalysisConfig)      # takes effect from the next set
#   tracker.recent_trace(seconds) -> (t_s, position_m, velocity_m_s) for display
#
# Events are the dataclasses in vbt.results: RepCompleted, VelocityWarning, StopSet, SetEnded.
