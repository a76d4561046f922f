"""A rack's worker in a process of its own (no Qt here, nor in the child).

With several racks in one window, every rack's reader, tracker and recorder threads in the GUI's
process share its one interpreter lock with the GUI thread: eight racks are 24+ threads, and a
rep's tile waited on them (issue 15). Here each rack's :class:`gui.session.DashboardBackend` (the
reader, the tracker, the history recorder, the demo emulator) runs in a child process started with
``multiprocessing``'s ``spawn`` context; the GUI process keeps one small receiving thread for all
racks.

:class:`ProcessBackend` is what the rack's window holds instead of a ``DashboardBackend``: the same
public methods (``start``, ``stop``, ``end_set``, ``configure``, ``annotate``, ``start_demo``,
``open_port``, ``look_again``, ``running``) and the same ``trace`` ring buffer, and it calls
``emit`` with the same :class:`gui.session.SessionEvent` objects, so ``gui.worker.SessionBridge``
and the window see no difference. Over the pipe (pickled tuples):

* parent → child: ``("call", name, args)`` a backend command; ``("trace", on)`` ship the rolling
  trace (only the rack opened full size needs it) or stop; ``("stop",)``.
* child → parent: ``("event", SessionEvent)``; ``("trace", reset, block)`` the trace rows written
  since the last chunk (``block`` is channels × rows; ``reset``: the whole window, drop what you
  have); ``("warm",)`` the analysis kernels are ready (see the kernel gate below).

Times: ``SessionEvent.emitted_s`` is ``time.perf_counter()`` in the child. On Linux that is
CLOCK_MONOTONIC, one clock for every process of the machine, so rep event → tile painted (the GUI
process's ``perf_counter()``) stays a valid latency across the process boundary.

A child that dies (killed, crashed) ends its pipe: the parent emits :class:`WorkerLost` for that
rack only. A parent that dies ends the child's pipe too: the child stops its backend, which records
the set in progress. ``stop`` asks the child to stop the same way (the set in progress is recorded)
and waits for it; a child that does not stop in time is terminated, then killed.

Kernel gate: numba compiles the analysis kernels on a cold cache (a minute on two cores); eight
children starting at once would each compile them. When :func:`vbt.compile_cache.probably_cold`
says the cache is cold, the first child started warms the kernels before its backend starts and
reports ``warm``; the other children are spawned only then, and load the kernels from the cache.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import ClassVar

from gui.ringbuffer import RingBuffer
from gui.session import LiveSettings, SessionEvent, Status

log = logging.getLogger(__name__)

COMMANDS = frozenset({"end_set", "configure", "annotate", "start_demo", "open_port", "look_again"})
TRACE_SHIP_S = 0.016  # the opened rack's trace goes to the window about once a frame
# The rack processes run at a lower priority than the GUI process: when the GUI thread wakes to paint a
# rep it goes first (its process needs ~0.03 cores, the racks lose nothing); on a 2-core machine shared
# with other work it cut the overview paint's p99 by 40-50 % in runs alternating 5 and 0 (team_racks.py).
WORKER_NICE = 5


@dataclass(frozen=True)
class WorkerLost:
    """The rack's worker process ended without being asked to (killed, crashed): nothing more
    comes from this rack; ``exitcode`` as ``multiprocessing`` reports it (negative: the signal)."""

    message: str
    exitcode: int | None
    type: ClassVar[str] = "worker_lost"


def trace_capacity(trace_s: float, trace_step_s: float) -> int:
    """The trace ring's rows, as ``DashboardBackend`` sizes it."""
    return int(trace_s / trace_step_s * 1.2) + 64


# ---- the child --------------------------------------------------------------------------------


