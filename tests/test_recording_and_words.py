"""`vbt live` records by default and says so; the sets are named afterwards with `vbt set`; and the
messages a person reads use their words (no internal names, no files they do not have)."""

import json
import os
import pathlib
import subprocess
import sys
from datetime import datetime


from firmware_bridge.emulator import Emulator
from tests.test_history_cli import T0, assert_one_line_error, rep, run
from tests.conftest import one_set
from vbt.store import Store, database_path

ROOT = pathlib.Path(__file__).resolve().parents[1]


def vbt(tmp_path, *args, timeout=120):
    env = dict(os.environ, VBT_HOME=str(tmp_path / "home"), VBT_EMULATOR_DIR=str(tmp_path / "emu"))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "vbt_cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def short_set(velocities=(0.8, 0.7), rom_m=0.45):
    return one_set(velocities, rom_m)


def test_live_records_by_default_as_unspecified_and_says_so_first(tmp_path):
    with Emulator("chronojump", script=short_set(), link_dir=str(tmp_path / "emu")) as emu:
        live = vbt(tmp_path, "live", "--port", emu.port, "--protocol", "chronojump", "--max-sets", "1", timeout=90)
    assert live.returncode == 0, live.stderr
    first = live.stderr.splitlines()[0]
    path = database_path(tmp_path / "home")
    assert first.startswith(f"recording sets into {path} as exercise 'unspecified'"), first
    assert "vbt set last --exercise NAME" in first and "--no-record" in first
    history = json.loads(vbt(tmp_path, "history", "--json").stdout)
    (the_set,) = [s for session in history["sessions"] for s in session["sets"]]
    assert the_set["exercise"] == "unspecified" and len(the_set["reps"]) == 2
    profile = vbt(tmp_path, "profile", "unspecified")
    assert profile.returncode == 1 and "name their exercise first" in profile.stderr
    named = vbt(tmp_path, "set", "last", "--exercise", "squat", "--load-kg", "100")
    assert named.returncode == 0 and named.stdout.startswith("changed set "), named.stderr
    history = json.loads(vbt(tmp_path, "history", "--json").stdout)
    (the_set,) = [s for session in history["sessions"] for s in session["sets"]]
    assert the_set["exercise"] == "squat" and the_set["load_kg"] == 100


def test_no_record_says_so_and_keeps_nothing(tmp_path):
    live = vbt(tmp_path, "live", "--demo", "--no-record", "--duration", "2")
    assert live.returncode == 0, live.stderr
    assert live.stderr.splitlines()[0].startswith("not recording (--no-record)")
    assert not database_path(tmp_path / "home").exists()


def test_demo_records_the_same_way(tmp_path):
    live = vbt(tmp_path, "live", "--demo", "--exercise", "squat", "--duration", "2")
    assert live.returncode == 0, live.stderr
    assert live.stderr.splitlines()[0].startswith("recording demo sets of squat into")


def test_set_command_refuses_what_it_cannot_do(tmp_path, capsys):
    home = tmp_path / "h"
    rc, out, err = run(capsys, "set", "last", "--exercise", "squat", "--home", home)
    assert_one_line_error(rc, err, "no sets in the history yet")
    with Store.open(home) as s:
        set_id = s.add_set([rep(1, 0.8)], exercise="unspecified")
    rc, out, err = run(capsys, "set", set_id, "--home", home)
    assert_one_line_error(rc, err, "say what to change")
    rc, out, err = run(capsys, "set", set_id, "--exercise", "curl", "--home", home)
    assert_one_line_error(rc, err, "curl")
    rc, out, err = run(capsys, "set", "first", "--rpe", "8", "--home", home)
    assert_one_line_error(rc, err, "not a set id")
    rc, out, err = run(capsys, "set", set_id, "--rpe", "8", "--note", "easy", "--home", home)
    assert rc == 0 and "RPE 8" in out and "easy" in out


def test_adding_an_existing_exercise_points_to_the_command_that_changes_it(tmp_path, capsys):
    rc, out, err = run(capsys, "exercises", "--home", tmp_path / "h", "--add", "squat", "--mvt", "0.3")
    assert_one_line_error(rc, err, "vbt exercises --change squat --mvt")
    rc, out, err = run(capsys, "exercises", "--home", tmp_path / "h", "--add", "Bench-Press", "--mvt", "0.3")
    assert_one_line_error(rc, err, 'vbt exercises --change "bench press" --mvt')


def test_no_message_names_a_file_the_user_does_not_have(tmp_path, capsys):
    home = tmp_path / "h"
    with Store.open(home) as s:
        for k, (load, v) in enumerate(((40, 1.16), (60, 0.83), (80, 0.50))):
            s.add_set([rep(1, v)], exercise="front squat", load_kg=load, started_at_unix_s=T0 + k * 86400 * 3)
    outputs = [run(capsys, *cmd, "--home", home) for cmd in (("exercises",), ("profile", "front squat"),
                                                             ("profile", "front squat", "--json"))]
    for rc, out, err in outputs:
        assert rc == 0, err
        assert ".md" not in out + err and ".py" not in out + err
    _, out, _ = outputs[0]
    assert "(published study)" in out and "(own estimate)" in out


def test_profile_note_gives_the_dates_of_the_sets_used(tmp_path, capsys):
    home = tmp_path / "h"
    days = (0, 10, 20)
    with Store.open(home) as s:
        for k, (load, v) in enumerate(((40, 1.16), (60, 0.83), (80, 0.50))):
            s.add_set([rep(1, v)], exercise="bench", load_kg=load, started_at_unix_s=T0 + days[k] * 86400)
    rc, out, err = run(capsys, "profile", "bench", "--home", home, "--json")
    assert rc == 0, err
    first, last = (datetime.fromtimestamp(T0 + d * 86400).strftime("%Y-%m-%d") for d in (days[0], days[-1]))
    assert f"3 sets with a load, {first} to {last}" in json.loads(out)["notes"]


def test_import_error_names_the_column_that_is_wrong(tmp_path, capsys):
    home, out_dir = tmp_path / "h", tmp_path / "export"
    with Store.open(home) as s:
        s.add_set([rep(1, 0.8)], exercise="bench", load_kg=60)
    rc, _, err = run(capsys, "export", "--home", home, "--csv", out_dir)
    assert rc == 0, err
    sets_csv = out_dir / "sets.csv"
    lines = sets_csv.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("load_kg")] = "-5"
    sets_csv.write_text("\n".join([lines[0], ",".join(cells)]) + "\n", encoding="utf-8-sig")
    rc, _, err = run(capsys, "import", out_dir, "--home", tmp_path / "other")
    assert_one_line_error(rc, err, "line 2, column load_kg: -5.0 kg is impossible")


def test_import_options_are_named_as_typed(tmp_path, capsys):
    rec = tmp_path / "rec.csv"
    rec.write_text("t_s,position_m\n0,0\n0.1,0.1\n")
    rc, _, err = run(capsys, "import", rec, "--home", tmp_path / "h", "--exercise", "squat", "--load-kg", "-5",
                     "--threshold-pct", "0")
    assert_one_line_error(rc, err, "--load-kg: -5.0 kg is impossible")
    assert "--threshold-pct: the velocity-loss threshold 0.0 %" in err and "load_kg" not in err
