"""The training history: one SQLite file, durable as sets happen (stdlib ``sqlite3`` only).

Layout
------
``athletes``, ``exercises`` (catalogue, :mod:`vbt.exercises`), ``sessions`` (one athlete's training
session), ``sets``, ``reps`` (every field of :class:`vbt.results.Rep` plus a ``deleted`` flag and the
order it was recorded in) and ``trace_chunks`` (the raw position trace of each set, journaled in
chunks while the set runs and stitched into one chunk when it ends or is recovered).

The file lives in the user's data directory (:func:`default_home`; ``VBT_HOME`` overrides it). It
runs in WAL mode, so the history can be read while a set is being recorded. The schema is versioned
with ``PRAGMA user_version``; :data:`MIGRATIONS` upgrades any earlier version step by step, after
copying the old file to ``<name>.v<N>.bak``.

Durability
----------
:class:`SetRecorder` owns a writer thread with its own connection, so the caller (the GUI thread,
the live command) never waits on the disk. A completed rep is committed (``synchronous=FULL``) as
soon as it arrives; the trace is committed at least every ``trace_flush_interval_s``. A set whose
writer died (``kill -9``, power cut) is found the next time the store is opened: its trace chunks
are stitched, its reps kept, its stop rule re-applied and it is marked ``recovered``.

Errors a person can cause or fix (locked, corrupt, full disk, unknown exercise, impossible load)
raise :class:`StoreError` with one readable line; the failed write changes nothing.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import functools
import logging
import math
import os
import queue
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from vbt import exercises as catalogue
from vbt.config import METRIC_FIELDS, METRICS, StopRuleConfig
from vbt.exercises import Exercise, exercise_key, find_exercise
from vbt.profile import LoadVelocityProfile, ProfileError, fit_profile
from vbt.results import REP_JSON_FIELDS, Rep, SetResult
from vbt.stoprule import apply_stop_rule

log = logging.getLogger(__name__)

DB_FILENAME = "history.sqlite3"
SCHEMA_VERSION = 2
DEFAULT_ATHLETE = "default"
SIDES = ("both", "left", "right")
#: How long a write waits for another writer before "the database is locked".
DEFAULT_BUSY_TIMEOUT_S = 5.0
#: A set with no heartbeat for this long is interrupted even if a process with its writer's pid
#: exists (pid reuse after a crash). A live writer beats every ``HEARTBEAT_S``.
STALE_AFTER_S = 120.0
HEARTBEAT_S = 5.0
#: Sets less than this far apart in time belong to the same session.
SESSION_GAP_S = 2 * 3600.0
#: Load-velocity profiles use the sets of this many days up to the newest one (0 = all history).
DEFAULT_PROFILE_DAYS = 56
#: Stored trace blobs: float64 bit patterns, delta-coded as uint64, byte-shuffled, zlib-compressed.
#: Lossless; 20k uniform timestamps shrink ~250x, mm-quantised positions ~5x, noisy floats ~1.3x.
TRACE_CODEC = "f8-delta-shuffle-zlib"
RAW_CODEC = "f8"  # little-endian float64, as schema v1 stored it

# Every Rep field except ``index`` has a column of the same name; ``index`` is ``rep_index``.
REP_METRIC_COLUMNS = tuple(name for name in REP_JSON_FIELDS if name != "index")
_REP_COLUMN = {name: ("rep_index" if name == "index" else name) for name in REP_JSON_FIELDS}


def _add_filters(where: list[str], params: list, *optional: tuple[str, object]) -> None:
    """Append each ``(clause, value)`` whose value is given to a WHERE list and its parameters."""
    for clause, value in optional:
        if value is not None:
            where.append(clause)
            params.append(value)


class StoreError(Exception):
    """The history cannot do what was asked; the message is one line a person can act on."""


class UnknownExerciseError(StoreError):
    pass


class UnknownAthleteError(StoreError):
    pass


class NotFoundError(StoreError):
    pass


# ---- where the file lives ----------------------------------------------------------------------


def default_home() -> Path:
    """``$VBT_HOME``, else ``$XDG_DATA_HOME/vbt``, else ``~/.local/share/vbt`` (``%LOCALAPPDATA%\\vbt`` on Windows)."""
    env = os.environ.get("VBT_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return Path(xdg) / "vbt"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "vbt"
    return Path.home() / ".local" / "share" / "vbt"


def database_path(home: str | os.PathLike | None = None) -> Path:
    """The history file inside ``home`` (default: :func:`default_home`)."""
    return Path(home if home is not None else default_home()) / DB_FILENAME


# ---- result types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Athlete:
    id: int
    name: str


@dataclass(frozen=True)
class SessionSummary:
    """One row of the history list."""

    id: int
    uid: str
    athlete: str
    started_at_unix_s: float
    ended_at_unix_s: float | None
    n_sets: int
    n_reps: int
    exercises: tuple[str, ...]
    note: str | None

    @property
    def date(self) -> str:
        return local_date(self.started_at_unix_s)


@dataclass(frozen=True)
class SetRecord:
    """A stored set. ``n_reps`` counts kept reps; ``best_velocity_m_s`` is in the set's own metric."""

    id: int
    uid: str
    session_id: int
    athlete: str
    exercise: str
    load_kg: float | None
    side: str
    metric: str
    velocity_loss_threshold_pct: float
    best_rep: int | None
    stop_rep: int | None
    stop_reason: str | None
    rpe: float | None
    note: str | None
    started_at_unix_s: float
    ended_at_unix_s: float | None
    duration_s: float | None
    recovered: bool
    source: str | None
    n_reps: int
    n_deleted_reps: int
    best_velocity_m_s: float | None
    last_velocity_loss_pct: float | None

    @property
    def in_progress(self) -> bool:
        return self.ended_at_unix_s is None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "uid": self.uid,
            "session_id": self.session_id,
            "athlete": self.athlete,
            "exercise": self.exercise,
            "load_kg": self.load_kg,
            "side": self.side,
            "metric": self.metric,
            "velocity_loss_threshold_pct": self.velocity_loss_threshold_pct,
            "best_rep": self.best_rep,
            "stop_rep": self.stop_rep,
            "stop_reason": self.stop_reason,
            "rpe": self.rpe,
            "note": self.note,
            "started_at": iso_local(self.started_at_unix_s),
            "started_unix_s": self.started_at_unix_s,
            "ended_at": iso_local(self.ended_at_unix_s),
            "ended_unix_s": self.ended_at_unix_s,
            "duration_s": self.duration_s,
            "recovered": self.recovered,
            "source": self.source,
            "n_reps": self.n_reps,
            "n_deleted_reps": self.n_deleted_reps,
        }


@dataclass(frozen=True)
class StoredRep:
    """A rep as stored: the :class:`Rep`, its row id, its recorded order and its deleted flag.

    A deleted rep keeps its metrics; it is left out of the stop rule (its ``velocity_loss_pct`` is
    None) and out of profiles and trends, and can be restored.
    """

    id: int
    set_id: int
    recorded_index: int
    deleted: bool
    rep: Rep

    def to_json(self) -> dict:
        return {**self.rep.to_json(), "rep_id": self.id, "recorded_index": self.recorded_index, "deleted": self.deleted}


@dataclass(frozen=True)
class Trace:
    """A set's raw position trace in the stream's time base (the same as its reps' times)."""

    t_s: np.ndarray
    position_m: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.t_s.size)


@dataclass(frozen=True)
class SetDetail:
    set: SetRecord
    reps: tuple[StoredRep, ...]
    trace: Trace


@dataclass(frozen=True)
class TrendPoint:
    """One session's numbers for one exercise (a point of a trend plot)."""

    session_id: int
    date: str  # local calendar date, YYYY-MM-DD
    started_at_unix_s: float
    n_sets: int
    n_reps: int
    volume_kg: float  # sum of load x kept reps
    top_load_kg: float | None
    best_velocity_m_s: float | None  # fastest kept rep of the session, in the trend's metric
    best_velocity_load_kg: float | None  # the load it was lifted with
    best_velocity_at_load_m_s: float | None  # fastest at the requested load (None if not asked/not done)


# ---- small helpers -----------------------------------------------------------------------------


def _now() -> float:
    return time.time()


def iso_local(unix_s: float | None) -> str | None:
    """Local time with its UTC offset, to the second (for people; the exact value travels as unix_s)."""
    if unix_s is None:
        return None
    return datetime.fromtimestamp(unix_s).astimezone().isoformat(timespec="seconds")


def local_date(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).strftime("%Y-%m-%d")


def _new_uid() -> str:
    return uuid.uuid4().hex


def _pid_alive(pid: int | None) -> bool:
    """Is a process with this id running on this machine?"""
    if not pid or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, int(pid))  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return False
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def encode_f8(values) -> bytes:
    """Lossless compact blob of a float64 array (see :data:`TRACE_CODEC`)."""
    a = np.ascontiguousarray(values, dtype="<f8").ravel()
    u = a.view("<u8")
    d = np.empty_like(u)
    if u.size:
        d[0] = u[0]
        np.subtract(u[1:], u[:-1], out=d[1:])
    return zlib.compress(d.view(np.uint8).reshape(-1, 8).T.tobytes(), 6)


def decode_f8(blob: bytes, codec: str) -> np.ndarray:
    if codec == RAW_CODEC:
        return np.frombuffer(blob, dtype="<f8").astype(np.float64)
    if codec != TRACE_CODEC:
        raise StoreError(f"trace stored with unknown codec {codec!r} (made by a newer version?)")
    raw = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
    if raw.size % 8:
        raise StoreError("a stored trace chunk is damaged")
    d = raw.reshape(8, -1).T.copy().view("<u8").ravel()
    return np.cumsum(d, dtype=np.uint64).view("<f8").astype(np.float64)


def _explain(exc: sqlite3.Error, path) -> str:
    """One line for a person, from an sqlite3 error."""
    msg = str(exc)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return f"{path}: the history database is locked by another program (a recording or import?); try again"
    if "full" in low:
        return f"{path}: the disk is full; nothing was saved"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"{path}: not a readable VBT history database (damaged, or another kind of file)"
    if "readonly" in low or "read-only" in low:
        return f"{path}: the history database is read-only"
    if "unable to open" in low or "disk i/o" in low:
        return f"{path}: cannot open or write the history database ({msg})"
    return f"{path}: database error: {msg}"


