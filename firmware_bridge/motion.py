"""Scripts of bar motion for the emulator: a simulated lifter (``vbt.simulate``) or a recording.

A :class:`MotionScript` is the bar's true position on a fine uniform grid plus the true reps,
and answers ``position(t)`` for any script time: before 0 the bar rests at its first position;
past the end it either holds the last position (a replay) or starts the script again from where
the bar is (a looping session, so an emulator can run for hours).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

GRID_HZ = 1000.0


@dataclass(frozen=True)
class ScriptRep:
    """A true rep in script time. ``set_index`` counts sets from 1 within one pass of the script."""

    set_index: int
    index: int
    concentric_start_s: float
    concentric_end_s: float
    mean_velocity_m_s: float
    mean_propulsive_velocity_m_s: float
    peak_velocity_m_s: float
    rom_m: float

    def shifted(self, dt_s: float, set_offset: int) -> "ScriptRep":
        return ScriptRep(
            self.set_index + set_offset, self.index, self.concentric_start_s + dt_s, self.concentric_end_s + dt_s,
            self.mean_velocity_m_s, self.mean_propulsive_velocity_m_s, self.peak_velocity_m_s, self.rom_m,
        )


class MotionScript:
    """True bar position over script time, with its true reps."""

    def __init__(self, t_s: np.ndarray, position_m: np.ndarray, reps=(), *, loop: bool = False,
                 description: str = "", sets: int = 1, stop_reps: tuple = ()):
        t_s = np.ascontiguousarray(t_s, dtype=np.float64)
        position_m = np.ascontiguousarray(position_m, dtype=np.float64)
        if t_s.size < 2 or t_s.size != position_m.size or np.any(np.diff(t_s) <= 0):
            raise ValueError("a motion script needs at least two samples with increasing times")
        self.t_s = t_s - t_s[0]
        self.position_m = position_m
        self.reps: tuple[ScriptRep, ...] = tuple(reps)
        self.loop = loop
        self.description = description
        self.sets = sets
        self.stop_reps = stop_reps  # true stop rep per set (10 % loss, MV), for reference
        self.duration_s = float(self.t_s[-1])
        self._drift_m = float(position_m[-1] - position_m[0])

    def position(self, t_s) -> np.ndarray:
        """True position at script times ``t_s`` (any shape)."""
        t = np.asarray(t_s, dtype=np.float64)
        if not self.loop:
            return np.interp(t, self.t_s, self.position_m)
        n_loop = np.floor(np.maximum(t, 0.0) / self.duration_s)
        tm = np.where(t > 0, t - n_loop * self.duration_s, t)
        return np.interp(tm, self.t_s, self.position_m) + n_loop * self._drift_m

    def reps_until(self, t_end_s: float) -> list[ScriptRep]:
        """True reps whose concentric phase has ended by script time ``t_end_s`` (loops unrolled)."""
        out = []
        k = 0
        while True:
            base = k * self.duration_s
            if base > t_end_s or (k > 0 and not self.loop):
                break
            for r in self.reps:
                if r.concentric_end_s + base <= t_end_s:
                    out.append(r.shifted(base, k * self.sets))
            k += 1
        return out

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def lifter(cls, seed: int = 0, n_sets: int = 3, rest_s: float = 20.0, style: str | None = None,
               loop: bool = True) -> "MotionScript":
        """A seeded lifter from ``vbt.simulate.simulate_session``: set-up, reps with fatigue,
        pauses, re-rack and rests between sets; repeated when ``loop``."""
        from vbt.simulate import SensorSpec, simulate_session

        sim = simulate_session(seed, n_sets=n_sets, rest_s=rest_s, sensor=SensorSpec(rate_hz=GRID_HZ, quantum_m=1e-7),
                               style=style)
        return cls.from_simulation(sim, loop=loop, description=f"simulated lifter, seed {seed}")

    @classmethod
    def from_simulation(cls, sim, loop: bool = False, description: str = "simulation") -> "MotionScript":
        """A ``vbt.simulate.SimulatedSet`` (one set or a session): its true position and reps.

        Sample it finely (``SensorSpec(rate_hz=GRID_HZ, quantum_m=1e-7)``): the emulator
        interpolates linearly between the script's samples."""
        t = sim.t_s
        x = sim.true_position_m if sim.true_position_m is not None else sim.position_m
        reps = []
        set_index = 0
        for r in sim.truth:
            if r.index == 1:
                set_index += 1
            reps.append(ScriptRep(set_index, r.index, r.concentric_start_s, r.concentric_end_s, r.mean_velocity_m_s,
                                  r.mean_propulsive_velocity_m_s, r.peak_velocity_m_s, r.rom_m))
        stops = []
        for s in range(1, set_index + 1):
            best, stop = -np.inf, None
            for r in reps:
                if r.set_index != s:
                    continue
                best = max(best, r.mean_velocity_m_s)
                if stop is None and r.index > 1 and 100.0 * (1.0 - r.mean_velocity_m_s / best) > 10.0:
                    stop = r.index
            stops.append(stop)
        return cls(t, x, reps, loop=loop, description=description, sets=set_index, stop_reps=tuple(stops))

    @classmethod
    def from_recording(cls, path: str | os.PathLike, fmt: str = "auto", rate_hz: float | None = None) -> "MotionScript":
        """A recorded file (CSV or Chronojump raw, as ``vbt analyze`` reads them, ``rate_hz`` as its
        ``--rate``), played once."""
        from vbt.io import read_recording

        rec = read_recording(path, fmt, rate_hz=rate_hz)
        return cls(rec.t_s, rec.position_m, (), loop=False, description=f"replay of {os.fspath(path)}")

    @classmethod
    def from_arrays(cls, t_s, position_m, loop: bool = False) -> "MotionScript":
        return cls(t_s, position_m, (), loop=loop, description="arrays")

    @property
    def sample_period_s(self) -> float:
        """Median spacing of the script's samples (a replayed file's own sampling period)."""
        return float(np.median(np.diff(self.t_s)))
