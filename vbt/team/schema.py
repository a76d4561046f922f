"""The team store's PostgreSQL layout, its migrations (table ``schema_version``) and its roles.

The same tables and column names as the rack's SQLite history (:mod:`vbt.store.schema`), so the
store's portable read queries (:mod:`vbt.store.queries`) run on it unchanged, plus who uploaded each
row (``rack``, the uploading role) and when (``first_uploaded_at``, ``uploaded_at``, ``uploads``).

Access (created by :func:`init_team`, i.e. ``vbt team init``):

- ``vbt_rack``: a group role for racks. Reads athletes and exercises and adds new ones; inserts and
  updates its own sessions, sets, reps and traces (row-level security: ``rack = current_user``),
  never sees, changes or deletes another rack's; has no DELETE at all (a deleted set is a flag).
- ``vbt_coach``: a group role that reads everything.
- Login roles for each rack and coach are members of one of them (:func:`add_login`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import psycopg
from psycopg import sql

from vbt import exercises as catalogue

SCHEMA_VERSION = 1

RACK_GROUP = "vbt_rack"
COACH_GROUP = "vbt_coach"

#: Set columns copied as they are from a rack's history (``uid`` is the key; the session, athlete
#: and exercise are mapped to the server's rows; ``writer_pid`` and ``heartbeat_at`` stay local).
SET_COLUMNS = (
    "load_kg", "side", "metric", "threshold_pct", "best_rep", "stop_rep", "stop_reason", "rpe", "note",
    "started_at", "ended_at", "duration_s", "recovered", "source", "deleted", "warmup", "day_done", "day_basis",
    "day_ratio_pct", "day_reference_m_s", "day_best_m_s", "day_floor_pct", "tempo_eccentric_s", "tempo_pause_s",
    "tempo_margin_s", "tempo_kept", "tempo_judged", "is_test", "band_top_n", "band_bottom_n", "band_n_per_m",
    "chain_top_kg", "chain_kg_per_m",
)
#: Set columns of the rack's history that are not uploaded as they are (see above).
LOCAL_SET_COLUMNS = ("id", "uid", "session_id", "athlete_id", "exercise_id", "writer_pid", "heartbeat_at")

_NOW = "extract(epoch FROM clock_timestamp())"
_OWNED = "rack text NOT NULL DEFAULT current_user"

_V1 = [
    "CREATE EXTENSION IF NOT EXISTS citext",
    """CREATE TABLE athletes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name citext NOT NULL UNIQUE,
        created_at double precision)""",
    f"""CREATE TABLE exercises (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name citext NOT NULL UNIQUE,
        mvt_m_s double precision NOT NULL,
        min_rom_m double precision NOT NULL DEFAULT {catalogue.DEFAULT_MIN_ROM_M},
        low_confidence integer NOT NULL DEFAULT 0,
        mvt_source text NOT NULL DEFAULT 'user',
        builtin integer NOT NULL DEFAULT 0,
        unilateral integer NOT NULL DEFAULT 0)""",
    f"""CREATE TABLE sessions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uid text NOT NULL UNIQUE,
        athlete_id bigint NOT NULL REFERENCES athletes(id),
        started_at double precision NOT NULL,
        note text,
        {_OWNED})""",
    f"""CREATE TABLE sets (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        uid text NOT NULL UNIQUE,
        session_id bigint NOT NULL REFERENCES sessions(id),
        athlete_id bigint NOT NULL REFERENCES athletes(id),
        exercise_id bigint NOT NULL REFERENCES exercises(id),
        load_kg double precision,
        side text NOT NULL DEFAULT 'both',
        metric text NOT NULL DEFAULT 'mean',
        threshold_pct double precision NOT NULL DEFAULT 10,
        best_rep integer,
        stop_rep integer,
        stop_reason text,
        rpe double precision,
        note text,
        started_at double precision NOT NULL,
        ended_at double precision,
        duration_s double precision,
        recovered integer NOT NULL DEFAULT 0,
        source text,
        deleted integer NOT NULL DEFAULT 0,
        warmup integer NOT NULL DEFAULT 0,
        day_done integer,
        day_basis text,
        day_ratio_pct double precision,
        day_reference_m_s double precision,
        day_best_m_s double precision,
        day_floor_pct double precision,
        tempo_eccentric_s double precision,
        tempo_pause_s double precision,
        tempo_margin_s double precision,
        tempo_kept integer,
        tempo_judged integer,
        is_test integer NOT NULL DEFAULT 0,
        band_top_n double precision,
        band_bottom_n double precision,
        band_n_per_m double precision,
        chain_top_kg double precision,
        chain_kg_per_m double precision,
        {_OWNED},
        first_uploaded_at double precision NOT NULL DEFAULT {_NOW},
        uploaded_at double precision NOT NULL DEFAULT {_NOW},
        uploads integer NOT NULL DEFAULT 1)""",
    f"""CREATE TABLE reps (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        set_id bigint NOT NULL REFERENCES sets(id),
        seq integer NOT NULL,
        deleted integer NOT NULL DEFAULT 0,
        rep_index integer NOT NULL,
        concentric_start_s double precision NOT NULL,
        concentric_end_s double precision NOT NULL,
        mean_velocity_m_s double precision,
        mean_propulsive_velocity_m_s double precision,
        peak_velocity_m_s double precision,
        rom_m double precision,
        time_to_peak_velocity_s double precision,
        concentric_duration_s double precision,
        eccentric_duration_s double precision,
        eccentric_mean_velocity_m_s double precision,
        bottom_pause_s double precision,
        velocity_loss_pct double precision,
        mean_force_n double precision,
        peak_force_n double precision,
        mean_power_w double precision,
        peak_power_w double precision,
        quality text NOT NULL DEFAULT 'ok',
        {_OWNED},
        UNIQUE (set_id, seq))""",
    f"""CREATE TABLE trace_chunks (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        set_id bigint NOT NULL REFERENCES sets(id),
        seq integer NOT NULL,
        t_s bytea NOT NULL,
        position_m bytea NOT NULL,
        codec text NOT NULL,
        n_samples integer,
        {_OWNED},
        UNIQUE (set_id, seq))""",
    # What the history list, trends, profiles and the coach's day read (100 athletes x 5 years).
    "CREATE INDEX sessions_by_athlete ON sessions(athlete_id, started_at)",
    "CREATE INDEX sessions_by_time ON sessions(started_at)",
    "CREATE INDEX sets_by_session ON sets(session_id)",
    "CREATE INDEX sets_by_athlete_exercise ON sets(athlete_id, exercise_id, started_at)",
    "CREATE INDEX sets_by_exercise ON sets(exercise_id, started_at)",
    "CREATE INDEX sets_by_athlete ON sets(athlete_id, started_at)",
    "CREATE INDEX sets_by_time ON sets(started_at)",
    "CREATE INDEX sets_by_rack ON sets(rack, uploaded_at)",
    # Trends and profiles read a set's kept reps' velocities from the index alone.
    "CREATE INDEX reps_kept ON reps(set_id, deleted, quality) "
    "INCLUDE (mean_velocity_m_s, mean_propulsive_velocity_m_s, peak_velocity_m_s)",
]

#: version -> the statements (or a step) that build it from the version before.
MIGRATIONS: dict[int, list[str] | Callable[[psycopg.Connection], None]] = {1: _V1}

OWNED_TABLES = ("sessions", "sets", "reps", "trace_chunks")
SHARED_TABLES = ("athletes", "exercises")

_LOCK_KEY = 0x76627401  # pg_advisory_xact_lock: one migrator at a time


def schema_version(conn: psycopg.Connection) -> int:
    """The server's schema version (0: not set up)."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def build_schema(conn: psycopg.Connection, version: int = SCHEMA_VERSION) -> int:
    """Bring the server's tables up to ``version`` in one transaction; returns the version before."""
    if not 0 <= version <= SCHEMA_VERSION:
        raise ValueError(f"no team schema version {version}")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL, "
                     f"migrated_at double precision NOT NULL DEFAULT {_NOW})")
        before = current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise RuntimeError(f"the team server's schema is version {current}, newer than this tracker knows "
                               f"({SCHEMA_VERSION}); update the tracker")
        while current < version:
            step = MIGRATIONS[current + 1]
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
            current += 1
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (current,))
    return before


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


