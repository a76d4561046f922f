"""Accuracy on motion families the estimator does not assume (vbt/motions.py), on seeds the
tuning never saw (tuning used 0-14 of each family; these run from 200000), and the property every
reported rep must have whatever its shape: its ends agree with the raw samples.

The bounds below are regression guards at today's figures (from the run quoted in each comment,
with margin), not the issue's targets: README states per family which targets are met and which
are not. `python benchmarks/bench_families.py --seeds fresh` prints the full table.
"""

import os
import sys

import numpy as np
import pytest

from vbt.analysis import analyze
from vbt.config import AnalysisConfig, SegmentationConfig, StopRuleConfig
from vbt.motions import FAMILIES, simulate_family
from vbt.results import Rep
from vbt.stoprule import StopRule

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_families  # noqa: E402

SEEDS = range(200000, 200008)

# family: MV p95 bound (both sensor kinds). Today on these seeds, csv / chronojump: forcevel
# 0.014 / 0.023, bounce 0.016 / 0.024, jump 0.010 / 0.007, plateau 0.009 / 0.027, grinder
# 0.008 / 0.007, smooth 0.031 / 0.052, beta 0.006 / 0.013. Guards at about 1.3x the worse kind where
# tightened this round (bounce and jump, after the vertex start: jump was 0.020 / 0.019); the others
# kept from the round they were set in.
MV_P95_BOUND = {
    "forcevel": 0.037,
    "bounce": 0.032,
    "jump": 0.013,
    "plateau": 0.048,
    "grinder": 0.024,
    "smooth": 0.065,
    "beta": 0.033,
}


@pytest.fixture(scope="module")
def scored():
    out = {}
    for family in FAMILIES:
        for kind in ("csv", "chronojump"):
            results = [bench_families.score_set((family, kind, seed)) for seed in SEEDS]
            out[family, kind] = (results, bench_families.summarise(results))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_rep_count_and_mean_velocity_per_family(scored, family):
    for kind in ("csv", "chronojump"):
        results, summary = scored[family, kind]
        missed = sum(1 for s in results for r in s["reps"] if r["matched"] is None)
        extra = sum(len(s["extra"]) for s in results)
        assert missed + extra <= 1, f"{family}/{kind}: {missed} missed, {extra} extra reps"
        assert summary["mv_p95"] <= MV_P95_BOUND[family], f"{family}/{kind}: MV p95 {summary['mv_p95']:.4f}"
        assert summary["rom_p95"] <= 0.003, f"{family}/{kind}: ROM p95 {summary['rom_p95'] * 1000:.1f} mm"


def _step_and_noise(x):
    dx = np.abs(np.diff(x))
    moved = dx[dx > 0]
    step = float(moved.min()) if moved.size else 0.0
    return step


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_every_reported_rep_agrees_with_its_raw_samples(family):
    """No start while the recorded bar still descends, no end while it still rises, no descent
    inside the phase, and the reported ROM is the recorded rise between the reported ends, each
    within the encoder step and the recording's noise (the sensor's noise sd is known here)."""
    for seed in SEEDS:
        sim = simulate_family(family, seed, "csv")
        t, x = sim.t_s, sim.position_m
        tol = 2.0 * _step_and_noise(x) + 8.0 * sim.sensor.noise_m + 0.0003
        res = analyze(t, x, AnalysisConfig())
        for rep in res.reps:
            i0 = int(np.searchsorted(t, rep.concentric_start_s))
            i1 = int(np.searchsorted(t, rep.concentric_end_s, side="right"))
            x0 = float(np.interp(rep.concentric_start_s, t, x))
            x1 = float(np.interp(rep.concentric_end_s, t, x))
            inside = x[i0:i1]
            where = f"{family} seed {seed} rep {rep.index}"
            assert abs((x1 - x0) - rep.rom_m) <= tol, f"{where}: ROM {rep.rom_m:.4f} vs recorded {x1 - x0:.4f}"
            assert inside.min() >= x0 - tol, f"{where}: the bar goes below the start inside the rep"
            drawdown = np.maximum.accumulate(inside) - inside
            assert drawdown.max() <= tol, f"{where}: a descent of {drawdown.max() * 1000:.1f} mm inside the rep"
            after = x[i1:int(np.searchsorted(t, rep.concentric_end_s + 0.05))]
            if after.size:
                assert after.max() <= x1 + tol, f"{where}: the bar still rises after the end"


