"""Training plans (vbt.plan, `vbt plan`): blocks and weeks, zones from the profile or the general
zones (and saying which), the plan's limit on live sets, the week in the history; bad input is one line
and changes nothing. Commands run as a person runs them: a subprocess on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import db_dump
from tests.test_history_cli import rep
from vbt import plan as planning
from vbt.profile import fit_profile
from vbt.store import Store, database_path

REPO = Path(__file__).resolve().parents[1]
START = dt.date(2026, 1, 5)  # a Monday
# v = 1.4 - 0.008 load: 1RM at MVT 0.30 m/s is 137.5 kg
PROFILE = fit_profile([60.0, 100.0, 140.0], [0.92, 0.60, 0.28], 0.30, exercise="squat")


def vbt(home, *argv, timeout=60):
    env = {**os.environ, "VBT_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "vbt_cli", *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


def one_line_error(proc, words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert words in proc.stderr, proc.stderr


# ---- the model ----------------------------------------------------------------------------------


def test_weeks_blocks_and_cycles():
    plan = planning.default_plan("ana", START)
    assert plan.cycle_weeks == 16 and not plan.validate()
    cases = [(START - dt.timedelta(days=1), None, 0), (START, "activation", 1), (START + dt.timedelta(days=6),
             "activation", 1), (START + dt.timedelta(days=7), "activation", 2), (START + dt.timedelta(weeks=4),
             "hypertrophy", 1), (START + dt.timedelta(weeks=11, days=3), "strength", 4),
             (START + dt.timedelta(weeks=15), "power", 4), (START + dt.timedelta(weeks=16), "activation", 1)]
    for day, block, week_in_block in cases:
        w = plan.week(day)
        assert (w.block.name if w.block else None, w.week_in_block) == (block, week_in_block), day
    assert plan.week(START + dt.timedelta(weeks=17)).cycle == 2
    assert "cycle 2" in plan.week(START + dt.timedelta(weeks=17)).line()
    once = planning.Plan("ana", START, repeat=False)
    assert once.week(START + dt.timedelta(weeks=16)).block is None
    assert "ended" in once.week(START + dt.timedelta(weeks=16)).why_none
    gap = planning.Plan("ana", START, planning.parse_blocks(["base:1-3", "peak:5-6"]))
    assert gap.week(START + dt.timedelta(weeks=3)).block is None and not gap.validate()


def test_zone_from_the_profile_known_answer():
    plan = planning.default_plan("ana", START)
    z = planning.zone_target(plan, "squat", START + dt.timedelta(days=2), PROFILE, 0.30)
    # activation 50-65 %1RM of 137.5 kg: 68.75 and 89.375 kg -> (175 - load) / 125 m/s
    assert z.source == "profile" and z.low_m_s == pytest.approx(0.685) and z.high_m_s == pytest.approx(0.85)
    assert "own load-velocity profile" in z.source_text and "1RM 138 kg from 3 loads" in z.source_text
    assert [z.classify(v) for v in (0.60, 0.70, 0.90)] == ["below", "in", "above"]
    strength = planning.zone_target(plan, "squat", START + dt.timedelta(weeks=9), PROFILE, 0.30)
    assert strength.low_m_s == pytest.approx((175 - 0.95 * 137.5) / 125)  # 95 %1RM: 0.355 m/s
    assert strength.label() == f"strength zone {strength.low_m_s:.2f}–0.52 m/s (80–95 %1RM)"


def test_general_zones_without_a_profile_say_so():
    plan = planning.default_plan("ana", START)
    on = START + dt.timedelta(weeks=4)
    z = planning.zone_target(plan, "squat", on, None, 0.30)
    assert (z.source, z.low_m_s, z.high_m_s) == ("general", 0.5, 0.75)
    assert "general zones (science.md: Mann)" in z.source_text and "no load-velocity profile" in z.source_text
    assert "accelerative strength" in z.label()
    bench = planning.zone_target(plan, "bench press", START + dt.timedelta(weeks=8), None, 0.17)
    assert (bench.low_m_s, bench.high_m_s) == (0.17, 0.5)  # absolute strength starts at the lift's own MVT


def test_a_zone_set_by_hand_wins():
    plan = planning.default_plan("ana", START)
    plan = plan.replace_block("activation", plan.block("activation").with_zone(
        "squat", planning.ZoneSpec(low_m_s=0.6, high_m_s=0.8)))
    z = planning.zone_target(plan, "Squat", START, PROFILE, 0.30)
    assert (z.source, z.low_m_s, z.high_m_s) == ("plan", 0.6, 0.8)
    pct = plan.replace_block("activation", plan.block("activation").with_zone(
        "squat", planning.ZoneSpec(pct_low=70, pct_high=80)))
    z = planning.zone_target(pct, "squat", START, PROFILE, 0.30)
    assert z.source == "profile" and z.high_m_s == pytest.approx((175 - 0.7 * 137.5) / 125)


@pytest.mark.parametrize("blocks, words", [
    (["a:1-4", "b:4-8"], "blocks a (weeks 1–4) and b (weeks 4–8) overlap"),
    (["a:1-4@70"], "outside 1–60 %"),
    (["a:3-1"], "not 1 ≤ first ≤ last"),
    (["a:1-2", "a:3-4"], "two blocks are named 'a'"),
])
def test_bad_plans_are_one_line_each(blocks, words):
    problems = planning.Plan("ana", START, planning.parse_blocks(blocks)).validate()
    assert len(problems) == 1 and words in problems[0], problems


def test_bad_zone_min_above_max():
    assert planning.zone_problems("x", planning.ZoneSpec(low_m_s=0.8, high_m_s=0.5)) == [
        "zone x: the low end 0.8 m/s is not below the high end 0.5 m/s"]
    assert "not below" in planning.zone_problems("x", planning.ZoneSpec(pct_low=80, pct_high=60))[0]
    with pytest.raises(planning.PlanError, match="LOW-HIGH"):
        planning.parse_range("0.5", "--zone")


# ---- the store ----------------------------------------------------------------------------------


def _profile_history(home, before: dt.date):
    """Squat sets of ana on the three days before ``before``, on the line v = 1.4 - 0.008 load."""
    with Store.open(home) as s:
        for k, (load, v) in enumerate(((60.0, 0.92), (100.0, 0.60), (140.0, 0.28))):
            when = dt.datetime.combine(before - dt.timedelta(days=3 - k), dt.time(10)).timestamp()
            s.add_set([rep(1, v), rep(2, v - 0.02)], exercise="squat", athlete="ana", load_kg=load,
                      started_at_unix_s=when)


def test_store_round_trip_and_zone_for(tmp_path):
    on = START + dt.timedelta(days=2)
    _profile_history(tmp_path, on)
    with Store.open(tmp_path) as s:
        assert s.plan("ana") is None and planning.zone_for("ana", "squat", 80, 0.7, on, store=s) is None
        plan = planning.default_plan("ana", START)
        plan = plan.replace_block("power", plan.block("power").with_zone(
            "bench press", planning.ZoneSpec(low_m_s=0.9, high_m_s=1.2)))
        saved = s.save_plan(plan)
        assert saved == plan
        zone, source = planning.zone_for("ana", "squat", 80.0, 0.70, on, store=s)
        # 0.685-0.85 m/s (known answer above), printed to two decimals
        assert zone in ("in activation zone 0.68–0.85 m/s (50–65 %1RM)",
                        "in activation zone 0.69–0.85 m/s (50–65 %1RM)")
        assert source.startswith("athlete's own load-velocity")
        zone, source = planning.zone_for("ana", "bench press", 50.0, 0.5, START + dt.timedelta(weeks=13), store=s)
        assert zone.startswith("below power zone 0.90–1.20") and source == planning.PLAN_SOURCE
        zone, source = planning.zone_for("ana", "deadlift", 100.0, None, on, store=s)
        assert zone == "activation zone strength-speed 0.75–1.00 m/s" and source.startswith("general zones")


def test_store_refuses_a_bad_plan_and_keeps_the_old(tmp_path):
    with Store.open(tmp_path) as s:
        s.save_plan(planning.default_plan("ana", START))
    before = db_dump(database_path(tmp_path))
    bad = planning.Plan("ana", START, planning.parse_blocks(["a:1-4", "b:3-8"]))
    with Store.open(tmp_path) as s:
        with pytest.raises(Exception, match="overlap"):
            s.save_plan(bad)
        unknown = planning.default_plan("ana", START)
        unknown = unknown.replace_block("power", unknown.block("power").with_zone("nope", planning.ZoneSpec(
            low_m_s=0.1, high_m_s=0.2)))
        with pytest.raises(Exception, match="unknown exercise"):
            s.save_plan(unknown)
    assert db_dump(database_path(tmp_path)) == before


# ---- `vbt plan` and `vbt history`, as a person runs them -----------------------------------------------


def test_plan_command_create_show_edit(tmp_path):
    today = dt.date.today()
    start = today - dt.timedelta(weeks=5, days=1)  # hypertrophy, week 2 of 4
    _profile_history(tmp_path, today)
    p = vbt(tmp_path, "plan", "show", "--athlete", "ana")
    one_line_error(p, "ana has no plan")
    p = vbt(tmp_path, "plan", "create", "--athlete", "ana", "--start", start.isoformat())
    assert p.returncode == 0, p.stderr
    assert "created the plan of ana" in p.stdout and "hypertrophy week 2 of 4" in p.stdout
    p = vbt(tmp_path, "plan", "--athlete", "ana", "--exercise", "squat", "--exercise", "bench press")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any("hypertrophy" in ln and "<- now" in ln and "limit 25 %" in ln for ln in lines)
    # squat from ana's profile: 65-80 % of 137.5 kg -> 0.52-0.685 m/s; bench from the general zones
    assert re.search(r"  squat zone: 0\.52–0\.6[89] m/s mean velocity, from the athlete's own load-velocity profile",
                     p.stdout)
    assert "  bench press zone: 0.50–0.75 m/s mean velocity, from the general zones (science.md: Mann)" in p.stdout
    p = vbt(tmp_path, "plan", "edit", "--athlete", "ana", "--limit", "hypertrophy=30", "--zone",
            "hypertrophy/bench=0.55-0.7", "--block", "peak:17-18@5")
    assert p.returncode == 0, p.stderr
    doc = json.loads(vbt(tmp_path, "plan", "--athlete", "ana", "--json", "--exercise", "bench press").stdout)
    assert [b["name"] for b in doc["blocks"]] == ["activation", "hypertrophy", "strength", "power", "peak"]
    assert doc["blocks"][1]["velocity_loss_pct"] == 30.0 and doc["cycle_weeks"] == 18
    assert doc["blocks"][1]["zones"] == {"bench press": {"pct_1rm": [None, None], "m_s": [0.55, 0.7]}}
    assert doc["zones"]["bench press"]["source"] == "plan" and doc["on"]["week_in_block"] == 2


def test_plan_command_bad_input_changes_nothing(tmp_path):
    assert vbt(tmp_path, "plan", "create", "--athlete", "ana", "--start", START.isoformat()).returncode == 0
    before = db_dump(database_path(tmp_path))
    for argv, words in [
        (("--block", "strength:7-12"), "blocks hypertrophy (weeks 5–8) and strength (weeks 7–12) overlap"),
        (("--zone", "strength/squat=0.8-0.5"), "the low end 0.8 m/s is not below the high end 0.5 m/s"),
        (("--pct", "power=60-40"), "the low end 60 %1RM is not below the high end 40 %1RM"),
        (("--limit", "power=0"), "outside 1–60 %"),
        (("--zone", "strength/squatt=0.3-0.5"), "unknown exercise 'squatt'"),
        (("--zone", "nothing/squat=0.3-0.5"), "the plan has no block 'nothing'"),
        (("--start", "2026-02-30"), "is not a date"),
    ]:
        one_line_error(vbt(tmp_path, "plan", "edit", "--athlete", "ana", *argv), words)
    one_line_error(vbt(tmp_path, "plan", "create", "--athlete", "ana"), "already has a plan")
    one_line_error(vbt(tmp_path, "plan", "create", "--athlete", "bo", "--block", "a:1-4", "--block", "b:2-3"),
                   "overlap")
    assert db_dump(database_path(tmp_path)) == before


def test_history_shows_the_week_in_the_block(tmp_path):
    with Store.open(tmp_path) as s:
        s.save_plan(planning.default_plan("ana", START))
        for day in (START + dt.timedelta(days=1), START + dt.timedelta(weeks=5, days=2)):
            when = dt.datetime.combine(day, dt.time(18)).timestamp()
            s.add_set([rep(1, 0.7)], exercise="squat", athlete="ana", load_kg=100.0, started_at_unix_s=when)
        s.add_set([rep(1, 0.7)], exercise="squat", athlete="bo", load_kg=100.0,
                  started_at_unix_s=dt.datetime.combine(START, dt.time(9)).timestamp())
    p = vbt(tmp_path, "history")
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stdout.splitlines() if "session" in ln]  # oldest first
    assert "bo:" in lines[0] and "plan week" not in lines[0]
    assert "ana:" in lines[1] and lines[1].endswith("plan week 1: activation week 1 of 4")
    assert "ana:" in lines[2] and lines[2].endswith("plan week 6: hypertrophy week 2 of 4")
    doc = json.loads(vbt(tmp_path, "history", "--json").stdout)
    weeks = {(s["athlete"], s["plan_week"] and s["plan_week"]["line"]) for s in doc["sessions"]}
    assert weeks == {("ana", "activation week 1 of 4"), ("ana", "hypertrophy week 2 of 4"), ("bo", None)}


# ---- `vbt live` under a plan, with bands ----------------------------------------------------------------


def test_vbt_live_takes_the_plans_limit_calls_zones_and_records_bands(tmp_path):
    from firmware_bridge.emulator import Emulator
    from tests.test_method import _two_sets

    home = tmp_path / "home"
    p = vbt(home, "plan", "create", "--athlete", "ana", "--start", dt.date.today().isoformat(), "--limit",
            "activation=40", "--zone", "activation/squat=0.6-0.8")
    assert p.returncode == 0, p.stderr
    env = dict(os.environ, VBT_HOME=str(home), VBT_EMULATOR_DIR=str(tmp_path / "emu"), PYTHONPATH=str(REPO))
    script = _two_sets([0.85, 0.70, 0.55], [0.70, 0.69], ecc_first_s=1.5, ecc_second_s=1.5)
    with Emulator("native", script=script, speed=3.0, link_dir=str(tmp_path / "emu")) as emu:
        live = subprocess.run([sys.executable, "-m", "vbt_cli", "live", "--jsonl", "--port", emu.port, "--protocol",
                               "native", "--exercise", "squat", "--athlete", "ana", "--load-kg", "100",
                               "--band-top", "400", "--band-bottom", "100", "--max-sets", "2"],
                              capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert live.returncode == 0, live.stderr
    first = live.stderr.splitlines()[0]
    assert "velocity-loss limit 40 % from ana's plan (activation week 1 of 4; --velocity-loss overrides)" in first
    assert "zone 0.60–0.80 m/s MV from the zone set by hand in the plan" in first
    assert "bands 100 N at the bottom to 400 N at the top" in first
    events = [json.loads(line) for line in live.stdout.splitlines()]
    reps = [e for e in events if e["type"] == "rep"]
    assert [e["zone"]["where"] for e in reps] == ["above", "in", "below", "in", "in"]
    assert all(e["zone"]["source"] == "plan" and e["zone"]["block"] == "activation" for e in reps)
    for e in reps:  # the bands' work: (100 + 400) / 2 N over the rise, on top of m g MV
        assert e["mean_power_w"] == pytest.approx((100 * 9.81 + 250.0) * e["mean_velocity_m_s"], rel=1e-9)
    ends = [e for e in events if e["type"] == "set_end"]
    assert [e["velocity_loss_threshold_pct"] for e in ends] == [40.0, 40.0] and ends[0]["stop_rep"] is None
    assert ends[0]["accommodation"]["band_top_n"] == 400.0 and not ends[0]["accommodation"]["approximate"]

    hist = vbt(home, "history", "--athlete", "ana")
    assert hist.returncode == 0, hist.stderr
    assert "plan week 1: activation week 1 of 4" in hist.stdout and "(limit 40 %)" in hist.stdout
    assert hist.stdout.count("bands 100 N at the bottom to 400 N at the top") == 2


def test_vbt_live_explicit_limit_wins_and_says_so(tmp_path):
    home = tmp_path / "home"
    assert vbt(home, "plan", "create", "--athlete", "ana").returncode == 0
    live = vbt(home, "live", "--demo", "--athlete", "ana", "--exercise", "squat", "--velocity-loss", "15",
               "--duration", "1", "--no-record")
    assert live.returncode == 0, live.stderr
    assert ("velocity-loss limit 15 % from --velocity-loss (the plan's activation block says 10 %)"
            in live.stderr.splitlines()[0])


@pytest.mark.parametrize("args, message", [
    (["--band-top", "-5"], "--band-top: the band tension at the top cannot be negative (-5 N)"),
    (["--chain-top", "-20"], "--chain-top: the chain mass at the top cannot be negative (-20 kg)"),
    (["--chain-per-m", "-1"], "--chain-per-m: the chain mass per metre cannot be negative (-1 kg/m)"),
    (["--band-top", "100", "--band-bottom", "300"], "--band-bottom: a band pulls harder at the top"),
])
def test_vbt_live_bad_bands_and_chains_are_one_line(tmp_path, args, message):
    res = vbt(tmp_path / "home", "live", "--demo", *args)
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert f"vbt live: {message}" in res.stderr
    assert not (tmp_path / "home").exists()  # nothing was opened or written


def test_the_shared_summary_names_the_zone_and_its_source(tmp_path):
    from vbt.share import share_sets

    on = START + dt.timedelta(days=2)
    _profile_history(tmp_path, on)
    with Store.open(tmp_path) as s:
        when = dt.datetime.combine(on, dt.time(17)).timestamp()
        set_id = s.add_set([rep(1, 0.74), rep(2, 0.70)], exercise="squat", athlete="ana", load_kg=80.0,
                           started_at_unix_s=when)
        assert share_sets(s, "set", set_id)[0].zone is None  # no plan yet: no zone line
        s.save_plan(planning.default_plan("ana", START))
        (shared,) = share_sets(s, "set", set_id)
    assert shared.zone.startswith("best rep in activation zone 0.6") and "–0.85 m/s (50–65 %1RM)" in shared.zone
    assert shared.zone.endswith("from the athlete's own load-velocity profile (1RM 138 kg from 3 loads, "
                                "low confidence)")
