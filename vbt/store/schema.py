"""The SQLite layout of the history and its migrations (``PRAGMA user_version``).

This is the SQLite backend's schema: a server backend keeps its own DDL with the same tables and
columns (see :mod:`vbt.store.db` for the rest of what is SQLite-specific).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from vbt import exercises as catalogue
from vbt.results import REP_JSON_FIELDS
from vbt.store.codec import RAW_CODEC

SCHEMA_VERSION = 7

# Every Rep field except ``index`` has a column of the same name; ``index`` is ``rep_index``.
REP_METRIC_COLUMNS = tuple(name for name in REP_JSON_FIELDS if name != "index")
#: Rep columns that hold text (the others are numbers).
REP_TEXT_COLUMNS = ("quality",)
_REP_COLUMN = {name: ("rep_index" if name == "index" else name) for name in REP_JSON_FIELDS}

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


def _migrate_to_v3(conn: sqlite3.Connection) -> None:
    """v3: a rep's quality ("ok" or why it is doubtful), sets deleted and restored like reps."""
    conn.execute("ALTER TABLE reps ADD COLUMN quality TEXT NOT NULL DEFAULT 'ok'")
    conn.execute("ALTER TABLE sets ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0")


def _migrate_to_v4(conn: sqlite3.Connection) -> None:
    """v4: the training method on sets: the warm-up flag, the day rule's verdict (done for the day,
    which comparison, the ratio and velocities) and the tempo target with the reps that kept it."""
    statements = [
        "ALTER TABLE sets ADD COLUMN warmup INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sets ADD COLUMN day_done INTEGER",
        "ALTER TABLE sets ADD COLUMN day_basis TEXT",
        "ALTER TABLE sets ADD COLUMN day_ratio_pct REAL",
        "ALTER TABLE sets ADD COLUMN day_reference_m_s REAL",
        "ALTER TABLE sets ADD COLUMN day_best_m_s REAL",
        "ALTER TABLE sets ADD COLUMN day_floor_pct REAL",
        "ALTER TABLE sets ADD COLUMN tempo_eccentric_s REAL",
        "ALTER TABLE sets ADD COLUMN tempo_pause_s REAL",
        "ALTER TABLE sets ADD COLUMN tempo_margin_s REAL",
        "ALTER TABLE sets ADD COLUMN tempo_kept INTEGER",
        "ALTER TABLE sets ADD COLUMN tempo_judged INTEGER",
    ]
    for sql in statements:
        conn.execute(sql)


def _migrate_to_v5(conn: sqlite3.Connection) -> None:
    """v5: sides and retests: a set (or a whole session's sets) marked as a test that a retest is
    compared with, and unilateral exercises (one side at a time: a side-to-side report)."""
    conn.execute("ALTER TABLE sets ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE exercises ADD COLUMN unilateral INTEGER NOT NULL DEFAULT 0")
    conn.execute("CREATE INDEX sets_tests ON sets(athlete_id, exercise_id, started_at) WHERE is_test = 1")
    for ex in catalogue.BUILTIN_EXERCISES:
        if ex.unilateral:
            conn.execute("UPDATE exercises SET unilateral = 1 WHERE name = ? COLLATE NOCASE", (ex.name,))