def _translated(method):
    """Public Store methods raise StoreError instead of sqlite3 errors."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc

    return wrapper


def _connect_sqlite(path: str, timeout_s: float) -> sqlite3.Connection:
    """The one place a connection is made (tests wrap it to simulate a full disk)."""
    return sqlite3.connect(path, timeout=timeout_s, isolation_level=None)


# ---- schema and migrations ---------------------------------------------------------------------

_REP_METRIC_DDL = """
    concentric_start_s REAL NOT NULL,
    concentric_end_s REAL NOT NULL,
    mean_velocity_m_s REAL,
    mean_propulsive_velocity_m_s REAL,
    peak_velocity_m_s REAL,
    rom_m REAL,
    time_to_peak_velocity_s REAL,
    concentric_duration_s REAL,
    eccentric_duration_s REAL,
    eccentric_mean_velocity_m_s REAL,
    bottom_pause_s REAL,
    velocity_loss_pct REAL,
    mean_force_n REAL,
    peak_force_n REAL,
    mean_power_w REAL,
    peak_power_w REAL"""

# Version 1: the first layout. Kept verbatim: a fresh file is built by running every step from 0.
_SCHEMA_V1 = f"""
CREATE TABLE athletes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE TABLE exercises (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    mvt_m_s REAL NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    athlete_id INTEGER NOT NULL REFERENCES athletes(id),
    started_at REAL NOT NULL,
    note TEXT
);
CREATE TABLE sets (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    exercise_id INTEGER NOT NULL REFERENCES exercises(id),
    load_kg REAL,
    metric TEXT NOT NULL DEFAULT 'mean',
    threshold_pct REAL NOT NULL DEFAULT 10,
    best_rep INTEGER,
    stop_rep INTEGER,
    stop_reason TEXT,
    rpe REAL,
    note TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    duration_s REAL
);
CREATE TABLE reps (
    id INTEGER PRIMARY KEY,
    set_id INTEGER NOT NULL REFERENCES sets(id),
    rep_index INTEGER NOT NULL,{_REP_METRIC_DDL}
);
CREATE TABLE trace_chunks (
    id INTEGER PRIMARY KEY,
    set_id INTEGER NOT NULL REFERENCES sets(id),
    seq INTEGER NOT NULL,
    t_s BLOB NOT NULL,
    position_m BLOB NOT NULL
);
CREATE INDEX reps_by_set ON reps(set_id);
CREATE INDEX sets_by_session ON sets(session_id);
"""


def _migrate_to_v1(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript() would commit the migration's transaction.
    for sql in _SCHEMA_V1.split(";"):
        if sql.strip():
            conn.execute(sql)


def _migrate_to_v2(conn: sqlite3.Connection) -> None:
    """v2: exercise defaults (min ROM, confidence), uids for merging, athlete and side on sets,
    crash recovery (writer pid, heartbeat, recovered flag), deleted reps with their recorded order,
    compressed trace chunks, and the indices the history list and trends need."""
    statements = [
        "ALTER TABLE athletes ADD COLUMN created_at REAL",
        f"ALTER TABLE exercises ADD COLUMN min_rom_m REAL NOT NULL DEFAULT {catalogue.DEFAULT_MIN_ROM_M}",
        "ALTER TABLE exercises ADD COLUMN low_confidence INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE exercises ADD COLUMN mvt_source TEXT NOT NULL DEFAULT 'user'",
        "ALTER TABLE exercises ADD COLUMN builtin INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN uid TEXT",
        "UPDATE sessions SET uid = lower(hex(randomblob(16)))",
        "CREATE UNIQUE INDEX sessions_uid ON sessions(uid)",
        "ALTER TABLE sets ADD COLUMN uid TEXT",
        "UPDATE sets SET uid = lower(hex(randomblob(16)))",
        "CREATE UNIQUE INDEX sets_uid ON sets(uid)",
        "ALTER TABLE sets ADD COLUMN athlete_id INTEGER REFERENCES athletes(id)",
        "UPDATE sets SET athlete_id = (SELECT athlete_id FROM sessions WHERE sessions.id = sets.session_id)",
        "ALTER TABLE sets ADD COLUMN side TEXT NOT NULL DEFAULT 'both'",
        "ALTER TABLE sets ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sets ADD COLUMN source TEXT",
        "ALTER TABLE sets ADD COLUMN writer_pid INTEGER",
        "ALTER TABLE sets ADD COLUMN heartbeat_at REAL",
        "ALTER TABLE reps ADD COLUMN seq INTEGER",
        # v1 never deleted reps, so the recorded order is the index order (ties broken by row id).
        """UPDATE reps SET seq = (SELECT COUNT(*) FROM reps AS r2 WHERE r2.set_id = reps.set_id
               AND (r2.rep_index < reps.rep_index OR (r2.rep_index = reps.rep_index AND r2.id <= reps.id)))""",
        "ALTER TABLE reps ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0",
        "DROP INDEX reps_by_set",
        "CREATE UNIQUE INDEX reps_by_set ON reps(set_id, seq)",
        "CREATE INDEX reps_kept ON reps(set_id, deleted)",  # covers the rep counts of the history list
        f"ALTER TABLE trace_chunks ADD COLUMN codec TEXT NOT NULL DEFAULT '{RAW_CODEC}'",
        "ALTER TABLE trace_chunks ADD COLUMN n_samples INTEGER",
        "UPDATE trace_chunks SET n_samples = length(t_s) / 8",
        "CREATE INDEX trace_by_set ON trace_chunks(set_id, seq)",
        "CREATE INDEX sessions_by_athlete ON sessions(athlete_id, started_at)",
        "CREATE INDEX sessions_by_time ON sessions(started_at)",
        "CREATE INDEX sets_by_athlete_exercise ON sets(athlete_id, exercise_id, started_at)",
        "CREATE INDEX sets_by_exercise ON sets(exercise_id, started_at)",
        "CREATE INDEX sets_by_athlete ON sets(athlete_id, started_at)",
        "CREATE INDEX sets_open ON sets(id) WHERE ended_at IS NULL",
    ]
    for sql in statements:
        conn.execute(sql)
    for ex in catalogue.BUILTIN_EXERCISES:
        conn.execute(
            """UPDATE exercises SET min_rom_m = ?, low_confidence = ?, builtin = 1,
                   mvt_source = CASE WHEN mvt_m_s = ? THEN ? ELSE 'user' END
               WHERE name = ? COLLATE NOCASE""",
            (ex.min_rom_m, int(ex.low_confidence), ex.mvt_m_s, ex.mvt_source, ex.name),
        )


#: version -> the step that builds it from the version before.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_to_v1, 2: _migrate_to_v2}


def build_schema(conn: sqlite3.Connection, version: int = SCHEMA_VERSION) -> None:
    """Bring an open connection's database up to ``version`` in one transaction.

    One transaction, not one per step: another process opening the file meanwhile sees either the
    old schema or the new one, never a half-built file it would mistake for an old version.
    Used by :class:`Store`; public so that tests and tools can build any earlier version.
    """
    if not 0 <= version <= SCHEMA_VERSION:
        raise ValueError(f"no schema version {version}")
    if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
        while current < version:
            MIGRATIONS[current + 1](conn)
            current += 1
        conn.execute(f"PRAGMA user_version = {current:d}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# ---- the store ---------------------------------------------------------------------------------

_SET_SELECT = """
SELECT st.id, st.uid, st.session_id, a.name, e.name, st.load_kg, st.side, st.metric, st.threshold_pct,
       st.best_rep, st.stop_rep, st.stop_reason, st.rpe, st.note, st.started_at, st.ended_at,
       st.duration_s, st.recovered, st.source,
       (SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 0),
       (SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 1),
       (SELECT MAX(CASE st.metric WHEN 'propulsive' THEN r.mean_propulsive_velocity_m_s
                                  WHEN 'peak' THEN r.peak_velocity_m_s
                                  ELSE r.mean_velocity_m_s END)
          FROM reps r WHERE r.set_id = st.id AND r.deleted = 0),
       (SELECT r.velocity_loss_pct FROM reps r WHERE r.set_id = st.id AND r.deleted = 0
          ORDER BY r.seq DESC LIMIT 1)
