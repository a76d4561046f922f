"""benchmarks/bench_close.py: with the close unmoved it is `vbt analyze`, to the bit; moved, the
rises are analysed on fewer samples after their tops, and the command prints its table."""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_close  # noqa: E402
from bench_families import CONFIG  # noqa: E402

from vbt.analysis import analyze  # noqa: E402
from vbt.motions import simulate_family  # noqa: E402


def _numbers(res):
    return [(r.concentric_start_s, r.concentric_end_s, r.mean_velocity_m_s) for r in res.reps]


def test_the_unmoved_close_is_analyze_itself():
    sim = simulate_family("grinder", 1, "fine")
    assert _numbers(bench_close.analyze_closed_earlier(sim.t_s, sim.position_m, 0.0)) \
        == _numbers(analyze(sim.t_s, sim.position_m, CONFIG))


def test_an_earlier_close_moves_a_creeping_top_and_the_table_prints(capsys):
    sim = simulate_family("grinder", 1, "fine")
    base = _numbers(bench_close.analyze_closed_earlier(sim.t_s, sim.position_m, 0.0))
    moved = _numbers(bench_close.analyze_closed_earlier(sim.t_s, sim.position_m, 0.02))
    assert len(moved) == len(base)
    ends = np.array([m[1] - b[1] for m, b in zip(moved, base)])
    assert np.all(ends <= 1e-9) and np.any(ends < -1e-3)  # a grind's creep, seen for less long, ends earlier
    bench_close.main(["--seeds", "fresh", "--sets", "1", "--family", "jump", "--kind", "fine", "--jobs", "1"])
    out = capsys.readouterr().out
    assert "jump" in out and "stop changed" in out
