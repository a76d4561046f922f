"""`vbt analyze`: the JSON contract, the table, and a clear line for every bad file."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from vbt.io import write_chronojump, write_csv
from vbt.results import REP_JSON_FIELDS
from vbt.simulate import SensorSpec, simulate_set

REQUIRED = {"index", "concentric_start_s", "concentric_end_s", "mean_velocity_m_s", "mean_propulsive_velocity_m_s",
            "peak_velocity_m_s", "rom_m", "time_to_peak_velocity_s", "concentric_duration_s",
            "eccentric_duration_s", "velocity_loss_pct", "mean_power_w", "peak_power_w"}


def vbt(*args):
    return subprocess.run([sys.executable, "-m", "vbt_cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def squat_csv(tmp_path_factory):
    sim = simulate_set(21, style="squat", sensor=SensorSpec(rate_hz=500.0, quantum_m=0.0005), n_reps=6,
                       fatigue_per_rep=0.04)
    path = tmp_path_factory.mktemp("rec") / "squat.csv"
    write_csv(path, sim.t_s, sim.position_m)
    return path, sim


def test_json_has_exactly_the_contract(squat_csv):
    path, sim = squat_csv
    out = vbt("analyze", str(path), "--json", "--load-kg", "100")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # exactly one JSON object on stdout
    assert set(doc) == {"reps", "best_rep", "stop_rep", "velocity_loss_threshold_pct", "metric"}
    assert len(doc["reps"]) == len(sim.truth)
    assert [r["index"] for r in doc["reps"]] == list(range(1, len(sim.truth) + 1))
    for rep in doc["reps"]:
        assert REQUIRED <= set(rep) and set(rep) <= set(REP_JSON_FIELDS)
        assert rep["mean_power_w"] > 0
    assert doc["reps"][0]["eccentric_duration_s"] is not None  # squat: the first rep has a descent
    assert doc["stop_rep"] == sim.true_stop_rep(10.0, "mean")
    assert doc["velocity_loss_threshold_pct"] == 10.0 and doc["metric"] == "mean"


def test_without_load_power_is_null_and_metric_is_selectable(squat_csv):
    path, _ = squat_csv
    doc = json.loads(vbt("analyze", str(path), "--json", "--metric", "peak", "--velocity-loss", "20").stdout)
    assert doc["metric"] == "peak" and doc["velocity_loss_threshold_pct"] == 20.0
    assert all(r["mean_power_w"] is None and r["peak_power_w"] is None for r in doc["reps"])


def test_chronojump_raw_file(tmp_path):
    sim = simulate_set(8, style="deadlift", sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001), n_reps=4)
    counts = np.diff(np.round(sim.position_m * 1000).astype(int), prepend=int(round(sim.position_m[0] * 1000)))
    path = tmp_path / "raw.txt"
    write_chronojump(path, counts)
    doc = json.loads(vbt("analyze", str(path), "--format", "chronojump", "--json").stdout)
    assert len(doc["reps"]) == 4
    assert doc["reps"][0]["eccentric_duration_s"] is None  # a deadlift starts with the pull
    auto = json.loads(vbt("analyze", str(path), "--json").stdout)
    assert auto == doc


def test_readable_table(squat_csv):
    path, sim = squat_csv
    out = vbt("analyze", str(path))
    assert out.returncode == 0
    assert "MV m/s" in out.stdout and f"{len(sim.truth)} reps" in out.stdout


@pytest.mark.parametrize("content,fmt,needle", [
    (None, "auto", "no such file"),
    ("", "auto", "empty"),
    ("hello world\n1 2 3\n", "auto", "format not recognised"),
    ("t_s,position_m\n0.0,1.0\n0.1,oops\n", "auto", "line 3"),
    ("t_s,position_m\n0.0,1.0\n0.0,1.1\n", "csv", "time does not increase"),
    ("1, 2, 3, 500, 4", "chronojump", "80 mm"),
    ("t_s,position_m\n0.0,1.0\n0.1,1.0\n", "chronojump", "not a Chronojump raw signal"),
    ("a,b\n1,2\n", "csv", "no time and position columns (a header such as t_s,position_m"),
    (b"\x00\xff\xfe garbage", "auto", "binary"),
])
def test_bad_files_get_one_clear_line(tmp_path, content, fmt, needle):
    path = tmp_path / "rec.dat"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    out = vbt("analyze", str(path), "--format", fmt)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_impossible_settings_are_refused(squat_csv):
    path, _ = squat_csv
    for args, needle in ((["--load-kg", "-5"], "--load-kg: -5.0 kg"),
                         (["--velocity-loss", "95"], "--velocity-loss: the velocity-loss threshold 95"),
                         (["--min-rom", "0.01"], "--min-rom: 0.01 m is outside 0.02–2 m"),
                         (["--rate", "0"], "--rate: 0 Hz is not a sampling rate")):
        out = vbt("analyze", str(path), *args)
        assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # the setting given, nothing it implies


def test_every_min_rom_in_the_stated_range_is_accepted(squat_csv):
    path, _ = squat_csv
    for value in ("0.02", "0.025", "0.05", "2"):
        out = vbt("analyze", str(path), "--min-rom", value, "--json")
        assert out.returncode == 0, (value, out.stderr)


def test_zero_velocity_loss_is_one_error_about_that_option(squat_csv):
    path, _ = squat_csv
    out = vbt("analyze", str(path), "--velocity-loss", "0")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "vbt analyze: --velocity-loss: the velocity-loss threshold 0.0 % is outside 1–60 %"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_spreadsheet_csv_with_semicolons_or_tabs(squat_csv, tmp_path, sep):
    path, _ = squat_csv
    comma = json.loads(vbt("analyze", str(path), "--json").stdout)
    other = tmp_path / "sheet.csv"
    other.write_text(path.read_text().replace(",", sep))
    assert json.loads(vbt("analyze", str(other), "--json").stdout) == comma


def test_one_file_on_several_cores_reads_as_on_one(squat_csv):
    """One file's reps are analysed on a thread per core (`--jobs`): the same table and JSON."""
    path, _ = squat_csv
    for fmt in (["--json"], []):
        one = vbt("analyze", str(path), *fmt, "--jobs", "1")
        two = vbt("analyze", str(path), *fmt, "--jobs", "2")
        assert one.returncode == two.returncode == 0
        assert one.stdout == two.stdout and one.stdout


