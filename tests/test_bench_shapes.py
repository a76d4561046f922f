"""benchmarks/bench_shapes.py: shapes built apart from vbt/motions.py. Their truth must agree with
the sampled trajectory, and the benchmark must run and print its table."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_shapes  # noqa: E402


@pytest.mark.parametrize("shape", bench_shapes.SHAPES)
def test_each_rep_rises_by_its_range_between_its_true_ends_and_is_still_outside(shape):
    t, x, truth, _ = bench_shapes.build_set(shape, 3)
    step = np.min(np.diff(np.unique(x)))
    for rep in truth:
        inside = (t >= rep.concentric_start_s) & (t <= rep.concentric_end_s)
        rise = x[inside].max() - x[inside].min()
        assert rise == pytest.approx(rep.mean_velocity_m_s * (rep.concentric_end_s - rep.concentric_start_s),
                                     abs=2 * step + 0.002)
        # never down by more than the steps and noise inside the rise
        assert np.max(np.maximum.accumulate(x[inside]) - x[inside]) < 3 * step + 0.001
        before = (t >= rep.concentric_start_s - 0.05) & (t < rep.concentric_start_s)
        assert np.ptp(x[before]) < 3 * step + 0.001  # still just before the start


def test_the_benchmark_prints_a_row_per_shape(capsys):
    assert bench_shapes.main(["--sets", "1", "--shape", "stall", "--shape", "pull", "--worst", "1"]) == 0
    out = capsys.readouterr().out
    assert "stall " in out and "pull " in out and "count" in out
