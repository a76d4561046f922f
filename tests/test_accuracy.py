"""Known-answer accuracy on sets the tuning never saw (seeds from 5000 up; tuning used 0-60).

The motion model (vbt/simulate.py) has analytic ground truth: Beta-shaped velocity phases,
touch-and-go and paused reps, deadlifts from the floor, set-up and re-rack movements, lockout
wobble, partial reps, fatigue; sensors from 50 Hz to 10 kHz, even or per-tick, quantised from
0.1 to 3 mm, with noise and vibration.

This is one motion family of several (vbt/motions.py, tests/test_families_accuracy.py). Until
issue 9 its figures met the targets (MV p95 0.0067, stop rep 97.5 % here) because its phases are
Beta-shaped, the very profile the whole-phase fit assumed. That fit now only refines reps that start
from a still bar and whose residual is within the recording's noise, within the local fit's own
uncertainty; touch-and-go reps of this family, and ends the data leaves uncertain, are placed by
the model-free local fits. The bounds below are regression guards at today's figures on these
seeds (in the comments), not the targets; README gives the per-family table against the targets.
"""

import numpy as np
import pytest

from vbt.analysis import analyze
from vbt.config import AnalysisConfig, StopRuleConfig
from vbt.simulate import simulate_set
from vbt.tracker import LiveTracker

N_SETS = 120


pytestmark = pytest.mark.slow  # hundreds of simulated sets

@pytest.fixture(scope="module")
def scored():
    rows, counts, stops, phases = [], [], [], []
    for seed in range(5000, 5000 + N_SETS):
        sim = simulate_set(seed)
        res = analyze(sim.t_s, sim.position_m, AnalysisConfig(stop_rule=StopRuleConfig(10.0, "mean")))
        counts.append(len(res.reps) == len(sim.truth))
        stops.append(res.stop_rep == sim.true_stop_rep(10.0, "mean"))
        if len(res.reps) == len(sim.truth):
            for got, true in zip(res.reps, sim.truth):
                rows.append((got.mean_velocity_m_s - true.mean_velocity_m_s,
                             got.mean_propulsive_velocity_m_s - true.mean_propulsive_velocity_m_s,
                             got.peak_velocity_m_s - true.peak_velocity_m_s,
                             got.rom_m - true.rom_m))
                if true.eccentric_duration_s is not None:
                    phases.append((got.eccentric_duration_s - true.eccentric_duration_s,
                                   got.bottom_pause_s - (true.bottom_pause_s or 0.0)))
    return np.abs(np.array(rows)), np.mean(counts), np.mean(stops), np.abs(np.array(phases))


def test_rep_count_exact(scored):
    _, count_rate, _, _ = scored
    assert count_rate >= 0.98  # 1.0 here


def test_mean_velocity(scored):
    err, _, _, _ = scored
    assert np.median(err[:, 0]) <= 0.003  # 0.0012 here
    assert np.percentile(err[:, 0], 95) <= 0.03  # 0.0251 here


def test_mean_propulsive_velocity(scored):
    err, _, _, _ = scored
    assert np.percentile(err[:, 1], 95) <= 0.033  # 0.0273 here


def test_peak_velocity_and_rom(scored):
    err, _, _, _ = scored
    assert np.percentile(err[:, 2], 95) <= 0.03  # 0.0153 here (0.0094 with the 10 Hz filter alone)
    assert np.percentile(err[:, 3], 95) <= 0.003


def test_eccentric_duration_and_bottom_pause(scored):
    # No issue target; this guards the fix for long pauses, which used to be counted as
    # eccentric (p95 error ~1.2 s before; 0.044 s and 0.026 s here now).
    err = scored[3]
    assert len(err) > 500
    assert np.percentile(err[:, 0], 95) <= 0.08
    assert np.percentile(err[:, 1], 95) <= 0.05


def test_stop_rep(scored):
    _, _, stop_rate, _ = scored
    assert stop_rate >= 0.83  # 0.858 here (17 of 120 sets missed)


