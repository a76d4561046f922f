"""How much each rep's numbers hang on the moment the tracker closes its rise; prints figures.

    python benchmarks/bench_close.py [--seeds tune|fresh] [--sets N] [--family F ...] [--kind K ...]
                                     [--earlier MS,MS,...] [--jobs J]

The tracker analyses a rise once the bar has stayed still long enough after the top (the close,
vbt/kernels/stream.py), and the end's fit sees the samples up to that moment. A few ms either way
is chance: a jittered clock, one noisy sample. A careful estimator's numbers should hardly move
with it. Here every set of the motion families (vbt/motions.py) is analysed as `vbt analyze` does,
and again with each rise's close moved earlier by each of --earlier ms (never before its top + 2
samples); printed per family and sensor kind: the MV error p95 at each close, and how far the MV
and the end move against the unmoved close (p95 and largest), and the sets whose stop rep changes.

This reaches into the tracker (a subclass overrides its private ``_rep_inputs``): it measures the
estimator, it is not a way to run it.
"""

from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import Pool

import numpy as np

from vbt.analysis import analyze_with
from vbt.motions import FAMILIES, SENSOR_KINDS, simulate_family
from vbt.tracker import LiveTracker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_families import CONFIG, SEED_BASE, match_by_overlap, stop_scored  # noqa: E402


class EarlierClose(LiveTracker):
    """The tracker with every rise closed ``earlier_s`` before it would be."""

    def __init__(self, earlier_s, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.earlier_s = earlier_s

    def _rep_inputs(self, bottom, top, confirm, prev_top, raw_stats=None):
        k = int(round(self.earlier_s * self._fs))
        if k == 0:
            return super()._rep_inputs(bottom, top, confirm, prev_top, raw_stats)
        return super()._rep_inputs(bottom, top, max(top + 2, confirm - k), prev_top, None)


def analyze_closed_earlier(t, x, earlier_s):
    """vbt.analysis.analyze's result (one worker) with every close moved ``earlier_s`` earlier."""
    return analyze_with(EarlierClose(earlier_s, CONFIG, auto_end_sets=False, rep_workers=1), t, x)


def score_set(args):
    """(family, kind, rows, stop reps, clear): per true rep matched under every close, its true MV,
    the MV and the end error (s) at each close; the set's stop rep at each close; whether the set is
    "clear" (bench_families.stop_scored: every true rep up to the stop more than 1 point from the
    threshold)."""
    family, kind, seed, earlier = args
    sim = simulate_family(family, seed, kind)
    got, stops = [], []
    clear = None
    for e in (0.0,) + tuple(earlier):
        res = analyze_closed_earlier(sim.t_s, sim.position_m, e)
        m = match_by_overlap(sim.truth, res.reps)
        if clear is None:
            clear = stop_scored(sim, res, m)["clear"]
        got.append({i: (res.reps[j].mean_velocity_m_s, res.reps[j].concentric_end_s) for i, j in m.items()})
        stops.append(res.stop_rep)
    rows = []
    for i, tr in enumerate(sim.truth):
        if all(i in g for g in got):
            rows.append([tr.mean_velocity_m_s] + [g[i][0] for g in got] + [g[i][1] - tr.concentric_end_s for g in got])
    return family, kind, rows, stops, clear


def summarise(rows, n_close):
    """The figures of one family and sensor kind from score_set's rows."""
    r = np.asarray(rows, dtype=np.float64).reshape(-1, 1 + 2 * n_close)
    mv = r[:, 1:1 + n_close]
    end = r[:, 1 + n_close:]
    return dict(reps=len(r), err_p95=np.percentile(np.abs(mv - r[:, :1]), 95, axis=0),
                dmv_p95=np.percentile(np.abs(mv[:, 1:] - mv[:, :1]), 95, axis=0),
                dmv_max=np.abs(mv[:, 1:] - mv[:, :1]).max(axis=0),
                dend_p95_ms=1e3 * np.percentile(np.abs(end[:, 1:] - end[:, :1]), 95, axis=0),
                dend_max_ms=1e3 * np.abs(end[:, 1:] - end[:, :1]).max(axis=0))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", choices=sorted(SEED_BASE), default="fresh")
    ap.add_argument("--sets", type=int, default=20, help="sets per family and sensor kind")
    ap.add_argument("--family", action="append", choices=FAMILIES)
    ap.add_argument("--kind", action="append", choices=SENSOR_KINDS)
    ap.add_argument("--earlier", default="2,5", help="ms the close is moved earlier, comma-separated")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args(argv)
    earlier = tuple(float(v) / 1000.0 for v in a.earlier.split(","))
    families = a.family or list(FAMILIES)
    kinds = a.kind or list(SENSOR_KINDS)
    base = SEED_BASE[a.seeds]
    jobs = [(f, k, base + s, earlier) for f in families for k in kinds for s in range(a.sets)]
    with Pool(max(1, a.jobs)) as pool:
        done = pool.map(score_set, jobs, chunksize=2)
    n_close = 1 + len(earlier)
    ms = ", ".join(f"{1000 * e:g}" for e in earlier)
    print(f"{a.sets} sets per family and sensor kind ({a.seeds} seeds); the close moved earlier by {ms} ms")
    print(f"{'family':9} {'sensor':11} {'reps':>5}  {'MV err p95 (0 / ' + ms + ' ms)':>28}  {'|dMV| p95':>16}  "
          f"{'|dMV| max':>16}  {'|dEnd| p95 ms':>14}  {'|dEnd| max ms':>14}  stop changed")
    for f in families:
        for k in kinds:
            part = [d for d in done if d[0] == f and d[1] == k]
            rows = [r for d in part for r in d[2]]
            if not rows:
                continue
            s = summarise(rows, n_close)
            flipped = [d for d in part if any(st != d[3][0] for st in d[3][1:])]
            clear = sum(1 for d in part if d[4])
            flips = f"{len(flipped)} of {len(part)}; clear {sum(1 for d in flipped if d[4])} of {clear}"
            print(f"{f:9} {k:11} {s['reps']:>5}  {' / '.join(f'{v:.4f}' for v in s['err_p95']):>28}  "
                  f"{' / '.join(f'{v:.4f}' for v in s['dmv_p95']):>16}  "
                  f"{' / '.join(f'{v:.4f}' for v in s['dmv_max']):>16}  "
                  f"{' / '.join(f'{v:.1f}' for v in s['dend_p95_ms']):>14}  "
                  f"{' / '.join(f'{v:.1f}' for v in s['dend_max_ms']):>14}  {flips}")
    print("MV err: |MV - true MV| (m/s) at the close as is and moved; |dMV|, |dEnd|: how far each rep's MV and end "
          "move against the close as is; stop changed: sets whose stop rep differs at some moved close (of all; of the "
          "clear ones)")


if __name__ == "__main__":
    main()