def _chronojump_set(path, seed):
    sim = simulate_set(seed, sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001), n_reps=3)
    mm = np.round(sim.position_m * 1000).astype(int)
    write_chronojump(path, np.diff(mm, prepend=mm[0]))


def test_a_folder_gives_one_json_line_per_file_in_order_on_several_cores(tmp_path):
    folder = tmp_path / "sets"
    folder.mkdir()
    for i in range(5):
        _chronojump_set(folder / f"set{i}.txt", 300 + i)
    (folder / "set2b.txt").write_text("not, a, signal")  # sorts between set2 and set3
    (folder / ".hidden").write_text("ignored")
    one = vbt("analyze", str(folder), "--json", "--jobs", "1")
    two = vbt("analyze", str(folder), "--json", "--jobs", "2")
    assert one.returncode == two.returncode == 1  # one file is bad
    assert one.stdout == two.stdout
    docs = [json.loads(line) for line in two.stdout.splitlines()]
    names = [d["path"].rsplit("/", 1)[1] for d in docs]
    assert names == ["set0.txt", "set1.txt", "set2.txt", "set3.txt", "set4.txt"]
    assert two.stderr.strip().splitlines() == [
        f"vbt analyze: {folder / 'set2b.txt'}: format not recognised: not a Chronojump raw signal, and as a CSV: "
        "no time and position columns (a header such as t_s,position_m or time_ms,position_mm; found: not,a,signal)"]
    alone = json.loads(vbt("analyze", str(folder / "set3.txt"), "--json").stdout)
    assert {k: v for k, v in docs[3].items() if k != "path"} == alone


def test_several_files_as_tables_with_a_progress_bar_when_asked(tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"s{i}.txt")
        _chronojump_set(paths[-1], 400 + i)
    out = vbt("analyze", *map(str, paths), "--progress")
    assert out.returncode == 0, out.stderr
    assert [line.split(":")[0] for line in out.stdout.splitlines() if line.startswith(str(tmp_path))] == \
        [str(p) for p in paths]
    assert "analysed 3/3 files" in out.stderr
    quiet = vbt("analyze", *map(str, paths))  # stderr is a pipe: no bar
    assert quiet.stdout == out.stdout and quiet.stderr == ""


def test_a_bad_chronojump_file_names_the_line(tmp_path):
    path = tmp_path / "raw.txt"
    path.write_text("1, 2, 3,\n4, 5, 6,\n7, x8, 9\n")
    out = vbt("analyze", str(path), "--format", "chronojump")
    assert out.returncode == 1
    assert out.stderr.strip() == f"vbt analyze: {path}: not a Chronojump raw signal (line 3): expected signed " \
                                 "integers separated by commas or spaces"