def grant_access(conn: psycopg.Connection) -> None:
    """The two group roles, their grants and the row-level policies (idempotent)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        for group in (RACK_GROUP, COACH_GROUP):
            if not _role_exists(conn, group):
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(group)))
        rack, coach = sql.Identifier(RACK_GROUP), sql.Identifier(COACH_GROUP)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}, {}").format(rack, coach))
        conn.execute(sql.SQL("GRANT SELECT ON schema_version TO {}, {}").format(rack, coach))
        for table in SHARED_TABLES:
            conn.execute(sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(sql.Identifier(table), rack))
            conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), coach))
        for table in OWNED_TABLES:
            t = sql.Identifier(table)
            conn.execute(sql.SQL("REVOKE DELETE, TRUNCATE ON {} FROM {}").format(t, rack))
            conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {}").format(t, rack))
            conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(t, coach))
            conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(t))
            for policy, statement in (
                ("rack_own_rows", "CREATE POLICY {p} ON {t} FOR ALL TO {r} USING (rack = current_user) "
                                  "WITH CHECK (rack = current_user)"),
                ("coach_reads_all", "CREATE POLICY {p} ON {t} FOR SELECT TO {c} USING (true)"),
            ):
                exists = conn.execute("SELECT 1 FROM pg_policies WHERE tablename = %s AND policyname = %s",
                                      (table, policy)).fetchone()
                if not exists:
                    conn.execute(sql.SQL(statement).format(p=sql.Identifier(policy), t=t, r=rack, c=coach))


_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def add_login(conn: psycopg.Connection, name: str, kind: str, password: str | None = None) -> str:
    """Create (or reset the password of) a login role for a rack or a coach; returns its password."""
    if kind not in ("rack", "coach"):
        raise ValueError(f"a login is for a rack or a coach, not {kind!r}")
    if not _ROLE_NAME.match(name) or name.startswith("pg_") or name in (RACK_GROUP, COACH_GROUP):
        raise ValueError(f"{name!r} cannot name a {kind}: use lower-case letters, digits and _ "
                         "(at most 63, not starting with a digit or pg_)")
    password = password or secrets.token_urlsafe(18)
    group = RACK_GROUP if kind == "rack" else COACH_GROUP
    with conn.transaction():
        verb = "ALTER" if _role_exists(conn, name) else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
        database = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database),
                                                                        sql.Identifier(name)))
    return password


def init_team(conn: psycopg.Connection) -> tuple[int, int]:
    """Schema, group roles, grants and policies (``vbt team init``); returns (version before, after)."""
    before = build_schema(conn)
    grant_access(conn)
    return before, SCHEMA_VERSION