def test_no_reps_from_setup_only():
    """Unrack, walk-out, wobble and re-rack without a single rep give no rep."""
    from vbt.simulate import SensorSpec, Timeline

    tl = Timeline(1.2)
    tl.hold(1.0)
    tl.move(0.06, 0.6)
    for d in (0.02, 0.015, 0.025):
        tl.move(-d, 0.25)
        tl.move(d, 0.25)
    tl.hold(2.0, wobble_m=0.01, wobble_hz=3.0)
    tl.move(0.1, 0.5)  # partial: less than the minimum ROM
    tl.move(-0.1, 0.5)
    tl.move(0.03, 0.4)
    tl.move(-0.09, 0.6)
    tl.hold(2.0)
    t, x = SensorSpec(rate_hz=1000.0, noise_m=0.0003).sample(tl, np.random.default_rng(0))
    assert analyze(t, x).reps == ()


def test_grinding_and_fast_reps():
    slow = simulate_set(77, style="squat", n_reps=3, first_mean_velocity_m_s=0.12, fatigue_per_rep=0.0)
    fast = simulate_set(78, style="bench", n_reps=3, first_mean_velocity_m_s=1.5, fatigue_per_rep=0.0)
    for sim in (slow, fast):
        res = analyze(sim.t_s, sim.position_m)
        assert len(res.reps) == 3
        rel = [abs(g.mean_velocity_m_s - t.mean_velocity_m_s) / t.mean_velocity_m_s
               for g, t in zip(res.reps, sim.truth)]
        assert np.median(rel) < 0.02
        # A grinder creeping into lockout is closed once the bar rises less than 0.5 mm in 0.13 s,
        # so the live alert is never late; a creep slower than that is missed (worst rep here 4.8 %).
        assert max(rel) < 0.10
    assert max(r.peak_velocity_m_s for r in analyze(fast.t_s, fast.position_m).reps) > 1.5


def _grind_after_correction(dip_m, hold_s, creep_s, creep_v=0.012, step_m=0.001, noise_m=0.0, seed=0):
    """A grind at 1 kHz and ``step_m`` per count (1 mm: Chronojump's raw format): the bar still at
    the top, a 0.30 m descent, still, a correction (down ``dip_m`` and back up), held still
    ``hold_s``, then a 0.30 m rise: a 2.2 s hump of velocity (a sine: from still at both ends with a
    step of force) plus, for ``creep_s`` > 0, a lockout creep at ``creep_v`` that sets in during the
    push and goes on ``creep_s`` after it, then stops within 50 ms. ``noise_m``: white noise (sd),
    before the counts.
    Returns t, x (quantised) and the true start, end and MV (velocity zero at both ends)."""
    fs = 1000.0
    t_push, stop_s = 2.2, 0.05
    dur = t_push + (creep_s + stop_s if creep_s > 0 else 0.0)
    tt = np.arange(int(round(dur * fs)) + 1) / fs
    v = np.where(tt <= t_push, np.sin(np.pi * np.minimum(tt / t_push, 1.0)), 0.0)
    v *= 0.30 / (np.sum(v) / fs)
    if creep_s > 0:
        on = np.clip((tt - 1.5) / 0.5, 0.0, 1.0)
        off = np.clip((dur - tt) / stop_s, 0.0, 1.0)
        v = np.maximum(v, creep_v * on * on * (3 - 2 * on) * off)
    rise = np.cumsum(v) / fs - v[0] / fs
    u = np.arange(300) / 300.0
    d = np.arange(1500) / 1500.0
    x = np.concatenate([np.full(1000, 0.30), 0.15 * (1 + np.cos(np.pi * d)), np.zeros(500),  # the descent
                        -dip_m * 0.5 * (1 - np.cos(2 * np.pi * u)),
                        np.zeros(int(round(hold_s * fs))), rise, np.full(1500, rise[-1])])
    start = (3300 + int(round(hold_s * fs))) / fs
    t = np.arange(x.size) / fs
    x = x + np.random.default_rng(seed).normal(0.0, noise_m, x.size) if noise_m > 0 else x
    return t, np.round(x / step_m) * step_m, start, start + dur, rise[-1] / dur