def test_a_rep_too_fast_for_its_sampling_is_doubtful_and_never_stops_the_set():
    # a 0.2 s, 30 cm rise seen at 25 Hz: five samples in the phase
    fs = 25.0
    t = np.arange(0, 12.0, 1 / fs)
    x = np.full(t.size, 1.0)
    for start in (2.0, 5.0, 8.0):
        up = (t >= start) & (t < start + 0.2)
        x[up] = 1.0 - 0.3 + 0.3 * (1 - np.cos(np.pi * (t[up] - start) / 0.2)) / 2
        down = (t >= start - 1.0) & (t < start)
        x[down] = 1.0 - 0.3 * (1 - np.cos(np.pi * (t[down] - start + 1.0) / 1.0)) / 2
        hold = (t >= start + 0.2) & (t < start + 1.0)
        x[hold] = 1.0
    res = analyze(t, x, AnalysisConfig())
    assert len(res.reps) == 3
    assert all(r.doubtful for r in res.reps)
    assert "few samples" in res.reps[0].quality
    assert res.stop_rep is None


def test_the_stop_rule_never_takes_a_doubtful_rep_as_best_nor_stops_on_it():
    rule = StopRule(StopRuleConfig(10.0, "mean"))

    def rep(i, mv, quality="ok"):
        return Rep(i, 0.0, 1.0, mv, mv, mv, mv, 0.3, 1.0, quality=quality)

    assert rule.add(rep(1, 0.60)).best_rep == 1
    verdict = rule.add(rep(2, 0.90, "ends uncertain: the recorded bar goes down inside the rise"))
    assert verdict.best_rep == 1 and not verdict.stop
    verdict = rule.add(rep(3, 0.30, "too few samples for this rep's speed"))
    assert not verdict.stop and verdict.velocity_loss_pct == pytest.approx(50.0)
    verdict = rule.add(rep(4, 0.58))
    assert not verdict.stop  # 3.3 % below rep 1, the best; rep 2 never counted
    assert rule.add(rep(5, 0.50)).stop


def test_an_exercise_sets_its_minimum_range():
    # a hip thrust moves the bar 12 cm: below the default 15 cm minimum, above the hip thrust's 8 cm
    fs = 500.0
    t = np.arange(0, 10.0, 1 / fs)
    x = np.zeros(t.size)
    for start in (2.0, 5.0):
        seg = (t >= start) & (t < start + 2.0)
        x[seg] = 0.12 * np.sin(np.pi * (t[seg] - start) / 2.0) ** 2
    x = np.round(x / 0.0005) * 0.0005
    assert analyze(t, x, AnalysisConfig()).reps == ()
    from vbt.exercises import BUILTIN_EXERCISES, find_exercise

    hip = find_exercise("barbell hip thrust", BUILTIN_EXERCISES)
    res = analyze(t, x, AnalysisConfig(segmentation=SegmentationConfig(min_rom_m=hip.min_rom_m)))
    assert len(res.reps) == 2
    assert all(abs(r.rom_m - 0.12) < 0.002 for r in res.reps)
    assert find_exercise("loaded jump", BUILTIN_EXERCISES).name == "jump squat"


@pytest.mark.slow
def test_jump_mean_propulsive_velocity_ends_at_take_off(scored):
    """A jump's propulsive phase ends at take-off, which the 10 Hz filter smears into the flight;
    the fitted take-off keeps MPV close. Today on these seeds p95 0.029 csv / 0.022 Chronojump;
    with the push's exponent taken from five values (2, 2.5 ... 4) and the take-off from a grid,
    0.038 / 0.042; the filtered crossing alone gave ~0.15. Guard at about 1.3x."""
    for kind in ("csv", "chronojump"):
        _, summary = scored["jump", kind]
        assert summary["mpv_p95"] <= 0.038, f"jump/{kind}: MPV p95 {summary['mpv_p95']:.4f}"


@pytest.mark.slow
@pytest.mark.parametrize("family", ["forcevel", "plateau"])
def test_a_noiseless_encoders_still_reading_does_not_move_the_start(family):
    """A 1 mm encoder without noise reads a still bar as one count, up to half a step away from
    where the bar is. Fitted on the samples, the start followed that error: 41 ms later per step
    the reading lay above the bar on both families (median |start error| 9.5 and 15.7 ms on these
    seeds). Fitted on the crossings of the counts with the level free within the count
    (vbt.kernels.staircase): 16 and 12 ms per step, medians 5.6 and 6.4 ms."""
    bias, err = [], []
    for seed in range(200000, 200012):
        scored_set = bench_families.score_set((family, "chronojump", seed))
        sim = simulate_family(family, seed, "chronojump")
        for r in scored_set["reps"]:
            if not r["matched"]:
                continue
            level = float(sim.timeline.position(np.array([r["true_start"]]))[0])
            before = int(np.searchsorted(sim.t_s, r["true_start"])) - 5  # the still reading
            bias.append((sim.position_m[before] - level) / sim.sensor.quantum_m)
            err.append(r["got_start"] - r["true_start"])
    assert len(err) >= 60
    slope = np.polyfit(bias, err, 1)[0]
    assert slope < 0.025, f"{family}: the start moves {slope * 1000:.0f} ms per step of the reading's error"
    assert np.median(np.abs(err)) < 0.008


