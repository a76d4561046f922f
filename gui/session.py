"""The dashboard's worker: finds the transducer, runs the device session and records the sets.

No Qt here. :class:`DashboardBackend` owns a thread that does everything that can wait on hardware or
disk: opening the history (``vbt.store.SetRecorder``, which has its own writer thread), warming
the analysis kernels, discovery (``firmware_bridge.discovery``), the in-process demo emulator
(``firmware_bridge.emulator`` on a real pty), and the device session
(``firmware_bridge.live.LiveSession``: the real ``DeviceReader`` feeding ``vbt.tracker.LiveTracker``
on its own worker thread, all times in reader stream time).

Everything it learns goes out through one callback, ``emit(SessionEvent)``, called on a worker
thread (the device session's, this session's, or for ``set_saved`` the recorder's writer);
``gui.worker`` turns each call into the queued Qt signal named for the event's ``type``. Commands
from the GUI (end set, new settings, RPE and note, start the demo) are queued to this session's
thread and never block the caller.

The rolling trace is written into :attr:`DashboardBackend.trace` (a :class:`gui.ringbuffer.RingBuffer`
of stream time, position and display velocity), which the GUI's frame timer reads.

Events (``SessionEvent.payload``; each class's ``type`` is its one name, and the Qt signal's)
------------------------------------------------------------------------------------------
From the live session, as they come: ``rep`` RepCompleted · ``warning`` VelocityWarning · ``stop``
StopSet · ``set_end`` SetEnded · ``day_done`` DayDone · ``tempo_miss`` TempoMiss (``vbt.results``) ·
``device_connected`` DeviceConnected · ``device_lost`` DeviceLost · ``device_unavailable``
DeviceUnavailable · ``health`` HealthEvent · ``line_errors`` LineErrors (``firmware_bridge.events``).
The dashboard's own, defined here: ``no_device`` NoDevice · ``choose_port`` ChoosePort (several
transducers answered; ``open_port`` opens the chosen one) · ``status`` Status · ``error`` Problem (a
problem a person should see, e.g. the history cannot be written) · ``set_saved`` SetSaved ·
``demo_started`` DemoStarted · ``history_changed`` HistoryChanged (example sets written for the demo)
· ``storage_failed`` / ``storage_recovered`` StorageFailed / StorageRecovered (the history stopped /
started being written again: once each per episode) · ``plan_changed`` PlanChanged.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from gui.ringbuffer import DisplayVelocity, RingBuffer
from gui.state import AutoEnd
from vbt.config import AnalysisConfig, SegmentationConfig, StopRuleConfig
from vbt.fields import DEFAULT_MIN_ROM_M, load_problem, side_problem

if TYPE_CHECKING:
    from firmware_bridge.live import HistoryHook

log = logging.getLogger(__name__)

STOP_REASON_AUTO = "velocity_loss"  # stop reason stored when the set is ended at the stop rule


@dataclass(frozen=True)
class LiveSettings:
    """Everything the person sets for the next set (units in names, as in ``vbt.config``)."""

    athlete: str = "default"
    exercise: str = "squat"
    load_kg: float | None = None
    side: str = "both"
    threshold_pct: float = 10.0
    metric: str = "mean"
    warning_margin_pct: float = 3.0
    set_end_stillness_s: float = 3.0
    auto_end: bool = False
    grace_rep: bool = False
    # the athlete's training plan sets the velocity-loss limit (its active block's) when there is one
    plan_limit: bool = True
    # the training method: tempo target ("3:1", "" for none), warm-up, the day rule's floor
    tempo: str = ""
    tempo_margin_s: float = 0.5
    warmup: bool = False
    warmup_below_kg: float | None = None
    day_floor_pct: float = 90.0
    # bands and chains on the bar (vbt.resistance; None: none): force and power use the load at each height
    band_top_n: float | None = None
    band_bottom_n: float | None = None
    chain_kg_per_m: float | None = None
    # the transducer hangs upside down (the cable shortens as the bar rises): the reader negates what
    # it reads; changed while a device is open, the device is opened again (the set in progress ends)
    upside_down: bool = False

    def accommodation(self):
        """The bands and chains as a ``vbt.resistance.Accommodation`` (None: none)."""
        from vbt.resistance import Accommodation

        acc = Accommodation(band_top_n=self.band_top_n, band_bottom_n=self.band_bottom_n,
                            chain_kg_per_m=self.chain_kg_per_m)
        return None if acc.empty else acc

    def tempo_target(self):
        """The tempo as a ``vbt.tempo.Tempo`` (None: no target); raises TempoError for bad text."""
        from vbt.tempo import parse_tempo

        return parse_tempo(self.tempo, self.tempo_margin_s) if self.tempo.strip() else None

    def day_config(self):
        from vbt.dayrule import DayRuleConfig

        return DayRuleConfig(floor_pct=self.day_floor_pct, warmup_below_kg=self.warmup_below_kg, metric=self.metric)

    def context(self):
        from firmware_bridge.live import MethodContext

        return MethodContext(athlete=self.athlete, exercise=self.exercise, load_kg=self.load_kg, warmup=self.warmup,
                             tempo=self.tempo_target(), side=self.side, accommodation=self.accommodation())

    def validate(self) -> list[str]:
        problems = []
        if not self.athlete.strip():
            problems.append("athlete: a name is needed")
        if not self.exercise.strip():
            problems.append("exercise: a name is needed")
        problems += [p for p in (load_problem(self.load_kg), side_problem(self.side)) if p]
        problems += StopRuleConfig(self.threshold_pct, self.metric, self.warning_margin_pct).validate()
        problems += SegmentationConfig(set_end_stillness_s=self.set_end_stillness_s).validate()
        from vbt.tempo import TempoError

        try:
            self.tempo_target()
        except TempoError as exc:
            problems.append(str(exc))
        problems += self.day_config().validate()
        from vbt.fields import accommodation_problems

        problems += accommodation_problems(band_top_n=self.band_top_n, band_bottom_n=self.band_bottom_n,
                                           chain_kg_per_m=self.chain_kg_per_m)
        return problems

    def analysis_config(self, min_rom_m: float = DEFAULT_MIN_ROM_M) -> AnalysisConfig:
        return AnalysisConfig(
            segmentation=SegmentationConfig(min_rom_m=min_rom_m, set_end_stillness_s=self.set_end_stillness_s),
            stop_rule=StopRuleConfig(self.threshold_pct, self.metric, self.warning_margin_pct),
            load_kg=self.load_kg,
            accommodation=self.accommodation(),
        )


@dataclass(frozen=True)
class NoDevice:
    """Discovery found no transducer; ``reason`` says why."""

    reason: str
    type: ClassVar[str] = "no_device"


@dataclass(frozen=True)
class ChoosePort:
    """Several transducers answered (``firmware_bridge.discovery.PortReport`` each)."""

    reports: list
    type: ClassVar[str] = "choose_port"


@dataclass(frozen=True)
class Status:
    """What the worker is doing."""

    text: str
    type: ClassVar[str] = "status"


@dataclass(frozen=True)
class Problem:
    """A problem a person should see."""

    message: str
    type: ClassVar[str] = "error"


@dataclass(frozen=True)
class SetSaved:
    """The set is durable in the history under ``set_id``."""

    set_id: int
    type: ClassVar[str] = "set_saved"


@dataclass(frozen=True)
class DemoStarted:
    """The demo emulator runs on ``port``."""

    port: str
    type: ClassVar[str] = "demo_started"


@dataclass(frozen=True)
class HistoryChanged:
    """Sets were written into the history behind the GUI's back (the demo's examples)."""

    sets_written: int
    type: ClassVar[str] = "history_changed"


@dataclass(frozen=True)
class StorageFailed:
    message: str
    type: ClassVar[str] = "storage_failed"


@dataclass(frozen=True)
class StorageRecovered:
    message: str
    type: ClassVar[str] = "storage_recovered"


@dataclass(frozen=True)
class PlanChanged:
    """The athlete's plan for the next set: its week (``vbt.plan.PlanWeek``) and the exercise's zone
    (``vbt.plan.ZoneTarget``), either None (the legend shows them before any rep)."""

    week: object
    zone: object
    type: ClassVar[str] = "plan_changed"


# What the live session reports that the dashboard passes on as it is (samples go to the trace).
FORWARDED = frozenset({"rep", "rep_revised", "warning", "stop", "day_done", "tempo_miss", "device_connected",
                       "device_lost", "device_unavailable", "health", "line_errors"})


@dataclass(frozen=True)
class SessionEvent:
    """What the worker reports: ``payload`` is the event (one class per event, see above);
    ``set_seq`` numbers the sets of this session from 1; ``emitted_s`` is ``time.perf_counter()``
    when it was emitted (for latency figures)."""

    payload: object
    set_seq: int
    emitted_s: float

    @property
    def type(self) -> str:
        return self.payload.type


@dataclass(frozen=True)
class DemoOptions:
    """The built-in emulated transducer: protocol, seed and motion script (default: a seeded lifter)."""

    protocol: str = "native"
    seed: int = 7
    script: object = None  # firmware_bridge.motion.MotionScript; None: gui.demo.demo_script(seed)
    emulator_kwargs: dict = field(default_factory=dict)
    seed_history: bool = False  # fill the (throwaway) history with example sessions first


def set_fields(settings: LiveSettings) -> dict:
    """The fields of a set in the history, from the dashboard's settings."""
    return dict(exercise=settings.exercise, load_kg=settings.load_kg, athlete=settings.athlete,
                side=settings.side, metric=settings.metric, threshold_pct=settings.threshold_pct)