@pytest.mark.parametrize("dip_m,hold_s,creep_s,creep_v,step_m", [
    (0.003, 0.3, 0.0, 0.0, 0.001), (0.004, 0.2, 0.0, 0.0, 0.001),  # a correction of 3-4 counts, then a hold
    (0.003, 0.3, 0.6, 0.010, 0.001),  # ... and a lockout creep
    (0.0, 0.3, 0.6, 0.010, 0.0005), (0.0, 0.3, 0.6, 0.008, 0.0002)])  # creeps on finer sensors
def test_grind_starts_after_the_hold_and_ends_after_the_creep(dip_m, hold_s, creep_s, creep_v, step_m):
    """Issue 9: a grinder corrects the bar at the bottom (a 3-4 mm dip and back: three or four
    counts at 1 mm), holds it, grinds up and creeps into lockout. The rise starts after the hold,
    not at the dip (MV 10 % low before, with a creep), and ends where the creep stops: the rep
    used to close once the bar rose less than 2 mm in 0.13 s, before a 8-10 mm/s creep
    (MV 27-29 % high). Measured now: within 2.4 %."""
    t, x, start, end, mv = _grind_after_correction(dip_m, hold_s, creep_s, creep_v, step_m)
    (rep,) = analyze(t, x).reps
    assert abs(rep.concentric_start_s - start) < 0.07  # one count at 1 mm: up to 62 ms late
    assert abs(rep.concentric_end_s - end) < 0.08
    assert abs(rep.mean_velocity_m_s - mv) / mv < 0.03


def _grind_after_corrections(step_m, noise_m, seed):
    """At 1 kHz: a 0.30 m descent, still, then three corrections as a grinder makes them (8 mm
    down and back, 10 mm up and back, 4 mm down and back, each a raised cosine of 0.25 s, the
    first two with 0.25 s still after them), held still 0.3 s, then a 2.2 s rise of 0.30 m (a sine
    hump of velocity). Returns t, x (noise ``noise_m``, then counts of ``step_m``), the true start
    and MV."""
    u = np.arange(250) / 250.0
    bump = 0.5 * (1 - np.cos(2 * np.pi * u))  # 0 -> 1 -> 0
    still = np.zeros(250)
    d = np.arange(1500) / 1500.0
    tt = np.arange(2201) / 1000.0
    v = np.sin(np.pi * tt / 2.2)
    rise = np.cumsum(v) / 1000.0
    rise = 0.30 * (rise - rise[0]) / (rise[-1] - rise[0])
    x = np.concatenate([np.full(1000, 0.30), 0.15 * (1 + np.cos(np.pi * d)), np.zeros(500),
                        -0.008 * bump, still, 0.010 * bump, still, -0.004 * bump, np.zeros(300),
                        rise, np.full(1500, 0.30)])
    start = (1000 + 1500 + 500 + 5 * 250 + 300) / 1000.0
    x = x + np.random.default_rng(seed).normal(0.0, noise_m, x.size)
    return np.arange(x.size) / 1000.0, np.round(x / step_m) * step_m, start, 0.30 / 2.2


@pytest.mark.parametrize("step_m,noise_m", [(0.0003, 0.0001), (0.0005, 0.0), (0.001, 0.0)])
def test_the_rise_starts_after_the_hold_that_follows_the_last_of_several_corrections(step_m, noise_m):
    """Three corrections before a grind: the first fits start at the hold after the first one, the
    bar then dips again inside their rise, and the last stretch without a descent starts at the last
    dip, 0.39-0.40 s before the rise (MV 11-13 % low). That stretch's start is now looked for
    after a hold too (vbt/kernels/rep.py, method 1); measured now: within 3 ms, MV within 0.9 %."""
    t, x, start, mv = _grind_after_corrections(step_m, noise_m, 3)
    (rep,) = analyze(t, x).reps
    assert abs(rep.concentric_start_s - start) < 0.05
    assert abs(rep.mean_velocity_m_s - mv) / mv < 0.03


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_noisy_encoder_s_hold_after_a_correction_starts_the_rise(seed):
    """A 0.45 mm encoder with 0.15 mm of noise reads a still bar on three levels (two steps apart),
    yet its robust scatter looks like a noiseless staircase's: within 1.5 steps the hold after a
    3 mm correction was missed and the rise started at the correction's dip, 0.34-0.37 s early (MV
    13-14 % low). The allowance is two steps (vbt/kernels/rep.py HOLD_SPAN_STEPS); measured now:
    starts 5-31 ms late, MV within 1.2 %."""
    t, x, start, end, mv = _grind_after_correction(0.003, 0.15, 0.0, step_m=0.00045, noise_m=0.00015, seed=seed)
    (rep,) = analyze(t, x).reps
    assert abs(rep.concentric_start_s - start) < 0.05
    assert abs(rep.mean_velocity_m_s - mv) / mv < 0.03