def test_help_and_analyze_import_only_what_they_need(squat_csv):
    path, _ = squat_csv
    code = ("import sys, contextlib, io\nfrom vbt_cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(sys.argv[1:])\n    except SystemExit:\n        pass\n"
            "names = ('numpy', 'numba', 'serial', 'PySide6', 'scipy.linalg', 'sqlite3')\n"
            "print(sorted(m for m in names if m in sys.modules))")
    helped = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.stdout.strip() == "[]", helped.stderr
    analysed = subprocess.run([sys.executable, "-c", code, "analyze", str(path)], capture_output=True, text=True,
                              timeout=120)
    assert analysed.stdout.strip() == "['numba', 'numpy']", analysed.stderr


@pytest.mark.slow
def test_first_compile_in_two_halves_leaves_nothing_to_compile(tmp_path):
    """The two halves a first run compiles at once (vbt.compile_cache) call every kernel with the
    argument types the analysis uses: after the helper's half, this process's half compiles only
    the end fits and the rep analysis (nothing the helper did), and then analysing both formats
    compiles nothing more."""
    import os

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    helper = subprocess.run([sys.executable, "-c", "from vbt.compile_cache import compile_rest; compile_rest()"],
                            capture_output=True, text=True, timeout=900, env=env)
    assert helper.returncode == 0, helper.stderr
    code = (
        "from numba.core import event as ev\n"
        "names = []\n"
        "class L(ev.Listener):\n"
        "    def on_start(self, e): pass\n"
        "    def on_end(self, e):\n"
        "        d = e.data['dispatcher']\n"
        "        if d.py_func.__module__.startswith('vbt'): names.append(d.py_func.__name__)\n"
        "ev.register('numba:compile', L())\n"
        "from vbt.compile_cache import compile_fits\n"
        "compile_fits()\n"
        "print(sorted(set(names)))\n"
        "names.clear()\n"
        "from vbt_cli.analyze import _warm_up\n"
        "_warm_up()\n"
        "print(sorted(set(names)))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, env=env)
    assert run.returncode == 0, run.stderr
    mine, after = (eval(line) for line in run.stdout.strip().splitlines())
    assert "_fit_end" in mine and "analyze_rep" in mine
    helpers_half = {"filtfilt", "median_of", "_window_below", "beta_from_shape", "fit_phase_lm", "ends_consistent",
                    "final_rise_start", "_descent", "_fit_then_refit", "resample_stream", "detect_stream",
                    "ballistic_from", "curvature", "takeoff_fit"}
    assert not helpers_half & set(mine), mine
    assert after == [], after


def test_rep_times_are_on_the_recordings_own_clock(squat_csv, tmp_path):
    """A recording whose clock starts at 12.5 s (a cut from a longer one, a logger's time): rep times are
    read on that clock, as its time column says, and nothing else moves."""
    path, _ = squat_csv
    lines = path.read_text().splitlines()
    shifted = tmp_path / "later.csv"
    shifted.write_text("\n".join([lines[0]] + [f"{float(a) + 12.5:.6f},{b}" for a, b in
                                               (row.split(",") for row in lines[1:])]) + "\n")
    base = json.loads(vbt("analyze", str(path), "--json").stdout)
    # The shifted clock's times differ from the originals by ~1e-15 s after the analysis takes the
    # first one off: enough to tip an end fit's choice of exponent on a near tie (README, continuity),
    # 0.3 ms and 0.06 % on this set; hence 1 ms and 0.2 %, not equality.
    later = json.loads(vbt("analyze", str(shifted), "--json").stdout)
    assert len(later["reps"]) == len(base["reps"]) > 0
    for a, b in zip(base["reps"], later["reps"]):
        assert b["concentric_start_s"] == pytest.approx(a["concentric_start_s"] + 12.5, abs=1e-3)
        assert b["concentric_end_s"] == pytest.approx(a["concentric_end_s"] + 12.5, abs=1e-3)
        assert b["mean_velocity_m_s"] == pytest.approx(a["mean_velocity_m_s"], rel=2e-3)


def test_glitched_samples_in_a_csv_are_said_and_leave_the_reps_as_they_were(squat_csv, tmp_path):
    """Single readings 6-30 mm off (a bad cell, a sensor's glitch), inside the reps' rises too, and
    two pairs of readings off together."""
    path, sim = squat_csv
    clean = json.loads(vbt("analyze", str(path), "--json").stdout)
    x = sim.position_m.copy()
    rng = np.random.default_rng(5)
    for tr in sim.truth:  # one in the middle of each rise, then a few anywhere
        mid = int(np.searchsorted(sim.t_s, 0.5 * (tr.concentric_start_s + tr.concentric_end_s)))
        x[mid] += rng.choice([-1.0, 1.0]) * rng.uniform(0.006, 0.03)
    for j in rng.integers(1, x.size - 1, 4):
        x[j] += rng.choice([-1.0, 1.0]) * rng.uniform(0.006, 0.03)
    for tr in sim.truth[:2]:  # a pair a quarter into each of the first two rises
        q = int(np.searchsorted(sim.t_s, 0.75 * tr.concentric_start_s + 0.25 * tr.concentric_end_s))
        x[q:q + 2] -= rng.uniform(0.006, 0.03, 2)
    bad = tmp_path / "glitched.csv"
    write_csv(bad, sim.t_s, x)
    doc = json.loads(vbt("analyze", str(bad), "--json").stdout)
    (note,) = doc["reading_notes"]
    assert re.match(rf"{len(sim.truth) + 8} samples \d+-\d+ mm off the line", note) and "glitch" in note
    assert len(doc["reps"]) == len(clean["reps"]) and doc["stop_rep"] == clean["stop_rep"]
    for got, want in zip(doc["reps"], clean["reps"]):
        assert abs(got["mean_velocity_m_s"] - want["mean_velocity_m_s"]) < 0.002
        assert abs(got["peak_velocity_m_s"] - want["peak_velocity_m_s"]) < 0.01
        assert got["quality"] == want["quality"]
    table = vbt("analyze", str(bad)).stdout
    assert "glitch" in table


def test_a_recording_cut_mid_line_keeps_its_reps_and_says_so(squat_csv, tmp_path):
    """A logger killed, or a file copied while it was being written, ends mid-line: the whole set was
    refused ("line N is not two numbers"); now the cut line is left out and the note names it."""
    path, _ = squat_csv
    clean = json.loads(vbt("analyze", str(path), "--json").stdout)
    text = path.read_text()
    cut = tmp_path / "cut.csv"
    cut.write_text(text + text.splitlines()[-1].split(",")[0][:-2])  # a time cell, cut, no newline
    doc = json.loads(vbt("analyze", str(cut), "--json").stdout)
    assert doc["reps"] == clean["reps"] and doc["stop_rep"] == clean["stop_rep"]
    (note,) = doc["reading_notes"]
    assert note == f"the last line ({len(text.splitlines()) + 1}) was cut short and is left out"
    assert "cut short" in vbt("analyze", str(cut)).stdout


def test_a_hole_in_the_samples_marks_its_rep_and_a_still_one_does_not(squat_csv, tmp_path):
    """Rows a logger lost mid-rep were bridged with a straight line and the rep counted as sound (its
    peak could fall in the hole, and it could be the set's best); now it is "check rep N", with how
    long the samples were missing. A hole while the bar stands still, or an encoder that writes a row
    only when its count changes, marks nothing."""
    path, sim = squat_csv
    clean = json.loads(vbt("analyze", str(path), "--json").stdout)
    assert clean["best_rep"] == 1 and all(r["quality"] == "ok" for r in clean["reps"])
    t, x = sim.t_s, sim.position_m
    first = sim.truth[0]
    mid = 0.5 * (first.concentric_start_s + first.concentric_end_s)
    lost = (t > mid - 0.08) & (t < mid + 0.08)
    holed = tmp_path / "holed.csv"
    write_csv(holed, t[~lost], x[~lost])
    doc = json.loads(vbt("analyze", str(holed), "--json").stdout)
    assert len(doc["reps"]) == len(clean["reps"])
    gap_ms = 1e3 * (t[np.flatnonzero(lost)[-1] + 1] - t[np.flatnonzero(lost)[0] - 1])
    assert doc["reps"][0]["quality"] == f"samples missing for {gap_ms:.0f} ms during the rep"
    assert all(r["quality"] == "ok" for r in doc["reps"][1:])
    assert doc["best_rep"] == 2  # a doubtful rep is never the best
    assert "check rep 1: samples missing for" in vbt("analyze", str(holed)).stdout

    n = int(0.3 * 500)  # 0.3 s of rows, where the bar stands still
    i = next(i for i in range(10, t.size - n, 10) if np.ptp(x[i - 5:i + n + 5]) <= 0.0005)
    calm = tmp_path / "calm.csv"
    keep = np.ones(t.size, bool)
    keep[i:i + n] = False
    write_csv(calm, t[keep], x[keep])
    assert json.loads(vbt("analyze", str(calm), "--json").stdout)["reps"] == clean["reps"]

    ticks = tmp_path / "ticks.csv"  # a row only when the count changes
    moved = np.concatenate(([True], np.diff(x) != 0))
    write_csv(ticks, t[moved], x[moved])
    assert all(r["quality"] == "ok" for r in json.loads(vbt("analyze", str(ticks), "--json").stdout)["reps"])


@pytest.mark.parametrize("logger_hz,said", [
    (1000.0, "positions change on only one sample in every 10.3 ("),
    (132.0, "positions change once every 1.36 samples, on the sensor's own clock ("),
])
def test_a_sensor_on_its_own_clock_is_said_and_read_at_its_own_times(squat_csv, tmp_path, logger_hz, said):
    """A 97 Hz sensor written at 1 kHz (its updates drift across the logger's samples) or at 132 Hz (under
    two samples per update: a reading held now and then while the bar moves fast): said, and read as the
    sensor's own stream."""
    _, sim = squat_csv
    t = np.arange(0.0, sim.t_s[-1], 1.0 / logger_hz)
    u = np.arange(0.0, t[-1], 0.0103)
    reading = np.round(np.interp(u, sim.t_s, sim.position_m) / 0.0005) * 0.0005
    held, own = tmp_path / "held.csv", tmp_path / "own.csv"
    write_csv(held, t, reading[np.searchsorted(u, t + 1e-12, side="right") - 1])
    write_csv(own, u, reading)
    doc = json.loads(vbt("analyze", str(held), "--json").stdout)
    (note,) = doc["reading_notes"]
    assert note.startswith(said) and note.endswith("97 Hz")
    want = json.loads(vbt("analyze", str(own), "--json").stdout)
    assert len(doc["reps"]) == len(want["reps"]) > 0 and doc["stop_rep"] == want["stop_rep"]
    for got, ref in zip(doc["reps"], want["reps"]):
        assert got["mean_velocity_m_s"] == pytest.approx(ref["mean_velocity_m_s"], rel=0.01)
        if logger_hz < 200.0:  # (the kink a held reading made is what the peak velocity saw)
            assert got["peak_velocity_m_s"] == pytest.approx(ref["peak_velocity_m_s"], rel=0.02)


def test_a_slow_sensor_logged_fast_is_said_and_read_at_its_own_rate(squat_csv, tmp_path):
    """A 100 Hz sensor's readings written at 1 kHz (each repeated ten times) read as the 100 Hz file."""
    _, sim = squat_csv
    t = np.arange(0.0, sim.t_s[-1], 0.001)
    x = np.interp(t, sim.t_s, sim.position_m)
    x = np.round(x[(np.arange(t.size) // 10) * 10] / 0.0005) * 0.0005
    held, own = tmp_path / "held.csv", tmp_path / "own.csv"
    write_csv(held, t, x)
    write_csv(own, t[::10], x[::10])
    doc = json.loads(vbt("analyze", str(held), "--json").stdout)
    (note,) = doc["reading_notes"]
    assert note.startswith("positions change on only one sample in every 10 (") and note.endswith("100 Hz")
    want = json.loads(vbt("analyze", str(own), "--json").stdout)
    assert doc["reps"] == want["reps"] and doc["stop_rep"] == want["stop_rep"] == sim.true_stop_rep(10.0, "mean")


def test_a_recording_made_upside_down_reads_right_side_up_with_inverted(tmp_path):
    """A transducer mounted upside down (or wired the other way) records every rise as a descent:
    read as it is, the descents become the reps (slower, and here a false STOP at rep 3). Nothing in
    a raw file says how it was mounted; --inverted says it, and gives the reps of the real set."""
    from pathlib import Path

    real = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "chronojump_three_fast_reps_apex.txt"
    upside = tmp_path / "upside_down.txt"
    upside.write_text(re.sub(r"-?\d+", lambda m: str(-int(m.group())), real.read_text()))
    right = json.loads(vbt("analyze", str(real), "--json").stdout)
    as_is = vbt("analyze", str(upside), "--json")
    fixed = vbt("analyze", str(upside), "--json", "--inverted")
    assert as_is.returncode == 0 and fixed.returncode == 0, fixed.stderr
    as_is, fixed = json.loads(as_is.stdout), json.loads(fixed.stdout)
    assert [r["mean_velocity_m_s"] for r in as_is["reps"]] != pytest.approx(
        [r["mean_velocity_m_s"] for r in right["reps"]], abs=0.05)  # the descents, not the reps
    assert fixed["reading_notes"] == ["positions negated (--inverted: transducer mounted upside down)"]
    assert fixed["reps"] == right["reps"] and fixed["stop_rep"] is right["stop_rep"] is None
    table = vbt("analyze", str(upside), "--inverted")
    assert table.returncode == 0 and "3 reps" in table.stdout and "STOP" not in table.stdout
    assert "note: positions negated" in table.stdout