def _migrate_to_v6(conn: sqlite3.Connection) -> None:
    """v6: training plans (one per athlete: start date, blocks of weeks with a velocity-loss limit,
    a %1RM band and a general zone; zones set by hand per block and exercise) and bands and chains
    on sets (accommodating resistance, vbt.resistance)."""
    statements = [
        """CREATE TABLE plans (
            id INTEGER PRIMARY KEY,
            athlete_id INTEGER NOT NULL UNIQUE REFERENCES athletes(id),
            start_date TEXT NOT NULL,
            repeat INTEGER NOT NULL DEFAULT 1,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE plan_blocks (
            id INTEGER PRIMARY KEY,
            plan_id INTEGER NOT NULL REFERENCES plans(id),
            name TEXT NOT NULL,
            first_week INTEGER NOT NULL,
            last_week INTEGER NOT NULL,
            velocity_loss_pct REAL NOT NULL,
            pct_low REAL NOT NULL,
            pct_high REAL NOT NULL,
            general_zone TEXT NOT NULL
        )""",
        "CREATE INDEX plan_blocks_by_plan ON plan_blocks(plan_id)",
        """CREATE TABLE plan_zones (
            id INTEGER PRIMARY KEY,
            block_id INTEGER NOT NULL REFERENCES plan_blocks(id),
            exercise_id INTEGER NOT NULL REFERENCES exercises(id),
            pct_low REAL,
            pct_high REAL,
            low_m_s REAL,
            high_m_s REAL
        )""",
        "CREATE INDEX plan_zones_by_block ON plan_zones(block_id)",
        "ALTER TABLE sets ADD COLUMN band_top_n REAL",
        "ALTER TABLE sets ADD COLUMN band_bottom_n REAL",
        "ALTER TABLE sets ADD COLUMN band_n_per_m REAL",
        "ALTER TABLE sets ADD COLUMN chain_top_kg REAL",
        "ALTER TABLE sets ADD COLUMN chain_kg_per_m REAL",
    ]
    for sql in statements:
        conn.execute(sql)


_NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0)"
#: The finished sets whose rows a change touches, as ``(uid, queued_at)`` rows for the outbox.
_ENQUEUE = "INSERT INTO sync_outbox (set_uid, queued_at) "


def _migrate_to_v7(conn: sqlite3.Connection) -> None:
    """v7: the team sync's outbox (:mod:`vbt.team.sync`). Every change to a finished set (its end,
    an edit, a deleted or restored rep or set, a later RPE or note) queues the set's uid in the same
    transaction as the change, so nothing is missed whatever dies when; the sync worker uploads the
    set's current state and removes the rows it covered. Sets finished before are queued once."""
    statements = [
        """CREATE TABLE sync_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            set_uid TEXT NOT NULL,
            queued_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT)""",
        "CREATE INDEX sync_outbox_by_uid ON sync_outbox(set_uid, id)",
        "CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT)",
        f"""CREATE TRIGGER sync_set_changed AFTER UPDATE ON sets WHEN NEW.ended_at IS NOT NULL
            BEGIN {_ENQUEUE} VALUES (NEW.uid, {_NOW_SQL}); END""",
        f"""CREATE TRIGGER sync_set_removed AFTER DELETE ON sets WHEN OLD.ended_at IS NOT NULL
            BEGIN {_ENQUEUE} VALUES (OLD.uid, {_NOW_SQL}); END""",
        f"""CREATE TRIGGER sync_rep_added AFTER INSERT ON reps
            WHEN (SELECT ended_at FROM sets WHERE id = NEW.set_id) IS NOT NULL
            BEGIN {_ENQUEUE} SELECT uid, {_NOW_SQL} FROM sets WHERE id = NEW.set_id; END""",
        f"""CREATE TRIGGER sync_rep_changed AFTER UPDATE ON reps
            WHEN (SELECT ended_at FROM sets WHERE id = NEW.set_id) IS NOT NULL
            BEGIN {_ENQUEUE} SELECT uid, {_NOW_SQL} FROM sets WHERE id = NEW.set_id; END""",
        f"""CREATE TRIGGER sync_session_changed AFTER UPDATE OF note, started_at ON sessions
            WHEN NEW.note IS NOT OLD.note OR NEW.started_at IS NOT OLD.started_at
            BEGIN {_ENQUEUE} SELECT uid, {_NOW_SQL} FROM sets
                  WHERE session_id = NEW.id AND ended_at IS NOT NULL; END""",
        f"{_ENQUEUE} SELECT uid, {_NOW_SQL} FROM sets WHERE ended_at IS NOT NULL ORDER BY started_at, id",
    ]
    for sql in statements:
        conn.execute(sql)


#: version -> the step that builds it from the version before.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _migrate_to_v1, 2: _migrate_to_v2, 3: _migrate_to_v3, 4: _migrate_to_v4, 5: _migrate_to_v5,
    6: _migrate_to_v6, 7: _migrate_to_v7,
}


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