def _rise_from_still(rise):
    """At 1 kHz: still at the top, a descent of the rise's range over 1.5 s, still 0.6 s, then
    ``rise`` (from 0, starting at 3.1 s), then still 1.5 s. Returns t, x (not quantised)."""
    rom = rise[-1]
    d = np.arange(1500) / 1500.0
    x = np.concatenate([np.full(1000, rom), rom / 2 * (1 + np.cos(np.pi * d)), np.zeros(600), rise,
                        np.full(1500, rom)])
    return np.arange(x.size) / 1000.0, x


def _plateau_rise(vp, a_brake, rom=0.6, rise_s=0.1):
    """At 1 kHz: a raised-cosine start to ``vp``, a plateau, and raised-cosine braking whose peak
    deceleration is ``a_brake`` (harder than g: the plateau family of vbt.motions). Returns the
    positions of the rise and its duration."""
    brake_s = vp * np.pi / (2 * a_brake)
    flat_s = (rom - vp * (rise_s + brake_s) / 2) / vp
    dur = rise_s + flat_s + brake_s
    tt = np.arange(int(round(dur * 1000)) + 1) / 1000.0
    v = np.where(tt < rise_s, 0.5 * (1 - np.cos(np.pi * np.minimum(tt / rise_s, 1))), 1.0)
    v = vp * np.where(tt > rise_s + flat_s,
                      0.5 * (1 + np.cos(np.pi * np.clip((tt - rise_s - flat_s) / brake_s, 0, 1))), v)
    x = np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2) / 1000.0])
    return x * rom / x[-1], tt[-1]


@pytest.mark.parametrize("vp,a_brake,step_m", [(0.4, 15.0, 0.0002), (0.3, 12.0, 0.0001), (0.35, 20.0, 0.0002)])
def test_a_short_hard_braking_into_the_top_ends_the_rep_at_the_top(vp, a_brake, step_m):
    """A plateau braked at 12-20 m/s^2 stops within 5-8 mm of the top, inside the end's 3 % window
    (18 mm): the single power law fitted over that window reads the plateau's straight line into
    the top and ended the rep 6.5-10.5 ms early (MV 0.4-1.2 % high). The end is now fitted on a
    window sized by the braking as well, and taken where the two disagree: 4-5 ms early."""
    rise, dur = _plateau_rise(vp, a_brake)
    t, x = _rise_from_still(rise)
    x = x + np.random.default_rng(1).normal(0.0, 0.00005, x.size)
    (rep,) = analyze(t, np.round(x / step_m) * step_m).reps
    assert abs(rep.concentric_end_s - (3.1 + dur)) < 0.0055
    assert rep.mean_velocity_m_s == pytest.approx(0.6 / dur, rel=0.012)


def _slow_start_with_vibration(vib_hz, step_m, vib_m=0.0006, noise_m=0.0001):
    """At 1 kHz: still at the top, a 0.40 m descent, still 0.6 s, then a 1.6 s rise from a still bar
    whose speed grows as t^2.5 (a heavy squat's slow start), still again; plus a cable vibration of
    ``vib_m`` at ``vib_hz`` and white noise, quantised to ``step_m``. Returns t, x, true start, MV."""
    fs = 1000.0
    tt = np.arange(1601) / fs
    u = tt / 1.6
    rise = np.cumsum(u ** 2.5 * (1 - u)) / fs
    rise *= 0.40 / rise[-1]
    t, x = _rise_from_still(rise)
    x = x + vib_m * np.sin(2 * np.pi * vib_hz * t) + np.random.default_rng(0).normal(0, noise_m, x.size)
    return t, np.round(x / step_m) * step_m, 3.1, 0.40 / 1.6


