"""The training method: done for the day (vbt.dayrule) and tempo (vbt.tempo), on sets from the motion
model measured by the real analysis."""

from __future__ import annotations

import numpy as np
import pytest

from vbt.analysis import analyze
from vbt.dayrule import DayBook, DayRule, DayRuleConfig
from vbt.profile import fit_profile
from vbt.results import Rep
from vbt.simulate import simulate_session, simulate_set
from vbt.tempo import Tempo, TempoError, parse_tempo, summarise


def _measured(sim):
    return analyze(sim.t_s, sim.position_m).reps


def _set(seed, v, n_reps=4):
    """One squat set from the motion model at first-rep mean velocity ``v``, measured."""
    sim = simulate_set(seed, style="squat", n_reps=n_reps, first_mean_velocity_m_s=v, fatigue_per_rep=0.01,
                       partial_rep_after=None)
    reps = _measured(sim)
    assert len(reps) == n_reps
    return reps


# A profile from an earlier day: v = 1.4 - 0.008 * load (60 kg 0.92, 100 kg 0.60, 140 kg 0.28 m/s).
PROFILE = fit_profile([60.0, 100.0, 140.0], [0.92, 0.60, 0.28], 0.30)

# (load kg, warm-up flag, first-rep velocity): the session of the known-answer tests.
SESSION = [
    (40.0, True, 1.10),  # warm-up, fastest of the day: never the day's best
    (100.0, False, 0.66),  # first working set
    (100.0, False, 0.64),  # ~97 % at the same load: keep going
    (120.0, False, 0.50),  # 24 % slower than the best, but the heavier load explains it (profile)
    (100.0, True, 0.50),  # a slow set flagged as a warm-up: not judged
    (100.0, False, 0.56),  # ~85 % of today's best at 100 kg: done for the day
]


@pytest.fixture(scope="module")
def session_reps():
    return [_set(100 + k, v) for k, (_, _, v) in enumerate(SESSION)]


def test_day_rule_fires_on_the_right_set(session_reps):
    rule = DayRule(DayRuleConfig(), PROFILE)
    verdicts = [rule.add_set(reps, load, warm) for reps, (load, warm, _) in zip(session_reps, SESSION)]
    assert [v.basis for v in verdicts] == ["warmup", "first", "same_load", "profile", "warmup", "same_load"]
    assert [v.done for v in verdicts] == [False, False, False, False, False, True]
    fired = verdicts[5]
    assert fired.day_best_load_kg == 100.0 and abs(fired.day_best_m_s - 0.66) < 0.03
    assert 80.0 < fired.ratio_pct < 89.0 and "done for today" in fired.reason
    assert verdicts[3].reference_m_s == pytest.approx(0.50, abs=0.03) and verdicts[3].ratio_pct > 95.0
    assert fired.set_number == 4 and len(fired.trend_m_s) == 4  # the warm-ups are not working sets


def test_day_rule_without_a_profile_says_so_and_does_not_fire(session_reps):
    rule = DayRule(DayRuleConfig())
    verdicts = [rule.add_set(reps, load, warm) for reps, (load, warm, _) in zip(session_reps, SESSION)]
    assert verdicts[3].basis == "none" and not verdicts[3].done
    assert "no load-velocity profile" in verdicts[3].reason
    assert [v.done for v in verdicts] == [False, False, False, False, False, True]


def test_warm_up_by_load_limit(session_reps):
    """Unflagged sets lighter than the limit are warm-ups too; the naive rule (fastest rep of the day,
    any load) would have fired on every working set."""
    rule = DayRule(DayRuleConfig(warmup_below_kg=60.0), PROFILE)
    verdicts = [rule.add_set(reps, load, False) for reps, (load, _, _) in zip(session_reps, SESSION)]
    assert verdicts[0].basis == "warmup" and "60 kg" in verdicts[0].reason
    # unflagged, the slow 100 kg set (index 4) is judged: it fires (~76 %), and so does the next
    assert [v.done for v in verdicts] == [False, False, False, False, True, True]


CLEAR_POINTS = 5.0  # two set bests, each within the estimator's MV p95 at 1 mm (~2.5 %): their ratio within ~5 points


def _session_verdicts(seed, style):
    """The day rule on one simulated session (4 sets on one time line: the second a flagged warm-up at
    70 kg, the rest at 100 kg), fed the true reps and the measured ones (those that start within a set's
    true span, give or take a second)."""
    sim = simulate_session(seed, n_sets=4, rest_s=20.0, style=style)
    measured = _measured(sim)
    sets_true = []
    for r in sim.truth:
        if r.index == 1:
            sets_true.append([])
        sets_true[-1].append(r)
    sets_meas = [[m for m in measured
                  if reps[0].concentric_start_s - 1.0 < m.concentric_start_s < reps[-1].concentric_end_s + 1.0]
                 for reps in sets_true]
    loads, warm = [100.0, 70.0, 100.0, 100.0], [False, True, False, False]
    out = []
    for sets in (sets_true, sets_meas):
        rule = DayRule(DayRuleConfig())
        out.append([rule.add_set(reps, load, w) for reps, load, w in zip(sets, loads, warm)])
    return out


