"""A lifter's motion model with analytic ground truth, and a transducer model that samples it.

Every movement is a phase of duration ``T`` and displacement ``D`` whose velocity follows a
Beta-shaped profile ``v(t) = D/T * f(t/T)`` with ``f`` the Beta(a, b) density: zero velocity at
both ends, a single peak at ``(a-1)/(a+b-2)`` of the phase. Beta(3, 3) is the minimum-jerk profile.
Holds keep the bar still (optionally with a lockout wobble that only dips below the top).

Ground truth of a concentric phase follows ``science.md``:
MV = D/T; PV = D/T * max f; MPV is the mean velocity up to the first instant after peak velocity
where acceleration ``D/T^2 * f'`` falls below -9.81 m/s^2 (the whole phase when it never does).

Public API
----------
``simulate_set(seed, style=None, sensor=None, **overrides) -> SimulatedSet``
    One set of a random (seeded) lifter: set-up, reps with fatigue, re-rack. ``style`` is
    'squat', 'bench' or 'deadlift'; ``sensor`` a ``SensorSpec`` (random when None).
``simulate_session(seed, n_sets, rest_s, sensor) -> SimulatedSet``
    Several sets separated by rests, on one time line (used by the emulator).
``SimulatedSet.true_stop_rep(threshold_pct, metric)``
    The stop rep the rule gives on the true velocities.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import lgamma

import numpy as np

G = 9.81
_FINE_POINTS = 4001  # samples of each phase's cumulative profile (cubic interpolation between)


# ---- phase shapes -------------------------------------------------------------------------


def _beta_density(tau: np.ndarray, a: float, b: float) -> np.ndarray:
    log_norm = lgamma(a + b) - lgamma(a) - lgamma(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(log_norm + (a - 1) * np.log(tau) + (b - 1) * np.log1p(-tau))
    out[(tau <= 0) | (tau >= 1)] = 0.0
    return out


def _beta_density_slope(tau: float, a: float, b: float) -> float:
    f = _beta_density(np.array([tau]), a, b)[0]
    return f * ((a - 1) / tau - (b - 1) / (1 - tau))


class _Profile:
    """Normalised cumulative displacement of a Beta(a, b) velocity profile."""

    _cache: dict = {}

    def __new__(cls, a: float, b: float):
        key = (round(a, 9), round(b, 9))
        if key not in cls._cache:
            obj = super().__new__(cls)
            obj._build(a, b)
            cls._cache[key] = obj
        return cls._cache[key]

    def _build(self, a: float, b: float) -> None:
        self.a, self.b = a, b
        # Substitution tau = (1 - cos(pi u)) / 2 packs points near both ends, where the shape
        # changes fastest; the integral is accumulated with the trapezoid rule on that grid.
        u = np.linspace(0.0, 1.0, _FINE_POINTS * 4)
        tau = 0.5 * (1.0 - np.cos(np.pi * u))
        f = _beta_density(tau, a, b)
        cum = np.concatenate(([0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(tau))))
        cum /= cum[-1]
        self.tau, self.cum = tau, cum
        self.mode = (a - 1) / (a + b - 2)
        self.peak = float(_beta_density(np.array([self.mode]), a, b)[0])

    def displacement_fraction(self, tau: np.ndarray) -> np.ndarray:
        return np.interp(tau, self.tau, self.cum)

    def velocity_fraction(self, tau: np.ndarray) -> np.ndarray:
        return _beta_density(np.asarray(tau, dtype=float), self.a, self.b)

    def braking_onset(self, scale_m_s2: float) -> float:
        """First tau after the peak where D/T^2 * f'(tau) < -g (scale = D/T^2); 1.0 if never."""
        lo_grid = np.linspace(self.mode, 1.0, 20001)[1:-1]
        slope = self.velocity_fraction(lo_grid) * ((self.a - 1) / lo_grid - (self.b - 1) / (1 - lo_grid))
        below = np.nonzero(scale_m_s2 * slope < -G)[0]
        if below.size == 0:
            return 1.0
        i = below[0]
        lo, hi = (lo_grid[i - 1] if i > 0 else self.mode), lo_grid[i]
        for _ in range(60):  # bisection to machine precision
            mid = 0.5 * (lo + hi)
            if scale_m_s2 * _beta_density_slope(mid, self.a, self.b) < -G:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)


