"""`vbt analyze`: the JSON contract, the table, and a clear line for every bad file."""

import json
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
    return subprocess.run([sys.executable, "-m", "gui.cli", *args], capture_output=True, text=True, timeout=120)


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
    ("a,b\n1,2\n", "csv", "needs columns t_s and position_m"),
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
    for args, needle in ((["--load-kg", "-5"], "load_kg"), (["--velocity-loss", "95"], "velocity_loss_pct")):
        out = vbt("analyze", str(path), *args)
        assert out.returncode == 2 and needle in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("sep", [";", "\t"])
def test_spreadsheet_csv_with_semicolons_or_tabs(squat_csv, tmp_path, sep):
    path, _ = squat_csv
    comma = json.loads(vbt("analyze", str(path), "--json").stdout)
    other = tmp_path / "sheet.csv"
    other.write_text(path.read_text().replace(",", sep))
    assert json.loads(vbt("analyze", str(other), "--json").stdout) == comma
