"""Offline-first upload of a rack's finished sets to the team server (:class:`SyncWorker`).

The rack records into its own SQLite history exactly as without a team. Every change to a finished
set queues its uid in the history's ``sync_outbox`` in the same transaction as the change (triggers
of schema v5, :mod:`vbt.store.schema`), so the queue is as durable as the set. The worker, a
thread of its own with its own connections, takes the oldest queued set, uploads its current state
(set, reps and optionally its trace) in one server transaction keyed by the set's uid
(``INSERT … ON CONFLICT``: a set uploaded twice exists once) and only then removes the queue rows
that state covered. Killed at any moment, it finds the same rows next time and uploads again,
harmlessly. A server that cannot be reached is retried with back-off (one message when uploads
start failing, one when they work again); the live path never waits on it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from vbt.store import Store
from vbt.store.paths import database_path
from vbt.store.schema import REP_METRIC_COLUMNS
from vbt.team import db
from vbt.team.schema import SET_COLUMNS

log = logging.getLogger(__name__)

#: Errors that mean "the server is not reachable now" (retry everything later), as opposed to a
#: set the server refuses (recorded on its queue rows, retried on the next pass, never blocking others).
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError)

#: Sets that stay on the rack: the emulated transducer's (``--demo``) and the demo's example history.
LOCAL_ONLY_SOURCES = ("demo",)

_SET_READ = (
    "SELECT " + ", ".join(f"st.{c}" for c in SET_COLUMNS)
    + ", st.id, se.uid, se.started_at, se.note, a.name, e.name, e.mvt_m_s, e.min_rom_m, e.low_confidence, "
      "e.mvt_source, e.builtin, e.unilateral "
      "FROM sets st JOIN sessions se ON se.id = st.session_id JOIN athletes a ON a.id = st.athlete_id "
      "JOIN exercises e ON e.id = st.exercise_id WHERE st.uid = ?"
)
_SET_UPSERT = (
    "INSERT INTO sets (uid, session_id, athlete_id, exercise_id, " + ", ".join(SET_COLUMNS) + ") VALUES ("
    + ", ".join(["%s"] * (4 + len(SET_COLUMNS))) + ") ON CONFLICT (uid) DO UPDATE SET "
    "session_id = EXCLUDED.session_id, athlete_id = EXCLUDED.athlete_id, exercise_id = EXCLUDED.exercise_id, "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in SET_COLUMNS)
    + ", uploaded_at = extract(epoch FROM clock_timestamp()), uploads = sets.uploads + 1 RETURNING id"
)
_REP_COLUMNS = ("seq", "deleted", "rep_index", *REP_METRIC_COLUMNS)
_REP_UPSERT = (
    "INSERT INTO reps (set_id, " + ", ".join(_REP_COLUMNS) + ") VALUES ("
    + ", ".join(["%s"] * (1 + len(_REP_COLUMNS))) + ") ON CONFLICT (set_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _REP_COLUMNS if c != "seq")
)


def upload_set(server: psycopg.Connection, local, uid: str, *, traces: bool = True) -> str:
    """Upload one set's current state from a rack's history (``local``: its SQLite connection) in one
    server transaction; returns "uploaded", "gone" (removed locally: flagged deleted on the server),
    "open" (not finished: nothing to do) or "local" (a demo set, never uploaded)."""
    row = local.execute(_SET_READ, (uid,)).fetchone()
    if row is None:
        with server.transaction():
            server.execute("UPDATE sets SET deleted = 1, uploaded_at = extract(epoch FROM clock_timestamp()), "
                           "uploads = uploads + 1 WHERE uid = %s", (uid,))
        return "gone"
    values = dict(zip(SET_COLUMNS, row))
    if values["ended_at"] is None:
        return "open"
    if values["source"] in LOCAL_ONLY_SOURCES:
        return "local"
    n = len(SET_COLUMNS)
    local_id, session_uid, session_started, session_note, athlete, exercise = row[n:n + 6]
    ex_values = row[n + 6:n + 12]
    reps = local.execute(f"SELECT {', '.join(_REP_COLUMNS)} FROM reps WHERE set_id = ? ORDER BY seq",
                         (local_id,)).fetchall()
    chunks = (local.execute("SELECT seq, t_s, position_m, codec, n_samples FROM trace_chunks WHERE set_id = ? "
                            "ORDER BY seq, id", (local_id,)).fetchall() if traces else [])
    with server.transaction():
        server.execute("INSERT INTO athletes (name, created_at) VALUES (%s, extract(epoch FROM clock_timestamp())) "
                       "ON CONFLICT (name) DO NOTHING", (athlete,))
        athlete_id = server.execute("SELECT id FROM athletes WHERE name = %s", (athlete,)).fetchone()[0]
        server.execute("INSERT INTO exercises (name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin, "
                       "unilateral) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                       (exercise, *ex_values))
        exercise_id = server.execute("SELECT id FROM exercises WHERE name = %s", (exercise,)).fetchone()[0]
        session_id = server.execute(
            "INSERT INTO sessions (uid, athlete_id, started_at, note) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (uid) DO UPDATE SET athlete_id = EXCLUDED.athlete_id, note = EXCLUDED.note, "
            "started_at = LEAST(sessions.started_at, EXCLUDED.started_at) RETURNING id",
            (session_uid, athlete_id, session_started, session_note)).fetchone()[0]
        set_id = server.execute(_SET_UPSERT, (uid, session_id, athlete_id, exercise_id, *values.values())).fetchone()[0]
        if reps:
            with server.cursor() as cur:
                cur.executemany(_REP_UPSERT, [(set_id, *r) for r in reps])
        if chunks and server.execute("SELECT 1 FROM trace_chunks WHERE set_id = %s LIMIT 1",
                                     (set_id,)).fetchone() is None:
            with server.cursor() as cur:
                cur.executemany("INSERT INTO trace_chunks (set_id, seq, t_s, position_m, codec, n_samples) "
                                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (set_id, seq) DO NOTHING",
                                [(set_id, *c) for c in chunks])
    return "uploaded"


@dataclass(frozen=True)
class OutboxState:
    """What ``vbt team status`` shows: sets waiting, how long the oldest has waited, refused ones."""

    pending_sets: int
    pending_rows: int
    oldest_queued_at: float | None
    refused: tuple[tuple[str, int, str], ...]  # (set uid, attempts, last error)
    last_upload_at: float | None
    server: str | None


def outbox_state(store: Store) -> OutboxState:
    conn = store.conn
    n_sets, n_rows, oldest = conn.execute(
        "SELECT COUNT(DISTINCT set_uid), COUNT(*), MIN(queued_at) FROM sync_outbox").fetchone()
    refused = tuple(conn.execute(
        "SELECT set_uid, MAX(attempts), MAX(last_error) FROM sync_outbox WHERE last_error IS NOT NULL "
        "GROUP BY set_uid ORDER BY MIN(id)").fetchall())
    state = dict(conn.execute("SELECT key, value FROM sync_state").fetchall())
    last = state.get("last_upload_at")
    return OutboxState(n_sets, n_rows, oldest, refused, float(last) if last else None, state.get("server"))


def _server_key(url: str) -> str:
    """Which server (host, port, database) a URL names, without user or password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