@pytest.mark.parametrize("vib_hz", [20.0, 35.0, 60.0])
@pytest.mark.parametrize("step_m", [0.0005, 0.001])
def test_a_slow_start_under_cable_vibration_is_not_taken_for_a_hold(vib_hz, step_m):
    """A bar whose speed grows slowly from rest, on a cable vibrating by 0.6 mm (vbt.simulate's
    range): the noise measured over the rise holds the vibration, and six times it let the first
    0.35 s of the rise (2-3 mm) pass for a hold after a correction; the rep started there, MV 25 %
    high (35 Hz, 0.5 mm). The 10 Hz bar must also stay put across such a hold: start within 10 ms."""
    t, x, start, mv = _slow_start_with_vibration(vib_hz, step_m)
    (rep,) = analyze(t, x).reps
    assert abs(rep.concentric_start_s - start) < 0.01
    assert rep.mean_velocity_m_s == pytest.approx(mv, rel=0.01)


@pytest.mark.parametrize("kind", ["csv", "chronojump", "fine"])
def test_a_loaded_jump_on_a_vibrating_cable_ends_at_its_apex(kind):
    """Loaded jumps (vbt.motions' jump family, seeds outside its tuning and report ranges) on a
    cable vibrating by 0.6 mm at 20-60 Hz: the local fit of the top sees a few tens of ms of a
    flat apex, and the vibration moved its end by up to 15 ms (MV 3-4 % off). The flight, a
    parabola of curvature -g over 0.1-0.3 s, places the apex within 0.2 ms on every rep."""
    from vbt.motions import simulate_family

    for seed in (500, 501):
        sim = simulate_family("jump", seed, kind, vibration_m=0.0006)
        reps = analyze(sim.t_s, sim.position_m).reps
        assert len(reps) == len(sim.truth)
        for rep, true in zip(reps, sim.truth):
            assert abs(rep.concentric_end_s - true.concentric_end_s) < 0.001
            assert rep.mean_velocity_m_s == pytest.approx(true.mean_velocity_m_s, rel=0.015)


def test_a_slow_grind_creeping_from_the_bottom_on_a_1_mm_encoder_is_not_taken_for_a_hold():
    """A 3.5 s grind of 0.6 m from a still bar, its speed growing as t^2.5 (under 12 mm/s for the
    first 0.6 s), on a noiseless 1 mm encoder (Chronojump's counts): the creep stayed within 1.5
    counts for 60 ms at a time, passed for a hold after a correction, and the rep started 0.62 s
    late (MV 20 % high). Measured now: 0.12 s late, MV 3.4 % high (the gentle onset's own fit)."""
    fs, dur, rom = 1000.0, 3.5, 0.6
    u = np.arange(int(dur * fs) + 1) / fs / dur
    rise = np.cumsum(u ** 2.5 * (1 - u)) / fs
    rise *= rom / rise[-1]
    t, x = _rise_from_still(rise)
    (rep,) = analyze(t, np.round(x / 0.001) * 0.001).reps
    assert abs(rep.concentric_start_s - 3.1) < 0.2
    assert rep.mean_velocity_m_s == pytest.approx(rom / dur, rel=0.05)


