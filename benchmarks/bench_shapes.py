"""Shapes built apart from vbt/motions.py and vbt/simulate.py: how `analyze` does on lifts it was never
tuned on; prints figures per shape.

    python benchmarks/bench_shapes.py [--sets N] [--seeds tune|fresh] [--shape S ...] [--worst N]
                                      [--sensor HZ,MM,NOISE_MM]

Each set is a few reps of one shape, written here as a velocity profile on a 0.1 ms grid (integrated
for the position) and sampled by a sensor of 200 Hz-1 kHz, 0.2-1 mm steps and up to 0.2 mm of white
noise (``--sensor`` fixes all three instead, e.g. ``100,1,0`` for a 100 Hz, 1 mm encoder
without noise). A rep's truth: it starts where its velocity leaves zero and ends where it comes back (the
profile is exactly zero outside), MV = ROM / duration.

Shapes (velocity over the rep's unit time u, scaled to the rep's MV and range):

``pull``       an Olympic pull from the floor: a first pull, a dip to 30-70 % at the knees (double
               knee bend), a faster second pull, arriving as (1 - u)^0.5-1.2; MV 0.9-1.4 m/s.
``hipthrust``  a short stroke (15-25 cm) at 0.3-0.8 m/s, held 1-2 s at the top.
``tremor``     a slow grind (0.12-0.35 m/s) whose speed shakes by 20-60 % at 7-30 Hz the whole way.
``stall``      a sticking point where the speed falls to 2-10 % of its mean for 5-12 % of the rep.
``halfsine``   half a sine, sin(pi u): the textbook rep. Not a Beta profile, though its ends leave and
               reach zero as Beta(2, 2)'s do (its body is flatter); MV 0.3-1.2 m/s.
``minjerk``    the minimum-jerk profile 30 u^2 (1 - u)^2, a human reaching movement's shape: exactly the
               Beta(3, 3) profile that the whole-phase refinement assumes; MV 0.3-1.2 m/s.
``raisedcos``  the raised cosine 1 - cos(2 pi u) (added in session 49, after the others): a smooth
               start and stop like the minimum-jerk rep's, but a fuller body; not a Beta profile. A
               Beta fit matches its body only with tails too steep and placed both ends wide (MV
               3-5 % low) until the whole-phase fit got its body factor; MV 0.3-1.2 m/s.

Not tuned on: the figures show what a lifter whose lift looks like none of our families would get.
Reps are matched to truth by time overlap (bench_families.match_by_overlap).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from vbt.analysis import analyze
from vbt.config import AnalysisConfig, SegmentationConfig, StopRuleConfig
from vbt.motions import sensor_from_text

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_families import match_by_overlap  # noqa: E402

DT_S = 1e-4
SHAPES = ("pull", "hipthrust", "tremor", "stall", "halfsine", "minjerk", "raisedcos")
SEED_BASE = {"tune": 0, "fresh": 100000}


class _Rep:
    """The truth of one rep, as match_by_overlap reads it."""

    def __init__(self, start, end, mv):
        self.concentric_start_s, self.concentric_end_s, self.mean_velocity_m_s = start, end, mv


def _profile(shape: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` samples of the shape's velocity over unit time, mean 1."""
    u = np.linspace(0.0, 1.0, n)
    if shape == "pull":
        dip, c = rng.uniform(0.3, 0.7), rng.uniform(0.4, 0.55)
        first = np.sin(np.pi * np.minimum(u / c, 1.0) / 2) ** 1.5
        knees = 1 - (1 - dip) * np.exp(-(((u - c) / 0.07) ** 2))
        second = 1 + rng.uniform(0.6, 1.2) * np.exp(-(((u - 0.78) / 0.12) ** 2))
        v = first * knees * second * (1 - u) ** rng.uniform(0.5, 1.2) * u ** 0.8
    elif shape == "hipthrust":
        v = u ** rng.uniform(0.8, 2.0) * (1 - u) ** rng.uniform(0.8, 2.0)
    elif shape == "tremor":
        base = u ** rng.uniform(1.0, 2.0) * (1 - u) ** rng.uniform(0.8, 1.5)
        cycles = rng.uniform(6.0, 12.0) * rng.uniform(1.5, 3.0)
        v = base * (1 + rng.uniform(0.2, 0.6) * np.sin(2 * np.pi * cycles * u + rng.uniform(0, 2 * np.pi)))
        v = v * (1 - np.exp(-u / 0.02))
    elif shape == "stall":
        c, depth, w = rng.uniform(0.3, 0.6), rng.uniform(0.02, 0.1), rng.uniform(0.05, 0.12)
        v = u ** 1.2 * (1 - u) ** 1.2 * (1 - (1 - depth) * np.exp(-(((u - c) / w) ** 2)))
    elif shape == "halfsine":
        v = np.sin(np.pi * u)
    elif shape == "minjerk":
        v = u ** 2 * (1 - u) ** 2
    elif shape == "raisedcos":
        v = 1 - np.cos(2 * np.pi * u)
    else:
        raise ValueError(f"shape must be one of {SHAPES}")
    return v / v.mean()


