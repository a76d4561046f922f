"""Sides (vbt.sides) and retests (vbt.retest): known-answer sessions from the motion model, measured by
the real analysis, stored in a real SQLite file and read back by `vbt sides` / `vbt retest` as a user
runs them (subprocess). The seed's exercises in the catalogue."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from dataclasses import replace

import pytest

from tests.conftest import db_dump
from vbt.analysis import analyze
from vbt.exercises import BUILTIN_EXERCISES, find_exercise
from vbt.profile import fit_profile
from vbt.retest import SMALLEST_CHANGE_M_S, RetestError, due_retests, retest
from vbt.sides import SideSet, compare_sides, side_report, side_trend
from vbt.simulate import SensorSpec, simulate_set
from vbt.store import Store

ROOT = pathlib.Path(__file__).resolve().parents[1]
DAY = 86400.0
T0 = 1.75e9  # 2025-06-15, a fixed day in the past


# The DIY transducer's resolution (0.1 mm) at 1 kHz; the analysis measures a set's best within
# 0.02 m/s of the truth there (its own accuracy is issue 9's; these tests are about the comparisons).
SENSOR = SensorSpec(quantum_m=0.0001)
MEASURED_M_S = 0.02


def _measured_set(seed, v, style="deadlift", n_reps=4):
    """A set from the motion model whose first (fastest) rep has true mean velocity ``v``: the measured
    reps and the true best."""
    sim = simulate_set(seed, style=style, sensor=SENSOR, n_reps=n_reps, first_mean_velocity_m_s=v,
                       fatigue_per_rep=0.02, partial_rep_after=None, rom_m=0.40)
    reps = analyze(sim.t_s, sim.position_m).reps
    assert len(reps) == n_reps
    return reps, max(r.mean_velocity_m_s for r in sim.truth)


def _left(load):
    """The left side's true line: v = 1.30 - 0.010 load (50 kg 0.80, 60 kg 0.70, 65 kg 0.65 m/s)."""
    return 1.30 - 0.010 * load


# Sessions of single-leg RDLs: (day, [(side, load, gap of the right side in % of the left)]).
# The right side is slower by 12 %, then 7 %, then 2 % (closing); the last session's loads differ.
# The model spreads each set's true best by a few % (its ROM varies ±3 %), so the known answer is the
# truth of the sets it drew, put through the definition, not the plan.
SIDES_PLAN = [
    (0, [("left", 50.0, 12.0), ("right", 50.0, 12.0), ("left", 60.0, 12.0), ("right", 60.0, 12.0)]),
    (7, [("left", 50.0, 7.0), ("right", 50.0, 7.0), ("left", 60.0, 7.0), ("right", 60.0, 7.0)]),
    (14, [("left", 50.0, 2.0), ("right", 50.0, 2.0), ("left", 60.0, 2.0), ("right", 60.0, 2.0)]),
    (21, [("left", 60.0, 2.0), ("right", 65.0, 2.0)]),
]


@pytest.fixture(scope="module")
def sides_home(tmp_path_factory):
    """A history with the sessions of SIDES_PLAN and the true best of each set."""
    home = tmp_path_factory.mktemp("sides")
    truth = []
    with Store.open(home) as store:
        seed = 300
        for day, sets in SIDES_PLAN:
            bests = []
            for k, (side, load, gap) in enumerate(sets):
                v = _left(load) * (1 - gap / 100.0 if side == "right" else 1.0)
                reps, true_best = _measured_set(seed, v)
                seed += 1
                store.add_set(reps, exercise="single-leg RDL", athlete="ana", load_kg=load, side=side,
                              started_at_unix_s=T0 + day * DAY + 300.0 * k)
                bests.append(SideSet(side, load, float(true_best)))
            truth.append(bests)
    return home, truth


def _true_gaps(truth):
    """Each session's comparison from the true bests; a side's profile from its true points so far."""
    out = []
    for n, bests in enumerate(truth):
        profiles = []
        for side in ("left", "right"):
            points = [(s.load_kg, s.best_m_s) for sets in truth[: n + 1] for s in sets if s.side == side]
            profiles.append(fit_profile([p[0] for p in points], [p[1] for p in points], 0.2))
        out.append(replace(compare_sides(bests, *profiles), started_at_unix_s=T0 + SIDES_PLAN[n][0] * DAY))
    return out


