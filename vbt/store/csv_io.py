"""The history as CSV files: export for backups and spreadsheets, import all or nothing.

An export is a directory of ``exercises.csv``, ``sessions.csv``, ``sets.csv``, ``reps.csv`` and
optionally ``traces/<set uid>.csv``; :meth:`CsvExchange.import_csv` reads one back bit for bit.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vbt.exercises import Exercise, exercise_key
from vbt.fields import check_set_fields
from vbt.results import QUALITY_OK, REP_JSON_FIELDS, Rep
from vbt.store.errors import StoreError, UnknownExerciseError, _translated
from vbt.store.records import iso_local
from vbt.store.schema import REP_METRIC_COLUMNS, REP_TEXT_COLUMNS

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


# Validator field names that differ from the export's column names.
_COLUMN_OF_FIELD = {"velocity_loss_pct": "velocity_loss_threshold_pct", "RPE": "rpe"}


class _Row:
    """Typed access to one CSV row with errors that name the file and line."""

    def __init__(self, path, line, row):
        self.path, self.line, self.row = path, line, row

    def fail(self, column, problem) -> StoreError:
        return StoreError(f"{self.path}: line {self.line}, column {column}: {problem}")

    def fail_fields(self, problems: list[str]) -> StoreError:
        """Validator problems ("field: what is wrong") named by the CSV column that holds the field."""
        field, _, rest = problems[0].partition(": ")
        column = _COLUMN_OF_FIELD.get(field, field)
        if len(problems) == 1 and column in self.row:
            return self.fail(column, rest)
        return StoreError(f"{self.path}: line {self.line}: {'; '.join(problems)}")

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
            missing = [c for c in expected if c not in (reader.fieldnames or []) and c not in REP_TEXT_COLUMNS]
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
            raise row.fail_fields(problems)
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
            "source": row.text("source", False), "n_reps": row.integer("n_reps"),
        }
        if s["session_uid"] not in session_uids:
            raise row.fail("session_uid", "no such session in sessions.csv")
        problems = check_set_fields(load_kg=s["load_kg"], side=s["side"], metric=s["metric"],
                                    threshold_pct=s["threshold_pct"], rpe=s["rpe"], note=s["note"])
        if problems:
            raise row.fail_fields(problems)
        sets.append(s)
    set_uids = {s["uid"] for s in sets}
    reps: dict[str, list] = {}
    for row in _read_csv_rows(directory / "reps.csv"):
        set_uid = row.text("set_uid")
        if set_uid not in set_uids:
            raise row.fail("set_uid", "no such set in sets.csv")
        values = {"index": row.integer("index", True)}
        for name in REP_METRIC_COLUMNS:
            if name in REP_TEXT_COLUMNS:  # added in schema 3: older exports do not have it
                values[name] = (row.row.get(name) or "").strip() or QUALITY_OK
            else:
                values[name] = row.number(name, name in ("concentric_start_s", "concentric_end_s"))
        reps.setdefault(set_uid, []).append((row.integer("recorded_index", True), bool(row.integer("deleted")),
                                             Rep(**values)))
    for set_uid, items in reps.items():
        seqs = [seq for seq, _, _ in items]
        if len(set(seqs)) != len(seqs):
            raise StoreError(f"{directory / 'reps.csv'}: set {set_uid} has two reps with the same recorded_index")
    for s in sets:  # all or nothing per set: a set comes with every one of its reps
        kept = sum(1 for _, deleted, _ in reps.get(s["uid"], ()) if not deleted)
        if s["n_reps"] is not None and kept != s["n_reps"]:
            raise StoreError(f"{directory / 'reps.csv'}: set {s['uid']} should have {s['n_reps']} reps but has "
                             f"{kept}: the export is incomplete; nothing was imported")
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




class CsvExchange:
    """CSV export and import, mixed into :class:`vbt.store.Store` (see there)."""

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
        except BaseException as exc:  # every error: no *.tmp file is left behind
            for tmp in written:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            if not isinstance(exc, OSError):
                raise
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
                existing = self.conn.execute("SELECT id, deleted FROM sets WHERE uid = ?", (s["uid"],)).fetchone()
                if existing and existing[1]:
                    self._purge_set(existing[0])  # a deleted set imported again is replaced
                elif existing:
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
                self._write_set_end(set_id, ended_at=s["ended_unix_s"], duration_s=s["duration_s"],
                                    stop_reason=s["stop_reason"], best_rep=s["best_rep"], stop_rep=s["stop_rep"],
                                    recovered=bool(s["recovered"]))
                counts["sets"] += 1
        return counts