def test_a_single_reading_flicked_two_counts_down_is_not_a_descent():
    """A 0.9 s rep (0.3 m, minimum jerk from a still bar to a still bar) at 1 kHz and 0.5 mm per count, with one
    reading 60 ms before the top flicked two counts down, as 0.15 mm of noise does now and then on
    such an encoder (bench_shapes.py, hip thrust seed 100011: the rep went 216 ms early). The check
    "no descent inside the rise" failed on it and the fallback misplaced the rep; a descent now has
    to be shared by the raw neighbours' median."""
    fs, dur, rom = 1000.0, 0.9, 0.3
    u = np.arange(int(dur * fs) + 1) / fs / dur
    rise = rom * (10 * u ** 3 - 15 * u ** 4 + 6 * u ** 5)  # minimum jerk: still at both ends
    t, x = _rise_from_still(rise)
    x = np.round(x / 0.0005) * 0.0005
    start = 3.1
    x[int((start + dur - 0.06) * fs)] -= 0.001
    (rep,) = analyze(t, x).reps
    assert rep.quality == "ok"
    assert abs(rep.concentric_start_s - start) < 0.01 and abs(rep.concentric_end_s - (start + dur)) < 0.02
    assert rep.mean_velocity_m_s == pytest.approx(rom / dur, rel=0.01)


def test_a_grind_that_sags_mid_rise_is_one_rep_never_lost():
    """A grind (fresh grinder seed 100000, 0.6 mm per count, 0.13 mm of noise) whose isometric
    hold mid-rise sags by two counts, re-timed within 0.05 % (a new sampling phase, as a live byte
    clock gives): the noise the rep shows came out a little lower, the sag counted as a descent,
    and the fallback cut the rep to its last 0.135 m, which then fell below the minimum speed: the
    third rep vanished from the set. It is one rep, placed by the first fits and marked doubtful."""
    from vbt.motions import simulate_family, warped_times

    sim = simulate_family("grinder", 100000, "csv")
    rng = np.random.default_rng(100000)
    for t in (sim.t_s, warped_times(sim.t_s, rng, 0.05), warped_times(sim.t_s, rng, 0.05)):
        res = analyze(t, sim.position_m)
        assert len(res.reps) == len(sim.truth) == 3
        third = res.reps[2]
        assert third.rom_m == pytest.approx(sim.truth[2].rom_m, abs=0.003)
        assert third.mean_velocity_m_s == pytest.approx(sim.truth[2].mean_velocity_m_s, rel=0.02)
        # doubtful where the checks failed: never the best, never a STOP
        assert third.quality == "ok" or third.quality.startswith("ends uncertain")


def test_a_first_rep_that_holds_mid_rise_is_one_rep_and_no_false_stop():
    """Fresh grinder seed 100016 (1 kHz, 0.1-0.5 mm): the first rep, pulled from a still bar, holds
    dead still for 0.45 s at 0.26 m and then rises on to 0.46 m. It is one rep (truth: MV 0.249 m/s).
    Closed at the hold it read 0.43 m/s, became the set's best, and rep 2 (0.227 m/s) fired a false
    STOP at 47 % "loss". A first pull keeps its quick decision at the hold (making every first rise
    wait lost a rep to a cable pull), and the rep is revised once the bar rises on without coming down:
    live, one ``rep`` event at the hold, then one ``rep_revised`` event for rep 1, then no STOP before
    rep 3; in a whole file, the revised rep only."""
    from vbt.motions import simulate_family

    sim = simulate_family("grinder", 100016, "fine")
    res = analyze(sim.t_s, sim.position_m)
    first = res.reps[0]
    assert len(res.reps) == len(sim.truth)
    assert first.concentric_end_s == pytest.approx(sim.truth[0].concentric_end_s, abs=0.05)
    assert first.mean_velocity_m_s == pytest.approx(sim.truth[0].mean_velocity_m_s, rel=0.03)
    assert res.stop_rep is None or res.stop_rep >= 3

    tracker = LiveTracker(AnalysisConfig())
    events = []
    for i in range(0, sim.t_s.size, 10):  # live: 10-sample chunks
        events += tracker.feed(sim.t_s[i:i + 10], sim.position_m[i:i + 10])
    events += tracker.finish()
    kinds = [(e.type, getattr(e, "index", None) or getattr(getattr(e, "rep", None), "index", None))
             for e in events if e.type != "set_end"]
    assert kinds[:2] == [("rep", 1), ("rep_revised", 1)]
    revised = events[1]
    assert revised.previous.mean_velocity_m_s > 0.4  # what the lifter saw at the hold
    assert revised.rep.mean_velocity_m_s == pytest.approx(first.mean_velocity_m_s)
    assert revised.to_json()["type"] == "rep_revised" and "previous" not in revised.to_json()
    stops = [e.index for e in events if e.type == "stop"]
    assert not stops or stops[0] >= 3
    (ended,) = [e for e in events if e.type == "set_end"]
    assert ended.result.reps == res.reps and ended.result.stop_rep == res.stop_rep


