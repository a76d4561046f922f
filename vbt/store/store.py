"""The history store: opening the file, transactions, the catalogue, writing sets, crash recovery.

Reading lives in :mod:`vbt.store.queries` and CSV exchange in :mod:`vbt.store.csv_io`; both are
mixed into :class:`Store`. What is SQLite-specific is in :mod:`vbt.store.db` and
:mod:`vbt.store.schema`; the SQL here is portable.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from vbt import exercises as catalogue
from vbt.config import StopRuleConfig
from vbt.exercises import Exercise, exercise_key, find_exercise
from vbt.fields import check_set_fields
from vbt.results import Rep, SetResult
from vbt.stoprule import apply_stop_rule
from vbt.store import db
from vbt.store.codec import TRACE_CODEC, decode_f8, encode_f8
from vbt.store.csv_io import CsvExchange
from vbt.store.errors import (
    NotFoundError,
    StoreError,
    UnknownAthleteError,
    UnknownExerciseError,
    _explain,
    _translated,
)
from vbt.store.paths import database_path
from vbt.store.plans import PlanStore
from vbt.store.queries import SESSION_GAP_S, Queries
from vbt.store.records import Athlete, SetRecord, Trace, _new_uid, _now
from vbt.store.schema import REP_METRIC_COLUMNS, REP_TEXT_COLUMNS, SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)

DEFAULT_ATHLETE = "default"
#: A set with no heartbeat for this long is interrupted even if a process with its writer's pid
#: exists (pid reuse after a crash). A live writer beats every ``HEARTBEAT_S``.
STALE_AFTER_S = 120.0
HEARTBEAT_S = 5.0


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


def _finite_or_none(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _rep_values(rep: Rep) -> list:
    """A rep's REP_METRIC_COLUMNS, as stored."""
    return [str(getattr(rep, c)) if c in REP_TEXT_COLUMNS else _finite_or_none(getattr(rep, c))
            for c in REP_METRIC_COLUMNS]


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