def build_set(shape: str, seed: int, sensor=None):
    """(t, x, truth, sensor description) of one seeded set; ``sensor`` (rate Hz, step m, noise m)
    replaces the seeded sensor (the motion stays the seed's)."""
    rng = np.random.default_rng([seed, SHAPES.index(shape)])
    n = int(rng.integers(3, 9))
    rom0 = rng.uniform(0.15, 0.25) if shape == "hipthrust" else rng.uniform(0.3, 0.7)
    mv0 = {"pull": (0.9, 1.4), "hipthrust": (0.3, 0.8), "tremor": (0.12, 0.35), "stall": (0.2, 0.5),
           "halfsine": (0.3, 1.2), "minjerk": (0.3, 1.2), "raisedcos": (0.3, 1.2)}[shape]
    mv0 = rng.uniform(*mv0)
    v_parts = [np.zeros(int(rng.uniform(1.0, 2.0) / DT_S))]
    truth, k0 = [], v_parts[0].size
    for k in range(n):
        rom = rom0 * rng.uniform(0.97, 1.03)
        mv = mv0 * (1 - 0.04 * k) * rng.uniform(0.97, 1.03)
        m = int(rng.uniform(0.8, 2.0) / DT_S)  # the descent: a smooth bump of velocity
        down = np.sin(np.pi * np.linspace(0.0, 1.0, m)) ** 2
        v_parts += [-down / down.sum() / DT_S * rom, np.zeros(int(rng.uniform(0.1, 0.8) / DT_S))]
        k0 += m + v_parts[-1].size
        m = int(rom / mv / DT_S)
        up = _profile(shape, rng, m)
        up = up / up.sum() / DT_S * rom
        truth.append(_Rep(k0 * DT_S, (k0 + m) * DT_S, rom / (m * DT_S)))
        hold = rng.uniform(1.0, 2.0) if shape == "hipthrust" else rng.uniform(0.3, 1.2)
        v_parts += [up, np.zeros(int(hold / DT_S))]
        k0 += m + v_parts[-1].size
    v_parts.append(np.zeros(int(4.0 / DT_S)))
    v = np.concatenate(v_parts)
    x = 0.5 + np.concatenate(([0.0], np.cumsum(v)[:-1] * DT_S))
    srng = np.random.default_rng([seed, SHAPES.index(shape), 1])
    rate = float(np.exp(srng.uniform(np.log(200.0), np.log(1000.0))))
    step, noise = srng.uniform(0.0002, 0.001), srng.uniform(0.0, 0.0002)
    if sensor is not None:
        rate, step, noise = sensor
    t = np.arange(0.0, (v.size - 1) * DT_S, 1.0 / rate)
    xs = np.interp(t, np.arange(v.size) * DT_S, x) + srng.normal(0.0, noise, t.size)
    what = f"{rate:.0f} Hz, {step * 1e3:.2f} mm, noise {noise * 1e3:.2f} mm"
    return t, (np.round(xs / step) * step if step > 0.0 else xs), truth, what


