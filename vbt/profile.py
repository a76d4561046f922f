"""Load-velocity profile and estimated 1RM (numpy only).

Velocity falls near-linearly with load (science.md: bench R² 0.98, González-Badillo & Sánchez-Medina
2010; squat R² 0.96, Sánchez-Medina 2017). We take the fastest rep at each load, fit the least-squares
line ``load = intercept + slope · velocity`` and read the 1RM where the line reaches the exercise's
minimal velocity threshold (MVT).

The interval is the regression's prediction interval for the load at the MVT (Student's t with
n − 2 degrees of freedom): it covers the scatter of the points about the line, not the day-to-day
variation of the MVT itself, which is why squat- and deadlift-family lifts also carry a
low-confidence flag. With only two loads the line passes through both points and there is no
scatter to estimate; the interval is then a stated heuristic (± ``TWO_POINT_MARGIN_PCT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vbt.config import METRIC_LABELS, METRICS

#: Half-width of the heuristic 1RM interval from exactly two loads, in percent of the estimate.
#: Our choice: García-Ramos 2018 finds two well-separated loads as accurate as more for the bench
#: (~3–5 kg at ~100 kg), but nothing in two points shows when they are not; 10 % covers a bad day.
TWO_POINT_MARGIN_PCT = 10.0

#: Loads closer than this are the same load when picking the fastest rep per load.
LOAD_RESOLUTION_KG = 0.01

#: Velocity span below which the fit is flagged as poorly conditioned (García-Ramos 2018 recommends
#: loads about 0.5 m/s apart; below 0.2 m/s the slope is mostly noise — our threshold).
MIN_VELOCITY_SPAN_M_S = 0.2


class ProfileError(ValueError):
    """No profile can be fitted; the message says why in one line."""


@dataclass(frozen=True)
class LoadVelocityProfile:
    """A fitted load-velocity line and the 1RM it predicts.

    The line is ``load_kg = intercept_kg + slope_kg_per_m_s · velocity_m_s`` (slope negative).
    ``loads_kg`` / ``velocities_m_s`` are the points used (fastest rep per load), sorted by load.
    """

    metric: str
    mvt_m_s: float
    loads_kg: tuple[float, ...]
    velocities_m_s: tuple[float, ...]
    slope_kg_per_m_s: float
    intercept_kg: float
    r_squared: float
    one_rm_kg: float
    one_rm_low_kg: float
    one_rm_high_kg: float
    confidence: float
    interval_method: str  # "prediction interval" | "two-point heuristic"
    low_confidence: bool
    notes: tuple[str, ...] = ()
    exercise: str | None = None
    athlete: str | None = None

    @property
    def n_points(self) -> int:
        return len(self.loads_kg)

    @property
    def velocity_at_zero_load_m_s(self) -> float:
        """Where the line meets zero load (v0 of the profile)."""
        return -self.intercept_kg / self.slope_kg_per_m_s

    def load_at_velocity_kg(self, velocity_m_s):
        """Load the line predicts for a velocity (scalar or array)."""
        return self.intercept_kg + self.slope_kg_per_m_s * np.asarray(velocity_m_s, dtype=np.float64)

    def velocity_at_load_m_s(self, load_kg):
        """Velocity the line predicts for a load (scalar or array): for plotting the line."""
        return (np.asarray(load_kg, dtype=np.float64) - self.intercept_kg) / self.slope_kg_per_m_s

    def to_json(self) -> dict:
        return {
            "exercise": self.exercise,
            "athlete": self.athlete,
            "metric": self.metric,
            "mvt_m_s": self.mvt_m_s,
            "points": [
                {"load_kg": load, "velocity_m_s": v} for load, v in zip(self.loads_kg, self.velocities_m_s)
            ],
            "n_points": self.n_points,
            "slope_kg_per_m_s": self.slope_kg_per_m_s,
            "intercept_kg": self.intercept_kg,
            "velocity_at_zero_load_m_s": self.velocity_at_zero_load_m_s,
            "r_squared": self.r_squared,
            "one_rm_kg": self.one_rm_kg,
            "one_rm_low_kg": self.one_rm_low_kg,
            "one_rm_high_kg": self.one_rm_high_kg,
            "confidence": self.confidence,
            "interval_method": self.interval_method,
            "low_confidence": self.low_confidence,
            "notes": list(self.notes),
        }


# ---- Student's t quantile (exact series for integer degrees of freedom) ----------------------


def _t_central_probability(theta: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer ``df``, where ``theta = atan(t / sqrt(df))``.

    Finite series of Abramowitz & Stegun 26.7.3 (odd df) and 26.7.4 (even df).
    """
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2 == 1:
        total, term = 0.0, 1.0
        if df > 1:
            total = 1.0
            for k in range(1, (df - 3) // 2 + 1):
                term *= c2 * (2 * k) / (2 * k + 1)
                total += term
            total *= s * c
        return (2.0 / math.pi) * (theta + total)
    total, term = 1.0, 1.0
    for k in range(1, (df - 2) // 2 + 1):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return s * total


def student_t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (0.5 < p < 1) of Student's t with integer ``df`` ≥ 1.

    Exact up to bisection tolerance (about 1e-12 in the angle); checked against scipy in the tests.
    """
    if not 0.5 < p < 1.0:
        raise ValueError(f"p must be in (0.5, 1), got {p}")
    if int(df) != df or df < 1:
        raise ValueError(f"df must be a positive integer, got {df}")
    df = int(df)
    target = 2.0 * p - 1.0  # central probability
    lo, hi = 0.0, math.pi / 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _t_central_probability(mid, df) < target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(df) * math.tan(0.5 * (lo + hi))


# ---- fitting ---------------------------------------------------------------------------------


def fastest_per_load(loads_kg, velocities_m_s, load_resolution_kg: float = LOAD_RESOLUTION_KG):
    """Keep the fastest velocity at each load; returns two float64 arrays sorted by load.

    Non-finite velocities and loads that are missing or not above zero are ignored.
    """
    loads = np.asarray(loads_kg, dtype=np.float64).ravel()
    vel = np.asarray(velocities_m_s, dtype=np.float64).ravel()
    if loads.shape != vel.shape:
        raise ValueError(f"{loads.size} loads but {vel.size} velocities")
    ok = np.isfinite(loads) & np.isfinite(vel) & (loads > 0)
    loads, vel = loads[ok], vel[ok]
    if loads.size == 0:
        return loads, vel
    keys = np.round(loads / load_resolution_kg).astype(np.int64)
    order = np.lexsort((-vel, keys))  # by load, fastest first within a load
    keys, loads, vel = keys[order], loads[order], vel[order]
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return loads[first], vel[first]


def fit_profile(
    loads_kg,
    velocities_m_s,
    mvt_m_s: float,
    *,
    metric: str = "mean",
    low_confidence: bool = False,
    confidence: float = 0.95,
    exercise: str | None = None,
    athlete: str | None = None,
    notes: tuple[str, ...] = (),
) -> LoadVelocityProfile:
    """Fit the load-velocity line to the fastest rep per load and estimate the 1RM.

    Parameters
    ----------
    loads_kg, velocities_m_s
        Any reps (or already one point per load): only the fastest per load is used.
    mvt_m_s
        The exercise's minimal velocity threshold, in the same metric as the velocities.
    metric
        Which velocity the points are ("mean", "propulsive", "peak"); carried into the result.
    low_confidence
        Flag the estimate as weak (squat and deadlift families; science.md).
    confidence
        Two-sided coverage of the interval (0.95 default).

    Raises
    ------
    ProfileError
        Fewer than two distinct loads, velocities that do not fall with load, or bad arguments.
    """
    if metric not in METRICS:
        raise ProfileError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    if not (math.isfinite(mvt_m_s) and mvt_m_s > 0):
        raise ProfileError(f"the minimal velocity threshold must be above 0 m/s, got {mvt_m_s}")
    if not 0.5 < confidence < 1.0:
        raise ProfileError(f"confidence must be between 0.5 and 1, got {confidence}")
    loads, vel = fastest_per_load(loads_kg, velocities_m_s)
    n = loads.size
    if n < 2:
        raise ProfileError(
            f"a load-velocity profile needs reps at two or more different loads (found {n})"
        )
    v_mean, load_mean = vel.mean(), loads.mean()
    dv = vel - v_mean
    sxx = float(dv @ dv)
    if sxx <= 0.0:
        raise ProfileError("every load was lifted at the same velocity: no line can be fitted")
    slope = float(dv @ (loads - load_mean)) / sxx
    intercept = float(load_mean - slope * v_mean)
    if slope >= 0.0:
        raise ProfileError(
            "velocity does not fall as the load rises in these sets (check loads and exercise)"
        )
    fitted = intercept + slope * vel
    residuals = loads - fitted
    sse = float(residuals @ residuals)
    sst = float((loads - load_mean) @ (loads - load_mean))
    r_squared = 1.0 - sse / sst if sst > 0 else 1.0
    one_rm = intercept + slope * mvt_m_s

    notes = list(notes)
    if n == 2:
        half = abs(one_rm) * TWO_POINT_MARGIN_PCT / 100.0
        method = "two-point heuristic"
        notes.append(
            f"only two loads: the line passes through both, so the interval is a heuristic "
            f"±{TWO_POINT_MARGIN_PCT:g} %, not a statistical one"
        )
    else:
        s = math.sqrt(sse / (n - 2))
        se_pred = s * math.sqrt(1.0 + 1.0 / n + (mvt_m_s - v_mean) ** 2 / sxx)
        half = student_t_quantile(0.5 + confidence / 2.0, n - 2) * se_pred
        method = "prediction interval"
    span = float(vel.max() - vel.min())
    if span < MIN_VELOCITY_SPAN_M_S:
        notes.append(
            f"the loads span only {span:.2f} m/s of velocity; loads about 0.5 m/s apart give a "
            f"steadier line (García-Ramos 2018)"
        )
    if mvt_m_s < vel.min() - 0.4:
        notes.append(
            f"the slowest point ({vel.min():.2f} m/s) is far above the MVT ({mvt_m_s:.2f} m/s): "
            f"the 1RM is a long extrapolation"
        )
    if low_confidence:
        notes.append(
            "low confidence: 1RM from velocity is weak for squat- and deadlift-type lifts "
            "(squat MVT varies 22 % day to day, Banyard 2017; deadlift 1RM underestimated, Lake 2017)"
        )
    return LoadVelocityProfile(
        metric=metric,
        mvt_m_s=float(mvt_m_s),
        loads_kg=tuple(float(v) for v in loads),
        velocities_m_s=tuple(float(v) for v in vel),
        slope_kg_per_m_s=slope,
        intercept_kg=intercept,
        r_squared=float(r_squared),
        one_rm_kg=float(one_rm),
        one_rm_low_kg=float(one_rm - half),
        one_rm_high_kg=float(one_rm + half),
        confidence=float(confidence),
        interval_method=method,
        low_confidence=bool(low_confidence),
        notes=tuple(notes),
        exercise=exercise,
        athlete=athlete,
    )


def describe(profile: LoadVelocityProfile) -> list[str]:
    """Lines a person reads: the points, the line, the 1RM with its interval, the caveats."""
    label = METRIC_LABELS.get(profile.metric, profile.metric)
    who = f" ({profile.athlete})" if profile.athlete else ""
    lines = [f"{profile.exercise or 'exercise'}{who}: load-velocity profile from {label}, fastest rep per load"]
    lines.append(
        "  points used: "
        + ", ".join(f"{load:g} kg @ {v:.3f} m/s" for load, v in zip(profile.loads_kg, profile.velocities_m_s))
    )
    lines.append(
        f"  line: load = {profile.intercept_kg:.1f} kg {'-' if profile.slope_kg_per_m_s < 0 else '+'} "
        f"{abs(profile.slope_kg_per_m_s):.1f} kg per m/s x velocity   "
        f"(R² {profile.r_squared:.3f}, {profile.n_points} loads)"
    )
    pct = round(profile.confidence * 100)
    flag = "  [LOW CONFIDENCE]" if profile.low_confidence else ""
    lines.append(
        f"  estimated 1RM at MVT {profile.mvt_m_s:.2f} m/s: {profile.one_rm_kg:.1f} kg "
        f"({pct} % {profile.interval_method} {profile.one_rm_low_kg:.1f}–{profile.one_rm_high_kg:.1f} kg){flag}"
    )
    lines.extend(f"  note: {note}" for note in profile.notes)
    return lines