class DashboardBackend:
    """The worker behind the live view (see the module docstring); the device session itself is
    ``firmware_bridge.live.LiveSession``, this keeps only the dashboard's duties.

    Parameters
    ----------
    emit
        Called with every :class:`SessionEvent` (keep it cheap; the Qt bridge only emits a signal).
    port
        A device name / pyserial URL, or ``"auto"`` to discover the transducer.
    protocol
        ``"auto"``, ``"chronojump"`` or ``"native"``.
    demo
        Run the built-in emulator instead of looking for hardware.
    home, record
        History directory for the recorder (None: the default); ``record=False`` records nothing.
    settings
        The first set's settings.
    trace_s
        Seconds of trace kept for the rolling plots.
    trace_step_s
        The rolling plots get one sample per ``trace_step_s`` (200 a second by default: bar motion has
        nothing above ~10 Hz, and a plot a few hundred pixels wide shows no more).
    rediscover_s
        How often discovery is retried while no transducer is found.
    reader_options
        Extra keyword arguments for ``DeviceReader``.
    """

    def __init__(self, emit, *, port: str = "auto", protocol: str = "auto", demo: DemoOptions | None = None,
                 home=None, record: bool = True, settings: LiveSettings = LiveSettings(), trace_s: float = 12.0,
                 rediscover_s: float = 3.0, reader_options: dict | None = None, trace_step_s: float = 0.005):
        problems = settings.validate()
        if problems:
            raise ValueError("; ".join(problems))
        self._emit_cb = emit
        self.port = port
        self.protocol = protocol
        self.demo = demo
        self.home = home
        self.record = record
        self.settings = settings
        self.rediscover_s = rediscover_s
        self.reader_options = dict(reader_options or {})
        self.trace_step_s = float(trace_step_s)
        self.trace = RingBuffer(int(trace_s / self.trace_step_s * 1.2) + 64, 3)
        self._velocity = DisplayVelocity()
        self._trace_slot = -np.inf
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.live = None  # firmware_bridge.live.LiveSession once a port is chosen
        self.emulator = None
        self.recorder = None
        self._hook: HistoryHook | None = None
        self._sync = None  # vbt.team.sync.SyncWorker when a team server is configured
        self._link_dir: str | None = None
        self._set_seq = 1
        self._set_ids: dict[int, object] = {}  # set_seq -> Future of the history set id
        self._auto = AutoEnd(settings.auto_end, settings.grace_rep)
        self._next_discovery = 0.0
        self._waiting_for_device = False
        self._min_rom: dict[str, float] = {}
        self._not_transducers: set[str] = set()
        self.samples_seen = 0

    # ---- public, any thread ---------------------------------------------------------------

    def start(self) -> "DashboardBackend":
        if self._thread is not None:
            raise RuntimeError("session already started")
        self._thread = threading.Thread(target=self._run, name="vbt-gui-session", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """End a set in progress (it is recorded), stop the device, the emulator and the recorder."""
        if self._thread is None:
            return
        self._stop.set()
        self._queue.put(("wake",))
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the live session did not stop within %s s", timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def reader(self):
        return self.live.reader if self.live is not None else None

    def end_set(self, reason: str = "manual") -> None:
        """End the set in progress now (nothing happens between sets)."""
        self._command(self._do_end_set, reason)

    def configure(self, settings: LiveSettings) -> None:
        """New settings. The rule and segmentation apply from the next set (as the tracker does);
        exercise, load and side are also corrected on the set being recorded."""
        self._command(self._do_configure, settings)

    def annotate(self, set_seq: int, rpe: float | None, note: str | None) -> None:
        """RPE and note for a finished set of this session (``set_seq`` from its events)."""
        self._command(self._do_annotate, set_seq, rpe, note)

    def start_demo(self, options: DemoOptions | None = None) -> None:
        """Switch to the built-in emulated transducer (after discovery found nothing)."""
        self._command(self._do_start_demo, options or DemoOptions())

    def open_port(self, port: str, protocol: str = "auto") -> None:
        """Open this transducer (the one a person chose when several answered)."""
        self._command(self._do_open_port, port, protocol)

    def look_again(self) -> None:
        """Resume looking for the transducer (the choice was cancelled)."""
        self._command(self._do_look_again)

    def _do_open_port(self, port: str, protocol: str) -> None:
        if self.live is None and self.emulator is None:
            self._waiting_for_device = False
            self._open_device(port, protocol)

    def _do_look_again(self) -> None:
        if self.live is None and self.emulator is None:
            self._waiting_for_device = True
            self._next_discovery = time.monotonic() + self.rediscover_s

    def _command(self, fn, *args) -> None:
        self._queue.put(("cmd", fn, args))

    # ---- emitting ---------------------------------------------------------------------------

    def _emit(self, event, set_seq: int | None = None) -> None:
        try:
            self._emit_cb(SessionEvent(event, self._set_seq if set_seq is None else set_seq, time.perf_counter()))
        except Exception:  # noqa: BLE001 - a broken listener must not kill the worker
            log.exception("session listener failed on %s", event.type)

    def _on_live_event(self, event) -> None:
        """The device session's worker thread: samples, device and analysis events, in order."""
        kind = event.type
        if kind == "samples":
            self._trace_samples(event.t_s, event.position_m)
            return
        if kind in FORWARDED:
            self._emit(event)
        elif kind == "set_end":
            if not event.result.reps:
                return
            seq = self._set_seq
            hook = self._hook
            if hook is not None and hook.ended is not None:
                fut, hook.ended = hook.ended, None
                self._set_ids[seq] = fut
                fut.add_done_callback(lambda f, seq=seq: self._saved(f, seq))
            self._set_seq += 1
            self._emit(event, seq)
        if kind in ("rep", "stop", "set_end") and self._auto.on_event(event) and self.live is not None:
            self.live.end_set(STOP_REASON_AUTO)

    def _trace_samples(self, t_s: np.ndarray, position_m: np.ndarray) -> None:
        """Display velocity from every sample; the first sample of each ``trace_step_s`` slot to the plots."""
        velocity = self._velocity.feed(t_s, position_m)
        slot = np.floor(t_s / self.trace_step_s)
        keep = np.empty(slot.size, dtype=bool)
        keep[0] = slot[0] != self._trace_slot
        np.not_equal(slot[1:], slot[:-1], out=keep[1:])
        self._trace_slot = slot[-1]
        if keep.any():
            self.trace.append(t_s[keep], position_m[keep], velocity[keep])
        self.samples_seen += int(t_s.size)

    def _saved(self, fut, seq: int) -> None:
        """The recorder's writer thread: the set is durable in the history."""
        if fut.cancelled() or fut.exception() is not None:
            return
        self._emit(SetSaved(fut.result()), seq)

    # ---- session thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._setup()
            while not self._stop.is_set():
                timeout = 0.5
                if self._waiting_for_device:
                    now = time.monotonic()
                    if now >= self._next_discovery:
                        self._discover()
                        continue
                    timeout = min(timeout, self._next_discovery - now)
                try:
                    item = self._queue.get(timeout=max(0.0, timeout))
                except queue.Empty:
                    continue
                if item[0] == "cmd":
                    _, fn, args = item
                    try:
                        fn(*args)
                    except Exception as exc:  # noqa: BLE001 - a bad command is reported, the session goes on
                        log.exception("command %s failed", getattr(fn, "__name__", fn))
                        self._emit(Problem(str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported, then the thread ends cleanly
            log.exception("live session failed")
            self._emit(Problem(f"the live session stopped: {exc}"))
        finally:
            self._teardown()

    def _setup(self) -> None:
        from vbt.exercises import BUILTIN_EXERCISES
        from vbt.tracker import warm_up

        if self.record and self.demo is not None and self.demo.seed_history:
            from gui.demo import seed_demo_history

            self._emit(Status("writing example history for the demo"))
            try:
                n = seed_demo_history(self.home, self.demo.seed)
                log.info("demo history: %d example sets written to %s", n, self.home)
                self._emit(HistoryChanged(n))
            except Exception as exc:  # noqa: BLE001 - the demo goes on without example history
                log.warning("demo history not written: %s", exc)
        if self.record:
            self._emit(Status("opening the history"))
            try:
                from firmware_bridge.live import HistoryHook
                from vbt.store import SetRecorder

                self.recorder = SetRecorder(self.home, on_error=lambda msg: self._emit(StorageFailed(msg)),
                                            on_recovered=lambda msg: self._emit(StorageRecovered(msg)))
                self._min_rom = {e.key: e.min_rom_m for e in self.recorder.exercises}
                self._hook = HistoryHook(self.recorder, on_error=lambda msg: self._emit(Problem(msg)),
                                         **set_fields(self.settings))
                from vbt.team import start_sync  # finished sets to the team server, when one is configured

                self._sync, note = start_sync(self.recorder.path, on_error=lambda msg: self._emit(Status(msg)),
                                              on_recovered=lambda msg: self._emit(Status(msg)))
                if note:
                    log.info("%s", note)
            except Exception as exc:  # noqa: BLE001 - the live view works without a history
                log.warning("history unavailable: %s", exc)
                self._emit(Problem(f"history not recorded: {exc}"))
                self.recorder = None
        if not self._min_rom:
            self._min_rom = {e.key: e.min_rom_m for e in BUILTIN_EXERCISES}
        if self._stop.is_set():
            return
        # Kernels are compiled (or loaded from the cache) before the first live sample.
        from vbt.compile_cache import preparing_words

        self._emit(Status(preparing_words()))
        t0 = time.perf_counter()
        warm_up()
        log.info("tracker kernels ready in %.2f s", time.perf_counter() - t0)
        if self._stop.is_set():
            return
        if self.demo is not None:
            self._do_start_demo(self.demo)
        elif self.port == "auto":
            self._waiting_for_device = True
            self._next_discovery = 0.0
        else:
            self._open_device(self.port, self.protocol)

    def _min_rom_for(self, exercise: str) -> float:
        from vbt.exercises import canonical_key, exercise_key

        return self._min_rom.get(exercise_key(exercise), self._min_rom.get(canonical_key(exercise), DEFAULT_MIN_ROM_M))

    def _discover(self) -> None:
        """Probe the serial ports for a transducer. Ports that answered as something else are not
        probed again until they disappear and come back (no probe bytes every few seconds to,
        say, a 3D printer on another port)."""
        from firmware_bridge import discovery

        self._emit(Status("looking for the transducer"))
        listed = discovery.list_ports()
        names = {p.device for p in listed}
        self._not_transducers &= names  # a port that went away is probed again when it returns
        try:
            reports = discovery.discover([p for p in listed if p.device not in self._not_transducers])
            report = discovery.choose(reports, self.protocol)
        except discovery.SeveralTransducers as exc:
            self._waiting_for_device = False  # no more probing: a person chooses (open_port)
            self._emit(ChoosePort(exc.reports))
            return
        except discovery.DiscoveryError as exc:
            self._not_transducers |= {r.port.device for r in reports
                                      if r.status in ("no_answer", "unknown_device", "wrong_device")}
            self._next_discovery = time.monotonic() + self.rediscover_s
            self._emit(NoDevice(str(exc)))
            return
        self._waiting_for_device = False
        self._open_device(report.port.device, report.protocol or self.protocol)

    def _open_device(self, port: str, protocol: str) -> None:
        from firmware_bridge.live import LiveSession as DeviceSession
        from firmware_bridge.live import history_day_book

        self._emit(Status(f"opening {port}"))
        if self._hook is not None:
            self._hook.warmup = self.settings.warmup
        self.live = DeviceSession(
            port, protocol, self.settings.analysis_config(self._min_rom_for(self.settings.exercise)),
            on_event=self._on_live_event, forward_samples=True, forward_health=True, button_ends_set=True,
            recorder=self._hook, reader_options={**self.reader_options, "inverted": self.settings.upside_down},
            warm=False,
            day_book=history_day_book(self.recorder, self.settings.day_config()), context=self._context(self.settings))
        self.live.start()

    def _do_start_demo(self, options: DemoOptions) -> None:
        from firmware_bridge.emulator import Emulator
        from gui.demo import demo_script

        if self.emulator is not None:
            return
        self._waiting_for_device = False
        script = options.script if options.script is not None else demo_script(options.seed)
        # A private link directory: the dashboard's demo device is not offered to other programs.
        self._link_dir = tempfile.mkdtemp(prefix="vbt-demo-")
        kwargs = dict(options.emulator_kwargs)
        kwargs.setdefault("link_dir", self._link_dir)
        self.emulator = Emulator(options.protocol, seed=options.seed, script=script, **kwargs)
        port = self.emulator.start()
        log.info("demo transducer (%s, seed %d) on %s", options.protocol, options.seed, port)
        self._emit(DemoStarted(port))
        self._open_device(port, options.protocol)

    def _do_end_set(self, reason: str = "manual") -> None:
        if self.live is not None:
            self.live.end_set(reason)

    def _context(self, settings: LiveSettings):
        """The method's context for the next set, with the zone the athlete's plan gives the exercise
        today (read here, on the backend thread: the GUI never waits on the disk)."""
        from dataclasses import replace

        from vbt.store.plans import plan_today

        context = settings.context()
        try:
            week, zone = plan_today(self.home, settings.athlete, settings.exercise)
        except Exception:  # noqa: BLE001 - no zone then; the dashboard shows the loss colours
            log.exception("reading the training plan failed")
            week = zone = None
        self._emit(PlanChanged(week, zone))  # the legend shows the zone and the plan's limit before any rep
        return replace(context, zone=zone)

    def _do_configure(self, settings: LiveSettings) -> None:
        problems = settings.validate()
        if problems:
            self._emit(Problem("; ".join(problems)))
            return
        old, self.settings = self.settings, settings
        self._auto.enabled, self._auto.grace_rep = settings.auto_end, settings.grace_rep
        if self.live is not None and settings.upside_down != old.upside_down:
            # Turned round: the same transducer opened again the other way up (the set in
            # progress ends and is kept, as when the cable is pulled; its readings were the old way).
            live, self.live = self.live, None
            try:
                live.stop(finish=True)
            except Exception:  # noqa: BLE001 - the device is opened again whatever became of the old session
                log.exception("stopping the device session failed")
            self._open_device(live.reader.port, live.reader.protocol)
        if self.live is not None:
            self.live.set_config(settings.analysis_config(self._min_rom_for(settings.exercise)))
            self.live.set_context(self._context(settings))
            book = self.live.day_book
            if book is not None and book.config != settings.day_config():
                book.config = settings.day_config()
                for rule in book.rules.values():
                    rule.config = book.config
        hook = self._hook
        if hook is None:
            return
        # The rule applies from the next set; who and what can be corrected on the open one.
        if hook.open and hook.set_id is not None:
            changes = {k: getattr(settings, k) for k in ("exercise", "load_kg", "side")
                       if getattr(settings, k) != getattr(old, k)}
            if changes:
                fut = hook.set_id
                self.recorder.submit(lambda store: store.update_set(fut.result(), **changes))
        hook.set_fields = set_fields(settings)
        hook.warmup = settings.warmup

    def _do_annotate(self, set_seq: int, rpe, note) -> None:
        fut = self._set_ids.get(set_seq)
        if self.recorder is None or fut is None:
            return
        fields = {"rpe": None if rpe is None else float(rpe), "note": note or None}
        self.recorder.submit(lambda store: store.update_set(fut.result(), **fields))

    def _teardown(self) -> None:
        if self.live is not None:
            try:
                self.live.stop(finish=True)  # the set in progress ends and is recorded
            except Exception:  # noqa: BLE001
                log.exception("stopping the device session failed")
        if self.emulator is not None:
            try:
                self.emulator.stop()
            except Exception:  # noqa: BLE001
                log.exception("stopping the demo transducer failed")
        if self._link_dir is not None:
            shutil.rmtree(self._link_dir, ignore_errors=True)
        if self.recorder is not None:
            self.recorder.stop()
        if self._sync is not None:
            self._sync.stop()
