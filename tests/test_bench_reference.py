"""The throughput benchmark's NumPy/SciPy reference must do the core's job, or its ratio means
nothing: same reps, same mean velocities (within what its vectorised windows change)."""

import os
import sys

import numpy as np
import pytest

from vbt.analysis import analyze
from vbt.simulate import SensorSpec, simulate_set

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from reference_fitted import analyze_reference  # noqa: E402


@pytest.mark.parametrize("seed,sensor", [(3, SensorSpec(rate_hz=1000.0, quantum_m=0.001, noise_m=0.0002)),
                                         (21, None), (22, None)])
def test_same_job_reference_agrees_with_the_core(seed, sensor):
    sim = simulate_set(seed, sensor=sensor)
    ours = analyze(sim.t_s, sim.position_m)
    ref = analyze_reference(sim.t_s, sim.position_m)
    assert ref.shape[0] == len(ours.reps) == len(sim.truth)
    diff = np.abs(ref[:, 0] - [r.mean_velocity_m_s for r in ours.reps])
    assert np.median(diff) < 0.001 and diff.max() < 0.01
    starts = np.abs(ref[:, 3] - [r.concentric_start_s for r in ours.reps])
    assert starts.max() < 0.01