def test_side_gap_known_answers(sides_home):
    home, truth = sides_home
    with Store.open(home) as store:
        report = side_report(store, "ana", "single-leg Romanian deadlift")
    assert report.exercise == "single-leg Romanian deadlift" and report.notes == ()
    expected = _true_gaps(truth)
    assert [g.basis for g in report.sessions] == [g.basis for g in expected] == \
        ["same_load", "same_load", "same_load", "profile"]
    for got, want in zip(report.sessions, expected):
        assert got.load_kg == want.load_kg and (got.left_load_kg, got.right_load_kg) == \
            (want.left_load_kg, want.right_load_kg)
        assert got.left_m_s == pytest.approx(want.left_m_s, abs=MEASURED_M_S)
        assert got.right_m_s == pytest.approx(want.right_m_s, abs=MEASURED_M_S)
        assert got.left_minus_right_pct == pytest.approx(want.left_minus_right_pct, abs=2.5)
        if want.gap_pct > 5.0:
            assert got.slower_side == want.slower_side == "right"
    assert [g.load_kg for g in report.sessions] == [60.0, 60.0, 60.0, 62.5]  # the heaviest both lifted; the mean
    assert "own profile" in report.sessions[3].reason
    t, true_t = report.trend, side_trend(expected)
    assert t.n_sessions == 4 and true_t.first_gap_pct > 8.0 and true_t.last_gap_pct < 6.0
    assert t.first_gap_pct > t.last_gap_pct and "closing" in t.line()
    assert t.change_pct_per_week == pytest.approx(true_t.change_pct_per_week, abs=1.2)
    assert t.change_pct_per_week < -0.8


def test_compare_sides_by_hand():
    same = compare_sides([SideSet("left", 60.0, 0.70), SideSet("right", 61.0, 0.63), SideSet("left", 40.0, 0.95)])
    assert same.basis == "same_load" and same.load_kg == 60.0 and same.gap_pct == pytest.approx(10.0)
    assert same.line() == "left 0.70 · right 0.63 m/s at 60 kg: right 10.0 % slower (same load)"
    # 62 kg is more than 2.5 % from 60 kg: another load, and without profiles no comparison
    none = compare_sides([SideSet("left", 60.0, 0.70), SideSet("right", 62.0, 0.63)])
    assert none.basis == "none" and not none.compared
    assert none.reason == ("the loads differ (left 60 kg, right 62 kg) and neither side has a load-velocity "
                           "profile: lift the same load on both sides to compare")
    lp = fit_profile([50.0, 60.0, 70.0], [0.80, 0.70, 0.60], 0.2)
    rp = fit_profile([50.0, 60.0, 70.0], [0.72, 0.63, 0.54], 0.2)
    prof = compare_sides([SideSet("left", 60.0, 0.70), SideSet("right", 70.0, 0.54)], lp, rp)
    assert prof.basis == "profile" and prof.load_kg == 65.0
    assert prof.left_m_s == pytest.approx(0.65) and prof.right_m_s == pytest.approx(0.585)
    assert prof.gap_pct == pytest.approx(10.0) and prof.slower_side == "right"
    assert compare_sides([SideSet("left", 60.0, 0.7)]).reason == "no right-side set to compare with"
    assert side_trend([same]).line() == "one session compared: gap 10.0 %"