class SyncWorker:
    """Uploads a rack's finished sets to the team server on a thread of its own.

    Parameters
    ----------
    url
        The team server (a rack role's URL).
    home, path
        The rack's history (``path`` wins); default :func:`vbt.store.default_home`.
    traces
        Upload each set's raw trace too.
    poll_s
        How often the outbox is looked at while idle (:meth:`nudge` looks at once).
    retry_min_s, retry_max_s
        Back-off between attempts while the server cannot be reached (doubling, with jitter).
    on_error, on_recovered
        Called on the worker thread with one line (no password in it) when uploads start failing and
        when they work again.
    on_uploaded
        Called on the worker thread with each uploaded set's uid.
    batch
        Most sets sent in one server transaction (a backlog after an outage goes up in a few commits).
    """

    def __init__(self, url: str, *, home=None, path=None, traces: bool = True, poll_s: float = 0.5,
                 retry_min_s: float = 0.25, retry_max_s: float = 1.0,
                 on_error: Callable[[str], None] | None = None, on_recovered: Callable[[str], None] | None = None,
                 on_uploaded: Callable[[str], None] | None = None, connect_timeout_s: float = db.CONNECT_TIMEOUT_S,
                 batch: int = 20):
        self.url = db.check_url(url)
        self.path = Path(path) if path is not None else database_path(home)
        self.traces = bool(traces)
        self.poll_s = float(poll_s)
        self.retry_min_s = float(retry_min_s)
        self.retry_max_s = float(retry_max_s)
        self.on_error, self.on_recovered, self.on_uploaded = on_error, on_recovered, on_uploaded
        self.connect_timeout_s = connect_timeout_s
        self.batch = max(1, int(batch))
        self.failing: str | None = None
        self.uploaded = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: psycopg.Connection | None = None
        self._store: Store | None = None
        self._checked_server = False

    # ---- the caller's side -----------------------------------------------------------------------

    def start(self) -> "SyncWorker":
        self._thread = threading.Thread(target=self._run, name="vbt-team-sync", daemon=True)
        self._thread.start()
        return self

    def nudge(self) -> None:
        """Look at the outbox now (a set just ended)."""
        self._wake.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop after the set being uploaded (what is still queued stays queued for next time)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()

    def __enter__(self) -> "SyncWorker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- one pass --------------------------------------------------------------------------------

    def sync_once(self) -> int:
        """Upload everything queued now, on the calling thread; returns the number of sets uploaded.
        Raises :class:`vbt.team.db.TeamError` (one line, no password) when the server cannot be reached."""
        try:
            return self._pass()
        except TRANSIENT as exc:
            self._close_server()
            raise db.TeamError(db.explain(exc, self.url)) from None

    def _local(self) -> Store:
        if self._store is None:
            self._store = Store(self.path, recover=False, busy_timeout_s=30.0)
        return self._store

    def _connection(self) -> psycopg.Connection:
        if self._server is None or self._server.closed:
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, round(self.connect_timeout_s)),
                                       application_name="vbt-sync")
            except psycopg.Error as exc:
                raise psycopg.OperationalError(db.scrub(str(exc), self.url)) from None
            self._server = conn
        return self._server

    def _check_server(self, store: Store) -> None:
        """A rack moved to another team server queues its whole history for that server."""
        key = _server_key(self.url)
        row = store.conn.execute("SELECT value FROM sync_state WHERE key = 'server'").fetchone()
        if row is not None and row[0] == key:
            return
        with store.transaction():
            if row is not None:
                store.conn.execute("INSERT INTO sync_outbox (set_uid, queued_at) SELECT uid, ? FROM sets "
                                   "WHERE ended_at IS NOT NULL ORDER BY started_at, id", (time.time(),))
                log.info("team server changed (%s -> %s): the whole history is queued for it", row[0], key)
            store.conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('server', ?)", (key,))

    def _pass(self) -> int:
        store = self._local()
        if not self._checked_server:
            self._check_server(store)
            self._checked_server = True
        done = 0
        refused: set[str] = set()
        while not self._stopping.is_set():
            exclude = sorted(refused)
            marks = ", ".join("?" * len(exclude))
            # The oldest queued sets first, each with the newest queue row its state will cover.
            batch = store.conn.execute(
                "SELECT set_uid, MAX(id) FROM sync_outbox" + (f" WHERE set_uid NOT IN ({marks})" if exclude else "")
                + " GROUP BY set_uid ORDER BY MIN(id) LIMIT ?", (*exclude, self.batch)).fetchall()
            if not batch:
                break
            server = self._connection()
            sent, failed = [], []
            # One server transaction for the batch (one commit, not one per set); each set in a
            # savepoint of its own, so a set the server refuses is left out alone.
            with server.transaction():
                for uid, top in batch:
                    try:
                        sent.append((uid, top, upload_set(server, store.conn, uid, traces=self.traces)))
                    except TRANSIENT:
                        raise
                    except psycopg.Error as exc:  # this set is refused: note why, go on with the others
                        failed.append((uid, top, db.scrub(" ".join(str(exc).split()), self.url)[:300]))
            # Only now, the server's commit done, the queue rows those states covered go.
            with store.transaction():
                for uid, top, _ in sent:
                    store.conn.execute("DELETE FROM sync_outbox WHERE set_uid = ? AND id <= ?", (uid, top))
                for uid, top, message in failed:
                    log.warning("team server refused set %s: %s", uid, message)
                    store.conn.execute("UPDATE sync_outbox SET attempts = attempts + 1, last_error = ? "
                                       "WHERE set_uid = ? AND id <= ?", (message, uid, top))
                    refused.add(uid)
                if sent:
                    store.conn.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES ('last_upload_at', ?)",
                                       (repr(time.time()),))
            for uid, _, outcome in sent:
                if outcome == "uploaded":
                    done += 1
                    self.uploaded += 1
                    if self.on_uploaded is not None:
                        self.on_uploaded(uid)
        return done

    # ---- the thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.retry_min_s
        while not self._stopping.is_set():
            try:
                self._pass()
            except TRANSIENT as exc:
                self._close_server()
                self._failed(db.explain(exc, self.url))
                self._wait(delay * random.uniform(0.6, 1.0))
                delay = min(2 * delay, self.retry_max_s)
                continue
            except Exception as exc:  # the local history: locked too long, full disk
                self._failed(f"sync: {db.scrub(str(exc), self.url)}")
                self._wait(delay)
                delay = min(2 * delay, self.retry_max_s)
                continue
            delay = self.retry_min_s
            if self.failing is not None:
                self.failing = None
                self._call(self.on_recovered, "team server reachable again: queued sets uploaded")
            self._wait(self.poll_s)
        self._close()

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _failed(self, message: str) -> None:
        if self.failing is None:
            self.failing = message
            self._call(self.on_error, f"{message}; sets stay queued in the history and are uploaded when it answers")

    @staticmethod
    def _call(callback, message: str) -> None:
        log.info("%s", message)
        if callback is not None:
            try:
                callback(message)
            except Exception:  # a callback's failure must not stop the uploads
                log.exception("sync callback failed")

    def _close_server(self) -> None:
        if self._server is not None:
            try:
                self._server.close()
            except psycopg.Error:
                pass
            self._server = None

    def _close(self) -> None:
        self._close_server()
        # The history's connection belongs to the thread that opened it (the worker's, or the caller's
        # of sync_once); a worker that did not stop in time keeps it.
        if self._store is not None and (self._thread is None or threading.current_thread() is self._thread):
            self._store.close()
            self._store = None


