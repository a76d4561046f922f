"""Benchmark: ten years of daily training in the history, then the two queries the history view
needs at once — the session list and an exercise trend. Target: under 200 ms each.

    python benchmarks/bench_history.py            # ~20,000 sets, ~150,000 reps, in a temp dir
    python benchmarks/bench_history.py --years 1  # quicker
    python benchmarks/bench_history.py --keep DIR # keep the file to poke at

Traces: every set gets a real trace (rep-shaped motion, 1 mm quantised like a Chronojump encoder,
stored through the same codec as live recordings) of ``--trace-samples`` samples (3,000 default).
A real 1 kHz set is 20–40 s (20,000–40,000 samples); we store fewer so that building ten years
takes a minute, not an hour. The timed queries never read trace blobs (they live in their own
table), so trace length changes the file size, not the timings; opening one set's detail does
read its trace and is timed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbt.results import Rep  # noqa: E402
from vbt.store import Store, database_path  # noqa: E402
from vbt.units import G  # noqa: E402

# Each day's plan: (exercise, typical working load kg, load-velocity slope); 2-3 exercises a day.
PROGRAMME = (
    (("squat", 120.0), ("bench press", 85.0), ("Romanian deadlift", 100.0)),
    (("deadlift", 160.0), ("overhead press", 55.0), ("hip thrust", 140.0)),
    (("front squat", 95.0), ("bench press", 80.0), ("leg press", 200.0)),
    (("squat", 110.0), ("hex-bar deadlift", 150.0)),
)
MVT = {"squat": 0.30, "bench press": 0.17, "Romanian deadlift": 0.15, "deadlift": 0.15, "overhead press": 0.19,
       "hip thrust": 0.25, "front squat": 0.30, "leg press": 0.21, "hex-bar deadlift": 0.25}


def make_trace(rng: np.random.Generator, n_samples: int, n_reps: int) -> tuple[np.ndarray, np.ndarray]:
    """Rep-shaped position at 200 Hz, quantised to 1 mm, with a little noise before quantising."""
    t = np.arange(n_samples) / 200.0
    period = t[-1] / max(n_reps, 1)
    x = 0.25 * (1 - np.cos(2 * np.pi * t / period)) + rng.normal(0, 0.0004, n_samples)
    return t, np.round(x * 1000.0) / 1000.0


def build(home: Path, years: int, trace_samples: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    t0 = time.mktime((2015, 1, 1, 17, 0, 0, 0, 0, -1))
    n_sets = n_reps = 0
    traces = [make_trace(rng, trace_samples, k) for k in range(3, 13)]  # reused shapes, re-encoded per set
    with Store.open(home) as store:
        for day in range(int(round(365.25 * years))):
            day_start = t0 + day * 86400.0
            with store.transaction():
                session = store.new_session("ana", started_at_unix_s=day_start)
                minute = 0.0
                for exercise, load in PROGRAMME[day % len(PROGRAMME)]:
                    fitness = 1.0 + 0.15 * day / 3652.5 + 0.03 * np.sin(day / 40.0)
                    for _ in range(int(rng.integers(1, 4))):
                        set_load = round(load * fitness * rng.uniform(0.6, 0.95) / 2.5) * 2.5
                        pct = set_load / (load * fitness * 1.15)
                        v1 = MVT[exercise] + (1.2 - MVT[exercise]) * (1 - pct) + rng.normal(0, 0.02)
                        k = int(rng.integers(4, 12))
                        reps = []
                        for i in range(k):
                            v = max(0.1, v1 * (1 - 0.025 * i) * (1 + rng.normal(0, 0.01)))
                            reps.append(Rep(index=i + 1, concentric_start_s=2.5 * i + 1.0,
                                            concentric_end_s=2.5 * i + 1.0 + 0.5 / v, mean_velocity_m_s=v,
                                            mean_propulsive_velocity_m_s=v * 1.05, peak_velocity_m_s=v * 1.7,
                                            rom_m=0.5, time_to_peak_velocity_s=0.2, concentric_duration_s=0.5 / v,
                                            eccentric_duration_s=1.1, eccentric_mean_velocity_m_s=0.45,
                                            bottom_pause_s=0.05, mean_force_n=set_load * G,
                                            peak_force_n=set_load * 14.0, mean_power_w=set_load * G * v,
                                            peak_power_w=set_load * 25.0 * v))
                        store.add_set(reps, exercise=exercise, athlete="ana", load_kg=set_load,
                                      rpe=float(rng.integers(6, 10)), started_at_unix_s=day_start + minute * 60,
                                      session_id=session, trace=traces[min(k, 12) - 3], source="bench")
                        minute += 4.0
                        n_sets += 1
                        n_reps += k
            # a few sets gain RPE notes and a deleted rep, as a real history would
            if day % 97 == 0:
                last = store.sets(session_id=session)[-1]
                store.delete_rep(store.reps(last.id)[-1].id)
                store.update_set(last.id, note="bar slipped on the last rep")
    return {"sets": n_sets, "reps": n_reps}


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """(first run ms, median of the rest ms, last result)."""
    times, result = [], None
    for _ in range(repeats + 1):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return times[0], statistics.median(times[1:]), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--trace-samples", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep it (default: a temp dir)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vbt-bench-") as tmp:
        home = Path(args.keep) if args.keep else Path(tmp)
        if database_path(home).exists():
            print(f"{database_path(home)} exists; use an empty directory", file=sys.stderr)
            return 1
        start = time.perf_counter()
        counts = build(home, args.years, args.trace_samples, args.seed)
        build_s = time.perf_counter() - start
        size_mb = sum(p.stat().st_size for p in home.glob("history.sqlite3*")) / 1e6
        print(f"built {args.years:g} years: {counts['sets']:,} sets, {counts['reps']:,} reps, "
              f"{counts['sets'] * args.trace_samples:,} trace samples in {build_s:.1f} s; "
              f"file {size_mb:.0f} MB "
              f"({size_mb * 1e6 / (counts['sets'] * args.trace_samples):.2f} bytes per trace sample incl. everything)")

        target_ms = 200.0
        rows = []
        t_open_first, t_open, _ = timed(lambda: Store.open(home).close(), args.repeats)
        rows.append(("open the store (migrate/seed/recovery checks)", t_open_first, t_open, ""))
        with Store.open(home) as store:
            first, med, sessions = timed(lambda: store.sessions(), args.repeats)
            rows.append(("history list: all sessions, counts, exercises", first, med, f"{len(sessions):,} sessions"))
            first, med, page = timed(lambda: store.sessions(limit=50), args.repeats)
            rows.append(("history list: newest 50 sessions", first, med, f"{len(page)} sessions"))
            first, med, sets = timed(lambda: store.sets(session_id=sessions[0].id), args.repeats)
            rows.append(("one session's sets", first, med, f"{len(sets)} sets"))
            first, med, trend = timed(lambda: store.exercise_trend("squat", athlete="ana", load_kg=100.0),
                                      args.repeats)
            rows.append((f"exercise trend: squat, {args.years:g} years (query + aggregate)", first, med,
                         f"{len(trend):,} points"))
            first, med, trend_b = timed(lambda: store.exercise_trend("bench press"), args.repeats)
            rows.append(("exercise trend: bench press, all athletes", first, med, f"{len(trend_b):,} points"))
            first, med, doc = timed(lambda: store.history(limit=50), args.repeats)
            rows.append(("history JSON: newest 50 sessions with reps", first, med,
                         f"{sum(len(x['reps']) for se in doc['sessions'] for x in se['sets']):,} reps"))
            first, med, detail = timed(lambda: store.set_detail(sets[0].id), args.repeats)
            rows.append(("one set: reps + trace", first, med, f"{detail.trace.n_samples:,} samples"))
            first, med, prof = timed(lambda: store.load_velocity_profile("bench press", athlete="ana"), args.repeats)
            rows.append(("load-velocity profile: bench, last 56 days", first, med, f"1RM {prof.one_rm_kg:.1f} kg"))
        width = max(len(r[0]) for r in rows)
        print(f"\n{'query':<{width}}  {'first ms':>9}  {'median ms':>9}  {'vs 200 ms':>9}  result")
        for name, first, med, note in rows:
            print(f"{name:<{width}}  {first:9.1f}  {med:9.1f}  {med / target_ms:8.2f}x  {note}")
        worst = max(r[2] for r in rows[1:6])
        ok = worst < target_ms
        print(f"\nslowest of history list and trend (median): {worst:.1f} ms = {worst / target_ms:.2f} of the "
              f"{target_ms:.0f} ms target -> {'OK' if ok else 'TOO SLOW'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
