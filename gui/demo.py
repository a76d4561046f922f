"""Motion scripts for the built-in demo transducer (no Qt).

The demo runs ``firmware_bridge.emulator.Emulator`` in-process over a real pty, read by the real
``DeviceReader``; only the bar's motion is made up here. Two kinds of script:

* :func:`demo_script` -- the interactive demo: a seeded lifter (``vbt.simulate``) doing sets with
  set-up, fatigue and re-rack, with short rests so something happens every few seconds;
* :func:`scripted_sets` -- sets with exactly the mean velocities given, for tests and benchmarks
  (the rep at which the stop rule fires is then known in advance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from firmware_bridge.motion import GRID_HZ, MotionScript, ScriptRep
from vbt.simulate import Timeline, concentric_truth


def scripted_sets(
    sets: Sequence[Sequence[float]],
    *,
    rom_m: float = 0.45,
    lead_in_s: float = 1.0,
    eccentric_s: float = 0.7,
    bottom_pause_s: float = 0.05,
    lockout_s: float = 0.45,
    rest_s: float = 4.0,
    top_m: float = 1.2,
    loop: bool = False,
) -> MotionScript:
    """Squat-like sets whose reps have exactly the given mean concentric velocities (m/s).

    Each rep: a minimum-jerk eccentric of ``eccentric_s`` down ``rom_m``, a short pause, a concentric
    of ``rom_m`` at the given MV (Beta(2, 2.4) velocity profile, peaking a little before the middle),
    and a lockout hold. Sets are separated by ``rest_s`` of stillness.
    """
    tl = Timeline(x0_m=top_m)
    reps: list[ScriptRep] = []
    tl.hold(lead_in_s, role="rest")
    for set_index, velocities in enumerate(sets, start=1):
        for k, v in enumerate(velocities, start=1):
            tl.move(-rom_m, eccentric_s, 2.2, 2.0, role="eccentric")
            tl.hold(bottom_pause_s, role="bottom")
            seg = tl.move(rom_m, rom_m / float(v), 2.0, 2.4, role="concentric")
            tr = concentric_truth(seg, k)
            reps.append(ScriptRep(set_index, k, tr.concentric_start_s, tr.concentric_end_s, tr.mean_velocity_m_s,
                                  tr.mean_propulsive_velocity_m_s, tr.peak_velocity_m_s, tr.rom_m))
            tl.hold(lockout_s, role="lockout")
        tl.hold(rest_s, role="rest")
    t = np.arange(0.0, tl.t_s, 1.0 / GRID_HZ)
    return MotionScript(t, tl.position(t), reps, loop=loop, description="scripted sets", sets=len(sets),
                        stop_reps=tuple(true_stop_rep(v) for v in sets))


def true_stop_rep(velocities: Sequence[float], threshold_pct: float = 10.0) -> int | None:
    """The rep at which the stop rule fires on these true velocities (None: never)."""
    best = -np.inf
    for i, v in enumerate(velocities, start=1):
        best = max(best, v)
        if i > 1 and 100.0 * (1.0 - v / best) > threshold_pct:
            return i
    return None


def demo_script(seed: int = 7, n_sets: int = 4, rest_s: float = 8.0, style: str = "squat") -> MotionScript:
    """A looping seeded lifter for ``vbt gui --demo`` (short rests, so sets come every half minute)."""
    return MotionScript.lifter(seed, n_sets=n_sets, rest_s=rest_s, style=style, loop=True)



# Squat-like and bench-like load-velocity lines of the demo athlete: MV = v0 - slope * load.
_DEMO_LIFTS = (
    # exercise, loads (kg), v0 (m/s), slope (m/s per kg), rom (m)
    ("squat", (60.0, 80.0, 100.0, 120.0), 1.60, 0.0095, 0.50),
    ("bench press", (40.0, 55.0, 70.0, 80.0), 1.75, 0.0175, 0.38),
)


def seed_demo_history(home, seed: int = 7, sessions: int = 12, athlete: str = "demo") -> int:
    """Fill a (throwaway) history with a few weeks of a simulated athlete's training, so the demo's
    History tab has sessions, trends and load-velocity profiles to show. Returns the sets written.

    Every set has its reps and a 1 kHz trace from ``vbt.simulate``'s motion model; velocities follow
    a known linear load-velocity line with day-to-day variation, fatigue within the set, and a
    slow improvement over the weeks.
    """
    import time as _time

    from vbt.config import StopRuleConfig
    from vbt.results import Rep
    from vbt.stoprule import apply_stop_rule
    from vbt.store import Store

    rng = np.random.default_rng(seed)
    now = _time.time()
    written = 0
    with Store.open(home) as store:
        for k in range(sessions):
            day = now - (sessions - k) * 3.5 * 86400.0
            started = day - (day % 86400.0) + 17.5 * 3600.0
            session_id = store.new_session(athlete, started_at_unix_s=started)
            form = 1.0 + 0.004 * k + rng.normal(0.0, 0.015)  # slow progress, daily variation
            t_set = started
            for exercise, loads, v0, slope, rom in _DEMO_LIFTS:
                for load in loads:
                    v1 = max(0.2, (v0 - slope * load) * form * (1.0 + rng.normal(0.0, 0.02)))
                    n = int(rng.integers(3, 7)) if load < loads[-1] else int(rng.integers(2, 5))
                    velocities = v1 * (1.0 - 0.025 * np.arange(n) ** 1.3) * (1.0 + rng.normal(0, 0.01, n))
                    tl = Timeline(x0_m=1.2)
                    tl.hold(1.0, role="rest")
                    reps = []
                    for i, v in enumerate(velocities, start=1):
                        ecc = tl.move(-rom, 0.9, 2.2, 2.0, role="eccentric")
                        tl.hold(0.05, role="bottom")
                        seg = tl.move(rom, rom / float(v), 2.0, 2.4, role="concentric")
                        tr = concentric_truth(seg, i, ecc.duration_s, 0.05)
                        reps.append(Rep(i, tr.concentric_start_s, tr.concentric_end_s, tr.mean_velocity_m_s,
                                        tr.mean_propulsive_velocity_m_s, tr.peak_velocity_m_s, tr.rom_m,
                                        tr.time_to_peak_velocity_s, tr.concentric_duration_s, ecc.duration_s,
                                        rom / ecc.duration_s, 0.05))
                        tl.hold(0.6, role="lockout")
                    tl.hold(1.5, role="rest")
                    t = np.arange(0.0, tl.t_s, 0.001)
                    x = np.round(tl.position(t), 3)
                    result = apply_stop_rule(reps, StopRuleConfig(10.0, "mean"), duration_s=float(t[-1]))
                    store.add_set(result, exercise=exercise, athlete=athlete, load_kg=load, session_id=session_id,
                                  started_at_unix_s=t_set, stop_reason="stillness",
                                  rpe=float(min(10, 6 + loads.index(load))), trace=(t, x), source="demo")
                    t_set += 180.0
                    written += 1
    return written
