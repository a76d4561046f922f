"""benchmarks/bench_floor.py: the alternative motions it counts must give exactly the samples of the
rep they stand in for, and leave its ends open; the command prints its tables."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_floor  # noqa: E402

from vbt.motions import simulate_family  # noqa: E402


@pytest.mark.parametrize("family,seed", [("forcevel", 3), ("beta", 5), ("plateau", 1)])
def test_the_extreme_alternatives_read_exactly_as_the_rep(family, seed):
    sim = simulate_family(family, seed, "chronojump")
    q = sim.sensor.quantum_m
    n = np.round(sim.true_position_m / q).astype(np.int64)
    # the counts the floor works on are the recording's own
    assert np.array_equal(np.round((sim.position_m - sim.position_m[0]) / q).astype(np.int64), n - n[0])
    exps = np.linspace(2.0, 4.0, bench_floor.GRID_P)
    checked = 0
    for tr in sim.truth:
        for onset, t_true in ((True, tr.concentric_start_s), (False, tr.concentric_end_s)):
            found = bench_floor.end_alternatives(sim.t_s, n, q, t_true, onset, 8, exps)
            if found is None:
                continue
            alts, far, j_last = found
            times = np.array([a[2] for a in alts])
            for alt in (alts[int(np.argmin(times))], alts[int(np.argmax(times))]):
                x = bench_floor.alternative_positions(sim.t_s, sim.true_position_m, q, alt, onset, far, j_last)
                assert np.array_equal(np.round(x / q).astype(np.int64), n), (tr.index, onset, alt)
                # ... and it joins the true motion at about the bar's speed there (no jump in speed)
                p, _, t_e, beta = alt
                tj = sim.t_s[j_last - 1] if onset else sim.t_s[j_last + 1]
                v_alt = p * q * (abs(tj - t_e) / beta) ** (p - 1.0) / beta
                v_true = float(sim.timeline.velocity(np.array([tj]))[0])
                assert abs(v_alt / v_true - 1.0) < 0.5, (tr.index, onset, v_alt, v_true)
            # ... and they are not all the same end: the samples leave it open by at least a ms
            assert times.max() - times.min() > 1e-3
            checked += 1
    assert checked >= 2


def test_a_force_step_and_a_force_build_up_can_read_the_same():
    """The start of a rise at constant acceleration from a still bar, on a 1 mm / 1 kHz encoder:
    an onset as t^3 (a force that builds up) starting earlier reads exactly the same."""
    t = np.arange(0.0, 0.6, 0.001)
    t0, acc = 0.2, 4.0
    x = 0.0004 + np.where(t > t0, 0.5 * acc * (t - t0) ** 2, 0.0)
    q = 0.001
    n = np.round(x / q).astype(np.int64)
    found = bench_floor.end_alternatives(t, n, q, t0, True, 8, np.array([2.0, 3.0]))
    alts, far, j_last = found
    starts = {p: [a[2] for a in alts if a[0] == p] for p in (2.0, 3.0)}
    assert min(starts[2.0]) <= t0 <= max(starts[2.0])
    assert min(starts[3.0]) < t0 - 0.005  # a t^3 onset more than 5 ms earlier matches the same samples
    early = min((a for a in alts if a[0] == 3.0), key=lambda a: a[2])
    xa = bench_floor.alternative_positions(t, x, q, early, True, far, j_last)
    assert np.array_equal(np.round(xa / q).astype(np.int64), n)


def test_the_stop_rule_the_floor_scores_is_the_simulators():
    sim = simulate_family("forcevel", 7, "chronojump")
    mv = [tr.mean_velocity_m_s for tr in sim.truth]
    assert bench_floor.stop_reps(mv)[0] == (sim.true_stop_rep(10.0, "mean") or 0)
    # by hand: the first rep more than 10 % under the best so far, never the first rep
    sets = [[1.0, 0.95, 0.89, 0.80], [1.0, 1.1, 1.0, 0.98], [0.5, 1.0, 0.95, 0.9]]
    assert list(bench_floor.stop_reps(sets)) == [3, 4, 0]


def test_a_stop_rep_is_open_only_where_the_ranges_reach_across_the_threshold():
    # rep 2 loses 9.5 %: ranges of +-0.006 m/s reach 10.6 % (1.006 against 0.899), so rep 2 may stop the set
    assert bench_floor.stop_left_open([0.994, 0.899, 0.80], [1.006, 0.911, 0.81])
    # with +-0.002 the most is 9.9 %: rep 3 stops it whatever the truth within them
    assert not bench_floor.stop_left_open([0.998, 0.903, 0.80], [1.002, 0.907, 0.81])
    # a set with no stop that a rep's range could push over the line
    assert bench_floor.stop_left_open([0.99, 0.98, 0.89], [1.01, 0.99, 0.90])
    assert bench_floor.stop_left_open(np.zeros(bench_floor.MAX_VERTICES_REPS + 1) + 0.5,
                                      np.zeros(bench_floor.MAX_VERTICES_REPS + 1) + 0.6) is None


def test_a_noisy_stop_rep_is_open_only_through_re_timings_the_readings_allow():
    mv = [1.0, 0.905, 0.80]  # rep 2 loses 9.5 %, rep 3 stops the set
    ok, weak = bench_floor.BC_MIN + 0.01, bench_floor.BC_MIN - 0.01
    # rep 2 re-timed to 0.899 (10.1 %) with readings that may be the same: rep 2 may stop the set
    assert bench_floor.stop_left_open_noisy(mv, [[(1.0, 1.0)] * 2, [(0.899, ok), (0.905, 1.0)], [(0.8, 1.0)] * 2])
    # ... not if the readings tell that re-timing apart
    assert not bench_floor.stop_left_open_noisy(mv, [[(1.0, 1.0)] * 2, [(0.899, weak), (0.905, 1.0)],
                                                     [(0.8, 1.0)] * 2])
    # two reps moved together: their coefficients multiply (0.93^2 < BC_MIN, 0.99 * 0.93 > it)
    two = [[(1.0, 1.0), (1.004, 0.93)], [(0.902, 0.93), (0.905, 1.0)], [(0.8, 1.0)] * 2]
    assert 0.93 ** 2 < bench_floor.BC_MIN < 0.93 and not bench_floor.stop_left_open_noisy(mv, two)
    two[0][1] = (1.004, 0.99)
    assert bench_floor.stop_left_open_noisy(mv, two)


def test_the_command_prints_its_table(capsys):
    assert bench_floor.main(["--seeds", "tune", "--sets", "1", "--family", "plateau"]) == 0
    out = capsys.readouterr().out
    assert "plateau" in out and "floor" in out and "stop decided" in out


def test_the_real_fixtures_table_lists_every_hand_marked_rep(capsys):
    assert bench_floor.main(["--real", "--crossings", "4"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("chronojump_")]
    assert len(lines) == 13
    # the two reps from still bottoms, whose ends the counts leave open (README, "What a 1 mm encoder leaves open")
    slow = [ln.split() for ln in lines if ln.startswith("chronojump_two_reps_slow_starts")]
    assert all(row[2] == "st" for row in slow)


def test_the_readings_overlap_as_the_noise_and_the_rounding_say():
    q, sigma = 0.0003, 0.0001
    a = np.linspace(0.0, 0.002, 50)
    assert bench_floor.bhattacharyya(a, a, q, sigma) == 1.0
    # without rounding: two Gaussians a distance d apart overlap by exp(-d^2 / (8 sigma^2)), per sample
    assert abs(bench_floor.bhattacharyya([0.0, 0.0], [0.0001, 0.0002], 0.0, sigma) - np.exp(-5.0 / 8.0)) < 1e-12
    # rounding throws information away, so the readings overlap at least as much (data processing)
    b = a + 0.00005
    assert bench_floor.bhattacharyya(a, b, q, sigma) >= bench_floor.bhattacharyya(a, b, 0.0, sigma)
    # without noise: the same counts read identically, other counts never
    assert bench_floor.bhattacharyya([0.00101], [0.00099], 0.001, 0.0) == 1.0
    assert bench_floor.bhattacharyya([0.00149], [0.00151], 0.001, 0.0) == 0.0
    # one sample, exact sum: positions on either side of a boundary, noise as large as the step
    pa = np.diff(bench_floor._normal_cdf((np.arange(-10.5, 11.5) * q - 0.0) / q))
    pb = np.diff(bench_floor._normal_cdf((np.arange(-10.5, 11.5) * q - 0.0002) / q))
    assert abs(bench_floor.bhattacharyya([0.0], [0.0002], q, q) - np.sum(np.sqrt(pa * pb))) < 1e-9


def test_a_re_timed_end_keeps_the_motion_elsewhere_and_moves_the_end():
    sim = simulate_family("plateau", 2, "fine")
    tr = sim.truth[1]
    q, sigma = sim.sensor.quantum_m, sim.sensor.noise_m
    for onset, t_end in ((True, tr.concentric_start_s), (False, tr.concentric_end_s)):
        alts = bench_floor.warp_alternatives(sim.timeline, sim.t_s, q, sigma, t_end, onset, 8)
        assert alts[0] == (t_end, 1.0)
        assert all(bc >= bench_floor.BC_MIN for _, bc in alts)
        # a re-timing is the true motion outside its window, reaches the end's level at its own end,
        # and is continuous where it joins
        d = 1.0 if onset else -1.0
        tb = t_end - d * bench_floor.STILL_S
        tj = t_end + d * 0.02
        level = sim.timeline.position(np.array([t_end]))[0]
        for t_alt, g in ((t_end + d * 0.004, 1.3), (t_end - d * 0.006, 0.8)):
            outside = np.array([tb - d * 0.01, tj + d * 0.01])
            assert np.array_equal(bench_floor.retimed(outside, t_end, tj, tb, t_alt, g), outside)
            assert abs(bench_floor.retimed(np.array([t_alt]), t_end, tj, tb, t_alt, g)[0] - t_end) < 1e-12
            near = np.array([tj - d * 1e-9, tb + d * 1e-9])
            assert np.allclose(bench_floor.retimed(near, t_end, tj, tb, t_alt, g), near, atol=1e-7)
            at_end = sim.timeline.position(bench_floor.retimed(np.array([t_alt]), t_end, tj, tb, t_alt, g))[0]
            assert abs(at_end - level) < 1e-12
        # at 1 kHz with 0.1-0.5 mm counts, some re-timing by a fraction of a ms to a few ms reads alike
        shifts = [abs(te - t_end) for te, _ in alts[1:]]
        assert shifts and 0.0 < max(shifts) < 0.05


def test_the_noisy_kind_prints_its_table(capsys):
    assert bench_floor.main(["--kind", "fine", "--seeds", "tune", "--sets", "1", "--family", "grinder"]) == 0
    out = capsys.readouterr().out
    assert "grinder" in out and "re-timed" in out and "stop decided" in out
