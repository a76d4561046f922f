"""The independent motion families (vbt/motions.py): their truth must be exact and self-consistent.

The truth is checked against the dense trajectory itself, differentiated numerically: ROM, MV and PV
agree, the velocity is >= 0 through each concentric phase (a grinder's hold is 0, never below) and
~0 at its ends, the jump's apex is approached at exactly -g, a bounce has no still bottom, and
seeds reproduce. These tests say nothing about the estimator; benchmarks/bench_families.py does.
"""

import numpy as np
import pytest

from vbt.io import parse_chronojump_text
from vbt.motions import FAMILIES, chronojump_text, simulate_family
from vbt.simulate import G, SimulatedSet

FINE_S = 2e-5


def _dense(sim, t0, t1):
    t = np.arange(t0, t1 + FINE_S / 2, FINE_S)
    return t, sim.timeline.position(t)


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "beta"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_truth_matches_the_trajectory(family, seed):
    sim = simulate_family(family, seed)
    assert isinstance(sim, SimulatedSet)
    assert 3 <= len(sim.truth) <= 12
    for rep in sim.truth:
        t, x = _dense(sim, rep.concentric_start_s, rep.concentric_end_s)
        v = np.diff(x) / FINE_S  # mean velocity over each 20 us step
        assert x[-1] - x[0] == pytest.approx(rep.rom_m, abs=1e-7)
        assert rep.rom_m >= 0.2
        assert rep.mean_velocity_m_s == pytest.approx(rep.rom_m / rep.concentric_duration_s, rel=1e-12)
        assert rep.concentric_duration_s == pytest.approx(rep.concentric_end_s - rep.concentric_start_s, abs=1e-12)
        assert v.max() == pytest.approx(rep.peak_velocity_m_s, abs=2e-4)
        assert v.min() > -1e-6, "the bar descends inside a concentric phase"
        assert abs(v[0]) < 2e-3 and abs(v[-1]) < 2e-3  # ~0 at both ends
        assert rep.mean_velocity_m_s <= rep.mean_propulsive_velocity_m_s + 1e-12 or family == "smooth"
        assert rep.mean_propulsive_velocity_m_s <= rep.peak_velocity_m_s
        # the phase is a whole rise: just outside it the bar is still or going the other way
        before = sim.timeline.velocity(np.array([rep.concentric_start_s - 1e-5]))[0]
        after = sim.timeline.velocity(np.array([rep.concentric_end_s + 1e-5]))[0]
        assert before <= 1e-9 and after <= 1e-9
        # MPV from the trajectory: up to the first instant after PV where the acceleration is below
        # -g (for a jump: reaches -g, at take-off)
        acc = np.diff(x, 2) / FINE_S**2
        k = int(np.argmax(v))
        limit = -G + (1e-3 if family == "jump" else 0.0)
        below = np.nonzero(acc[k:] < limit)[0]
        j = k + int(below[0]) + 1 if below.size else x.size - 1
        assert (x[j] - x[0]) / (t[j] - t[0]) == pytest.approx(rep.mean_propulsive_velocity_m_s, abs=2e-3)


def test_jump_apex_decelerates_at_g_and_propulsion_ends_at_takeoff():
    sim = simulate_family("jump", 5)
    for rep in sim.truth:
        t, x = _dense(sim, rep.concentric_end_s - 0.08, rep.concentric_end_s)
        acc = np.diff(x, 2) / FINE_S**2
        assert np.allclose(acc, -G, atol=1e-3)
        assert 1.2 <= rep.mean_velocity_m_s <= 2.9  # 1.5-2.7 for the first jump, fatigue after
        assert 0.2 <= rep.concentric_duration_s <= 0.7
        assert rep.mean_propulsive_velocity_m_s > rep.mean_velocity_m_s  # take-off comes before the apex
        down = sim.timeline.velocity(np.linspace(rep.concentric_start_s - rep.eccentric_duration_s,
                                                 rep.concentric_start_s, 2000))
        assert 0.9 <= -down.min() <= 2.2  # countermovement at 1-2 m/s


def test_bounce_has_no_still_bottom():
    sim = simulate_family("bounce", 7)
    for rep in sim.truth:
        assert rep.bottom_pause_s == 0.0
        t0 = rep.concentric_start_s
        v = sim.timeline.velocity(np.array([t0 - 0.01, t0 - 0.002, t0 + 0.002, t0 + 0.01]))
        assert v[0] < v[1] < 0 < v[2] < v[3]
        slope = (v[2] - v[1]) / 0.004
        assert 15.0 <= slope <= 75.0  # 20-60 m/s^2 at the turning point (+-20 % per rep)