def test_simulated_sessions_fire_where_the_truth_does():
    """Whole sessions from the motion model (10 seeds, bench and squat, 1 mm at 1 kHz): the measured
    reps give the truth's verdict on every judged set whose true ratio lies more than CLEAR_POINTS from
    the floor, and the ratio itself within 1 point at the median. (One fixed session used to be the
    test: seed 1's bench, whose set 4 lies 3.5 points above the floor; its measured ratio came out at
    90.5 % on one version of the end fits and 89.8 % on the next, within the error either way.)"""
    clear = 0
    diffs = []
    for seed in range(10):
        for style in ("bench", "squat"):
            truth, meas = _session_verdicts(seed, style)
            assert [v.basis for v in meas] == [v.basis for v in truth], (seed, style)
            assert [v.basis for v in truth] == ["first", "warmup", "same_load", "same_load"]
            for vt, vm in zip(truth[2:], meas[2:]):
                diffs.append(abs(vm.ratio_pct - vt.ratio_pct))
                if abs(vt.ratio_pct - DayRuleConfig().floor_pct) > CLEAR_POINTS:
                    clear += 1
                    assert vm.done == vt.done, (seed, style, vt.ratio_pct, vm.ratio_pct)
    assert clear >= 25  # not vacuous: most judged sets are clear of the floor
    assert float(np.median(diffs)) <= 1.0


def _rep(i, v, ecc=None, pause=None):
    return Rep(index=i, concentric_start_s=float(i), concentric_end_s=i + 0.5, mean_velocity_m_s=v,
               mean_propulsive_velocity_m_s=v, peak_velocity_m_s=v * 1.5, rom_m=0.5, time_to_peak_velocity_s=0.2,
               concentric_duration_s=0.5, eccentric_duration_s=ecc, bottom_pause_s=pause)


def test_load_tolerance_and_metric():
    rule = DayRule(DayRuleConfig(metric="peak"))
    rule.add_set([_rep(1, 0.60)], 100.0)
    same = rule.judge(0.50 * 1.5, 102.5)  # within 2.5 %: compared, peak velocity 0.75 vs 0.90
    assert same.basis == "same_load" and same.ratio_pct == pytest.approx(100 * 0.75 / 0.90) and same.done
    assert rule.judge(0.75, 103.0).basis == "none"  # 3 % heavier: another load, and no profile
    assert DayRuleConfig(floor_pct=100).validate() and DayRuleConfig(warmup_below_kg=-5).validate()
    assert not DayRuleConfig().validate()


def test_day_book_per_athlete_and_exercise_and_earlier_sets():
    asked = []
    book = DayBook(DayRuleConfig(), profile_for=lambda a, e, m: asked.append((a, e, m)),
                   earlier_sets=lambda a, e: [(0.70, 100.0, False)] if (a, e) == ("Ana", "squat") else [])
    assert book.add_set("Ana", "squat", [_rep(1, 0.60)], 100.0).done  # 86 % of this morning's 0.70
    assert not book.add_set("ana", "Squat", [_rep(1, 0.69)], 100.0).done  # same athlete, same exercise
    assert book.add_set("Ben", "squat", [_rep(1, 0.60)], 100.0).basis == "first"
    assert book.add_set("Ana", "bench press", [_rep(1, 0.30)], 60.0).basis == "first"
    assert len(asked) == 3


# ---- tempo ------------------------------------------------------------------------------------


def test_tempo_kept_count_is_exact_on_simulated_eccentrics():
    """Squat sets from the motion model draw eccentrics of 0.6-2.5 s; against a 2 s target with a
    0.5 s margin, a rep keeps tempo when its true eccentric lasted at least 1.5 s (and pause targets
    likewise). The count from the measured reps equals the count from the truth."""
    checked = 0
    for seed in range(11, 23):
        sim = simulate_set(seed, style="squat", n_reps=8, partial_rep_after=None, paused=True)
        measured = _measured(sim)
        assert len(measured) == len(sim.truth)
        for tempo in (Tempo(2.0, 0.0, 0.5), Tempo(1.5, 0.8, 0.3)):
            true_kept = sum(1 for r in sim.truth if r.eccentric_duration_s >= tempo.eccentric_s - tempo.margin_s
                            and (r.bottom_pause_s or 0.0) >= tempo.pause_s - tempo.margin_s)
            # keep the test honest: no true duration within 60 ms of a decision edge
            edges = [abs(r.eccentric_duration_s - (tempo.eccentric_s - tempo.margin_s)) for r in sim.truth]
            if tempo.pause_s:
                edges += [abs(r.bottom_pause_s - (tempo.pause_s - tempo.margin_s)) for r in sim.truth]
            if min(edges) < 0.06:
                continue
            summary = summarise(measured, tempo)
            assert summary.judged == len(measured)
            truth = [(r.eccentric_duration_s, r.bottom_pause_s) for r in sim.truth]
            assert summary.kept == true_kept, (seed, tempo, truth)
            checked += 1
    assert checked >= 10  # 14 of the 24 (seed, tempo) pairs are clear of the edges today