def _vbt(home, *args, timeout=120):
    env = dict(os.environ, VBT_HOME=str(home), PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vbt_cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_vbt_sides_command(sides_home):
    home, _ = sides_home
    res = _vbt(home, "sides", "--athlete", "ana", "--exercise", "single-leg RDL")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("single-leg Romanian deadlift (ana): left against right")
    assert sum("(same load)" in line for line in lines) == 3 and "(via each side's profile)" in lines[4]
    assert "right" in lines[1] and "% slower" in lines[1] and "closing" in lines[5]
    js = _vbt(home, "sides", "--exercise", "single leg rdl", "--json")  # one athlete: no --athlete needed
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert [s["basis"] for s in data["sessions"]] == ["same_load", "same_load", "same_load", "profile"]
    before = db_dump(home / "history.sqlite3")
    for args, words in ((["--exercise", "squat"], "ana has no left or right squat sets"),
                        (["--exercise", "squatt"], "unknown exercise 'squatt'"),
                        (["--exercise", "squat", "--athlete", "bob"], "no athlete called 'bob'")):
        bad = _vbt(home, "sides", *args)
        assert bad.returncode == 1 and bad.stdout == "" and bad.stderr.count("\n") == 1, bad.stderr
        assert bad.stderr.startswith("vbt sides: ") and words in bad.stderr
    assert db_dump(home / "history.sqlite3") == before


# ---- retest ------------------------------------------------------------------------------------

# Back squat: a test on day 0 and a retest on day 29, three loads each. Four weeks of training made
# every load 0.05 m/s faster; the true line then: v = 1.40 - 0.008 load, now: 1.45 - 0.008 load.
RETEST_LOADS = (60.0, 100.0, 140.0)


@pytest.fixture(scope="module")
def retest_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("retest")
    truth = {}
    with Store.open(home) as store:
        seed = 400
        for day, intercept in ((0, 1.40), (29, 1.45)):
            ids = []
            for k, load in enumerate(RETEST_LOADS):
                reps, true_best = _measured_set(seed, intercept - 0.008 * load, style="squat")
                seed += 1
                ids.append(store.add_set(reps, exercise="back squat", athlete="ana", load_kg=load,
                                         started_at_unix_s=T0 + day * DAY + 400.0 * k))
                truth[(day, load)] = true_best
            truth[day] = store.get_set(ids[0]).session_id
    return home, truth


def test_retest_without_a_test_is_one_line_and_changes_nothing(retest_home):
    home, _ = retest_home
    before = db_dump(home / "history.sqlite3")
    with Store.open(home) as store:
        with pytest.raises(RetestError, match="ana has no squat test to retest: mark one first"):
            retest(store, "ana", "back squat")
    res = _vbt(home, "retest", "--exercise", "squat")
    assert res.returncode == 1 and res.stdout == "" and res.stderr.count("\n") == 1
    assert res.stderr.startswith("vbt retest: ana has no squat test to retest")
    for args, words in ((["--mark", "999"], "no set 999"), (["--mark", "session:999"], "no session 999"),
                        (["--mark", "lunch:3"], "name a set (12 or set:12) or a session (session:3)"),
                        (["--mark", "abc"], "'abc' is not a whole number")):
        bad = _vbt(home, "retest", *args)
        assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and words in bad.stderr, bad.stderr
    assert db_dump(home / "history.sqlite3") == before


def test_retest_known_answers_and_due(retest_home, tmp_path):
    import shutil

    src, truth = retest_home
    home = tmp_path / "home"
    shutil.copytree(src, home)
    test_session, now_session = truth[0], truth[29]
    mark = _vbt(home, "retest", "--mark", f"session:{test_session}")
    assert mark.returncode == 0 and "3 sets (squat) marked as a test" in mark.stdout, mark.stderr
    listed = _vbt(home, "history").stdout.splitlines()
    assert sum(", TEST" in line for line in listed) == 3
    assert len([x for x in listed if x.lstrip().startswith("set ")]) == 6
    with Store.open(home) as store:
        # 30 days after the test (a later test would be the retest): due
        due = due_retests(store, now_unix_s=T0 + 30 * DAY)
        assert [(d.athlete, d.exercise, d.test_session, d.days_since_test) for d in due] == \
            [("ana", "squat", test_session, 30)]
        assert due_retests(store, now_unix_s=T0 + 20 * DAY) == []
        r = retest(store, "ana", "squat")
    assert (r.test.session_id, r.now.session_id) == (test_session, now_session)
    assert r.days_apart == pytest.approx(29, abs=0.1)
    assert [c.load_kg for c in r.loads] == list(RETEST_LOADS)
    for c in r.loads:
        true_change = truth[(29, c.load_kg)] - truth[(0, c.load_kg)]
        assert c.change_m_s == pytest.approx(true_change, abs=2 * MEASURED_M_S)
        assert true_change > 2 * MEASURED_M_S and c.beyond_noise  # the model's gain shows at every load
    # the 1RM at the squat's MVT 0.30 m/s: the true sets' own profiles (plan: 137.5 kg, then 143.75 kg)
    true_then, true_now = (fit_profile(RETEST_LOADS, [truth[(day, lo)] for lo in RETEST_LOADS], 0.30)
                           for day in (0, 29))
    assert r.test.profile.one_rm_kg == pytest.approx(true_then.one_rm_kg, abs=5.0)
    assert r.now.profile.one_rm_kg == pytest.approx(true_now.one_rm_kg, abs=5.0)
    assert r.one_rm_change_kg == pytest.approx(true_now.one_rm_kg - true_then.one_rm_kg, abs=7.0)
    halves = [(p.one_rm_high_kg - p.one_rm_low_kg) / 2 for p in (r.test.profile, r.now.profile)]
    assert r.one_rm_change_uncertainty_kg == pytest.approx((halves[0] ** 2 + halves[1] ** 2) ** 0.5)
    assert r.test.profile.low_confidence and r.test.profile.interval_method == "prediction interval"

    res = _vbt(home, "retest", "--exercise", "squat")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "test" in out.splitlines()[0] and "29 days later" in out.splitlines()[0]
    assert "60 kg: " in out and "faster" in out and "1RM then: " in out and "1RM now: " in out
    assert "1RM change: +" in out and "kg ± " in out and "[LOW CONFIDENCE]" in out
    js = json.loads(_vbt(home, "retest", "--exercise", "squat", "--json").stdout)
    assert len(js["same_load"]) == 3 and js["test"]["is_test"] and not js["now"]["is_test"]
    assert _vbt(home, "retest", "--due").stdout.startswith("retest due: squat (ana)")  # the test is long past
    # the retest marked as a test becomes the new baseline: still compared with the test before it
    assert _vbt(home, "retest", "--mark", f"session:{now_session}").returncode == 0
    with Store.open(home) as store:
        again = retest(store, "ana", "squat")
        assert (again.test.session_id, again.now.session_id) == (test_session, now_session)
        assert again.now.is_test
    unmark = _vbt(home, "retest", "--unmark", f"session:{now_session}")
    assert "no longer a test" in unmark.stdout
    assert SMALLEST_CHANGE_M_S == 0.02


# ---- the seed's exercises ----------------------------------------------------------------------


def test_seed_exercises_in_the_catalogue(tmp_path):
    """Barbell hip thrust, single-leg RDL (unilateral), back squat, deadlift, bench press and loaded jump
    squat: found by the names coaches write, with their minimum ROM, and the MVT from science.md where
    the literature has one (bench 0.17, full squat 0.30, deadlift 0.15), else our estimate, said so."""
    expected = {  # name typed -> (catalogue name, MVT, source, min ROM, unilateral, low confidence)
        "barbell hip thrust": ("hip thrust", 0.25, "own estimate", 0.08, False, False),
        "single-leg Romanian deadlift": ("single-leg Romanian deadlift", 0.20, "own estimate", 0.10, True, True),
        "single leg RDL": ("single-leg Romanian deadlift", 0.20, "own estimate", 0.10, True, True),
        "back squat": ("squat", 0.30, "science.md", 0.20, False, True),
        "deadlift": ("deadlift", 0.15, "science.md", 0.20, False, True),
        "bench press": ("bench press", 0.17, "science.md", 0.15, False, False),
        "loaded jump squat": ("jump squat", 0.50, "own estimate", 0.20, False, True),
    }
    for typed, (name, mvt, source, rom, uni, low) in expected.items():
        ex = find_exercise(typed, BUILTIN_EXERCISES)
        assert ex is not None, typed
        assert (ex.name, ex.mvt_m_s, ex.mvt_source, ex.min_rom_m, ex.unilateral, ex.low_confidence) == \
            (name, mvt, source, rom, uni, low), typed
    assert [e.name for e in BUILTIN_EXERCISES if e.unilateral] == ["single-leg Romanian deadlift"]
    res = _vbt(tmp_path, "exercises")
    assert res.returncode == 0, res.stderr
    (line,) = [x for x in res.stdout.splitlines() if x.startswith("single-leg Romanian deadlift")]
    assert "unilateral" in line and "own estimate" in line
    (line,) = [x for x in res.stdout.splitlines() if x.startswith("bench press")]
    assert "0.17 m/s (published study)" in line
    add = _vbt(tmp_path, "exercises", "--add", "Bulgarian split squat", "--mvt", "0.3", "--unilateral")
    assert add.returncode == 0 and "one side at a time" in add.stdout
    with Store.open(tmp_path) as store:
        assert store.exercise("bulgarian split squat").unilateral


def test_day_rule_holds_each_side_to_its_own_day():
    """The weaker side is never 'done for today' for being slower than the stronger side."""
    from vbt.dayrule import DayBook

    from tests.test_method import _rep

    asked = []
    book = DayBook(profile_for=lambda a, e, m, side=None: asked.append(side),
                   earlier_sets=lambda a, e, side=None: [(0.72, 60.0, False)] if side == "left" else [])
    left = book.add_set("ana", "single-leg RDL", [_rep(1, 0.70)], 60.0, side="left")
    assert left.basis == "same_load" and not left.done  # 97 % of this morning's left side
    right = book.add_set("ana", "single-leg RDL", [_rep(1, 0.62)], 60.0, side="right")
    assert right.basis == "first" and not right.done  # 86 % of the left side: not the right side's day
    assert book.add_set("ana", "single-leg RDL", [_rep(1, 0.55)], 60.0, side="right").done  # 89 % of its own
    assert asked == ["left", "right"]
    both = book.add_set("ana", "single-leg RDL", [_rep(1, 0.50)], 60.0)
    assert both.basis == "first"  # a two-sided set of the same lift: its own rule, as before
