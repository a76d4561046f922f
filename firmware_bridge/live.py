"""A live session: one reader, one analysis tracker, one event path out.

:class:`LiveSession` wires a :class:`~firmware_bridge.reader.DeviceReader` to a
``vbt.tracker.LiveTracker``. Threads: the reader thread reads the port and queues its events;
the session's worker thread takes them, feeds samples to the tracker and passes on, in order,
the reader's device events and the tracker's analysis events (``RepCompleted``,
``VelocityWarning``, ``StopSet``, ``SetEnded`` from ``vbt.results``). Consumers get them
through ``on_event`` (called on the worker thread: a GUI hands them to its own thread) or the
``events`` queue.

One time base: every ``t_s`` (samples, device events, rep times, set results)
is reader stream time, seconds since the session started: the tracker is fed stream time and
answers in it.

A set survives a reconnection: the tracker is never reset by a device loss, the reader keeps
time and position continuous, and the session does not advance the tracker's clock while the
device is away (the outage is not "stillness").
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, replace

from firmware_bridge.events import EventPath
from firmware_bridge.protocol import Samples
from firmware_bridge.reader import DeviceReader

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MethodContext:
    """Who lifts what in the next set, for the training method's rules (the day rule and tempo):
    athlete, exercise, load, whether it is a warm-up, and the tempo target (``vbt.tempo.Tempo``)."""

    athlete: str = "default"
    exercise: str = "unspecified"
    load_kg: float | None = None
    warmup: bool = False
    tempo: object = None
    side: str = "both"  # a unilateral set ("left", "right") is held to its own side's day
    zone: object = None  # vbt.plan.ZoneTarget: each rep is called below, in or above it
    accommodation: object = None  # vbt.resistance.Accommodation: stored with each set


def history_day_book(recorder, config=None):
    """A ``vbt.dayrule.DayBook`` that reads the history through ``recorder`` (a
    ``vbt.store.SetRecorder``): the athlete's load-velocity profile from the days before today, and
    today's sets already recorded (a restarted program keeps the day's best). Without a recorder,
    a book with neither."""
    import datetime

    from vbt.dayrule import DayBook, DayRuleConfig

    config = config or DayRuleConfig()
    if recorder is None:
        return DayBook(config)
    midnight = datetime.datetime.combine(datetime.date.today(), datetime.time()).timestamp()

    def profile_for(athlete, exercise, metric, side=None):
        fut = recorder.submit(lambda store: store.load_velocity_profile(
            exercise, athlete=athlete, metric=metric, until_unix_s=midnight, side=side))
        return fut.result(timeout=10.0)

    def earlier_sets(athlete, exercise, side=None):
        return recorder.submit(lambda store: store.day_sets(athlete, exercise, config.metric, midnight,
                                                            side)).result(10.0)

    return DayBook(config, profile_for=profile_for, earlier_sets=earlier_sets)


class LiveSession:
    """Reader plus tracker for one transducer.

    Parameters
    ----------
    port, protocol
        As for :class:`DeviceReader` (``protocol`` 'auto' probes).
    config
        ``vbt.config.AnalysisConfig`` for the tracker.
    on_event
        Called on the worker thread with every event; without it events go to :attr:`events`.
    forward_samples
        Pass ``samples`` events on (a GUI plots them); off for a headless consumer.
    forward_health
        Pass ``health`` events on.
    button_ends_set
        The device's button (pressed) ends the set in progress, as the GUI's button would.
    recorder
        Optional hook into the history store, called on the worker thread: ``record(event)`` for
        every analysis event and ``trace(t_s, position_m)`` for every chunk of samples (see
        :class:`HistoryHook`, which adapts ``vbt.store.SetRecorder``).
    reader_options
        Extra keyword arguments for :class:`DeviceReader` (candidates, inverted, timeouts...).
    outage_limit_s
        A device lost for longer than this ends the set in progress (reason ``device_lost``);
        a shorter outage is part of the set (the tracker re-anchors when the samples return, and a
        rep overlapping the outage is marked doubtful).
    """

    def __init__(self, port: str, protocol: str = "auto", config=None, *, on_event=None,
                 forward_samples: bool = True, forward_health: bool = True, button_ends_set: bool = True,
                 recorder=None, reader_options: dict | None = None, warm: bool = True,
                 outage_limit_s: float = 60.0, day_book=None, context: MethodContext | None = None):
        from vbt.config import AnalysisConfig
        from vbt.tracker import LiveTracker

        self.config = (config or AnalysisConfig()).checked()
        self.tracker = LiveTracker(self.config, auto_end_sets=True)
        self._path = EventPath(on_event)
        self._emit = self._path.emit
        self.events: queue.Queue = self._path.events  # without on_event, events come here
        self.forward_samples = forward_samples
        self.forward_health = forward_health
        self.button_ends_set = button_ends_set
        self.recorder = recorder
        self.warm = warm
        self.day_book = day_book  # vbt.dayrule.DayBook: judge each finished set against the day's best
        self.context = context or MethodContext()
        self.reader = DeviceReader(port, protocol, **(reader_options or {}))
        self._lock = threading.Lock()  # guards the tracker
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0: float | None = None  # stream time of the tracker's first sample (None: not fed yet)
        self.connected = False
        self.samples_fed = 0
        self.dropped_samples = 0
        self._error: BaseException | None = None
        self.outage_limit_s = float(outage_limit_s)
        self._lost_since: float | None = None  # stream time the device went away (an open outage)
        self.line_errors = 0

    # -- public -----------------------------------------------------------------------------
    def start(self) -> "LiveSession":
        if self.warm:
            from vbt.tracker import warm_up

            warm_up()  # compile or load the kernels now, never mid-set
        self.reader.start()
        self._thread = threading.Thread(target=self._run, name="live-session", daemon=True)
        self._thread.start()
        return self

    def stop(self, finish: bool = True, timeout: float = 5.0) -> None:
        """Stop reading; with ``finish``, close the set in progress (emits its SetEnded). Joins."""
        self.reader.stop(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("live session thread did not stop")
            self._thread = None
        self._drain()
        if finish:
            with self._lock:
                events = self.tracker.finish() if self._t0 is not None else []
            for ev in events:
                if ev.type == "set_end" and not ev.result.reps:
                    continue
                self._analysis_event(ev)

    def __enter__(self) -> "LiveSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def end_set(self, reason: str = "manual") -> None:
        """End the set in progress (thread-safe; handled on the worker thread)."""
        self._requests.put(("end_set", reason))

    def set_config(self, config) -> None:
        """New analysis settings, from the next set on (thread-safe)."""
        config.checked()
        self._requests.put(("config", config))

    def set_context(self, context: MethodContext) -> None:
        """Athlete, exercise, load, warm-up flag and tempo for the method's rules (thread-safe;
        the day rule reads it when a set ends, tempo for each rep)."""
        self._requests.put(("context", context))

    def current_set(self):
        """SetResult of the set in progress, in stream time (thread-safe)."""
        with self._lock:
            return self.tracker.current_set()

    def health(self):
        return self.reader.health()

    # -- worker -------------------------------------------------------------------------------

    def _analysis_event(self, event) -> None:
        event, extra = self._method(event)
        if self.recorder is not None:
            try:
                self.recorder.record(event)
            except Exception:
                _log.exception("recording %s into the history store failed", event.type)
        self._emit(event)
        for ev in extra:
            self._emit(ev)

    def _method(self, event):
        """The training method's rules on an analysis event: tempo per rep, the day rule at a set's
        end. Returns the event (a SetEnded carries the verdicts) and the events to emit after it."""
        ctx = self.context
        try:
            if event.type in ("rep", "rep_revised") and ctx.zone is not None:
                from vbt.plan import call_rep

                event = replace(event, zone=call_rep(ctx.zone, event.rep))
            if event.type == "set_end" and ctx.accommodation is not None:
                event = replace(event, accommodation=ctx.accommodation)
            if event.type == "rep" and ctx.tempo is not None:
                from vbt.results import TempoMiss
                from vbt.tempo import check_rep

                rt = check_rep(event.rep, ctx.tempo)
                if rt.kept is False:
                    t = ctx.tempo
                    return event, [TempoMiss(rt.index, rt.eccentric_s, rt.pause_s, t.eccentric_s, t.pause_s,
                                             t.margin_s, rt.reason(t), event.t_s)]
            elif event.type == "set_end" and event.result.reps:
                from vbt.results import DayDone
                from vbt.tempo import summarise

                day = None
                if self.day_book is not None:
                    day = self.day_book.add_set(ctx.athlete, ctx.exercise, event.result.reps, ctx.load_kg,
                                                ctx.warmup, side=ctx.side)
                tempo = summarise(event.result.reps, ctx.tempo) if ctx.tempo is not None else None
                event = replace(event, day=day, tempo=tempo)
                if day is not None and day.done:
                    return event, [DayDone(day, ctx.athlete, ctx.exercise, event.t_s)]
        except Exception:
            _log.exception("the training method's rules failed on %s", event.type)
        return event, []

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._serve_requests()
                self._check_outage()
                try:
                    event = self.reader.events.get(timeout=0.05)
                except queue.Empty:
                    continue
                self._handle(event)
        except BaseException as exc:
            self._error = exc
            _log.exception("live session worker failed")

    def _drain(self) -> None:
        while True:
            try:
                event = self.reader.events.get_nowait()
            except queue.Empty:
                break
            self._handle(event)
        self._serve_requests()

    def _serve_requests(self) -> None:
        while True:
            try:
                what, arg = self._requests.get_nowait()
            except queue.Empty:
                return
            if what == "end_set":
                self._end_set(arg)
            elif what == "config":
                with self._lock:
                    self.tracker.set_config(arg)
            elif what == "context":
                self.context = arg

    def _end_set(self, reason: str) -> None:
        with self._lock:
            if self._t0 is None or not self.tracker.current_set().reps:
                return
            events = self.tracker.end_set(reason)
        for ev in events:
            self._analysis_event(ev)

    def _handle(self, event) -> None:
        kind = event.type
        if kind == "samples":
            self._feed(event)
            return
        if kind == "device_connected":
            self.connected = True
            self._lost_since = None
        elif kind == "device_lost":
            self.connected = False
            self._device_lost(event.t_s)
        elif kind == "line_errors":
            self._line_errors(event)
        elif kind == "health" and not self.forward_health:
            return
        self._emit(event)
        if kind == "button" and event.pressed and self.button_ends_set:
            self._end_set("manual")
        elif kind == "heartbeat" and self._t0 is not None:
            with self._lock:
                events = self.tracker.advance(event.t_s)
            for ev in events:
                self._analysis_event(ev)

    def _device_lost(self, t_s: float) -> None:
        """The set stays open while the device is away (a lost device is not stillness)."""
        if self._lost_since is None:
            self._lost_since = t_s
        with self._lock:
            self.tracker.device_lost(t_s)

    def _check_outage(self) -> None:
        """An outage longer than the limit ends the set, once."""
        lost = self._lost_since
        if lost is not None and self.reader.stream_time() - lost > self.outage_limit_s:
            self._lost_since = None
            self._end_set("device_lost")

    def _line_errors(self, event) -> None:
        """Counted and shown; a rep is doubtful only around readings refused as impossible motion
        (a frame lost to a bad checksum costs samples, not position)."""
        self.line_errors = event.total
        if event.implausible:
            with self._lock:
                self.tracker.line_errors(event.t_s, event.implausible)

    def _feed(self, event: Samples) -> None:
        if self._t0 is None:
            self._t0 = float(event.t_s[0])
        with self._lock:
            events = self.tracker.feed(event.t_s, event.position_m)
        self.samples_fed += len(event)
        if self.recorder is not None:
            try:
                self.recorder.trace(event.t_s, event.position_m)
            except Exception:
                _log.exception("recording the trace into the history store failed")
        if self.forward_samples:
            self._emit(event)
        for ev in events:
            self._analysis_event(ev)



class HistoryHook:
    """Records a live session into the history (``vbt.store.SetRecorder``): the one hook, used by
    ``vbt live`` and the dashboard; called on the session's worker thread.

    A set is opened in the store when its first rep completes (the tracker only knows a set has
    begun then; the recorder keeps the trace from before as pre-roll), with the fields in force
    then (:attr:`set_fields`: exercise, load_kg, athlete, side, metric, threshold_pct); each rep is
    committed as it comes, and the set is closed with the tracker's result on ``SetEnded``.
    :attr:`set_id` is the future of the id of the set most recently opened, :attr:`ended` that of
    the last end. A refused set (unknown exercise, bad load) goes to ``on_error`` as one line
    (without it, it is raised) and the session goes on.
    """

    def __init__(self, recorder, *, on_error=None, **set_fields):
        self.recorder = recorder
        self.set_fields = {k: v for k, v in set_fields.items() if k == "load_kg" or v not in (None, "")}
        self.on_error = on_error
        self.warmup = False  # the next set is a warm-up (stored with it; the day rule ignores it)
        self.open = False
        self.set_id = None  # Future of the open (or last) set's id
        self.ended = None  # Future of the last end_set

    def trace(self, t_s, position_m) -> None:
        self.recorder.add_trace(t_s, position_m)

    def record(self, event) -> None:
        try:
            if event.type == "rep":
                if not self.open:
                    self.set_id = self.recorder.start_set(**self.set_fields)
                    self.open = True
                self.recorder.add_rep(event.rep)
            elif event.type == "rep_revised" and self.open:
                self.recorder.revise_rep(event.rep)
            elif event.type == "set_end" and self.open:
                self.open = False
                self.ended = ended = self.recorder.end_set(event.result, event.reason)
                method = {"warmup": self.warmup, "day": getattr(event, "day", None),
                          "tempo": getattr(event, "tempo", None)}
                if any(method.values()):
                    self.recorder.submit(lambda store: store.set_method(ended.result(), **method))
                acc = getattr(event, "accommodation", None)
                if acc is not None:
                    self.recorder.submit(lambda store: store.set_accommodation(ended.result(), acc))
        except Exception as exc:
            self.open = False
            if self.on_error is None:
                raise
            self.on_error(f"history: {exc}")

    def close(self) -> None:
        self.recorder.stop()
