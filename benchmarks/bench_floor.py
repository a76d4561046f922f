"""What a 1 mm encoder cannot tell apart: for each rep of the motion families at Chronojump's 1 kHz and
1 mm, the range of mean velocities over motions whose recordings are identical to it; prints figures.

    python benchmarks/bench_floor.py [--seeds tune|fresh] [--sets N] [--family F ...] [--jobs J]
                                     [--crossings K] [--exponents LO,HI]
    python benchmarks/bench_floor.py --real [--crossings K] [--exponents LO,HI]   (fixtures/real/)
    python benchmarks/bench_floor.py --kind fine|csv [...]   (noise before the rounding: see "sensors with noise")

A noiseless encoder reports only in which sample interval the bar crossed each count boundary. A
rep's start (after a still bar) and its end (before a still top) are then known only through the
first and last K crossings and the count the still bar reads. Any other motion that crosses those
boundaries in the same intervals and holds within the same counts gives exactly the same samples.
This benchmark builds such motions: the onset a power law of time, L + A (t - t0)^p, the arrival
L1 - A (t1 - t)^p, with p within the exponent range (2: a force or a braking that starts at once;
higher: one that builds up or eases off), over the first and last K crossings, the level L within
the still reading's count, its speed at the K-th crossing within JOIN_SPEED of the bar's there (read
from the crossings either side), and the true motion elsewhere (the joins move within one count,
which no sample sees; `alternative_positions` builds one, and tests/test_bench_floor.py rounds it to
counts). For a given (p, L) the crossing constraints are linear in (t0, A^(-1/p)), so the range of
t0 is exact (the vertices of a polygon); p and L are scanned on a grid.

Printed per family: the share of reps whose start and whose top are left open (a still bar beside
them, counts moving one way over the K crossings, and some power law of the range matching them;
only those ends are varied: a touch-and-go bottom or a jump's flight counts as known, so the figures
are a floor, not the whole ambiguity), the half-width of each rep's indistinguishable MV range (the
least worst-case error any estimator can guarantee on that rep over those motions: it reports one MV
for the one recording), and `vbt.analysis.analyze`'s own MV error on the same recordings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from multiprocessing import Pool
from types import SimpleNamespace

import numpy as np

from vbt.analysis import analyze
from vbt.config import AnalysisConfig, SegmentationConfig
from vbt.io import read_recording
from vbt.motions import FAMILIES, simulate_family

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_families import CONFIG, SEED_BASE, THRESHOLD_PCT, match_by_overlap, stop_scored  # noqa: E402

STILL_S = 0.1  # a still start or top: the reading held this long (a jump's apex holds a count for ~25 ms)
GRID_P = 21  # exponents scanned
GRID_L = 21  # levels scanned within the still reading's count
JOIN_SPEED = 0.25  # the alternative's speed where it joins the true motion: within this share of the bar's
MARGIN_S = 1e-6  # each crossing kept this far inside its sample interval (on a boundary, a sample rounds either way)
MAX_VERTICES_REPS = 16  # a set's stop rep is tried at every corner of its reps' MV ranges up to this many reps


def _range_t(lo, hi, u, t_bound, sign, beta_lo, beta_hi):
    """Extremes of t_e over {lo_k < t_e + sign * beta * u_k < hi_k for all k, beta_lo <= beta <=
    beta_hi} with t_e >= t_bound (sign +1: an onset at t_e) or t_e <= t_bound (sign -1: an arrival
    at t_e), found at the vertices of that polygon in (t_e, beta). Returns ((t_min, beta),
    (t_max, beta)), or None when it is empty."""
    lo = lo + MARGIN_S
    hi = hi - MARGIN_S
    su = sign * u
    cs = np.concatenate((lo, hi))
    us = np.concatenate((su, su))
    cand = []
    for a in range(cs.size):  # the lines t_e + su_k beta = c: pairwise, with t_e = t_bound, with beta's limits
        for b in range(a + 1, cs.size):
            if us[a] != us[b]:
                beta = (cs[a] - cs[b]) / (us[a] - us[b])
                cand.append((cs[a] - us[a] * beta, beta))
        cand.append((t_bound, (cs[a] - t_bound) / us[a]))
        cand += [(cs[a] - us[a] * beta_lo, beta_lo), (cs[a] - us[a] * beta_hi, beta_hi)]
    cand += [(t_bound, beta_lo), (t_bound, beta_hi)]
    eps = 1e-12
    ok = [(te, beta) for te, beta in cand
          if beta_lo * (1 - 1e-9) <= beta <= beta_hi * (1 + 1e-9) and sign * (te - t_bound) >= -eps
          and np.all(te + su * beta >= lo - eps) and np.all(te + su * beta <= hi + eps)]
    if not ok:
        return None
    return min(ok), max(ok)


def _crossings(t, n, j_from, direction, k):
    """For an onset (direction +1): the sample intervals (t[j-1], t[j]) in which the counts ``n``
    first reach each of the ``k`` counts above n[j_from]; for an arrival (-1), going back from
    j_from, the intervals (t[j], t[j+1]) in which they last leave each of the ``k`` counts below it.
    Returns (lo, hi, js): js[i] is the sample on the far side of crossing i. None if the counts do
    not move monotonically there."""
    lo, hi = np.empty(k), np.empty(k)
    js = np.empty(k, np.int64)
    base = n[j_from]
    j = j_from
    for i in range(k):
        target = base + direction * (i + 1)
        while 0 < j < n.size - 1 and direction * (n[j] - target) < 0:
            j += direction
            if direction * (n[j] - n[j - direction]) < 0:
                return None  # back down on the way up: not a clean onset or arrival
        if not 0 < j < n.size - 1:
            return None
        lo[i], hi[i] = (t[j - 1], t[j]) if direction > 0 else (t[j], t[j + 1])
        js[i] = j
    return lo, hi, js


def end_alternatives(t, n, q, t_true, onset, k, exps):
    """The extreme alternatives of one rep's start (``onset``) or end: a list of (p, level, t_e, beta)
    (the power law level + d q (d (t - t_e) / beta)^p, d = 1 for an onset, -1 for an arrival, from or
    to the still level at t_e), two per (p, level) that can match the
    samples, and the samples that bound them (the still run's far end, the k-th crossing's);
    None when that end has no still bar of STILL_S beside it, its counts do not move monotonically
    over ``k`` crossings, or no power law of ``exps`` matches them."""
    d = 1 if onset else -1
    j = int(np.searchsorted(t, t_true, side="right")) - 1 if onset else int(np.searchsorted(t, t_true))
    if not 0 <= j < n.size:
        return None
    r = n[j]
    far, near = j, j  # the still run: its far end (away from the rise) and its near end
    while 0 < far < n.size - 1 and n[far - d] == r:
        far -= d
    while 0 < near < n.size - 1 and n[near + d] == r:
        near += d
    if abs(t[near] - t[far]) < STILL_S:
        return None
    cr = _crossings(t, n, near, d, k + 1)
    if cr is None:
        return None
    lo, hi, js = cr
    # the bar's speed at the k-th crossing, from the crossings either side (the alternative joins the
    # true motion there at a speed within JOIN_SPEED of it: no jump in speed, no infinite force)
    mid = 0.5 * (lo + hi)
    v_join = 2.0 * q / abs(mid[k] - mid[k - 2])
    lo, hi, j_last = lo[:k], hi[:k], int(js[k - 1])
    bounds = (r + d * (0.5 + np.arange(k))) * q  # the boundaries crossed, in order away from the still count
    alts = []
    for p in exps:
        for f in (np.arange(GRID_L) + 0.5) / GRID_L - 0.5:
            lev = (r + f) * q
            u = (d * (bounds - lev) / q) ** (1.0 / p)
            # the power law's speed at its k-th crossing is p q u^(p-1) / beta
            b_mid = p * q * u[-1] ** (p - 1.0) / v_join
            ext = _range_t(lo, hi, u, t[far], d, b_mid / (1.0 + JOIN_SPEED), b_mid * (1.0 + JOIN_SPEED))
            if ext is not None:
                alts += [(p, lev, te, beta) for te, beta in ext]
    return (alts, far, j_last) if alts else None


def alternative_positions(t, x_true, q, alt, onset, far, j_last):
    """An alternative motion at the sample times ``t`` (tests/test_bench_floor.py rounds it to
    counts): the true motion up to the still run's far end, then the still level and the power law
    ``alt`` up to the sample of its k-th crossing, then the true motion again. Between samples it
    joins them within one count (where no sample sees it)."""
    p, lev, te, beta = alt
    d = 1.0 if onset else -1.0
    x = x_true.copy()
    seg = slice(far, j_last) if onset else slice(j_last + 1, far + 1)
    u = np.clip(d * (t[seg] - te), 0.0, None) / beta
    x[seg] = lev + d * q * u ** p
    return x


def mv_range(t, n, q, t0, t1, x0, x1, k, exps, keep_given=True):
    """The least and the greatest MV over the alternatives of a rep's two ends, and whether each end
    was left open. An end that is not left open stays where it is given (at level x0 or x1); an open
    one is given too only with ``keep_given`` (the true motion of a simulated rep is one of the
    motions those samples could come from; a hand mark is not a motion)."""
    s = end_alternatives(t, n, q, t0, True, k, exps)
    e = end_alternatives(t, n, q, t1, False, k, exps)
    given0, given1 = ([(x0, t0)] if keep_given or not s else []), ([(x1, t1)] if keep_given or not e else [])
    l0, s0 = np.array(given0 + [(a[1], a[2]) for a in (s[0] if s else [])]).T
    l1, s1 = np.array(given1 + [(a[1], a[2]) for a in (e[0] if e else [])]).T
    mv = (l1[None, :] - l0[:, None]) / (s1[None, :] - s0[:, None])
    return float(mv.min()), float(mv.max()), s is not None, e is not None


def stop_reps(mv, threshold_pct=THRESHOLD_PCT):
    """The stop rep (1-based; 0 for none) of each row of MVs ``mv`` (rows: sets, columns: reps), by the
    rule the benchmarks score (`vbt.simulate.SimulatedSet.true_stop_rep`): the first rep after the
    first whose MV lies more than ``threshold_pct`` under the best MV so far."""
    mv = np.atleast_2d(np.asarray(mv, dtype=float))
    fire = 100.0 * (1.0 - mv / np.maximum.accumulate(mv, axis=1)) > threshold_pct
    fire[:, 0] = False
    return np.where(fire.any(axis=1), fire.argmax(axis=1) + 1, 0)


def stop_left_open(lo, hi, threshold_pct=THRESHOLD_PCT):
    """Whether the reps' MV ranges [lo, hi] hold two sets of MVs with different stop reps: the stop
    reps at every corner of the box (each rep's MV at either end of its range), against the one at
    its first corner. Each rep's ends vary apart from every other rep's (their alternatives touch
    disjoint stretches of the recording), so a corner is a motion whose samples are identical to
    the set's. Only corners are tried, so an open stop rep may be missed, never one made up; sets
    of more than MAX_VERTICES_REPS reps are not tried (None)."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if lo.size > MAX_VERTICES_REPS:
        return None
    bits = (np.arange(2 ** lo.size)[:, None] >> np.arange(lo.size)) & 1
    stops = stop_reps(np.where(bits == 1, hi, lo), threshold_pct)
    return bool(np.any(stops != stops[0]))


def floor_set(args):
    family, seed, k, exps = args
    sim = simulate_family(family, seed, "chronojump")
    q = sim.sensor.quantum_m
    t = sim.t_s
    n = np.round(sim.true_position_m / q).astype(np.int64)
    res = analyze(sim.t_s, sim.position_m, CONFIG)
    match = match_by_overlap(sim.truth, res.reps)
    rows = []
    for i, tr in enumerate(sim.truth):
        x0 = float(sim.timeline.position(np.array([tr.concentric_start_s]))[0])
        x1 = float(sim.timeline.position(np.array([tr.concentric_end_s]))[0])
        lo, hi, so, eo = mv_range(t, n, q, tr.concentric_start_s, tr.concentric_end_s, x0, x1, k, exps)
        j = match.get(i)
        got = res.reps[j].mean_velocity_m_s if j is not None else np.nan
        rows.append(dict(start_open=so, top_open=eo, true=tr.mean_velocity_m_s, lo=lo, hi=hi, half=(hi - lo) / 2,
                         got=got))
    stop = dict(stop_scored(sim, res, match), open=stop_left_open([r["lo"] for r in rows], [r["hi"] for r in rows]))
    return family, rows, stop


# ---- sensors with noise ("fine", "csv"): the same question, answered in probability ----------------
#
# With noise before the rounding to counts, no two motions give identical samples; they give samples
# whose distributions overlap. For the rep's true motion and an alternative, the Bhattacharyya
# coefficient BC of their readings' distributions (a product over samples) bounds their total-variation
# distance, TV <= sqrt(1 - BC^2); by Le Cam's two-point argument any estimator then errs by at least half
# their MV difference with probability at least (1 - TV) / 2 under one of the two. The alternatives here
# are the true motion itself, re-timed near an end: over the last (first) K counts of the rise, time is
# warped so that the bar arrives at (leaves) the same still level earlier or later, with the same level
# and positions, its speed where the warp joins the true motion within JOIN_SPEED of the bar's, and its
# local power law at the end t^(gamma k) within the exponent range (k: the true motion's own there); the
# STILL_S beside the end (still or not) are re-timed linearly to absorb the shift. Only the one end moves,
# everything else is the recording's true motion. This is a narrow set of alternatives (the true motion's
# own shape, re-timed): a floor under them says what re-timing leaves open, not what every shape does. A
# jump's apex is not varied (a flight is exactly -g).
TV_MAX = 0.5  # an alternative counts while its readings' total-variation distance from the rep's is at most this
BC_MIN = float(np.sqrt(1.0 - TV_MAX ** 2))  # ... that is, while their Bhattacharyya coefficient is at least this
GRID_W = 9  # warp exponents and join speeds scanned per end


def _normal_cdf(z):
    """Phi(z) to a relative 1.2e-7 in both tails (the Chebyshev fit of erfc in Numerical Recipes, which
    numpy lacks); the tails matter here: the readings' probabilities are differences of it."""
    x = -np.asarray(z, dtype=float) / np.sqrt(2.0)
    a = np.abs(x)
    u = 1.0 / (1.0 + 0.5 * a)
    poly = -1.26551223 + u * (1.00002368 + u * (0.37409196 + u * (0.09678418 + u * (-0.18628806 + u * (
        0.27886807 + u * (-1.13520398 + u * (1.48851587 + u * (-0.82215223 + u * 0.17087277))))))))
    erfc = u * np.exp(-a * a + poly)
    return 0.5 * np.where(x >= 0.0, erfc, 2.0 - erfc)


def bhattacharyya(a, b, q, sigma):
    """The Bhattacharyya coefficient of the readings of two motions at the same sample times, true
    positions ``a`` and ``b``: each reading rounds position plus N(0, sigma^2) noise to counts of ``q``
    (no rounding when q is 0). 1 for identical readings, 0 for readings that cannot coincide."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = np.abs(a - b) > 1e-12
    a, b = a[d], b[d]
    if a.size == 0:
        return 1.0
    if q <= 0.0:
        return float(np.exp(-np.sum((a - b) ** 2) / (8.0 * sigma ** 2))) if sigma > 0.0 else 0.0
    if sigma <= 1e-3 * q:
        return float(np.all(np.round(a / q) == np.round(b / q)))
    k0 = np.floor((np.minimum(a, b) - 8.0 * sigma) / q)
    span = int(np.max(np.ceil((np.maximum(a, b) + 8.0 * sigma) / q) - k0)) + 1
    edges = (k0[:, None] + np.arange(span + 1)[None, :] - 0.5) * q
    pa = np.clip(np.diff(_normal_cdf((edges - a[:, None]) / sigma), axis=1), 0.0, None)
    pb = np.clip(np.diff(_normal_cdf((edges - b[:, None]) / sigma), axis=1), 0.0, None)
    per_sample = np.clip(np.sum(np.sqrt(pa * pb), axis=1), 0.0, 1.0)
    return float(np.exp(np.sum(np.log(np.maximum(per_sample, 1e-300)))))


def retimed(t, t_end, tj, tb, t_alt, g):
    """The true motion's time at which a re-timed alternative is at each of the times ``t``: the
    identity outside the window from ``tb`` (STILL_S beyond the end, on the still side) to ``tj``
    (the join, in the rise); within it, the end moved from ``t_end`` to ``t_alt``, the rise side
    warped as a power ``g`` of the time to the end (so the end's power law t^k becomes t^(g k)),
    the other side stretched linearly."""
    t = np.asarray(t, dtype=float)
    w = t.copy()
    lo, hi = min(tb, tj), max(tb, tj)
    inside = (t > lo) & (t < hi)
    in_rise = inside & ((t - t_alt) * (tj - t_alt) > 0.0)
    w[in_rise] = t_end + (tj - t_end) * (np.abs(t[in_rise] - t_alt) / abs(tj - t_alt)) ** g
    still = inside & ~in_rise
    w[still] = tb + (t[still] - tb) * (t_end - tb) / (t_alt - tb)
    return w


def warp_alternatives(tl, t, q, sigma, t_end, onset, k, exps=(2.0, 3.0)):
    """The re-timed alternatives of one end of a rep (``onset``: its start, else its end) at time
    ``t_end`` of the true motion ``tl`` (position(t), velocity(t)), sampled at times ``t``: a list of
    (the alternative's end time, BC of its readings against the true motion's), the true end itself
    first; only those with BC >= BC_MIN. The warp joins the true motion ``k`` counts into the rise;
    the alternative's power law at the end lies within ``exps``. Empty where the rise has no ``k``
    counts within 1 s."""
    d = 1.0 if onset else -1.0
    level = float(tl.position(np.array([t_end]))[0])
    grid = t_end + d * np.arange(1, 10001) * 1e-4  # into the rise, 0.1 ms apart
    rise = d * (tl.position(grid) - level)
    depth = k * (q if q > 0.0 else 1e-4)
    reach = np.nonzero(rise >= depth)[0]
    if reach.size == 0:
        return []
    tj = float(grid[reach[0]])  # where the warp joins the true motion, K counts into the rise
    near = (rise[:reach[0]] > depth / 100.0) & (rise[:reach[0]] < depth / 20.0)
    v = np.abs(tl.velocity(grid[:reach[0]][near]))
    k_end = float(np.median(v * np.abs(grid[:reach[0]][near] - t_end) / rise[:reach[0]][near])) if near.any() else 2.0
    if not np.isfinite(k_end) or k_end <= 1.0:
        k_end = 2.0
    tb = t_end - d * STILL_S  # the far end of the still bar: the warp's other fixed point
    lo, hi = (tb, tj) if onset else (tj, tb)
    m = (t >= lo) & (t <= hi)
    ts = t[m]
    x_true = tl.position(ts)
    out = [(t_end, 1.0)]
    gammas = np.linspace(exps[0] / k_end, exps[1] / k_end, GRID_W)
    for g in np.append(gammas, 1.0):
        for s in np.linspace(1.0 - JOIN_SPEED, 1.0 + JOIN_SPEED, GRID_W):
            t_alt = tj - d * g * abs(tj - t_end) / s  # the warp's speed at the join: g |tj - t_end| / |tj - t_alt| = s
            if d * (t_alt - tb) <= 0.0 or d * (tj - t_alt) <= 0.0 or (g == 1.0 and s == 1.0):
                continue
            bc = bhattacharyya(x_true, tl.position(retimed(ts, t_end, tj, tb, t_alt, g)), q, sigma)
            if bc >= BC_MIN:
                out.append((float(t_alt), bc))
    return out


def stop_left_open_noisy(mv, extremes, threshold_pct=THRESHOLD_PCT):
    """Whether re-timing the ends of one rep, or of two, gives MVs with another stop rep than ``mv``'s
    while the readings' BC (the product over the reps moved) stays at least BC_MIN. ``extremes[i]``:
    rep i's re-timings of least and greatest MV as (mv, bc). Only those are tried, so an open stop rep
    may be missed, never one made up."""
    mv = np.asarray(mv, dtype=float)
    base = stop_reps(mv, threshold_pct)[0]
    moves = [(i, m, bc) for i, ext in enumerate(extremes) for m, bc in ext]
    for a in range(len(moves)):
        for b in range(a, len(moves)):
            (i, mi, bi), (j, mj, bj) = moves[a], moves[b]
            if (i == j and a != b) or (bi if a == b else bi * bj) < BC_MIN:
                continue
            alt = mv.copy()
            alt[i], alt[j] = mi, mj
            if stop_reps(alt, threshold_pct)[0] != base:
                return True
    return False


def noisy_floor_set(args):
    """One set of ``family`` on a sensor of ``kind`` with noise: per rep, the largest MV difference
    from the truth over the re-timed alternatives of its two ends whose readings' BC (the product of
    the two ends') is at least BC_MIN, halved; and analyze's own MV error."""
    family, seed, kind, k, exps = args
    sim = simulate_family(family, seed, kind)
    q, sigma = sim.sensor.quantum_m, sim.sensor.noise_m
    res = analyze(sim.t_s, sim.position_m, CONFIG)
    match = match_by_overlap(sim.truth, res.reps)
    rows = []
    for i, tr in enumerate(sim.truth):
        t0, t1 = tr.concentric_start_s, tr.concentric_end_s
        s = warp_alternatives(sim.timeline, sim.t_s, q, sigma, t0, True, k, exps)
        e = [] if family == "jump" else warp_alternatives(sim.timeline, sim.t_s, q, sigma, t1, False, k, exps)
        rom = tr.mean_velocity_m_s * (t1 - t0)
        cands = [(rom / (tb_ - ta), ba * bb) for ta, ba in (s or [(t0, 1.0)]) for tb_, bb in (e or [(t1, 1.0)])
                 if ba * bb >= BC_MIN]
        half = max(abs(m - tr.mean_velocity_m_s) for m, _ in cands) / 2.0
        j = match.get(i)
        got = res.reps[j].mean_velocity_m_s if j is not None else np.nan
        rows.append(dict(start_open=len(s) > 1, top_open=len(e) > 1, true=tr.mean_velocity_m_s, half=half, got=got,
                         extremes=[min(cands), max(cands)]))
    stop = dict(stop_scored(sim, res, match),
                open=stop_left_open_noisy([r["true"] for r in rows], [r["extremes"] for r in rows]))
    return family, rows, stop


REAL_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "real")


def real_rows(k, exps):
    """The real fixtures' reps (fixtures/real/): the hand-marked MV, the range of MV over motions
    whose samples are identical around the hand-marked ends (an end not left open stays at its hand
    mark), and the measured MV."""
    cfg = AnalysisConfig(segmentation=SegmentationConfig(min_rom_m=0.10), stop_rule=CONFIG.stop_rule)
    rows = []
    for name in sorted(f[:-len(".expected.json")] for f in os.listdir(REAL_DIR) if f.endswith(".expected.json")):
        with open(os.path.join(REAL_DIR, name + ".expected.json")) as fh:
            exp = json.load(fh)
        rec = read_recording(os.path.join(REAL_DIR, name + ".txt"))
        q = 0.001
        n = np.round((rec.position_m - rec.position_m[0]) / q).astype(np.int64)
        t = rec.t_s
        got = analyze(t, rec.position_m, cfg).reps
        hand = [SimpleNamespace(concentric_start_s=r["start_s"], concentric_end_s=r["end_s"]) for r in exp["reps"]]
        match = match_by_overlap(hand, got)
        for i, r in enumerate(exp["reps"]):
            x0 = float(np.interp(r["start_s"], t, n)) * q
            x1 = x0 + r["rom_m"]
            lo, hi, so, eo = mv_range(t, n, q, r["start_s"], r["end_s"], x0, x1, k, exps, keep_given=False)
            rows.append(dict(name=name, rep=i + 1, hand=r["mean_velocity_m_s"], lo=lo, hi=hi, start_open=so,
                             top_open=eo, got=got[match[i]].mean_velocity_m_s if i in match else float("nan")))
    return rows


def _map(fn, jobs, n_jobs):
    if n_jobs > 1:
        with Pool(n_jobs) as pool:
            return pool.map(fn, jobs)
    return [fn(j) for j in jobs]


def _print_table(families, out):
    """Per family: the shares of ends left open, the floor's median and p95 (each row's "half"),
    analyze's MV error, and the stop rep on the clear sets, decided and as analyze got it."""
    print(f"{'family':9s} {'reps':>5s} {'start open':>10s} {'top open':>8s}  {'floor med':>9s} {'floor p95':>9s}"
          f"  {'error med':>9s} {'error p95':>9s}  {'clear':>5s} {'stop decided':>12s} {'stop exact':>10s}")
    for f in families:
        rows = [r for fam, rr, _ in out if fam == f for r in rr]
        stops = [st for fam, _, st in out if fam == f and st["clear"]]
        decided = [not st["open"] for st in stops if st["open"] is not None]
        half = np.array([r["half"] for r in rows])
        err = np.array([abs(r["got"] - r["true"]) for r in rows if r["got"] == r["got"]])
        print(f"{f:9s} {len(rows):5d} {np.mean([r['start_open'] for r in rows]):10.0%} "
              f"{np.mean([r['top_open'] for r in rows]):8.0%}  {np.median(half):9.4f} {np.percentile(half, 95):9.4f}"
              f"  {np.median(err):9.4f} {np.percentile(err, 95):9.4f}  {len(stops):5d} "
              f"{(np.mean(decided) if decided else np.nan):12.1%} "
              f"{(np.mean([st['ok'] for st in stops]) if stops else np.nan):10.1%}")


def noisy_main(a, families, exps):
    jobs = [(f, SEED_BASE[a.seeds] + s, a.kind, a.crossings, exps) for f in families for s in range(a.sets)]
    out = _map(noisy_floor_set, jobs, a.jobs)
    print(f"{a.sets} sets per family ({a.seeds} seeds), sensor kind {a.kind!r}; each end re-timed over its first or "
          f"last {a.crossings} counts, ending as t^{exps[0]:g}-t^{exps[1]:g}, readings within TV {TV_MAX:g}")
    _print_table(families, out)
    print("stop decided: the clear sets whose stop rep no re-timing of one or two reps' ends (readings within the "
          "same distance) changes; stop exact: vbt.analysis.analyze's on the same clear sets")
    print(f"floor: half the largest MV difference (m/s) between the rep and a re-timing of its ends whose readings "
          f"lie within a total-variation distance of {TV_MAX:g} of the rep's (any estimator errs by that much with "
          f"probability >= {(1 - TV_MAX) / 2:g} on one of the two); open: some re-timing of that end passes; error: "
          "vbt.analysis.analyze's MV error on the same recordings")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", choices=sorted(SEED_BASE), default="fresh")
    ap.add_argument("--sets", type=int, default=30, help="sets per family")
    ap.add_argument("--family", action="append", choices=FAMILIES)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--crossings", type=int, default=8, help="crossings over which one power law holds (K)")
    ap.add_argument("--exponents", default="2,4", help="the power laws' exponent range LO,HI")
    ap.add_argument("--real", action="store_true", help="the real fixtures' reps instead (fixtures/real/)")
    ap.add_argument("--kind", choices=("chronojump", "fine", "csv"), default="chronojump",
                    help="sensor kind; fine and csv (noise before the rounding): re-timed ends, in probability")
    a = ap.parse_args(argv)
    try:
        p_lo, p_hi = (float(v) for v in a.exponents.split(","))
    except ValueError:
        ap.error("--exponents takes two numbers, LO,HI (for example 2,4)")
    if not 1.0 <= p_lo <= p_hi or a.crossings < 2 or a.sets < 1:
        ap.error("need 1 <= LO <= HI, --crossings >= 2 and --sets >= 1")
    exps = np.linspace(p_lo, p_hi, GRID_P if p_hi > p_lo else 1)
    if a.real:
        print(f"real fixtures (fixtures/real/): onsets and arrivals t^{p_lo:g}-t^{p_hi:g} over {a.crossings} crossings")
        print(f"{'recording':38s} {'rep':>3s} {'open':>5s} {'hand MV':>8s} {'range':>15s} {'half-width':>10s} "
              f"{'measured':>8s}")
        for r in real_rows(a.crossings, exps):
            opened = ("s" if r["start_open"] else "-") + ("t" if r["top_open"] else "-")
            print(f"{r['name']:38s} {r['rep']:3d} {opened:>5s} {r['hand']:8.4f} {r['lo']:7.4f}-{r['hi']:7.4f} "
                  f"{100 * (r['hi'] - r['lo']) / (r['hi'] + r['lo']):9.1f}% {r['got']:8.4f}")
        print("open: s the start, t the top left open by the samples; range: MV over the motions whose samples are "
              "identical; half-width: half that range, in % of its middle")
        return 0
    families = a.family or list(FAMILIES)
    if a.kind != "chronojump":
        return noisy_main(a, families, (p_lo, p_hi))
    jobs = [(f, SEED_BASE[a.seeds] + s, a.crossings, exps) for f in families for s in range(a.sets)]
    out = _map(floor_set, jobs, a.jobs)
    print(f"{a.sets} sets per family ({a.seeds} seeds), Chronojump 1 kHz / 1 mm; onsets and arrivals "
          f"t^{p_lo:g}-t^{p_hi:g} over {a.crossings} crossings")
    _print_table(families, out)
    print("stop decided: the clear sets (every rep up to the true stop more than 1 point from the threshold) whose "
          "stop rep is the same at every corner of their reps' MV ranges (the most an estimator can promise); "
          "stop exact: vbt.analysis.analyze's stop rep on the same clear sets")
    print("floor: half the range of MV (m/s) over the motions whose samples are identical to the rep's (the "
          "least worst-case error an estimator can guarantee there); error: vbt.analysis.analyze's MV error on the "
          "same recordings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