def _rack_backend(emit, **kwargs):
    """A ``DashboardBackend`` whose rolling trace is made only while it is shipped (the rack is opened
    full size): a hidden rack's display velocity is a quarter of its worker's CPU, for nobody. While
    not shipped, the raw samples of the last trace window are kept; when shipping starts they become
    the trace at once (the opened rack shows its last seconds straight away)."""
    import numpy as np

    from gui.session import DashboardBackend

    class RackBackend(DashboardBackend):
        def __init__(self, emit, **kw):
            super().__init__(emit, **kw)
            self._trace_lock = threading.Lock()
            self._trace_on = False
            # raw time and position of the last trace window, at up to 2 kHz
            self._raw = RingBuffer(int(kw.get("trace_s", 12.0) * 2000) + 64, 2)

        def _trace_samples(self, t_s, position_m) -> None:
            with self._trace_lock:
                if self._trace_on:
                    super()._trace_samples(t_s, position_m)
                else:
                    self._raw.append(t_s, position_m)
                    self.samples_seen += int(t_s.size)

        def keep_trace(self, on: bool) -> None:
            with self._trace_lock:
                if on and not self._trace_on:
                    self.trace.clear()
                    self._velocity.reset()
                    self._trace_slot = -np.inf
                    raw = self._raw.latest()
                    self._raw.clear()
                    self._trace_on = True
                    if raw.shape[1]:
                        seen = self.samples_seen
                        super()._trace_samples(raw[0], raw[1])
                        self.samples_seen = seen
                elif not on:
                    self._trace_on = False

    return RackBackend(emit, **kwargs)


def _child_main(conn, kwargs: dict, warm_first: bool) -> None:
    """The child process: one ``DashboardBackend``; commands from the pipe, events and trace to it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the terminal: the parent stops us in order

    def on_term(_signum, _frame):  # terminate(): stop as on "stop", the set in progress is recorded
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    os.nice(WORKER_NICE)
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the parent asks where a slow stop hangs
    logging.basicConfig(level=logging.WARNING, format="%(processName)s %(levelname)s %(name)s: %(message)s")
    lock = threading.Lock()
    parent_gone = threading.Event()

    def send(msg) -> None:
        if parent_gone.is_set():
            return
        with lock:
            try:
                conn.send(msg)
            except (OSError, EOFError, ValueError):
                parent_gone.set()

    def emit(event: SessionEvent) -> None:
        send(("event", event))

    backend = None
    done = threading.Event()
    shipping = {"on": False, "reset": True}
    try:
        if warm_first:
            from vbt.compile_cache import preparing_words
            from vbt.tracker import warm_up

            emit(SessionEvent(Status(preparing_words()), 1, time.perf_counter()))
            t0 = time.perf_counter()
            warm_up()
            log.info("kernels warmed in %.1f s", time.perf_counter() - t0)
            send(("warm",))
        backend = _rack_backend(emit, **kwargs)
        backend.start()
        ring = backend.trace

        def ship() -> None:
            shipped = ring.written
            while not done.wait(TRACE_SHIP_S):
                if not shipping["on"]:
                    continue
                if shipping["reset"]:
                    shipping["reset"] = False
                    shipped, block = ring.newer_than(-1 << 62)  # the whole window
                    send(("trace", True, block))
                elif ring.written != shipped:
                    shipped, block = ring.newer_than(shipped)
                    send(("trace", False, block))

        threading.Thread(target=ship, name="vbt-rack-trace", daemon=True).start()
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                parent_gone.set()
                break
            if msg[0] == "call" and msg[1] in COMMANDS:
                getattr(backend, msg[1])(*msg[2])
            elif msg[0] == "trace":
                backend.keep_trace(bool(msg[1]))
                shipping["reset"] = True
                shipping["on"] = bool(msg[1])
            elif msg[0] == "stop":
                break
    finally:
        done.set()
        if backend is not None:
            t0 = time.perf_counter()
            backend.stop()  # the set in progress ends and is recorded
            took = time.perf_counter() - t0
            if took > 2.0:
                log.warning("the rack's worker took %.1f s to stop", took)
        try:
            conn.close()
        except OSError:
            pass


# ---- the parent: one receiving thread for every rack ------------------------------------------


class _Receiver:
    """One thread waiting on every child's pipe; each message goes to its rack's handler."""

    _shared: "_Receiver | None" = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> "_Receiver":
        with cls._shared_lock:
            if cls._shared is None or not cls._shared._thread.is_alive():
                cls._shared = cls()
            return cls._shared

    def __init__(self):
        self._lock = threading.Lock()
        self._handlers: dict = {}  # connection -> (on_message, on_eof)
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._run, name="vbt-rack-receiver", daemon=True)
        self._thread.start()

    def add(self, conn, on_message, on_eof) -> None:
        with self._lock:
            self._handlers[conn] = (on_message, on_eof)
        self._wake_w.send(None)

    def _run(self) -> None:
        while True:
            with self._lock:
                conns = list(self._handlers)
            for conn in multiprocessing.connection.wait([self._wake_r, *conns]):
                if conn is self._wake_r:
                    self._wake_r.recv()
                    continue
                on_message, on_eof = self._handlers[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError, ValueError):  # the child ended: its pipe is closed here
                    with self._lock:
                        del self._handlers[conn]
                    conn.close()
                    self._call(on_eof)
                    continue
                self._call(on_message, msg)

    @staticmethod
    def _call(fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - one rack's handler failing must not stop the others'
            log.exception("rack message handler failed")


class _KernelGate:
    """Children wait while the first one warms a cold kernel cache (see the module docstring)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._state = "unknown"  # "warming" while the first child compiles, then "ready"
        self._waiting: list = []

    def enter(self, spawn) -> bool:
        """Call ``spawn(warm_first)`` now (True), or (another child is warming the cache) once it is
        warm (False)."""
        with self._lock:
            if self._state == "warming":
                self._waiting.append(spawn)
                return False
            leader = False
            if self._state == "unknown":
                from vbt.compile_cache import probably_cold

                leader = probably_cold()
                self._state = "warming" if leader else "ready"
        spawn(leader)
        return True

    def release(self) -> None:
        with self._lock:
            if self._state != "warming":
                return
            self._state = "ready"
            waiting, self._waiting = self._waiting, []
        for spawn in waiting:
            spawn(False)