def test_tempo_by_hand_and_bad_input():
    reps = [_rep(1, 0.6, None, None), _rep(2, 0.6, 3.1, 1.0), _rep(3, 0.6, 2.4, 1.0), _rep(4, 0.6, 2.6, 0.4)]
    s = summarise(reps, parse_tempo("3:1"))
    assert (s.kept, s.judged, s.missed) == (1, 3, (3, 4))
    assert s.line() == "tempo 3:1: 1 of 3 reps kept"
    assert "eccentric 2.4 s (target 3 s)" in s.reps[2].reason(s.tempo)
    assert parse_tempo("3-1-X") == Tempo(3.0, 1.0) and parse_tempo(" 2 ") == Tempo(2.0, 0.0)
    for bad in ("0", "60", "3:60", "abc", "", "3:1:2:4", "-1"):
        with pytest.raises(TempoError) as err:
            parse_tempo(bad)
        assert "\n" not in str(err.value) and "tempo" in str(err.value)


# ---- stored with the set -----------------------------------------------------------------------


def test_verdicts_stored_with_the_set_and_listed(tmp_path):
    import sqlite3

    from vbt.store import Store
    from vbt.store import schema as vs
    from vbt.tempo import Tempo, summarise

    path = tmp_path / "history.sqlite3"
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:  # an older file, with a set in it: it migrates and the set reads as not judged
        vs.build_schema(conn, vs.SCHEMA_VERSION - 1)
        conn.execute("INSERT INTO athletes (id, name) VALUES (1, 'ana')")
        conn.execute("INSERT INTO exercises (id, name, mvt_m_s) VALUES (1, 'squat', 0.30)")
        conn.execute("INSERT INTO sessions (id, uid, athlete_id, started_at) VALUES (1, 'se1', 1, 1.7e9)")
        conn.execute("INSERT INTO sets (id, uid, session_id, athlete_id, exercise_id, load_kg, started_at, ended_at) "
                     "VALUES (1, 'st1', 1, 1, 1, 100, 1.7e9, 1.7e9 + 12)")
    finally:
        conn.close()
    reps = [_rep(1, 0.66, 3.2, 1.0), _rep(2, 0.64, 2.0, 1.0)]
    with Store(path) as store:
        old = store.get_set(1)
        assert (old.warmup, old.day_basis, old.tempo_kept, old.day_line()) == (False, None, None, None)
        first = store.add_set(reps, exercise="squat", athlete="ana", load_kg=100.0)
        second = store.add_set([_rep(1, 0.55, 3.0, 1.0)], exercise="squat", athlete="ana", load_kg=100.0)
        rule = DayRule()
        store.set_method(first, day=rule.add_set(reps, 100.0), tempo=summarise(reps, Tempo(3.0, 1.0)))
        rec = store.set_method(second, day=rule.add_set([_rep(1, 0.55)], 100.0))
        assert rec.day_done and rec.day_basis == "same_load" and rec.day_ratio_pct == pytest.approx(100 * 0.55 / 0.66)
        assert rec.day_line() == "DONE FOR TODAY: 83 % of 0.66 m/s (same load)"
        assert store.get_set(first).tempo_line() == "tempo 3:1 kept 1/2"
        assert store.get_set(first).to_json()["day"]["basis"] == "first"
        assert store.day_sets("ana", "squat", "mean", 1.7e9 + 100) == [(0.66, 100.0, False), (0.55, 100.0, False)]


# ---- `vbt live` and `vbt history` ------------------------------------------------------------------


