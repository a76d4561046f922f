"""Recording live sets into the history on a writer thread of its own (:class:`SetRecorder`)."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vbt.exercises import Exercise, find_exercise
from vbt.fields import check_set_fields
from vbt.results import Rep, SetResult
from vbt.store.errors import StoreError, UnknownExerciseError
from vbt.store.paths import database_path
from vbt.store.records import _now
from vbt.store.store import DEFAULT_ATHLETE, HEARTBEAT_S, Store

log = logging.getLogger(__name__)

Future = concurrent.futures.Future


# ---- commands from the caller to the writer thread ----------------------------------------------


@dataclass(frozen=True)
class SetParams:
    """What :meth:`Store.open_set` needs to open a live set."""

    exercise: str
    athlete: str
    load_kg: float | None
    side: str
    metric: str
    threshold_pct: float
    session_id: int | None
    new_session: bool
    started_at_unix_s: float
    source: str


@dataclass(frozen=True)
class StartSet:
    token: object
    params: SetParams
    future: Future


@dataclass(frozen=True)
class AddRep:
    token: object
    rep: Rep
    future: Future


@dataclass(frozen=True)
class ReviseRep:
    token: object
    rep: Rep
    future: Future


@dataclass(frozen=True)
class AddTrace:
    token: object | None  # None: no set open, the samples are pre-roll
    t_s: np.ndarray
    position_m: np.ndarray


@dataclass(frozen=True)
class EndSet:
    token: object
    result: SetResult | None
    stop_reason: str
    rpe: float | None
    note: str | None
    future: Future = field(default_factory=Future)


@dataclass(frozen=True)
class Call:
    fn: Callable[[Store], object]
    future: Future


@dataclass(frozen=True)
class Flush:
    future: Future


@dataclass(frozen=True)
class Stop:
    pass


# ---- writer-thread state ------------------------------------------------------------------------


@dataclass
class _LiveSet:
    """One set being recorded: what is waiting for a commit stays here until the commit succeeds."""

    params: SetParams
    set_id: int | None = None
    trace_t: list[np.ndarray] = field(default_factory=list)
    trace_x: list[np.ndarray] = field(default_factory=list)
    reps: list[tuple[int, Rep, Future]] = field(default_factory=list)  # (recorded index, rep, future)
    revisions: list[tuple[int, Rep, Future]] = field(default_factory=list)  # (recorded index, new rep, future)
    seqs: dict[int, int] = field(default_factory=dict)  # rep number -> recorded index
    next_seq: int = 1
    ending: EndSet | None = None
    opened: Future | None = None  # the start_set future, until the set's row is written

    @property
    def pending(self) -> bool:
        return bool(self.trace_t or self.reps or self.revisions or self.ending or self.set_id is None)


class SetRecorder:
    """Records live sets into the history without the caller ever waiting on the disk.

    A writer thread owns its own connection. Calls return at once; each write's outcome arrives on
    a :class:`concurrent.futures.Future` (``add_done_callback`` to turn it into a GUI signal, or
    ``result(timeout)`` to wait). A rep's future completes only after its commit is durable.

    Typical use (one caller thread; the GUI or `vbt live`)::

        rec = SetRecorder(home)                        # opens the store (recovers a crashed set)
        rec.start_set(exercise="squat", load_kg=100, athlete="ana")
        rec.add_trace(t_s, position_m)                 # every chunk of samples, as they come
        rec.add_rep(event.rep)                         # on each RepCompleted
        rec.revise_rep(event.rep)                      # on a RepRevised (the same rep number)
        rec.end_set(event.result, "stillness", rpe=8)  # on SetEnded (or the GUI's stop button)
        rec.stop()                                     # drains the queue and closes

    Trace samples arriving while no set is open are kept for ``pre_roll_s`` seconds and become the
    start of the next set's trace (the tracker only knows a set has begun once its first rep is done).

    The writer drives the store through its public live-set API (:meth:`Store.open_set`,
    :meth:`Store.append_reps`, :meth:`Store.append_trace`, :meth:`Store.heartbeat`,
    :meth:`Store.close_set`). Reps and trace wait in memory until their commit succeeds: when the
    disk is full (or the file locked too long) the writer retries with back-off and writes them
    all once it can. A failure episode gives one ``on_error`` message and its end one
    ``on_recovered`` message, not one per attempt. A rep's future fails when its first attempt
    does (it is not durable yet); the rep is still written when storage recovers.

    Parameters
    ----------
    home, path
        Where the history is (``path`` wins); default :func:`default_home`.
    trace_flush_interval_s
        The trace is committed at least this often while a set runs (a crash loses at most this
        much trace, plus the commit time).
    pre_roll_s
        Trace kept from before ``start_set``.
    on_error
        Called on the writer thread with a one-line message when writing starts failing.
    on_recovered
        Called on the writer thread with a one-line message when writing works again.
    retry_max_s
        Longest wait between two attempts while writing fails (back-off doubles up to it).
    stop_grace_s
        :meth:`stop` keeps retrying what is still unwritten for this long before giving up.
    """

    def __init__(
        self,
        home: str | os.PathLike | None = None,
        *,
        path: str | os.PathLike | None = None,
        trace_flush_interval_s: float = 0.25,
        pre_roll_s: float = 10.0,
        on_error: Callable[[str], None] | None = None,
        on_recovered: Callable[[str], None] | None = None,
        busy_timeout_s: float = 30.0,
        open_timeout_s: float = 60.0,
        retry_max_s: float = 5.0,
        stop_grace_s: float = 10.0,
    ):
        self.path = Path(path) if path is not None else database_path(home)
        self.trace_flush_interval_s = float(trace_flush_interval_s)
        self.pre_roll_s = float(pre_roll_s)
        self.on_error = on_error
        self.on_recovered = on_recovered
        self.retry_max_s = float(retry_max_s)
        self.stop_grace_s = float(stop_grace_s)
        self.failing: str | None = None  # the message of the failure episode under way
        self._busy_timeout_s = busy_timeout_s
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._current: object | None = None  # caller-side token of the open set
        self._stopped = False
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._exercises: tuple[Exercise, ...] = ()
        self._thread = threading.Thread(target=self._run, name="vbt-set-recorder", daemon=True)
        self._thread.start()
        if not self._ready.wait(open_timeout_s):
            raise StoreError(f"{self.path}: timed out opening the history")
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error

    # ---- caller side ---------------------------------------------------------------------------

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        """The catalogue as it was when the recorder opened (for pick lists)."""
        return self._exercises

    @property
    def set_open(self) -> bool:
        return self._current is not None

    def _put(self, cmd) -> None:
        if self._stopped:
            raise RuntimeError("the recorder is stopped")
        self._queue.put(cmd)

    def start_set(
        self,
        *,
        exercise: str,
        load_kg: float | None = None,
        athlete: str = DEFAULT_ATHLETE,
        side: str = "both",
        metric: str = "mean",
        threshold_pct: float = 10.0,
        session_id: int | None = None,
        new_session: bool = False,
        started_at_unix_s: float | None = None,
        source: str = "live",
    ) -> Future:
        """Open a set (ending any set still open, reason "superseded"). Returns a future of its id.

        Bad fields and unknown exercises raise :class:`StoreError` here, before anything is queued.
        """
        problems = check_set_fields(load_kg=load_kg, side=side, metric=metric, threshold_pct=threshold_pct)
        if find_exercise(exercise, self._exercises) is None:
            raise UnknownExerciseError(f"unknown exercise {exercise!r} (see `vbt exercises`)")
        if problems:
            raise StoreError("; ".join(problems))
        fut: Future = Future()
        with self._lock:
            if self._current is not None:
                self._put(EndSet(self._current, None, "superseded", None, None))
            token = object()
            params = SetParams(exercise=exercise, athlete=athlete, load_kg=load_kg, side=side, metric=metric,
                               threshold_pct=threshold_pct, session_id=session_id, new_session=new_session,
                               started_at_unix_s=_now() if started_at_unix_s is None else started_at_unix_s,
                               source=source)
            self._put(StartSet(token, params, fut))
            self._current = token
        return fut

    def add_rep(self, rep: Rep) -> Future:
        """Commit a completed rep of the open set; the future gives its row id once durable."""
        return self._rep_command(AddRep, "add_rep", rep)

    def revise_rep(self, rep: Rep) -> Future:
        """Replace the open set's rep of the same number (the tracker's RepRevised); the future
        completes once the change is durable."""
        return self._rep_command(ReviseRep, "revise_rep", rep)

    def _rep_command(self, command, name: str, rep: Rep) -> Future:
        if not isinstance(rep, Rep):
            raise TypeError(f"{name} needs a vbt.results.Rep, got {type(rep).__name__}")
        fut: Future = Future()
        with self._lock:
            if self._current is None:
                raise RuntimeError(f"{name}: no set is open (call start_set first)")
            self._put(command(self._current, rep, fut))
        return fut

    def add_trace(self, t_s, position_m) -> None:
        """Journal raw samples (any chunk size, times increasing). Never blocks on the disk."""
        t = np.array(t_s, dtype=np.float64, copy=True).ravel()
        x = np.array(position_m, dtype=np.float64, copy=True).ravel()
        if t.shape != x.shape:
            raise ValueError(f"add_trace: {t.size} times but {x.size} positions")
        if t.size:
            with self._lock:
                self._put(AddTrace(self._current, t, x))

    def end_set(self, result: SetResult | None = None, stop_reason: str = "manual", rpe: float | None = None,
                note: str | None = None) -> Future:
        """Close the open set. ``result`` (the tracker's SetEnded result) adds any rep not yet
        added and fixes best and stop rep; without it the stop rule is re-applied to the stored reps.
        The future gives the set id."""
        problems = check_set_fields(rpe=rpe, note=note)
        if problems:
            raise StoreError("; ".join(problems))
        fut: Future = Future()
        with self._lock:
            if self._current is None:
                raise RuntimeError("end_set: no set is open")
            self._put(EndSet(self._current, result, stop_reason, rpe, note, fut))
            self._current = None
        return fut

    def update_set(self, set_id: int, **fields) -> Future:
        """:meth:`Store.update_set` on the writer thread (RPE or a note entered after the set)."""
        return self.submit(lambda store: store.update_set(set_id, **fields))

    def submit(self, fn: Callable[[Store], object]) -> Future:
        """Run ``fn(store)`` on the writer thread (e.g. ``lambda s: s.delete_rep(rep_id)``)."""
        fut: Future = Future()
        self._put(Call(fn, fut))
        return fut

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far (trace included) is committed; False on timeout or
        while writing fails (what is unwritten is kept and retried)."""
        fut: Future = Future()
        self._put(Flush(fut))
        try:
            return bool(fut.result(timeout))
        except concurrent.futures.TimeoutError:
            return False

    def stop(self, timeout: float | None = 30.0) -> None:
        """Drain the queue, end an open set (reason "closed"), close the store, join the thread."""
        with self._lock:
            if self._stopped:
                return
            if self._current is not None:
                self._put(EndSet(self._current, None, "closed", None, None))
                self._current = None
            self._put(Stop())
            self._stopped = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the history writer did not finish within %s s", timeout)

    def __enter__(self) -> SetRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- writer thread -------------------------------------------------------------------------

    def _report(self, exc: BaseException) -> None:
        """One message per failure episode (not one per attempt)."""
        message = str(exc) if isinstance(exc, StoreError) else f"{self.path}: {exc}"
        # Nothing accepted is dropped: it waits in memory and is retried.
        message = message.replace("nothing was saved", "reps and trace are kept and written when it can")
        if self.failing is not None:
            log.debug("history write still failing: %s", message)
            return
        self.failing = message
        (log.info if self.on_error is not None else log.error)("history write failed: %s", message)
        self._call(self.on_error, message)

    def _recovered(self) -> None:
        if self.failing is None:
            return
        self.failing = None
        message = f"{self.path}: the history is being written again; nothing accepted was lost"
        (log.info if self.on_recovered is not None else log.warning)("%s", message)
        self._call(self.on_recovered, message)

    @staticmethod
    def _call(callback, message: str) -> None:
        if callback is not None:
            try:
                callback(message)
            except Exception:  # noqa: BLE001 - a broken callback must not kill the writer
                log.exception("history callback failed")

    def _run(self) -> None:
        try:
            store = Store(self.path, busy_timeout_s=self._busy_timeout_s)
        except BaseException as exc:  # noqa: BLE001 - handed to the constructor's thread
            self._open_error = exc if isinstance(exc, StoreError) else StoreError(f"{self.path}: {exc}")
            self._ready.set()
            return
        problem = store.writable_problem()  # refused before any set starts, not rep by rep
        if problem is not None:
            store.close()
            self._open_error = StoreError(problem)
            self._ready.set()
            return
        try:
            self._exercises = tuple(store.exercises())
            self._ready.set()
            _Writer(self, store).run()
        except BaseException as exc:  # pragma: no cover - last resort, logged
            log.exception("history writer crashed")
            self._report(exc)
        finally:
            store.close()


class _Writer:
    """The writer thread's loop: takes commands, keeps what is not yet committed, commits."""

    def __init__(self, recorder: SetRecorder, store: Store):
        self.rec = recorder
        self.store = store
        self.sets: dict[object, _LiveSet] = {}
        self.pre_t: list[np.ndarray] = []
        self.pre_x: list[np.ndarray] = []
        self.last_flush = time.monotonic()
        self.last_beat = time.monotonic()
        self.retry_at = 0.0  # while writing fails: no attempt before this (monotonic)
        self.backoff_s = 0.0

    def next_attempt(self) -> float:
        return max(self.last_flush + self.rec.trace_flush_interval_s, self.retry_at)

    def run(self) -> None:
        while True:
            timeout = None
            if self.sets:
                timeout = max(0.0, self.next_attempt() - time.monotonic())
            try:
                cmd = self.rec._queue.get(timeout=timeout)
            except queue.Empty:
                cmd = None
            if isinstance(cmd, Stop):
                self.drain()
                return
            if cmd is not None:
                try:
                    self.handle(cmd)
                except Exception as exc:  # noqa: BLE001 - the writer must survive anything
                    log.exception("history writer: %s failed", type(cmd).__name__)
                    self.rec._report(exc)
            now = time.monotonic()
            if now >= self.next_attempt():
                self.flush_all(now - self.last_beat >= HEARTBEAT_S)

    def drain(self) -> None:
        """At stop: keep retrying what is unwritten (with back-off) for up to ``stop_grace_s``."""
        deadline = time.monotonic() + self.rec.stop_grace_s
        self.retry_at = 0.0
        while True:
            self.flush_all(False)
            if not any(live.pending for live in self.sets.values()):
                return
            wait = self.retry_at - time.monotonic()
            if time.monotonic() + max(wait, 0.0) > deadline:
                break
            time.sleep(max(wait, 0.0))
        n_reps = sum(len(live.reps) for live in self.sets.values())
        n_samples = sum(int(sum(a.size for a in live.trace_t)) for live in self.sets.values())
        log.error("history writer stopped with %d reps and %d trace samples unwritten: %s",
                  n_reps, n_samples, self.rec.failing)
        self.rec._call(self.rec.on_error, f"{self.rec.path}: gave up: {n_reps} reps and {n_samples} trace "
                                          f"samples could not be written ({self.rec.failing})")

    def handle(self, cmd) -> None:
        if isinstance(cmd, AddTrace):
            live = self.sets.get(cmd.token)
            if live is None or live.ending is not None:
                self.pre_t.append(cmd.t_s)
                self.pre_x.append(cmd.position_m)
                _trim_pre_roll(self.pre_t, self.pre_x, self.rec.pre_roll_s)
            else:
                live.trace_t.append(cmd.t_s)
                live.trace_x.append(cmd.position_m)
        elif isinstance(cmd, StartSet):
            live = self.sets[cmd.token] = _LiveSet(cmd.params, trace_t=self.pre_t[:], trace_x=self.pre_x[:])
            self.pre_t.clear()
            self.pre_x.clear()
            live.opened = cmd.future
            self.attempt(live)
        elif isinstance(cmd, (AddRep, ReviseRep)):
            live = self.sets[cmd.token]
            seq = live.seqs.get(cmd.rep.index) if isinstance(cmd, ReviseRep) else None
            if seq is None:  # a new rep (a revision of a rep never recorded is one too)
                live.reps.append((live.next_seq, cmd.rep, cmd.future))
                live.seqs[cmd.rep.index] = live.next_seq
                live.next_seq += 1
            else:
                live.revisions.append((seq, cmd.rep, cmd.future))
            self.attempt(live)
        elif isinstance(cmd, EndSet):
            live = self.sets[cmd.token]
            live.ending = cmd
            self.attempt(live)
        elif isinstance(cmd, Call):
            try:
                value = cmd.fn(self.store)
            except BaseException as exc:  # noqa: BLE001 - delivered on the future
                cmd.future.set_exception(exc)
            else:
                self.rec._exercises = tuple(self.store.exercises())  # fn may have added one
                cmd.future.set_result(value)
        elif isinstance(cmd, Flush):
            self.flush_all(False)
            cmd.future.set_result(not any(live.pending for live in self.sets.values()))

    def attempt(self, live: _LiveSet) -> None:
        """Commit now, unless writing is failing: then the next retry takes it (the futures of
        what arrives meanwhile fail at once, with the episode's message)."""
        if self.rec.failing is None or time.monotonic() >= self.retry_at:
            self.commit(live)
            return
        exc = StoreError(self.rec.failing)
        for fut in (live.opened, *(f for _, _, f in live.reps + live.revisions), live.ending and live.ending.future):
            if fut is not None and not fut.done():
                fut.set_exception(exc)

    def commit(self, live: _LiveSet) -> bool:
        """Write everything the set has waiting in one transaction; keep it all if that fails."""
        store = self.store
        opened = live.opened
        token = next(k for k, v in self.sets.items() if v is live)
        try:
            if live.set_id is None:
                p = live.params
                live.set_id = store.open_set(
                    exercise=p.exercise, athlete=p.athlete, load_kg=p.load_kg, side=p.side, metric=p.metric,
                    threshold_pct=p.threshold_pct, started_at_unix_s=p.started_at_unix_s,
                    session_id=p.session_id, new_session=p.new_session, source=p.source,
                    writer_pid=os.getpid())
            with store.transaction():
                if live.trace_t:
                    store.append_trace(live.set_id, np.concatenate(live.trace_t), np.concatenate(live.trace_x))
                rep_ids = store.append_reps(live.set_id, [(seq, rep) for seq, rep, _ in live.reps])
                for seq, rep, _ in live.revisions:
                    store.revise_rep(live.set_id, seq, rep)
                end = live.ending
                if end is not None:
                    if end.result is not None:  # reps the tracker reported only at the set's end
                        have = store.recorded_rep_indices(live.set_id)
                        seq = live.next_seq
                        for rep in end.result.reps:
                            if rep.index not in have:
                                store.append_reps(live.set_id, [(seq, rep)])
                                seq += 1
                    store.close_set(live.set_id, stop_reason=end.stop_reason, result=end.result,
                                    rpe=end.rpe, note=end.note)
                else:
                    store.heartbeat(live.set_id)
        except StoreError as exc:
            self.rec._report(exc)
            self.backoff_s = min(max(2 * self.backoff_s, self.rec.trace_flush_interval_s, 0.05),
                                 self.rec.retry_max_s)
            self.retry_at = time.monotonic() + self.backoff_s
            for fut in (opened, *(f for _, _, f in live.reps + live.revisions), live.ending and live.ending.future):
                if fut is not None and not fut.done():
                    fut.set_exception(exc)
            return False
        self.backoff_s = 0.0
        self.retry_at = 0.0
        self.rec._recovered()
        self.last_beat = time.monotonic()
        live.trace_t.clear()
        live.trace_x.clear()
        for (_, _, fut), rep_id in zip(live.reps, rep_ids):
            if not fut.done():
                fut.set_result(rep_id)
        live.reps.clear()
        for _, _, fut in live.revisions:
            if not fut.done():
                fut.set_result(None)
        live.revisions.clear()
        if opened is not None and not opened.done():
            opened.set_result(live.set_id)
        live.opened = None
        if live.ending is not None:
            if not live.ending.future.done():
                live.ending.future.set_result(live.set_id)
            del self.sets[token]
        return True

    def flush_all(self, beat: bool) -> None:
        self.last_flush = time.monotonic()
        for live in list(self.sets.values()):
            if live.pending or beat:
                if not self.commit(live):
                    return  # the next retry takes the rest


def _trim_pre_roll(ts: list[np.ndarray], xs: list[np.ndarray], keep_s: float) -> None:
    """Keep only the last ``keep_s`` seconds of idle trace."""
    if keep_s <= 0:
        ts.clear()
        xs.clear()
        return
    t_last = ts[-1][-1]
    while ts and ts[0][-1] < t_last - keep_s:
        ts.pop(0)
        xs.pop(0)
    if ts and ts[0][0] < t_last - keep_s:
        keep = ts[0] >= t_last - keep_s
        ts[0], xs[0] = ts[0][keep], xs[0][keep]