FROM sets st JOIN athletes a ON a.id = st.athlete_id JOIN exercises e ON e.id = st.exercise_id
"""

_REP_SELECT = (
    "SELECT id, set_id, seq, deleted, rep_index, " + ", ".join(REP_METRIC_COLUMNS) + " FROM reps"
)


def _set_from_row(row) -> SetRecord:
    return SetRecord(
        id=row[0], uid=row[1], session_id=row[2], athlete=row[3], exercise=row[4], load_kg=row[5],
        side=row[6], metric=row[7], velocity_loss_threshold_pct=row[8], best_rep=row[9], stop_rep=row[10],
        stop_reason=row[11], rpe=row[12], note=row[13], started_at_unix_s=row[14], ended_at_unix_s=row[15],
        duration_s=row[16], recovered=bool(row[17]), source=row[18], n_reps=row[19], n_deleted_reps=row[20],
        best_velocity_m_s=row[21], last_velocity_loss_pct=row[22],
    )


def _rep_from_row(row) -> StoredRep:
    fields = dict(zip(REP_METRIC_COLUMNS, row[5:]))
    return StoredRep(id=row[0], set_id=row[1], recorded_index=row[2], deleted=bool(row[3]),
                     rep=Rep(index=row[4], **fields))


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def check_set_fields(*, load_kg=None, side="both", metric="mean", threshold_pct=10.0, rpe=None, note=None) -> list[str]:
    """Problems with a set's fields, one readable line each (empty list: all good)."""
    problems = []
    if load_kg is not None:
        if not isinstance(load_kg, (int, float)) or not math.isfinite(load_kg) or not 0.0 < load_kg <= 1000.0:
            problems.append(f"load {load_kg} kg is impossible (must be above 0 and at most 1000 kg)")
    if side not in SIDES:
        problems.append(f"side {side!r} is not one of {', '.join(SIDES)}")
    if metric not in METRICS:
        problems.append(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    if not isinstance(threshold_pct, (int, float)) or not 1.0 <= threshold_pct <= 60.0:
        problems.append(f"velocity-loss threshold {threshold_pct} % is outside 1–60 %")
    if rpe is not None and (not isinstance(rpe, (int, float)) or not 1.0 <= rpe <= 10.0):
        problems.append(f"RPE {rpe} is outside 1–10")
    if note is not None and len(str(note)) > 2000:
        problems.append("note is longer than 2000 characters")
    return problems


class Store:
    """The history file, opened (created and migrated if needed) on one thread.

    Reads are cheap and may run while another process records (WAL). Every write is one
    transaction; group several with ``with store.transaction(): ...``.

    Parameters
    ----------
    path
        The SQLite file (see :func:`database_path`); its directory is created if missing.
    recover
        Recover sets left open by a dead writer now (see :meth:`recover_interrupted`).
    busy_timeout_s
        How long a write waits for another writer before failing with "locked".
    """

    def __init__(self, path: str | os.PathLike, *, recover: bool = True, busy_timeout_s: float | None = None):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._tx_depth = 0
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a history database")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot create the data directory ({exc.strerror or exc})") from None
        timeout = DEFAULT_BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        self._busy_timeout_s = timeout
        try:
            self._conn = _connect_sqlite(str(self.path), timeout)
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from None
        try:
            self._open(recover)
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(_explain(exc, self.path)) from None
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, home: str | os.PathLike | None = None, **kwargs) -> "Store":
        """Open the history in ``home`` (default: :func:`default_home`)."""
        return cls(database_path(home), **kwargs)

    def _open(self, recover: bool) -> None:
        conn = self._conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # fails fast on a non-database
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: made by a newer version of the tracker (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); update the tracker"
            )
        mode = self._enter_wal()
        if str(mode).lower() != "wal":
            log.warning("%s: journal mode is %s, not WAL", self.path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        if 0 < version < SCHEMA_VERSION:
            self._backup_before_migration(version)
        if version < SCHEMA_VERSION:
            build_schema(conn, SCHEMA_VERSION)
            if version:
                log.info("%s: migrated history from schema %d to %d", self.path, version, SCHEMA_VERSION)
        self._seed_catalogue()
        if recover:
            self.recover_interrupted()

    def _enter_wal(self) -> str:
        """Switch the file to WAL (it stays so). The switch takes the file for itself and SQLite's busy
        handler does not wait for it, so when several openers race on a new file, retry within the
        busy timeout."""
        conn = self.conn
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() == "wal":
            return mode
        timeout = self._busy_timeout_s
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 0.1)

    def _backup_before_migration(self, version: int) -> None:
        backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
        if backup.exists():
            return
        # A failed copy never passes for a backup; a name of our own, as another process may be
        # opening the same old file right now.
        partial = backup.with_name(f"{backup.name}.{os.getpid()}.{threading.get_ident()}.partial")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        dest = sqlite3.connect(str(partial))
        try:
            self._conn.backup(dest)
        finally:
            dest.close()
        os.replace(partial, backup)
        log.info("%s: copied schema-%d history to %s before migrating", self.path, version, backup)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the history is closed")
        return self._conn

    @contextlib.contextmanager
    def transaction(self):
        """One atomic, durable write. Nested uses are savepoints of the outer transaction: a failed
        inner block is undone on its own, and nothing is durable before the outer block commits."""
        if self._tx_depth:
            conn = self.conn
            name = f"nested_{self._tx_depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._tx_depth += 1
            try:
                yield self
                conn.execute(f"RELEASE {name}")
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._tx_depth -= 1
            return
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc
        self._tx_depth = 1
        try:
            yield self
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:  # pragma: no cover - rollback after an I/O error
                    log.exception("rollback failed")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(_explain(exc, self.path)) from exc
            raise
        finally:
            self._tx_depth = 0

    # ---- athletes and exercises --------------------------------------------------------------

    @_translated
    def athletes(self) -> list[Athlete]:
        return [Athlete(*r) for r in self.conn.execute("SELECT id, name FROM athletes ORDER BY name")]

    @_translated
    def athlete_id(self, name: str, *, create: bool = False) -> int:
        """Id of the athlete called ``name`` (case-insensitive); created if asked to."""
        name = str(name).strip()
        if not name:
            raise StoreError("an athlete needs a name")
        if len(name) > 60:
            raise StoreError("an athlete's name must be at most 60 characters")
        row = self.conn.execute("SELECT id FROM athletes WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0]
        if not create:
            known = ", ".join(a.name for a in self.athletes()) or "none yet"
            raise UnknownAthleteError(f"no athlete called {name!r} in the history (known: {known})")
        with self.transaction():
            cur = self.conn.execute("INSERT INTO athletes (name, created_at) VALUES (?, ?)", (name, _now()))
            return cur.lastrowid

    def _seed_catalogue(self) -> None:
        def missing() -> list[Exercise]:
            have = {exercise_key(n) for (n,) in self.conn.execute("SELECT name FROM exercises")}
            return [ex for ex in catalogue.BUILTIN_EXERCISES if ex.key not in have]

        if not missing():
            return
        # Two processes (the dashboard and its recorder, or two commands) may open a new file at
        # once: look again inside the write lock, so only one of them seeds.
        with self.transaction():
            for ex in missing():
                self.conn.execute(
                    "INSERT INTO exercises (name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin) "
                    "VALUES (?, ?, ?, ?, ?, 1)",
                    (ex.name, ex.mvt_m_s, ex.min_rom_m, int(ex.low_confidence), ex.mvt_source),
                )

    def _exercise_rows(self):
        return self.conn.execute(
            "SELECT id, name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin FROM exercises ORDER BY name"
        ).fetchall()

    @staticmethod
    def _exercise_from_row(row) -> Exercise:
        return Exercise(name=row[1], mvt_m_s=row[2], min_rom_m=row[3], low_confidence=bool(row[4]),
                        mvt_source=row[5], builtin=bool(row[6]))

    @_translated
    def exercises(self) -> list[Exercise]:
        """The catalogue, built-in and user-added, by name."""
        return [self._exercise_from_row(r) for r in self._exercise_rows()]

    def _resolve_exercise(self, name: str, *, by_prefix: bool = True) -> tuple[int, Exercise]:
        rows = self._exercise_rows()
        ids = {}
        for row in rows:
            ids[exercise_key(row[1])] = row[0]
        known = [self._exercise_from_row(r) for r in rows]
        found = find_exercise(name, known, by_prefix=by_prefix)
        if found is None:
            import difflib

            key = exercise_key(name)
            by_key = {e.key: e.name for e in known}
            close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
            close += [k for k in by_key if key and (key in k or k in key) and k not in close][: 3 - len(close)]
            hint = f"did you mean {', '.join(repr(by_key[k]) for k in close)}?" if close else (
                "known: " + ", ".join(e.name for e in known))
            raise UnknownExerciseError(f"unknown exercise {str(name)!r}; {hint} (add it with `vbt exercises --add`)")
        return ids[found.key], found

    @_translated
    def exercise(self, name: str) -> Exercise:
        """The catalogue entry for ``name`` (case, spacing and known aliases forgiven)."""
        return self._resolve_exercise(name)[1]

    @_translated
    def add_exercise(self, name: str, mvt_m_s: float, min_rom_m: float = catalogue.DEFAULT_MIN_ROM_M,
                     *, low_confidence: bool = False) -> Exercise:
        """Add a user exercise; its name must not clash with an existing one (or a known alias)."""
        ex = Exercise(str(name).strip(), mvt_m_s, min_rom_m, bool(low_confidence), "user", False)
        problems = ex.validate()
        if problems:
            raise StoreError("; ".join(problems))
        try:
            existing = self._resolve_exercise(ex.name, by_prefix=False)[1]
        except UnknownExerciseError:
            existing = None
        if existing is not None:
            raise StoreError(f"exercise {existing.name!r} already exists (change its values with set_exercise_defaults)")
        with self.transaction():
            self.conn.execute(
                "INSERT INTO exercises (name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin) "
                "VALUES (?, ?, ?, ?, 'user', 0)",
                (ex.name, float(ex.mvt_m_s), float(ex.min_rom_m), int(ex.low_confidence)),
            )
        return ex

    @_translated
    def set_exercise_defaults(self, name: str, *, mvt_m_s: float | None = None, min_rom_m: float | None = None) -> Exercise:
        """Override an exercise's MVT and/or minimum ROM (the MVT source becomes "user")."""
        ex_id, ex = self._resolve_exercise(name)
        new = replace(ex, mvt_m_s=ex.mvt_m_s if mvt_m_s is None else mvt_m_s,
                      min_rom_m=ex.min_rom_m if min_rom_m is None else min_rom_m,
                      mvt_source=ex.mvt_source if mvt_m_s is None else "user")
        problems = new.validate()
        if problems:
            raise StoreError("; ".join(problems))
        with self.transaction():
            self.conn.execute("UPDATE exercises SET mvt_m_s = ?, min_rom_m = ?, mvt_source = ? WHERE id = ?",
                              (float(new.mvt_m_s), float(new.min_rom_m), new.mvt_source, ex_id))
        return new

    # ---- writing sets ----------------------------------------------------------------------------

    def _session_for(self, athlete_id: int, at: float, session_id: int | None, new_session: bool) -> int:
        conn = self.conn
        if session_id is not None:
            row = conn.execute("SELECT athlete_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no session {session_id} in the history")
            if row[0] != athlete_id:
                raise StoreError(f"session {session_id} belongs to another athlete")
            return session_id
        if not new_session:
            row = conn.execute(
                "SELECT session_id FROM sets WHERE athlete_id = ? AND started_at BETWEEN ? AND ? "
                "ORDER BY abs(started_at - ?) LIMIT 1",
                (athlete_id, at - SESSION_GAP_S, at + SESSION_GAP_S, at),
            ).fetchone() or conn.execute(
                "SELECT id FROM sessions WHERE athlete_id = ? AND started_at BETWEEN ? AND ? "
                "ORDER BY abs(started_at - ?) LIMIT 1",
                (athlete_id, at - SESSION_GAP_S, at + SESSION_GAP_S, at),
            ).fetchone()
            if row:
                conn.execute("UPDATE sessions SET started_at = min(started_at, ?) WHERE id = ?", (at, row[0]))
                return row[0]
        cur = conn.execute("INSERT INTO sessions (uid, athlete_id, started_at) VALUES (?, ?, ?)",
                           (_new_uid(), athlete_id, at))
        return cur.lastrowid

    @_translated
    def new_session(self, athlete: str = DEFAULT_ATHLETE, *, started_at_unix_s: float | None = None,
                    note: str | None = None) -> int:
        """Start a session explicitly (otherwise sets within 2 h of each other share one)."""
        with self.transaction():
            athlete_id = self.athlete_id(athlete, create=True)
            cur = self.conn.execute("INSERT INTO sessions (uid, athlete_id, started_at, note) VALUES (?, ?, ?, ?)",
                                    (_new_uid(), athlete_id, _now() if started_at_unix_s is None else started_at_unix_s, note))
            return cur.lastrowid

    def _insert_set(self, *, athlete: str, exercise: str, load_kg, side, metric, threshold_pct, rpe, note,
                    started_at: float, session_id, new_session: bool, source, uid, writer_pid=None) -> int:
        problems = check_set_fields(load_kg=load_kg, side=side, metric=metric, threshold_pct=threshold_pct,
                                    rpe=rpe, note=note)
        if problems:
            raise StoreError("; ".join(problems))
        exercise_id, _ = self._resolve_exercise(exercise)
        athlete_id = self.athlete_id(athlete, create=True)
        session_id = self._session_for(athlete_id, started_at, session_id, new_session)
        cur = self.conn.execute(
            """INSERT INTO sets (uid, session_id, athlete_id, exercise_id, load_kg, side, metric, threshold_pct,
                                 rpe, note, started_at, source, writer_pid, heartbeat_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (uid or _new_uid(), session_id, athlete_id, exercise_id,
             None if load_kg is None else float(load_kg), side, metric, float(threshold_pct),
             None if rpe is None else float(rpe), note, started_at, source, writer_pid,
             _now() if writer_pid else None),
        )
        return cur.lastrowid

    def _insert_rep(self, set_id: int, seq: int, rep: Rep, deleted: bool = False) -> int:
        values = [_finite_or_none(getattr(rep, c)) for c in REP_METRIC_COLUMNS]
        cur = self.conn.execute(
            f"INSERT INTO reps (set_id, seq, deleted, rep_index, {', '.join(REP_METRIC_COLUMNS)}) "
            f"VALUES (?, ?, ?, ?, {', '.join('?' * len(REP_METRIC_COLUMNS))})",
            (set_id, seq, int(deleted), int(rep.index), *values),
        )
        return cur.lastrowid

    def _append_trace(self, set_id: int, t_s: np.ndarray, position_m: np.ndarray) -> None:
        if t_s.size == 0:
            return
        seq = self.conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM trace_chunks WHERE set_id = ?",
                                (set_id,)).fetchone()[0]
        self.conn.execute(
            "INSERT INTO trace_chunks (set_id, seq, t_s, position_m, codec, n_samples) VALUES (?, ?, ?, ?, ?, ?)",
            (set_id, seq, encode_f8(t_s), encode_f8(position_m), TRACE_CODEC, int(t_s.size)),
        )

    def _read_trace(self, set_id: int) -> Trace:
        ts, xs = [], []
        for t_blob, x_blob, codec in self.conn.execute(
            "SELECT t_s, position_m, codec FROM trace_chunks WHERE set_id = ? ORDER BY seq, id", (set_id,)
        ):
            ts.append(decode_f8(t_blob, codec))
            xs.append(decode_f8(x_blob, codec))
        if not ts:
            return Trace(np.zeros(0), np.zeros(0))
        return Trace(np.concatenate(ts), np.concatenate(xs))

    def _stitch_trace(self, set_id: int) -> Trace:
        """Join a set's journaled chunks into one (inside the caller's transaction)."""
        n_chunks = self.conn.execute("SELECT COUNT(*) FROM trace_chunks WHERE set_id = ?", (set_id,)).fetchone()[0]
        trace = self._read_trace(set_id)
        if n_chunks > 1:
            self.conn.execute("DELETE FROM trace_chunks WHERE set_id = ?", (set_id,))
            self._append_trace(set_id, trace.t_s, trace.position_m)
        return trace

    def _close_set(self, set_id: int, *, stop_reason, ended_at, duration_s, result: SetResult | None,
                   recovered: bool = False, rpe=None, note=None, trace: Trace | None = None) -> None:
        """Finish a set: stitch its trace (unless given, already stitched), settle its stop rule, record the end."""
        if trace is None:
            trace = self._stitch_trace(set_id)
        if duration_s is None and trace.n_samples > 1:
            duration_s = float(trace.t_s[-1] - trace.t_s[0])
        if result is None:
            result = self._recompute(set_id)
        self.conn.execute(
            """UPDATE sets SET ended_at = ?, duration_s = ?, stop_reason = ?, best_rep = ?, stop_rep = ?,
                   recovered = max(recovered, ?), rpe = COALESCE(?, rpe), note = COALESCE(?, note),
                   writer_pid = NULL WHERE id = ?""",
            (ended_at, duration_s, stop_reason, result.best_rep, result.stop_rep, int(recovered),
             None if rpe is None else float(rpe), note, set_id),
        )

    def _recompute(self, set_id: int) -> SetResult:
        """Re-apply the stop rule to a set's kept reps and store losses, indices, best and stop rep."""
        row = self.conn.execute("SELECT threshold_pct, metric, duration_s FROM sets WHERE id = ?", (set_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no set {set_id} in the history")
        threshold, metric, duration = row
        stored = self._reps(set_id)
        kept = [s for s in stored if not s.deleted]
        result = apply_stop_rule([s.rep for s in kept], StopRuleConfig(velocity_loss_pct=threshold, metric=metric),
                                 duration_s=duration or 0.0)
        for s, rep in zip(kept, result.reps):
            self.conn.execute("UPDATE reps SET rep_index = ?, velocity_loss_pct = ? WHERE id = ?",
                              (rep.index, _finite_or_none(rep.velocity_loss_pct), s.id))
        self.conn.execute("UPDATE reps SET velocity_loss_pct = NULL WHERE set_id = ? AND deleted = 1", (set_id,))
        self.conn.execute("UPDATE sets SET best_rep = ?, stop_rep = ? WHERE id = ?",
                          (result.best_rep, result.stop_rep, set_id))
        return result

    @_translated
    def add_set(
        self,
        result: SetResult | Sequence[Rep],
        *,
        exercise: str,
        athlete: str = DEFAULT_ATHLETE,
        load_kg: float | None = None,
        side: str = "both",
        metric: str | None = None,
        threshold_pct: float | None = None,
        stop_reason: str | None = "end_of_stream",
        rpe: float | None = None,
        note: str | None = None,
        started_at_unix_s: float | None = None,
        ended_at_unix_s: float | None = None,
        session_id: int | None = None,
        new_session: bool = False,
        trace: tuple[np.ndarray, np.ndarray] | Trace | None = None,
        source: str | None = None,
        uid: str | None = None,
    ) -> int:
        """Store a finished set in one transaction (imports, tests); returns its id.

        ``result`` is a :class:`SetResult` (its metric, threshold, best and stop rep are kept) or
        plain reps (the stop rule is applied with ``metric`` / ``threshold_pct``).
        """
        if isinstance(result, SetResult):
            metric = metric or result.metric
            threshold_pct = result.velocity_loss_threshold_pct if threshold_pct is None else threshold_pct
        metric = metric or "mean"
        threshold_pct = 10.0 if threshold_pct is None else threshold_pct
        problems = check_set_fields(load_kg=load_kg, side=side, metric=metric, threshold_pct=threshold_pct,
                                    rpe=rpe, note=note)
        if problems:
            raise StoreError("; ".join(problems))
        if not isinstance(result, SetResult):
            result = apply_stop_rule(list(result), StopRuleConfig(velocity_loss_pct=threshold_pct, metric=metric))
        t, x = _trace_arrays(trace)
        started = _now() if started_at_unix_s is None else float(started_at_unix_s)
        duration = result.duration_s or (float(t[-1] - t[0]) if t.size > 1 else None)
        ended = ended_at_unix_s if ended_at_unix_s is not None else started + (duration or 0.0)
        with self.transaction():
            set_id = self._insert_set(athlete=athlete, exercise=exercise, load_kg=load_kg, side=side, metric=metric,
                                      threshold_pct=threshold_pct, rpe=rpe, note=note, started_at=started,
                                      session_id=session_id, new_session=new_session, source=source, uid=uid)
            for seq, rep in enumerate(result.reps, start=1):
                self._insert_rep(set_id, seq, rep)
            self._append_trace(set_id, t, x)
            self.conn.execute(
                "UPDATE sets SET ended_at = ?, duration_s = ?, stop_reason = ?, best_rep = ?, stop_rep = ? WHERE id = ?",
                (ended, duration, stop_reason, result.best_rep, result.stop_rep, set_id),
            )
        return set_id

    @_translated
    def update_set(self, set_id: int, **fields) -> SetRecord:
        """Change what a person entered about a set: ``rpe``, ``note``, ``load_kg``, ``side``, ``exercise``.

        Pass ``None`` to clear ``rpe``, ``note`` or ``load_kg``.
        """
        allowed = {"rpe", "note", "load_kg", "side", "exercise"}
        unknown = set(fields) - allowed
        if unknown:
            raise StoreError(f"cannot change {', '.join(sorted(unknown))} of a set (only {', '.join(sorted(allowed))})")
        current = self.get_set(set_id)
        problems = check_set_fields(load_kg=fields.get("load_kg", current.load_kg), side=fields.get("side", current.side),
                                    metric=current.metric, threshold_pct=current.velocity_loss_threshold_pct,
                                    rpe=fields.get("rpe", current.rpe), note=fields.get("note", current.note))
        if problems:
            raise StoreError("; ".join(problems))
        with self.transaction():
            for name in ("rpe", "note", "load_kg", "side"):
                if name in fields:
                    value = fields[name]
                    if name in ("rpe", "load_kg") and value is not None:
                        value = float(value)
                    self.conn.execute(f"UPDATE sets SET {name} = ? WHERE id = ?", (value, set_id))
            if "exercise" in fields:
                exercise_id, _ = self._resolve_exercise(fields["exercise"])
                self.conn.execute("UPDATE sets SET exercise_id = ? WHERE id = ?", (exercise_id, set_id))
        return self.get_set(set_id)

    @_translated
    def delete_rep(self, rep_id: int) -> SetResult:
        """Flag a rep deleted (it stays stored) and re-apply the set's stop rule without it."""
        return self._set_rep_deleted(rep_id, True)

    @_translated
    def restore_rep(self, rep_id: int) -> SetResult:
        """Undo :meth:`delete_rep`; the set's velocity loss is recomputed with the rep back in."""
        return self._set_rep_deleted(rep_id, False)

    def _set_rep_deleted(self, rep_id: int, deleted: bool) -> SetResult:
        with self.transaction():
            row = self.conn.execute("SELECT set_id FROM reps WHERE id = ?", (rep_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no rep {rep_id} in the history")
            self.conn.execute("UPDATE reps SET deleted = ? WHERE id = ?", (int(deleted), rep_id))
            return self._recompute(row[0])

    # ---- crash recovery ------------------------------------------------------------------------

    @_translated
    def recover_interrupted(self, *, force: bool = False) -> list[int]:
        """Close sets whose writer died mid-set; returns their ids.

        A set is interrupted when it has no end and its writer process is gone, or its heartbeat is
        older than :data:`STALE_AFTER_S`. Its trace chunks are stitched, its reps kept, its stop rule
        re-applied; it is marked ``recovered`` with stop reason ``"interrupted"``. Sets being
        written by this process are left alone unless ``force``.
        """
        now = _now()
        rows = self.conn.execute(
            "SELECT id, writer_pid, heartbeat_at, started_at FROM sets WHERE ended_at IS NULL"
        ).fetchall()
        recovered = []
        for set_id, pid, heartbeat, started in rows:
            if not force:
                if pid == os.getpid():
                    continue
                alive = _pid_alive(pid)
                if alive and now - (heartbeat or started) < STALE_AFTER_S:
                    continue
            with self.transaction():
                still_open = self.conn.execute("SELECT 1 FROM sets WHERE id = ? AND ended_at IS NULL", (set_id,)).fetchone()
                if not still_open:
                    continue
                last_rep_end = self.conn.execute(
                    "SELECT MAX(concentric_end_s) FROM reps WHERE set_id = ?", (set_id,)).fetchone()[0]
                trace = self._stitch_trace(set_id)
                duration = float(trace.t_s[-1] - trace.t_s[0]) if trace.n_samples > 1 else None
                ended = heartbeat or (started + (duration or 0.0))
                self._close_set(set_id, stop_reason="interrupted", ended_at=ended, duration_s=duration,
                                result=None, recovered=True, trace=trace)
                log.warning("recovered interrupted set %d (%s): reps and trace kept, last rep ended at %s s",
                            set_id, self.path, last_rep_end)
                recovered.append(set_id)
        return recovered

    # ---- reading -------------------------------------------------------------------------------

    def _athlete_filter(self, athlete: str | None) -> int | None:
        return None if athlete is None else self.athlete_id(athlete)

    def _exercise_filter(self, exercise: str | None) -> int | None:
        return None if exercise is None else self._resolve_exercise(exercise)[0]

    @_translated
    def sessions(
        self,
        *,
        athlete: str | None = None,
        exercise: str | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[SessionSummary]:
        """The history list: sessions with their set and rep counts and exercises.

        With ``exercise`` only sessions containing it are listed, and only its sets are counted.
        """
        athlete_id, exercise_id = self._athlete_filter(athlete), self._exercise_filter(exercise)
        where, params = ["1 = 1"], []
        _add_filters(where, params, ("se.athlete_id = ?", athlete_id), ("se.started_at >= ?", since_unix_s),
                     ("se.started_at < ?", until_unix_s))
        set_filter = ""
        if exercise_id is not None:
            where.append("EXISTS (SELECT 1 FROM sets x WHERE x.session_id = se.id AND x.exercise_id = ?)")
            params.append(exercise_id)
            set_filter = " AND st.exercise_id = ?"
        order = f"se.started_at {'DESC' if newest_first else 'ASC'}, se.id"
        params += [-1 if limit is None else int(limit), int(offset)]
        if exercise_id is not None:
            params.append(exercise_id)
        # Pick the page of sessions first (index on started_at), then count only their sets and reps.
        sql = f"""
            WITH page AS (SELECT se.id FROM sessions se WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?)
            SELECT se.id, se.uid, a.name, se.started_at, MAX(COALESCE(st.ended_at, st.started_at)), COUNT(st.id),
                   COALESCE(SUM((SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 0)), 0),
                   GROUP_CONCAT(DISTINCT st.exercise_id), se.note
            FROM page JOIN sessions se ON se.id = page.id JOIN athletes a ON a.id = se.athlete_id
            LEFT JOIN sets st ON st.session_id = se.id{set_filter}
            GROUP BY se.id
            ORDER BY {order}"""
        names = {row[0]: row[1] for row in self._exercise_rows()}
        return [
            SessionSummary(id=r[0], uid=r[1], athlete=r[2], started_at_unix_s=r[3], ended_at_unix_s=r[4],
                           n_sets=r[5], n_reps=r[6],
                           exercises=tuple(sorted(names[int(i)] for i in str(r[7]).split(","))) if r[7] else (),
                           note=r[8])
            for r in self.conn.execute(sql, params)
        ]

    @_translated
    def sets(
        self,
        *,
        session_id: int | None = None,
        athlete: str | None = None,
        exercise: str | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[SetRecord]:
        """Sets matching every filter given, in time order (oldest first unless ``newest_first``)."""
        athlete_id, exercise_id = self._athlete_filter(athlete), self._exercise_filter(exercise)
        where, params = ["1 = 1"], []
        _add_filters(where, params, ("st.session_id = ?", session_id), ("st.athlete_id = ?", athlete_id),
                     ("st.exercise_id = ?", exercise_id), ("st.started_at >= ?", since_unix_s),
                     ("st.started_at < ?", until_unix_s))
        sql = (_SET_SELECT + f" WHERE {' AND '.join(where)} ORDER BY st.started_at "
               f"{'DESC' if newest_first else 'ASC'}, st.id LIMIT ?")
        params.append(-1 if limit is None else int(limit))
        return [_set_from_row(r) for r in self.conn.execute(sql, params)]

    @_translated
    def get_set(self, set_id: int) -> SetRecord:
        row = self.conn.execute(_SET_SELECT + " WHERE st.id = ?", (set_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no set {set_id} in the history")
        return _set_from_row(row)

    def _reps(self, set_id: int, include_deleted: bool = True) -> list[StoredRep]:
        sql = _REP_SELECT + " WHERE set_id = ?" + ("" if include_deleted else " AND deleted = 0") + " ORDER BY seq"
        return [_rep_from_row(r) for r in self.conn.execute(sql, (set_id,))]

    @_translated
    def reps(self, set_id: int, *, include_deleted: bool = True) -> list[StoredRep]:
        """A set's reps in recorded order; deleted ones included (flagged) unless asked otherwise."""
        return self._reps(set_id, include_deleted)

    @_translated
    def set_result(self, set_id: int) -> SetResult:
        """The set as the analysis reports it: kept reps, best and stop rep."""
        record = self.get_set(set_id)
        return SetResult(reps=tuple(s.rep for s in self._reps(set_id, False)), best_rep=record.best_rep,
                         stop_rep=record.stop_rep, velocity_loss_threshold_pct=record.velocity_loss_threshold_pct,
                         metric=record.metric, duration_s=record.duration_s or 0.0)

    @_translated
    def trace(self, set_id: int) -> Trace:
        """A set's raw trace (empty arrays if none was recorded)."""
        return self._read_trace(set_id)

    @_translated
    def set_detail(self, set_id: int) -> SetDetail:
        """Everything the history view shows for one set."""
        return SetDetail(self.get_set(set_id), tuple(self._reps(set_id)), self._read_trace(set_id))

    @_translated
    def exercise_trend(
        self,
        exercise: str,
        *,
        athlete: str | None = None,
        metric: str = "mean",
        load_kg: float | None = None,
        load_tolerance_kg: float = 0.5,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
    ) -> list[TrendPoint]:
        """One point per session that trained ``exercise``, oldest first (kept reps only).

        ``best_velocity_at_load_m_s`` is the fastest rep within ``load_tolerance_kg`` of ``load_kg``.
        """
        if metric not in METRICS:
            raise StoreError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        column = METRIC_FIELDS[metric]
        exercise_id = self._resolve_exercise(exercise)[0]
        where, params = ["st.exercise_id = ?"], [exercise_id]
        _add_filters(where, params, ("st.athlete_id = ?", self._athlete_filter(athlete)),
                     ("st.started_at >= ?", since_unix_s), ("st.started_at < ?", until_unix_s))
        sql = f"""
            SELECT st.session_id, st.started_at, st.load_kg, COUNT(*), MAX(r.{column})
            FROM sets st JOIN reps r ON r.set_id = st.id AND r.deleted = 0
            WHERE {' AND '.join(where)}
            GROUP BY st.id ORDER BY st.started_at, st.id"""
        points: dict[int, dict] = {}
        for session_id, started, load, n_reps, best in self.conn.execute(sql, params):
            p = points.get(session_id)
            if p is None:
                p = points[session_id] = {"started": started, "n_sets": 0, "n_reps": 0, "volume": 0.0,
                                          "top": None, "best": None, "best_load": None, "at_load": None}
            p["n_sets"] += 1
            p["n_reps"] += n_reps
            if load is not None:
                p["volume"] += load * n_reps
                p["top"] = load if p["top"] is None else max(p["top"], load)
            if best is not None:
                if p["best"] is None or best > p["best"]:
                    p["best"], p["best_load"] = best, load
                if load_kg is not None and load is not None and abs(load - load_kg) <= load_tolerance_kg:
                    p["at_load"] = best if p["at_load"] is None else max(p["at_load"], best)
        return [
            TrendPoint(session_id=sid, date=local_date(p["started"]), started_at_unix_s=p["started"],
                       n_sets=p["n_sets"], n_reps=p["n_reps"], volume_kg=p["volume"], top_load_kg=p["top"],
                       best_velocity_m_s=p["best"], best_velocity_load_kg=p["best_load"],
                       best_velocity_at_load_m_s=p["at_load"])
            for sid, p in sorted(points.items(), key=lambda kv: (kv[1]["started"], kv[0]))
        ]

    @_translated
    def profile_points(
        self,
        exercise: str,
        *,
        athlete: str | None = None,
        metric: str = "mean",
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        side: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fastest kept rep at each load (loads rounded to 0.01 kg): two float64 arrays sorted by load."""
        if metric not in METRICS:
            raise StoreError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
        column = METRIC_FIELDS[metric]
        exercise_id = self._resolve_exercise(exercise)[0]
        where, params = ["st.exercise_id = ?", "st.load_kg > 0"], [exercise_id]
        _add_filters(where, params, ("st.athlete_id = ?", self._athlete_filter(athlete)),
                     ("st.started_at >= ?", since_unix_s), ("st.started_at <= ?", until_unix_s), ("st.side = ?", side))
        rows = self.conn.execute(
            f"""SELECT MIN(st.load_kg), MAX(r.{column}) FROM sets st
                JOIN reps r ON r.set_id = st.id AND r.deleted = 0
                WHERE {' AND '.join(where)} AND r.{column} IS NOT NULL
                GROUP BY round(st.load_kg * 100) ORDER BY 1""",
            params,
        ).fetchall()
        return (np.array([r[0] for r in rows], dtype=np.float64), np.array([r[1] for r in rows], dtype=np.float64))

    @_translated
    def load_velocity_profile(
        self,
        exercise: str,
        *,
        athlete: str | None = None,
        metric: str = "mean",
        days: float | None = DEFAULT_PROFILE_DAYS,
        until_unix_s: float | None = None,
        side: str | None = None,
        confidence: float = 0.95,
    ) -> LoadVelocityProfile:
        """Fit the load-velocity profile of ``exercise`` for one athlete (see :mod:`vbt.profile`).

        Uses the ``days`` days up to ``until_unix_s`` (default: the athlete's newest set of the
        exercise); ``days`` 0 or None uses all history. Without ``athlete``, the only athlete who did
        the exercise is used. Raises :class:`vbt.profile.ProfileError` when no line can be fitted.
        """
        exercise_id, ex = self._resolve_exercise(exercise)
        if athlete is None:
            names = [r[0] for r in self.conn.execute(
                "SELECT DISTINCT a.name FROM sets st JOIN athletes a ON a.id = st.athlete_id WHERE st.exercise_id = ?",
                (exercise_id,))]
            if not names:
                raise ProfileError(f"no {ex.name} sets in the history yet")
            if len(names) > 1:
                raise ProfileError(f"{ex.name} was done by several athletes ({', '.join(sorted(names))}): choose one")
            athlete = names[0]
        athlete_id = self.athlete_id(athlete)
        if until_unix_s is None:
            until_unix_s = self.conn.execute(
                "SELECT MAX(started_at) FROM sets WHERE athlete_id = ? AND exercise_id = ?",
                (athlete_id, exercise_id)).fetchone()[0]
            if until_unix_s is None:
                raise ProfileError(f"{athlete} has no {ex.name} sets in the history yet")
        since = until_unix_s - days * 86400.0 if days else None
        loads, vel = self.profile_points(ex.name, athlete=athlete, metric=metric, since_unix_s=since,
                                         until_unix_s=until_unix_s, side=side)
        notes = []
        window = f"sets from {local_date(since)} to {local_date(until_unix_s)}" if since else \
            f"all sets up to {local_date(until_unix_s)}"
        notes.append(window)
        if ex.mvt_source != "science.md":
            notes.append(f"MVT {ex.mvt_m_s:g} m/s is {'set by the user' if ex.mvt_source == 'user' else 'our own estimate, not a published figure'}")
        if metric != "mean":
            notes.append("the MVT is defined for mean velocity; with another metric the 1RM is only indicative")
        return fit_profile(loads, vel, ex.mvt_m_s, metric=metric, low_confidence=ex.low_confidence,
                           confidence=confidence, exercise=ex.name, athlete=athlete, notes=tuple(notes))

    @_translated
    def history(
        self,
        *,
        athlete: str | None = None,
        exercise: str | None = None,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        limit: int | None = None,
    ) -> dict:
        """The nested JSON of `vbt history --json`: sessions (oldest first) -> sets -> reps.

        A rep has the fields of ``Rep.to_json`` plus ``rep_id``, ``recorded_index`` and ``deleted``.
        ``limit`` keeps the newest sessions.
        """
        sessions = self.sessions(athlete=athlete, exercise=exercise, since_unix_s=since_unix_s,
                                 until_unix_s=until_unix_s, limit=limit, newest_first=True)[::-1]
        wanted = {s.id for s in sessions}
        since = min((s.started_at_unix_s for s in sessions), default=None)
        by_session: dict[int, list[SetRecord]] = {}
        for record in self.sets(athlete=athlete, exercise=exercise,
                                since_unix_s=None if since is None else since - SESSION_GAP_S):
            if record.session_id in wanted:
                by_session.setdefault(record.session_id, []).append(record)
        reps = self._reps_by_set([r.id for recs in by_session.values() for r in recs])
        out = []
        for s in sessions:
            sets_json = [{**record.to_json(), "reps": [r.to_json() for r in reps.get(record.id, ())]}
                         for record in by_session.get(s.id, ())]
            out.append({"id": s.id, "uid": s.uid, "athlete": s.athlete, "started_at": iso_local(s.started_at_unix_s),
                        "started_unix_s": s.started_at_unix_s, "note": s.note, "sets": sets_json})
        return {"format": "vbt-history", "version": 1, "sessions": out}

    def _reps_by_set(self, set_ids: Sequence[int]) -> dict[int, list[StoredRep]]:
        """Reps of many sets in a few queries: set id -> reps in recorded order."""
        out: dict[int, list[StoredRep]] = {}
        ids = list(set_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            sql = _REP_SELECT + f" WHERE set_id IN ({', '.join('?' * len(chunk))}) ORDER BY set_id, seq"
            for row in self.conn.execute(sql, chunk):
                rep = _rep_from_row(row)
                out.setdefault(rep.set_id, []).append(rep)
        return out

    # ---- CSV export and import -----------------------------------------------------------------

    @_translated
    def export_csv(self, directory: str | os.PathLike, *, athlete: str | None = None, exercise: str | None = None,
                   traces: bool = False) -> dict[str, int]:
        """Write exercises.csv, sessions.csv, sets.csv and reps.csv (and traces/<set uid>.csv).

        Floats are written in Python's shortest exact form, so :meth:`import_csv` restores them bit
        for bit; times are given both as local ISO text (for people) and as unix seconds (exact).
        Files are written beside their final name and renamed, so a failure leaves old files intact.
        """
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{directory}: cannot create the export directory ({exc.strerror or exc})") from None
        sets = self.sets(athlete=athlete, exercise=exercise)
        session_ids = sorted({s.session_id for s in sets})
        sessions = {s.id: s for s in self.sessions(athlete=athlete, exercise=exercise)}
        used_exercises = {exercise_key(s.exercise) for s in sets}
        tables: dict[str, tuple[tuple[str, ...], list[list]]] = {}
        tables["exercises.csv"] = (EXPORT_COLUMNS["exercises.csv"], [
            [e.name, e.mvt_m_s, e.min_rom_m, int(e.low_confidence), e.mvt_source, int(e.builtin)]
            for e in self.exercises() if e.key in used_exercises or not e.builtin
        ])
        tables["sessions.csv"] = (EXPORT_COLUMNS["sessions.csv"], [
            [sid, sessions[sid].uid, sessions[sid].athlete, iso_local(sessions[sid].started_at_unix_s),
             sessions[sid].started_at_unix_s, sessions[sid].note]
            for sid in session_ids if sid in sessions
        ])
        session_uid = {sid: sessions[sid].uid for sid in session_ids if sid in sessions}
        tables["sets.csv"] = (EXPORT_COLUMNS["sets.csv"], [
            [s.id, s.uid, s.session_id, session_uid.get(s.session_id), s.athlete, s.exercise, s.load_kg, s.side,
             s.metric, s.velocity_loss_threshold_pct, s.best_rep, s.stop_rep, s.stop_reason, s.rpe, s.note,
             iso_local(s.started_at_unix_s), s.started_at_unix_s, iso_local(s.ended_at_unix_s), s.ended_at_unix_s,
             s.duration_s, int(s.recovered), s.source, s.n_reps]
            for s in sets
        ])
        rep_rows = []
        reps_by_set = self._reps_by_set([s.id for s in sets])
        for s in sets:
            for r in reps_by_set.get(s.id, ()):
                rep_json = r.rep.to_json()
                rep_rows.append([r.id, s.id, s.uid, iso_local(s.started_at_unix_s), s.athlete, s.exercise, s.load_kg,
                                 r.recorded_index, int(r.deleted), *[rep_json[f] for f in REP_JSON_FIELDS]])
        tables["reps.csv"] = (EXPORT_COLUMNS["reps.csv"], rep_rows)
        written = []
        try:
            for name, (header, rows) in tables.items():
                tmp = directory / (name + ".tmp")
                written.append(tmp)
                _write_csv(tmp, header, rows)
            if traces:
                trace_dir = directory / "traces"
                trace_dir.mkdir(exist_ok=True)
                for s in sets:
                    tr = self._read_trace(s.id)
                    if tr.n_samples:
                        tmp = trace_dir / f"{s.uid}.csv.tmp"
                        written.append(tmp)
                        _write_csv(tmp, ("t_s", "position_m"), zip(tr.t_s.tolist(), tr.position_m.tolist()))
            for tmp in written:
                os.replace(tmp, tmp.with_name(tmp.name[: -len(".tmp")]))
        except OSError as exc:
            for tmp in written:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            if getattr(exc, "errno", None) == 28:
                raise StoreError(f"{directory}: the disk is full; no export written") from None
            raise StoreError(f"{directory}: cannot write the export ({exc.strerror or exc})") from None
        return {"sessions": len(tables["sessions.csv"][1]), "sets": len(sets), "reps": len(rep_rows)}

    @_translated
    def import_csv(self, directory: str | os.PathLike, *, athlete: str | None = None) -> dict[str, int]:
        """Bring an :meth:`export_csv` directory into this history (all or nothing).

        Sets already present (same uid) are skipped, so importing twice changes nothing. ``athlete``
        puts every imported session under that athlete instead of the exported names.
        """
        data = read_export(directory)
        counts = {"sessions": 0, "sets": 0, "reps": 0, "skipped_sets": 0}
        with self.transaction():
            for ex in data.exercises:
                try:
                    self._resolve_exercise(ex.name, by_prefix=False)
                except UnknownExerciseError:
                    self.conn.execute(
                        "INSERT INTO exercises (name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin) "
                        "VALUES (?, ?, ?, ?, ?, 0)",
                        (ex.name, ex.mvt_m_s, ex.min_rom_m, int(ex.low_confidence), ex.mvt_source))
            for s in data.sets:  # every exercise must be known now
                self._resolve_exercise(s["exercise"])
            session_ids: dict[str, int] = {}
            for sess in data.sessions:
                row = self.conn.execute("SELECT id FROM sessions WHERE uid = ?", (sess["uid"],)).fetchone()
                if row:
                    session_ids[sess["uid"]] = row[0]
                    continue
                athlete_id = self.athlete_id(athlete or sess["athlete"], create=True)
                cur = self.conn.execute("INSERT INTO sessions (uid, athlete_id, started_at, note) VALUES (?, ?, ?, ?)",
                                        (sess["uid"], athlete_id, sess["started_unix_s"], sess["note"]))
                session_ids[sess["uid"]] = cur.lastrowid
                counts["sessions"] += 1
            for s in data.sets:
                if self.conn.execute("SELECT 1 FROM sets WHERE uid = ?", (s["uid"],)).fetchone():
                    counts["skipped_sets"] += 1
                    continue
                set_id = self._insert_set(
                    athlete=athlete or s["athlete"], exercise=s["exercise"], load_kg=s["load_kg"], side=s["side"],
                    metric=s["metric"], threshold_pct=s["threshold_pct"], rpe=s["rpe"], note=s["note"],
                    started_at=s["started_unix_s"], session_id=session_ids[s["session_uid"]], new_session=False,
                    source=s["source"], uid=s["uid"])
                for seq, deleted, rep in data.reps.get(s["uid"], ()):
                    self._insert_rep(set_id, seq, rep, deleted)
                    counts["reps"] += 1
                trace = data.traces.get(s["uid"])
                if trace is not None:
                    self._append_trace(set_id, *trace)
                self.conn.execute(
                    "UPDATE sets SET ended_at = ?, duration_s = ?, stop_reason = ?, best_rep = ?, stop_rep = ?, "
                    "recovered = ? WHERE id = ?",
                    (s["ended_unix_s"], s["duration_s"], s["stop_reason"], s["best_rep"], s["stop_rep"],
                     s["recovered"], set_id))
                counts["sets"] += 1
        return counts


def _trace_arrays(trace) -> tuple[np.ndarray, np.ndarray]:
    if trace is None:
        return np.zeros(0), np.zeros(0)
    if isinstance(trace, Trace):
        t, x = trace.t_s, trace.position_m
    else:
        t, x = trace
    t = np.asarray(t, dtype=np.float64).ravel()
    x = np.asarray(x, dtype=np.float64).ravel()
    if t.shape != x.shape:
        raise StoreError(f"trace has {t.size} times but {x.size} positions")
    return t, x


# ---- CSV format ----------------------------------------------------------------------------------

EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "exercises.csv": ("name", "mvt_m_s", "min_rom_m", "low_confidence", "mvt_source", "builtin"),
    "sessions.csv": ("session_id", "session_uid", "athlete", "started_at", "started_unix_s", "note"),
    "sets.csv": ("set_id", "set_uid", "session_id", "session_uid", "athlete", "exercise", "load_kg", "side",
                 "metric", "velocity_loss_threshold_pct", "best_rep", "stop_rep", "stop_reason", "rpe", "note",
                 "started_at", "started_unix_s", "ended_at", "ended_unix_s", "duration_s", "recovered", "source",
                 "n_reps"),
    "reps.csv": ("rep_id", "set_id", "set_uid", "set_started_at", "athlete", "exercise", "load_kg",
                 "recorded_index", "deleted", *REP_JSON_FIELDS),
}
EXPORT_FILES = tuple(EXPORT_COLUMNS)


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    # UTF-8 with a byte-order mark so spreadsheets detect the encoding of names and notes.
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
        fh.flush()
        os.fsync(fh.fileno())


@dataclass(frozen=True)
class ExportData:
    exercises: tuple[Exercise, ...]
    sessions: tuple[dict, ...]
    sets: tuple[dict, ...]
    reps: dict  # set uid -> list of (recorded_index, deleted, Rep)
    traces: dict  # set uid -> (t_s, position_m)


class _Row:
    """Typed access to one CSV row with errors that name the file and line."""

    def __init__(self, path, line, row):
        self.path, self.line, self.row = path, line, row

    def fail(self, column, problem) -> StoreError:
        return StoreError(f"{self.path}: line {self.line}, column {column}: {problem}")

    def text(self, column, required=True):
        value = self.row.get(column)
        if value is None:
            raise self.fail(column, "missing column")
        if value == "":
            if required:
                raise self.fail(column, "empty")
            return None
        return value

    def number(self, column, required=False):
        value = self.text(column, required)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise self.fail(column, f"{value!r} is not a number") from None

    def integer(self, column, required=False):
        value = self.text(column, required)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise self.fail(column, f"{value!r} is not a whole number") from None


def _read_csv_rows(path: Path, required: bool = True, columns: Sequence[str] | None = None):
    if not path.exists():
        if required:
            raise StoreError(f"{path}: missing (an export has {', '.join(EXPORT_FILES)})")
        return []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            expected = columns if columns is not None else EXPORT_COLUMNS[path.name]
            missing = [c for c in expected if c not in (reader.fieldnames or [])]
            if missing:
                raise StoreError(f"{path}: not a VBT export file (missing columns: {', '.join(missing[:5])})")
            return [_Row(path, n, row) for n, row in enumerate(reader, start=2)]
    except UnicodeDecodeError:
        raise StoreError(f"{path}: not a text file") from None
    except csv.Error as exc:
        raise StoreError(f"{path}: not readable as CSV ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_export(directory: str | os.PathLike) -> ExportData:
    """Read and check an export directory completely before anything is written."""
    directory = Path(directory)
    if not directory.is_dir():
        raise StoreError(f"{directory}: not an export directory")
    exercises = []
    for row in _read_csv_rows(directory / "exercises.csv", required=False):
        ex = Exercise(row.text("name"), row.number("mvt_m_s", True), row.number("min_rom_m", True),
                      bool(row.integer("low_confidence", True)), row.text("mvt_source", False) or "user", False)
        problems = ex.validate()
        if problems:
            raise row.fail("name", "; ".join(problems))
        exercises.append(ex)
    sessions = []
    for row in _read_csv_rows(directory / "sessions.csv"):
        sessions.append({"uid": row.text("session_uid"), "athlete": row.text("athlete"),
                         "started_unix_s": row.number("started_unix_s", True), "note": row.text("note", False)})
    session_uids = {s["uid"] for s in sessions}
    sets = []
    for row in _read_csv_rows(directory / "sets.csv"):
        s = {
            "uid": row.text("set_uid"), "session_uid": row.text("session_uid"), "athlete": row.text("athlete"),
            "exercise": row.text("exercise"), "load_kg": row.number("load_kg"), "side": row.text("side"),
            "metric": row.text("metric"), "threshold_pct": row.number("velocity_loss_threshold_pct", True),
            "best_rep": row.integer("best_rep"), "stop_rep": row.integer("stop_rep"),
            "stop_reason": row.text("stop_reason", False), "rpe": row.number("rpe"), "note": row.text("note", False),
            "started_unix_s": row.number("started_unix_s", True), "ended_unix_s": row.number("ended_unix_s"),
            "duration_s": row.number("duration_s"), "recovered": row.integer("recovered") or 0,
            "source": row.text("source", False),
        }
        if s["session_uid"] not in session_uids:
            raise row.fail("session_uid", "no such session in sessions.csv")
        problems = check_set_fields(load_kg=s["load_kg"], side=s["side"], metric=s["metric"],
                                    threshold_pct=s["threshold_pct"], rpe=s["rpe"], note=s["note"])
        if problems:
            raise row.fail("set_uid", "; ".join(problems))
        sets.append(s)
    set_uids = {s["uid"] for s in sets}
    reps: dict[str, list] = {}
    for row in _read_csv_rows(directory / "reps.csv"):
        set_uid = row.text("set_uid")
        if set_uid not in set_uids:
            raise row.fail("set_uid", "no such set in sets.csv")
        values = {"index": row.integer("index", True)}
        for name in REP_METRIC_COLUMNS:
            values[name] = row.number(name, name in ("concentric_start_s", "concentric_end_s"))
        reps.setdefault(set_uid, []).append((row.integer("recorded_index", True), bool(row.integer("deleted")),
                                             Rep(**values)))
    for set_uid, items in reps.items():
        seqs = [seq for seq, _, _ in items]
        if len(set(seqs)) != len(seqs):
            raise StoreError(f"{directory / 'reps.csv'}: set {set_uid} has two reps with the same recorded_index")
    traces = {}
    trace_dir = directory / "traces"
    for s in sets:
        path = trace_dir / f"{s['uid']}.csv"
        if path.exists():
            t, x = [], []
            for row in _read_csv_rows(path, columns=("t_s", "position_m")):
                t.append(row.number("t_s", True))
                x.append(row.number("position_m", True))
            traces[s["uid"]] = (np.array(t, dtype=np.float64), np.array(x, dtype=np.float64))
    return ExportData(tuple(exercises), tuple(sessions), tuple(sets), reps, traces)


# ---- live recording ------------------------------------------------------------------------------


class _LiveSet:
    """Writer-thread state of one set being recorded."""

    def __init__(self, params: dict):
        self.params = params
        self.set_id: int | None = None
        self.trace_t: list[np.ndarray] = []
        self.trace_x: list[np.ndarray] = []
        self.next_seq = 1
        self.ended = False


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
        rec.end_set(event.result, "stillness", rpe=8)  # on SetEnded (or the GUI's stop button)
        rec.stop()                                     # drains the queue and closes

    Trace samples arriving while no set is open are kept for ``pre_roll_s`` seconds and become the
    start of the next set's trace (the tracker only knows a set has begun once its first rep is done).

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
        Called on the writer thread with a one-line message whenever a write fails.
    """

    def __init__(
        self,
        home: str | os.PathLike | None = None,
        *,
        path: str | os.PathLike | None = None,
        trace_flush_interval_s: float = 0.25,
        pre_roll_s: float = 10.0,
        on_error: Callable[[str], None] | None = None,
        busy_timeout_s: float = 30.0,
        open_timeout_s: float = 60.0,
    ):
        self.path = Path(path) if path is not None else database_path(home)
        self.trace_flush_interval_s = float(trace_flush_interval_s)
        self.pre_roll_s = float(pre_roll_s)
        self.on_error = on_error
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

    def _put(self, *cmd) -> None:
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
    ) -> concurrent.futures.Future:
        """Open a set (ending any set still open, reason "superseded"). Returns a future of its id.

        Bad fields and unknown exercises raise :class:`StoreError` here, before anything is queued.
        """
        problems = check_set_fields(load_kg=load_kg, side=side, metric=metric, threshold_pct=threshold_pct)
        if find_exercise(exercise, self._exercises) is None:
            raise UnknownExerciseError(f"unknown exercise {exercise!r} (see `vbt exercises`)")
        if problems:
            raise StoreError("; ".join(problems))
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._current is not None:
                self._put("end", self._current, None, "superseded", None, None, concurrent.futures.Future())
            token = object()
            params = dict(exercise=exercise, load_kg=load_kg, athlete=athlete, side=side, metric=metric,
                          threshold_pct=threshold_pct, session_id=session_id, new_session=new_session,
                          started_at=_now() if started_at_unix_s is None else started_at_unix_s, source=source)
            self._put("start", token, params, fut)
            self._current = token
        return fut

    def add_rep(self, rep: Rep) -> concurrent.futures.Future:
        """Commit a completed rep of the open set; the future gives its row id once durable."""
        if not isinstance(rep, Rep):
            raise TypeError(f"add_rep needs a vbt.results.Rep, got {type(rep).__name__}")
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._current is None:
                raise RuntimeError("add_rep: no set is open (call start_set first)")
            self._put("rep", self._current, rep, fut)
        return fut

    def add_trace(self, t_s, position_m) -> None:
        """Journal raw samples (any chunk size, times increasing). Never blocks on the disk."""
        t = np.array(t_s, dtype=np.float64, copy=True).ravel()
        x = np.array(position_m, dtype=np.float64, copy=True).ravel()
        if t.shape != x.shape:
            raise ValueError(f"add_trace: {t.size} times but {x.size} positions")
        if t.size:
            with self._lock:
                self._put("trace", self._current, t, x)

    def end_set(self, result: SetResult | None = None, stop_reason: str = "manual", rpe: float | None = None,
                note: str | None = None) -> concurrent.futures.Future:
        """Close the open set. ``result`` (the tracker's SetEnded result) adds any rep not yet
        added and fixes best and stop rep; without it the stop rule is re-applied to the stored reps.
        The future gives the set id."""
        problems = check_set_fields(rpe=rpe, note=note)
        if problems:
            raise StoreError("; ".join(problems))
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._current is None:
                raise RuntimeError("end_set: no set is open")
            self._put("end", self._current, result, stop_reason, rpe, note, fut)
            self._current = None
        return fut

    def update_set(self, set_id: int, **fields) -> concurrent.futures.Future:
        """:meth:`Store.update_set` on the writer thread (RPE or a note entered after the set)."""
        return self.submit(lambda store: store.update_set(set_id, **fields))

    def submit(self, fn: Callable[["Store"], object]) -> concurrent.futures.Future:
        """Run ``fn(store)`` on the writer thread (e.g. ``lambda s: s.delete_rep(rep_id)``)."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._put("call", fn, fut)
        return fut

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far (trace included) is committed; False on timeout."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._put("flush", fut)
        try:
            fut.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def stop(self, timeout: float | None = 30.0) -> None:
        """Drain the queue, end an open set (reason "closed"), close the store, join the thread."""
        with self._lock:
            if self._stopped:
                return
            if self._current is not None:
                self._put("end", self._current, None, "closed", None, None, concurrent.futures.Future())
                self._current = None
            self._put("stop")
            self._stopped = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the history writer did not finish within %s s", timeout)

    def __enter__(self) -> "SetRecorder":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- writer thread -------------------------------------------------------------------------

    def _report(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, StoreError) else f"{self.path}: {exc}"
        log.error("history write failed: %s", message)
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:  # noqa: BLE001 - a broken callback must not kill the writer
                log.exception("on_error callback failed")

    def _run(self) -> None:
        try:
            store = Store(self.path, busy_timeout_s=self._busy_timeout_s)
        except BaseException as exc:  # noqa: BLE001 - handed to the constructor's thread
            self._open_error = exc if isinstance(exc, StoreError) else StoreError(f"{self.path}: {exc}")
            self._ready.set()
            return
        try:
            self._exercises = tuple(store.exercises())
            self._ready.set()
            self._loop(store)
        except BaseException as exc:  # pragma: no cover - last resort, logged
            log.exception("history writer crashed")
            self._report(exc)
        finally:
            store.close()

    def _loop(self, store: Store) -> None:
        sets: dict[object, _LiveSet] = {}
        pre_t: list[np.ndarray] = []
        pre_x: list[np.ndarray] = []
        last_flush = time.monotonic()
        last_beat = time.monotonic()

        def ensure(live: _LiveSet) -> int:
            if live.set_id is None:
                p = live.params
                with store.transaction():
                    live.set_id = store._insert_set(
                        athlete=p["athlete"], exercise=p["exercise"], load_kg=p["load_kg"], side=p["side"],
                        metric=p["metric"], threshold_pct=p["threshold_pct"], rpe=None, note=None,
                        started_at=p["started_at"], session_id=p["session_id"],
                        new_session=p["new_session"], source=p["source"], uid=None, writer_pid=os.getpid())
            return live.set_id

        def write_trace(live: _LiveSet) -> None:
            """Append the set's buffered trace (inside the caller's transaction)."""
            if live.trace_t:
                t, x = np.concatenate(live.trace_t), np.concatenate(live.trace_x)
                store._append_trace(live.set_id, t, x)
                live.trace_t.clear()
                live.trace_x.clear()

        def flush_all(beat: bool) -> None:
            nonlocal last_flush, last_beat
            last_flush = time.monotonic()
            for live in list(sets.values()):
                if live.ended or not (live.trace_t or beat):
                    continue
                try:
                    ensure(live)
                    with store.transaction():
                        write_trace(live)
                        store.conn.execute("UPDATE sets SET heartbeat_at = ? WHERE id = ?", (_now(), live.set_id))
                    last_beat = time.monotonic()
                except StoreError as exc:  # kept in memory; retried at the next flush
                    self._report(exc)

        while True:
            open_sets = any(not s.ended for s in sets.values())
            timeout = None
            if open_sets:
                timeout = max(0.0, last_flush + self.trace_flush_interval_s - time.monotonic())
            try:
                cmd = self._queue.get(timeout=timeout)
            except queue.Empty:
                cmd = None
            if cmd is not None:
                kind = cmd[0]
                if kind == "stop":
                    flush_all(False)
                    return
                try:
                    if kind == "trace":
                        _, token, t, x = cmd
                        live = sets.get(token)
                        if live is None or live.ended:
                            pre_t.append(t)
                            pre_x.append(x)
                            _trim_pre_roll(pre_t, pre_x, self.pre_roll_s)
                        else:
                            live.trace_t.append(t)
                            live.trace_x.append(x)
                    elif kind == "start":
                        _, token, params, fut = cmd
                        live = sets[token] = _LiveSet(params)
                        live.trace_t, live.trace_x = pre_t[:], pre_x[:]
                        pre_t.clear()
                        pre_x.clear()
                        try:
                            with store.transaction():
                                ensure(live)
                                write_trace(live)
                            fut.set_result(live.set_id)
                        except StoreError as exc:
                            self._report(exc)
                            fut.set_exception(exc)
                    elif kind == "rep":
                        _, token, rep, fut = cmd
                        live = sets[token]
                        try:
                            ensure(live)
                            with store.transaction():
                                write_trace(live)
                                rep_id = store._insert_rep(live.set_id, live.next_seq, rep)
                                store.conn.execute("UPDATE sets SET heartbeat_at = ? WHERE id = ?",
                                                   (_now(), live.set_id))
                            live.next_seq += 1
                            fut.set_result(rep_id)
                        except StoreError as exc:
                            self._report(exc)
                            fut.set_exception(exc)
                    elif kind == "end":
                        _, token, result, reason, rpe, note, fut = cmd
                        live = sets[token]
                        try:
                            ensure(live)
                            with store.transaction():
                                write_trace(live)
                                if result is not None:
                                    have = {s.rep.index for s in store._reps(live.set_id)}
                                    for rep in result.reps:
                                        if rep.index not in have:
                                            store._insert_rep(live.set_id, live.next_seq, rep)
                                            live.next_seq += 1
                                store._close_set(live.set_id, stop_reason=reason, ended_at=_now(),
                                                 duration_s=(result.duration_s or None) if result else None,
                                                 result=result, rpe=rpe, note=note)
                            live.ended = True
                            del sets[token]
                            fut.set_result(live.set_id)
                        except StoreError as exc:
                            self._report(exc)
                            fut.set_exception(exc)
                    elif kind == "call":
                        _, fn, fut = cmd
                        try:
                            value = fn(store)
                        except BaseException as exc:  # noqa: BLE001 - delivered on the future
                            fut.set_exception(exc)
                        else:
                            self._exercises = tuple(store.exercises())  # fn may have added one
                            fut.set_result(value)
                    elif kind == "flush":
                        flush_all(False)
                        cmd[1].set_result(True)
                except Exception as exc:  # noqa: BLE001 - the writer must survive anything
                    log.exception("history writer: %s failed", kind)
                    self._report(exc)
            now = time.monotonic()
            if now - last_flush >= self.trace_flush_interval_s:
                flush_all(now - last_beat >= HEARTBEAT_S)


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