class Store(Queries, CsvExchange, PlanStore):
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
        self._conn = None
        self._tx_depth = 0
        self.damaged: str | None = None  # what quick_check found wrong; nothing is written then
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory, not a history database")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path.parent}: cannot create the data directory ({exc.strerror or exc})") from None
        timeout = db.DEFAULT_BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        self._busy_timeout_s = timeout
        try:
            self._conn = db.connect(str(self.path), timeout)
        except db.DatabaseError as exc:
            raise StoreError(self._explain_open(exc)) from None
        try:
            self._open(recover)
        except db.DatabaseError as exc:
            self.close()
            raise StoreError(self._explain_open(exc)) from None
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, home: str | os.PathLike | None = None, **kwargs) -> "Store":
        """Open the history in ``home`` (default: :func:`default_home`)."""
        return cls(database_path(home), **kwargs)

    def _open(self, recover: bool) -> None:
        conn = self._conn
        version = db.schema_version(conn)  # fails fast on a non-database
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: made by a newer version of the tracker (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); update the tracker"
            )
        if version:
            self.damaged = db.damage(conn)
        if self.damaged is not None:
            if version < SCHEMA_VERSION:
                raise StoreError(self.damage_message)
            log.warning("%s", self.damage_message)
            return  # no journal switch, seeding or recovery: nothing is written into a damaged file
        mode = db.enter_wal(conn, self._busy_timeout_s)
        if str(mode).lower() != "wal":
            log.warning("%s: journal mode is %s, not WAL", self.path, mode)
        db.configure(conn)
        if 0 < version < SCHEMA_VERSION:
            self._backup_before_migration(version)
        if version < SCHEMA_VERSION:
            build_schema(conn, SCHEMA_VERSION)
            if version:
                log.info("%s: migrated history from schema %d to %d", self.path, version, SCHEMA_VERSION)
        self._seed_catalogue()
        if recover:
            self.recover_interrupted()

    def _explain_open(self, exc) -> str:
        """One line for a failed open; a read-only place is named as such."""
        for place in (self.path.parent, self.path):
            if place.exists() and not os.access(place, os.W_OK):
                return f"{self.path}: the history database is read-only (cannot write {place}); nothing would be saved"
        return _explain(exc, self.path)

    @property
    def damage_message(self) -> str:
        return (f"{self.path}: the history file is damaged ({self.damaged}); nothing is written into it. "
                f"`vbt history repair` copies what is readable into a new file")

    def writable_problem(self) -> str | None:
        """Why sets could not be saved into this file (damaged, read-only, no room to start), or None."""
        if self.damaged is not None:
            return self.damage_message
        for place in (self.path, self.path.parent):
            if not os.access(place, os.W_OK):
                return f"{self.path}: the history database is read-only (cannot write {place}); nothing would be saved"
        conn = self.conn
        try:
            conn.execute(db.DIALECT.begin_write)
            conn.execute("ROLLBACK")
        except db.DatabaseError as exc:
            return _explain(exc, self.path)
        return None

    def _backup_before_migration(self, version: int) -> None:
        backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
        if backup.exists():
            return
        db.copy_file(self._conn, backup)
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
    def conn(self):
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
        if self.damaged is not None:
            raise StoreError(self.damage_message)
        conn = self.conn
        try:
            conn.execute(db.DIALECT.begin_write)
        except db.DatabaseError as exc:
            raise StoreError(_explain(exc, self.path)) from exc
        self._tx_depth = 1
        try:
            yield self
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except db.DatabaseError:  # pragma: no cover - rollback after an I/O error
                    log.exception("rollback failed")
            if isinstance(exc, db.DatabaseError):
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
                    "INSERT INTO exercises (name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin, "
                    "unilateral) VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (ex.name, ex.mvt_m_s, ex.min_rom_m, int(ex.low_confidence), ex.mvt_source, int(ex.unilateral)),
                )

    def _exercise_rows(self):
        return self.conn.execute(
            "SELECT id, name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin, unilateral FROM exercises "
            "ORDER BY name").fetchall()

    @staticmethod
    def _exercise_from_row(row) -> Exercise:
        return Exercise(name=row[1], mvt_m_s=row[2], min_rom_m=row[3], low_confidence=bool(row[4]),
                        mvt_source=row[5], builtin=bool(row[6]), unilateral=bool(row[7]))

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
                     *, low_confidence: bool = False, unilateral: bool = False) -> Exercise:
        """Add a user exercise; its name must not clash with an existing one (or a known alias)."""
        ex = Exercise(str(name).strip(), mvt_m_s, min_rom_m, bool(low_confidence), "user", False, bool(unilateral))
        problems = ex.validate()
        if problems:
            raise StoreError("; ".join(problems))
        try:
            existing = self._resolve_exercise(ex.name, by_prefix=False)[1]
        except UnknownExerciseError:
            existing = None
        if existing is not None:
            raise StoreError(f"exercise {existing.name!r} already exists "
                             f"(to change its values: vbt exercises --change {_quoted(existing.name)} --mvt M_S)")
        with self.transaction():
            self.conn.execute(
                "INSERT INTO exercises (name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin, unilateral) "
                "VALUES (?, ?, ?, ?, 'user', 0, ?)",
                (ex.name, float(ex.mvt_m_s), float(ex.min_rom_m), int(ex.low_confidence), int(ex.unilateral)),
            )
        return ex

    @_translated
    def set_exercise_defaults(self, name: str, *, mvt_m_s: float | None = None,
                              min_rom_m: float | None = None) -> Exercise:
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
                conn.execute(f"UPDATE sessions SET started_at = {db.DIALECT.least('started_at', '?')} WHERE id = ?",
                             (at, row[0]))
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
                                    (_new_uid(), athlete_id,
                                     _now() if started_at_unix_s is None else started_at_unix_s, note))
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
        values = _rep_values(rep)
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
        self._write_set_end(set_id, ended_at=ended_at, duration_s=duration_s, stop_reason=stop_reason,
                            best_rep=result.best_rep, stop_rep=result.stop_rep, recovered=recovered, rpe=rpe,
                            note=note)

    def _write_set_end(self, set_id: int, *, ended_at, duration_s, stop_reason, best_rep, stop_rep,
                       recovered: bool = False, rpe=None, note=None) -> None:
        """The one statement that records how a set ended (live, imported, added or recovered)."""
        recovered_sql = db.DIALECT.greatest("recovered", "?")
        self.conn.execute(
            f"""UPDATE sets SET ended_at = ?, duration_s = ?, stop_reason = ?, best_rep = ?, stop_rep = ?,
                   recovered = {recovered_sql}, rpe = COALESCE(?, rpe), note = COALESCE(?, note),
                   writer_pid = NULL WHERE id = ?""",
            (ended_at, duration_s, stop_reason, best_rep, stop_rep, int(bool(recovered)),
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

    # ---- recording a live set (the API :class:`vbt.store.recorder.SetRecorder` drives) ----------

    @_translated
    def open_set(self, *, exercise: str, athlete: str = DEFAULT_ATHLETE, load_kg: float | None = None,
                 side: str = "both", metric: str = "mean", threshold_pct: float = 10.0,
                 started_at_unix_s: float | None = None, session_id: int | None = None,
                 new_session: bool = False, source: str | None = "live",
                 writer_pid: int | None = None) -> int:
        """Open a set that is being recorded; returns its id.

        ``writer_pid`` marks the process writing it: while that process lives (and beats, see
        :meth:`heartbeat`), :meth:`recover_interrupted` leaves the set alone.
        """
        with self.transaction():
            return self._insert_set(
                athlete=athlete, exercise=exercise, load_kg=load_kg, side=side, metric=metric,
                threshold_pct=threshold_pct, rpe=None, note=None,
                started_at=_now() if started_at_unix_s is None else float(started_at_unix_s),
                session_id=session_id, new_session=new_session, source=source, uid=None, writer_pid=writer_pid)

    @_translated
    def append_reps(self, set_id: int, reps: Sequence[tuple[int, Rep]]) -> list[int]:
        """Add ``(recorded_index, rep)`` pairs to an open set; returns their row ids."""
        with self.transaction():
            return [self._insert_rep(set_id, seq, rep) for seq, rep in reps]

    @_translated
    def append_trace(self, set_id: int, t_s, position_m) -> None:
        """Add one chunk of raw samples to a set's journaled trace."""
        t, x = _trace_arrays((t_s, position_m))
        with self.transaction():
            self._append_trace(set_id, t, x)

    @_translated
    def heartbeat(self, set_id: int, at_unix_s: float | None = None) -> None:
        """Say that the set's writer is alive (see :data:`STALE_AFTER_S`)."""
        with self.transaction():
            self.conn.execute("UPDATE sets SET heartbeat_at = ? WHERE id = ?",
                              (_now() if at_unix_s is None else at_unix_s, set_id))

    @_translated
    def revise_rep(self, set_id: int, seq: int, rep: Rep) -> None:
        """Replace the measures of rep ``seq`` of an open set (a live revision: the tracker's
        RepRevised, a first rep closed at a mid-way hold that went on up)."""
        with self.transaction():
            cur = self.conn.execute(
                f"UPDATE reps SET rep_index = ?, {', '.join(c + ' = ?' for c in REP_METRIC_COLUMNS)} "
                "WHERE set_id = ? AND seq = ?",
                (int(rep.index), *_rep_values(rep), set_id, seq),
            )
            if cur.rowcount != 1:
                raise NotFoundError(f"set {set_id} has no rep {seq} to revise")

    @_translated
    def recorded_rep_indices(self, set_id: int) -> set[int]:
        """The rep numbers already stored for a set (deleted ones included)."""
        return {s.rep.index for s in self._reps(set_id)}

    @_translated
    def close_set(self, set_id: int, *, stop_reason: str, ended_at_unix_s: float | None = None,
                  result: SetResult | None = None, rpe: float | None = None, note: str | None = None) -> None:
        """Finish an open set: stitch its trace, settle best and stop rep, record the end.

        ``result`` (the tracker's) fixes best and stop rep and the duration; without it the stop
        rule is re-applied to the stored reps.
        """
        with self.transaction():
            self._close_set(set_id, stop_reason=stop_reason,
                            ended_at=_now() if ended_at_unix_s is None else ended_at_unix_s,
                            duration_s=(result.duration_s or None) if result else None,
                            result=result, rpe=rpe, note=note)

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
            self._write_set_end(set_id, ended_at=ended, duration_s=duration, stop_reason=stop_reason,
                                best_rep=result.best_rep, stop_rep=result.stop_rep)
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
        problems = check_set_fields(load_kg=fields.get("load_kg", current.load_kg),
                                    side=fields.get("side", current.side),
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
    def delete_set(self, set_id: int) -> SetRecord:
        """Flag a whole set deleted: it stays in the file, out of lists, trends, profiles and exports,
        until :meth:`restore_set`; importing the same set again replaces it."""
        return self._set_set_deleted(set_id, True)

    @_translated
    def restore_set(self, set_id: int) -> SetRecord:
        """Undo :meth:`delete_set`."""
        return self._set_set_deleted(set_id, False)

    def _set_set_deleted(self, set_id: int, deleted: bool) -> SetRecord:
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM sets WHERE id = ?", (set_id,)).fetchone() is None:
                raise NotFoundError(f"no set {set_id} in the history")
            self.conn.execute("UPDATE sets SET deleted = ? WHERE id = ?", (int(deleted), set_id))
        return self.get_set(set_id)

    def _purge_set(self, set_id: int) -> None:
        """Remove a (deleted) set and everything of it, inside the caller's transaction."""
        for table in ("reps", "trace_chunks"):
            self.conn.execute(f"DELETE FROM {table} WHERE set_id = ?", (set_id,))
        self.conn.execute("DELETE FROM sets WHERE id = ?", (set_id,))

    @_translated
    def set_method(self, set_id: int, *, warmup: bool = False, day=None, tempo=None) -> SetRecord:
        """Store the training method's verdicts with a set: the warm-up flag, the day rule's verdict
        (``vbt.dayrule.DayVerdict``) and the tempo summary (``vbt.tempo.TempoSummary``)."""
        self.get_set(set_id)  # NotFoundError for a wrong id
        values = {"warmup": 1 if warmup or (day is not None and day.basis == "warmup") else 0}
        if day is not None:
            values.update(day_done=int(bool(day.done)), day_basis=day.basis,
                          day_ratio_pct=_finite_or_none(day.ratio_pct),
                          day_reference_m_s=_finite_or_none(day.reference_m_s),
                          day_best_m_s=_finite_or_none(day.day_best_m_s), day_floor_pct=float(day.floor_pct))
        if tempo is not None:
            values.update(tempo_eccentric_s=float(tempo.tempo.eccentric_s), tempo_pause_s=float(tempo.tempo.pause_s),
                          tempo_margin_s=float(tempo.tempo.margin_s), tempo_kept=int(tempo.kept),
                          tempo_judged=int(tempo.judged))
        with self.transaction():
            self.conn.execute(f"UPDATE sets SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                              (*values.values(), set_id))
        return self.get_set(set_id)

    @_translated
    def mark_test(self, *, set_id: int | None = None, session_id: int | None = None, test: bool = True,
                  exercise: str | None = None) -> list[SetRecord]:
        """Mark a set, or every set of a session (of ``exercise`` only, if given), as a test that a
        retest is compared with (``test=False`` unmarks). Returns the sets changed."""
        if (set_id is None) == (session_id is None):
            raise StoreError("mark a set or a session as a test, one of them")
        if set_id is not None:
            records = [self.get_set(set_id)]  # NotFoundError for a wrong id
        else:
            if self.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise NotFoundError(f"no session {session_id} in the history")
            records = self.sets(session_id=session_id, exercise=exercise)
            if not records:
                what = f" of {self.exercise(exercise).name}" if exercise else ""
                raise StoreError(f"session {session_id} has no sets{what} to mark")
        with self.transaction():
            for r in records:
                self.conn.execute("UPDATE sets SET is_test = ? WHERE id = ?", (int(bool(test)), r.id))
        return [self.get_set(r.id) for r in records]

    def day_sets(self, athlete: str, exercise: str, metric: str, since_unix_s: float,
                 side: str | None = None) -> list[tuple]:
        """Finished sets of one athlete and exercise (and ``side``, if given) since a time, in the day
        rule's terms: ``(best_m_s in metric, load_kg, warmup)``, oldest first. Unknown names: no sets."""
        try:
            records = self.sets(athlete=athlete, exercise=exercise, since_unix_s=since_unix_s)
        except StoreError:
            return []
        return [(r.best_velocity_m_s, r.load_kg, r.warmup) for r in records
                if r.metric == metric and not r.in_progress and r.best_velocity_m_s is not None
                and (side is None or r.side == side)]

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
                still_open = self.conn.execute("SELECT 1 FROM sets WHERE id = ? AND ended_at IS NULL",
                                               (set_id,)).fetchone()
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


def _quoted(name: str) -> str:
    """A name as typed in a shell command."""
    return name if name.replace("-", "").isalnum() else f'"{name}"'
