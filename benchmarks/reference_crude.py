"""The crude NumPy/SciPy pipeline one writes first (velocity zero crossings of the filtered signal).

Resample, filter the whole stream, cut the velocity at its zero crossings, keep rises of 15 cm,
compute MV/MPV/PV per phase. A cheaper job than the core's: the phase ends where the filtered
velocity crosses zero, not at the turning points (bench_core.py prints its MV error).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt


def reference_pipeline(t, x):
    fs = 1000.0
    grid = np.arange(t[0], t[-1], 1 / fs)
    xs = np.interp(grid, t, x)
    b, a = butter(2, 10.0 / (fs / 2))
    xf = filtfilt(b, a, xs)
    v = np.gradient(xf, 1 / fs)
    acc = np.gradient(v, 1 / fs)
    pos = v > 0
    edges = np.flatnonzero(np.diff(pos.astype(np.int8)))
    starts = edges[:-1][pos[edges[:-1] + 1]] + 1
    ends = edges[1:][pos[edges[1:]]] + 1
    n = min(starts.size, ends.size)
    starts, ends = starts[:n], ends[:n]
    rom = xf[ends] - xf[starts]
    ok = rom >= 0.15
    starts, ends, rom = starts[ok], ends[ok], rom[ok]
    mv = rom / ((ends - starts) / fs)
    pv = np.maximum.reduceat(v, starts)[: starts.size] if starts.size else np.array([])
    mpv = []
    for s, e in zip(starts, ends):
        seg = acc[s:e]
        jp = np.argmax(v[s:e])
        brake = np.flatnonzero(seg[jp:] < -9.81)
        stop = s + jp + brake[0] if brake.size else e
        mpv.append((xf[stop] - xf[s]) / ((stop - s) / fs) if stop > s else np.nan)
    return mv, np.array(mpv), pv