GATE = _KernelGate()


class ProcessBackend:
    """A ``DashboardBackend`` in a child process (see the module docstring); the keyword arguments
    are ``DashboardBackend``'s (they must pickle). ``emit`` is called on the receiving thread."""

    def __init__(self, emit, *, trace_s: float = 12.0, trace_step_s: float = 0.005, **kwargs):
        problems = kwargs.get("settings", LiveSettings()).validate()
        if problems:
            raise ValueError("; ".join(problems))
        self._emit_cb = emit
        self._kwargs = dict(kwargs, trace_s=trace_s, trace_step_s=trace_step_s)
        self.trace = RingBuffer(trace_capacity(trace_s, trace_step_s), 3)
        self.process = None
        self._conn = None
        self._lock = threading.Lock()
        self._pending: list = []  # commands given before the child was spawned
        self._started = False
        self._stopping = False
        self._leader = False
        self._eof = threading.Event()
        # one thread at a time waits for the child: two waiting at once race in os.waitpid, and the
        # loser is told "still running" about a child already gone
        self._join_lock = threading.Lock()
        self._set_seq = 1
        self.exitcode: int | None = None
        self.lost = False

    # ---- public, any thread ---------------------------------------------------------------
    def start(self) -> "ProcessBackend":
        if self._started:
            raise RuntimeError("session already started")
        self._started = True
        if not GATE.enter(self._spawn):
            self._emit_cb(SessionEvent(Status("waiting while another rack prepares the analysis (first run)"),
                                       1, time.perf_counter()))
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and not self._eof.is_set()  # its pipe closes when it ends

    @property
    def reader(self):
        return None  # in the child

    def end_set(self, reason: str = "manual") -> None:
        self._command("end_set", reason)

    def configure(self, settings: LiveSettings) -> None:
        self._command("configure", settings)

    def annotate(self, set_seq: int, rpe, note) -> None:
        self._command("annotate", set_seq, rpe, note)

    def start_demo(self, options=None) -> None:
        from gui.session import DemoOptions

        self._command("start_demo", options or DemoOptions())

    def open_port(self, port: str, protocol: str = "auto") -> None:
        self._command("open_port", port, protocol)

    def look_again(self) -> None:
        self._command("look_again")

    def ship_trace(self, on: bool) -> None:
        """Ship the rolling trace (the whole window first) while ``on``: for the rack opened full size."""
        self._send(("trace", bool(on)))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child (its set in progress is recorded) and wait for it; idempotent."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            conn, proc = self._conn, self.process
        if proc is None:
            return  # never spawned (waiting behind the kernel gate): nothing to stop
        if conn is not None:
            try:
                conn.send(("stop",))
            except (OSError, ValueError):
                pass
        with self._join_lock:
            self._stop_child(proc, timeout)
        self._eof.wait(3.0)  # everything the child sent before it ended has been delivered
        self.exitcode = proc.exitcode  # (the receiving thread closes the pipe at its end)

    def _stop_child(self, proc, timeout: float) -> None:
        proc.join(timeout + 5.0)  # the child's own stop waits up to ``timeout`` for its session thread
        if proc.is_alive():
            log.error("rack process %s did not stop within %s s; its threads' stacks follow, then it is "
                      "terminated", proc.pid, timeout)
            try:
                os.kill(proc.pid, signal.SIGUSR1)  # every thread's stack on its stderr
            except OSError:
                pass
            proc.join(1.0)
            proc.terminate()
            proc.join(3.0)
            if proc.is_alive():
                proc.kill()
                proc.join(3.0)

    # ---- internals --------------------------------------------------------------------------
    def _command(self, name: str, *args) -> None:
        self._send(("call", name, args))

    def _send(self, msg) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._conn is None:
                self._pending.append(msg)
                return
            try:
                self._conn.send(msg)
            except (OSError, ValueError):
                pass  # the child is gone; its end reports it

    def _spawn(self, warm_first: bool) -> None:
        with self._lock:
            if self._stopping:
                if warm_first:
                    GATE.release()
                return
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_child_main, args=(child, self._kwargs, warm_first), daemon=True,
                               name=f"vbt-rack-{self._kwargs.get('settings', LiveSettings()).athlete}")
            self._leader = warm_first
            proc.start()
            child.close()
            self.process, self._conn = proc, parent
            for msg in self._pending:
                try:
                    parent.send(msg)
                except (OSError, ValueError):
                    break
            self._pending.clear()
        _Receiver.shared().add(parent, self._on_message, self._on_eof)

    def _on_message(self, msg) -> None:
        kind = msg[0]
        if kind == "event":
            event = msg[1]
            self._set_seq = event.set_seq
            self._emit_cb(event)
        elif kind == "trace":
            if msg[1]:
                self.trace.clear()
            block = msg[2]
            if block.shape[1]:
                self.trace.append(*block)
        elif kind == "warm":
            self._leader = False
            GATE.release()

    def _on_eof(self) -> None:
        if self._leader:  # it never got the kernels warm: let the others start anyway
            self._leader = False
            GATE.release()
        proc = self.process
        with self._lock:
            stopping = self._stopping
        if not stopping:
            self.lost = True
            with self._join_lock:
                if proc is not None:
                    proc.join(1.0)
                    self.exitcode = proc.exitcode
            how = (f"killed by signal {-self.exitcode}" if self.exitcode is not None and self.exitcode < 0
                   else f"exit code {self.exitcode}")
            log.error("rack process %s ended (%s)", proc.pid if proc else "?", how)
            self._emit_cb(SessionEvent(WorkerLost(f"the rack's worker process ended ({how})", self.exitcode),
                                       self._set_seq, time.perf_counter()))
        self._eof.set()