def test_force_and_power_with_a_load():
    """Against the motion model: over a phase that starts and ends at rest the mean force is the
    weight and the mean power m g MV; peak power is max m (a + g) v of the analytic profile."""
    from vbt.simulate import _beta_density
    from vbt.units import G

    load, g = 100.0, G
    peak_err = []
    for seed in range(5200, 5230):
        sim = simulate_set(seed)
        res = analyze(sim.t_s, sim.position_m, AnalysisConfig(load_kg=load))
        if len(res.reps) != len(sim.truth):
            continue
        phases = [s for s in sim.timeline.segments if s.role == "concentric"]
        for got, true in zip(res.reps, sim.truth):
            seg = next(s for s in phases if abs(s.t0_s - true.concentric_start_s) < 1e-9)
            assert got.mean_force_n == pytest.approx(load * g)
            assert got.mean_power_w == pytest.approx(load * g * got.mean_velocity_m_s)
            tau = np.linspace(1e-6, 1 - 1e-6, 20001)
            f = _beta_density(tau, seg.a, seg.b)
            v = seg.displacement_m / seg.duration_s * f
            acc = seg.displacement_m / seg.duration_s**2 * f * ((seg.a - 1) / tau - (seg.b - 1) / (1 - tau))
            peak_err.append(got.peak_power_w / (load * (acc + g) * v).max() - 1)
    peak_err = np.abs(peak_err)
    assert len(peak_err) > 150
    # No issue target. The 10 Hz filter rounds off the sharp onsets of the model's fastest reps
    # (Beta a < 2 has unbounded onset acceleration), so the tail is wide: p95 ~16 % here.
    assert np.median(peak_err) <= 0.03 and np.percentile(peak_err, 95) <= 0.2


@pytest.mark.parametrize("seed", range(3))
def test_sticking_point_reps_are_not_forced_into_one_velocity_peak(seed):
    """A rep whose velocity has two peaks (a sticking point) does not fit one Beta-shaped profile;
    the whole-phase fit must give way to the turning-point fits. Forced, it put ends 0.6-7 s off
    (MV errors 0.25-0.7 m/s); the turning-point fits' own MV error on these reps is up to 0.036."""
    from scipy.special import betainc

    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 40.0, 0.001)
    x = np.full(t.size, 1.2)
    truth, tc = [], 2.0
    for _ in range(6):
        rom = 0.45
        d1 = rom * rng.uniform(0.4, 0.6)
        t1, t2 = rng.uniform(0.3, 0.6, 2)
        lag = t1 * rng.uniform(0.5, 0.8)  # the second push starts before the first one ends
        x = x - np.where(t >= tc, rom * betainc(2.2, 2.2, np.clip(t - tc, 0, 1)), 0.0)
        t0 = tc + 1.1
        x = x + np.where(t >= t0, d1 * betainc(2.0, 2.5, np.clip((t - t0) / t1, 0, 1))
                         + (rom - d1) * betainc(2.0, 2.0, np.clip((t - t0 - lag) / t2, 0, 1)), 0.0)
        end = max(t0 + t1, t0 + lag + t2)
        truth.append(rom / (end - t0))
        tc = end + 1.0
    x = np.round((x + rng.normal(0, 0.0002, t.size)) / 0.0005) * 0.0005
    res = analyze(t, x)
    assert len(res.reps) == 6
    err = np.abs([r.mean_velocity_m_s - mv for r, mv in zip(res.reps, truth)])
    assert err.max() < 0.05, err


