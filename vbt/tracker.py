"""The live tracker: samples in, rep / warning / stop / set-end events out.

The batch path (``vbt.analysis.analyze``) is this same tracker fed a whole recording, so the
live stream and a recorded file run the same numba kernels, and the result does not depend on
how the stream is chunked: every decision is taken at a sample index fixed by the data
(``tests/test_streaming.py`` checks this under random chunking).

Pipeline: samples at any rate are resampled onto a uniform grid (``grid_hz``); a turning-point
state machine with distance hysteresis finds rises of at least ``min_rom_m`` and closes each one
when the bar comes back down or stays still at the top; the rep's buffered window is then
filtered (zero-phase Butterworth) and its concentric phase is placed at the true turning points
by a local fit of the raw positions, from which MV, MPV, PV and the rest follow.

Usage::

    tracker = LiveTracker(AnalysisConfig(...), auto_end_sets=True)
    events = tracker.feed(t_s, position_m)      # any chunk size, t increasing
    events = tracker.advance(t_s)               # time passes without samples (heartbeat)
    events = tracker.end_set("manual")          # end the set by hand
    events = tracker.finish()                   # end of stream
    tracker.current_set()                       # SetResult of the set in progress
    tracker.device_lost(t_s)                    # the link is gone: the set stays open
    tracker.line_errors(t_s, n)                 # n samples refused as line noise at t_s

Times: events and reps carry the input's own time base (a live session feeds reader stream
time, so its events need no shifting); inside, the analysis counts from the first sample.

Outages and line errors: a lost device is not stillness. The samples after a reconnection are
re-anchored to the last position seen (the gap reads as a still bar that never ends the set), and a rep
whose concentric phase overlaps an outage, or that contains refused samples, is marked doubtful
(``Rep.quality``): counted and shown, never the best, never a STOP.
"""

from __future__ import annotations

import bisect
import logging
import math

import numpy as np

from vbt import kernels as K
from vbt.compile_cache import interpreted
from vbt.config import MAX_CONCENTRIC_S, MAX_TOP_STILLNESS_S, AnalysisConfig
from vbt.results import QUALITY_OK, Rep, RepCompleted, RepRevised, SetEnded, SetResult, StopSet, VelocityWarning
from vbt.stoprule import StopRule

log = logging.getLogger(__name__)

# Samples kept before a rep's bottom (filter run-in, descent) and the cap on history kept.
PRE_ROLL_S = 0.5
FIRST_REP_LOOKBACK_S = 3.0
MAX_WINDOW_S = 30.0
FILTER_PAD_S = 0.5
# Local turning-point fit: samples within this share of the ROM (at least FIT_MIN_M) of the
# turning point's level, up to FIT_SIDE_S before a bottom / after a top.
FIT_FRACTION = 0.03
FIT_MIN_M = 0.005
# ... and at least this many encoder steps: with a coarse encoder a few-mm window holds only two or
# three levels (MV p95 at 3 mm steps: 0.031 -> 0.021 m/s). The step is the smallest change between
# consecutive raw samples of the rep's window (for an unquantised sensor it is tiny: no effect).
FIT_MIN_STEPS = 8
FIT_MAX_M = 0.025
# ... and at least as far as the rise moves at its mean speed in this many sample intervals: at
# 50 Hz a fast rep crosses a 1 cm window between two samples (55 Hz: MV p95 0.017 -> 0.014).
FIT_RATE_K = 3.0
FIT_SIDE_S = 0.3
SHAPE_PASSES = 1
# A rep's ends must agree with the recorded samples within this many encoder steps (at least
# TOL_MIN_M), or the noise the recording shows if larger (vbt.kernels.ends_consistent).
TOL_STEPS = 1.5
TOL_MIN_M = 0.0003
# A rep whose concentric phase holds fewer samples than this, or whose range fewer encoder steps,
# cannot be placed with confidence: it is reported as doubtful.
COARSE_MIN_SAMPLES = 8
COARSE_MIN_STEPS = 10
# The raw rate is the mean spacing of the raw samples, each gap clipped at this (a per-tick
# encoder's pauses while the bar is still are not its rate) or at the median gap where that is
# longer: clipped at 25 ms alone, a 20 or 30 Hz sensor read as 40 Hz, and its reps' doubt
# ("too few samples") and the end checks' raw spacing were those of a faster sensor.
RAW_GAP_CAP_S = 0.025
# A long rise must be still for this share of its duration (at least top_stillness_s) to close.
TOP_STILLNESS_SHARE = 0.04
# ... but a rise that stalls well below the previous rep's top is a lifter stuck at a sticking
# point (isometric holds of 0.3-0.5 s in real grinds): it closes after this long still.
MID_RISE_HOLD_S = 1.0
# ... and so does a first rise with no top before it (a pull from the floor) slower than this on
# average: a grind may hold still mid-rise; a quick first pull keeps its quick decision.
SLOW_RISE_M_S = 0.35
# A quick first pull that held still mid-rise anyway is closed there, and revised (one RepRevised
# event, the same rep number) if the bar rises on without coming down (vbt.kernels.stream.REOPEN_SHARE)
# within this long of the close.
REOPEN_S = 3.0
# A recording that starts while the bar is already rising (a logger started late), or ends while it
# still rises (stopped early), holds only part of that rep: its MV is no rep's MV (a set cut mid-rise
# read 0.94 for a 1.10 m/s rep and fired a false STOP). A rep whose start lies within EDGE_REACH_S of
# the first sample while the bar rises there faster than EDGE_RISE_SHARE of the rep's peak velocity
# (and EDGE_RISE_MIN_M_S), or that the end of the stream closes with its end that close to the last
# sample and the bar rising so there, is doubtful. The speed is the bar's at that sample: the slope
# there of a parabola fitted to the first (last) EDGE_FIT_S, at least EDGE_FIT_MIN_SAMPLES samples
# (_edge_speed). A recording that starts exactly as a rep leaves the bottom is no cut: the bar's
# speed there is nil, however fast it then accelerates (a mean slope over 50 ms marked 373 of 840
# such edge reps; this marks none: bench_families.py --cut, "exact"). Its parabola lags a sharp
# bounce or a plateau's hard stop: up to 0.54 of the peak at such exact edges, hence 0.6. What is
# missed: slow grinds cut mid-rise (0.3 of their peak there), some skewed reps cut as they slow.
EDGE_REACH_S = 0.5
EDGE_FIT_S = 0.02
EDGE_FIT_MIN_SAMPLES = 5
EDGE_RISE_SHARE = 0.6
EDGE_RISE_MIN_M_S = 0.04
# A chunk with at least this many rises has them analysed on ``rep_workers`` threads (a live
# chunk holds one at most; a thread pool costs about a rep's analysis to start).
PARALLEL_MIN_RISES = 4


