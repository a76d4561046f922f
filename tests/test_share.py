"""`vbt share`: a set or a session as one 1080-px PNG, from a real SQLite history, run as a user runs it
with no display (subprocess, DISPLAY unset). The image is read back and its colours checked: the
verdicts it must show are there, the ones it must not are not. VBT_SHOTS=DIR keeps the images
(docs/ holds the ones we looked at)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from tests.conftest import db_dump
from vbt.dayrule import DayRule
from vbt.results import Rep
from vbt.store import Store
from vbt.tempo import Tempo, summarise

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHOTS = os.environ.get("VBT_SHOTS")
T0 = 1.76e9


def _rep(i, v, ecc):
    return Rep(index=i, concentric_start_s=4.0 * i, concentric_end_s=4.0 * i + 0.5, mean_velocity_m_s=v,
               mean_propulsive_velocity_m_s=v, peak_velocity_m_s=v * 1.5, rom_m=0.22, time_to_peak_velocity_s=0.2,
               concentric_duration_s=0.22 / v, eccentric_duration_s=ecc, bottom_pause_s=1.0)


@pytest.fixture
def home(tmp_path):
    """Two hip-thrust sets at 100 kg with a 3:1 tempo: the first sets the day's best and keeps every
    rep's tempo; the second loses 11 % (STOP at rep 5), is 88 % of the day's best (done for today), and
    its rep 2 came down in 2 s."""
    first = [_rep(1, 0.71, 3.1), _rep(2, 0.72, 3.0), _rep(3, 0.70, 2.9), _rep(4, 0.68, 3.2), _rep(5, 0.66, 3.0)]
    second = [_rep(1, 0.62, 3.1), _rep(2, 0.63, 2.0), _rep(3, 0.61, 3.0), _rep(4, 0.58, 3.1), _rep(5, 0.56, 2.9)]
    with Store.open(tmp_path / "home") as store:
        a = store.add_set(first, exercise="barbell hip thrust", athlete="Maya", load_kg=100.0, started_at_unix_s=T0,
                          rpe=6, note="smooth, good lockout")
        b = store.add_set(second, exercise="barbell hip thrust", athlete="Maya", load_kg=100.0,
                          started_at_unix_s=T0 + 300, rpe=8, note="felt heavy, left glute tight")
        rule, tempo = DayRule(), Tempo(3.0, 1.0, 0.5)
        store.set_method(a, day=rule.add_set(first, 100.0), tempo=summarise(first, tempo))
        store.set_method(b, day=rule.add_set(second, 100.0), tempo=summarise(second, tempo))
        assert (a, b) == (1, 2) and store.get_set(b).session_id == 1
    return tmp_path / "home"


def _share(home, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(VBT_HOME=str(home), PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vbt_cli", "share", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def _colours(path):
    """How many pixels of each theme colour the image holds (exact matches), and its size."""
    from PySide6.QtGui import QImage

    from gui import theme

    image = QImage(str(path))
    assert not image.isNull()
    wanted = {name: QImage(1, 1, QImage.Format_RGB32) for name in ("STOP", "DAY", "TEMPO", "GOOD", "WARNING")}
    counts = dict.fromkeys(wanted, 0)
    rgb = {name: int(getattr(theme, name).lstrip("#"), 16) for name in wanted}
    step = 3
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            px = image.pixel(x, y) & 0xFFFFFF
            for name, value in rgb.items():
                if px == value:
                    counts[name] += 1
    return image.width(), image.height(), counts


def test_share_a_set_without_a_display(home, tmp_path):
    shots = pathlib.Path(SHOTS) if SHOTS else tmp_path
    out = shots / "share-set.png"
    res = _share(home, "2", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"wrote {out}: set 2, 1080 x ") and res.stderr == ""
    width, height, counts = _colours(out)
    assert width == 1080 and 1350 <= height <= 1700
    # STOP pill and the red bar, the violet done-for-today pill and line, the magenta tempo mark
    assert counts["STOP"] > 2000 and counts["DAY"] > 300 and counts["TEMPO"] > 300
    assert counts["GOOD"] > 5000 and counts["WARNING"] > 1000  # green bars, rep 4 in the warning band

    first = tmp_path / "first.png"
    assert _share(home, "set:1", "--out", str(first)).returncode == 0
    _, _, calm = _colours(first)
    # no stop, not done for today, every rep kept its tempo: none of those colours
    assert calm["DAY"] == 0 and calm["TEMPO"] == 0 and calm["GOOD"] > 5000
    assert calm["STOP"] < 800  # only the dashed stop line and its label (a STOP set: 2,600)


def test_share_a_session(home, tmp_path):
    shots = pathlib.Path(SHOTS) if SHOTS else tmp_path
    out = shots / "share-session.png"
    res = _share(home, "session:1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "session 1 (2 sets)" in res.stdout
    width, height, counts = _colours(out)
    assert width == 1080 and counts["STOP"] > 1000 and counts["DAY"] > 300


@pytest.mark.parametrize("args, words", [
    (["999"], "no set 999 in the history"),
    (["session:42"], "no session 42 in the history"),
    (["abc"], "'abc' is not a whole number"),
    (["lunch:2"], "name a set (12 or set:12) or a session (session:3)"),
    (["2", "--out-as", "jpg"], None),  # argparse: usage error, exit 2
])
def test_share_bad_input_is_one_line(home, tmp_path, args, words):
    out = tmp_path / "x.png"
    before = db_dump(home / "history.sqlite3")
    extra = [] if "--out-as" in args else ["--out", str(out)]
    res = _share(home, *args, *extra)
    if words is None:
        assert res.returncode == 2 and "usage:" in res.stderr
    else:
        assert res.returncode == 1 and res.stdout == "" and res.stderr.count("\n") == 1, res.stderr
        assert res.stderr.startswith("vbt share: ") and words in res.stderr
    assert not out.exists() and db_dump(home / "history.sqlite3") == before


def test_share_bad_out_is_one_line(home, tmp_path):
    for out, words in ((tmp_path / "x.jpg", "name the file *.png"), (tmp_path / "nope" / "x.png", "no directory")):
        res = _share(home, "2", "--out", str(out))
        assert res.returncode == 1 and res.stderr.count("\n") == 1 and words in res.stderr, res.stderr
        assert not out.exists()


def test_shared_second_side_carries_the_gap(tmp_path):
    """From the history: the right side's set after the left one says how far apart they were."""
    from vbt.share import share_sets

    with Store.open(tmp_path) as store:
        left = store.add_set([_rep(1, 0.70, None)], exercise="single-leg RDL", athlete="ana", load_kg=60.0,
                             side="left", started_at_unix_s=T0)
        right = store.add_set([_rep(1, 0.63, None)], exercise="single-leg RDL", athlete="ana", load_kg=60.0,
                              side="right", started_at_unix_s=T0 + 200)
        (first,) = share_sets(store, "set", left)
        (second,) = share_sets(store, "set", right)
        session = share_sets(store, "session", store.get_set(left).session_id)
    assert first.side_line is None and first.set_number == 1
    assert second.set_number == 2
    assert second.side_line == "left 0.70 · right 0.63 m/s at 60 kg: right 10.0 % slower (same load)"
    assert [s.side_line for s in session] == [None, second.side_line]
