"""When the gym goes wrong: cable pulls over real ptys and a full disk, counted.

Part 1, cable pulls: an emulated transducer on a pty streams a seeded squat set with little fatigue
(both protocols; Chronojump in real time, native faster than real time with its own device clock);
the real reader and live session run against it. At seeded random moments (during reps, pauses and
the set's end) the cable is pulled (the pty closes and its link disappears) for 0.2-5 s of script
time and plugged back. Each run is judged against the script's true reps:

- false stops: STOP events on a rep whose true velocity loss (against the best true rep so far) is
  within the limit,
- completed reps lost: true reps whose concentric phase was fully seen (not within 0.15 s of an
  outage) with no clean counted rep at that time,
- invented reps: clean counted reps matching no true rep, plus any count above the true count,
- doubtful reps: counted but marked doubtful (they overlapped an outage),
- early set ends: the set ended before the script did.

Part 2, full disk: a live set is recorded through ``vbt.store.SetRecorder`` into a file SQLite may
not grow (``PRAGMA max_page_count``: a real SQLITE_FULL); the space is freed after the set's end.
Reps and trace samples accepted are compared with those stored, and the error lines counted.

    python benchmarks/bench_faults.py                  # 100 pulls per protocol
    python benchmarks/bench_faults.py --quick          # 12 + 24 pulls
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from firmware_bridge.emulator import Emulator  # noqa: E402
from firmware_bridge.live import LiveSession  # noqa: E402
from firmware_bridge.motion import GRID_HZ, MotionScript  # noqa: E402
from vbt.config import AnalysisConfig  # noqa: E402
from vbt.simulate import SensorSpec, simulate_set  # noqa: E402


@dataclass
class PullRun:
    protocol: str
    pulls: int = 0
    false_stops: int = 0
    reps_lost: int = 0
    invented: int = 0
    doubtful: int = 0
    early_ends: int = 0
    true_reps: int = 0
    counted: int = 0
    outages: list = field(default_factory=list)  # (lost, back) in script time
    problems: list = field(default_factory=list)
    events: list = field(default_factory=list, repr=False)


def _script(seed: int, n_reps: int) -> MotionScript:
    sim = simulate_set(seed, style="squat", sensor=SensorSpec(rate_hz=GRID_HZ, quantum_m=1e-7), n_reps=n_reps,
                       fatigue_per_rep=0.002, setup=False, rerack=False, partial_rep_after=None)
    return MotionScript.from_simulation(sim)


class _Events:
    def __init__(self, session):
        self.session, self.all = session, []

    def wait(self, predicate, timeout: float):
        deadline = time.monotonic() + timeout
        for e in self.all:
            if predicate(e):
                return e
        while time.monotonic() < deadline:
            try:
                e = self.session.events.get(timeout=0.05)
            except queue.Empty:
                continue
            self.all.append(e)
            if predicate(e):
                return e
        return None

    def drain(self):
        while True:
            try:
                self.all.append(self.session.events.get_nowait())
            except queue.Empty:
                return


def run_pulls(protocol: str, seed: int, n_pulls: int, speed: float, link_dir: str, n_reps: int = 12,
              reboot: bool = False) -> PullRun:
    """One set with ``n_pulls`` cable pulls; judged against the script."""
    rng = np.random.default_rng(seed)
    script = _script(seed, n_reps)
    out = PullRun(protocol)
    truth = list(script.reps)
    out.true_reps = len(truth)
    # Pull moments: after the first rep (it anchors the time bases), 0.8-3 s of data between pulls.
    plan, t = [], truth[0].concentric_end_s + 0.6
    end_by = script.duration_s - 4.0
    while len(plan) < n_pulls:
        t += float(rng.uniform(0.8, 3.0))
        outage = float(rng.uniform(0.2, 5.0))
        if t + outage > end_by:
            break
        plan.append((t, outage))
        t += outage + 0.6 * speed  # reconnecting takes a moment of wall time
    with Emulator(protocol, script=script, link_dir=link_dir, speed=speed, start_on="open") as emu:
        session = LiveSession(emu.port, protocol, AnalysisConfig(), forward_samples=False, forward_health=False,
                              outage_limit_s=60.0).start()
        ev = _Events(session)
        try:
            if ev.wait(lambda e: e.type == "device_connected", 10.0) is None:
                out.problems.append("never connected")
                return out
            for at, outage in plan:
                if not emu.wait_script_time(at, timeout=(at / speed) + 30.0):
                    out.problems.append("script stalled")
                    break
                lost = emu.script_time()
                emu.unplug()
                ev.wait(lambda e: e.type == "device_lost", 2.0)
                time.sleep(outage / speed)  # the cable stays out (not a synchronisation)
                emu.plug(power_cycle=reboot)
                n_conn = sum(1 for e in ev.all if e.type == "device_connected")
                if ev.wait(lambda e, n=n_conn: e.type == "device_connected"
                           and sum(1 for x in ev.all if x.type == "device_connected") > n, 5.0) is None:
                    out.problems.append(f"no reconnection after the pull at {lost:.1f} s")
                    break
                out.outages.append((lost, emu.script_time()))
                out.pulls += 1
            emu.wait_script_time(script.duration_s, timeout=script.duration_s / speed + 30.0)
            if ev.wait(lambda e: e.type == "set_end", 8.0) is None:
                session.end_set("manual")
                ev.wait(lambda e: e.type == "set_end", 5.0)
        finally:
            session.stop(finish=False)
        ev.drain()
    _judge(out, ev.all, truth)
    out.events = ev.all
    return out


def _judge(out: PullRun, events, truth) -> None:
    reps = [e.rep for e in events if e.type == "rep"]
    out.counted = len(reps)
    out.early_ends = max(0, sum(1 for e in events if e.type == "set_end") - 1)
    if not reps:
        out.reps_lost = len(truth)
        return
    # Stream time -> script time: the first rep (before any pull) anchors the offset.
    offset = reps[0].concentric_end_s - truth[0].concentric_end_s
    ends = [r.concentric_end_s - offset for r in reps if not r.doubtful]
    by_index = {r.index: r for r in reps}
    for stop in (e for e in events if e.type == "stop"):
        rep = by_index.get(stop.index)
        match = [k for k, r in enumerate(truth) if rep is not None
                 and abs(r.concentric_end_s - (rep.concentric_end_s - offset)) < 0.25]
        if rep is None or rep.doubtful or not match:
            out.false_stops += 1
            continue
        k = match[0]
        best = max(r.mean_velocity_m_s for r in truth[:k + 1])
        if 100.0 * (1.0 - truth[k].mean_velocity_m_s / best) <= stop.threshold_pct:
            out.false_stops += 1

    def seen(rep) -> bool:
        return all(rep.concentric_end_s < a - 0.15 or rep.concentric_start_s > b + 0.15 for a, b in out.outages)

    out.reps_lost = sum(1 for r in truth if seen(r) and not any(abs(e - r.concentric_end_s) < 0.25 for e in ends))
    out.invented = sum(1 for e in ends if not any(abs(e - r.concentric_end_s) < 0.25 for r in truth))
    out.invented += max(0, len(reps) - len(truth))
    out.doubtful = sum(1 for r in reps if r.doubtful)


# ---- disk full ------------------------------------------------------------------------------------


def disk_full_case(full_after_s: float, seed: int = 0) -> dict:
    """A 30 s set at 1 kHz with 8 reps, recorded into a file that fills up ``full_after_s`` into the
    set; the space is freed after the set's end. Returns the accepted and stored counts."""
    import vbt.store.db as store_db
    from vbt.results import Rep
    from vbt.store import SetRecorder, Store

    home = tempfile.mkdtemp(prefix="vbt-bench-full-")
    with Store.open(home):
        pass
    original = store_db._connect_sqlite
    rng = np.random.default_rng(seed)
    budget = {"pages": None}

    def capped(path, timeout_s):
        conn = original(path, timeout_s)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        budget["pages"] = pages + int(full_after_s * 3) + 2  # about 3 pages per second of noisy trace
        conn.execute(f"PRAGMA max_page_count = {budget['pages']}")
        return conn

    lines = []
    store_db._connect_sqlite = capped
    try:
        rec = SetRecorder(home, trace_flush_interval_s=0.05, on_error=lines.append, on_recovered=lines.append,
                          retry_max_s=0.2, pre_roll_s=0.0)
    finally:
        store_db._connect_sqlite = original
    n_samples, n_reps = 0, 0
    rec.start_set(exercise="squat", load_kg=100)
    for k in range(300):  # 30 s in 100 ms chunks
        t = (n_samples + np.arange(100)) / 1000.0
        rec.add_trace(t, rng.normal(size=100))
        n_samples += 100
        if k % 37 == 36:
            n_reps += 1
            rec.add_rep(Rep(index=n_reps, concentric_start_s=t[0], concentric_end_s=t[-1], mean_velocity_m_s=0.7,
                            mean_propulsive_velocity_m_s=0.72, peak_velocity_m_s=1.1, rom_m=0.5,
                            time_to_peak_velocity_s=0.3, concentric_duration_s=0.7))
        time.sleep(0.002)
    rec.end_set(None, "manual")
    rec.flush(5.0)
    failed_while_running = rec.failing is not None
    rec.submit(lambda s: s.conn.execute("PRAGMA max_page_count = 1073741823")).result(10)  # space freed
    rec.stop()
    with Store.open(home) as s:
        sets = s.sets()
        stored_reps = sum(r.n_reps for r in sets)
        stored_samples = sum(s.trace(r.id).n_samples for r in sets)
    return {"full_after_s": full_after_s, "failed": failed_while_running, "reps_accepted": n_reps,
            "reps_stored": stored_reps, "samples_accepted": n_samples, "samples_stored": stored_samples,
            "error_lines": len(lines)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="12 Chronojump and 24 native pulls")
    ap.add_argument("--pulls", type=int, default=100, help="pulls per protocol (default 100)")
    ap.add_argument("--native-speed", type=float, default=5.0, help="script speed-up for the native runs")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    per = {"chronojump": 12, "native": 24} if args.quick else {"chronojump": args.pulls, "native": args.pulls}
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("1. cable pulls (0.2-5 s, seeded random moments, real reader on a pty)")
    link_dir = tempfile.mkdtemp(prefix="vbt-bench-faults-")
    grand = PullRun("all")
    for protocol, want in per.items():
        speed = 1.0 if protocol == "chronojump" else args.native_speed
        total = PullRun(protocol)
        seed = args.seed * 1000 + (0 if protocol == "chronojump" else 500)
        t0 = time.monotonic()
        while total.pulls < want:
            run = run_pulls(protocol, seed, min(12, want - total.pulls), speed, link_dir)
            seed += 1
            for name in ("pulls", "false_stops", "reps_lost", "invented", "doubtful", "early_ends", "true_reps",
                         "counted"):
                setattr(total, name, getattr(total, name) + getattr(run, name))
                setattr(grand, name, getattr(grand, name) + getattr(run, name))
            total.problems += run.problems
            if run.pulls == 0:
                break
        print(f"  {protocol:10s} ({speed:g}x, {time.monotonic() - t0:.0f} s): {total.pulls} pulls, "
              f"{total.true_reps} true reps, {total.counted} counted: false stops {total.false_stops}, "
              f"completed reps lost {total.reps_lost}, invented reps {total.invented}, doubtful reps "
              f"{total.doubtful}, early set ends {total.early_ends}"
              + (f"; problems: {'; '.join(total.problems[:3])}" if total.problems else ""))
    print(f"  all: {grand.pulls} pulls: false stops {grand.false_stops}, completed reps lost {grand.reps_lost}, "
          f"invented reps {grand.invented}, doubtful reps {grand.doubtful} (targets: 0, 0, 0)")
    print("2. disk full during a set, freed after its end (SQLITE_FULL through max_page_count)")
    for full_after in (0.0, 5.0, 15.0, 28.0):
        r = disk_full_case(full_after)
        print(f"  full after {r['full_after_s']:4.1f} s (writing failed: {'yes' if r['failed'] else 'no'}): "
              f"reps accepted {r['reps_accepted']}, stored {r['reps_stored']}; trace samples accepted "
              f"{r['samples_accepted']}, stored {r['samples_stored']}; error lines {r['error_lines']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