def _jumps_with_a_cosine_push(seed, kind):
    """Loaded jumps whose push fades as (A + g) cos(pi s / 2)^k (1 + c s) - g (s the share of the
    push): force falling to zero at take-off, but not as the jump family's single power law
    (vbt.motions._jump_pushoff), so the take-off fit's model is only a local one. Built from
    vbt.motions' pieces, sampled by that family's sensors; returns (t, x, truth) or None when the
    draw's take-off speed lies outside 1.5-2.8 m/s (loaded jumps)."""
    import vbt.motions as M

    rng = np.random.default_rng([seed, 77])
    k, c = float(rng.uniform(0.6, 1.6)), float(rng.uniform(-0.5, 1.0))
    slope, depth, ext = float(rng.uniform(12.0, 25.0)), float(rng.uniform(0.25, 0.45)), float(rng.uniform(0.03, 0.07))

    def push(dur):
        t = M._grid(dur)
        s = t / dur
        a = (slope + M.G) * np.cos(np.pi * s / 2) ** k * (1 + c * s) - M.G
        v = M._cumtrapz(a, t)
        return t, M._cumtrapz(v, t), v, a

    tl = M.DenseTimeline(x0_m=1.0)
    tl.hold(1.0, "rest")
    truth = []
    for i in range(3):
        d = depth * float(rng.uniform(0.96, 1.04))
        ecc = M._reversal_descent(tl, rng, d, d / float(rng.uniform(0.7, 1.25)), slope)
        lo, hi = 0.05, 1.5
        for _ in range(50):  # the push's duration that rises d + ext
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if push(mid)[1][-1] < d + ext else (lo, mid)
        i0, _ = tl.append(*push(hi), "concentric")
        takeoff, v_to = tl.t_s, tl.v_m_s
        if not 1.5 <= v_to <= 2.8:
            return None
        _, i1 = M._ballistic(tl, v_to, 0.0, "concentric")
        truth.append(M._truth(tl, i0, i1, i + 1, ecc, 0.0, propulsive_end_s=takeoff))
        M._ballistic(tl, 0.0, -v_to, "fall")
        dur = 0.45 / v_to  # landing: 0.15 m absorbed, speed falling as (1 - u)^2
        t = M._grid(dur)
        v = -v_to * (1 - t / dur) ** 2
        tl.append(t, -0.15 * (1 - (1 - t / dur) ** 3), v, np.gradient(v, t, edge_order=2), "landing")
        tl.hold(0.3, "landing")
        tl.smooth_move(0.15 - ext, 0.7, "stand")
        tl.hold(1.5, "rest")
    srng = np.random.default_rng([seed, 78, M.SENSOR_KINDS.index(kind)])
    t, x = M.sensor_for(kind, srng).sample(tl, srng)
    return t, x, truth


@pytest.mark.parametrize("kind", ["chronojump", "fine"])
def test_a_jump_s_take_off_comes_from_its_push_and_flight_fitted_together(kind):
    """A jump's mean propulsive velocity runs to take-off. Before the push and the flight were
    fitted together (the flight's level and speed fitted with the push's end, on every sample
    from 30 mm under the flight to past the apex), the flight parabola came from its last two
    thirds alone and the push's residual from it: on jumps whose push fades unlike the jump
    family's (seeds 500-539, none tuned on; 25 draws of loaded jumps, 75 reps) the MPV error was
    median 0.0056 m/s at Chronojump's 1 mm and 0.0050 on the fine sensors (p95 0.0230, 0.0178);
    now 0.0046 and 0.0039 (p95 0.0206, 0.0143)."""
    errors = []
    for seed in range(500, 540):
        built = _jumps_with_a_cosine_push(seed, kind)
        if built is None:
            continue
        t, x, truth = built
        reps = analyze(t, x).reps
        assert len(reps) == len(truth)
        errors += [abs(r.mean_propulsive_velocity_m_s - tr.mean_propulsive_velocity_m_s) for r, tr in zip(reps, truth)]
    assert len(errors) >= 60
    assert np.median(errors) < {"chronojump": 0.0051, "fine": 0.0045}[kind]
