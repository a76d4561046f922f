"""The rolling traces' frame clock, and what the benchmarks measure on it.

``TraceFramesMixin`` is part of :class:`gui.main_window.MainWindow`: one ~60 FPS timer
(``frame_timer``) redraws the traces from the worker's ring buffer, only while the Live tab is
visible and only when the newest sample would move the curves by a pixel. Each drawn frame's
duration goes to ``frame_meter``; the rep-to-screen latency (worker event to the big number painted)
to ``rep_latencies_s``; the first painted frame to ``first_paint_s`` (start-up benchmark).
"""

from __future__ import annotations

import time

import numpy as np

FRAME_INTERVAL_MS = 16
TRACE_WINDOW_S = 10.0


class TraceFramesMixin:
    """The frame timer's handler (mixed into ``MainWindow``)."""

    def _on_frame(self) -> None:
        t0 = time.perf_counter()
        if self.first_paint_s is None and self.live.velocity.meter.n:
            self.first_paint_s = self.live.velocity.meter.last_end_s
            if self.on_first_paint is not None:
                self.on_first_paint()
        pending = self._pending_latency
        if pending is not None and self.live.velocity.painted_token is pending[0]:
            self.rep_latencies_s.append(self.live.velocity.meter.last_end_s - pending[1])
            self._pending_latency = None
        session = self.session
        if session is None or self.tabs.currentIndex() != 0 or not self.isVisible():
            return
        ring = session.trace
        written = ring.written
        if written == self._trace_written:
            return
        traces = self.live.traces
        newest = ring.latest(1)[0]
        if not self.redraw_every_frame and newest.size and traces.drawn_t_s is not None and \
                0.0 <= newest[0] - traces.drawn_t_s < traces.seconds_per_pixel():
            return  # the curves would move by less than a pixel: this frame changes nothing visible
        self._trace_written = written
        data = ring.latest()
        t = data[0]
        if t.size:
            k = int(np.searchsorted(t, t[-1] - TRACE_WINDOW_S))
            self.live.traces.show_window(t[k:], data[1, k:], data[2, k:])
        self.frame_meter.add(t0, time.perf_counter())

