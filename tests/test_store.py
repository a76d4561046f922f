"""The history store: schema and migrations, catalogue, queries, rep deletion, recovery, errors."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pathlib import Path

import vbt.store as vs
import vbt.store.db as store_db
from tests.conftest import db_dump, full_disk
from vbt.config import StopRuleConfig
from vbt.exercises import BUILTIN_EXERCISES
from vbt.results import REP_JSON_FIELDS, Rep
from vbt.stoprule import apply_stop_rule
from vbt.store import (
    RAW_CODEC,
    SCHEMA_VERSION,
    SetRecorder,
    Store,
    NotFoundError,
    StoreError,
    UnknownAthleteError,
    UnknownExerciseError,
    build_schema,
    database_path,
    decode_f8,
    default_home,
    encode_f8,
)

DAY_S = 86400.0
T0 = 1_700_000_000.0  # a fixed instant: tests do not depend on today's date


def make_rep(index: int, mv: float, **kw) -> Rep:
    base = dict(
        index=index,
        concentric_start_s=3.0 * index,
        concentric_end_s=3.0 * index + 0.7,
        mean_velocity_m_s=mv,
        mean_propulsive_velocity_m_s=mv * 1.05,
        peak_velocity_m_s=mv * 1.6,
        rom_m=0.52,
        time_to_peak_velocity_s=0.31,
        concentric_duration_s=0.7,
        eccentric_duration_s=1.2,
        eccentric_mean_velocity_m_s=0.45,
        bottom_pause_s=0.05,
        velocity_loss_pct=None,
        mean_force_n=1200.0,
        peak_force_n=1800.5,
        mean_power_w=mv * 1200.0,
        peak_power_w=mv * 2600.0,
    )
    base.update(kw)
    return Rep(**base)


def reps_from(velocities) -> list[Rep]:
    return [make_rep(i, v) for i, v in enumerate(velocities, start=1)]


snapshot = db_dump


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path) as s:
        yield s


# ---- where the file lives ----------------------------------------------------------------------


def test_home_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("VBT_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "vbt"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    if os.name != "nt":
        assert default_home() == Path.home() / ".local" / "share" / "vbt"
    monkeypatch.setenv("VBT_HOME", str(tmp_path / "mine"))
    assert default_home() == tmp_path / "mine"
    assert database_path() == tmp_path / "mine" / vs.DB_FILENAME
    assert database_path(tmp_path / "x") == tmp_path / "x" / vs.DB_FILENAME


def test_new_store_is_wal_current_schema_with_catalogue(tmp_path):
    with Store.open(tmp_path / "deep" / "dir") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {e.name for e in s.exercises()}
        for required in ("squat", "bench press", "deadlift", "hex-bar deadlift", "hip thrust", "Romanian deadlift",
                         "single-leg Romanian deadlift", "leg press", "front squat", "overhead press"):
            assert required in names
        assert s.exercise("Bench-Press").mvt_m_s == 0.17
        assert s.exercise("back squat").name == "squat"  # alias
        assert s.exercise("trap bar deadlift").mvt_m_s == 0.25
        assert s.exercise("squat").low_confidence and s.exercise("deadlift").low_confidence
        assert not s.exercise("bench press").low_confidence
        assert s.exercise("hip thrust").min_rom_m < s.exercise("squat").min_rom_m
    # no backup for a fresh file
    assert not list(tmp_path.glob("deep/dir/*.bak"))


def test_catalogue_values_follow_science_md():
    by_name = {e.name: e for e in BUILTIN_EXERCISES}
    expected = {"bench press": 0.17, "squat": 0.30, "deadlift": 0.15, "hex-bar deadlift": 0.25, "leg press": 0.21}
    for name, mvt in expected.items():
        assert by_name[name].mvt_m_s == mvt and by_name[name].mvt_source == "science.md"
    for e in BUILTIN_EXERCISES:
        assert e.validate() == []


def test_user_exercises(store):
    ex = store.add_exercise("Zercher squat", 0.32, 0.25, low_confidence=True)
    assert store.exercise("zercher_squat") == ex
    with pytest.raises(StoreError, match="already exists"):
        store.add_exercise("bench", 0.2)  # alias of a built-in
    with pytest.raises(StoreError, match="mvt_m_s"):
        store.add_exercise("fast thing", 5.0)
    assert store.exercise("zercher").name == "Zercher squat"  # a unique leading word
    assert store.add_exercise("front", 0.3).name == "front"  # not a clash with "front squat"
    assert store.exercise("front").name == "front" and store.exercise("front squat").name == "front squat"
    changed = store.set_exercise_defaults("squat", mvt_m_s=0.28)
    assert changed.mvt_m_s == 0.28 and changed.mvt_source == "user"
    with pytest.raises(UnknownExerciseError, match="bench press"):
        store.exercise("bench pres")


def test_rep_columns_cover_every_rep_field(store):
    assert set(REP_JSON_FIELDS) == {"index", *vs.REP_METRIC_COLUMNS}
    columns = {r[1] for r in store.conn.execute("PRAGMA table_info(reps)")}
    assert {vs._REP_COLUMN[f] for f in REP_JSON_FIELDS} <= columns
    assert {"deleted", "seq"} <= columns


# ---- migrations --------------------------------------------------------------------------------


def _fill_v1(conn):
    """Data as a schema-1 tracker wrote it: raw float64 traces, no uids, an unfinished set."""
    conn.execute("INSERT INTO athletes (id, name) VALUES (1, 'ana')")
    conn.execute("INSERT INTO exercises (id, name, mvt_m_s) VALUES (1, 'squat', 0.30), (2, 'zercher squat', 0.35), "
                 "(3, 'bench press', 0.18)")
    conn.execute("INSERT INTO sessions (id, athlete_id, started_at, note) VALUES (1, 1, ?, 'old')", (T0,))
    conn.execute("INSERT INTO sets (id, session_id, exercise_id, load_kg, metric, threshold_pct, best_rep, stop_rep, "
                 "stop_reason, rpe, note, started_at, ended_at, duration_s) "
                 "VALUES (1, 1, 1, 100, 'mean', 20, 1, 3, 'stillness', 8, 'felt ok', ?, ?, 12.0)", (T0, T0 + 12))
    conn.execute("INSERT INTO sets (id, session_id, exercise_id, load_kg, started_at) VALUES (2, 1, 2, 60, ?)",
                 (T0 + 300,))
    result = apply_stop_rule(reps_from([0.80, 0.70, 0.60]), StopRuleConfig(velocity_loss_pct=20))
    for set_id, reps in ((1, result.reps), (2, reps_from([0.5, 0.49]))):
        for rep in reps:
            conn.execute(
                f"INSERT INTO reps (set_id, rep_index, {', '.join(V1_REP_COLUMNS)}) "
                f"VALUES (?, ?, {', '.join('?' * len(V1_REP_COLUMNS))})",
                (set_id, rep.index, *[getattr(rep, c) for c in V1_REP_COLUMNS]))
    t = np.arange(3000) / 1000.0
    for set_id in (1, 2):
        for seq in range(2):
            part = slice(seq * 1500, (seq + 1) * 1500)
            conn.execute("INSERT INTO trace_chunks (set_id, seq, t_s, position_m) VALUES (?, ?, ?, ?)",
                         (set_id, seq, t[part].astype("<f8").tobytes(), np.sin(t[part]).astype("<f8").tobytes()))


def _fill_v2(conn):
    """Data as a schema-2 tracker wrote it: no rep quality, no deleted sets."""
    conn.execute("INSERT INTO athletes (id, name) VALUES (1, 'ana')")
    conn.execute("INSERT INTO exercises (id, name, mvt_m_s) VALUES (1, 'squat', 0.30)")
    conn.execute("INSERT INTO sessions (id, uid, athlete_id, started_at) VALUES (1, 'se1', 1, ?)", (T0,))
    conn.execute("INSERT INTO sets (id, uid, session_id, athlete_id, exercise_id, load_kg, started_at, ended_at) "
                 "VALUES (1, 'st1', 1, 1, 1, 100, ?, ?)", (T0, T0 + 12))
    for seq, rep in enumerate(reps_from([0.8, 0.7]), start=1):
        conn.execute(
            f"INSERT INTO reps (set_id, seq, rep_index, {', '.join(V1_REP_COLUMNS)}) "
            f"VALUES (1, ?, ?, {', '.join('?' * len(V1_REP_COLUMNS))})",
            (seq, rep.index, *[getattr(rep, c) for c in V1_REP_COLUMNS]))


# The rep columns of schemas 1 and 2 (schema 3 added ``quality``).
V1_REP_COLUMNS = tuple(c for c in vs.REP_METRIC_COLUMNS if c != "quality")

# Every schema version before the current one, with data as that version wrote it. A new
# SCHEMA_VERSION must add a filler for the version before it (checked below).
def _fill_v3(conn):
    """Data as a schema-3 tracker wrote it: rep quality and deleted sets, no training-method columns."""
    _fill_v2(conn)
    conn.execute("UPDATE reps SET quality = 'device lost during the rep' WHERE seq = 2")


def _fill_v4(conn):
    """Data as a schema-4 tracker wrote it: the training method's columns, no test flag, no
    unilateral exercises (the single-leg RDL was already in the catalogue)."""
    _fill_v3(conn)
    conn.execute("INSERT INTO exercises (id, name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin) "
                 "VALUES (2, 'single-leg Romanian deadlift', 0.20, 0.10, 1, 'own estimate', 1)")
    conn.execute("UPDATE sets SET day_basis = 'first', warmup = 0 WHERE id = 1")


def _fill_v5(conn):
    """Data as a schema-5 tracker wrote it: sides and tests, no plans, no bands or chains."""
    _fill_v4(conn)
    conn.execute("UPDATE sets SET is_test = 1, day_done = 1, tempo_kept = 2, tempo_judged = 2 WHERE id = 1")


def _fill_v6(conn):
    """Data as a schema-6 tracker wrote it: plans, bands and chains, no sync outbox."""
    _fill_v5(conn)
    conn.execute("UPDATE sets SET chain_top_kg = 20, chain_kg_per_m = 25 WHERE id = 1")


FILLERS = {0: None, 1: _fill_v1, 2: _fill_v2, 3: _fill_v3, 4: _fill_v4, 5: _fill_v5, 6: _fill_v6}


def test_every_earlier_version_has_a_migration_test():
    assert set(FILLERS) == set(range(SCHEMA_VERSION))
    assert set(vs.MIGRATIONS) == set(range(1, SCHEMA_VERSION + 1))


def _table_columns(conn):
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: [(c[1], c[2]) for c in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


@pytest.mark.parametrize("version", sorted(FILLERS))
def test_migrates_from_every_earlier_version(tmp_path, version):
    path = tmp_path / vs.DB_FILENAME
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        build_schema(conn, version)
        if FILLERS[version]:
            conn.execute("BEGIN")
            FILLERS[version](conn)
            conn.execute("COMMIT")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    finally:
        conn.close()
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        with Store(tmp_path / "fresh.sqlite3") as fresh:
            assert _table_columns(s.conn) == _table_columns(fresh.conn)
            indices = "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
            assert s.conn.execute(indices).fetchall() == fresh.conn.execute(indices).fetchall()
        assert {e.name for e in BUILTIN_EXERCISES} <= {e.name for e in s.exercises()}
        assert s.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if version == 1:
        assert (tmp_path / f"{vs.DB_FILENAME}.v1.bak").exists()
    if version == 4:
        with Store(path) as s:
            assert s.exercise("single-leg RDL").unilateral and not s.exercise("squat").unilateral
            old = s.get_set(1)
            assert not old.is_test and old.day_basis == "first"


def test_v1_data_survives_migration(tmp_path):
    path = tmp_path / vs.DB_FILENAME
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        build_schema(conn, 1)
        _fill_v1(conn)
    finally:
        conn.close()
    with Store(path) as s:
        done = s.get_set(1)
        assert (done.athlete, done.exercise, done.load_kg, done.rpe, done.note) == ("ana", "squat", 100.0, 8.0, "felt ok")  # noqa: E501
        assert (done.best_rep, done.stop_rep, done.stop_reason, done.recovered) == (1, 3, "stillness", False)
        assert done.uid and len({x.uid for x in s.sets()}) == 2
        expected = apply_stop_rule(reps_from([0.80, 0.70, 0.60]), StopRuleConfig(velocity_loss_pct=20)).reps
        assert [r.rep for r in s.reps(1)] == list(expected)
        assert [r.recorded_index for r in s.reps(1)] == [1, 2, 3]
        t = np.arange(3000) / 1000.0
        trace = s.trace(1)
        assert np.array_equal(trace.t_s, t) and np.array_equal(trace.position_m, np.sin(t))
        assert s.conn.execute("SELECT DISTINCT codec FROM trace_chunks WHERE set_id = 1").fetchall() == [(RAW_CODEC,)]
        # the set v1 left unfinished was recovered on open: reps kept, trace stitched
        open_set = s.get_set(2)
        assert open_set.recovered and open_set.stop_reason == "interrupted" and open_set.n_reps == 2
        assert s.conn.execute("SELECT COUNT(*) FROM trace_chunks WHERE set_id = 2").fetchone()[0] == 1
        assert np.array_equal(s.trace(2).t_s, t)
        squat = s.exercise("squat")
        assert (squat.min_rom_m, squat.low_confidence, squat.builtin, squat.mvt_source) == (0.20, True, True, "science.md")  # noqa: E501
        bench = s.exercise("bench press")  # the user had changed its MVT: kept, and marked as theirs
        assert (bench.mvt_m_s, bench.mvt_source) == (0.18, "user")
        zercher = s.exercise("zercher squat")
        assert (zercher.mvt_m_s, zercher.builtin, zercher.min_rom_m) == (0.35, False, 0.15)
        assert s.sessions()[0].note == "old"


def test_newer_schema_is_refused_untouched(tmp_path):
    with Store.open(tmp_path):
        pass
    path = database_path(tmp_path)
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    finally:
        conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version"):
        Store(path)
    assert path.read_bytes() == before


# ---- bad files ---------------------------------------------------------------------------------


def test_corrupt_file_is_one_clear_error_and_untouched(tmp_path):
    path = database_path(tmp_path)
    garbage = b"this is not a database, it is a shopping list\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a readable VBT history database") as info:
        Store(path)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == garbage


def test_directory_in_place_of_file(tmp_path):
    database_path(tmp_path).mkdir(parents=True)
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)


def test_locked_database_fails_cleanly_and_changes_nothing(tmp_path, monkeypatch):
    with Store.open(tmp_path):
        pass
    monkeypatch.setattr(store_db, "DEFAULT_BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(str(database_path(tmp_path)), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another program is writing
        with Store.open(tmp_path) as s:
            before = s.sets()
            with pytest.raises(StoreError, match="locked"):
                s.add_set(reps_from([0.5]), exercise="squat", load_kg=80)
            assert s.sets() == before  # readers are not blocked in WAL mode
        other.execute("ROLLBACK")
    finally:
        other.close()


_full_disk = full_disk


def test_full_disk_is_one_clear_error_and_changes_nothing(tmp_path, monkeypatch):
    with Store.open(tmp_path) as s:
        s.add_set(reps_from([0.5, 0.45]), exercise="squat", load_kg=80, started_at_unix_s=T0)
    before = snapshot(database_path(tmp_path))
    _full_disk(monkeypatch)
    with Store.open(tmp_path) as s:
        big = (np.arange(200_000) / 1000.0, np.random.default_rng(1).normal(size=200_000))
        with pytest.raises(StoreError, match="disk is full") as info:
            s.add_set(reps_from([0.6] * 30), exercise="squat", load_kg=90, trace=big)
        assert "\n" not in str(info.value)
    assert snapshot(database_path(tmp_path)) == before


# ---- writing and reading -----------------------------------------------------------------------


def test_bad_set_fields_are_refused(store):
    for kwargs, match in (
        (dict(load_kg=-5), "impossible"),
        (dict(load_kg=0), "impossible"),
        (dict(load_kg=2000), "impossible"),
        (dict(load_kg=float("nan")), "impossible"),
        (dict(side="middle"), "side"),
        (dict(rpe=11), "RPE"),
        (dict(metric="fast"), "metric"),
        (dict(threshold_pct=0.5), "threshold"),
    ):
        with pytest.raises(StoreError, match=match):
            store.add_set(reps_from([0.5]), exercise="squat", **kwargs)
    with pytest.raises(UnknownExerciseError):
        store.add_set(reps_from([0.5]), exercise="underwater basket weaving")
    assert store.sets() == [] and store.sessions() == []


def test_sets_sessions_and_reps_round_trip(store):
    t = np.arange(5000) / 1000.0
    result = apply_stop_rule(reps_from([0.80, 0.78, 0.70, 0.66]), StopRuleConfig(velocity_loss_pct=10))
    set_id = store.add_set(result, exercise="squat", athlete="Ana", load_kg=100, side="left", rpe=8.5,
                           note="tight, \"grindy\"; ok", started_at_unix_s=T0, trace=(t, np.cos(t)), source="test")
    record = store.get_set(set_id)
    assert (record.athlete, record.exercise, record.load_kg, record.side, record.rpe) == ("Ana", "squat", 100.0, "left", 8.5)  # noqa: E501
    assert (record.best_rep, record.stop_rep, record.n_reps, record.best_velocity_m_s) == (1, 3, 4, 0.80)
    assert record.last_velocity_loss_pct == pytest.approx(17.5)
    assert record.duration_s == pytest.approx(4.999)
    assert [r.rep for r in store.reps(set_id)] == list(result.reps)
    assert store.set_result(set_id) == replace(result, duration_s=record.duration_s)
    trace = store.trace(set_id)
    assert np.array_equal(trace.t_s, t) and np.array_equal(trace.position_m, np.cos(t))
    detail = store.set_detail(set_id)
    assert detail.set == record and len(detail.reps) == 4 and detail.trace.n_samples == 5000
    # a second set an hour later joins the session; one the next day starts a new one
    store.add_set(reps_from([0.9]), exercise="bench", athlete="ana", load_kg=60, started_at_unix_s=T0 + 3600)
    store.add_set(reps_from([0.9]), exercise="bench", athlete="ana", load_kg=62.5, started_at_unix_s=T0 + DAY_S)
    store.add_set(reps_from([1.0]), exercise="deadlift", athlete="Bo", load_kg=140, started_at_unix_s=T0 + 60)
    sessions = store.sessions(athlete="ana", newest_first=False)
    assert [(s.n_sets, s.n_reps, s.exercises) for s in sessions] == [(2, 5, ("bench press", "squat")), (1, 1, ("bench press",))]  # noqa: E501
    assert [s.n_sets for s in store.sessions(athlete="ana", exercise="squat")] == [1]
    assert len(store.sessions()) == 3 and len(store.sessions(limit=1)) == 1
    assert store.sessions(limit=1)[0].started_at_unix_s == T0 + DAY_S
    assert [a.name for a in store.athletes()] == ["Ana", "Bo"]
    assert len(store.sets(athlete="ana", exercise="bench press")) == 2
    with pytest.raises(UnknownAthleteError, match="Ana"):
        store.sessions(athlete="Carla")
    assert store.update_set(set_id, rpe=9, note=None).rpe == 9.0
    assert store.update_set(set_id, exercise="front squat").exercise == "front squat"
    with pytest.raises(StoreError):
        store.update_set(set_id, load_kg=-1)


def test_history_json_nests_sessions_sets_reps(store):
    reps = reps_from([0.8, 0.7])
    reps[1] = replace(reps[1], mean_force_n=float("nan"))
    set_id = store.add_set(reps, exercise="squat", load_kg=100, started_at_unix_s=T0)
    store.add_set(reps_from([0.9]), exercise="bench", load_kg=50, started_at_unix_s=T0 + 60)
    doc = store.history()
    (session,) = doc["sessions"]
    assert [s["exercise"] for s in session["sets"]] == ["squat", "bench press"]
    squat = session["sets"][0]
    assert squat["id"] == set_id and len(squat["reps"]) == 2
    for stored, rep_json in zip(store.reps(set_id), squat["reps"]):
        assert {k: rep_json[k] for k in REP_JSON_FIELDS} == stored.rep.to_json()
        assert list(rep_json)[: len(REP_JSON_FIELDS)] == list(REP_JSON_FIELDS)
        assert rep_json["deleted"] is False
    assert squat["reps"][1]["mean_force_n"] is None  # NaN is stored as "no value"
    only_bench = store.history(exercise="bench press")["sessions"][0]["sets"]
    assert [s["exercise"] for s in only_bench] == ["bench press"]


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 300), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_trace_codec_is_lossless(values):
    decoded = decode_f8(encode_f8(values), vs.TRACE_CODEC)
    assert decoded.dtype == np.float64
    assert decoded.view(np.uint64).tolist() == values.view(np.uint64).tolist()


def test_trace_codec_compresses_real_traces():
    t = np.arange(20_000) / 1000.0
    position_mm = np.round(300 * (1 - np.cos(2 * np.pi * t / 3.0))) / 1000.0  # a 1 mm encoder
    assert len(encode_f8(t)) < t.nbytes / 50
    assert len(encode_f8(position_mm)) < position_mm.nbytes / 3


# ---- delete and restore ------------------------------------------------------------------------


def test_deleting_a_rep_recomputes_the_set_and_keeps_the_rep(store):
    velocities = [0.80, 0.90, 0.85, 0.82, 0.77]  # best is rep 2; 10 % limit crossed at rep 5
    set_id = store.add_set(reps_from(velocities), exercise="bench", load_kg=60, threshold_pct=10, started_at_unix_s=T0)
    record = store.get_set(set_id)
    assert (record.best_rep, record.stop_rep) == (2, 5)
    stored = store.reps(set_id)
    result = store.delete_rep(stored[1].id)  # the fastest rep was a miscount
    expected = apply_stop_rule([s.rep for i, s in enumerate(stored) if i != 1], StopRuleConfig(velocity_loss_pct=10))
    assert [(r.index, r.velocity_loss_pct) for r in result.reps] == [(r.index, r.velocity_loss_pct) for r in expected.reps]  # noqa: E501
    assert (result.best_rep, result.stop_rep) == (expected.best_rep, expected.stop_rep) == (2, None)
    record = store.get_set(set_id)
    assert (record.n_reps, record.n_deleted_reps, record.best_rep, record.stop_rep) == (4, 1, 2, None)
    after = store.reps(set_id)
    assert len(after) == 5 and after[1].deleted and after[1].rep.mean_velocity_m_s == 0.90
    assert after[1].rep.velocity_loss_pct is None
    assert [r.rep.velocity_loss_pct for r in store.reps(set_id, include_deleted=False)] == \
        [r.velocity_loss_pct for r in expected.reps]
    # deleted reps leave trends and profiles
    assert store.exercise_trend("bench")[0].best_velocity_m_s == 0.85
    loads, vel = store.profile_points("bench")
    assert vel.tolist() == [0.85]
    restored = store.restore_rep(stored[1].id)
    assert [r.rep for r in store.reps(set_id)] == [s.rep for s in stored]
    assert (restored.best_rep, restored.stop_rep) == (2, 5)
    assert store.get_set(set_id).n_deleted_reps == 0
    with pytest.raises(vs.NotFoundError):
        store.delete_rep(10_000)


# ---- trends and profile points -----------------------------------------------------------------


def test_exercise_trend(store):
    store.add_set(reps_from([0.70, 0.65]), exercise="squat", load_kg=100, started_at_unix_s=T0)
    store.add_set(reps_from([0.90, 0.88, 0.85]), exercise="squat", load_kg=80, started_at_unix_s=T0 + 600)
    store.add_set(reps_from([1.00]), exercise="bench", load_kg=40, started_at_unix_s=T0 + 700)
    store.add_set(reps_from([0.75, 0.70]), exercise="squat", load_kg=100, started_at_unix_s=T0 + 3 * DAY_S)
    store.add_set([], exercise="squat", load_kg=120, started_at_unix_s=T0 + 3 * DAY_S + 60)  # no reps counted
    points = store.exercise_trend("squat", load_kg=100)
    assert len(points) == 2
    first, second = points
    assert (first.n_sets, first.n_reps, first.volume_kg, first.top_load_kg) == (2, 5, 440.0, 100.0)
    assert (first.best_velocity_m_s, first.best_velocity_load_kg, first.best_velocity_at_load_m_s) == (0.90, 80.0, 0.70)
    assert (second.n_reps, second.best_velocity_at_load_m_s) == (2, 0.75)
    assert first.date < second.date
    assert store.exercise_trend("squat", metric="peak")[0].best_velocity_m_s == pytest.approx(0.90 * 1.6)
    assert store.exercise_trend("squat", since_unix_s=T0 + DAY_S)[0].session_id == second.session_id
    with pytest.raises(StoreError):
        store.exercise_trend("squat", metric="fastest")


def test_profile_points_fastest_per_load_and_window(store):
    store.add_set(reps_from([0.50, 0.55]), exercise="bench", load_kg=80, started_at_unix_s=T0)
    store.add_set(reps_from([0.52]), exercise="bench", load_kg=80.0001, started_at_unix_s=T0 + 60)
    store.add_set(reps_from([0.90]), exercise="bench", load_kg=50, started_at_unix_s=T0 + 120)
    store.add_set(reps_from([1.50]), exercise="bench", load_kg=50, started_at_unix_s=T0 - 100 * DAY_S)
    loads, vel = store.profile_points("bench", since_unix_s=T0 - DAY_S)
    assert loads.tolist() == [50.0, 80.0] and vel.tolist() == [0.90, 0.55]
    profile = store.load_velocity_profile("bench")  # last 56 days: the old 1.50 is out
    assert profile.velocities_m_s == (0.90, 0.55)
    assert store.load_velocity_profile("bench", days=0).velocities_m_s == (1.50, 0.55)


# ---- crash recovery (in-process parts; the kill -9 test is in test_store_durability.py) --------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def test_open_set_of_a_dead_writer_is_recovered_once(tmp_path):
    with Store.open(tmp_path) as s:
        with s.transaction():
            set_id = s._insert_set(athlete="ana", exercise="squat", load_kg=100, side="both", metric="mean",
                                   threshold_pct=10, rpe=None, note=None, started_at=T0, session_id=None,
                                   new_session=False, source="live", uid=None, writer_pid=_dead_pid())
            for i, rep in enumerate(reps_from([0.8, 0.7, 0.6]), start=1):
                s._insert_rep(set_id, i, rep)
            t = np.arange(1500) / 1000.0
            for part in np.split(np.arange(1500), 3):
                s._append_trace(set_id, t[part], np.sin(t[part]))
        # a set this process is writing is left alone
        with s.transaction():
            mine = s._insert_set(athlete="ana", exercise="bench", load_kg=50, side="both", metric="mean",
                                 threshold_pct=10, rpe=None, note=None, started_at=T0 + 10, session_id=None,
                                 new_session=False, source="live", uid=None, writer_pid=os.getpid())
    with Store.open(tmp_path) as s:
        record = s.get_set(set_id)
        assert record.recovered and record.stop_reason == "interrupted" and not record.in_progress
        assert (record.n_reps, record.best_rep, record.stop_rep) == (3, 1, 2)
        assert s.conn.execute("SELECT COUNT(*) FROM trace_chunks WHERE set_id = ?", (set_id,)).fetchone()[0] == 1
        assert np.array_equal(s.trace(set_id).t_s, np.arange(1500) / 1000.0)
        assert s.get_set(mine).in_progress
        assert s.recover_interrupted() == []  # once only
        assert s.recover_interrupted(force=True) == [mine]


# ---- the live recorder -------------------------------------------------------------------------


def _wait_until(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        pause.wait(0.02)
    return predicate()


def test_recorder_commits_reps_before_reporting_and_journals_trace(tmp_path):
    with SetRecorder(tmp_path, trace_flush_interval_s=0.1, pre_roll_s=2.0) as rec:
        with pytest.raises(RuntimeError):
            rec.add_rep(make_rep(1, 0.5))
        with pytest.raises(UnknownExerciseError):
            rec.start_set(exercise="juggling")
        with pytest.raises(StoreError, match="impossible"):
            rec.start_set(exercise="squat", load_kg=-3)
        t = np.arange(5000) / 1000.0
        rec.add_trace(t[:3000], t[:3000] * 0)  # idle before the set: only the last 2 s are kept
        set_id = rec.start_set(exercise="squat", load_kg=100, athlete="ana").result(10)
        rec.add_trace(t[3000:4000], np.sin(t[3000:4000]))
        rep_id = rec.add_rep(make_rep(1, 0.8)).result(10)
        with Store.open(tmp_path) as reader:  # a separate connection sees it committed
            assert [r.id for r in reader.reps(set_id)] == [rep_id]
            assert reader.get_set(set_id).in_progress
        rec.add_trace(t[4000:], np.sin(t[4000:]))
        with Store.open(tmp_path) as reader:  # journaled within the flush interval, without asking
            assert _wait_until(lambda: reader.trace(set_id).n_samples == 4000)
        assert rec.flush(10)
        rec.add_rep(make_rep(2, 0.6))
        final = apply_stop_rule(reps_from([0.8, 0.6, 0.59]), StopRuleConfig())
        assert rec.end_set(final, "stillness", rpe=9, note="last set").result(10) == set_id
        assert not rec.set_open
    with Store.open(tmp_path) as s:
        record = s.get_set(set_id)
        assert (record.n_reps, record.stop_rep, record.stop_reason, record.rpe, record.note, record.recovered) == \
            (3, 2, "stillness", 9.0, "last set", False)
        trace = s.trace(set_id)
        assert trace.t_s[0] == pytest.approx(1.0) and trace.t_s[-1] == t[-1] and trace.n_samples == 4000
        assert s.conn.execute("SELECT COUNT(*) FROM trace_chunks WHERE set_id = ?", (set_id,)).fetchone()[0] == 1
        assert s.sets()[0].source == "live"


def test_recorder_stop_closes_an_open_set_and_submit_runs_on_writer(tmp_path):
    rec = SetRecorder(tmp_path)
    try:
        set_id = rec.start_set(exercise="bench", load_kg=50).result(10)
        rec.add_rep(make_rep(1, 0.7))
        second = rec.start_set(exercise="bench", load_kg=55).result(10)  # supersedes the first
        rep_id = rec.add_rep(make_rep(1, 0.6)).result(10)
        assert rec.submit(lambda s: s.delete_rep(rep_id)).result(10).reps == ()
        rec.update_set(set_id, rpe=7).result(10)
        rec.submit(lambda s: s.add_exercise("sled push", 0.4)).result(10)
        assert "sled push" in {e.name for e in rec.exercises}
    finally:
        rec.stop()
    with pytest.raises(RuntimeError):
        rec.start_set(exercise="bench")
    with Store.open(tmp_path) as s:
        first, last = s.get_set(set_id), s.get_set(second)
        assert (first.stop_reason, first.n_reps, first.rpe) == ("superseded", 1, 7.0)
        assert (last.stop_reason, last.n_reps, last.n_deleted_reps) == ("closed", 0, 1)


def test_recorder_reports_a_full_disk(tmp_path, monkeypatch):
    with Store.open(tmp_path):
        pass
    errors = []
    _full_disk(monkeypatch, extra_pages=3)
    rec = SetRecorder(tmp_path, trace_flush_interval_s=0.05, on_error=errors.append)
    try:
        rec.start_set(exercise="squat", load_kg=100).result(10)
        noise = np.random.default_rng(0).normal(size=100_000)
        rec.add_trace(np.arange(100_000) / 1000.0, noise)
        with pytest.raises(StoreError, match="disk is full"):
            rec.add_rep(make_rep(1, 0.5)).result(10)
        assert errors and all("disk is full" in e for e in errors)
    finally:
        rec.stop()


def test_recorder_revises_a_rep_written_or_waiting_and_keeps_a_revision_through_a_full_disk(tmp_path, monkeypatch):
    """A live set's first rep revised (the tracker's RepRevised): the stored row takes the new
    measures whether the rep was committed already or still waits; a revision that meets a full
    disk waits in memory and is written once storage recovers, and nothing else is lost."""
    with SetRecorder(tmp_path, trace_flush_interval_s=0.05, retry_max_s=0.1) as rec:
        set_id = rec.start_set(exercise="deadlift", load_kg=140).result(10)
        rec.add_rep(make_rep(1, 0.43)).result(10)  # committed: closed at the hold
        rec.revise_rep(make_rep(1, 0.25, concentric_end_s=5.2)).result(10)
        with Store.open(tmp_path) as reader:
            (row,) = reader.reps(set_id)
            assert (row.rep.mean_velocity_m_s, row.rep.concentric_end_s) == (0.25, 5.2)
        rec.end_set(apply_stop_rule(reps_from([0.25]), StopRuleConfig()), "stillness").result(10)


    _full_disk(monkeypatch, extra_pages=3)
    rec = SetRecorder(tmp_path, trace_flush_interval_s=0.05, retry_max_s=0.1)
    try:
        with pytest.raises(RuntimeError):  # a revision needs an open set
            rec.revise_rep(make_rep(1, 0.3))
        second = rec.start_set(exercise="deadlift", load_kg=140).result(10)
        rec.add_trace(np.arange(100_000) / 1000.0, np.random.default_rng(1).normal(size=100_000))
        with pytest.raises(StoreError, match="disk is full"):
            rec.add_rep(make_rep(1, 0.5)).result(10)
        revised = rec.revise_rep(make_rep(1, 0.3))  # waits with the rep it replaces
        rec.add_rep(make_rep(2, 0.29))
        rec.submit(lambda store: store.conn.execute("PRAGMA max_page_count = 1073741823")).result(10)  # room again
        assert rec.flush(10)
        assert isinstance(revised.exception(10), StoreError)  # its first attempt failed (not durable then)
        rec.end_set(apply_stop_rule(reps_from([0.3, 0.29]), StopRuleConfig()), "stillness").result(10)
    finally:
        rec.stop()
    with Store.open(tmp_path) as s:
        assert [r.rep.mean_velocity_m_s for r in s.reps(set_id)] == [0.25]
        assert [r.rep.mean_velocity_m_s for r in s.reps(second)] == [0.3, 0.29]
        assert s.get_set(second).n_reps == 2
        with pytest.raises(NotFoundError):
            s.revise_rep(second, 7, make_rep(7, 0.2))


def test_recorder_open_errors_surface_in_the_constructor(tmp_path):
    path = database_path(tmp_path)
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(StoreError, match="not a readable"):
        SetRecorder(tmp_path)


def test_store_modules_stay_below_the_gui(tmp_path):
    code = ("import sys, vbt.store, vbt.profile, vbt.cli, vbt.exercises; "
            "bad = [m for m in ('serial', 'PySide6', 'pyqtgraph', 'gui', 'firmware_bridge') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_nan_metrics_are_stored_as_missing(store):
    rep = make_rep(1, 0.5, peak_power_w=float("inf"), mean_force_n=float("nan"))
    set_id = store.add_set([rep], exercise="squat", load_kg=50)
    stored = store.reps(set_id)[0].rep
    assert stored.mean_force_n is None and stored.peak_power_w is None
    assert math.isclose(stored.mean_velocity_m_s, 0.5)


def test_nested_transactions_are_savepoints(store):
    with store.transaction():
        store.add_set(reps_from([0.5]), exercise="squat", load_kg=50, started_at_unix_s=T0)
        with pytest.raises(StoreError):
            with store.transaction():
                store.add_set(reps_from([0.6]), exercise="squat", load_kg=60, started_at_unix_s=T0 + 1)
                raise StoreError("changed my mind")
        assert [s.load_kg for s in store.sets()] == [50.0]
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_set(reps_from([0.7]), exercise="squat", load_kg=70, started_at_unix_s=T0 + 2)
            raise RuntimeError("crash before commit")
    assert [s.load_kg for s in store.sets()] == [50.0]


def test_many_openers_of_a_new_file_at_once_all_succeed(tmp_path):
    # The dashboard's history view and its recorder thread open a new file together; the
    # catalogue must be seeded once, not fail one of them with a duplicate exercise.
    path = tmp_path / "race.sqlite3"
    n = 8
    gate = threading.Barrier(n)
    errors = []

    def open_it():
        gate.wait()
        try:
            Store(path).close()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store(path) as store:
        names = [e.name for e in store.exercises()]
    assert len(names) == len(set(names)) == len(BUILTIN_EXERCISES)