# ---- segments and truth -------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    t0_s: float
    duration_s: float
    x0_m: float
    displacement_m: float  # 0 for a hold
    a: float = 3.0
    b: float = 3.0
    wobble_m: float = 0.0  # hold only: dips of this depth below the hold height
    wobble_hz: float = 0.0
    kind: str = "move"  # "move" | "hold"
    role: str = ""  # "concentric", "eccentric", "setup", "rerack", "partial", ...

    @property
    def t1_s(self) -> float:
        return self.t0_s + self.duration_s


@dataclass(frozen=True)
class TrueRep:
    index: int
    concentric_start_s: float
    concentric_end_s: float
    mean_velocity_m_s: float
    mean_propulsive_velocity_m_s: float
    peak_velocity_m_s: float
    rom_m: float
    time_to_peak_velocity_s: float
    concentric_duration_s: float
    eccentric_duration_s: float | None
    bottom_pause_s: float | None

    def velocity(self, metric: str) -> float:
        return {
            "mean": self.mean_velocity_m_s,
            "propulsive": self.mean_propulsive_velocity_m_s,
            "peak": self.peak_velocity_m_s,
        }[metric]


def concentric_truth(seg: Segment, index: int, eccentric_s=None, pause_s=None) -> TrueRep:
    prof = _Profile(seg.a, seg.b)
    d, t = seg.displacement_m, seg.duration_s
    mv = d / t
    tau_p = prof.braking_onset(d / t**2)
    mpv = d * float(prof.displacement_fraction(np.array([tau_p]))[0]) / (tau_p * t)
    return TrueRep(
        index=index,
        concentric_start_s=seg.t0_s,
        concentric_end_s=seg.t1_s,
        mean_velocity_m_s=mv,
        mean_propulsive_velocity_m_s=mpv,
        peak_velocity_m_s=mv * prof.peak,
        rom_m=d,
        time_to_peak_velocity_s=prof.mode * t,
        concentric_duration_s=t,
        eccentric_duration_s=eccentric_s,
        bottom_pause_s=pause_s,
    )


