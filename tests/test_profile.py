"""Load-velocity profile and 1RM: the statistics against scipy, and known-answer simulated sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from vbt.profile import (
    TWO_POINT_MARGIN_PCT,
    ProfileError,
    describe,
    fastest_per_load,
    fit_profile,
    student_t_quantile,
)
from vbt.results import Rep
from vbt.store import Store

T0 = 1_700_000_000.0


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 7, 10, 17, 30, 61])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.95, 0.975, 0.995])
def test_t_quantile_matches_scipy(df, p):
    assert student_t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-10)


def test_t_quantile_rejects_bad_arguments():
    for p, df in ((0.4, 3), (1.0, 3), (0.975, 0), (0.975, 2.5)):
        with pytest.raises(ValueError):
            student_t_quantile(p, df)


def test_fastest_per_load():
    loads, vel = fastest_per_load([60, 80, 60, 80.001, 100, 0, np.nan, 70],
                                  [0.9, 0.6, 0.95, 0.62, np.nan, 2.0, 1.0, 0.8])
    assert loads.tolist() == [60.0, 70.0, 80.001] and vel.tolist() == [0.95, 0.8, 0.62]


def test_fit_matches_scipy_linregress_and_textbook_interval():
    rng = np.random.default_rng(3)
    loads = np.array([40.0, 50.0, 60.0, 70.0, 80.0, 90.0])
    vel = 1.83 - 0.0166 * loads + rng.normal(0, 0.02, loads.size)
    prof = fit_profile(loads, vel, 0.17, confidence=0.9)
    ref = stats.linregress(vel, loads)
    assert prof.slope_kg_per_m_s == pytest.approx(ref.slope, rel=1e-12)
    assert prof.intercept_kg == pytest.approx(ref.intercept, rel=1e-12)
    assert prof.r_squared == pytest.approx(ref.rvalue**2, rel=1e-12)
    assert prof.one_rm_kg == pytest.approx(ref.intercept + ref.slope * 0.17, rel=1e-12)
    # prediction interval at v = MVT from the design matrix, independently
    X = np.column_stack([np.ones_like(vel), vel])
    beta, res, *_ = np.linalg.lstsq(X, loads, rcond=None)
    sigma2 = res[0] / (loads.size - 2)
    x0 = np.array([1.0, 0.17])
    se = math.sqrt(sigma2 * (1 + x0 @ np.linalg.inv(X.T @ X) @ x0))
    half = stats.t.ppf(0.95, loads.size - 2) * se
    assert prof.one_rm_low_kg == pytest.approx(x0 @ beta - half, rel=1e-9)
    assert prof.one_rm_high_kg == pytest.approx(x0 @ beta + half, rel=1e-9)
    assert prof.interval_method == "prediction interval" and prof.n_points == 6
    # the line helpers agree with the fit
    assert prof.load_at_velocity_kg(prof.mvt_m_s) == pytest.approx(prof.one_rm_kg)
    assert prof.velocity_at_load_m_s(prof.one_rm_kg) == pytest.approx(0.17)
    assert prof.velocity_at_zero_load_m_s == pytest.approx(-ref.intercept / ref.slope)


def test_two_points_give_a_stated_heuristic_interval():
    prof = fit_profile([40, 80], [1.2, 0.5], 0.17)
    assert prof.r_squared == pytest.approx(1.0)
    assert prof.interval_method == "two-point heuristic"
    assert prof.one_rm_high_kg - prof.one_rm_kg == pytest.approx(prof.one_rm_kg * TWO_POINT_MARGIN_PCT / 100)
    assert any("heuristic" in n for n in prof.notes)


def test_unfittable_data_is_a_clear_error():
    with pytest.raises(ProfileError, match="two or more different loads"):
        fit_profile([60, 60, 60], [0.8, 0.7, 0.75], 0.17)
    with pytest.raises(ProfileError, match="does not fall"):
        fit_profile([40, 60, 80], [0.5, 0.7, 0.9], 0.17)
    with pytest.raises(ProfileError, match="same velocity"):
        fit_profile([40, 60], [0.5, 0.5], 0.17)
    with pytest.raises(ProfileError, match="metric"):
        fit_profile([40, 60], [0.9, 0.5], 0.17, metric="speedy")
    with pytest.raises(ProfileError, match="threshold"):
        fit_profile([40, 60], [0.9, 0.5], 0.0)


# ---- known answer: simulated sets from a known linear profile ----------------------------------

TRUE_1RM_KG = 100.0
BENCH_MVT = 0.17
BENCH_V0 = 1.83  # bench MV at zero load, so that 30 % 1RM is ~1.33 m/s (González-Badillo 2010 shape)


def true_velocity(load_kg):
    return BENCH_V0 - (BENCH_V0 - BENCH_MVT) * np.asarray(load_kg) / TRUE_1RM_KG


def simulated_set(rng, load_kg, first_index=1):
    """A set at one load: the first rep at the profile's velocity, then fatigue; 1.5 % rep noise."""
    n_reps = int(rng.integers(3, 7))
    fatigue = rng.uniform(0.02, 0.05)
    reps = []
    for i in range(n_reps):
        v = float(true_velocity(load_kg) * (1 - fatigue * i) * (1 + rng.normal(0, 0.015)))
        reps.append(Rep(index=first_index + i, concentric_start_s=2.5 * i, concentric_end_s=2.5 * i + 0.5,
                        mean_velocity_m_s=v, mean_propulsive_velocity_m_s=v * 1.04, peak_velocity_m_s=v * 1.7,
                        rom_m=0.4, time_to_peak_velocity_s=0.2, concentric_duration_s=0.4 / max(v, 0.05)))
    return reps


