"""`vbt history / export / import / profile / exercises / rep`: output, exact round trip, bad input."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import vbt.store.db as store_db
from tests.conftest import db_dump
from vbt import cli
from vbt.results import REP_JSON_FIELDS, Rep
from vbt.store import Store, database_path

T0 = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def snapshot(home) -> list[str]:
    return db_dump(database_path(home))


def assert_one_line_error(rc, err, match):
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("vbt "), err
    assert "Traceback" not in err
    assert match in err, err


def rep(index, mv, **kw):
    fields = dict(index=index, concentric_start_s=2.0 * index, concentric_end_s=2.0 * index + 0.6,
                  mean_velocity_m_s=mv, mean_propulsive_velocity_m_s=mv + 0.02, peak_velocity_m_s=mv * 1.5,
                  rom_m=0.45, time_to_peak_velocity_s=0.2, concentric_duration_s=0.6, eccentric_duration_s=1.1,
                  eccentric_mean_velocity_m_s=0.4, bottom_pause_s=0.1, mean_force_n=900.0, peak_force_n=1500.0,
                  mean_power_w=mv * 900.0, peak_power_w=mv * 2000.0)
    fields.update(kw)
    return Rep(**fields)


def build_history(home):
    """A history with the awkward cases: odd floats, missing values, deleted and recovered reps,
    user exercises, notes with commas, quotes, newlines and non-ASCII, and traces."""
    with Store.open(home) as s:
        s.add_exercise("Zercher squat", 0.31, 0.22, low_confidence=True)
        t = np.arange(2500) / 1000.0
        odd = [rep(1, 0.1 + 0.2), rep(2, 1 / 3, peak_force_n=None, mean_power_w=5e-324),
               rep(3, 0.3, rom_m=123456.78901234567, eccentric_duration_s=None, bottom_pause_s=-0.0),
               rep(4, 0.2999999999999999, mean_force_n=1e300)]
        a = s.add_set(odd, exercise="bench press", athlete="Ana", load_kg=61.25, rpe=8.5,
                      note='grip "wide", elbows in\nsecond line · ½', started_at_unix_s=T0 + 0.123456,
                      trace=(t, np.sin(t) * 0.3), source="live")
        s.add_set([rep(1, 0.7), rep(2, 0.65)], exercise="zercher", athlete="Ana", load_kg=80, side="left",
                  threshold_pct=20, metric="propulsive", started_at_unix_s=T0 + 600)
        s.add_set([rep(1, 0.9)], exercise="squat", athlete="Bo", started_at_unix_s=T0 + 86400)
        s.delete_rep(s.reps(a)[1].id)
        with s.transaction():  # a set a crashed writer left behind
            crashed = s._insert_set(athlete="Bo", exercise="squat", load_kg=100, side="both", metric="mean",
                                    threshold_pct=10, rpe=None, note=None, started_at=T0 + 86400 + 300,
                                    session_id=None, new_session=False, source="live", uid=None, writer_pid=None)
            s._insert_rep(crashed, 1, rep(1, 0.61))
            s._append_trace(crashed, t[:100], t[:100])
    with Store.open(home) as s:  # recovers the crashed set
        assert s.get_set(crashed).recovered


def read_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def without_ids(rows):
    return sorted(tuple(sorted((k, v) for k, v in r.items() if k not in ("rep_id", "set_id", "session_id")))
                  for r in rows)


# ---- round trip --------------------------------------------------------------------------------


def test_export_then_import_round_trips_exactly(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    build_history(a)
    rc, out, err = run(capsys, "export", "--csv", tmp_path / "exp", "--home", a, "--traces")
    assert rc == 0 and "4 sets" in out and err == ""
    for name in ("exercises.csv", "sessions.csv", "sets.csv", "reps.csv"):
        raw = (tmp_path / "exp" / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # spreadsheets detect UTF-8
    rc, out, err = run(capsys, "import", tmp_path / "exp", "--home", b)
    assert rc == 0 and "4 sets" in out, out + err
    with Store.open(a) as sa, Store.open(b) as sb:
        sets_a, sets_b = sa.sets(), sb.sets()
        assert len(sets_a) == len(sets_b) == 4
        for x, y in zip(sets_a, sets_b):
            assert replace(x, id=0, session_id=0) == replace(y, id=0, session_id=0)
            reps_a = [(r.recorded_index, r.deleted, repr(r.rep)) for r in sa.reps(x.id)]
            reps_b = [(r.recorded_index, r.deleted, repr(r.rep)) for r in sb.reps(y.id)]
            assert reps_a == reps_b  # repr: bit-exact floats, -0.0 included
            ta, tb = sa.trace(x.id), sb.trace(y.id)
            assert ta.t_s.tobytes() == tb.t_s.tobytes() and ta.position_m.tobytes() == tb.position_m.tobytes()
        assert [(s.uid, s.athlete, s.started_at_unix_s, s.note) for s in sa.sessions()] == \
            [(s.uid, s.athlete, s.started_at_unix_s, s.note) for s in sb.sessions()]
        assert sb.exercise("zercher squat") == sa.exercise("zercher squat")
        assert any(s.recovered for s in sets_b) and any(s.n_deleted_reps for s in sets_b)
    # and a second export is the same file content, ids aside
    rc, *_ = run(capsys, "export", "--csv", tmp_path / "exp2", "--home", b, "--traces")
    assert rc == 0
    for name in ("exercises.csv", "sessions.csv", "sets.csv", "reps.csv"):
        assert without_ids(read_rows(tmp_path / "exp" / name)) == without_ids(read_rows(tmp_path / "exp2" / name))
    # importing again (naming one of the export's files) changes nothing
    before = snapshot(b)
    rc, out, _ = run(capsys, "import", tmp_path / "exp" / "reps.csv", "--home", b)
    assert rc == 0 and "4 sets already in the history" in out
    assert snapshot(b) == before


def test_export_filters_and_csv_is_plain(tmp_path, capsys):
    build_history(tmp_path / "h")
    rc, out, _ = run(capsys, "export", "--csv", tmp_path / "e", "--home", tmp_path / "h", "--athlete", "ana",
                     "--exercise", "bench")
    assert rc == 0 and "1 sets, 4 reps" in out
    reps = read_rows(tmp_path / "e" / "reps.csv")
    assert [r["exercise"] for r in reps] == ["bench press"] * 4
    assert set(REP_JSON_FIELDS) <= set(reps[0])
    assert float(reps[0]["mean_velocity_m_s"]) == 0.1 + 0.2
    assert [r["deleted"] for r in reps] == ["0", "1", "0", "0"]
    assert reps[1]["velocity_loss_pct"] == ""  # a deleted rep is out of the stop rule
    assert not (tmp_path / "e" / "traces").exists()


# ---- history and profile -----------------------------------------------------------------------


def test_history_text_and_json(tmp_path, capsys):
    home = tmp_path / "h"
    build_history(home)
    rc, out, err = run(capsys, "history", "--home", home)
    assert rc == 0 and err == ""
    assert "bench press, 61.25 kg, 3 reps" in out and "1 deleted" in out and "RECOVERED" in out
    assert "Zercher squat (left), 80 kg" in out and "RPE 8.5" in out
    rc, out, _ = run(capsys, "history", "--home", home, "--athlete", "bo", "--reps")
    assert rc == 0 and "Ana" not in out and "rep  1 (id" in out
    rc, out, _ = run(capsys, "history", "--home", home, "--json", "--athlete", "Ana", "--exercise", "bench")
    doc = json.loads(out)
    (session,) = doc["sessions"]
    (the_set,) = session["sets"]
    assert the_set["exercise"] == "bench press" and the_set["load_kg"] == 61.25 and len(the_set["reps"]) == 4
    with Store.open(home) as s:
        stored = s.reps(the_set["id"])
    for r_json, r in zip(the_set["reps"], stored):
        assert {k: r_json[k] for k in REP_JSON_FIELDS} == r.rep.to_json()
        assert r_json["deleted"] == r.deleted
    rc, out, _ = run(capsys, "history", "--home", home, "--json", "--limit", "1")
    assert [s["athlete"] for s in json.loads(out)["sessions"]] == ["Bo"]
    rc, out, _ = run(capsys, "history", "--home", tmp_path / "empty")
    assert rc == 0 and "no sessions" in out


def test_profile_command(tmp_path, capsys):
    home = tmp_path / "h"
    with Store.open(home) as s:
        for k, (load, v) in enumerate(((40, 1.16), (60, 0.83), (80, 0.50), (90, 0.34))):
            s.add_set([rep(1, v), rep(2, v * 0.95)], exercise="bench", load_kg=load, started_at_unix_s=T0 + k * 300)
        for load, v in ((100, 0.7), (140, 0.45)):
            s.add_set([rep(1, v)], exercise="squat", load_kg=load, started_at_unix_s=T0 + 2000)
    rc, out, err = run(capsys, "profile", "bench", "--home", home)
    assert rc == 0 and err == "", err
    assert "estimated 1RM at MVT 0.17 m/s" in out and "LOW CONFIDENCE" not in out
    rc, out, _ = run(capsys, "profile", "bench press", "--home", home, "--json")
    doc = json.loads(out)
    assert 99 < doc["one_rm_kg"] < 101 and doc["n_points"] == 4 and doc["interval_method"] == "prediction interval"
    assert doc["one_rm_low_kg"] < doc["one_rm_kg"] < doc["one_rm_high_kg"]
    rc, out, _ = run(capsys, "profile", "squat", "--home", home, "--json")
    doc = json.loads(out)
    assert doc["low_confidence"] is True and doc["interval_method"] == "two-point heuristic"
    rc, out, err = run(capsys, "profile", "deadlift", "--home", home)
    assert_one_line_error(rc, err, "no deadlift sets")


def test_exercises_and_rep_commands(tmp_path, capsys):
    home = tmp_path / "h"
    with Store.open(home) as s:
        set_id = s.add_set([rep(1, 0.8), rep(2, 0.9), rep(3, 0.75)], exercise="bench", load_kg=60)
        rep_id = s.reps(set_id)[1].id
    rc, out, _ = run(capsys, "exercises", "--home", home)
    assert rc == 0 and "hex-bar deadlift" in out and "own estimate" in out
    rc, out, _ = run(capsys, "exercises", "--home", home, "--add", "Pin press", "--mvt", "0.2", "--min-rom", "0.1")
    assert rc == 0 and "added Pin press" in out
    rc, out, err = run(capsys, "exercises", "--home", home, "--add", "pin-press", "--mvt", "0.2")
    assert_one_line_error(rc, err, "already exists")
    rc, out, _ = run(capsys, "exercises", "--home", home, "--change", "bench", "--mvt", "0.15")
    assert rc == 0 and "MVT 0.15" in out
    rc, out, _ = run(capsys, "exercises", "--home", home, "--json")
    assert {e["name"]: e["mvt_m_s"] for e in json.loads(out)}["bench press"] == 0.15
    rc, out, _ = run(capsys, "rep", "delete", rep_id, "--home", home)
    assert rc == 0 and "2 reps" in out and "no stop" in out
    rc, out, _ = run(capsys, "rep", "restore", rep_id, "--home", home)
    assert rc == 0 and "3 reps" in out and "stop at rep 3" in out
    rc, out, err = run(capsys, "rep", "delete", 999, "--home", home)
    assert_one_line_error(rc, err, "no rep 999")


def test_register_works_under_another_dispatcher(tmp_path):
    parser = argparse.ArgumentParser(prog="vbt")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("analyze")  # the lead's command lives beside ours
    cli.register(sub)
    args = parser.parse_args(["history", "--home", str(tmp_path), "--json"])
    assert args.func(args) == 0


# ---- importing recordings ----------------------------------------------------------------------


@pytest.fixture
def recordings(tmp_path):
    pytest.importorskip("vbt.analysis")
    from vbt.io import write_chronojump, write_csv
    from vbt.simulate import SensorSpec, simulate_set

    sim = simulate_set(7, style="squat", sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001), n_reps=5,
                       first_mean_velocity_m_s=0.7, rom_m=0.55, partial_rep_after=None)
    csv_path = tmp_path / "squat.csv"
    write_csv(csv_path, sim.t_s, sim.position_m)
    counts = np.round(np.diff(np.concatenate(([sim.position_m[0]], sim.position_m))) * 1000).astype(int)
    cj_path = tmp_path / "squat_chronojump.txt"
    write_chronojump(cj_path, counts)
    return sim, csv_path, cj_path


def test_import_recordings(tmp_path, capsys, recordings):
    from vbt.analysis import analyze
    from vbt.config import AnalysisConfig, SegmentationConfig
    from vbt.io import read_recording

    sim, csv_path, cj_path = recordings
    home = tmp_path / "h"
    rc, out, err = run(capsys, "import", csv_path, cj_path, "--home", home, "--exercise", "back squat",
                       "--load-kg", "100", "--athlete", "ana", "--rpe", "8")
    assert rc == 0, err
    assert out.count("imported") == 2
    with Store.open(home) as s:
        sets = s.sets()
        assert len(sets) == 2 and len(s.sessions()) == 1
        for record, path in zip(sets, (csv_path, cj_path)):
            rec = read_recording(path)
            expected = analyze(rec.t_s, rec.position_m, AnalysisConfig(
                segmentation=SegmentationConfig(min_rom_m=s.exercise("squat").min_rom_m), load_kg=100.0))
            assert record.exercise == "squat" and record.load_kg == 100.0 and record.rpe == 8.0
            assert record.source.startswith("import:")
            assert tuple(r.rep for r in s.reps(record.id)) == expected.reps
            assert (record.best_rep, record.stop_rep) == (expected.best_rep, expected.stop_rep)
            assert len(expected.reps) == len(sim.truth)
            trace = s.trace(record.id)
            assert np.array_equal(trace.t_s, rec.t_s) and np.array_equal(trace.position_m, rec.position_m)
    before = snapshot(home)
    rc, out, _ = run(capsys, "import", csv_path, "--home", home, "--exercise", "squat", "--load-kg", "100")
    assert rc == 0 and "already in the history" in out
    assert snapshot(home) == before


def test_import_is_all_or_nothing(tmp_path, capsys, recordings):
    _, csv_path, _ = recordings
    home = tmp_path / "h"
    build_history(home)
    bad = tmp_path / "notes.txt"
    bad.write_text("squat day, felt strong\n")
    before = snapshot(home)
    rc, out, err = run(capsys, "import", csv_path, bad, "--home", home, "--exercise", "squat", "--load-kg", "90")
    assert_one_line_error(rc, err, "notes.txt")
    assert out == "" and snapshot(home) == before
    rc, out, err = run(capsys, "import", csv_path, "--home", home, "--load-kg", "90")
    assert_one_line_error(rc, err, "--exercise is required")
    assert snapshot(home) == before


# ---- bad input: one line, exit 1, nothing changed ----------------------------------------------


@pytest.mark.parametrize("argv, match", [
    (["profile", "bench prss"], "unknown exercise"),
    (["history", "--exercise", "curling"], "unknown exercise"),
    (["history", "--athlete", "nobody"], "no athlete called 'nobody'"),
    (["history", "--since", "yesterday"], "not a date"),
    (["import", "{rec}", "--exercise", "curling", "--load-kg", "50"], "unknown exercise"),
    (["import", "{rec}", "--exercise", "squat", "--load-kg", "-20"], "impossible"),
    (["import", "{rec}", "--exercise", "squat", "--load-kg", "5000"], "impossible"),
    (["import", "{rec}", "--exercise", "squat", "--load-kg", "heavy"], "not a number"),
    (["import", "{rec}", "--exercise", "squat", "--rpe", "12"], "--rpe: 12.0 is outside 1–10"),
    (["import", "{missing}", "--exercise", "squat"], "no such file"),
    (["import", "{exp}", "--exercise", "squat"], "an export brings its own"),
    (["exercises", "--add", "sled", "--mvt", "9"], "--mvt: 9.0 m/s is outside 0.05–1.5 m/s"),
])
def test_bad_input_is_one_line_and_changes_nothing(tmp_path, capsys, argv, match):
    home = tmp_path / "h"
    build_history(home)
    rec_path = tmp_path / "rec.csv"
    rec_path.write_text("t_s,position_m\n0,0\n0.001,0.001\n")
    exp = tmp_path / "exp"
    assert run(capsys, "export", "--csv", exp, "--home", home)[0] == 0
    before = snapshot(home)
    argv = [a.format(rec=rec_path, missing=tmp_path / "nope.csv", exp=exp) for a in argv]
    rc, out, err = run(capsys, *argv, "--home", home)
    assert_one_line_error(rc, err, match)
    assert snapshot(home) == before


def test_corrupt_database(tmp_path, capsys):
    home = tmp_path / "h"
    home.mkdir()
    path = database_path(home)
    path.write_bytes(b"\x00\x01garbage" * 500)
    for argv in (["history"], ["profile", "squat"], ["export", "--csv", tmp_path / "e"], ["exercises"]):
        rc, out, err = run(capsys, *argv, "--home", home)
        assert_one_line_error(rc, err, "not a readable VBT history database")
    assert path.read_bytes() == b"\x00\x01garbage" * 500
    assert not (tmp_path / "e").exists()


def test_locked_database(tmp_path, capsys, monkeypatch):
    home = tmp_path / "h"
    build_history(home)
    assert run(capsys, "export", "--csv", tmp_path / "exp", "--home", home)[0] == 0
    target = tmp_path / "target"
    with Store.open(target):
        pass
    before = snapshot(target)
    monkeypatch.setattr(store_db, "DEFAULT_BUSY_TIMEOUT_S", 0.2)
    other = sqlite3.connect(str(database_path(target)), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        rc, out, err = run(capsys, "import", tmp_path / "exp", "--home", target)
        assert_one_line_error(rc, err, "locked")
        rc, out, err = run(capsys, "history", "--home", target)  # reading still works (WAL)
        assert rc == 0
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert snapshot(target) == before


def test_full_disk(tmp_path, capsys, monkeypatch):
    home = tmp_path / "h"
    build_history(home)
    assert run(capsys, "export", "--csv", tmp_path / "exp", "--home", home, "--traces")[0] == 0
    target = tmp_path / "target"
    with Store.open(target) as s:
        s.add_set([rep(1, 0.5)], exercise="squat", load_kg=50)
    before = snapshot(target)
    original = store_db._connect_sqlite

    def no_room(path, timeout_s):
        conn = original(path, timeout_s)
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        return conn

    monkeypatch.setattr(store_db, "_connect_sqlite", no_room)
    rc, out, err = run(capsys, "import", tmp_path / "exp", "--home", target)
    assert_one_line_error(rc, err, "disk is full")
    assert snapshot(target) == before


def test_standalone_module_has_no_traceback(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    database_path(home).write_bytes(b"not sqlite at all" * 100)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "vbt.cli", "history", "--home", str(home)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(REPO))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("vbt history: ") and proc.stderr.count("\n") == 1, proc.stderr
    env["VBT_HOME"] = str(tmp_path / "viaenv")
    proc = subprocess.run([sys.executable, "-m", "vbt.cli", "history"], capture_output=True, text=True,
                          timeout=120, env=env, cwd=str(REPO))
    assert proc.returncode == 0 and "no sessions" in proc.stdout
    assert database_path(tmp_path / "viaenv").exists()


def test_import_of_a_recording_made_upside_down(tmp_path, capsys, recordings):
    """--inverted on import: the set is kept as the bar moved (reps, trace), and the same file read
    the other way up is another set, so a wrong import can be deleted and the right one kept."""
    from vbt.io import read_recording

    sim, csv_path, _ = recordings
    rec = read_recording(csv_path)
    upside = tmp_path / "upside_down.csv"
    rows = "".join(f"{float(t)!r},{-float(x)!r}\n" for t, x in zip(rec.t_s, rec.position_m))
    upside.write_text("t_s,position_m\n" + rows)
    home = tmp_path / "h"
    rc, out, err = run(capsys, "import", csv_path, "--home", home, "--exercise", "squat")
    assert rc == 0, err
    rc, out, err = run(capsys, "import", upside, "--inverted", "--home", home, "--exercise", "squat")
    assert rc == 0 and "imported" in out and "--inverted" in out, err
    with Store.open(home) as s:
        right, fixed = s.sets()
        assert tuple(r.rep for r in s.reps(fixed.id)) == tuple(r.rep for r in s.reps(right.id))
        assert len(s.reps(fixed.id)) == len(sim.truth) and fixed.stop_rep == right.stop_rep
        assert np.array_equal(s.trace(fixed.id).position_m, rec.position_m)
    rc, out, _ = run(capsys, "import", upside, "--home", home, "--exercise", "squat")
    assert rc == 0 and "imported" in out  # as it is: another set (the wrong one, to delete)