class LiveTracker:
    """Segment a position stream into reps and apply the stop rule, incrementally."""

    def __init__(self, config: AnalysisConfig = AnalysisConfig(), auto_end_sets: bool = True,
                 rep_workers: int = 1):
        """``rep_workers``: threads that analyse the rises of one fed chunk side by side when it
        holds many (a whole recording fed at once); the results are the same with any number."""
        self.config = config.checked()
        self.auto_end_sets = auto_end_sets
        self.rep_workers = max(1, int(rep_workers))
        self._precomputed: dict = {}
        seg = self.config.segmentation
        self._fs = float(seg.grid_hz)
        self._coeffs = np.empty(5)
        K.butter_lowpass(seg.cutoff_hz, self._fs, self._coeffs)
        self._rs_state = np.zeros(K.RESAMPLE_STATE_SIZE)
        self._rs_state[K.RS_DT] = 1.0 / self._fs
        self._det_state = np.zeros(K.DETECT_STATE_SIZE)
        # Long enough for the longest look-back any valid configuration asks for, so set_config
        # can change the stillness settings without resizing (and losing) the history.
        self._ring = np.zeros(int(max(MAX_TOP_STILLNESS_S, TOP_STILLNESS_SHARE * MAX_CONCENTRIC_S,
                                      MID_RISE_HOLD_S) * self._fs) + 2)
        K.detect_init(self._det_state)
        self._buf = np.empty(int(self._fs * 60))
        self._buf_start = 0  # global grid index of self._buf[0]
        self._buf_len = 0
        self._n_grid = 0
        self._events_buf = np.empty((64, K.EVENT_WIDTH))
        self._rep_out = K.rep_result()  # what analyze_rep answers, by name (a one-element record array)
        self._pending_config: AnalysisConfig | None = None
        self._cur_t: np.ndarray | None = None  # the chunk being processed (see _keep_raw)
        self._cur_x: np.ndarray | None = None
        self._raw_t = np.empty(4096)  # raw samples of the last MAX_WINDOW_S (see _keep_raw)
        self._raw_x = np.empty(4096)
        self._raw_n = 0
        self._head_t = np.empty(0)  # the stream's first samples (EDGE_FIT_S, at least EDGE_FIT_MIN_SAMPLES)
        self._head_x = np.empty(0)
        self._closing = None  # "recording" or "set": end_set is closing the rise still open (its end is the rep's)
        self._init_faults()
        self._revisable: Rep | None = None  # the last rise's rep, which a revision may replace
        self._new_set()

    # ---- public API ----------------------------------------------------------------------

    def feed(self, t_s, position_m) -> list:
        """Add samples (seconds, metres up). Returns the events they completed, in order."""
        t = np.ascontiguousarray(t_s, dtype=np.float64).reshape(-1)
        x = np.ascontiguousarray(position_m, dtype=np.float64).reshape(-1)
        if t.shape != x.shape:
            raise ValueError(f"t_s has {t.size} samples but position_m has {x.size}")
        if t.size == 0:
            return []
        finite = np.isfinite(t) & np.isfinite(x)
        if not finite.all():
            t, x = t[finite], x[finite]
            if t.size == 0:
                return []
        resumed = self._resume(t, x) if self._lost_at is not None else []
        if self._dx:
            x = x + self._dx
        if self._rs_state[K.RS_N] < 0:
            raise RuntimeError("the stream has been finished; start a new LiveTracker")
        prev_t = self._rs_state[K.RS_TB] if self._rs_state[K.RS_N] >= 2 else t[0]
        cap = int((t[-1] - min(prev_t, t[0])) * self._fs) + 2 + t.size
        grid = np.empty(max(cap, 2))
        n = K.resample_stream(t, x, self._rs_state, grid)
        self._cur_t, self._cur_x = t, x
        if self._head_t.size < EDGE_FIT_MIN_SAMPLES or self._head_t[-1] - self._head_t[0] < EDGE_FIT_S:
            self._keep_head(t, x)
        try:
            return resumed + self._process_grid(grid[:n])
        finally:
            self._cur_t = self._cur_x = None
            self._keep_raw(t, x)

    def advance(self, t_s: float) -> list:
        """Time has reached ``t_s`` with the bar where it last was (a device heartbeat)."""
        half = 0.5 / self._fs
        if self._rs_state[K.RS_N] < 1 or t_s - half <= self._rs_state[K.RS_T]:
            return []
        # The resampler holds one sample back; two still samples carry the grid to t_s - dt/2.
        x = self._rs_state[K.RS_X]
        return self.feed(np.array([t_s - half, t_s]), np.array([x, x]))

    def end_set(self, reason: str = "manual") -> list:
        """Close the set now: a rise still open counts if it is a full rep; emits SetEnded."""
        self._closing = "recording" if reason == "end_of_stream" else "set"
        try:
            events = self._close_pending()
        finally:
            self._closing = None
        events.append(self._end_set_event(reason))
        return events

    def finish(self) -> list:
        """End of stream: take in the last samples, close a pending rep and the set."""
        events = []
        if self._rs_state[K.RS_N] >= 2:
            span = self._rs_state[K.RS_T] - self._rs_state[K.RS_TB]
            grid = np.empty(int(span * self._fs) + 3)
            n = K.resample_flush(self._rs_state, grid)
            events = self._process_grid(grid[:n])
        return events + self.end_set("end_of_stream")

    def current_set(self) -> SetResult:
        return SetResult(
            reps=tuple(self._reps),
            best_rep=self._rule.best_rep,
            stop_rep=self._rule.stop_rep,
            velocity_loss_threshold_pct=self.config.stop_rule.velocity_loss_pct,
            metric=self.config.stop_rule.metric,
            duration_s=self._set_duration(),
        )

    def set_config(self, config: AnalysisConfig) -> None:
        """Use ``config`` from the next set on (now, if no rep has been counted in this set)."""
        config.checked()
        if config.segmentation.grid_hz != self.config.segmentation.grid_hz:
            raise ValueError("grid_hz cannot change on a running tracker")
        if self._reps:
            self._pending_config = config
        else:
            self._apply_config(config)

    @property
    def stream_time_s(self) -> float:
        """Seconds of stream seen, from the first sample."""
        return max(0, self._n_grid - 1) / self._fs

    # ---- outages and line errors ---------------------------------------------------------

    def device_lost(self, t_s: float) -> None:
        """The device went away at ``t_s`` (the time base of :meth:`feed`). The set stays open;
        the next samples are re-anchored to the last position, so the gap reads as a still bar."""
        if self._rs_state[K.RS_N] < 1:
            return
        if self._lost_at is None:
            self._lost_at = float(t_s) - self._rs_state[K.RS_ORIGIN]

    def line_errors(self, t_s: float, count: int = 1) -> None:
        """``count`` samples (or bytes) were refused as line noise around ``t_s``: a rep around
        that time is doubtful."""
        if count > 0 and self._rs_state[K.RS_N] >= 1:
            self._line_errors.append((float(t_s) - self._rs_state[K.RS_ORIGIN], int(count)))
            del self._line_errors[:-256]

    def samples_missing(self, t0_s: float, t1_s: float) -> None:
        """No sample came from ``t0_s`` to ``t1_s`` (the time base of :meth:`feed`) while the bar moved
        (rows a recording lost): the resampler bridges the hole with a straight line, so a rep across
        it is doubtful. Holes are told in time order, before the samples after them are fed."""
        self._hole_from.append(float(t0_s))
        self._hole_to.append(float(t1_s))

    def _init_faults(self) -> None:
        self._hole_from: list[float] = []  # samples_missing, in feed's time base
        self._hole_to: list[float] = []
        self._lost_at: float | None = None  # tracker time the device went away (until samples return)
        self._outages: list[tuple[float, float]] = []  # (lost, back) in tracker time
        self._line_errors: list[tuple[float, int]] = []  # (tracker time, count)
        self._dx = 0.0  # added to every position: the re-anchoring of each reconnection

    def _resume(self, t: np.ndarray, x: np.ndarray) -> list:
        """First samples after an outage. A rise that had topped out before the loss is closed
        (doubtful if it ran into the loss); then the positions continue from the last one seen and
        the turning-point search starts afresh, as at the start of a stream (what the bar did
        during the gap is unknown: nothing is counted across it). The gap is not stillness: the
        set-end clock restarts at the reconnection."""
        events = self._close_pending()
        st, det = self._rs_state, self._det_state
        self._dx = st[K.RS_X] - x[0]
        back = float(t[0]) - st[K.RS_ORIGIN]
        still_sent = det[K.DS_STILL_SENT]
        K.detect_init(det)
        i_back = float(math.floor(back * self._fs))
        det[K.DS_N] = 1.0
        det[K.DS_IMIN] = det[K.DS_IMAX] = det[K.DS_MOVE_ANCH] = st[K.RS_X]
        det[K.DS_IMIN_I] = det[K.DS_IMAX_I] = det[K.DS_MOVE_I] = i_back
        det[K.DS_STILL_SENT] = still_sent if self._reps else 1.0
        self._outages.append((self._lost_at, back))
        del self._outages[:-64]
        self._lost_at = None
        return events

    def _quality(self, start_s: float, end_s: float) -> str:
        """Why a rep with this concentric phase (tracker time) is doubtful, or "ok"."""
        for lost, back in self._outages + ([(self._lost_at, math.inf)] if self._lost_at is not None else []):
            if start_s < back + 0.1 and end_s + 0.05 > lost:
                return "device lost during the rep"
        n = sum(c for t, c in self._line_errors if start_s - 0.1 <= t <= end_s + 0.05)
        if n:
            return f"{n} line error{'s' if n > 1 else ''} during the rep"
        if self._hole_from:
            origin = self._rs_state[K.RS_ORIGIN]
            lo, hi = origin + start_s - 0.1, origin + end_s + 0.05
            i0, i1 = bisect.bisect_right(self._hole_to, lo), bisect.bisect_left(self._hole_from, hi)
            if i1 > i0:
                gone = sum(min(b, hi) - max(a, lo) for a, b in zip(self._hole_from[i0:i1], self._hole_to[i0:i1]))
                return f"samples missing for {1e3 * gone:.0f} ms during the rep"
        return QUALITY_OK

    def _keep_head(self, t: np.ndarray, x: np.ndarray) -> None:
        """The stream's first samples, for _edge_doubt."""
        first = self._head_t[0] if self._head_t.size else t[0]
        k = max(int(np.searchsorted(t, first + EDGE_FIT_S, side="right")), EDGE_FIT_MIN_SAMPLES - self._head_t.size)
        self._head_t = np.concatenate((self._head_t, t[:k]))
        self._head_x = np.concatenate((self._head_x, x[:k]))

    def _edge_doubt(self, start_s: float, end_s: float, peak_m_s: float) -> str:
        """Why a rep (concentric phase in tracker time) is only part of one, cut by the first or the
        last sample (see EDGE_REACH_S), or "ok"."""
        floor = max(EDGE_RISE_SHARE * peak_m_s, EDGE_RISE_MIN_M_S)
        ht = self._head_t  # tracker time counts from its first sample, ht[0]
        if start_s < EDGE_REACH_S and ht.size >= EDGE_FIT_MIN_SAMPLES and _edge_speed(ht, self._head_x, ht[0]) > floor:
            return "cut by the start of the recording: the bar was already rising"
        n = self._raw_n
        if self._closing and n >= EDGE_FIT_MIN_SAMPLES and \
                self._raw_t[n - 1] - (end_s + self._origin_s()) < EDGE_REACH_S:
            first = min(int(np.searchsorted(self._raw_t[:n], self._raw_t[n - 1] - EDGE_FIT_S)),
                        n - EDGE_FIT_MIN_SAMPLES)
            if _edge_speed(self._raw_t[first:n], self._raw_x[first:n], self._raw_t[n - 1]) > floor:
                return f"cut by the end of the {self._closing}: the bar was still rising"
        return QUALITY_OK

    # ---- internals -----------------------------------------------------------------------

    def _keep_raw(self, t: np.ndarray, x: np.ndarray) -> None:
        """After a chunk: keep its raw samples of the last MAX_WINDOW_S (a rep's encoder step and
        sample interval are read from the raw samples of its own window). During the chunk its
        arrays are read in place, so a whole recording fed at once is never copied."""
        first = int(np.searchsorted(t, t[-1] - MAX_WINDOW_S - 1.0))
        t, x = t[first:], x[first:]
        n, m = self._raw_n, t.size
        if n + m > self._raw_t.size:
            keep_from = int(np.searchsorted(self._raw_t[:n], t[-1] - MAX_WINDOW_S - 1.0))
            n -= keep_from
            self._raw_t[:n] = self._raw_t[keep_from:keep_from + n]
            self._raw_x[:n] = self._raw_x[keep_from:keep_from + n]
            if n + m > self._raw_t.size:
                cap = max(2 * (n + m), 4096)
                self._raw_t = np.concatenate((self._raw_t[:n], np.empty(cap - n)))
                self._raw_x = np.concatenate((self._raw_x[:n], np.empty(cap - n)))
        self._raw_t[n:n + m] = t
        self._raw_x[n:n + m] = x
        self._raw_n = n + m

    def _raw_stats(self, t0_rel: float, t1_rel: float) -> tuple[float, float]:
        """(encoder step, mean sample interval) of the raw samples from ``t0_rel`` to ``t1_rel`` s
        after the first sample: the smallest nonzero change between consecutive samples, and their
        mean spacing with each gap clipped at RAW_GAP_CAP_S (a per-tick encoder's pauses are not its
        rate), or at the median gap where that is longer (a sensor slower than 40 Hz: its rate)."""
        origin = self._rs_state[K.RS_ORIGIN]
        lo, hi = origin + t0_rel, origin + t1_rel
        parts_t, parts_x = [], []
        for rt, rx in ((self._raw_t[:self._raw_n], self._raw_x[:self._raw_n]), (self._cur_t, self._cur_x)):
            if rt is not None and rt.size:
                i0, i1 = int(np.searchsorted(rt, lo)), int(np.searchsorted(rt, hi, side="right"))
                parts_t.append(rt[i0:i1])
                parts_x.append(rx[i0:i1])
        wt = np.concatenate(parts_t) if parts_t else np.empty(0)
        wx = np.concatenate(parts_x) if parts_x else np.empty(0)
        if wt.size < 3:
            return math.inf, math.nan
        dx = np.abs(np.diff(wx))
        moved = dx[dx > 0.0]
        step = float(moved.min()) if moved.size else math.inf
        gaps = np.diff(wt)
        return step, float(np.minimum(gaps, max(RAW_GAP_CAP_S, float(np.median(gaps)))).mean())

    def _apply_config(self, config: AnalysisConfig) -> None:
        self.config = config
        K.butter_lowpass(config.segmentation.cutoff_hz, self._fs, self._coeffs)
        self._rule = StopRule(config.stop_rule)
        for rep in self._reps:
            self._rule.add(rep)

    def _new_set(self) -> None:
        self._reps: list[Rep] = []
        config, self._pending_config = self._pending_config or self.config, None
        self._apply_config(config)

    def _set_duration(self) -> float:
        if not self._reps:
            return 0.0
        return self._reps[-1].concentric_end_s - self._reps[0].concentric_start_s

    def _append(self, grid: np.ndarray) -> None:
        need = self._buf_len + grid.size
        keep_from = self._n_grid + grid.size - int(MAX_WINDOW_S * self._fs)
        if keep_from > self._buf_start:  # drop history older than the longest window
            drop = min(keep_from - self._buf_start, self._buf_len)
            self._buf[: self._buf_len - drop] = self._buf[drop:self._buf_len]
            self._buf_len -= drop
            self._buf_start += drop
            need = self._buf_len + grid.size
        if need > self._buf.size and self._buf_len == 0:
            # a whole recording fed at once: keep its grid (fresh from feed, read only) as the buffer,
            # rather than copying it into a new one (an hour's grid is 29 MB)
            self._buf = grid
            self._buf_len = need
            return
        if need > self._buf.size:
            nb = np.empty(max(need, 2 * self._buf.size))
            nb[: self._buf_len] = self._buf[: self._buf_len]
            self._buf = nb
        self._buf[self._buf_len:need] = grid
        self._buf_len = need

    def _process_grid(self, grid: np.ndarray) -> list:
        if grid.size == 0:
            return []
        first = self._n_grid
        self._append(grid)
        self._n_grid += grid.size
        seg = self.config.segmentation
        max_events = grid.size // 2 + 4
        if self._events_buf.shape[0] < max_events:
            self._events_buf = np.empty((max_events, K.EVENT_WIDTH))
        n_ev = K.detect_stream(
            grid, first, self._det_state, self._ring, self._events_buf,
            seg.direction_hysteresis_m, seg.min_rom_m, seg.top_stillness_band_m,
            seg.top_stillness_s * self._fs, TOP_STILLNESS_SHARE, seg.set_end_stillness_s * self._fs,
            MID_RISE_HOLD_S * self._fs, SLOW_RISE_M_S / self._fs, REOPEN_S * self._fs,
        )
        out = []
        events = self._events_buf[:n_ev].copy()
        self._precompute_reps(events)
        for row in events:
            kind, bottom, top, confirm, prev_top = row
            if kind == K.EV_REP or kind == K.EV_REVISE:
                out.extend(self._rep_candidate(int(bottom), int(top), int(confirm), int(prev_top),
                                               revise=kind == K.EV_REVISE))
            elif kind == K.EV_STILL and self.auto_end_sets and self._reps:
                out.append(self._end_set_event("stillness", t_s=confirm / self._fs + self._origin_s()))
        return out

    def _close_pending(self) -> list:
        seg = self.config.segmentation
        if self._n_grid and K.pending_rep(self._det_state, seg.min_rom_m):
            st = self._det_state
            events = self._rep_candidate(int(st[K.DS_BOT_I]), int(st[K.DS_EXT_I]), self._n_grid - 1,
                                         int(st[K.DS_PREV_TOP_I]), revise=st[K.DS_REOPENED] == 1.0)
            st[K.DS_EMITTED] = 1.0
            st[K.DS_REOPENED] = 0.0
            return events
        return []

    def _rep_candidate(self, bottom: int, top: int, confirm: int, prev_top: int, revise: bool = False) -> list:
        """Analyse the rise from grid index ``bottom`` to ``top`` (decided at ``confirm``). ``revise``:
        the same rise was reported before, closed at a mid-way hold; its rep is replaced if it is the
        set's only rep, else kept (and the rest of the rise is no rep); if it was never counted (that
        analysis failed) this is a new rep."""
        revisable, self._revisable = self._revisable, None
        replaces = None
        if revise and revisable is not None:
            if not (len(self._reps) == 1 and self._reps[0] is revisable):
                # only a set's first and only rep is revised (no STOP or warning can rest on it): a
                # first rise after a reconnection, or one whose set ended during a hold longer than
                # the set-end stillness, keeps what was reported, and the rest of it is no rep
                self._revisable = revisable
                return []
            replaces = revisable
        events = self._rise_events(bottom, top, confirm, prev_top, replaces)
        if not events and revise:
            self._revisable = revisable  # no valid revision: the rep reported stands (and may be revised later)
        return events

    def _rep_inputs(self, bottom: int, top: int, confirm: int, prev_top: int, raw_stats=None):
        """What analyze_rep is given for the rise from grid index ``bottom`` to ``top``, decided at
        ``confirm``: (w0, window, bottom, top and prev_top in the window, settings, dt_raw, step),
        or None when the window is too short to hold a rep. ``raw_stats``: ``_raw_stats`` of this
        window if known (the samples of one chunk do not change while its events are taken)."""
        fs = self._fs
        if prev_top >= 0:
            w0 = prev_top - int(PRE_ROLL_S * fs)
        else:
            w0 = bottom - int(FIRST_REP_LOOKBACK_S * fs)
        w0 = max(w0, confirm - int(MAX_WINDOW_S * fs) + 1, self._buf_start, 0)
        w1 = confirm + 1
        window = self._buf[w0 - self._buf_start: w1 - self._buf_start]
        if window.size < 8:
            return None
        pt = prev_top - w0 if prev_top >= w0 else -1
        # After a long rest (a bar on the floor for minutes) the lowest point can precede the
        # window; the rise then starts inside it. Never hand a kernel a negative index.
        bottom_rel = max(bottom - w0, 0)
        if top - w0 <= bottom_rel:
            return None
        load = self.config.load_kg or 0.0
        step, dt_raw = raw_stats or self._raw_stats(w0 / fs, confirm / fs)
        rise_mv = (self._buf[top - self._buf_start] - self._buf[max(bottom, self._buf_start) - self._buf_start]) \
            / max((top - bottom) / fs, 1e-3)
        fit_min = max(FIT_MIN_M, FIT_MIN_STEPS * step)
        if math.isfinite(dt_raw):
            fit_min = max(fit_min, FIT_RATE_K * rise_mv * dt_raw)
        # (capped: a stream that only ever moves in big jumps is not a 1 cm encoder)
        fit_min = min(fit_min, FIT_MAX_M)
        tol_floor = TOL_STEPS * step if math.isfinite(step) else 0.0
        tol_floor = min(max(tol_floor, TOL_MIN_M), FIT_MAX_M)
        raw_hz = 1.0 / dt_raw if math.isfinite(dt_raw) and dt_raw > 0.0 else 0.0
        settings = K.rep_settings(fs, int(FILTER_PAD_S * fs), FIT_FRACTION, fit_min, FIT_SIDE_S, load,
                                  SHAPE_PASSES, tol_floor, raw_hz, step if math.isfinite(step) else 0.0)
        return w0, window, bottom_rel, top - w0, pt, settings, dt_raw, step

    def _precompute_reps(self, events: np.ndarray) -> None:
        """Analyse the rises among ``events`` on ``self.rep_workers`` threads before they are
        taken in order (analyze_rep releases the GIL): a whole recording's rises, whose inputs
        are all known once detection has run. Nothing is decided here: each result is used only
        by the rise whose inputs it was computed from (``_rise_events``), so the reps, the stop
        rule and every number are those of the one-by-one path."""
        self._precomputed.clear()
        if self.rep_workers <= 1 or len(events) < PARALLEL_MIN_RISES or interpreted():
            return
        jobs = {}
        for kind, bottom, top, confirm, prev_top in events:
            if kind == K.EV_REP or kind == K.EV_REVISE:
                key = (int(bottom), int(top), int(confirm), int(prev_top))
                if key not in jobs:
                    jobs[key] = self._rep_inputs(*key)
        jobs = [(key, inputs) for key, inputs in jobs.items() if inputs is not None]
        if len(jobs) < PARALLEL_MIN_RISES:
            return
        from concurrent.futures import ThreadPoolExecutor

        coeffs = self._coeffs.copy()

        def run(job):
            key, (w0, window, b, t, pt, settings, dt_raw, step) = job
            out = K.rep_result()
            K.analyze_rep(window, coeffs, b, t, pt, settings, out)
            return key, ((step, dt_raw), w0, settings.tobytes(), coeffs.tobytes(), out)

        with ThreadPoolExecutor(self.rep_workers, thread_name_prefix="rep") as pool:
            self._precomputed = dict(pool.map(run, jobs))

    def _rise_events(self, bottom: int, top: int, confirm: int, prev_top: int, replaces: Rep | None) -> list:
        seg = self.config.segmentation
        done = self._precomputed.pop((bottom, top, confirm, prev_top), None)
        inputs = self._rep_inputs(bottom, top, confirm, prev_top, done[0] if done is not None else None)
        if inputs is None:
            return []
        w0, window, bottom_rel, top_rel, pt, settings, dt_raw, step = inputs
        fs = self._fs
        load = self.config.load_kg or 0.0
        if done is not None and done[1:4] == (w0, settings.tobytes(), self._coeffs.tobytes()):
            # the same inputs (a set that ended inside the chunk may have changed the settings)
            self._rep_out[0] = done[4][0]
        else:
            # the raw kernel, not a checked wrapper: the window and the buffers are ours, already right
            K.analyze_rep(window, self._coeffs, bottom_rel, top_rel, pt, settings, self._rep_out)
        o = self._rep_out[0]
        if not o["ok"]:
            log.debug("rise at %.2f s rejected: no valid concentric phase", top / fs)
            return []
        if o["rom_m"] < seg.min_rom_m * 0.9 or o["mean_velocity_m_s"] < seg.min_mean_velocity_m_s or \
                o["t1_s"] - o["t0_s"] > seg.max_concentric_s:
            return []
        quality = QUALITY_OK
        method = int(o["method"])
        if method == 3:
            quality = "ends uncertain: the recorded bar goes down inside the rise"
        elif math.isfinite(dt_raw) and dt_raw * COARSE_MIN_SAMPLES > o["t1_s"] - o["t0_s"]:
            quality = "too few samples for this rep's speed"
        elif math.isfinite(step) and step * COARSE_MIN_STEPS > o["rom_m"]:
            quality = "encoder steps too coarse for this rep's range"
        acc = self.config.accommodation
        if acc is not None and not acc.empty and load > 0.0:
            self._accommodate(o, window, acc, load)
        return self._add_rep(o, w0 / fs, confirm / fs, quality, replaces)

    def _accommodate(self, o: np.void, window: np.ndarray, acc, load: float) -> None:
        """Bands and chains: force and power from the load at each height (vbt.resistance); the
        velocities are left as the kernel measured them."""
        from vbt.resistance import rep_forces

        xf = np.empty(window.size)
        K.filtfilt(np.ascontiguousarray(window), self._coeffs, int(FILTER_PAD_S * self._fs), xf)
        forces = rep_forces(xf, self._fs, float(o["t0_s"]), float(o["t1_s"]), float(o["mean_velocity_m_s"]),
                            float(o["rom_m"]), load, acc)
        if forces is not None:
            o["mean_force_n"], o["peak_force_n"], o["mean_power_w"], o["peak_power_w"] = forces

    def _origin_s(self) -> float:
        """The input's time of the tracker's first sample: the analysis counts from it, every event
        and rep is given back on the input's own time base (a live session's stream time)."""
        return float(self._rs_state[K.RS_ORIGIN])

    def _add_rep(self, o: np.void, offset_s: float, decided_s: float, quality: str = QUALITY_OK,
                 replaces: Rep | None = None) -> list:
        """``offset_s`` and ``decided_s`` in tracker time (seconds from the first sample). ``replaces``:
        the set's first and only rep, which this one replaces (RepRevised)."""
        def opt(name):
            val = float(o[name])
            return None if math.isnan(val) else val

        if replaces is not None:  # the set's first rep: the rule starts again without it
            self._reps.pop()
            self._rule = StopRule(self.config.stop_rule)
        index = len(self._reps) + 1
        origin = self._origin_s()
        rep = Rep(
            index=index,
            concentric_start_s=offset_s + float(o["t0_s"]) + origin,
            concentric_end_s=offset_s + float(o["t1_s"]) + origin,
            mean_velocity_m_s=float(o["mean_velocity_m_s"]),
            mean_propulsive_velocity_m_s=float(o["mean_propulsive_velocity_m_s"]),
            peak_velocity_m_s=float(o["peak_velocity_m_s"]),
            rom_m=float(o["rom_m"]),
            time_to_peak_velocity_s=float(o["time_to_peak_velocity_s"]),
            concentric_duration_s=float(o["t1_s"] - o["t0_s"]),
            eccentric_duration_s=opt("eccentric_duration_s") if index > 1 or opt("eccentric_duration_s") else None,
            eccentric_mean_velocity_m_s=opt("eccentric_mean_velocity_m_s"),
            bottom_pause_s=opt("bottom_pause_s"),
            mean_force_n=opt("mean_force_n"),
            peak_force_n=opt("peak_force_n"),
            mean_power_w=opt("mean_power_w"),
            peak_power_w=opt("peak_power_w"),
            # a device fault during the rep comes first; else what the analysis doubts
            quality=_first_doubt(self._quality(offset_s + float(o["t0_s"]), offset_s + float(o["t1_s"])),
                                 self._edge_doubt(offset_s + float(o["t0_s"]), offset_s + float(o["t1_s"]),
                                                  float(o["peak_velocity_m_s"])),
                                 quality),
        )
        verdict = self._rule.add(rep)
        rep = rep.with_loss(verdict.velocity_loss_pct)
        self._reps.append(rep)
        self._revisable = rep
        decided_s += origin
        if replaces is not None:
            events: list = [RepRevised(rep, verdict.best_rep, decided_s, replaces)]
        else:
            events = [RepCompleted(rep, verdict.best_rep, decided_s)]
        limit = self.config.stop_rule.velocity_loss_pct
        if verdict.stop:
            events.append(StopSet(index, verdict.velocity_loss_pct, limit, decided_s))
        elif verdict.warning and self._rule.stop_rep is None:
            events.append(VelocityWarning(index, verdict.velocity_loss_pct, limit, decided_s))
        return events

    def _end_set_event(self, reason: str, t_s: float | None = None) -> SetEnded:
        result = self.current_set()
        event = SetEnded(result, reason, self.stream_time_s + self._origin_s() if t_s is None else t_s)
        self._new_set()
        return event


def _edge_speed(t: np.ndarray, x: np.ndarray, at: float) -> float:
    """The bar's speed at time ``at`` (the first or the last sample of ``t``): the slope there of a
    least-squares parabola through the samples. A bar that starts from rest at the first sample has
    none there, however fast it then accelerates; one already rising has its speed."""
    u = t - at
    scale = float(np.abs(u).max())
    if scale <= 0.0:
        return 0.0
    try:
        coef = np.polynomial.polynomial.polyfit(u / scale, x, 2)
    except (np.linalg.LinAlgError, ValueError):
        return 0.0
    return float(coef[1]) / scale


def _first_doubt(*qualities: str) -> str:
    """The first quality that is not "ok", else "ok"."""
    return next((q for q in qualities if q != QUALITY_OK), QUALITY_OK)


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel before the first live sample."""
    from vbt.compile_cache import prepare
    from vbt.simulate import SensorSpec, simulate_set

    prepare()  # a first run: two halves compiled at once

    sim = simulate_set(0, style="squat", sensor=SensorSpec(rate_hz=500.0), n_reps=2, setup=False, rerack=False)
    tr = LiveTracker(AnalysisConfig(load_kg=60.0))
    tr.feed(sim.t_s, sim.position_m)
    tr.finish()