def test_grinder_hold_is_inside_the_phase():
    found = 0
    for seed in range(30):
        sim = simulate_family("grinder", seed)
        for role, t0, t1 in sim.timeline.phases:
            if role != "concentric hold":
                continue
            found += 1
            rep = next(r for r in sim.truth if r.concentric_start_s < t0 < r.concentric_end_s)
            assert 0.3 <= t1 - t0 <= 0.5
            assert np.all(sim.timeline.velocity(np.linspace(t0, t1, 50)) == 0.0)
            assert rep.concentric_end_s > t1
    assert found >= 3


@pytest.mark.parametrize("family", FAMILIES)
def test_seeds_reproduce(family):
    a, b = simulate_family(family, 11), simulate_family(family, 11)
    assert np.array_equal(a.t_s, b.t_s) and np.array_equal(a.position_m, b.position_m)
    assert a.truth == b.truth
    c = simulate_family(family, 12)
    assert a.truth != c.truth


@pytest.mark.parametrize("family", FAMILIES)
def test_chronojump_kind_is_the_raw_format(family, tmp_path):
    sim = simulate_family(family, 3, "chronojump")
    text = chronojump_text(sim)
    rec = parse_chronojump_text(text)
    assert np.array_equal(rec.t_s, sim.t_s)
    assert np.allclose(rec.position_m, sim.position_m - sim.position_m[0], atol=1e-9)
    counts = np.array(text.split(", "), dtype=int)
    assert np.abs(counts).max() <= 10
    # the same seed moves the same way under either sensor kind
    assert simulate_family(family, 3, "csv").truth == sim.truth


@pytest.mark.parametrize("family", ["forcevel", "beta"])
def test_a_vibrating_cable_moves_the_samples_not_the_lift(family):
    """bench_families.py --vibration: the same lift and truth, the samples moved by at most the
    vibration and a step, at 20-60 Hz; without it, the set is the one every figure comes from."""
    plain = simulate_family(family, 5, "fine")
    assert np.array_equal(simulate_family(family, 5, "fine", 0.0).position_m, plain.position_m)
    shaken = simulate_family(family, 5, "fine", 0.0006)
    assert shaken.truth == plain.truth and np.array_equal(shaken.t_s, plain.t_s)
    assert 20.0 <= shaken.sensor.vibration_hz <= 60.0 and shaken.sensor.vibration_m == 0.0006
    moved = np.abs(shaken.position_m - plain.position_m)
    assert 0.0004 < moved.max() <= 0.0006 + 2 * plain.sensor.quantum_m


def test_csv_sensor_range():
    for seed in range(10):
        s = simulate_family("smooth", seed, "csv").sensor
        assert 100.0 <= s.rate_hz <= 1000.0 and 0.0002 <= s.quantum_m <= 0.001


def test_unknown_family_or_kind():
    with pytest.raises(ValueError):
        simulate_family("yoga", 1)
    with pytest.raises(ValueError):
        simulate_family("jump", 1, "serial")
    for bad in ("50,1", "50,1,x", "0,1,0", "100,-1,0", "100,1,nan"):
        with pytest.raises(ValueError, match="sensor"):
            simulate_family("jump", 1, bad)


@pytest.mark.parametrize("family", ["grinder", "beta"])
def test_a_fixed_sensor_samples_the_same_lift(family):
    """bench_families.py --sensor: the seed's lift and truth, sampled at the rate and step given, with
    the noise given (none: exactly the true position rounded to the step; no step: unrounded)."""
    ref = simulate_family(family, 4, "fine")
    sim = simulate_family(family, 4, "200,2,0")
    assert sim.truth == ref.truth
    assert np.allclose(np.diff(sim.t_s), 1 / 200.0)
    assert np.array_equal(sim.position_m, np.round(sim.true_position_m / 0.002) * 0.002)
    smooth = simulate_family(family, 4, "500,0,0")
    assert np.array_equal(smooth.position_m, smooth.true_position_m)
    noisy = simulate_family(family, 4, "500,0,0.3")
    assert 0.00025 < np.std(noisy.position_m - noisy.true_position_m) < 0.00035


def test_plateau_brakes_harder_than_gravity_and_forcevel_sometimes_does():
    for seed in range(3):
        for rep in simulate_family("plateau", seed).truth:
            assert rep.mean_propulsive_velocity_m_s > rep.mean_velocity_m_s  # braking below -g found
            assert rep.peak_velocity_m_s < 1.3 * rep.mean_velocity_m_s  # a plateau, not a peak
    braking = [r.mean_propulsive_velocity_m_s > r.mean_velocity_m_s
               for seed in range(20) for r in simulate_family("forcevel", seed).truth]
    assert 0.1 < sum(braking) / len(braking) < 0.9
