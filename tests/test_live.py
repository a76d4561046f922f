"""Live mode end to end: real pty, real reader, real tracker, the `vbt live` command."""

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

from firmware_bridge import chronojump as cj
from firmware_bridge import native as nat
from firmware_bridge.emulator import Emulator, NativeSource
from firmware_bridge.live import LiveSession
from firmware_bridge.motion import MotionScript
from firmware_bridge.recorded import decode, render
from vbt.config import AnalysisConfig
from tests.conftest import EventLog, one_set
from vbt.tracker import LiveTracker

ROOT = pathlib.Path(__file__).resolve().parents[1]
RAW = ROOT / "fixtures" / "device" / "chronojump_squat.txt"


def vbt_cmd(*args):
    return [sys.executable, "-m", "vbt_cli", *args]


def cli_env(tmp_path):
    env = dict(os.environ)
    env["VBT_EMULATOR_DIR"] = str(tmp_path / "emu")
    env["VBT_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---- acceptance (a): a Chronojump recording replayed live equals `vbt analyze` on the file ----------


# the device fixture, and a real recording whose velocity falls 48 % at a grind (fixtures/README.md, "real/")
REPLAYED = [RAW, ROOT / "fixtures" / "real" / "chronojump_two_reps_grinding.txt"]


@pytest.mark.slow  # a recording replayed in real time over a pty
@pytest.mark.parametrize("raw", REPLAYED, ids=[p.stem for p in REPLAYED])
def test_replayed_chronojump_recording_live_equals_vbt_analyze(tmp_path, raw):
    env = cli_env(tmp_path)
    analyze = subprocess.Popen(vbt_cmd("analyze", str(raw), "--json"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    with Emulator("chronojump", replay=raw, link_dir=str(tmp_path / "emu")) as emu:
        assert emu.source.byte_period_s == pytest.approx(0.001)  # the file's own time base
        live = subprocess.run(vbt_cmd("live", "--jsonl", "--port", emu.port, "--protocol", "chronojump",
                                      "--max-sets", "1"),
                              capture_output=True, text=True, env=env, timeout=90)
    out, err = analyze.communicate(timeout=60)
    assert analyze.returncode == 0, err
    assert live.returncode == 0, live.stderr
    assert "Traceback" not in live.stderr
    batch = json.loads(out)
    lines = [json.loads(line) for line in live.stdout.splitlines()]
    types = [d["type"] for d in lines]
    assert set(types) <= {"device", "rep", "warning", "stop", "set_end"}
    assert types[0] == "device" and lines[0]["event"] == "connected" and lines[0]["protocol"] == "chronojump"
    reps = [d for d in lines if d["type"] == "rep"]
    assert len(reps) == len(batch["reps"]) > 0
    for got, want in zip(reps, batch["reps"]):
        assert got["index"] == want["index"]
        assert got["mean_velocity_m_s"] == pytest.approx(want["mean_velocity_m_s"], abs=0.005)
    stops = [d for d in lines if d["type"] == "stop"]
    assert batch["stop_rep"] is not None
    assert [s["index"] for s in stops] == [batch["stop_rep"]]
    (end,) = [d for d in lines if d["type"] == "set_end"]
    assert end["stop_rep"] == batch["stop_rep"] and len(end["reps"]) == len(batch["reps"])


def test_the_live_byte_clock_s_stamps_read_the_file_s_velocities():
    """The test above without the pty, over many arrival patterns: a Chronojump stream carries no
    time, so the live reader stamps its bytes by a clock fitted to their arrival (ByteClock, within
    0.2 % of the true spacing once settled). The velocities must not care: a hard limit in the
    analysis once turned that 0.2 % into a 5 ms move of rep 2's start (0.7 % of its MV, CI), on 3
    of these 200 arrival patterns (seeds 44, 66 and 102)."""
    from vbt.analysis import analyze
    from vbt.io import read_recording

    rec = read_recording(RAW)
    batch = [r.mean_velocity_m_s for r in analyze(rec.t_s, rec.position_m).reps]
    assert len(batch) == 4
    for seed in range(120):
        rng = np.random.default_rng(seed)
        clock, k, stamps = cj.ByteClock(), 0, []
        while k < rec.t_s.size:  # reads of 6-11 bytes, each arriving 0.5 ms + an exponential wait late
            n = min(int(rng.integers(6, 12)), rec.t_s.size - k)
            k += n
            stamps.append(clock.stamp(n, 100.0 + (k - 1) * 0.001 + 0.0005 + rng.exponential(0.002)))
        live = [r.mean_velocity_m_s for r in analyze(np.concatenate(stamps), rec.position_m).reps]
        assert len(live) == len(batch), seed
        assert np.abs(np.subtract(live, batch)).max() <= 0.003, seed  # 0.0018 at worst today


# ---- acceptance (b): a pulled cable mid-set --------------------------------------------------------


@pytest.mark.slow  # a set in real time over a pty
def test_pulled_cable_mid_set_reconnects_and_the_set_goes_on(tmp_path):
    script = one_set([0.80, 0.79, 0.77, 0.66])
    truth = script.reps
    with Emulator("chronojump", script=script, link_dir=str(tmp_path)) as emu:
        session = LiveSession(emu.port, "chronojump", AnalysisConfig(), forward_samples=False,
                              forward_health=False).start()
        ev = EventLog(session.events)
        try:
            ev.wait(lambda e: e.type == "device_connected", 5.0)
            ev.wait(lambda e: e.type == "rep" and e.rep.index == 2, 15.0)
            emu.unplug()
            ev.wait(lambda e: e.type == "device_lost", 1.0)
            time.sleep(0.3)  # the cable stays out a moment (not a synchronisation)
            emu.plug()
            plugged = time.monotonic()
            ev.wait(lambda e: e.type == "device_connected" and e.reconnect, 2.0)
            reconnect_s = time.monotonic() - plugged
            end = ev.wait(lambda e: e.type == "set_end", 15.0)
        finally:
            session.stop(finish=False)
    assert reconnect_s < 2.0
    reps = [e.rep for e in ev.all if e.type == "rep"]
    assert [r.index for r in reps] == [1, 2, 3, 4]  # earlier reps kept, numbering goes on
    assert [r.index for r in end.result.reps] == [1, 2, 3, 4]
    assert end.result.reps[:2] == tuple(reps[:2])  # the reps before the pull are untouched
    for got, true in zip(reps, truth):
        assert got.mean_velocity_m_s == pytest.approx(true.mean_velocity_m_s, abs=0.01)
    assert end.result.stop_rep == 4 and end.reason == "stillness"
    assert [e.index for e in ev.all if e.type == "stop"] == [4]


# ---- the command line (Ctrl-C and SIGTERM: tests/test_signals.py) ---------------------------------------


def test_bad_settings_are_one_line_errors(tmp_path):
    res = subprocess.run(vbt_cmd("live", "--demo", "--velocity-loss", "90"), capture_output=True, text=True,
                         env=cli_env(tmp_path), timeout=60)
    assert res.returncode == 1
    assert res.stderr.strip().count("\n") == 0
    assert "vbt live: --velocity-loss: the velocity-loss threshold 90.0 % is outside 1–60 %" in res.stderr


# ---- garbage never makes a rep -----------------------------------------------------------------------


def test_garbage_on_the_line_never_makes_a_rep():
    """A bar at rest, its native stream shot through with bit flips and garbage bursts: no rep."""
    t = np.arange(0.0, 30.0, 0.001)
    still = MotionScript.from_arrays(t, np.full(t.size, 1.2))
    src = NativeSource(still, clock_start_us=nat.U32 - 10_000_000, rng=np.random.default_rng(1))
    clean = render(src, 29.0)
    rng = np.random.default_rng(2)
    arr = np.frombuffer(clean, dtype=np.uint8).copy()
    hit = np.flatnonzero(rng.random(arr.size) < 1e-3)
    arr[hit] ^= (1 << rng.integers(0, 8, hit.size)).astype(np.uint8)
    noisy = b"".join(arr[i:i + 5000].tobytes() + rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
                     for i in range(0, arr.size, 5000))
    for protocol, data in [("native", noisy), ("chronojump", rng.integers(-128, 128, 30000).astype(np.int8).tobytes())]:
        t, x, dec = decode(data, protocol, byte_period_s=29.0 / len(data))
        tracker = LiveTracker(AnalysisConfig(), auto_end_sets=False)
        events = tracker.feed(t, x) + tracker.finish() if t.size else []
        assert not [e for e in events if e.type == "rep"], protocol
        if protocol == "native":
            assert dec.stats.checksum_errors > 0 and t.size > 20000
            assert np.ptp(x) < 1e-9  # nothing moved
        else:
            # Random Chronojump bytes are line noise: each byte's plausible count is bounded.
            assert np.max(np.abs(np.diff(x))) <= cj.MAX_COUNTS_PER_BYTE / 1000


# ---- the history hook ------------------------------------------------------------------------------


def test_history_hook_records_the_live_set(tmp_path):
    """Live events through HistoryHook into a real SetRecorder: the set, its reps and its trace."""
    from firmware_bridge.live import HistoryHook
    from vbt.store import SetRecorder, Store

    exp = json.loads((ROOT / "fixtures" / "device" / "chronojump_squat.expected.json").read_text())
    data = (ROOT / "fixtures" / "device" / "chronojump_squat.bin").read_bytes()
    t, x, _ = decode(data, "chronojump", **exp["decode"])
    rec = SetRecorder(tmp_path)
    hook = HistoryHook(rec, exercise="squat", load_kg=100.0, athlete="ana")
    tracker = LiveTracker(AnalysisConfig(load_kg=100.0), auto_end_sets=True)
    for i in range(0, t.size, 500):
        hook.trace(t[i:i + 500], x[i:i + 500])
        for ev in tracker.feed(t[i:i + 500], x[i:i + 500]):
            hook.record(ev)
    for ev in tracker.finish():
        hook.record(ev)
    hook.close()
    store = Store.open(tmp_path)
    try:
        (record,) = store.sets(athlete="ana")
        result = store.set_result(record.id)
        assert len(result.reps) == len(exp["result"]["reps"]) and result.stop_rep == exp["result"]["stop_rep"]
        assert record.load_kg == 100.0
        assert store.trace(record.id).n_samples > 1000
    finally:
        store.close()


# ---- a first rep held still mid-rise, revised live and in the history ------------------------------


def test_a_first_rep_held_mid_rise_is_revised_live_and_in_the_history(tmp_path):
    """Fresh grinder seed 100016 (tests/test_accuracy.py): the first pull holds still for 0.45 s
    mid-way, then goes on up. Live over a real pty with `vbt live --jsonl`: one ``rep`` line at the
    hold (the quick number), one ``rep_revised`` line for rep 1 once the bar rises on, no STOP or
    warning resting on the quick number (each one's loss is the one the revised rep gives), and the
    history file keeps the revised rep, not the one closed at the hold.

    (This once asserted "no STOP before rep 3". Rep 2's true loss is 8.9 %, 1.1 points from the
    threshold, and a grind's MV moves by up to 1-2 % with the live byte clock's timing, so a STOP at
    rep 2 on a rep measured 1 % low is the rule working on that number, not the quick one: CI saw it
    once. The quick number would give rep 2 a loss near 50 %.)"""
    from firmware_bridge.motion import MotionScript
    from vbt.motions import simulate_family
    from vbt.store import Store

    sim = simulate_family("grinder", 100016, "fine")
    truth = sim.truth[0].mean_velocity_m_s
    env = cli_env(tmp_path)
    script = MotionScript.from_arrays(sim.t_s, sim.position_m)
    with Emulator("native", script=script, speed=4.0, link_dir=str(tmp_path / "emu")) as emu:
        live = subprocess.run(vbt_cmd("live", "--jsonl", "--port", emu.port, "--protocol", "native", "--exercise",
                                      "deadlift", "--velocity-loss", "10", "--max-sets", "1"),
                              capture_output=True, text=True, env=env, timeout=120)
    assert live.returncode == 0, live.stderr
    lines = [json.loads(line) for line in live.stdout.splitlines()]
    reps = [(d["type"], d["index"]) for d in lines if d["type"] in ("rep", "rep_revised")]
    assert reps[:2] == [("rep", 1), ("rep_revised", 1)] and [i for _, i in reps[2:]] == list(range(2, len(reps)))
    first, revised = (d for d in lines if d["type"] in ("rep", "rep_revised") and d["index"] == 1)
    assert first["mean_velocity_m_s"] > 0.4  # closed at the hold: what the lifter saw first
    assert revised["mean_velocity_m_s"] == pytest.approx(truth, rel=0.03)
    # every STOP and warning carries the loss that the reps as revised give: the best of the reps so
    # far that are not doubtful, the revised rep 1 in place of the quick one
    current = {}
    alerts = []
    for d in lines:
        if d["type"] in ("rep", "rep_revised"):
            current[d["index"]] = d
        elif d["type"] in ("stop", "warning"):
            i = d["index"]
            best = max(r["mean_velocity_m_s"] for k, r in current.items() if k <= i and r.get("quality", "ok") == "ok")
            want = 100.0 * (1.0 - current[i]["mean_velocity_m_s"] / best)
            alerts.append((d["type"], i, d["velocity_loss_pct"], want))
    assert alerts and all(got == pytest.approx(want, abs=1e-6) for _, _, got, want in alerts), (alerts, reps)
    assert all(d["index"] >= 2 and d["velocity_loss_pct"] < 30.0 for d in lines if d["type"] == "stop")
    (end,) = [d for d in lines if d["type"] == "set_end"]
    assert end["reps"][0]["mean_velocity_m_s"] == revised["mean_velocity_m_s"]

    with Store.open(tmp_path / "home") as store:
        (stored,) = store.sets()
        kept = [s.rep for s in store.reps(stored.id)]
    assert [r.index for r in kept] == list(range(1, len(end["reps"]) + 1))
    assert kept[0].mean_velocity_m_s == pytest.approx(revised["mean_velocity_m_s"])
    assert kept[0].concentric_end_s == pytest.approx(revised["concentric_end_s"])
    assert stored.best_rep == end["best_rep"] and stored.stop_rep == end["stop_rep"]


def test_a_revised_rep_reads_as_one_line_saying_what_changed():
    from firmware_bridge.cli import event_json, format_event
    from vbt.results import Rep, RepRevised

    def rep(mv, end):
        return Rep(index=1, concentric_start_s=1.0, concentric_end_s=end, mean_velocity_m_s=mv,
                   mean_propulsive_velocity_m_s=mv, peak_velocity_m_s=2 * mv, rom_m=0.46,
                   time_to_peak_velocity_s=0.3, concentric_duration_s=end - 1.0)

    event = RepRevised(rep(0.249, 2.85), 1, 4.2, rep(0.429, 1.6))
    line = format_event(event)
    assert line.startswith("[    4.20 s] rep 1 revised (the bar rose on after a hold; was MV 0.429 m/s): MV 0.249 m/s")
    obj = event_json(event)
    assert obj["type"] == "rep_revised" and obj["index"] == 1 and obj["mean_velocity_m_s"] == 0.249


@pytest.mark.parametrize("kind", ["fine", "chronojump", "csv"])
def test_a_recording_cut_mid_rise_marks_its_cut_reps_and_fires_no_stop(kind):
    """A logger started late (the bar already rising) or stopped early (still rising) holds part of
    a rep: it was counted as sound, MV 0.94 for a 1.18 m/s touch-and-go rep, and the cut last rep
    fired a STOP no rep earned. Now both carry a quality that says so ("check rep N": never the best,
    never the STOP), live as in ``analyze``; the whole recording marks no rep."""
    from vbt.analysis import analyze
    from vbt.motions import simulate_family

    sim = simulate_family("bounce", 100003, kind)
    first, last = sim.truth[0], sim.truth[-1]
    cut = (sim.t_s > 0.5 * (first.concentric_start_s + first.concentric_end_s)) & \
        (sim.t_s < 0.5 * (last.concentric_start_s + last.concentric_end_s))
    t, x = sim.t_s[cut], sim.position_m[cut]
    whole = analyze(sim.t_s, sim.position_m)
    assert all(r.quality == "ok" for r in whole.reps)
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=False)
    for i in range(0, t.size, 10):
        tracker.feed(t[i:i + 10], x[i:i + 10])
    (live,) = [e.result for e in tracker.finish() if e.type == "set_end"]
    for res in (analyze(t, x), live):
        qualities = [r.quality for r in res.reps]
        assert len(qualities) == len(sim.truth)
        assert qualities[0] == "cut by the start of the recording: the bar was already rising"
        assert qualities[-1] == "cut by the end of the recording: the bar was still rising"
        assert all(q == "ok" for q in qualities[1:-1])
        assert res.best_rep not in (1, len(qualities)) and res.stop_rep is None
    exact = (sim.t_s >= sim.truth[1].concentric_start_s) & (sim.t_s <= sim.truth[1].concentric_end_s)
    (rep,) = analyze(sim.t_s[exact], sim.position_m[exact]).reps  # starts from rest at the first sample
    assert rep.quality == "ok"
    by_hand = LiveTracker(AnalysisConfig(), auto_end_sets=False)  # a set ended by hand mid-rise
    by_hand.feed(t, x)
    (ended,) = [e.result for e in by_hand.end_set("manual") if e.type == "set_end"]
    assert ended.reps[-1].quality == "cut by the end of the set: the bar was still rising"