@pytest.mark.slow
def test_the_crossings_fit_holds_when_the_samples_leave_the_grid():
    """A live byte clock stamps a Chronojump stream a little unevenly, so its samples fall between
    the 1 kHz grid's points and the resampled window is no longer a whole number of counts at every
    sample. The crossings fit takes the step from the raw samples and finds each boundary where the
    window first reaches it, so it still runs: under warps of +-0.05 % of the spacing, forcevel reps
    at 1 mm move 0.09 % at the median and 4 % of them by more than 0.5 % (when the fit needed whole
    counts: 0.77 % and 54 %)."""
    moved = []
    for seed in range(200000, 200006):
        moved += bench_families.continuity_set(("forcevel", "chronojump", seed, 0.05))["moved"]
    moved = np.array(moved)
    assert moved.size >= 100
    assert np.median(moved) < 0.003
    assert np.mean(moved > 0.005) < 0.15


def _start_errors(family, kind, seeds):
    """Measured minus true start (s) of every matched rep of these sets."""
    err = []
    for seed in seeds:
        scored_set = bench_families.score_set((family, kind, seed))
        err += [r["got_start"] - r["true_start"] for r in scored_set["reps"] if r["matched"]]
    return np.array(err)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["bounce", "jump"])
def test_a_turn_without_a_stop_starts_the_rep_where_the_bar_turned(family):
    """Touch-and-go reps and a jump's countermovement turn without a still instant. The branches of
    the bottom's fit (power laws over ~3 % of the range) bend away from each other on their own time
    scales and put the turn late: bounce +1.5 ms at the median on these seeds at 1 kHz and 0.1-0.5
    mm, 3.3 ms at the 90th percentile. The cubic about the lowest point
    (vbt.kernels.turning.vertex_fit): +0.02 ms, 0.36 ms; jump 0.09 and 0.25 ms."""
    err = _start_errors(family, "fine", range(200000, 200008))
    assert err.size >= 40
    assert abs(np.median(err)) < 0.0004
    assert np.percentile(np.abs(err), 90) < 0.001


@pytest.mark.slow
def test_a_correction_before_a_grind_stays_out_of_the_rep_on_a_noisy_fine_sensor():
    """A grinder shifts the bar a few mm and holds it before the rise; the rise starts after the hold.
    A 1 kHz sensor of 0.1-0.5 mm with up to 0.2 mm of noise never read the hold as still within a
    step (its samples span several sd of the noise), and 6 of these 71 reps started at the
    correction's dip, 0.15-0.48 s early. Held still within the noise too: 3 (Known gaps: a hold whose
    samples also span a step)."""
    err = _start_errors("grinder", "fine", range(200000, 200016))
    assert err.size >= 60
    assert np.sum(err < -0.15) <= 3


def _grinds_stay_whole(sensor, seeds):
    for seed in seeds:
        sim = simulate_family("grinder", seed, sensor)
        res = analyze(sim.t_s, sim.position_m, bench_families.CONFIG)
        assert len(res.reps) == len(sim.truth)
        match = bench_families.match_by_overlap(sim.truth, res.reps)
        assert len(match) == len(sim.truth)
        for i, j in match.items():
            assert abs(res.reps[j].rom_m - sim.truth[i].rom_m) < 0.005, (seed, i + 1)
            assert abs(res.reps[j].concentric_start_s - sim.truth[i].concentric_start_s) < 0.1, (seed, i + 1)


def test_a_grind_s_hold_mid_rise_stays_in_the_rep_on_a_30_hz_sensor():
    """A 30 Hz sensor with 0.2 mm of noise and 0.5 mm steps: the scatter about the 10 Hz filter
    misses most of its noise (the filter keeps what lies below its cut-off), and the end checks took
    the noise on a grind's isometric hold mid-rise for a descent; the rep was cut at the hold and
    its first 80-210 mm were lost. These sets lost one to three reps each that way."""
    _grinds_stay_whole("30,0.5,0.2", (100011, 100012, 100013, 100014, 100015))


