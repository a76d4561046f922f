"""Numba kernels of the analysis core.

Each kernel takes contiguous float64 arrays and scalars, writes into preallocated outputs and
holds no Python objects; the wrappers in ``vbt.tracker`` validate, allocate and call them.
Thresholds are arguments, never globals, because cached machine code freezes global values.
Slow, obviously-correct twins of every kernel live in ``tests/naive.py``.

Kernels
-------
resample_stream  linear interpolation of (t, x) samples onto a uniform grid, resumable
detect_stream    turning points with distance hysteresis; rep candidates and stillness marks
butter_lowpass   2nd-order Butterworth coefficients (bilinear transform, pre-warped)
filtfilt         zero-phase biquad: forward then backward, constant-extension padding
analyze_rep      boundaries, velocities, ROM, durations, force and power of one rep
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

G = 9.81

# ---- resampler ------------------------------------------------------------------------------
# state: [has_prev, prev_t, prev_x, next_k, origin_t, dt]
RS_HAS, RS_T, RS_X, RS_K, RS_ORIGIN, RS_DT = range(6)
RESAMPLE_STATE_SIZE = 6


@njit(cache=True)
def resample_stream(t, x, state, out):
    """Append grid samples ``origin + k*dt`` covered by the new samples; return how many.

    ``out`` must hold at least ``(t[-1] - prev_t)/dt + 2`` values.
    """
    n_out = 0
    dt = state[RS_DT]
    for i in range(t.shape[0]):
        ti = t[i]
        xi = x[i]
        if state[RS_HAS] == 0.0:
            state[RS_HAS] = 1.0
            state[RS_ORIGIN] = ti
            state[RS_K] = 0.0
            state[RS_T] = ti
            state[RS_X] = xi
            out[n_out] = xi
            n_out += 1
            state[RS_K] = 1.0
            continue
        pt = state[RS_T]
        px = state[RS_X]
        if ti <= pt:  # out of order or duplicate timestamp: skip
            continue
        k = state[RS_K]
        g = state[RS_ORIGIN] + k * dt
        span = ti - pt
        while g <= ti:
            out[n_out] = px + (xi - px) * ((g - pt) / span)
            n_out += 1
            k += 1.0
            g = state[RS_ORIGIN] + k * dt
        state[RS_K] = k
        state[RS_T] = ti
        state[RS_X] = xi
    return n_out


# ---- detector -------------------------------------------------------------------------------
# state slots
DS_MODE, DS_EXT, DS_EXT_I, DS_BOT_I, DS_BOT, DS_PREV_TOP_I, DS_ANCH, DS_ANCH_I, DS_EMITTED, \
    DS_MOVE_ANCH, DS_MOVE_I, DS_IMIN, DS_IMIN_I, DS_IMAX, DS_IMAX_I, DS_STILL_SENT, DS_N = range(17)
DETECT_STATE_SIZE = 17
MODE_INIT, MODE_DOWN, MODE_UP = 0.0, 1.0, 2.0
EV_REP, EV_STILL = 1.0, 2.0
# event row: [kind, bottom_i, top_i, confirm_i, prev_top_i]
EVENT_WIDTH = 5


@njit(cache=True)
def detect_init(state):
    state[:] = 0.0
    state[DS_MODE] = MODE_INIT
    state[DS_PREV_TOP_I] = -1.0
    state[DS_STILL_SENT] = 1.0  # nothing to end before the first movement


@njit(cache=True)
def detect_stream(x, first_index, state, events, hysteresis, min_rom, band, n_still, n_set_end):
    """Run the turning-point state machine over grid samples ``x`` (global index of ``x[0]`` is
    ``first_index``). Writes event rows into ``events`` and returns their count.

    EV_REP rows: a rise of at least ``min_rom`` from a bottom that has topped out, either by
    coming back down ``hysteresis`` or by staying within ``band`` for ``n_still`` samples.
    EV_STILL rows: the bar has not moved ``hysteresis`` for ``n_set_end`` samples.
    """
    n_ev = 0
    for j in range(x.shape[0]):
        i = float(first_index + j)
        xi = x[j]
        if state[DS_N] == 0.0:
            state[DS_IMIN] = xi
            state[DS_IMAX] = xi
            state[DS_IMIN_I] = i
            state[DS_IMAX_I] = i
            state[DS_MOVE_ANCH] = xi
            state[DS_MOVE_I] = i
        state[DS_N] += 1.0
        # stillness for set end
        if abs(xi - state[DS_MOVE_ANCH]) > hysteresis:
            state[DS_MOVE_ANCH] = xi
            state[DS_MOVE_I] = i
            state[DS_STILL_SENT] = 0.0
        elif state[DS_STILL_SENT] == 0.0 and i - state[DS_MOVE_I] >= n_set_end:
            events[n_ev, 0] = EV_STILL
            events[n_ev, 1] = -1.0
            events[n_ev, 2] = -1.0
            events[n_ev, 3] = i
            events[n_ev, 4] = -1.0
            n_ev += 1
            state[DS_STILL_SENT] = 1.0

        mode = state[DS_MODE]
        if mode == MODE_INIT:
            if xi < state[DS_IMIN]:
                state[DS_IMIN] = xi
                state[DS_IMIN_I] = i
            if xi > state[DS_IMAX]:
                state[DS_IMAX] = xi
                state[DS_IMAX_I] = i
            if xi > state[DS_IMIN] + hysteresis:
                state[DS_MODE] = MODE_UP
                state[DS_BOT_I] = state[DS_IMIN_I]
                state[DS_BOT] = state[DS_IMIN]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
                state[DS_ANCH] = xi
                state[DS_ANCH_I] = i
                state[DS_EMITTED] = 0.0
            elif xi < state[DS_IMAX] - hysteresis:
                state[DS_MODE] = MODE_DOWN
                state[DS_PREV_TOP_I] = state[DS_IMAX_I]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
        elif mode == MODE_DOWN:
            if xi < state[DS_EXT]:
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            elif xi > state[DS_EXT] + hysteresis:
                state[DS_MODE] = MODE_UP
                state[DS_BOT_I] = state[DS_EXT_I]
                state[DS_BOT] = state[DS_EXT]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
                state[DS_ANCH] = xi
                state[DS_ANCH_I] = i
                state[DS_EMITTED] = 0.0
        else:  # MODE_UP
            if xi > state[DS_EXT]:
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            if xi > state[DS_ANCH] + band:
                state[DS_ANCH] = xi
                state[DS_ANCH_I] = i
            rise = state[DS_EXT] - state[DS_BOT]
            if xi < state[DS_EXT] - hysteresis:
                if state[DS_EMITTED] == 0.0 and rise >= min_rom:
                    events[n_ev, 0] = EV_REP
                    events[n_ev, 1] = state[DS_BOT_I]
                    events[n_ev, 2] = state[DS_EXT_I]
                    events[n_ev, 3] = i
                    events[n_ev, 4] = state[DS_PREV_TOP_I]
                    n_ev += 1
                state[DS_MODE] = MODE_DOWN
                state[DS_PREV_TOP_I] = state[DS_EXT_I]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            elif state[DS_EMITTED] == 0.0 and rise >= min_rom and i - state[DS_ANCH_I] >= n_still:
                events[n_ev, 0] = EV_REP
                events[n_ev, 1] = state[DS_BOT_I]
                events[n_ev, 2] = state[DS_EXT_I]
                events[n_ev, 3] = i
                events[n_ev, 4] = state[DS_PREV_TOP_I]
                n_ev += 1
                state[DS_EMITTED] = 1.0
    return n_ev


@njit(cache=True)
def pending_rep(state, min_rom):
    """At the end of a stream: is a rise of at least min_rom still open (not yet emitted)?"""
    return state[DS_MODE] == MODE_UP and state[DS_EMITTED] == 0.0 and state[DS_EXT] - state[DS_BOT] >= min_rom


# ---- filtering ------------------------------------------------------------------------------


@njit(cache=True)
def butter_lowpass(cutoff_hz, fs_hz, coeffs):
    """2nd-order Butterworth low-pass (bilinear transform, pre-warped) into coeffs[b0,b1,b2,a1,a2]."""
    k = math.tan(math.pi * cutoff_hz / fs_hz)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b0 = k * k * norm
    coeffs[0] = b0
    coeffs[1] = 2.0 * b0
    coeffs[2] = b0
    coeffs[3] = 2.0 * (k * k - 1.0) * norm
    coeffs[4] = (1.0 - math.sqrt(2.0) * k + k * k) * norm


@njit(cache=True)
def _biquad_pass(buf, c, reverse):
    b0, b1, b2, a1, a2 = c[0], c[1], c[2], c[3], c[4]
    n = buf.shape[0]
    first = buf[n - 1] if reverse else buf[0]
    # steady state for a constant input equal to the first value
    z2 = (b2 - a2) * first
    z1 = (b1 - a1) * first + z2
    for jj in range(n):
        j = n - 1 - jj if reverse else jj
        xin = buf[j]
        y = b0 * xin + z1
        z1 = b1 * xin - a1 * y + z2
        z2 = b2 * xin - a2 * y
        buf[j] = y


@njit(cache=True)
def filtfilt(x, c, n_pad, out):
    """Zero-phase low-pass of ``x`` into ``out`` (same length), padding both ends by repeating
    the end values ``n_pad`` times (the bar is still at the ends of a rep window)."""
    n = x.shape[0]
    buf = np.empty(n + 2 * n_pad)
    for j in range(n_pad):
        buf[j] = x[0]
        buf[n_pad + n + j] = x[n - 1]
    for j in range(n):
        buf[n_pad + j] = x[j]
    _biquad_pass(buf, c, False)
    _biquad_pass(buf, c, True)
    for j in range(n):
        out[j] = buf[n_pad + j]


# ---- turning-point fit ----------------------------------------------------------------------


@njit(cache=True)
def _turn_sse(t, x, lo, hi, t0, sign, coef):
    """Least squares of x ~ c0 + cL*(t0-t)+^2 + cR*(t-t0)+^2 on samples lo..hi-1.

    Returns the residual sum of squares; coef receives (c0, cL, cR). ``sign`` is unused by the
    model (kept for symmetry of call sites)."""
    s1 = 0.0
    sl = 0.0
    sr = 0.0
    sll = 0.0
    srr = 0.0
    sx = 0.0
    slx = 0.0
    srx = 0.0
    sxx = 0.0
    for j in range(lo, hi):
        d = t[j] - t0
        ul = d * d if d < 0 else 0.0
        ur = d * d if d > 0 else 0.0
        xj = x[j]
        s1 += 1.0
        sl += ul
        sr += ur
        sll += ul * ul
        srr += ur * ur
        sx += xj
        slx += ul * xj
        srx += ur * xj
        sxx += xj * xj
    # normal equations [[s1, sl, sr], [sl, sll, 0], [sr, 0, srr]] c = [sx, slx, srx]
    eps = 1e-30
    if sll < eps and srr < eps:
        coef[0] = sx / s1
        coef[1] = 0.0
        coef[2] = 0.0
    elif sll < eps:
        det = s1 * srr - sr * sr
        if abs(det) < eps:
            return 1e300
        coef[0] = (sx * srr - sr * srx) / det
        coef[1] = 0.0
        coef[2] = (s1 * srx - sr * sx) / det
    elif srr < eps:
        det = s1 * sll - sl * sl
        if abs(det) < eps:
            return 1e300
        coef[0] = (sx * sll - sl * slx) / det
        coef[1] = (s1 * slx - sl * sx) / det
        coef[2] = 0.0
    else:
        det = s1 * sll * srr - sl * sl * srr - sr * sr * sll
        if abs(det) < eps:
            return 1e300
        c0 = (sx * sll * srr - sl * slx * srr - sr * srx * sll) / det
        coef[0] = c0
        coef[1] = (slx - sl * c0) / sll
        coef[2] = (srx - sr * c0) / srr
    sse = sxx - coef[0] * sx - coef[1] * slx - coef[2] * srx
    return sse


@njit(cache=True)
def fit_turning_point(t, x, lo, hi, coef):
    """Time of the turning point inside samples lo..hi-1: grid search over sample times, then
    golden-section refinement between the neighbours of the best. Returns t0; coef gets the
    level (c0) and the two curvatures."""
    if hi - lo < 4:
        coef[0] = x[lo]
        coef[1] = 0.0
        coef[2] = 0.0
        return t[lo]
    best = 1e308
    best_j = lo
    tmp = np.empty(3)
    for j in range(lo, hi):
        s = _turn_sse(t, x, lo, hi, t[j], 0.0, tmp)
        if s < best:
            best = s
            best_j = j
    a = t[max(best_j - 1, lo)]
    b = t[min(best_j + 1, hi - 1)]
    gr = 0.6180339887498949
    c1 = b - gr * (b - a)
    c2 = a + gr * (b - a)
    f1 = _turn_sse(t, x, lo, hi, c1, 0.0, tmp)
    f2 = _turn_sse(t, x, lo, hi, c2, 0.0, tmp)
    for _ in range(30):
        if f1 < f2:
            b = c2
            c2 = c1
            f2 = f1
            c1 = b - gr * (b - a)
            f1 = _turn_sse(t, x, lo, hi, c1, 0.0, tmp)
        else:
            a = c1
            c1 = c2
            f1 = f2
            c2 = a + gr * (b - a)
            f2 = _turn_sse(t, x, lo, hi, c2, 0.0, tmp)
    t0 = 0.5 * (a + b)
    _turn_sse(t, x, lo, hi, t0, 0.0, coef)
    return t0


# ---- one rep --------------------------------------------------------------------------------
# output slots of analyze_rep
(R_OK, R_T0, R_T1, R_MV, R_MPV, R_PV, R_ROM, R_TTPV, R_ECC_DUR, R_ECC_MV, R_PAUSE,
 R_F_MEAN, R_F_PEAK, R_P_MEAN, R_P_PEAK) = range(15)
REP_OUT_SIZE = 15


@njit(cache=True)
def _interp_idx(arr, fidx):
    i = int(math.floor(fidx))
    if i < 0:
        return arr[0]
    if i >= arr.shape[0] - 1:
        return arr[arr.shape[0] - 1]
    f = fidx - i
    return arr[i] * (1.0 - f) + arr[i + 1] * f


@njit(cache=True)
def analyze_rep(x, fs, coeffs, n_pad, bottom, top, prev_top, fit_fraction, fit_min_m, fit_side_s,
                load_kg, out):
    """Metrics of the rep whose rise runs from sample ``bottom`` to ``top`` of window ``x``.

    ``prev_top`` is the start of the preceding descent within the window (-1: none). Times in
    ``out`` are in seconds from x[0]. ``out[R_OK]`` is 1 when the rep is valid.
    """
    n = x.shape[0]
    for k in range(REP_OUT_SIZE):
        out[k] = np.nan
    out[R_OK] = 0.0
    dt = 1.0 / fs
    xf = np.empty(n)
    filtfilt(x, coeffs, n_pad, xf)
    v = np.empty(n)
    acc = np.empty(n)
    for j in range(1, n - 1):
        v[j] = (xf[j + 1] - xf[j - 1]) * 0.5 * fs
    v[0] = (xf[1] - xf[0]) * fs
    v[n - 1] = (xf[n - 1] - xf[n - 2]) * fs
    for j in range(1, n - 1):
        acc[j] = (v[j + 1] - v[j - 1]) * 0.5 * fs
    acc[0] = acc[1] if n > 2 else 0.0
    acc[n - 1] = acc[n - 2] if n > 2 else 0.0
    t = np.empty(n)
    for j in range(n):
        t[j] = j * dt

    # peak velocity inside the rise
    ip = bottom
    for j in range(bottom, top + 1):
        if v[j] > v[ip]:
            ip = j
    if v[ip] <= 0.0:
        return
    # zero crossings of the smoothed velocity around the peak: first estimate of the phase
    a0 = ip
    while a0 > 0 and v[a0 - 1] > 0.0:
        a0 -= 1
    a1 = ip
    while a1 < n - 1 and v[a1 + 1] > 0.0:
        a1 += 1
    rom0 = xf[a1] - xf[a0]
    if rom0 <= 0.0:
        return
    h = max(fit_fraction * rom0, fit_min_m)
    side = int(fit_side_s * fs)
    coef = np.empty(3)
    # start: samples near the bottom (within h of its level), up to fit_side_s before it
    right = ip
    while right > a0 and xf[right] - xf[a0] > h:
        right -= 1
    left = a0
    stop = max(0, a0 - side)
    while left > stop and xf[left] - xf[a0] < h:
        left -= 1
    t0 = fit_turning_point(t, x, left, right + 1, coef)
    x0 = coef[0]
    # end: samples near the top
    left2 = ip
    while left2 < a1 and xf[a1] - xf[left2] > h:
        left2 += 1
    right2 = a1
    stop2 = min(n - 1, a1 + side)
    while right2 < stop2 and xf[a1] - xf[right2] < h:
        right2 += 1
    t1 = fit_turning_point(t, x, left2, right2 + 1, coef)
    x1 = coef[0]
    if not (t1 > t0):
        return
    dur = t1 - t0
    rom = x1 - x0
    if rom <= 0.0:
        return
    mv = rom / dur
    # peak velocity within the phase
    j0 = max(0, int(math.ceil(t0 * fs)))
    j1 = min(n - 1, int(math.floor(t1 * fs)))
    pv = 0.0
    jp = ip
    for j in range(j0, j1 + 1):
        if v[j] > pv:
            pv = v[j]
            jp = j
    # propulsive phase: until acceleration first drops below -g after peak velocity
    tp = t1
    for j in range(jp, j1):
        if acc[j + 1] < -G:
            if acc[j] < -G:
                tp = t[j]
            else:
                tp = t[j] + dt * (acc[j] + G) / (acc[j] - acc[j + 1])
            break
    if tp >= t1:
        mpv = mv
    else:
        mpv = (_interp_idx(xf, tp * fs) - x0) / (tp - t0)
    out[R_T0] = t0
    out[R_T1] = t1
    out[R_MV] = mv
    out[R_MPV] = mpv
    out[R_PV] = pv
    out[R_ROM] = rom
    out[R_TTPV] = t[jp] - t0
    # preceding eccentric: from where the descent starts to where it stops
    if prev_top >= 0 and prev_top < bottom:
        ie = prev_top
        for j in range(prev_top, bottom + 1):
            if v[j] < v[ie]:
                ie = j
        vmin = v[ie]
        if vmin < 0.0:
            thr = 0.02 * vmin
            e0 = ie
            while e0 > prev_top and v[e0 - 1] < thr:
                e0 -= 1
            e1 = ie
            while e1 < n - 1 and v[e1 + 1] < thr:
                e1 += 1
            te0 = t[e0]
            te1 = min(t[e1], t0)
            if te1 > te0:
                out[R_ECC_DUR] = te1 - te0
                out[R_ECC_MV] = (xf[e0] - _interp_idx(xf, te1 * fs)) / (te1 - te0)
                out[R_PAUSE] = max(0.0, t0 - te1)
    # force and power with a load: F = m (a + g), P = F v over the concentric phase
    if load_kg > 0.0 and j1 > j0:
        fsum = 0.0
        psum = 0.0
        fpk = -1e300
        ppk = -1e300
        for j in range(j0, j1 + 1):
            f = load_kg * (acc[j] + G)
            p = f * v[j]
            fsum += f
            psum += p
            if f > fpk:
                fpk = f
            if p > ppk:
                ppk = p
        cnt = j1 - j0 + 1
        out[R_F_MEAN] = fsum / cnt
        out[R_F_PEAK] = fpk
        out[R_P_MEAN] = psum / cnt
        out[R_P_PEAK] = ppk
    out[R_OK] = 1.0
