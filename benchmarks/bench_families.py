"""Accuracy of `vbt.analysis.analyze` per motion family and sensor kind (vbt/motions.py); prints figures.

    python benchmarks/bench_families.py --seeds tune|fresh [--sets N] [--family F ...] [--kind K ...]
                                        [--jobs J] [--json FILE] [--worst N]
    python benchmarks/bench_families.py --family F --seed S [--kind K] --plot out.png [--zoom REP]
    python benchmarks/bench_families.py --seeds fresh --sets N --export DIR   (files + truth JSON)
    python benchmarks/bench_families.py --seeds fresh --sets N --warp 0.05   (continuity, below)
    python benchmarks/bench_families.py --seeds fresh --sets N --vibration 0.6   (robustness, below)
    python benchmarks/bench_families.py --seeds fresh --sets N --glitches 6 [--unrepaired]   (below)
    python benchmarks/bench_families.py --seeds fresh --sets N --held 10 [--unrepaired]   (below)
    python benchmarks/bench_families.py --seeds fresh --sets N --held-drift 10.3 [--unrepaired]   (below)
    python benchmarks/bench_families.py --seeds fresh --sets N --pairs 3 [--unrepaired]   (below)
    python benchmarks/bench_families.py --seeds fresh --sets N --cut   (recordings started late, stopped early)

Sensor kinds (vbt.motions.sensor_for): ``csv`` 100 Hz-1 kHz at 0.2-1 mm, ``chronojump`` 1 kHz at 1 mm
(its raw format), ``fine`` 1 kHz at 0.1-0.5 mm (the sensors the tightest MV targets are stated for).
``--sensor HZ,MM,NOISE_MM`` (repeatable) adds one fixed sensor outside them, the same motions sampled
by it: e.g. ``--sensor 50,1,0.1 --sensor 5000,0.05,0.05`` (without ``--kind``, only those).

Seeds: ``tune`` is 0-99 (for tuning), ``fresh`` 100000 and up (for reporting). Reps are matched to
truth by time overlap (one-to-one, largest overlap first), so a missed or an extra rep does not
shift the others. A set's count is exact when it has as many reps as the truth and every true rep
is matched. Errors are over matched reps. The stop rep is scored on "clear" sets only: sets whose
true reps up to the true stop rep (all reps when none) lie more than 1 point from the threshold
(10 %, MV); it is exact when the measured stop rep is the one matched to the true stop rep (or
both are none).

``--warp PCT``: continuity instead of accuracy. Each set is re-timed WARPS times, its sample spacing
scaled by a factor within +-PCT % that changes at 40 random instants (a live byte clock's stamps
move like this: tests/test_live.py), and every rep's MV is compared with the unwarped set's. A
measurement moves by about PCT %; an estimate that switches between two methods at a hard limit
jumps by their whole difference. Printed: |MV change| / MV median, p99 and max, and the share of reps
that moved more than 0.5 %.

``--vibration MM``: the same table, every sensor with a cable vibration of MM mm at 20-60 Hz
(vbt.motions.simulate_family's ``vibration_m``; vbt.simulate's Beta sets draw up to 0.6 mm). Not
part of the families' figures: it shows how much a vibrating cable costs each family.

``--glitches N``: the same table, N single samples of every set moved 5-30 mm up or down (a glitch of a
sensor or a file); ``--pairs N``: N pairs of adjacent samples moved together by 5-30 mm each, the
same way. ``--held MS``: every sensor's reading updated only every MS ms but written on each
of its samples (a slow sensor logged fast), rounded to whole samples; ``--held-drift MS``: the same on
the sensor's own clock, MS not a whole number of samples (a 97 Hz sensor logged at 1 kHz: 10.3), so
that its updates drift against the logger's samples. Either way the samples are then read as ``vbt analyze``
reads a CSV (``vbt.io.collapse_held``, ``vbt.io.remove_glitches``); with ``--unrepaired`` they are
analysed as they are, to show what the reader's repairs save.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np

from vbt.analysis import analyze
from vbt.config import AnalysisConfig, StopRuleConfig
from vbt.io import collapse_held, remove_glitches
from vbt.motions import FAMILIES, SENSOR_KINDS, sensor_from_text, simulate_family, warped_times

THRESHOLD_PCT = 10.0
SEED_BASE = {"tune": 0, "fresh": 100000}
CONFIG = AnalysisConfig(stop_rule=StopRuleConfig(THRESHOLD_PCT, "mean"))


def match_by_overlap(truth, reps):
    """{true index in list: measured index in list}, one-to-one, largest time overlap first."""
    pairs = []
    for i, tr in enumerate(truth):
        for j, r in enumerate(reps):
            ov = min(tr.concentric_end_s, r.concentric_end_s) - max(tr.concentric_start_s, r.concentric_start_s)
            if ov > 0:
                pairs.append((ov, i, j))
    out, used = {}, set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def true_losses(truth):
    best, out = -np.inf, []
    for tr in truth:
        best = max(best, tr.mean_velocity_m_s)
        out.append(100.0 * (1.0 - tr.mean_velocity_m_s / best))
    return out


def tail_shift(sim, tr):
    """How much of a rep the sensor cannot see: the time at each end while the bar is within one
    resolution step (a quantum, or 3 noise sd) of its end level, and the MV an estimator would
    report with ends placed where the bar first and last moves by that step (full ROM kept)."""
    step = max(sim.sensor.quantum_m, 3.0 * sim.sensor.noise_m)
    t = np.arange(tr.concentric_start_s, tr.concentric_end_s, 2e-4)
    x = sim.timeline.position(t)
    x0, x1 = x[0], sim.timeline.position(np.array([tr.concentric_end_s]))[0]
    seen = np.nonzero((x - x0 >= step) & (x1 - x >= step))[0]
    if seen.size == 0:
        return tr.concentric_duration_s, np.nan
    tail = (t[seen[0]] - t[0]) + (tr.concentric_end_s - t[seen[-1]])
    return tail, tr.rom_m / (tr.concentric_duration_s - tail) - tr.mean_velocity_m_s


MPV_G = 9.81
MPV_G_SHARE = 0.05  # the -g threshold moved by this share either way (0.5 m/s^2) ...
MPV_STABLE = 0.005  # ... moves a stable truth's MPV by less than this (m/s; a third of the target)


def mpv_spread(sim, tr, family):
    """How much the true MPV depends on the exact -g threshold that ends the propulsive phase: the
    MPV with the threshold at (1 - MPV_G_SHARE) g minus the MPV at (1 + MPV_G_SHARE) g. Where braking
    into the top barely passes g (or passes it briefly between two pushes), the propulsive phase's end
    jumps with a small change of the acceleration, which no estimator that reads the acceleration
    through a filter can place. A jump's propulsive phase ends at take-off, which is not a threshold
    (its flight is exactly -g): 0."""
    if family == "jump":
        return 0.0
    t = np.arange(tr.concentric_start_s, tr.concentric_end_s, 2e-4)
    if t.size < 5:
        return 0.0
    x = sim.timeline.position(t)
    v = np.gradient(x, t)
    a = np.gradient(v, t)
    k = int(np.argmax(v))

    def mpv(g):
        below = np.nonzero(a[k:] < -g)[0]
        if below.size == 0:
            return tr.rom_m / tr.concentric_duration_s
        j = k + int(below[0])
        return (x[j] - x[0]) / max(t[j] - t[0], 1e-9)

    return float(mpv(MPV_G * (1 - MPV_G_SHARE)) - mpv(MPV_G * (1 + MPV_G_SHARE)))


def spoiled(sim, seed: int, glitches: int, held_s: float, unrepaired: bool, pairs: int = 0,
            drift_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The set's samples with ``glitches`` single samples moved 5-30 mm, ``pairs`` pairs of adjacent
    samples moved the same way by 5-30 mm each, each reading held for ``held_s`` (rounded to whole
    samples), or held until the next update of a sensor that updates every ``drift_s`` on its own
    clock; then read as a CSV is read (vbt.io), unless ``unrepaired``."""
    t, x = sim.t_s, sim.position_m.copy()
    if held_s > 0.0:
        k = max(1, int(round(held_s / float(np.median(np.diff(t))))))
        x = x[(np.arange(x.size) // k) * k]
    if drift_s > 0.0:  # the sensor's own clock: each sample holds the reading it took at its last update
        m = np.floor((t - t[0]) / drift_s).astype(np.int64)
        u = t[0] + np.arange(m[-1] + 1) * drift_s
        x = sim.sensor._measure(sim.timeline, u, np.random.default_rng([seed, 4002]))[m]
    if glitches > 0:
        rng = np.random.default_rng([seed, 4000])
        j = rng.choice(np.arange(1, x.size - 1), size=glitches, replace=False)
        x[j] += rng.choice([-1.0, 1.0], glitches) * rng.uniform(0.005, 0.03, glitches)
    if pairs > 0:
        rng = np.random.default_rng([seed, 4001])
        j = rng.choice(np.arange(1, (x.size - 2) // 3), size=pairs, replace=False) * 3  # apart
        sign = rng.choice([-1.0, 1.0], pairs)
        x[j] += sign * rng.uniform(0.005, 0.03, pairs)
        x[j + 1] += sign * rng.uniform(0.005, 0.03, pairs)
    if unrepaired:
        return t, x
    t, x, _ = collapse_held(t, x)
    return t, remove_glitches(t, x)[0]


def score_set(args):
    family, kind, seed = args[:3]
    sim = simulate_family(family, seed, kind, args[3] if len(args) > 3 else 0.0)
    t, x = spoiled(sim, seed, *args[4:]) if len(args) > 4 else (sim.t_s, sim.position_m)
    t0 = time.perf_counter()
    res = analyze(t, x, CONFIG)
    elapsed = time.perf_counter() - t0
    truth, reps = sim.truth, res.reps
    match = match_by_overlap(truth, reps)
    exact = len(reps) == len(truth) and len(match) == len(truth)
    rows = []
    for i, tr in enumerate(truth):
        j = match.get(i)
        tail_s, tail_mv = tail_shift(sim, tr)
        if j is None:
            rows.append(dict(rep=i + 1, matched=None, true_start=tr.concentric_start_s, true_end=tr.concentric_end_s,
                             true_mv=tr.mean_velocity_m_s, tail_s=tail_s, tail_mv=tail_mv))
            continue
        r = reps[j]
        rows.append(dict(rep=i + 1, matched=j + 1, tail_s=tail_s, tail_mv=tail_mv,
                         true_start=tr.concentric_start_s, true_end=tr.concentric_end_s,
                         got_start=r.concentric_start_s, got_end=r.concentric_end_s, true_mv=tr.mean_velocity_m_s,
                         got_mv=r.mean_velocity_m_s, mv=r.mean_velocity_m_s - tr.mean_velocity_m_s,
                         mpv=r.mean_propulsive_velocity_m_s - tr.mean_propulsive_velocity_m_s,
                         pv=r.peak_velocity_m_s - tr.peak_velocity_m_s, rom=r.rom_m - tr.rom_m,
                         mpv_spread=mpv_spread(sim, tr, family)))
    extra = [dict(start=r.concentric_start_s, end=r.concentric_end_s, mv=r.mean_velocity_m_s)
             for j, r in enumerate(reps) if j not in match.values()]
    stop = stop_scored(sim, res, match)
    return dict(family=family, kind=kind, seed=seed, n_true=len(truth), n_got=len(reps), exact=exact,
                clear=stop["clear"], stop_ok=stop["ok"], true_stop=stop["true_stop"], got_stop=res.stop_rep,
                reps=rows, extra=extra, analyze_s=elapsed, samples=int(sim.t_s.size))


def stop_scored(sim, res, match):
    """The stop rep's score: the true stop rep (None: the set never stops), whether the set is "clear"
    (every true rep up to the true stop more than 1 point from the threshold), and whether analyze's
    stop rep is the one matched to the true one (``match``: true index -> measured index)."""
    true_stop = sim.true_stop_rep(THRESHOLD_PCT, "mean")
    upto = true_stop if true_stop is not None else len(sim.truth)
    clear = all(abs(loss - THRESHOLD_PCT) > 1.0 for loss in true_losses(sim.truth)[1:upto])
    if true_stop is None:
        ok = res.stop_rep is None
    else:
        j = match.get(true_stop - 1)
        ok = j is not None and res.stop_rep == j + 1
    return dict(true_stop=true_stop, clear=clear, ok=ok)


CUT_AT = 0.5  # --cut: the recording starts and ends this far into its first and last rises


def cut_set(args):
    """--cut: the set's recording started late and stopped early (CUT_AT into its first and last
    rises). Whether the measured reps that hold a part of a cut rise are marked doubtful, whether a
    cut rep became the best or the STOP, and how many reps of the whole recording are marked cut."""
    family, kind, seed = args
    sim = simulate_family(family, seed, kind)
    first, last = sim.truth[0], sim.truth[-1]
    whole = analyze(sim.t_s, sim.position_m, CONFIG)
    inside = (sim.t_s > first.concentric_start_s + CUT_AT * first.concentric_duration_s) & \
        (sim.t_s < last.concentric_start_s + CUT_AT * last.concentric_duration_s)
    res = analyze(sim.t_s[inside], sim.position_m[inside], CONFIG)
    holds_first = [r for r in res.reps if r.concentric_start_s < first.concentric_end_s]
    holds_last = [r for r in res.reps if r.concentric_end_s > last.concentric_start_s]
    cut = [r.index for r in holds_first + holds_last]
    exact = []  # a recording from the instant the second rep leaves the bottom to the one the last but one ends
    if len(sim.truth) >= 3:
        edges = (sim.t_s >= sim.truth[1].concentric_start_s) & (sim.t_s <= sim.truth[-2].concentric_end_s)
        exact = analyze(sim.t_s[edges], sim.position_m[edges], CONFIG).reps
    return dict(family=family, kind=kind, seed=seed, exact_reps=len(exact),
                exact_marked=sum(r.quality.startswith("cut") for r in exact),
                first=len(holds_first), first_marked=sum(r.quality.startswith("cut") for r in holds_first),
                last=len(holds_last), last_marked=sum(r.quality.startswith("cut") for r in holds_last),
                cut_best=res.best_rep in cut, cut_stop=res.stop_rep in cut,
                whole_reps=len(whole.reps), whole_marked=sum(r.quality.startswith("cut") for r in whole.reps))


def print_cut(results, families, kinds):
    print(f"recordings cut {CUT_AT:.0%} into their first and last rises: the measured reps that hold a cut part, "
          "how many are marked 'cut' (check rep N), cut reps that became the best or fired the STOP; and the "
          "reps of the whole recordings, and of recordings that start and end exactly at a rep's ends, marked "
          "'cut' (false)")
    print(f"{'family':9s} {'sensor':10s} {'sets':>5s} {'first marked':>13s} {'last marked':>12s} {'best':>5s} "
          f"{'STOP':>5s} {'whole: marked':>14s} {'exact: marked':>14s}")
    for kind in kinds:
        for fam in families + ["ALL"]:
            sel = [s for s in results if s["kind"] == kind and (fam == "ALL" or s["family"] == fam)]
            if not sel:
                continue
            tot = {key: sum(s[key] for s in sel) for key in sel[0] if key not in ("family", "kind", "seed")}
            print(f"{fam:9s} {kind:10s} {len(sel):5d} {tot['first_marked']:6d}/{tot['first']:<6d} "
                  f"{tot['last_marked']:5d}/{tot['last']:<6d} {tot['cut_best']:5d} {tot['cut_stop']:5d} "
                  f"{tot['whole_marked']:7d}/{tot['whole_reps']:<6d} {tot['exact_marked']:7d}/{tot['exact_reps']:<6d}")


WARPS = 4


def continuity_set(args):
    family, kind, seed, pct = args
    sim = simulate_family(family, seed, kind)
    base = [r.mean_velocity_m_s for r in analyze(sim.t_s, sim.position_m, CONFIG).reps]
    rng = np.random.default_rng(seed)
    moved, recounted = [], 0
    for _ in range(WARPS):
        got = [r.mean_velocity_m_s for r in analyze(warped_times(sim.t_s, rng, pct), sim.position_m, CONFIG).reps]
        if len(got) != len(base):
            recounted += 1
            continue
        moved += [abs(g / b - 1.0) for g, b in zip(got, base)]
    return dict(family=family, kind=kind, moved=moved, recounted=recounted)


def print_continuity(results, families, kinds, pct):
    print(f"MV moved by warps within +-{pct} % ({WARPS} per set): |change| / MV")
    print(f"{'family':9s} {'sensor':10s} {'reps':>5s} {'median':>8s} {'p99':>7s} {'max':>7s} {'>0.5 %':>7s} recounted")
    for kind in kinds:
        for fam in families + ["ALL"]:
            sel = [s for s in results if s["kind"] == kind and (fam == "ALL" or s["family"] == fam)]
            m = np.array([v for s in sel for v in s["moved"]])
            if m.size:
                print(f"{fam:9s} {kind:10s} {m.size:5d} {100 * np.median(m):7.3f}% {100 * np.percentile(m, 99):6.2f}% "
                      f"{100 * m.max():6.2f}% {100 * np.mean(m > 0.005):6.1f}% {sum(s['recounted'] for s in sel):5d}")


def summarise(results):
    rows = [r for s in results for r in s["reps"] if r["matched"] is not None]
    clear = [s for s in results if s["clear"]]
    out = dict(sets=len(results), reps=sum(s["n_true"] for s in results), matched=len(rows),
               count_exact_pct=100.0 * np.mean([s["exact"] for s in results]) if results else float("nan"),
               clear_sets=len(clear),
               stop_exact_pct=100.0 * np.mean([s["stop_ok"] for s in clear]) if clear else float("nan"))
    tails = np.abs([r["tail_mv"] for s in results for r in s["reps"]])
    out["tail_mv_p95"] = float(np.nanpercentile(tails, 95)) if tails.size else float("nan")
    for key in ("mv", "mpv", "pv", "rom"):
        err = np.abs([r[key] for r in rows])
        out[f"{key}_median"] = float(np.median(err)) if err.size else float("nan")
        out[f"{key}_p95"] = float(np.percentile(err, 95)) if err.size else float("nan")
        out[f"{key}_max"] = float(err.max()) if err.size else float("nan")
    stable = np.abs([r["mpv"] for r in rows if abs(r.get("mpv_spread", 0.0)) < MPV_STABLE])
    out["mpv_stable_reps"] = int(stable.size)
    out["mpv_stable_p95"] = float(np.percentile(stable, 95)) if stable.size else float("nan")
    return out


def worst_reps(results, n):
    items = []
    for s in results:
        for r in s["reps"]:
            bad = np.inf if r["matched"] is None else abs(r["mv"])
            items.append((bad, s, r))
    items.sort(key=lambda z: -z[0])
    return [dict(family=s["family"], kind=s["kind"], seed=s["seed"], **r) for _, s, r in items[:n]]


def print_table(results, families, kinds, n_worst):
    wk = max([10] + [len(k) for k in kinds])  # a fixed sensor's "HZ,MM,NOISE_MM" may be wider than a kind
    head = (f"{'family':9s} {'sensor':{wk}s} {'sets':>4s} {'reps':>5s} {'count%':>7s} {'MV med':>7s} {'MV p95':>7s} "
            f"{'MPV p95':>7s} {'PV p95':>7s} {'ROM p95 mm':>10s} {'stop%':>6s} {'(clear)':>7s} {'tail p95':>8s}")
    print(head)
    print("-" * len(head))
    groups = [(f, k) for f in families for k in kinds] + [("ALL", k) for k in kinds]
    table = {}
    for f, k in groups:
        sub = [s for s in results if s["kind"] == k and (f == "ALL" or s["family"] == f)]
        if not sub:
            continue
        m = summarise(sub)
        table[f"{f}/{k}"] = m
        print(f"{f:9s} {k:{wk}s} {m['sets']:4d} {m['reps']:5d} {m['count_exact_pct']:6.1f}% {m['mv_median']:7.4f} "
              f"{m['mv_p95']:7.4f} {m['mpv_p95']:7.4f} {m['pv_p95']:7.4f} {1000 * m['rom_p95']:10.2f} "
              f"{m['stop_exact_pct']:5.1f}% {m['clear_sets']:7d} {m['tail_mv_p95']:8.4f}")
    print("targets: count >= 98 %; MV median <= 0.003, p95 <= 0.010 at 1 kHz and <= 0.5 mm (sensor 'fine'; "
          "'csv' also has 100 Hz-1 kHz and up to 1 mm), p95 <= 0.015 at Chronojump's 1 mm; "
          "MPV p95 <= 0.015; PV p95 <= 0.03; ROM p95 <= 3 mm; stop >= 95 % of clear sets")
    print("tail p95: |MV shift| if each end were placed where the bar has moved one resolution step from it "
          "(how much of each rep the sensor barely sees; no target)")
    print("where the ends land (measured - true, ms; matched reps, both sensor kinds), and the signed MV bias:")
    print(f"  {'family':9s} {'start med':>9s} {'p5':>6s} {'p95':>6s}   {'end med':>7s} {'p5':>6s} {'p95':>6s}   "
          f"{'MV bias':>8s}")
    for f in families:
        rows = [r for s in results if s["family"] == f for r in s["reps"] if r["matched"] is not None]
        if not rows:
            continue
        ds = 1000 * np.array([r["got_start"] - r["true_start"] for r in rows])
        de = 1000 * np.array([r["got_end"] - r["true_end"] for r in rows])
        print(f"  {f:9s} {np.median(ds):+9.0f} {np.percentile(ds, 5):+6.0f} {np.percentile(ds, 95):+6.0f}   "
              f"{np.median(de):+7.0f} {np.percentile(de, 5):+6.0f} {np.percentile(de, 95):+6.0f}   "
              f"{np.median([r['mv'] for r in rows]):+8.4f}")
    print(f"MPV p95 where the truth does not hinge on the -g threshold (its MPV moves < {MPV_STABLE} m/s when "
          f"the threshold moves {100 * MPV_G_SHARE:g} % either way; not a target, the reps left out in brackets):")
    for f in families:
        cells = []
        for k in kinds:
            m = table.get(f"{f}/{k}")
            if m:
                cells.append(f"{k} {m['mpv_stable_p95']:.4f} ({m['matched'] - m['mpv_stable_reps']})")
        if cells:
            print(f"  {f:9s} " + ", ".join(cells))
    missed = sum(1 for s in results for r in s["reps"] if r["matched"] is None)
    extra = sum(len(s["extra"]) for s in results)
    print(f"missed true reps {missed}, extra measured reps {extra}")
    if n_worst:
        print(f"worst {n_worst} reps by |MV error| (missed reps first); times in s from the first sample:")
        for w in worst_reps(results, n_worst):
            if w["matched"] is None:
                print(f"  {w['family']:9s} {w['kind']:{wk}s} seed {w['seed']:6d} rep {w['rep']:2d}  MISSED  "
                      f"true {w['true_start']:.3f}-{w['true_end']:.3f}  MV {w['true_mv']:.3f}")
            else:
                print(f"  {w['family']:9s} {w['kind']:{wk}s} seed {w['seed']:6d} rep {w['rep']:2d}  "
                      f"true {w['true_start']:.3f}-{w['true_end']:.3f}  got {w['got_start']:.3f}-{w['got_end']:.3f} "
                      f"(start {1000 * (w['got_start'] - w['true_start']):+.0f} ms, end "
                      f"{1000 * (w['got_end'] - w['true_end']):+.0f} ms)  MV {w['true_mv']:.3f} -> {w['got_mv']:.3f} "
                      f"({w['mv']:+.4f})  ROM {1000 * w['rom']:+.1f} mm")
    return table


def plot_set(family, seed, kind, path, zoom_rep=None):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return
    sim = simulate_family(family, seed, kind)
    res = analyze(sim.t_s, sim.position_m, CONFIG)
    fig, (ax, axv) = plt.subplots(2, 1, figsize=(14, 7), sharex=True)
    ax.plot(sim.t_s, sim.position_m, ".", ms=1.5, color="0.4", label="samples")
    tf = np.linspace(0, sim.t_s[-1], min(200000, max(2000, sim.t_s.size * 4)))
    axv.plot(tf, sim.timeline.velocity(tf), color="0.3", lw=0.8, label="true velocity")
    for tr in sim.truth:
        for a in (ax, axv):
            a.axvline(tr.concentric_start_s, color="g", lw=0.8)
            a.axvline(tr.concentric_end_s, color="g", lw=0.8, ls="--")
    for r in res.reps:
        for a in (ax, axv):
            a.axvline(r.concentric_start_s, color="r", lw=0.8, ls=":")
            a.axvline(r.concentric_end_s, color="r", lw=0.8, ls="-.")
    if zoom_rep is not None:
        if not 1 <= zoom_rep <= len(sim.truth):
            print(f"--zoom: the set has reps 1-{len(sim.truth)}")
            return
        tr = sim.truth[zoom_rep - 1]
        ax.set_xlim(tr.concentric_start_s - 1.0, tr.concentric_end_s + 1.0)
        near = (sim.t_s > tr.concentric_start_s - 1.0) & (sim.t_s < tr.concentric_end_s + 1.0)
        ax.set_ylim(sim.position_m[near].min() - 0.02, sim.position_m[near].max() + 0.02)
        vz = sim.timeline.velocity(tf[(tf > tr.concentric_start_s - 1.0) & (tf < tr.concentric_end_s + 1.0)])
        axv.set_ylim(vz.min() - 0.1, vz.max() + 0.1)
        for a in (ax, axv):
            a.grid(True, lw=0.3)
    ax.set_ylabel("position (m)")
    axv.set_ylabel("velocity (m/s)")
    axv.set_xlabel("time (s)")
    ax.set_title(f"{family} seed {seed} {kind}: truth green (start solid, end dashed), measured red")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def export_sets(jobs, directory):
    """Each set as the file a user would analyse (our CSV, or Chronojump's raw text) plus its truth,
    so `vbt analyze --json` can be scored from the command line as well."""
    from dataclasses import asdict

    from vbt.io import write_csv
    from vbt.motions import chronojump_text

    os.makedirs(directory, exist_ok=True)
    for family, kind, seed in jobs:
        sim = simulate_family(family, seed, kind)
        stem = os.path.join(directory, f"{family}-{kind}-{seed}")
        if kind == "chronojump":
            with open(stem + ".txt", "w") as fh:
                fh.write(chronojump_text(sim))
        else:
            write_csv(stem + ".csv", sim.t_s, sim.position_m)
        with open(stem + ".truth.json", "w") as fh:
            json.dump(dict(family=family, sensor_kind=kind, seed=seed,
                           true_stop_rep=sim.true_stop_rep(THRESHOLD_PCT, "mean"),
                           threshold_pct=THRESHOLD_PCT, time_origin="first sample",
                           reps=[asdict(r) for r in sim.truth]), fh, indent=1)
    print(f"wrote {len(jobs)} sets and their truth to {directory}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", choices=sorted(SEED_BASE), default="tune")
    ap.add_argument("--sets", type=int, default=20, help="sets per family and sensor kind")
    ap.add_argument("--family", action="append", choices=FAMILIES)
    ap.add_argument("--kind", action="append", choices=SENSOR_KINDS)
    ap.add_argument("--sensor", action="append", metavar="HZ,MM,NOISE_MM",
                    help="also (without --kind: only) one fixed sensor outside the kinds: rate, step in mm (0: "
                         "none), white noise sd in mm, e.g. 50,1,0.1 (vbt.motions.sensor_from_text); repeatable")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", help="write every set's scores and the summary table here")
    ap.add_argument("--worst", type=int, default=12)
    ap.add_argument("--seed", type=int, help="with --plot: the seed of the set to draw")
    ap.add_argument("--plot", help="draw one set (--family F --seed S) to this PNG and exit")
    ap.add_argument("--zoom", type=int, help="with --plot: show only true rep N and a second either side")
    ap.add_argument("--vibration", type=float, default=0.0, metavar="MM",
                    help="robustness: add a cable vibration of this amplitude (mm, 20-60 Hz) to every sensor")
    ap.add_argument("--glitches", type=int, default=0, metavar="N",
                    help="robustness: move N single samples of every set by 5-30 mm, then read them as a CSV is read")
    ap.add_argument("--pairs", type=int, default=0, metavar="N",
                    help="robustness: move N pairs of adjacent samples of every set by 5-30 mm, then read as a "
                         "CSV is read")
    ap.add_argument("--held", type=float, default=0.0, metavar="MS",
                    help="robustness: hold each reading MS ms (a slow sensor logged fast), then read as a CSV is read")
    ap.add_argument("--held-drift", type=float, default=0.0, metavar="MS",
                    help="robustness: hold each reading until the next update of a sensor updating every MS ms on its "
                         "own clock, then read as a CSV is read")
    ap.add_argument("--unrepaired", action="store_true",
                    help="with --glitches, --pairs, --held or --held-drift: analyse the samples as they are (what the "
                         "reader's repairs save)")
    ap.add_argument("--export", metavar="DIR", help="write the sets (CSV / Chronojump raw) and their truth, then exit")
    ap.add_argument("--cut", action="store_true", help="robustness: each recording started late and stopped early "
                    "(halfway into its first and last rises): are the cut reps marked? (see cut_set)")
    ap.add_argument("--warp", type=float, metavar="PCT", help="continuity: how far MV moves when the samples' "
                    "spacing is warped within +-PCT %% (see the module's doc)")
    a = ap.parse_args(argv)
    families = a.family or list(FAMILIES)
    kinds = (a.kind or ([] if a.sensor else list(SENSOR_KINDS))) + (a.sensor or [])
    for k in a.sensor or []:
        try:
            sensor_from_text(k)
        except ValueError as e:
            ap.error(f"--sensor: {e}")
    if a.plot:
        if a.seed is None or not a.family:
            ap.error("--plot needs --family and --seed")
        plot_set(families[0], a.seed, kinds[0], a.plot, a.zoom)
        return 0
    if a.sets > 100 and a.seeds == "tune":
        ap.error("the tuning range has 100 seeds")
    base = SEED_BASE[a.seeds]
    jobs = [(f, k, base + i) for f in families for k in kinds for i in range(a.sets)]
    if a.vibration > 0:
        if a.export or a.warp is not None:
            ap.error("--vibration is for the accuracy table only")
        jobs = [(*j, a.vibration / 1000.0) for j in jobs]
    if a.glitches > 0 or a.held > 0 or a.pairs > 0 or a.held_drift > 0:
        if a.export or a.warp is not None:
            ap.error("--glitches, --pairs, --held and --held-drift are for the accuracy table only")
        jobs = [(*j[:3], j[3] if len(j) > 3 else 0.0, a.glitches, a.held / 1000.0, a.unrepaired, a.pairs,
                 a.held_drift / 1000.0) for j in jobs]
    if a.export:
        export_sets(jobs, a.export)
        return 0
    analyze(*_warm())  # numba compiles once, outside the timing
    simulate_family("forcevel", 0)
    if a.cut:
        if len(jobs[0]) > 3 or a.export or a.warp is not None:
            ap.error("--cut is a table of its own")
        if a.jobs > 1:
            with Pool(a.jobs) as pool:
                cut = pool.map(cut_set, jobs, chunksize=4)
        else:
            cut = [cut_set(j) for j in jobs]
        print_cut(cut, families, kinds)
        return 0
    if a.warp is not None:
        cjobs = [(*j, a.warp) for j in jobs]
        if a.jobs > 1:
            with Pool(a.jobs) as pool:
                cres = pool.map(continuity_set, cjobs, chunksize=4)
        else:
            cres = [continuity_set(j) for j in cjobs]
        print_continuity(cres, families, kinds, a.warp)
        return 0
    t0 = time.perf_counter()
    if a.jobs > 1:
        with Pool(a.jobs) as pool:
            results = pool.map(score_set, jobs, chunksize=4)
    else:
        results = [score_set(j) for j in jobs]
    wall = time.perf_counter() - t0
    if a.vibration > 0:
        print(f"every sensor with a cable vibration of {a.vibration:g} mm at 20-60 Hz")
    if a.glitches > 0 or a.held > 0 or a.pairs > 0 or a.held_drift > 0:
        what = [f"{a.glitches} single samples of every set moved 5-30 mm"] if a.glitches > 0 else []
        what += [f"{a.pairs} pairs of adjacent samples moved 5-30 mm"] if a.pairs > 0 else []
        what += [f"every reading held {a.held:g} ms"] if a.held > 0 else []
        what += [f"every reading held until the next update of a sensor updating every {a.held_drift:g} ms on "
                 "its own clock"] if a.held_drift > 0 else []
        print(", ".join(what) + ("; analysed as they are" if a.unrepaired else "; read as a CSV is read (vbt.io)"))
    print(f"{len(results)} sets ({a.seeds} seeds from {base}), {wall:.1f} s wall on {a.jobs} process(es), "
          f"analyze {sum(s['analyze_s'] for s in results):.1f} s of it")
    table = print_table(results, families, kinds, a.worst)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(_finite(dict(seeds=a.seeds, sets_per_group=a.sets, table=table, sets=results)), fh, indent=1)
        print(f"wrote {a.json}")
    return 0


def _finite(o):
    """JSON has no NaN: those become null."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, (np.integer, np.bool_)):
        return o.item()
    return o


def _warm():
    sim = simulate_family("beta", 1, "csv")
    return sim.t_s, sim.position_m


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
