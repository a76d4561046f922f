"""Bands and chains (vbt.resistance): force and power from the load at each height, velocities unchanged.

Known answers from the work-energy theorem: a band whose tension rises linearly from ``B`` at the
bottom to ``T`` at the top does work ``(B + T) / 2 · ROM`` over the rise, so the mean power grows by
exactly ``(B + T) / 2 · MV``; a constant pull ``P`` adds exactly ``P`` to the mean force; a chain of
``c`` kg per metre adds ``c g ROM / 2 · MV`` to the mean power.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vbt.analysis import analyze
from vbt.config import AnalysisConfig
from vbt.fields import accommodation_problems
from vbt.resistance import Accommodation, from_fields
from vbt.simulate import simulate_set

VELOCITY_FIELDS = ("concentric_start_s", "concentric_end_s", "mean_velocity_m_s", "mean_propulsive_velocity_m_s",
                   "peak_velocity_m_s", "rom_m", "time_to_peak_velocity_s", "concentric_duration_s",
                   "eccentric_duration_s", "bottom_pause_s", "velocity_loss_pct", "quality")
LOAD = 80.0


@pytest.fixture(scope="module")
def squat():
    sim = simulate_set(7, style="squat", n_reps=4, partial_rep_after=None)
    plain = analyze(sim.t_s, sim.position_m, AnalysisConfig(load_kg=LOAD))
    assert len(plain.reps) == 4
    return sim, plain


def _with(sim, acc):
    return analyze(sim.t_s, sim.position_m, AnalysisConfig(load_kg=LOAD, accommodation=acc))


def test_velocities_are_unaffected(squat):
    sim, plain = squat
    banded = _with(sim, Accommodation(band_top_n=600.0, band_bottom_n=150.0, chain_kg_per_m=40.0))
    assert banded.best_rep == plain.best_rep and banded.stop_rep == plain.stop_rep
    for a, b in zip(plain.reps, banded.reps):
        for name in VELOCITY_FIELDS:
            assert getattr(a, name) == getattr(b, name), name
        assert b.mean_power_w > a.mean_power_w and b.peak_force_n > a.peak_force_n


def test_no_tension_gives_the_kernels_figures(squat):
    sim, plain = squat
    zero = _with(sim, Accommodation(band_top_n=0.0, band_bottom_n=0.0))
    for a, b in zip(plain.reps, zero.reps):
        assert b.mean_force_n == pytest.approx(a.mean_force_n, rel=1e-12)
        assert b.mean_power_w == pytest.approx(a.mean_power_w, rel=1e-12)
        assert b.peak_force_n == pytest.approx(a.peak_force_n, rel=1e-9)
        assert b.peak_power_w == pytest.approx(a.peak_power_w, rel=1e-9)


def test_linear_band_adds_its_work_to_mean_power(squat):
    sim, plain = squat
    bottom, top = 200.0, 700.0
    banded = _with(sim, Accommodation(band_top_n=top, band_bottom_n=bottom))
    for a, b in zip(plain.reps, banded.reps):
        assert b.mean_power_w - a.mean_power_w == pytest.approx((bottom + top) / 2 * a.mean_velocity_m_s, rel=1e-9)
        # the time mean of the tension lies between its ends; the peak force at least adds the bottom's
        assert bottom < b.mean_force_n - a.mean_force_n < top
        assert b.peak_force_n >= a.peak_force_n + bottom - 1e-9


def test_stiffness_gives_the_same_band_as_two_tensions(squat):
    sim, _ = squat
    by_ends = _with(sim, Accommodation(band_top_n=700.0, band_bottom_n=300.0))
    # stiffness k with top 700 N: bottom = 700 - k ROM; pick k from the first rep's measured ROM
    first = by_ends.reps[0]
    k = 400.0 / first.rom_m
    by_k = _with(sim, Accommodation(band_top_n=700.0, band_n_per_m=k))
    assert by_k.reps[0].mean_power_w == pytest.approx(first.mean_power_w, rel=1e-9)


def test_constant_pull_and_chains(squat):
    sim, plain = squat
    pull = _with(sim, Accommodation(band_top_n=300.0))  # one tension: approximate, taken as constant
    assert Accommodation(band_top_n=300.0).approximate
    chains = _with(sim, Accommodation(chain_kg_per_m=30.0))
    for a, b, c in zip(plain.reps, pull.reps, chains.reps):
        assert b.mean_force_n - a.mean_force_n == pytest.approx(300.0, rel=1e-12)
        assert b.mean_power_w - a.mean_power_w == pytest.approx(300.0 * a.mean_velocity_m_s, rel=1e-9)
        extra = 30.0 * 9.81 * a.rom_m / 2 * a.mean_velocity_m_s
        assert c.mean_power_w - a.mean_power_w == pytest.approx(extra, rel=1e-9)


def test_the_same_on_a_live_feed_in_chunks(squat):
    from vbt.tracker import LiveTracker

    sim, _ = squat
    acc = Accommodation(band_top_n=500.0, band_bottom_n=100.0)
    batch = _with(sim, acc)
    tr = LiveTracker(AnalysisConfig(load_kg=LOAD, accommodation=acc), auto_end_sets=False)
    reps = []
    for i in range(0, sim.t_s.size, 37):
        reps += [e.rep for e in tr.feed(sim.t_s[i:i + 37], sim.position_m[i:i + 37]) if e.type == "rep"]
    reps += [e.rep for e in tr.finish() if e.type == "rep"]
    assert [r.mean_power_w for r in reps] == pytest.approx([r.mean_power_w for r in batch.reps], rel=1e-9)


def test_spec_completeness_and_description():
    assert not Accommodation(band_top_n=500.0, band_bottom_n=100.0).approximate
    assert not Accommodation(band_top_n=500.0, band_n_per_m=800.0).approximate
    assert not Accommodation(chain_top_kg=20.0).approximate
    assert Accommodation(band_bottom_n=100.0).approximate
    assert "approximate" in Accommodation(band_top_n=500.0).describe()
    acc = Accommodation(chain_top_kg=20.0)
    assert acc.extra_force_n(np.array([0.0, 0.25, 0.5]), 0.5) == pytest.approx([0.0, 98.1, 196.2])
    assert from_fields() is None


@pytest.mark.parametrize("fields, words", [
    ({"band_top_n": -5.0}, "band tension at the top cannot be negative"),
    ({"chain_kg_per_m": -1.0}, "chain mass per metre cannot be negative"),
    ({"chain_top_kg": -20.0}, "chain mass at the top cannot be negative"),
    ({"band_top_n": 100.0, "band_bottom_n": 300.0}, "pulls harder at the top"),
    ({"chain_top_kg": 10.0, "chain_kg_per_m": 20.0}, "not both"),
])
def test_bad_bands_and_chains_are_one_line(fields, words):
    problems = accommodation_problems(**fields)
    assert len(problems) == 1 and words in problems[0] and "\n" not in problems[0]
    with pytest.raises(ValueError, match=words):
        from_fields(**fields)
    assert AnalysisConfig(load_kg=LOAD, accommodation=dataclasses.replace(Accommodation(), **fields)).validate()


# ---- as a person runs it ----------------------------------------------------------------------------


def _vbt(*argv):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-m", "vbt_cli", *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=root)


def test_vbt_analyze_with_bands(tmp_path, squat):
    import json

    sim, plain = squat
    path = tmp_path / "set.csv"
    np.savetxt(path, np.column_stack((sim.t_s, sim.position_m)), delimiter=",", header="t_s,position_m",
               comments="", fmt="%.6f")
    res = _vbt("analyze", path, "--json", "--load-kg", LOAD, "--band-top", 600, "--band-bottom", 200)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["accommodation"]["band_top_n"] == 600.0 and not doc["accommodation"]["approximate"]
    assert len(doc["reps"]) == 4
    for r in doc["reps"]:
        plain_power = LOAD * 9.81 * r["mean_velocity_m_s"]
        assert r["mean_power_w"] == pytest.approx(plain_power + 400.0 * r["mean_velocity_m_s"], rel=1e-9)
    text = _vbt("analyze", path, "--load-kg", LOAD, "--band-top", 300)
    assert text.returncode == 0 and "bands 300 N at the top (other end unknown): force and power approximate" \
        in text.stdout
    bad = _vbt("analyze", path, "--load-kg", LOAD, "--chain-per-m", -3)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "vbt analyze: --chain-per-m: the chain mass per metre cannot be negative (-3 kg/m)" in bad.stderr