class Timeline:
    """Builds a sequence of segments; positions are evaluated exactly at any time."""

    def __init__(self, x0_m: float = 0.0):
        self.segments: list[Segment] = []
        self.t_s = 0.0
        self.x_m = x0_m

    def hold(self, duration_s, role="hold", wobble_m=0.0, wobble_hz=0.0):
        if duration_s > 0:
            self.segments.append(
                Segment(self.t_s, duration_s, self.x_m, 0.0, kind="hold", role=role, wobble_m=wobble_m,
                        wobble_hz=wobble_hz)
            )
            self.t_s += duration_s

    def move(self, displacement_m, duration_s, a=3.0, b=3.0, role="move"):
        seg = Segment(self.t_s, duration_s, self.x_m, displacement_m, a, b, kind="move", role=role)
        self.segments.append(seg)
        self.t_s += duration_s
        self.x_m += displacement_m
        return seg

    def position(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        out = np.full(t.shape, self.segments[0].x0_m if self.segments else self.x_m)
        for seg in self.segments:
            m = (t >= seg.t0_s) & (t < seg.t1_s)
            if not m.any():
                continue
            tau = (t[m] - seg.t0_s) / seg.duration_s
            if seg.kind == "move":
                out[m] = seg.x0_m + seg.displacement_m * _Profile(seg.a, seg.b).displacement_fraction(tau)
            else:
                x = np.full(tau.shape, seg.x0_m)
                if seg.wobble_m > 0:
                    env = np.sin(np.pi * tau) ** 2
                    x -= seg.wobble_m * env * 0.5 * (1 - np.cos(2 * np.pi * seg.wobble_hz * (t[m] - seg.t0_s)))
                out[m] = x
        out[t >= self.t_s] = self.x_m
        return out

    def velocity(self, t: np.ndarray) -> np.ndarray:
        """True velocity of move segments (holds: 0; wobble ignored). For tests and plots."""
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros(t.shape)
        for seg in self.segments:
            if seg.kind != "move":
                continue
            m = (t >= seg.t0_s) & (t < seg.t1_s)
            tau = (t[m] - seg.t0_s) / seg.duration_s
            out[m] = seg.displacement_m / seg.duration_s * _Profile(seg.a, seg.b).velocity_fraction(tau)
        return out


# ---- the transducer -----------------------------------------------------------------------


@dataclass(frozen=True)
class SensorSpec:
    """How a transducer samples the bar.

    ``rate_hz`` nominal rate; ``jitter`` timestamp jitter as a fraction of the period;
    ``per_tick`` sends a sample only when the count changes (uneven spacing) plus a keep-alive
    every ``1/rate_hz``; ``quantum_m`` encoder resolution (0: none); ``noise_m`` white noise (1 sd) and
    ``vibration_m`` / ``vibration_hz`` a cable vibration, both before quantisation.
    """

    rate_hz: float = 1000.0
    jitter: float = 0.0
    per_tick: bool = False
    quantum_m: float = 0.001
    noise_m: float = 0.0
    vibration_m: float = 0.0
    vibration_hz: float = 35.0

    @staticmethod
    def random(rng: np.random.Generator) -> "SensorSpec":
        rate = float(np.exp(rng.uniform(np.log(50.0), np.log(10000.0))))
        per_tick = bool(rng.random() < 0.15)
        return SensorSpec(
            rate_hz=rate if not per_tick else float(rng.uniform(50.0, 200.0)),
            jitter=float(rng.choice([0.0, rng.uniform(0.0, 0.4)])),
            per_tick=per_tick,
            quantum_m=float(np.exp(rng.uniform(np.log(0.0001), np.log(0.003)))),
            noise_m=float(rng.uniform(0.0, 0.0004)),
            vibration_m=float(rng.choice([0.0, rng.uniform(0.0, 0.0006)])),
            vibration_hz=float(rng.uniform(20.0, 60.0)),
        )

    def sample(self, timeline: Timeline, rng: np.random.Generator, t_end_s: float | None = None):
        t_end = timeline.t_s if t_end_s is None else t_end_s
        if self.per_tick:
            fine_dt = min(1e-4, self.quantum_m / 4.0)
            tf = np.arange(0.0, t_end, fine_dt)
            xf = self._measure(timeline, tf, rng)
            change = np.nonzero(np.diff(xf) != 0)[0] + 1
            every = max(1, int(round(1.0 / (self.rate_hz * fine_dt))))
            keep = np.unique(np.concatenate(([0], change, np.arange(0, tf.size, every))))
            return tf[keep], xf[keep]
        n = int(np.floor(t_end * self.rate_hz))
        t = np.arange(n, dtype=np.float64) / self.rate_hz
        if self.jitter > 0:
            t = t + rng.uniform(-self.jitter, self.jitter, n) / self.rate_hz
            t[0] = 0.0
            t = np.maximum.accumulate(t)
            keep = np.concatenate(([True], np.diff(t) > 1e-7))
            t = t[keep]
        return t, self._measure(timeline, t, rng)

    def _measure(self, timeline, t, rng):
        x = timeline.position(t)
        if self.noise_m > 0:
            x = x + rng.normal(0.0, self.noise_m, t.size)
        if self.vibration_m > 0:
            x = x + self.vibration_m * np.sin(2 * np.pi * self.vibration_hz * t + rng.uniform(0, 2 * np.pi))
        return np.round(x / self.quantum_m) * self.quantum_m if self.quantum_m > 0 else x


# ---- a lifter -----------------------------------------------------------------------------

STYLES = ("squat", "bench", "deadlift")


@dataclass(frozen=True)
class SetPlan:
    """What the lifter will do; drawn at random from a seed, overridable field by field."""

    style: str = "squat"
    n_reps: int = 6
    first_mean_velocity_m_s: float = 0.8
    fatigue_per_rep: float = 0.03  # fractional MV loss per rep, compounding gently
    fatigue_curve: float = 1.3  # >1: losses accelerate towards the end of the set
    rom_m: float = 0.5
    paused: bool = False
    setup: bool = True
    rerack: bool = True
    partial_rep_after: int | None = None  # a half rep (less than min ROM) after this rep


@dataclass
class SimulatedSet:
    t_s: np.ndarray
    position_m: np.ndarray
    truth: tuple[TrueRep, ...]
    timeline: Timeline
    sensor: SensorSpec
    plan: SetPlan | None = None
    seed: int | None = None
    true_position_m: np.ndarray = field(default=None, repr=False)

    def true_stop_rep(self, threshold_pct: float = 10.0, metric: str = "mean") -> int | None:
        best = -np.inf
        for rep in self.truth:
            v = rep.velocity(metric)
            best = max(best, v)
            if rep.index > 1 and 100.0 * (1.0 - v / best) > threshold_pct:
                return rep.index
        return None


def random_plan(rng: np.random.Generator, style: str | None = None) -> SetPlan:
    style = style or str(rng.choice(STYLES))
    rom = {"squat": (0.40, 0.70), "bench": (0.25, 0.45), "deadlift": (0.45, 0.65)}[style]
    v1 = float(rng.uniform(0.25, 1.35))
    return SetPlan(
        style=style,
        n_reps=int(rng.integers(3, 13)),
        first_mean_velocity_m_s=v1,
        fatigue_per_rep=float(rng.uniform(0.0, 0.05)),
        fatigue_curve=float(rng.uniform(1.0, 1.8)),
        rom_m=float(rng.uniform(*rom)),
        paused=bool(rng.random() < 0.3),
        setup=bool(rng.random() < 0.85),
        rerack=bool(rng.random() < 0.85),
        partial_rep_after=(int(rng.integers(1, 3)) if rng.random() < 0.15 else None),
    )


def _shape(rng, concentric: bool) -> tuple[float, float]:
    """Beta exponents: a concentric peaks at 35-65 % of the phase; eccentrics vary more."""
    if concentric:
        a = float(rng.uniform(1.5, 2.6))
        peak = float(rng.uniform(0.35, 0.65))
        b = 1.0 + (a - 1.0) * (1.0 - peak) / peak
        return a, float(np.clip(b, 1.5, 3.0))
    return float(rng.uniform(1.5, 3.0)), float(rng.uniform(1.5, 2.6))


def _rep_velocities(plan: SetPlan, rng) -> np.ndarray:
    i = np.arange(plan.n_reps, dtype=float)
    loss = plan.fatigue_per_rep * i**plan.fatigue_curve
    v = plan.first_mean_velocity_m_s * np.clip(1.0 - loss, 0.0, None)
    v *= 1.0 + rng.normal(0.0, 0.012, plan.n_reps)
    if plan.n_reps > 1 and rng.random() < 0.5:  # the first rep is often not the fastest
        v[0] *= float(rng.uniform(0.93, 1.0))
    return np.maximum(v, 0.1)


def build_set(timeline: Timeline, plan: SetPlan, rng: np.random.Generator, first_index: int = 1) -> list[TrueRep]:
    """Append one set to ``timeline`` and return its true reps."""
    truth: list[TrueRep] = []
    velocities = _rep_velocities(plan, rng)
    timeline.hold(float(rng.uniform(0.8, 2.0)), role="rest")
    if plan.style == "deadlift":
        if plan.setup:  # rolling the bar in, grip: a few millimetres
            timeline.move(0.006, 0.3, role="setup")
            timeline.move(-0.006, 0.3, role="setup")
            timeline.hold(float(rng.uniform(0.3, 1.0)), role="setup")
        last_rom = plan.rom_m  # set at the end of each rep; read from the second rep on
        for k, v in enumerate(velocities):
            rom = plan.rom_m * float(rng.uniform(0.97, 1.03))
            pause = None
            ecc = None
            if k > 0:
                ecc_seg = timeline.move(-last_rom, float(rng.uniform(0.6, 1.6)), *_shape(rng, False),
                                        role="eccentric")
                ecc = ecc_seg.duration_s
                long_pause = plan.paused or rng.random() < 0.6
                pause = float(rng.uniform(0.3, 1.5)) if long_pause else float(rng.uniform(0.0, 0.08))
                timeline.hold(pause, role="floor")
            seg = timeline.move(rom, rom / v, *_shape(rng, True), role="concentric")
            truth.append(concentric_truth(seg, first_index + k, ecc, pause))
            timeline.hold(float(rng.uniform(0.3, 1.2)), role="lockout",
                          wobble_m=float(rng.uniform(0.0, 0.012)), wobble_hz=float(rng.uniform(2.0, 5.0)))
            last_rom = rom
        timeline.move(-last_rom, float(rng.uniform(0.8, 1.5)), role="eccentric")
        timeline.hold(float(rng.uniform(0.5, 1.5)), role="rest")
        return truth

    # squat and bench: unrack, walk out / hand-off, reps from the top, re-rack
    if plan.setup:
        timeline.move(float(rng.uniform(0.04, 0.08)), float(rng.uniform(0.4, 0.8)), role="setup")
        timeline.hold(float(rng.uniform(0.2, 0.6)), role="setup")
        for _ in range(int(rng.integers(2, 5))):  # walk-out steps or hand-off wobble
            d = float(rng.uniform(0.005, 0.025))
            timeline.move(-d, float(rng.uniform(0.15, 0.35)), role="setup")
            timeline.move(d, float(rng.uniform(0.15, 0.35)), role="setup")
        timeline.hold(float(rng.uniform(0.5, 1.5)), role="setup")
    for k, v in enumerate(velocities):
        rom = plan.rom_m * float(rng.uniform(0.97, 1.03))
        ecc = timeline.move(-rom, float(rng.uniform(0.6, 2.5)), *_shape(rng, False), role="eccentric")
        if plan.paused:
            pause = float(rng.uniform(0.5, 1.5))
        else:
            pause = float(rng.uniform(0.0, 0.1)) if rng.random() < 0.5 else 0.0
        timeline.hold(pause, role="bottom")
        seg = timeline.move(rom, rom / v, *_shape(rng, True), role="concentric")
        truth.append(concentric_truth(seg, first_index + k, ecc.duration_s, pause))
        timeline.hold(float(rng.uniform(0.3, 1.5)), role="lockout",
                      wobble_m=float(rng.uniform(0.0, 0.012)), wobble_hz=float(rng.uniform(2.0, 5.0)))
        if plan.partial_rep_after == k + 1 and k + 1 < plan.n_reps:
            d = float(rng.uniform(0.05, 0.10))
            timeline.move(-d, float(rng.uniform(0.4, 0.8)), role="partial")
            timeline.move(d, float(rng.uniform(0.4, 0.8)), role="partial")
            timeline.hold(float(rng.uniform(0.5, 1.0)), role="lockout")
    if plan.rerack:
        for _ in range(int(rng.integers(1, 4))):  # walk back in
            d = float(rng.uniform(0.005, 0.02))
            timeline.move(-d, float(rng.uniform(0.15, 0.35)), role="rerack")
            timeline.move(d, float(rng.uniform(0.15, 0.35)), role="rerack")
        timeline.move(0.03, 0.4, role="rerack")
        timeline.move(-0.09, 0.6, role="rerack")
    timeline.hold(float(rng.uniform(0.5, 1.5)), role="rest")
    return truth


def simulate_set(seed: int, style: str | None = None, sensor: SensorSpec | None = None, **overrides) -> SimulatedSet:
    """One seeded set: the sampled stream and its true reps."""
    rng = np.random.default_rng(seed)
    plan = replace(random_plan(rng, style), **overrides)
    if plan.style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    sensor = sensor or SensorSpec.random(rng)
    timeline = Timeline(x0_m=0.05 if plan.style == "deadlift" else 1.2)
    truth = build_set(timeline, plan, rng)
    t, x = sensor.sample(timeline, rng)
    return SimulatedSet(t, x, tuple(truth), timeline, sensor, plan, seed, timeline.position(t))


def simulate_session(seed: int, n_sets: int = 3, rest_s: float = 20.0, sensor: SensorSpec | None = None,
                     style: str | None = None) -> SimulatedSet:
    """Several sets of one lifter with rests between, on one time line. Truth indices restart per set."""
    rng = np.random.default_rng(seed)
    style = style or str(rng.choice(STYLES))
    timeline = Timeline(x0_m=0.05 if style == "deadlift" else 1.2)
    truth: list[TrueRep] = []
    plan = None
    for _ in range(n_sets):
        plan = random_plan(rng, style)
        truth.extend(build_set(timeline, plan, rng))
        timeline.hold(rest_s, role="rest")
    sensor = sensor or SensorSpec()
    t, x = sensor.sample(timeline, rng)
    return SimulatedSet(t, x, tuple(truth), timeline, sensor, plan, seed, timeline.position(t))
