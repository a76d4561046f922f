"""Reading the history: the history list, sets, reps, traces, trends and load-velocity profiles.

Portable SQL only; mixed into :class:`vbt.store.Store`, whose connection and catalogue it uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vbt import exercises as catalogue
from vbt.config import METRIC_FIELDS, METRICS
from vbt.profile import LoadVelocityProfile, ProfileError, fit_profile
from vbt.results import QUALITY_OK, Rep, SetResult
from vbt.store.db import DIALECT, SqliteDialect
from vbt.store.errors import NotFoundError, StoreError, _translated
from vbt.store.records import (
    SessionSummary,
    SetDetail,
    SetRecord,
    StoredRep,
    Trace,
    TrendPoint,
    iso_local,
    local_date,
)
from vbt.store.schema import REP_METRIC_COLUMNS

#: Sets less than this far apart in time belong to the same session.
SESSION_GAP_S = 2 * 3600.0
#: Load-velocity profiles use the sets of this many days up to the newest one (0 = all history).
DEFAULT_PROFILE_DAYS = 56


def _add_filters(where: list[str], params: list, *optional: tuple[str, object]) -> None:
    """Append each ``(clause, value)`` whose value is given to a WHERE list and its parameters."""
    for clause, value in optional:
        if value is not None:
            where.append(clause)
            params.append(value)


_SET_SELECT = """
SELECT st.id, st.uid, st.session_id, a.name, e.name, st.load_kg, st.side, st.metric, st.threshold_pct,
       st.best_rep, st.stop_rep, st.stop_reason, st.rpe, st.note, st.started_at, st.ended_at,
       st.duration_s, st.recovered, st.source,
       (SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 0),
       (SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 1),
       (SELECT MAX(CASE st.metric WHEN 'propulsive' THEN r.mean_propulsive_velocity_m_s
                                  WHEN 'peak' THEN r.peak_velocity_m_s
                                  ELSE r.mean_velocity_m_s END)
          FROM reps r WHERE r.set_id = st.id AND r.deleted = 0 AND r.quality = 'ok'),
       (SELECT r.velocity_loss_pct FROM reps r WHERE r.set_id = st.id AND r.deleted = 0
          ORDER BY r.seq DESC LIMIT 1),
       st.warmup, st.day_done, st.day_basis, st.day_ratio_pct, st.day_reference_m_s, st.day_best_m_s,
       st.day_floor_pct, st.tempo_eccentric_s, st.tempo_pause_s, st.tempo_margin_s, st.tempo_kept, st.tempo_judged,
       st.is_test
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
        best_velocity_m_s=row[21], last_velocity_loss_pct=row[22], warmup=bool(row[23]),
        day_done=None if row[24] is None else bool(row[24]), day_basis=row[25], day_ratio_pct=row[26],
        day_reference_m_s=row[27], day_best_m_s=row[28], day_floor_pct=row[29], tempo_eccentric_s=row[30],
        tempo_pause_s=row[31], tempo_margin_s=row[32], tempo_kept=row[33], tempo_judged=row[34],
        is_test=bool(row[35]),
    )


def _rep_from_row(row) -> StoredRep:
    fields = dict(zip(REP_METRIC_COLUMNS, row[5:]))
    fields["quality"] = fields.get("quality") or QUALITY_OK
    return StoredRep(id=row[0], set_id=row[1], recorded_index=row[2], deleted=bool(row[3]),
                     rep=Rep(index=row[4], **fields))


