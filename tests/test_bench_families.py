"""The per-family benchmark's scoring: reps are matched to truth by time overlap, so a missed or an
extra rep does not shift the others, and the stop rep is compared through that matching; the MPV
diagnosis tells the reps whose true MPV hinges on the exact -g threshold."""

import json
import os
import sys
from types import SimpleNamespace

import numpy as np

from vbt.results import Rep
from vbt.simulate import TrueRep

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_families  # noqa: E402


def _true(i, t0, t1, mv=0.5):
    return TrueRep(i, t0, t1, mv, mv, mv * 1.5, mv * (t1 - t0), 0.1, t1 - t0, 1.0, 0.0)


def _got(i, t0, t1, mv=0.5):
    return Rep(i, t0, t1, mv, mv, mv * 1.5, mv * (t1 - t0), 0.1, t1 - t0)


def test_a_missed_rep_does_not_shift_the_others():
    truth = [_true(1, 1.0, 2.0), _true(2, 4.0, 5.0), _true(3, 7.0, 8.0)]
    got = [_got(1, 1.02, 1.98), _got(2, 7.01, 8.03)]
    assert bench_families.match_by_overlap(truth, got) == {0: 0, 2: 1}


def test_an_extra_rep_is_left_out_and_one_measured_rep_matches_one_true_rep():
    truth = [_true(1, 1.0, 2.0), _true(2, 4.0, 5.0)]
    got = [_got(1, 0.2, 0.9), _got(2, 1.1, 2.0), _got(3, 1.9, 4.5), _got(4, 4.1, 5.1)]
    assert bench_families.match_by_overlap(truth, got) == {0: 1, 1: 3}
    # one measured rep spanning two true ones matches only the one it overlaps most
    assert bench_families.match_by_overlap(truth, [_got(1, 1.5, 5.0)]) == {1: 0}


def test_true_losses():
    truth = [_true(1, 0, 1, 0.5), _true(2, 2, 3, 0.6), _true(3, 4, 5, 0.54)]
    assert [round(v, 6) for v in bench_families.true_losses(truth)] == [0.0, 0.0, 10.0]


def test_one_set_scored_end_to_end(tmp_path):
    out = tmp_path / "r.json"
    assert bench_families.main(["--sets", "1", "--family", "beta", "--kind", "chronojump", "--worst", "2",
                                "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["table"]["beta/chronojump"]["sets"] == 1
    (s,) = data["sets"]
    assert s["exact"] and s["n_true"] == len(s["reps"]) and all(r["matched"] for r in s["reps"])


def test_a_fixed_sensor_is_a_column_of_its_own(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert bench_families.main(["--sets", "1", "--family", "jump", "--sensor", "50,1,0.1", "--worst", "0",
                                "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert list(data["table"]) == ["jump/50,1,0.1", "ALL/50,1,0.1"]
    (s,) = data["sets"]
    assert s["kind"] == "50,1,0.1" and s["samples"] < 1000  # 50 Hz: a set of ~15 s
    assert "jump      50,1,0.1  " in capsys.readouterr().out


def test_exported_sets_read_back_as_the_simulated_stream(tmp_path):
    from vbt.io import read_recording
    from vbt.motions import simulate_family

    assert bench_families.main(["--sets", "1", "--family", "jump", "--export", str(tmp_path)]) == 0
    for kind, ext in (("csv", "csv"), ("chronojump", "txt")):
        sim = simulate_family("jump", 0, kind)
        rec = read_recording(tmp_path / f"jump-{kind}-0.{ext}")
        assert rec.source_format == kind and rec.t_s.size == sim.t_s.size
        assert abs((rec.position_m - rec.position_m[0]) - (sim.position_m - sim.position_m[0])).max() < 2e-6
        truth = json.loads((tmp_path / f"jump-{kind}-0.truth.json").read_text())
        assert [r["mean_velocity_m_s"] for r in truth["reps"]] == [r.mean_velocity_m_s for r in sim.truth]


def test_a_cut_set_is_scored(capsys):
    """--cut: a touch-and-go set cut halfway into its first and last rises has both cut reps marked,
    neither the best nor the STOP, and no rep of the whole recording marked."""
    s = bench_families.cut_set(("bounce", "fine", 100003))
    assert (s["first"], s["first_marked"], s["last"], s["last_marked"]) == (1, 1, 1, 1)
    assert not s["cut_best"] and not s["cut_stop"] and s["whole_marked"] == 0 and s["whole_reps"] == 3
    assert s["exact_reps"] == 1 and s["exact_marked"] == 0
    bench_families.print_cut([s], ["bounce"], ["fine"])
    assert "bounce    fine           1      1/1" in capsys.readouterr().out


class _Braking:
    """A rise from rest: +8 m/s^2 for 0.25 s, 2 m/s for 0.2 s, then braking at ``brake`` m/s^2 to a stop."""

    def __init__(self, brake):
        self.a_up, self.t_up, self.t_flat, self.brake = 8.0, 0.25, 0.2, brake
        self.vp = self.a_up * self.t_up
        self.t_end = self.t_up + self.t_flat + self.vp / brake

    def position(self, t):
        t = np.asarray(t, dtype=float)
        up = 0.5 * self.a_up * np.minimum(t, self.t_up) ** 2
        flat = self.vp * np.clip(t - self.t_up, 0.0, self.t_flat)
        s = np.clip(t - self.t_up - self.t_flat, 0.0, None)
        return up + flat + self.vp * s - 0.5 * self.brake * s**2


def _braking_set(brake):
    tl = _Braking(brake)
    rom = float(tl.position([tl.t_end])[0])
    tr = TrueRep(1, 0.0, tl.t_end, rom / tl.t_end, rom / tl.t_end, tl.vp, rom, tl.t_up, tl.t_end, 1.0, 0.0)
    return SimpleNamespace(timeline=tl), tr


def test_the_mpv_spread_flags_braking_at_g_and_not_braking_well_past_it():
    sim, tr = _braking_set(9.81)  # braking at exactly g: the propulsive phase ends at the braking or never
    spread = bench_families.mpv_spread(sim, tr, "forcevel")
    assert abs(spread) > 0.1, spread  # MPV 1.44 (to the braking onset) against MV 1.31 (the whole phase)
    sim, tr = _braking_set(20.0)  # braking at 2 g: both thresholds end it at the braking onset
    assert abs(bench_families.mpv_spread(sim, tr, "forcevel")) < 0.005
    sim, tr = _braking_set(5.0)  # braking at g/2: neither threshold ends it, MPV = MV
    assert abs(bench_families.mpv_spread(sim, tr, "forcevel")) < 1e-9
    assert bench_families.mpv_spread(sim, tr, "jump") == 0.0  # take-off, not a threshold