def score_set(shape: str, seed: int, sensor=None):
    t, x, truth, what = build_set(shape, seed, sensor)
    seg = SegmentationConfig(min_rom_m=0.1) if shape == "hipthrust" else SegmentationConfig()
    reps = analyze(t, x, AnalysisConfig(segmentation=seg, stop_rule=StopRuleConfig(10.0, "mean"))).reps
    match = match_by_overlap(truth, reps)
    rows = []
    for i, tr in enumerate(truth):
        if i in match:
            r = reps[match[i]]
            rows.append(dict(seed=seed, rep=i + 1, sensor=what, mv=r.mean_velocity_m_s - tr.mean_velocity_m_s,
                             rel=r.mean_velocity_m_s / tr.mean_velocity_m_s - 1,
                             start_ms=1e3 * (r.concentric_start_s - tr.concentric_start_s),
                             end_ms=1e3 * (r.concentric_end_s - tr.concentric_end_s), quality=r.quality))
    exact = len(reps) == len(truth) and len(match) == len(truth)
    return exact, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", type=int, default=20, help="sets per shape")
    ap.add_argument("--seeds", choices=sorted(SEED_BASE), default="fresh")
    ap.add_argument("--shape", action="append", choices=SHAPES)
    ap.add_argument("--worst", type=int, default=3, help="worst reps listed per shape")
    ap.add_argument("--sensor", metavar="HZ,MM,NOISE_MM",
                    help="one sensor for every set instead of the seeded ones: rate, step (0: none), noise sd")
    a = ap.parse_args(argv)
    base = SEED_BASE[a.seeds]
    sensor, what = None, "sensors 200 Hz-1 kHz, 0.2-1 mm, noise <= 0.2 mm"
    if a.sensor:
        try:
            spec = sensor_from_text(a.sensor)
        except ValueError as e:
            ap.error(f"--sensor: {e}")
        sensor = (spec.rate_hz, spec.quantum_m, spec.noise_m)
        what = f"sensor {spec.rate_hz:g} Hz, {spec.quantum_m * 1e3:g} mm, noise {spec.noise_m * 1e3:g} mm"
    print(f"{a.sets} sets per shape ({a.seeds} seeds from {base}); {what}")
    print(f"{'shape':10s} {'reps':>5s} {'count':>6s} {'MV med':>7s} {'MV p95':>7s} {'MV max':>7s} "
          f"{'|MV|/MV p95':>11s} {'start p95':>9s} {'end p95':>8s}")
    for shape in a.shape or SHAPES:
        scored = [score_set(shape, base + i, sensor) for i in range(a.sets)]
        rows = [r for _, reps in scored for r in reps]
        e = np.abs([r["mv"] for r in rows])
        p95 = {k: np.percentile(np.abs([r[k] for r in rows]), 95) for k in ("rel", "start_ms", "end_ms")}
        print(f"{shape:10s} {len(rows):5d} {100 * np.mean([ok for ok, _ in scored]):5.0f}% {np.median(e):7.4f} "
              f"{np.percentile(e, 95):7.4f} {e.max():7.4f} {100 * p95['rel']:10.1f}% "
              f"{p95['start_ms']:7.0f}ms {p95['end_ms']:6.0f}ms")
        for r in sorted(rows, key=lambda r: -abs(r["mv"]))[:a.worst]:
            print(f"    seed {r['seed']} rep {r['rep']} ({r['sensor']}): MV {r['mv']:+.4f}, "
                  f"start {r['start_ms']:+.0f} ms, end {r['end_ms']:+.0f} ms, {r['quality']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
