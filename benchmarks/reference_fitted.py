"""The analysis core's previous job (before issue 9) written the straightforward way in vectorised
NumPy/SciPy.

The throughput benchmarks time ``vbt.analysis.analyze`` against this. It computes what the core
computed until issue 9, by the same method (the core now also chooses each turning point's
exponents from the data, checks every end against the raw samples and falls back to other
methods, so it does more per rep than this): resample the stream (PCHIP) onto 1 kHz, low-pass it (10 Hz Butterworth,
zero phase), find the rises of 15 cm or more, and for each rise place the concentric start and
end, and the preceding descent's start, at the turning points themselves with the same
three-piece least-squares fit (power-law branches either side of a hold). Each fit is a grid
search over candidate times, vectorised over all candidate pairs, then a bounded scalar
minimisation of each time (SciPy). A second pass fits the whole phase as one Beta-shaped
velocity profile (SciPy's Levenberg-Marquardt and incomplete beta function) and, where that
does not fit, refits both ends with exponents taken from the phase's shape, as the core does.
MV, MPV and PV follow the definitions in ../shared/science.md.

``reference_pipeline`` in bench_core.py is the cruder thing one writes first (velocity zero
crossings of the filtered signal); it is ~4x faster than the core and ~10x less accurate.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq, least_squares, minimize_scalar
from scipy.signal import butter, filtfilt
from scipy.special import betainc, betaln

FS = 1000.0
G = 9.81
MAX_POINTS = 200
FIT_FRACTION, FIT_MIN_M, FIT_MIN_STEPS, FIT_MAX_M, FIT_RATE_K, SIDE_S = 0.03, 0.005, 8, 0.025, 3.0, 0.3


def _binned(t, x):
    k = -(-t.size // MAX_POINTS)
    if k <= 1:
        return t, x
    starts = np.arange(0, t.size, k)
    counts = np.diff(np.append(starts, t.size))
    return np.add.reduceat(t, starts) / counts, np.add.reduceat(x, starts) / counts


def _sums(t, x, tb, p, left):
    """Rows of (sum u, sum u^2, sum u x) for each branch time in ``tb``."""
    d = (tb[:, None] - t[None, :]) if left else (t[None, :] - tb[:, None])
    u = np.where(d > 0.0, np.abs(d), 0.0) ** p
    return u.sum(1), (u * u).sum(1), u @ x


def _sse(n, sx, sxx, sl, sll, slx, sr, srr, srx):
    """Residual SS and level c0 of x ~ c0 + cL uL + cR uR, elementwise over broadcast arrays of
    sums; a branch with no samples beyond its time drops out of the fit."""
    sl, sll, slx, sr, srr, srx = np.broadcast_arrays(sl, sll, slx, sr, srr, srx)
    no_l, no_r = sll < 1e-30, srr < 1e-30
    sll, srr = np.where(no_l, 1.0, sll), np.where(no_r, 1.0, srr)
    sl, slx = np.where(no_l, 0.0, sl), np.where(no_l, 0.0, slx)
    sr, srx = np.where(no_r, 0.0, sr), np.where(no_r, 0.0, srx)
    with np.errstate(divide="ignore", invalid="ignore"):
        det = n * sll * srr - sl * sl * srr - sr * sr * sll
        c0 = (sx * sll * srr - sl * slx * srr - sr * srx * sll) / det
        cl = (slx - sl * c0) / sll
        cr = (srx - sr * c0) / srr
        out = sxx - c0 * sx - cl * slx - cr * srx
    return np.where(np.isfinite(out), out, np.inf), c0


def fit_turning_point(t, x, p_left, p_right, te_guess=None, t0_guess=None, radius=0.04):
    """(te, t0, level) of x ~ c0 + cL (te - t)+^pL + cR (t - t0)+^pR, te <= t0."""
    t, x = _binned(t, x)
    n, sx, sxx = float(t.size), x.sum(), x @ x
    if te_guess is None:
        e_idx = o_idx = np.arange(t.size)
        max_c = 80
    else:
        e_idx = np.flatnonzero(np.abs(t - te_guess) <= radius)
        o_idx = np.flatnonzero(np.abs(t - t0_guess) <= radius)
        if not e_idx.size or not o_idx.size:
            return te_guess, t0_guess, np.nan
        max_c = 24
    stride = max(1, max(e_idx.size, o_idx.size) // max_c)
    e_idx, o_idx = e_idx[::stride], o_idx[::stride]
    left = _sums(t, x, t[e_idx], p_left, True)
    right = _sums(t, x, t[o_idx], p_right, False)
    sse, _ = _sse(n, sx, sxx, *(s[:, None] for s in left), *(s[None, :] for s in right))
    sse[t[o_idx][None, :] < t[e_idx][:, None]] = np.inf
    ie, io = np.unravel_index(np.argmin(sse), sse.shape)
    te, t0 = t[e_idx[ie]], t[o_idx[io]]

    def f_right(tb):
        r = _sums(t, x, np.array([tb]), p_right, False)
        return _sse(n, sx, sxx, *fixed, *r)[0][0]

    def f_left(tb):
        lft = _sums(t, x, np.array([tb]), p_left, True)
        return _sse(n, sx, sxx, *lft, *fixed)[0][0]

    fixed = _sums(t, x, np.array([te]), p_left, True)
    k0, ke = o_idx[io], e_idx[ie]
    lo, hi = max(t[max(k0 - stride, 0)], te), t[min(k0 + stride, t.size - 1)]
    if hi > lo:
        t0 = minimize_scalar(f_right, bounds=(lo, hi), method="bounded", options={"xatol": 2e-6}).x
    fixed = _sums(t, x, np.array([t0]), p_right, False)
    lo, hi = t[max(ke - stride, 0)], min(t[min(ke + stride, t.size - 1)], t0)
    if hi > lo:
        te = minimize_scalar(f_left, bounds=(lo, hi), method="bounded", options={"xatol": 2e-6}).x
    left = _sums(t, x, np.array([te]), p_left, True)
    right = _sums(t, x, np.array([t0]), p_right, False)
    _, level = _sse(n, sx, sxx, *left, *right)
    return te, t0, float(level[0])


def beta_exponents(share, ratio):
    """Beta(a, b) with its mode at ``share`` and peak/mean ``ratio``: (a, b) in [1.2, 4.5]."""
    share = min(max(share, 0.2), 0.8)

    def excess(a):
        b = 1.0 + (a - 1.0) * (1.0 - share) / share
        return np.exp((a - 1) * np.log(share) + (b - 1) * np.log(1 - share) - betaln(a, b)) - ratio

    a = 1.01 if excess(1.01) >= 0 else 12.0 if excess(12.0) <= 0 else brentq(excess, 1.01, 12.0)
    b = 1.0 + (a - 1.0) * (1.0 - share) / share
    return float(np.clip(a, 1.2, 4.5)), float(np.clip(b, 1.2, 4.5))


def fit_phase(t, xs, xf, x0, x1, t0, t1, pa, pb, te_b, td, hold_share=0.15, max_ratio=2.5, max_shift=0.5):
    """(x0, x1, t0, t1) of level + rise * I((t - t0)/dur; a, b) fitted by least squares over the
    phase and the still bar either side, or None if it fits worse than the 10 Hz filter by
    ``max_ratio`` in RMS or moves an end by more than ``max_shift`` of the duration."""
    dur = t1 - t0
    lo = max(int(np.ceil(max(t0 - hold_share * dur, te_b) * FS)), 0)
    hi = min(int(min(t1 + hold_share * dur, td) * FS), xs.size - 1)
    lo, hi = min(lo, int(np.ceil(t0 * FS))), min(max(hi, int(t1 * FS) + 1), xs.size - 1)
    if int(t1 * FS) - int(np.ceil(t0 * FS)) < 8:
        return None
    tb, xb = _binned(t[lo:hi + 1], xs[lo:hi + 1])

    def resid(p):
        s = np.clip((tb - p[2]) / p[3], 0.0, 1.0)
        return xb - p[0] - p[1] * betainc(max(p[4], 1.05), max(p[5], 1.05), s)

    fit = least_squares(resid, [x0, x1 - x0, t0, dur, pa, pb], method="lm", xtol=1e-10)
    rms_filter = np.sqrt(np.mean((xs[lo:hi + 1] - xf[lo:hi + 1]) ** 2))
    f0, fdur = fit.x[2], fit.x[3]
    if np.sqrt(np.mean(fit.fun ** 2)) > max_ratio * rms_filter or fdur <= 0 \
            or abs(f0 - t0) > max_shift * dur or abs(f0 + fdur - t1) > max_shift * dur:
        return None
    return fit.x[0], fit.x[0] + fit.x[1], f0, f0 + fdur


def _window_floor(t_raw, x_raw, lo_s, hi_s, rise_mv):
    i0, i1 = np.searchsorted(t_raw, [lo_s, hi_s])
    dx = np.abs(np.diff(x_raw[i0:i1]))
    step = dx[dx > 0].min() if (dx > 0).any() else np.inf
    dt = np.minimum(np.diff(t_raw[i0:i1]), 0.025).mean()
    return min(max(FIT_MIN_M, FIT_MIN_STEPS * step, FIT_RATE_K * rise_mv * dt), FIT_MAX_M)


def _decided(xs, a0, a1, hysteresis=0.03, band=0.002, still_s=0.13, share=0.04, min_rom=0.15):
    """Where a live tracker knows the rise from ``a0`` has topped out: the bar has risen no more
    than ``band`` over the last ``still_s`` (or ``share`` of the rise, if longer), or has come
    back down by ``hysteresis``. Fits see no sample after it."""
    up = a0 + int(np.argmax(xs[a0:a1 + 1] > xs[a0] + hysteresis))
    i = np.arange(up, min(a1 + 2000, xs.size))
    lag = np.maximum(int(still_s * FS), (share * (i - up)).astype(int))
    seg = xs[up:i[-1] + 1]
    peak = np.maximum.accumulate(seg)
    risen = peak - xs[a0] >= min_rom
    still = (i - up >= lag) & (xs[i] - xs[np.maximum(i - lag, 0)] <= band)
    down = xs[i] < peak - hysteresis
    hit = np.flatnonzero(risen & (still | down))
    return int(i[hit[0]]) if hit.size else int(i[-1])


def analyze_reference(t_raw, x_raw, min_rom=0.15):
    """Per rep (MV, MPV, PV, concentric start, concentric end, eccentric start) in seconds from
    the first sample."""
    grid = np.arange(t_raw[0], t_raw[-1], 1 / FS)
    t = grid - t_raw[0]
    xs = PchipInterpolator(t_raw, x_raw)(grid)
    b, a = butter(2, 10.0 / (FS / 2))
    xf = filtfilt(b, a, xs)
    v = np.gradient(xf, 1 / FS)
    acc = np.gradient(v, 1 / FS)
    up = v > 0
    edges = np.flatnonzero(np.diff(up.astype(np.int8))) + 1
    starts, ends = edges[up[edges]], edges[~up[edges]]
    ends = ends[np.searchsorted(ends, starts[0]):] if starts.size else ends
    n = min(starts.size, ends.size)
    starts, ends = starts[:n], ends[:n]
    keep = xf[ends] - xf[starts] >= min_rom
    side = int(SIDE_S * FS)
    out = []
    for a0, a1, prev_end in zip(starts[keep], ends[keep], np.concatenate(([-1], ends[keep][:-1]))):
        rom0 = xf[a1] - xf[a0]
        h = max(FIT_FRACTION * rom0, _window_floor(t_raw - t_raw[0], x_raw, t[max(a0 - 3000, 0)], t[a1],
                                                       rom0 / ((a1 - a0) / FS)))
        # fit windows: the samples within h of the bottom and top levels, at most SIDE_S beyond
        b_hi = a0 + int(np.argmax(xf[a0:a1 + 1] - xf[a0] > h))
        back = np.flatnonzero(xf[max(a0 - side, 0):a0 + 1] - xf[a0] >= h)
        b_lo = max(a0 - side, 0) + (back[-1] if back.size else 0)
        t_lo = a0 + int(np.argmax(xf[a1] - xf[a0:a1 + 1] <= h))
        fwd = np.flatnonzero(xf[a1] - xf[a1:a1 + side + 1] >= h)
        t_hi = min(a1 + (fwd[0] if fwd.size else min(side, xf.size - 1 - a1)) + 1, _decided(xs, a0, a1) + 1)
        te_b, t0, x0 = fit_turning_point(t[b_lo:b_hi], xs[b_lo:b_hi], 2.0, 2.0)
        t1, td, x1 = fit_turning_point(t[t_lo:t_hi], xs[t_lo:t_hi], 2.0, 2.0)
        # the descent before the rep, for the bottom fit's arrival exponent and the eccentric start
        p_on, p_ecc, ecc_start = 2.0, 2.0, np.nan
        if prev_end >= 0:
            seg = v[prev_end:a0]
            ie = int(np.argmin(seg))
            if seg[ie] < 0:
                slow = np.flatnonzero(seg >= 0.05 * seg[ie])
                e0 = prev_end + (slow[slow < ie][-1] + 1 if (slow < ie).any() else 0)
                e1 = prev_end + (slow[slow > ie][0] - 1 if (slow > ie).any() else seg.size - 1)
                ie += prev_end
                if e1 > e0 + 4:
                    p_on, p_ecc = beta_exponents((ie - e0) / (e1 - e0), -v[ie] * (e1 - e0) / FS / (xf[e0] - xf[e1]))
                    top = xf[max(prev_end - side, 0):e0 + 1].max()
                    w = np.flatnonzero(top - xf[max(e0 - side, 0):ie] < h) + max(e0 - side, 0)
                    if w.size >= 8:
                        ecc_start = fit_turning_point(t[w[0]:w[-1] + 2], xs[w[0]:w[-1] + 2], 2.0, p_on)[1]
        # second pass: the whole phase as one Beta-shaped velocity profile if it fits as well as
        # the 10 Hz filter does, else both turning points refitted with the phase's exponents
        j0, j1 = int(np.ceil(t0 * FS)), int(t1 * FS)
        jp = j0 + int(np.argmax(v[j0:j1 + 1]))
        pa, pb = beta_exponents((t[jp] - t0) / (t1 - t0), v[jp] * (t1 - t0) / (x1 - x0))
        shape = fit_phase(t, xs, xf, x0, x1, t0, t1, pa, pb, te_b, td)
        if shape is not None:
            x0, x1, t0, t1 = shape
        else:
            te_b, t0, x0 = fit_turning_point(t[b_lo:b_hi], xs[b_lo:b_hi], p_ecc, pa, te_b, t0)
            t1, td, x1 = fit_turning_point(t[t_lo:t_hi], xs[t_lo:t_hi], pb, 2.0, t1, td)
        mv = (x1 - x0) / (t1 - t0)
        j0, j1 = int(np.ceil(t0 * FS)), int(t1 * FS)
        jp = j0 + int(np.argmax(v[j0:j1 + 1]))
        brake = np.flatnonzero(acc[jp + 1:j1 + 1] < -G)
        if brake.size:
            tp = t[jp + brake[0]]
            mpv = (np.interp(tp, t, xf) - x0) / (tp - t0)
        else:
            mpv = mv
        out.append((mv, mpv, v[jp], t0, t1, ecc_start))
    return np.array(out).reshape(-1, 6)