@pytest.mark.parametrize("seed", range(12))
def test_known_answer_bench_within_2_percent(seed):
    rng = np.random.default_rng(seed)
    loads, vel = [], []
    for load in (40.0, 50.0, 60.0, 70.0, 80.0, 90.0):
        for rep in simulated_set(rng, load):
            loads.append(load)
            vel.append(rep.mean_velocity_m_s)
    prof = fit_profile(loads, vel, BENCH_MVT)
    assert prof.n_points == 6
    assert abs(prof.one_rm_kg - TRUE_1RM_KG) / TRUE_1RM_KG < 0.02, prof.one_rm_kg
    assert prof.one_rm_low_kg < prof.one_rm_kg < prof.one_rm_high_kg
    assert prof.r_squared > 0.98
    assert not prof.low_confidence


def test_known_answer_through_the_store(tmp_path):
    """Sets stored over three sessions, profile read back from the history: within 2 %."""
    rng = np.random.default_rng(42)
    with Store.open(tmp_path) as store:
        for day, loads in enumerate(((40.0, 60.0), (50.0, 70.0, 85.0), (45.0, 75.0, 90.0))):
            for k, load in enumerate(loads):
                store.add_set(simulated_set(rng, load), exercise="bench press", athlete="ana", load_kg=load,
                              started_at_unix_s=T0 + day * 86400 + k * 300)
        # another athlete's much stronger bench must not leak into ana's profile
        for load in (100.0, 140.0):
            store.add_set(simulated_set(rng, load / 2), exercise="bench press", athlete="bo", load_kg=load,
                          started_at_unix_s=T0 + 600)
        prof = store.load_velocity_profile("bench", athlete="ana")
        with pytest.raises(ProfileError, match="several athletes"):
            store.load_velocity_profile("bench")
        assert prof.loads_kg == (40.0, 45.0, 50.0, 60.0, 70.0, 75.0, 85.0, 90.0)
        assert abs(prof.one_rm_kg - TRUE_1RM_KG) / TRUE_1RM_KG < 0.02
        assert (prof.exercise, prof.athlete, prof.mvt_m_s) == ("bench press", "ana", 0.17)
        # squats carry the low-confidence flag and say why
        for load in (60.0, 100.0, 140.0):
            store.add_set(simulated_set(rng, load / 1.6), exercise="squat", athlete="ana", load_kg=load,
                          started_at_unix_s=T0 + 4 * 86400)
        squat = store.load_velocity_profile("back squat", athlete="ana")
        assert squat.low_confidence and any("Banyard" in n for n in squat.notes)
        text = "\n".join(describe(squat))
        assert "LOW CONFIDENCE" in text and "interval" in text
        assert squat.to_json()["low_confidence"] is True and len(squat.to_json()["points"]) == 3
        with pytest.raises(ProfileError, match="no deadlift sets"):
            store.load_velocity_profile("deadlift")
