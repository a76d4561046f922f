"""The coach's view: the team history on PostgreSQL, read through the store's own queries.

:class:`TeamStore` answers what :class:`vbt.store.Store` answers when read (``sessions``, ``sets``,
``get_set``, ``reps``, ``set_detail``, ``trace``, ``exercise_trend``, ``profile_points``,
``load_velocity_profile``, ``history``, ``athletes``, ``exercises``), every athlete from every rack,
by running the same portable SQL (:mod:`vbt.store.queries`) on the server. It adds what only a team
has: :meth:`TeamStore.today` (who trained today, on which racks, who is done for the day) and
:meth:`TeamStore.racks` (each rack's last upload). It writes nothing.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

from vbt.store.errors import StoreError
from vbt.store.queries import Queries
from vbt.store.store import Store
from vbt.team import db


@dataclass(frozen=True)
class AthleteDay:
    """One athlete's day so far, across every rack."""

    athlete: str
    n_sets: int
    n_reps: int
    exercises: tuple[str, ...]
    racks: tuple[str, ...]
    first_set_at_unix_s: float
    last_set_at_unix_s: float
    done_for_the_day: bool
    done_at_unix_s: float | None
    best_velocity_m_s: float | None


@dataclass(frozen=True)
class RackState:
    rack: str
    n_recent_sets: int  # uploaded in the period asked for (default the last 24 h)
    last_upload_at_unix_s: float | None


_READ_ONLY = "the team history is read-only here: a set is changed on the rack that recorded it"
#: What the local history can change and the team view refuses (with one line, not a missing method).
_STORE_WRITES = frozenset({"update_set", "delete_set", "restore_set", "delete_rep", "restore_rep", "add_set",
                           "set_method", "new_session", "add_exercise", "set_exercise_defaults", "import_csv",
                           "open_set", "close_set", "append_reps", "append_trace"})


def _team_errors(method):
    """Driver errors become one line naming the server without its password."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise db.TeamError(db.explain(exc, self.url)) from None

    return wrapper


class TeamStore(Queries):
    """The team history, read-only, on one connection (a coach's role reads every rack's sets)."""

    dialect = db.DIALECT

    # Reading the catalogue and the athletes is the history's own code, run on this connection.
    athletes = Store.athletes
    athlete_id = Store.athlete_id
    exercises = Store.exercises
    exercise = Store.exercise
    day_sets = Store.day_sets
    _exercise_rows = Store._exercise_rows
    _exercise_from_row = Store.__dict__["_exercise_from_row"]
    _resolve_exercise = Store._resolve_exercise
    _read_trace = Store._read_trace
    accommodation = Store.accommodation

    def plan(self, athlete: str):
        """Training plans are kept in each rack's history, not on the team server (not synced yet)."""
        return None

    def __init__(self, url: str):
        self.url = db.check_url(url)
        self.path = db.redact(self.url)  # what messages name (StoreError texts use ``path``)
        self.damaged = None
        self._conn = db.PortableConnection(db.connect(self.url, application_name="vbt-coach"))

    @property
    def conn(self) -> db.PortableConnection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the team store is closed")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "TeamStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        raise StoreError(_READ_ONLY)

    def __getattr__(self, name: str):
        if name in _STORE_WRITES:
            def refuse(*args, **kwargs):
                raise StoreError(_READ_ONLY)

            return refuse
        raise AttributeError(name)

    # ---- what only a team has ------------------------------------------------------------------------

    def today(self, *, since_unix_s: float | None = None) -> list[AthleteDay]:
        """Every athlete who trained since local midnight (or ``since_unix_s``), busiest last set first."""
        if since_unix_s is None:
            since_unix_s = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        rows = self.conn.execute(
            f"""SELECT a.name, COUNT(*),
                       COALESCE(SUM((SELECT COUNT(*) FROM reps r WHERE r.set_id = st.id AND r.deleted = 0)), 0),
                       {self.dialect.distinct_list('e.name')}, {self.dialect.distinct_list('st.rack')},
                       MIN(st.started_at), MAX(COALESCE(st.ended_at, st.started_at)),
                       MAX(st.day_done), MIN(CASE WHEN st.day_done = 1 THEN st.ended_at END),
                       MAX((SELECT MAX(CASE st.metric WHEN 'propulsive' THEN r.mean_propulsive_velocity_m_s
                                                      WHEN 'peak' THEN r.peak_velocity_m_s
                                                      ELSE r.mean_velocity_m_s END)
                            FROM reps r WHERE r.set_id = st.id AND r.deleted = 0 AND r.quality = 'ok'))
                FROM sets st JOIN athletes a ON a.id = st.athlete_id JOIN exercises e ON e.id = st.exercise_id
                WHERE st.started_at >= ? AND st.deleted = 0
                GROUP BY a.name ORDER BY MAX(COALESCE(st.ended_at, st.started_at)) DESC""",
            (since_unix_s,)).fetchall()
        return [AthleteDay(athlete=r[0], n_sets=r[1], n_reps=r[2], exercises=tuple(sorted(str(r[3]).split(","))),
                           racks=tuple(sorted(str(r[4]).split(","))), first_set_at_unix_s=r[5],
                           last_set_at_unix_s=r[6], done_for_the_day=bool(r[7]), done_at_unix_s=r[8],
                           best_velocity_m_s=r[9]) for r in rows]

    def racks(self, *, since_unix_s: float | None = None) -> list[RackState]:
        """Every rack that uploaded a set: its sets uploaded since ``since_unix_s`` (default: the last
        24 h) and its last upload. The racks are found by skipping through the ``(rack, uploaded_at)``
        index, so this stays quick on years of sets."""
        since = time.time() - 86400.0 if since_unix_s is None else since_unix_s
        rows = self.conn.execute(
            """WITH RECURSIVE r(rack) AS (
                   SELECT MIN(rack) FROM sets
                   UNION ALL SELECT (SELECT MIN(s.rack) FROM sets s WHERE s.rack > r.rack) FROM r
                   WHERE r.rack IS NOT NULL)
               SELECT r.rack,
                      (SELECT COUNT(*) FROM sets s WHERE s.rack = r.rack AND s.uploaded_at >= ?),
                      (SELECT MAX(s.uploaded_at) FROM sets s WHERE s.rack = r.rack)
               FROM r WHERE r.rack IS NOT NULL ORDER BY r.rack""", (since,)).fetchall()
        return [RackState(*r) for r in rows]

    def newest_upload_at(self) -> float | None:
        return self.conn.execute("SELECT MAX(uploaded_at) FROM sets").fetchone()[0]

    @staticmethod
    def now() -> float:
        return time.time()


for _name in ("sessions", "sets", "get_set", "reps", "set_result", "trace", "set_detail", "exercise_trend",
              "profile_points", "load_velocity_profile", "history", "athletes", "athlete_id", "exercises",
              "exercise", "day_sets", "today", "racks", "newest_upload_at", "accommodation"):
    setattr(TeamStore, _name, _team_errors(getattr(TeamStore, _name)))
del _name