class Queries:
    """The read side of :class:`vbt.store.Store` (see there); the team store
    (:class:`vbt.team.store.TeamStore`) runs the same queries on PostgreSQL with its own dialect."""

    #: The SQL spellings of the connection's engine.
    dialect: SqliteDialect = DIALECT

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
            where.append("EXISTS (SELECT 1 FROM sets x WHERE x.session_id = se.id AND x.exercise_id = ? "
                         "AND x.deleted = 0)")
            params.append(exercise_id)
            set_filter = " AND st.exercise_id = ?"
        order = f"se.started_at {'DESC' if newest_first else 'ASC'}, se.id"
        params += [self.dialect.no_limit if limit is None else int(limit), int(offset)]
        if exercise_id is not None:
            params.append(exercise_id)
        # Pick the page of sessions first (index on started_at), then count only their sets and reps.
        sql = f"""
            WITH page AS (SELECT se.id FROM sessions se WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?)
            SELECT se.id, se.uid, a.name, se.started_at, MAX(COALESCE(st.ended_at, st.started_at)), COUNT(st.id),
                   COALESCE(SUM((SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 0)), 0),
                   {self.dialect.distinct_list('st.exercise_id')}, se.note
            FROM page JOIN sessions se ON se.id = page.id JOIN athletes a ON a.id = se.athlete_id
            LEFT JOIN sets st ON st.session_id = se.id AND st.deleted = 0{set_filter}
            GROUP BY se.id, a.name
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
        where, params = ["st.deleted = 0"], []
        _add_filters(where, params, ("st.session_id = ?", session_id), ("st.athlete_id = ?", athlete_id),
                     ("st.exercise_id = ?", exercise_id), ("st.started_at >= ?", since_unix_s),
                     ("st.started_at < ?", until_unix_s))
        sql = (_SET_SELECT + f" WHERE {' AND '.join(where)} ORDER BY st.started_at "
               f"{'DESC' if newest_first else 'ASC'}, st.id LIMIT ?")
        params.append(self.dialect.no_limit if limit is None else int(limit))
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
        where, params = ["st.exercise_id = ?", "st.deleted = 0"], [exercise_id]
        _add_filters(where, params, ("st.athlete_id = ?", self._athlete_filter(athlete)),
                     ("st.started_at >= ?", since_unix_s), ("st.started_at < ?", until_unix_s))
        sql = f"""
            SELECT st.session_id, st.started_at, st.load_kg, COUNT(*), MAX(r.{column})
            FROM sets st JOIN reps r ON r.set_id = st.id AND r.deleted = 0 AND r.quality = 'ok'
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

    def _profile_filter(self, exercise_id, athlete, since_unix_s, until_unix_s, side):
        """WHERE clause (sets as ``st``) and parameters of the sets a load-velocity profile draws from."""
        where, params = ["st.exercise_id = ?", "st.load_kg > 0", "st.deleted = 0"], [exercise_id]
        _add_filters(where, params, ("st.athlete_id = ?", self._athlete_filter(athlete)),
                     ("st.started_at >= ?", since_unix_s), ("st.started_at <= ?", until_unix_s), ("st.side = ?", side))
        return " AND ".join(where), params

    def _profile_span(self, exercise_id, athlete, metric, since_unix_s, until_unix_s, side):
        """(first start, last start, count) of the sets ``profile_points`` draws from."""
        column = METRIC_FIELDS[metric]
        where, params = self._profile_filter(exercise_id, athlete, since_unix_s, until_unix_s, side)
        return self.conn.execute(
            f"""SELECT MIN(st.started_at), MAX(st.started_at), COUNT(*) FROM sets st
                WHERE {where} AND EXISTS (SELECT 1 FROM reps r WHERE r.set_id = st.id AND r.deleted = 0
                                          AND r.quality = 'ok' AND r.{column} IS NOT NULL)""",
            params,
        ).fetchone()

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
        where, params = self._profile_filter(exercise_id, athlete, since_unix_s, until_unix_s, side)
        rows = self.conn.execute(
            f"""SELECT MIN(st.load_kg), MAX(r.{column}) FROM sets st
                JOIN reps r ON r.set_id = st.id AND r.deleted = 0 AND r.quality = 'ok'
                WHERE {where} AND r.{column} IS NOT NULL
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
        if ex.name == catalogue.UNSPECIFIED:
            raise ProfileError("sets of an unspecified exercise have no profile: name their exercise first "
                               "(vbt set SET_ID --exercise NAME; `vbt history` lists the sets)")
        if athlete is None:
            names = [r[0] for r in self.conn.execute(
                "SELECT DISTINCT a.name FROM sets st JOIN athletes a ON a.id = st.athlete_id "
                "WHERE st.exercise_id = ? AND st.deleted = 0",
                (exercise_id,))]
            if not names:
                raise ProfileError(f"no {ex.name} sets in the history yet")
            if len(names) > 1:
                raise ProfileError(f"{ex.name} was done by several athletes ({', '.join(sorted(names))}): choose one")
            athlete = names[0]
        athlete_id = self.athlete_id(athlete)
        if until_unix_s is None:
            until_unix_s = self.conn.execute(
                "SELECT MAX(started_at) FROM sets WHERE athlete_id = ? AND exercise_id = ? AND deleted = 0",
                (athlete_id, exercise_id)).fetchone()[0]
            if until_unix_s is None:
                raise ProfileError(f"{athlete} has no {ex.name} sets in the history yet")
        since = until_unix_s - days * 86400.0 if days else None
        loads, vel = self.profile_points(ex.name, athlete=athlete, metric=metric, since_unix_s=since,
                                         until_unix_s=until_unix_s, side=side)
        notes = []
        first, last, n_sets = self._profile_span(exercise_id, athlete, metric, since, until_unix_s, side)
        if n_sets:  # the dates of the sets the line is fitted to, not of the window searched
            dates = (local_date(first) if local_date(first) == local_date(last)
                     else f"{local_date(first)} to {local_date(last)}")
            notes.append(f"{n_sets} set{'s' if n_sets != 1 else ''} with a load, {dates}")
        if ex.mvt_source != "science.md":
            origin = "set by the user" if ex.mvt_source == "user" else "our own estimate, not a published figure"
            notes.append(f"MVT {ex.mvt_m_s:g} m/s is {origin}")
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