def test_a_20_hz_sensor_is_read_at_its_own_rate():
    """Each raw gap was clipped at 25 ms (a per-tick encoder's pauses are not its rate), so a 20 Hz
    sensor read as 40 Hz: its end checks compared samples half a reading apart and cut grinds at
    their holds (these four sets lost a rep's first part each), and a rep of 5-7 readings was not
    said to have too few."""
    _grinds_stay_whole("20,0.5,0.3", (100009, 100011, 100012, 100015))
    t = np.arange(0.0, 4.0, 1 / 20.0)
    x = 0.5 + 0.3 * np.clip(t - 1.0, 0.0, 0.3) / 0.3  # a 0.3 s rise at 1 m/s: 6 readings
    res = analyze(t, x, AnalysisConfig())
    assert len(res.reps) == 1 and "few samples" in res.reps[0].quality
    assert res.stop_rep is None


def test_a_grind_s_lockout_creep_is_not_closed_by_the_noise():
    """On "fine" sensors with 0.4-0.5 mm steps and 0.03-0.11 mm of noise, two single samples 0.13 s
    apart can differ by a count either way, so a lockout creep of 2-6 mm/s read as risen by under
    0.5 mm: the rep closed 40-190 ms before its top and the end fit, whose window ends at the close,
    ended it there (MV +3 to +6 %, and these sets' stop reps wrong). The close now also asks it of
    the level now and a look-back ago, each from many samples (vbt.kernels.stream.STILL_MEAN_SHARE)."""
    for seed, rep, tol in ((3, 3, 0.02), (16, 5, 0.01), (58, 3, 0.025)):
        scored = bench_families.score_set(("grinder", "fine", seed))
        r = scored["reps"][rep - 1]
        assert r["matched"] and abs(r["mv"]) < tol * r["true_mv"], (seed, rep, r["mv"] / r["true_mv"])
        assert scored["clear"] and scored["stop_ok"], (seed, scored["true_stop"], scored["got_stop"])


@pytest.mark.slow
def test_the_whole_phase_shape_stays_off_a_plateau_s_ends_at_1_mm():
    """A plateau rep braking to its top is not Beta-shaped, yet the whole-phase Beta fit's ends were
    taken wherever they lay within three times the local fit's uncertainty of its own, which at 1 mm
    is tens of ms (ends 15-28 ms late on forcevel and plateau tuning seeds). Within two times (never
    below two raw sample spacings): MV p95 on these seeds 0.0196 -> 0.0125."""
    mv = []
    for seed in range(200000, 200016):
        scored_set = bench_families.score_set(("plateau", "chronojump", seed))
        mv += [abs(r["mv"]) for r in scored_set["reps"] if r["matched"]]
    assert len(mv) >= 100
    assert np.percentile(mv, 95) < 0.016


@pytest.mark.slow
def test_a_slow_lead_in_on_a_1_mm_encoder_does_not_pull_the_start_far_back():
    """A rise that creeps at 15-40 % of its later speed, then drives: the crossings of a noiseless
    1 mm encoder's counts speed up as the lead-in ends, the highest exponent of the crossings fit
    matches them best, and its start lay up to 97 ms before the true one on these seeds (145 ms on
    smooth tuning seed 7). The crossings fit corrects the level of the still reading, which moves
    the start by 40-47 ms per step; held to 40 ms from the samples' fit, the earliest is 71 ms."""
    err = _start_errors("smooth", "chronojump", range(200000, 200030))
    assert err.size >= 200
    assert err.min() > -0.085, f"a start {-1000 * err.min():.0f} ms early"