def _two_sets(first, second, ecc_first_s, ecc_second_s, rom_m=0.45, rest_s=6.0):
    """Two squat sets with these mean velocities and eccentric durations (one for the set, or one per
    rep), a rest between."""
    import numpy as np

    from firmware_bridge.motion import GRID_HZ, MotionScript, ScriptRep
    from vbt.simulate import Timeline, concentric_truth

    tl = Timeline(x0_m=1.2)
    tl.hold(1.0)
    reps = []
    for set_index, (velocities, ecc) in enumerate(((first, ecc_first_s), (second, ecc_second_s)), start=1):
        for k, v in enumerate(velocities, start=1):
            tl.move(-rom_m, ecc[k - 1] if isinstance(ecc, (list, tuple)) else ecc, 2.2, 2.0, role="eccentric")
            tl.hold(0.05)
            seg = tl.move(rom_m, rom_m / v, 2.0, 2.4, role="concentric")
            tr = concentric_truth(seg, k)
            reps.append(ScriptRep(set_index, k, tr.concentric_start_s, tr.concentric_end_s, tr.mean_velocity_m_s,
                                  tr.mean_propulsive_velocity_m_s, tr.peak_velocity_m_s, tr.rom_m))
            tl.hold(0.8)
        tl.hold(rest_s)
    t = np.arange(0.0, tl.t_s, 1.0 / GRID_HZ)
    return MotionScript(t, tl.position(t), reps, sets=2)


def test_vbt_live_jsonl_day_done_and_tempo_then_history(tmp_path):
    import json
    import os
    import pathlib
    import subprocess
    import sys

    from firmware_bridge.emulator import Emulator

    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, VBT_HOME=str(tmp_path / "home"), VBT_EMULATOR_DIR=str(tmp_path / "emu"),
               PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    script = _two_sets([0.70, 0.69, 0.68], [0.58, 0.57], ecc_first_s=2.0, ecc_second_s=0.8)
    with Emulator("native", script=script, speed=3.0, link_dir=str(tmp_path / "emu")) as emu:
        live = subprocess.run([sys.executable, "-m", "vbt_cli", "live", "--jsonl", "--port", emu.port, "--protocol",
                               "native", "--exercise", "squat", "--athlete", "ana", "--load-kg", "100", "--tempo",
                               "1.5:0", "--tempo-margin", "0.3", "--max-sets", "2"],
                              capture_output=True, text=True, env=env, timeout=120)
    assert live.returncode == 0, live.stderr
    lines = [json.loads(line) for line in live.stdout.splitlines()]
    kinds = [d["type"] for d in lines if d["type"] != "device"]
    ends = [d for d in lines if d["type"] == "set_end"]
    assert len(ends) == 2
    assert ends[0]["day"]["basis"] == "first" and ends[0]["tempo"]["kept"] == ends[0]["tempo"]["judged"] == 3
    assert ends[1]["day"]["basis"] == "same_load" and ends[1]["day"]["done"]
    assert ends[1]["tempo"]["kept"] == 0 and ends[1]["tempo"]["missed"] == [1, 2]
    misses = [d["index"] for d in lines if d["type"] == "tempo_miss"]
    assert misses == [1, 2]
    (done,) = [d for d in lines if d["type"] == "day_done"]
    assert kinds.index("day_done") == kinds.index("set_end", kinds.index("set_end") + 1) + 1  # right after set 2
    assert done["exercise"] == "squat" and done["athlete"] == "ana" and done["basis"] == "same_load"
    assert done["ratio_pct"] == pytest.approx(100 * 0.58 / 0.70, abs=1.5)
    assert done["day_best_m_s"] == pytest.approx(0.70, abs=0.01)

    hist = subprocess.run([sys.executable, "-m", "vbt_cli", "history", "--athlete", "ana"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert hist.returncode == 0, hist.stderr
    assert "tempo 1.5:0 kept 3/3" in hist.stdout and "sets the day's best" in hist.stdout
    assert "tempo 1.5:0 kept 0/2" in hist.stdout and "DONE FOR TODAY: 83 % of 0.70 m/s (same load)" in hist.stdout


@pytest.mark.parametrize("args, message", [
    (["--tempo", "0"], "--tempo: an eccentric of 0.0 s is outside 0.5–10 s"),
    (["--tempo", "60"], "--tempo: an eccentric of 60.0 s is outside 0.5–10 s"),
    (["--tempo", "3:1", "--tempo-margin", "9"], "--tempo-margin: 9.0 s is outside 0–5 s"),
    (["--day-floor", "100"], "--day-floor: 100.0 is outside 50–99.9 % of the day's best"),
])
def test_vbt_live_bad_method_options_are_one_line(tmp_path, args, message):
    import os
    import subprocess
    import sys

    env = dict(os.environ, VBT_HOME=str(tmp_path / "home"))
    res = subprocess.run([sys.executable, "-m", "vbt_cli", "live", "--demo", *args], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 1 and res.stderr.strip().count("\n") == 0
    assert f"vbt live: {message}" in res.stderr
    assert not (tmp_path / "home").exists()  # nothing was opened or written