def _half_sine_set(seed, step_m, raised_cosine=False):
    """Reps whose velocity is half a sine (from rest, back to rest; not a Beta profile: its ends'
    exponent is that of Beta(2, 2), its body is flatter), descents the same way, a still pause at
    the bottom and at the top; sampled at 1 kHz by a noiseless encoder of ``step_m``. Returns t, x
    and each rep's true (start, end, mean velocity). ``raised_cosine``: the rises' velocity is
    1 - cos(2 pi u) instead (ends as Beta(3, 3)'s, a fuller body)."""
    rng = np.random.default_rng([seed, 77])
    dt = 1e-4
    v, truth = [np.zeros(10000)], []
    rom, n, mv0 = rng.uniform(0.3, 0.6), int(rng.integers(4, 9)), rng.uniform(0.3, 1.2)

    def half_sine(dur, sign):
        return sign * rom / dur * np.pi / 2 * np.sin(np.pi * np.arange(0.0, 1.0, dt / dur))

    def raised(dur):
        return rom / dur * (1.0 - np.cos(2.0 * np.pi * np.arange(0.0, 1.0, dt / dur)))

    for k in range(n):
        v.append(half_sine(rom / rng.uniform(0.4, 0.8), -1.0))
        v.append(np.zeros(int(rng.uniform(0.2, 0.8) / dt)))
        start = sum(s.size for s in v) * dt
        dur = rom / (mv0 * (1.0 - 0.03 * k))
        v.append(raised(dur) if raised_cosine else half_sine(dur, 1.0))
        end = sum(s.size for s in v) * dt
        truth.append((start, end, rom / (end - start)))
        v.append(np.zeros(int(rng.uniform(0.3, 1.5) / dt)))
    v = np.concatenate(v)
    x = 1.0 + np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2 * dt)])
    t = np.arange(0.0, (x.size - 1) * dt, 1e-3)
    return t, np.round(np.interp(t, np.arange(x.size) * dt, x) / step_m) * step_m, truth


@pytest.mark.parametrize("step_m, before", [(0.0002, 0.0097), (0.0005, 0.0116)])
def test_a_half_sine_rep_keeps_its_ends_from_the_local_fits(step_m, before):
    """A half-sine rep from rest is not Beta-shaped, yet the whole-phase Beta fit was taken and
    placed its ends wide at either end. On 0.2 mm steps its residual reached up to 2 times the
    noise (the Beta family's own reps lie under 1.25 times it from 100 Hz up, half-sines around
    1.07, a tenth above 1.56): at a limit of 1.0, median MV error 0.0097 -> 0.0016. On 0.5 mm steps
    its whole residual stays within the noise, but near each end it fits the samples worse than
    the local branch does by tens of noise variances (the Beta family's own reps: around 0): with
    that checked too (SHAPE_END_EXCESS), 0.0116 (MV 2.2 % low) -> 0.0030; with the profile's body
    factor (SHAPE_BODY_GAIN) 0.0016. (At 1 mm neither check tells the shapes apart and the Beta fit
    widened them, median 0.0125; the body factor follows the half sine there too: 0.0041.)"""
    err = []
    for seed in range(12):
        t, x, truth = _half_sine_set(seed, step_m)
        reps = analyze(t, x).reps
        assert len(reps) == len(truth)
        err += [abs(r.mean_velocity_m_s - mv) for r, (_, _, mv) in zip(reps, truth)]
    assert np.median(err) < 0.005 < before


def test_a_raised_cosine_rep_is_placed_by_the_profile_with_a_body_factor():
    """A raised-cosine rep (velocity 1 - cos 2 pi u) from rest on a noiseless 0.5 mm encoder: the
    whole-phase Beta fit matched its body only with tails too steep, passed every check, and placed
    both ends wide (median MV error 0.0197, 3.8 % low). With the body factor exp(c s (1 - s)) freed
    where the samples ask for it (vbt/kernels/rep.py SHAPE_BODY_GAIN), 0.0045. (At 1 mm the samples
    do not tell the shapes apart, and it is still 4.4 % low: README, Known gaps.)"""
    err = []
    for seed in range(12):
        t, x, truth = _half_sine_set(seed, 0.0005, raised_cosine=True)
        reps = analyze(t, x).reps
        assert len(reps) == len(truth)
        err += [abs(r.mean_velocity_m_s - mv) for r, (_, _, mv) in zip(reps, truth)]
    assert np.median(err) < 0.006


def test_a_lead_in_s_start_comes_from_a_shorter_window():
    """A smooth-family rep whose bar creeps up before the push (tuning seed 18, rep 5, on its csv
    sensor: 146 Hz, 0.5 mm steps): 6 mm in the first 0.2 s, under 0.08 m/s, then the push to 1.06
    m/s. One power law over the whole start window spanned creep and push and started the rep 54 ms
    early (MV -0.028 m/s); the fit on a shorter window, where that one fails, starts it within 10 ms
    (measured: 2.6 ms early)."""
    sim = simulate_family("smooth", 18, "csv")
    res = analyze(sim.t_s, sim.position_m, bench_families.CONFIG)
    match = bench_families.match_by_overlap(sim.truth, res.reps)
    truth, got = sim.truth[4], res.reps[match[4]]
    assert abs(got.concentric_start_s - truth.concentric_start_s) < 0.010
    assert abs(got.mean_velocity_m_s - truth.mean_velocity_m_s) < 0.01
