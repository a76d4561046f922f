"""Numba kernels of the analysis core.

Each kernel takes contiguous float64 arrays and scalars, writes into preallocated outputs and
holds no Python objects; the wrappers in ``vbt.tracker`` validate, allocate and call them.
Settings are arguments, never globals, because cached machine code freezes global values; the
module constants below are parts of the method, fixed in the source.
Slow, obviously-correct twins of every kernel live in ``tests/naive.py``.

Kernels
-------
resample_stream  monotone cubic (PCHIP) interpolation of (t, x) samples onto a uniform grid, resumable
detect_stream    turning points with distance hysteresis; rep candidates and stillness marks
butter_lowpass   2nd-order Butterworth coefficients (bilinear transform, pre-warped)
filtfilt         zero-phase biquad: forward then backward, constant-extension padding
fit_turning_point  a turning point as two power-law branches either side of a hold
fit_turning_point_auto  the same with each branch's exponent chosen by the data
refit_two_term   an onset's or arrival's second power-law term, when it earns its keep (AIC)
fit_phase_lm     a whole concentric phase as one Beta-shaped velocity profile (Levenberg-Marquardt),
                 used only as a guarded refinement
ends_consistent  does a candidate phase agree with the recorded samples (issue 9's checks)?
final_rise_start the last stretch before a top without a descent
analyze_rep      boundaries, velocities, ROM, durations, force and power of one rep
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

G = 9.81

# Flags and small counts passed between kernels are typed values, never bare literals: numba
# compiles a kernel once per literal argument it is called with (`True` and `False` are two
# compilations of everything below the call), which tripled the first run's compile time.
YES = np.bool_(True)
NO = np.bool_(False)


# ---- small helpers, written out: numba's generic numpy implementations (argsort's quicksort,
# median's selection, searchsorted's keyword variants, slice assignment's broadcast checks with
# their error strings) cost seconds each of a first run's compile; these loops cost a fraction.

@njit(cache=True)
def search_left(a, v, n):
    """The first index i < n with a[i] >= v (n when none): ``np.searchsorted(a[:n], v)``."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def search_right(a, v, n):
    """The first index i < n with a[i] > v (n when none): ``np.searchsorted(a[:n], v, 'right')``."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _kth_smallest(w, k):
    """The k-th smallest value of w (0-based), reordering w (Hoare's selection)."""
    lo = 0
    hi = w.shape[0] - 1
    while lo < hi:
        pivot = w[(lo + hi) >> 1]
        i = lo
        j = hi
        while i <= j:
            while w[i] < pivot:
                i += 1
            while w[j] > pivot:
                j -= 1
            if i <= j:
                tmp = w[i]
                w[i] = w[j]
                w[j] = tmp
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return w[k]
    return w[k]


@njit(cache=True)
def median_of(a):
    """``np.median`` of a 1-D array (a copy is reordered, not a)."""
    n = a.shape[0]
    if n == 0:
        return np.nan
    w = a.copy()
    hi = _kth_smallest(w, n // 2)
    if n % 2 == 1:
        return hi
    lo = w[0]
    for i in range(1, n // 2):  # after the selection, everything left of n // 2 is <= it
        lo = max(lo, w[i])
    return 0.5 * (lo + hi) if n > 1 else hi


@njit(cache=True)
def rank_order(score, out):
    """``out[:] = np.argsort(score)`` for a short array (ties keep their order)."""
    n = score.shape[0]
    for i in range(n):
        out[i] = i
    for i in range(1, n):
        j = i
        while j > 0 and score[out[j - 1]] > score[out[j]]:
            tmp = out[j - 1]
            out[j - 1] = out[j]
            out[j] = tmp
            j -= 1


# ---- resampler ------------------------------------------------------------------------------
# Monotone cubic Hermite interpolation (slopes as in PCHIP: harmonic mean of the neighbouring
# secants, zero at a local extreme), so a 50 Hz stream keeps its curvature without overshoot
# and a per-tick encoder's long still gaps stay flat. One input sample of delay.
# state: [n_seen, tb, xb, tc, xc, mb, next_k, origin_t, dt]
RS_N, RS_TB, RS_XB, RS_T, RS_X, RS_MB, RS_K, RS_ORIGIN, RS_DT = range(9)
RESAMPLE_STATE_SIZE = 9


@njit(cache=True)
def _pchip_slope(h1, d1, h2, d2):
    if d1 * d2 <= 0.0:
        return 0.0
    w1 = 2.0 * h2 + h1
    w2 = h2 + 2.0 * h1
    return (w1 + w2) / (w1 / d1 + w2 / d2)


@njit(cache=True)
def _emit_hermite(state, mc, out, n_out):
    """Emit grid points in (tb, tc] on the cubic between (tb, xb, mb) and (tc, xc, mc)."""
    tb = state[RS_TB]
    xb = state[RS_XB]
    tc = state[RS_T]
    xc = state[RS_X]
    mb = state[RS_MB]
    h = tc - tb
    k = state[RS_K]
    dt = state[RS_DT]
    g = state[RS_ORIGIN] + k * dt
    while g <= tc:
        s = (g - tb) / h
        s2 = s * s
        s3 = s2 * s
        out[n_out] = ((2 * s3 - 3 * s2 + 1) * xb + (s3 - 2 * s2 + s) * h * mb
                      + (-2 * s3 + 3 * s2) * xc + (s3 - s2) * h * mc)
        n_out += 1
        k += 1.0
        g = state[RS_ORIGIN] + k * dt
    state[RS_K] = k
    return n_out


@njit(cache=True)
def resample_stream(t, x, state, out):
    """Append the grid samples ``origin + k*dt`` that the new samples complete; return how many.

    ``out`` must hold at least ``(t[-1] - state[RS_TB]) / dt + 2`` values. Samples whose time
    does not increase are skipped.
    """
    n_out = 0
    for i in range(t.shape[0]):
        td = t[i]
        xd = x[i]
        n_seen = state[RS_N]
        if n_seen == 0.0:
            state[RS_ORIGIN] = td
            state[RS_T] = td
            state[RS_X] = xd
            out[n_out] = xd
            n_out += 1
            state[RS_K] = 1.0
            state[RS_N] = 1.0
            continue
        if td <= state[RS_T]:
            continue
        if n_seen == 1.0:
            state[RS_TB] = state[RS_T]
            state[RS_XB] = state[RS_X]
            state[RS_T] = td
            state[RS_X] = xd
            state[RS_MB] = (xd - state[RS_XB]) / (td - state[RS_TB])
            state[RS_N] = 2.0
            continue
        h1 = state[RS_T] - state[RS_TB]
        d1 = (state[RS_X] - state[RS_XB]) / h1
        h2 = td - state[RS_T]
        d2 = (xd - state[RS_X]) / h2
        mc = _pchip_slope(h1, d1, h2, d2)
        n_out = _emit_hermite(state, mc, out, n_out)
        state[RS_MB] = mc
        state[RS_TB] = state[RS_T]
        state[RS_XB] = state[RS_X]
        state[RS_T] = td
        state[RS_X] = xd
    return n_out


@njit(cache=True)
def resample_flush(state, out):
    """End of stream: emit the grid samples of the last interval (end slope: its secant)."""
    if state[RS_N] < 2.0:
        return 0
    mc = (state[RS_X] - state[RS_XB]) / (state[RS_T] - state[RS_TB])
    n = _emit_hermite(state, mc, out, 0)
    state[RS_N] = 0.0 - 1.0  # flushed: no further samples expected
    return n


# ---- detector -------------------------------------------------------------------------------
# state slots
DS_MODE, DS_EXT, DS_EXT_I, DS_BOT_I, DS_BOT, DS_PREV_TOP_I, DS_PREV_TOP_X, _DS_UNUSED2, DS_EMITTED, \
    DS_MOVE_ANCH, DS_MOVE_I, DS_IMIN, DS_IMIN_I, DS_IMAX, DS_IMAX_I, DS_STILL_SENT, DS_N, DS_UP_I = range(18)
DETECT_STATE_SIZE = 18
MODE_INIT, MODE_DOWN, MODE_UP = 0.0, 1.0, 2.0
EV_REP, EV_STILL = 1.0, 2.0
STALL_SHARE = 0.1  # a rise this share of the last rep's range (at least the hysteresis) below its top is stalled
# event row: [kind, bottom_i, top_i, confirm_i, prev_top_i]
EVENT_WIDTH = 5


@njit(cache=True)
def detect_init(state):
    state[:] = 0.0
    state[DS_MODE] = MODE_INIT
    state[DS_PREV_TOP_I] = -1.0
    state[DS_STILL_SENT] = 1.0  # nothing to end before the first movement


@njit(cache=True)
def _enter_rise(state, bottom, bottom_i, xi, i):
    """The bar has come up ``hysteresis`` from its lowest point: a rise starts there."""
    state[DS_MODE] = MODE_UP
    state[DS_BOT_I] = bottom_i
    state[DS_BOT] = bottom
    state[DS_EXT] = xi
    state[DS_EXT_I] = i
    state[DS_UP_I] = i
    state[DS_EMITTED] = 0.0


@njit(cache=True)
def detect_stream(x, first_index, state, ring, events, hysteresis, min_rom, band, n_still, still_share, n_set_end,
                  n_hold, slow_per_sample):
    """Run the turning-point state machine over grid samples ``x`` (global index of ``x[0]`` is
    ``first_index``). Writes event rows into ``events`` and returns their count.

    EV_REP rows: a rise of at least ``min_rom`` from a bottom that has topped out, either by
    coming back down ``hysteresis`` or by rising no more than ``band`` over the last ``n_still``
    samples, or ``still_share`` of the rise's duration when that is longer (a bar creeping into
    lockout is not still yet). ``ring`` keeps the last samples across calls; the look-back is
    capped at its length. A rise that stalls well below the previous rep's top (more than STALL_SHARE
    of that rep's range, at least ``hysteresis``) is a lifter stuck at a sticking point, not a
    lockout: it closes after ``n_hold`` still samples, or when it comes back down. So does a first
    rise with no top before it (a pull from the floor) that has risen slower than
    ``slow_per_sample`` per sample on average since it became a rise (a grind).
    EV_STILL rows: the bar has not moved ``hysteresis`` for ``n_set_end`` samples.
    """
    n_ev = 0
    n_ring = ring.shape[0]
    for j in range(x.shape[0]):
        i = float(first_index + j)
        xi = x[j]
        gi = first_index + j
        lag = n_still
        if state[DS_MODE] == MODE_UP:
            lag = max(n_still, still_share * (i - state[DS_UP_I]))
            if state[DS_PREV_TOP_I] >= 0.0:
                margin = max(hysteresis, STALL_SHARE * (state[DS_PREV_TOP_X] - state[DS_BOT]))
                if state[DS_EXT] < state[DS_PREV_TOP_X] - margin:
                    lag = max(lag, n_hold)
            elif state[DS_EXT] - state[DS_BOT] - hysteresis < slow_per_sample * (i - state[DS_UP_I]):
                # a slow first rise from the floor (a grind): no top to compare with
                lag = max(lag, n_hold)
        lag_i = min(int(lag), n_ring - 1)
        x_before = ring[(gi - lag_i) % n_ring] if gi >= lag_i else xi
        ring[gi % n_ring] = xi
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
                _enter_rise(state, state[DS_IMIN], state[DS_IMIN_I], xi, i)
            elif xi < state[DS_IMAX] - hysteresis:
                state[DS_MODE] = MODE_DOWN
                state[DS_PREV_TOP_I] = state[DS_IMAX_I]
                state[DS_PREV_TOP_X] = state[DS_IMAX]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
        elif mode == MODE_DOWN:
            if xi < state[DS_EXT]:
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            elif xi > state[DS_EXT] + hysteresis:
                _enter_rise(state, state[DS_EXT], state[DS_EXT_I], xi, i)
        else:  # MODE_UP
            if xi > state[DS_EXT]:
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
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
                state[DS_PREV_TOP_X] = state[DS_EXT]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            elif state[DS_EMITTED] == 0.0 and rise >= min_rom and i - state[DS_UP_I] >= lag_i \
                    and xi - x_before <= band:
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
    _biquad_pass(buf, c, NO)
    _biquad_pass(buf, c, YES)
    for j in range(n):
        out[j] = buf[n_pad + j]


# ---- turning-point fit ----------------------------------------------------------------------

GOLDEN_TOL_S = 2e-6  # a golden-section search stops when its bracket is this narrow (seconds)
FIT_MAX_POINTS = 200  # a fit averages its samples in bins down to this many (1 kHz windows run to ~600)
REFIT_RADIUS_S = 0.04  # the refit with the phase's own exponents searches this close to the first fit
DESCENT_REFIT_RADIUS_S = 0.1  # the same for a descent's ends, whose onset can be slow (exponent up to 4.5)


@njit(cache=True)
def _branch_sums(t, x, lo, hi, tb, p, left, out3):
    """Sums over samples lo..hi-1 of u, u*u, u*x with u = (tb-t)+^p (left) or (t-tb)+^p."""
    s = 0.0
    ss = 0.0
    sx = 0.0
    for j in range(lo, hi):
        d = tb - t[j] if left else t[j] - tb
        if d > 0.0:
            u = d * d if p == 2.0 else d ** p
            s += u
            ss += u * u
            sx += u * x[j]
    out3[0] = s
    out3[1] = ss
    out3[2] = sx


@njit(cache=True)
def _solve3(s1, sx, sxx, sl, sll, slx, sr, srr, srx, coef):
    """Normal equations of x ~ c0 + cL*uL + cR*uR where uL*uR == 0; returns the residual SS."""
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
    return sxx - coef[0] * sx - coef[1] * slx - coef[2] * srx


@njit(cache=True)
def _prefix_moments(t, x, pre):
    """pre[i] = sums over samples 0..i-1 of t^0..t^4 and x, x*t, x*t^2."""
    for k in range(8):
        pre[0, k] = 0.0
    for j in range(t.shape[0]):
        tj = t[j]
        t2 = tj * tj
        xj = x[j]
        pre[j + 1, 0] = pre[j, 0] + 1.0
        pre[j + 1, 1] = pre[j, 1] + tj
        pre[j + 1, 2] = pre[j, 2] + t2
        pre[j + 1, 3] = pre[j, 3] + t2 * tj
        pre[j + 1, 4] = pre[j, 4] + t2 * t2
        pre[j + 1, 5] = pre[j, 5] + xj
        pre[j + 1, 6] = pre[j, 6] + xj * tj
        pre[j + 1, 7] = pre[j, 7] + xj * t2


@njit(cache=True)
def _sums(t, x, pre, tb, p, left, out3):
    """:func:`_branch_sums` over all samples; for p == 2 in O(log n) from the prefix moments
    (u = (tb - t)^2 expands into powers of t)."""
    if p != 2.0:
        _branch_sums(t, x, np.int64(0), t.shape[0], tb, p, left, out3)
        return
    n = t.shape[0]
    if left:
        k = search_left(t, tb, n)
        c0, c1, c2, c3, c4 = pre[k, 0], pre[k, 1], pre[k, 2], pre[k, 3], pre[k, 4]
        q0, q1, q2 = pre[k, 5], pre[k, 6], pre[k, 7]
    else:
        k = search_right(t, tb, n)
        c0, c1, c2, c3, c4 = (pre[n, 0] - pre[k, 0], pre[n, 1] - pre[k, 1], pre[n, 2] - pre[k, 2],
                              pre[n, 3] - pre[k, 3], pre[n, 4] - pre[k, 4])
        q0, q1, q2 = pre[n, 5] - pre[k, 5], pre[n, 6] - pre[k, 6], pre[n, 7] - pre[k, 7]
    if c0 == 0.0:
        out3[0] = 0.0
        out3[1] = 0.0
        out3[2] = 0.0
        return
    b2 = tb * tb
    out3[0] = max(c0 * b2 - 2.0 * tb * c1 + c2, 0.0)
    out3[1] = max(c0 * b2 * b2 - 4.0 * b2 * tb * c1 + 6.0 * b2 * c2 - 4.0 * tb * c3 + c4, 0.0)
    out3[2] = b2 * q0 - 2.0 * tb * q1 + q2


@njit(cache=True)
def _pair_sse(t, x, pre, te, t0, p_left, p_right, s1, sx, sxx, coef):
    bl = np.empty(3)
    br = np.empty(3)
    _sums(t, x, pre, te, p_left, YES, bl)
    _sums(t, x, pre, t0, p_right, NO, br)
    return _solve3(s1, sx, sxx, bl[0], bl[1], bl[2], br[0], br[1], br[2], coef)


@njit(cache=True)
def _one_side_sse(t, x, pre, tb, which, p_left, p_right, fixed, s1, sx, sxx, tmp):
    """Residual SS with one branch's sums given (``fixed``) and the other's time moved to ``tb``:
    which == 0 moves t0 (the right branch), 1 moves te (the left branch)."""
    other = np.empty(3)
    if which == 0:
        _sums(t, x, pre, tb, p_right, NO, other)
        return _solve3(s1, sx, sxx, fixed[0], fixed[1], fixed[2], other[0], other[1], other[2], tmp)
    _sums(t, x, pre, tb, p_left, YES, other)
    return _solve3(s1, sx, sxx, other[0], other[1], other[2], fixed[0], fixed[1], fixed[2], tmp)


@njit(cache=True)
def fit_turning_point(t, x, lo, hi, p_left, p_right, coef, times):
    """Turning point of samples lo..hi-1 as three pieces: a branch ending at ``te``, the bar
    still at level c0 from ``te`` to ``t0`` (a pause, possibly of zero length), a branch
    starting at ``t0``:  x ~ c0 + cL*(te-t)+^pL + cR*(t-t0)+^pR,  te <= t0.

    Samples are first averaged into at most FIT_MAX_POINTS bins. Grid search over candidate
    sample times for both (at most ~80 per side), then golden-section refinement of each within
    one candidate spacing. ``times`` receives (te, t0); ``coef`` (c0, cL, cR)."""
    tb, xb, nb = _binned(t, x, lo, hi)
    return _fit_pieces(tb, xb, np.int64(0), nb, p_left, p_right, coef, times, np.int64(0), nb, np.int64(0), nb,
                       np.int64(80))


@njit(cache=True)
def _binned(t, x, lo, hi):
    """Samples lo..hi-1 averaged in bins of equal count so that at most FIT_MAX_POINTS remain."""
    m = hi - lo
    k = (m + FIT_MAX_POINTS - 1) // FIT_MAX_POINTS
    if k <= 1:
        return t[lo:hi], x[lo:hi], m
    nb = (m + k - 1) // k
    tb = np.empty(nb)
    xb = np.empty(nb)
    for b in range(nb):
        j0 = lo + b * k
        j1 = min(j0 + k, hi)
        st = 0.0
        sx = 0.0
        for j in range(j0, j1):
            st += t[j]
            sx += x[j]
        tb[b] = st / (j1 - j0)
        xb[b] = sx / (j1 - j0)
    return tb, xb, nb


@njit(cache=True)
def fit_turning_point_near(t, x, lo, hi, p_left, p_right, coef, times, te_guess, t0_guess, radius_s):
    """:func:`fit_turning_point` with the search for ``te`` and ``t0`` kept within ``radius_s``
    of a first estimate (a refit with other exponents moves them by a few ms, not more), with
    fewer candidates."""
    t, x, hi = _binned(t, x, lo, hi)
    lo = np.int64(0)
    e_lo = search_left(t, te_guess - radius_s, hi)
    e_hi = search_right(t, te_guess + radius_s, hi)
    o_lo = search_left(t, t0_guess - radius_s, hi)
    o_hi = search_right(t, t0_guess + radius_s, hi)
    return _fit_pieces(t, x, lo, hi, p_left, p_right, coef, times, e_lo, max(e_hi, e_lo + 1),
                       o_lo, max(o_hi, o_lo + 1), np.int64(24))


@njit(cache=True)
def _fit_then_refit(t, x, lo, hi, p_left, p_right, coef, times):
    """:func:`fit_turning_point` with exponents other than 2 found the cheap way: a full search
    with both exponents 2 (its sums come from prefix moments), then the search with the given
    exponents within DESCENT_REFIT_RADIUS_S of that fit (~3x faster; eccentric durations as
    accurate on the motion model)."""
    if p_left == 2.0 and p_right == 2.0:
        fit_turning_point(t, x, lo, hi, p_left, p_right, coef, times)
        return
    fit_turning_point(t, x, lo, hi, 2.0, 2.0, coef, times)
    fit_turning_point_near(t, x, lo, hi, p_left, p_right, coef, times, times[0], times[1], DESCENT_REFIT_RADIUS_S)


# Exponents tried for each branch of a turning point (position ~ |t - tb|^p: 2 is a constant
# acceleration, higher a gentler onset or arrival, lower a sharper one).
AUTO_EXPONENTS = (1.3, 1.6, 2.0, 2.5, 3.0, 3.5, 4.0)
AUTO_RADIUS_SHARE = 0.25  # the refits search this share of the window's span around the first fit
AUTO_REFITS = 3  # exponents refitted per branch: those that fit best at the first fit's ends
TWO_TERM = True
TWO_TERM_PENALTY = 2.0  # AIC parameters charged for a branch's second term (refit_two_term)


@njit(cache=True)
def _sse_at(t, x, lo, hi, te, t0, pl, pr):
    """Residual SS of the three-piece model with both times given (no search)."""
    m = hi - lo
    s1 = float(m)
    sx = 0.0
    sxx = 0.0
    for j in range(lo, hi):
        sx += x[j]
        sxx += x[j] * x[j]
    bl = np.empty(3)
    br = np.empty(3)
    _branch_sums(t, x, lo, hi, te, pl, YES, bl)
    _branch_sums(t, x, lo, hi, t0, pr, NO, br)
    c = np.empty(3)
    return _solve3(s1, sx, sxx, bl[0], bl[1], bl[2], br[0], br[1], br[2], c)


@njit(cache=True)
def fit_turning_point_auto(t, x, lo, hi, first_right, coef, times, exps):
    """:func:`fit_turning_point` with each branch's exponent chosen by the data: a full fit with
    both exponents 2; then for each branch (the one named by ``first_right`` first) the AUTO_REFITS
    exponents of AUTO_EXPONENTS that fit best at those ends are refitted near them. It
    assumes only that position leaves or reaches the turning point as a power of time, which holds
    near any turning point of a smooth motion (2 for a bounce or a step of force, 3 for force
    building up from the weight, higher for a gentler onset).
    ``exps`` receives (p_left, p_right). Returns the residual sum of squares (of the binned samples)."""
    best = fit_turning_point(t, x, lo, hi, 2.0, 2.0, coef, times)
    pl = 2.0
    pr = 2.0
    c = np.empty(3)
    tm = np.empty(2)
    radius = max(REFIT_RADIUS_S, AUTO_RADIUS_SHARE * (t[hi - 1] - t[lo]))
    tb, xb, nb = _binned(t, x, lo, hi)
    ne = len(AUTO_EXPONENTS)
    score = np.empty(ne)
    order = np.empty(ne, np.int64)
    for k in range(2):
        right = first_right if k == 0 else not first_right
        cur = pr if right else pl
        te_g = times[0]
        t0_g = times[1]
        for q in range(ne):
            p = AUTO_EXPONENTS[q]
            score[q] = _sse_at(tb, xb, np.int64(0), nb, te_g, t0_g, pl if right else p, p if right else pr)
        rank_order(score, order)
        for r in range(AUTO_REFITS):
            p = AUTO_EXPONENTS[order[r]]
            if p == cur:
                continue
            if right:
                s = fit_turning_point_near(t, x, lo, hi, pl, p, c, tm, te_g, t0_g, radius)
            else:
                s = fit_turning_point_near(t, x, lo, hi, p, pr, c, tm, te_g, t0_g, radius)
            if s < best:
                best = s
                coef[0] = c[0]
                coef[1] = c[1]
                coef[2] = c[2]
                times[0] = tm[0]
                times[1] = tm[1]
                if right:
                    pr = p
                else:
                    pl = p
    exps[0] = pl
    exps[1] = pr
    return best


@njit(cache=True)
def _sse_two_term(t, x, te, t0, pl, pr, right, coef4):
    """Residual SS of x ~ c0 + cL*(te-t)+^pL + cR*(t-t0)+^pR with the branch named by ``right``
    given a second term, u^(p+1): the power law's first correction, so that a window reaching
    beyond where one power holds (force building up, braking easing off) does not bend the ends."""
    A = np.zeros((4, 4))
    g = np.zeros(4)
    for j in range(t.shape[0]):
        dl = te - t[j]
        dr = t[j] - t0
        b0 = 1.0
        b1 = dl ** pl if dl > 0.0 else 0.0
        b2 = dr ** pr if dr > 0.0 else 0.0
        if right:
            b3 = b2 * dr if dr > 0.0 else 0.0
        else:
            b3 = b1 * dl if dl > 0.0 else 0.0
        bs = (b0, b1, b2, b3)
        for r in range(4):
            g[r] += bs[r] * x[j]
            for c in range(4):
                A[r, c] += bs[r] * bs[c]
    for r in range(4):
        A[r, r] += 1e-18
    if not _solve_small(A, g, coef4):
        return 1e300
    sse = 0.0
    for j in range(t.shape[0]):
        dl = te - t[j]
        dr = t[j] - t0
        b1 = dl ** pl if dl > 0.0 else 0.0
        b2 = dr ** pr if dr > 0.0 else 0.0
        if right:
            b3 = b2 * dr if dr > 0.0 else 0.0
        else:
            b3 = b1 * dl if dl > 0.0 else 0.0
        r_ = x[j] - (coef4[0] + coef4[1] * b1 + coef4[2] * b2 + coef4[3] * b3)
        sse += r_ * r_
    return sse


@njit(cache=True)
def refit_two_term(t, x, lo, hi, pl, pr, right, coef, times, radius):
    """Refine the turning point of the branch named by ``right`` (t0 of a rise's onset, or te of
    an arrival) with :func:`_sse_two_term`, the other end held, within ``radius`` of ``times``.
    Taken only if the extra term lowers the residual by more than chance would (AIC). Returns
    True when taken; ``coef`` (c0, cL, cR) and ``times`` are then updated."""
    tb, xb, m = _binned(t, x, lo, hi)
    if m < 8:
        return False
    tc = 0.5 * (tb[0] + tb[m - 1])
    tt = np.empty(m)
    for j in range(m):
        tt[j] = tb[j] - tc
    te = times[0] - tc
    t0 = times[1] - tc
    c4 = np.empty(4)
    base = _sse_two_term(tt, xb, te, t0, pl, pr, right, c4)  # two terms at the one-term ends
    one = 0.0
    for j in range(m):
        dl = te - tt[j]
        dr = tt[j] - t0
        r_ = xb[j] - (coef[0] + (coef[1] * dl ** pl if dl > 0.0 else 0.0) + (coef[2] * dr ** pr if dr > 0.0 else 0.0))
        one += r_ * r_
    if right:
        a = max(t0 - radius, te)
        b = t0 + radius
    else:
        a = te - radius
        b = min(te + radius, t0)
    if not b > a:
        return False
    gr = 0.6180339887498949
    c1 = b - gr * (b - a)
    c2 = a + gr * (b - a)
    f1 = _sse_two_term(tt, xb, te, c1, pl, pr, right, c4) if right else _sse_two_term(tt, xb, c1, t0, pl, pr, right, c4)
    f2 = _sse_two_term(tt, xb, te, c2, pl, pr, right, c4) if right else _sse_two_term(tt, xb, c2, t0, pl, pr, right, c4)
    while b - a > GOLDEN_TOL_S * 10.0:
        if f1 < f2:
            b = c2
            c2 = c1
            f2 = f1
            c1 = b - gr * (b - a)
            f1 = _sse_two_term(tt, xb, te, c1, pl, pr, right, c4) if right else \
                _sse_two_term(tt, xb, c1, t0, pl, pr, right, c4)
        else:
            a = c1
            c1 = c2
            f1 = f2
            c2 = a + gr * (b - a)
            f2 = _sse_two_term(tt, xb, te, c2, pl, pr, right, c4) if right else \
                _sse_two_term(tt, xb, c2, t0, pl, pr, right, c4)
    tm = 0.5 * (a + b)
    if right:
        sse = _sse_two_term(tt, xb, te, tm, pl, pr, right, c4)
    else:
        sse = _sse_two_term(tt, xb, tm, t0, pl, pr, right, c4)
    # AIC: one more coefficient must earn its keep
    if not (sse < one * math.exp(-2.0 * TWO_TERM_PENALTY / m)) or base >= 1e300:
        return False
    if right:
        times[1] = tm + tc
    else:
        times[0] = tm + tc
    coef[0] = c4[0]
    return True


@njit(cache=True)
def _fit_pieces(t, x, lo, hi, p_left, p_right, coef, times, e_lo, e_hi, o_lo, o_hi, max_candidates):
    """The fit of :func:`fit_turning_point` with ``te`` searched among samples e_lo..e_hi-1 and
    ``t0`` among o_lo..o_hi-1 (each clamped to lo..hi-1)."""
    if hi - lo < 4:
        coef[0] = x[lo]
        coef[1] = 0.0
        coef[2] = 0.0
        times[0] = t[lo]
        times[1] = t[lo]
        return 1e300
    e_lo = min(max(e_lo, lo), hi - 1) - lo
    e_hi = min(max(e_hi, e_lo + lo + 1), hi) - lo
    o_lo = min(max(o_lo, lo), hi - 1) - lo
    o_hi = min(max(o_hi, o_lo + lo + 1), hi) - lo
    # Work on times and positions centred on the window: the sums of powers stay well
    # conditioned, and a branch with exponent 2 takes its sums from prefix moments.
    m = hi - lo
    tc = 0.5 * (t[lo] + t[hi - 1])
    xm = 0.0
    for j in range(lo, hi):
        xm += x[j]
    xm /= m
    tt = np.empty(m)
    xx = np.empty(m)
    for j in range(m):
        tt[j] = t[lo + j] - tc
        xx[j] = x[lo + j] - xm
    pre = np.empty((m + 1 if (p_left == 2.0 or p_right == 2.0) else 1, 8))
    if p_left == 2.0 or p_right == 2.0:
        _prefix_moments(tt, xx, pre)
    s1 = float(m)
    sx = 0.0
    sxx = 0.0
    for j in range(m):
        sx += xx[j]
        sxx += xx[j] * xx[j]
    # candidates every `stride` samples within each range, refined below
    stride = max(1, max(e_hi - e_lo, o_hi - o_lo) // max_candidates)
    ne = (e_hi - e_lo - 1) // stride + 1
    no = (o_hi - o_lo - 1) // stride + 1
    left_sums = np.empty((ne, 3))
    right_sums = np.empty((no, 3))
    tmp = np.empty(3)
    for c in range(ne):
        _sums(tt, xx, pre, tt[e_lo + c * stride], p_left, YES, tmp)
        left_sums[c, 0] = tmp[0]
        left_sums[c, 1] = tmp[1]
        left_sums[c, 2] = tmp[2]
    for c in range(no):
        _sums(tt, xx, pre, tt[o_lo + c * stride], p_right, NO, tmp)
        right_sums[c, 0] = tmp[0]
        right_sums[c, 1] = tmp[1]
        right_sums[c, 2] = tmp[2]
    best = 1e308
    be = e_lo
    b0 = o_lo
    found = False
    for ce in range(ne):
        ie = e_lo + ce * stride
        for c0 in range(no):
            io = o_lo + c0 * stride
            if io < ie:
                continue
            s = _solve3(s1, sx, sxx, left_sums[ce, 0], left_sums[ce, 1], left_sums[ce, 2],
                        right_sums[c0, 0], right_sums[c0, 1], right_sums[c0, 2], tmp)
            if s < best or not found:
                best = s
                be = ie
                b0 = io
                found = True
    if not found:  # every t0 candidate precedes every te candidate: a zero-length pause
        be = b0 = (e_lo + o_hi - 1) // 2
    te = tt[be]
    t0 = tt[b0]
    gr = 0.6180339887498949
    fixed = np.empty(3)
    for which in range(2):  # refine t0 with te fixed, then te with t0 fixed
        k = b0 if which == 0 else be
        a = tt[max(k - stride, 0)]
        b = tt[min(k + stride, m - 1)]
        if which == 0:
            a = max(a, te)
            _sums(tt, xx, pre, te, p_left, YES, fixed)
        else:
            b = min(b, t0)
            _sums(tt, xx, pre, t0, p_right, NO, fixed)
        c1 = b - gr * (b - a)
        c2 = a + gr * (b - a)
        f1 = _one_side_sse(tt, xx, pre, c1, which, p_left, p_right, fixed, s1, sx, sxx, tmp)
        f2 = _one_side_sse(tt, xx, pre, c2, which, p_left, p_right, fixed, s1, sx, sxx, tmp)
        while b - a > GOLDEN_TOL_S:
            if f1 < f2:
                b = c2
                c2 = c1
                f2 = f1
                c1 = b - gr * (b - a)
                f1 = _one_side_sse(tt, xx, pre, c1, which, p_left, p_right, fixed, s1, sx, sxx, tmp)
            else:
                a = c1
                c1 = c2
                f1 = f2
                c2 = a + gr * (b - a)
                f2 = _one_side_sse(tt, xx, pre, c2, which, p_left, p_right, fixed, s1, sx, sxx, tmp)
        if which == 0:
            t0 = 0.5 * (a + b)
        else:
            te = 0.5 * (a + b)
    sse = _pair_sse(tt, xx, pre, te, t0, p_left, p_right, s1, sx, sxx, coef)
    coef[0] += xm
    times[0] = te + tc
    times[1] = t0 + tc
    return sse


@njit(cache=True)
def _beta_peak_density(a, share):
    b = 1.0 + (a - 1.0) * (1.0 - share) / share
    return math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                    + (a - 1.0) * math.log(share) + (b - 1.0) * math.log(1.0 - share))


@njit(cache=True)
def beta_from_shape(share, ratio):
    """Beta(a, b) velocity profile with its peak at ``share`` of the phase and peak/mean
    ``ratio``; returns (a, b) clamped to [1.2, 4.5]: the position exponents at onset and arrival."""
    share = min(max(share, 0.2), 0.8)
    lo = 1.01
    hi = 12.0
    if _beta_peak_density(lo, share) >= ratio:
        a = lo
    elif _beta_peak_density(hi, share) <= ratio:
        a = hi
    else:
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if _beta_peak_density(mid, share) < ratio:
                lo = mid
            else:
                hi = mid
        a = 0.5 * (lo + hi)
    b = 1.0 + (a - 1.0) * (1.0 - share) / share
    return min(max(a, 1.2), 4.5), min(max(b, 1.2), 4.5)


# ---- whole-phase shape fit -------------------------------------------------------------------
# A concentric phase whose velocity rises and falls once is fitted as a whole: position =
# level + rise * BetaCDF((t - t0) / dur; a, b). Hundreds of samples then place both turning
# points and both levels, where the local fits above see only the few near each end. A rep it does not fit (a
# sticking point, two velocity peaks) keeps the local fits (see analyze_rep).
SHAPE_TABLE_N = 65  # nodes of the Beta CDF table (cubic Hermite between them)
SHAPE_MIN_EXP = 1.05  # the exponents stay above 1: velocity starts and ends at zero
SHAPE_MAX_ITER = 30  # Levenberg-Marquardt iterations
SHAPE_TOL = 1e-6  # stop when an iteration lowers the residual by less than this fraction
SHAPE_MAX_NOISE_RATIO = 2.0  # accept the shape fit if its RMS residual is within this factor of the noise
SHAPE_AGREE_K = 3.0  # ... and it moves each end by at most this many times the local fit's uncertainty
SHAPE_AGREE_SHARE = 0.1  # ... and never more than this share of the duration
SETTLE_MAX_M = 0.012  # corrections at the bottom: within this of the lowest point (real grinds: 2-10 mm)
SETTLE_SHARE = 0.05  # ... and this share of the rise
SETTLE_MIN_M = 0.002  # ... and at least this (or 3 steps) above it: a correction, not a slow onset
SETTLE_STILL_S = 0.06  # ... followed by the bar held still this long: the rise starts after it
SHAPE_MIN_STILL_S = 0.02  # ... and only when the local fit finds the bar still this long before the rise
TOL_STEPS_K = 1.5  # the tolerance floor is this many encoder steps (vbt.tracker.TOL_STEPS)
SHAPE_HOLD_SHARE = 0.15  # the fit also takes in the still bar either side, up to this share of the duration


@njit(cache=True)
def beta_integral_table(a, b, n, m, tab, dens):
    """tab[k] = integral from 0 to s_k of s^(a-1) (1-s)^(b-1) ds (the unnormalised Beta CDF) and
    dens[k] the integrand at s_k, for s_k = k/(n-1); Simpson's rule on m sub-steps per cell, the
    first and last sub-steps by their expansions to first order (the integrand may not be smooth
    at 0 and 1)."""
    h = 1.0 / ((n - 1) * m)
    tab[0] = 0.0
    dens[0] = 0.0 if a > 1.0 else 1.0
    acc = 0.0
    f0 = 0.0
    for k in range(1, n):
        for q in range(m):
            s0 = ((k - 1) * m + q) * h
            s1 = s0 + h
            sm = 0.5 * (s0 + s1)
            f1 = s1 ** (a - 1.0) * max(1.0 - s1, 0.0) ** (b - 1.0)
            if s0 == 0.0:
                acc += s1 ** a / a * (1.0 - a / (a + 1.0) * s1) ** (b - 1.0)
            elif k == n - 1 and q == m - 1:
                acc += h ** b / b * (1.0 - b / (b + 1.0) * h) ** (a - 1.0)
            else:
                fm = sm ** (a - 1.0) * (1.0 - sm) ** (b - 1.0)
                acc += h / 6.0 * (f0 + 4.0 * fm + f1)
            f0 = f1
        tab[k] = acc
        dens[k] = f0


@njit(cache=True)
def _phase_curve(tb, t0, dur, a, b, tab, dens, u, du):
    """u[j]: the normalised Beta(a, b) CDF at s = (tb[j] - t0)/dur (cubic Hermite on its table);
    du[j]: its derivative in s (0 outside the phase)."""
    nt = tab.shape[0]
    beta_integral_table(a, b, nt, 2, tab, dens)
    norm = tab[nt - 1]
    hc = 1.0 / (nt - 1)
    for j in range(tb.shape[0]):
        f = (tb[j] - t0) / dur
        if f <= 0.0:
            u[j] = 0.0
            du[j] = 0.0
        elif f >= 1.0:
            u[j] = 1.0
            du[j] = 0.0
        else:
            g = f * (nt - 1)
            k = min(int(g), nt - 2)
            w = g - k
            w2 = w * w
            w3 = w2 * w
            u[j] = ((2 * w3 - 3 * w2 + 1) * tab[k] + (w3 - 2 * w2 + w) * hc * dens[k]
                    + (-2 * w3 + 3 * w2) * tab[k + 1] + (w3 - w2) * hc * dens[k + 1]) / norm
            du[j] = ((6 * w2 - 6 * w) * tab[k] + (3 * w2 - 4 * w + 1) * hc * dens[k]
                     + (-6 * w2 + 6 * w) * tab[k + 1] + (3 * w2 - 2 * w) * hc * dens[k + 1]) / (hc * norm)


@njit(cache=True)
def _solve_small(A, g, out):
    """Gaussian elimination with partial pivoting of A out = g (A, g overwritten). False if singular."""
    n = g.shape[0]
    for c in range(n):
        piv = c
        for r in range(c + 1, n):
            if abs(A[r, c]) > abs(A[piv, c]):
                piv = r
        if abs(A[piv, c]) < 1e-300:
            return False
        if piv != c:
            for k in range(n):
                tmp = A[c, k]
                A[c, k] = A[piv, k]
                A[piv, k] = tmp
            tmp = g[c]
            g[c] = g[piv]
            g[piv] = tmp
        for r in range(c + 1, n):
            f = A[r, c] / A[c, c]
            for k in range(c, n):
                A[r, k] -= f * A[c, k]
            g[r] -= f * g[c]
    for r in range(n - 1, -1, -1):
        acc = g[r]
        for k in range(r + 1, n):
            acc -= A[r, k] * out[k]
        out[r] = acc / A[r, r]
    return True


@njit(cache=True)
def _phase_resid(tb, xb, prm, tab, dens, u, du):
    """Residual SS of the phase model with parameters prm = (level, rise, t0, dur, a, b); the
    curve goes into u, du (1e300 and untouched for a duration that is not positive)."""
    if prm[3] <= 0.0:
        return 1e300
    _phase_curve(tb, prm[2], prm[3], prm[4], prm[5], tab, dens, u, du)
    sse = 0.0
    for j in range(tb.shape[0]):
        r = xb[j] - prm[0] - prm[1] * u[j]
        sse += r * r
    return sse


@njit(cache=True)
def fit_phase_lm(t, x, lo, hi, init, out):
    """Levenberg-Marquardt fit of samples lo..hi-1 to level + rise * BetaCDF((t - t0)/dur; a, b);
    ``init`` and ``out`` = (level, rise, t0, dur, a, b). Returns the residual SS per sample."""
    tb, xb, nb = _binned(t, x, lo, hi)
    tb = tb[:nb].copy()
    xb = xb[:nb].copy()
    nt = SHAPE_TABLE_N
    tab = np.empty(nt)
    dens = np.empty(nt)
    u = np.empty(nb)
    du = np.empty(nb)
    ua = np.empty(nb)
    ub = np.empty(nb)
    ut = np.empty(nb)
    dut = np.empty(nb)
    dd = np.empty(nb)
    prm = init.copy()
    trial = np.empty(6)
    J = np.empty((nb, 6))
    A0 = np.empty((6, 6))  # normal equations at prm, damped into A for each try
    g0 = np.empty(6)
    A = np.empty((6, 6))
    g = np.empty(6)
    step = np.empty(6)
    for k in range(6):
        out[k] = init[k]
    if init[3] <= 0.0 or nb < 6:
        return 1e300
    lam = 1e-3
    rel = 1.0
    sse = _phase_resid(tb, xb, prm, tab, dens, u, du)
    eps = 1e-4
    for _ in range(SHAPE_MAX_ITER):
        # Jacobian of the model at prm (u, du hold the curve there)
        _phase_curve(tb, prm[2], prm[3], prm[4] + eps, prm[5], tab, dens, ua, dd)
        _phase_curve(tb, prm[2], prm[3], prm[4], prm[5] + eps, tab, dens, ub, dd)
        for j in range(nb):
            sj = (tb[j] - prm[2]) / prm[3]
            J[j, 0] = 1.0
            J[j, 1] = u[j]
            J[j, 2] = -prm[1] * du[j] / prm[3]
            J[j, 3] = -prm[1] * du[j] * sj / prm[3]
            J[j, 4] = prm[1] * (ua[j] - u[j]) / eps
            J[j, 5] = prm[1] * (ub[j] - u[j]) / eps
        for r in range(6):
            acc = 0.0
            for j in range(nb):
                acc += J[j, r] * (xb[j] - prm[0] - prm[1] * u[j])
            g0[r] = acc
            for c in range(r + 1):
                acc = 0.0
                for j in range(nb):
                    acc += J[j, r] * J[j, c]
                A0[r, c] = acc
                A0[c, r] = acc
        improved = False
        for _try in range(8):
            for r in range(6):
                g[r] = g0[r]
                for c in range(6):
                    A[r, c] = A0[r, c]
                A[r, r] *= 1.0 + lam
            if not _solve_small(A, g, step):
                lam *= 10.0
                continue
            for k in range(6):
                trial[k] = prm[k] + step[k]
            trial[4] = max(trial[4], SHAPE_MIN_EXP)
            trial[5] = max(trial[5], SHAPE_MIN_EXP)
            s_new = _phase_resid(tb, xb, trial, tab, dens, ut, dut)
            if s_new < sse:
                rel = (sse - s_new) / max(sse, 1e-300)
                sse = s_new
                for k in range(6):
                    prm[k] = trial[k]
                for j in range(nb):
                    u[j] = ut[j]
                    du[j] = dut[j]
                lam = max(lam / 3.0, 1e-9)
                improved = True
                break
            lam *= 4.0
        if not improved or rel < SHAPE_TOL:
            break
    for k in range(6):
        out[k] = prm[k]
    return sse / nb


# ---- one rep --------------------------------------------------------------------------------
# output slots of analyze_rep
(R_OK, R_T0, R_T1, R_MV, R_MPV, R_PV, R_ROM, R_TTPV, R_ECC_DUR, R_ECC_MV, R_PAUSE,
 R_F_MEAN, R_F_PEAK, R_P_MEAN, R_P_PEAK, R_METHOD, R_TOL) = range(17)
REP_OUT_SIZE = 17
# The checks of a rep's ends allow this many robust standard deviations of the recording's noise
# (the largest excursion between two of a thousand noisy samples is ~6 of them).
TOL_NOISE_SD = 8.0
EXTREME_NOISE_SD = 3.0  # samples within this many sd (or the step floor) of an extreme count as at it


@njit(cache=True)
def _interp_idx(arr, fidx):
    i = int(math.floor(fidx))
    if i < 0:
        return arr[0]
    if i >= arr.shape[0] - 1:
        return arr[arr.shape[0] - 1]
    f = fidx - i
    return arr[i] * (1.0 - f) + arr[i + 1] * f


MIN_FLIGHT_S = 0.08  # a ballistic stretch this long before the end is a flight (a jump's is 0.1 s or more)
FLIGHT_PAST_APEX_S = 0.04  # ... that goes on this long past the apex (a lift's bar stops there)
FLIGHT_G_TOL = 1.0  # ... whose own curvature (a free parabola) is -g within this (m/s^2): a wobble's is not
BALLISTIC_STEPS = 150  # the flight's start is searched at this many points at most
TAKEOFF_EXPONENTS = (2.0, 2.5, 3.0, 3.5, 4.0)  # the push's last ms: x leaves the flight as (t_off - t)^p
TAKEOFF_BACK_S = 0.06  # the take-off is searched this far before the tolerance test's flight start
TAKEOFF_FIT_M = 0.03  # ... fitting the push where it is within this of the flight parabola


@njit(cache=True)
def _flight_line(t, x, lo, hi, tr, out2):
    """Least-squares line a + b u of y = x + G u^2 / 2 (u = t - tr) over samples lo..hi: the flight
    parabola of curvature -G. False when the samples cannot define it."""
    s1 = 0.0
    st = 0.0
    sy = 0.0
    stt = 0.0
    sty = 0.0
    for k in range(lo, hi + 1):
        u = t[k] - tr
        y = x[k] + 0.5 * G * u * u
        s1 += 1.0
        st += u
        sy += y
        stt += u * u
        sty += u * y
    det = s1 * stt - st * st
    if det <= 0.0:
        return False
    out2[1] = (s1 * sty - st * sy) / det
    out2[0] = (sy - out2[1] * st) / s1
    return True


@njit(cache=True)
def curvature(t, x, lo, hi):
    """Second derivative of the least-squares parabola through samples lo..hi (NaN: too few)."""
    if hi - lo < 3:
        return np.nan
    tm = 0.5 * (t[lo] + t[hi])
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    y0 = 0.0
    y1 = 0.0
    y2 = 0.0
    for k in range(lo, hi + 1):
        u = t[k] - tm
        u2 = u * u
        s0 += 1.0
        s1 += u
        s2 += u2
        s3 += u2 * u
        s4 += u2 * u2
        y0 += x[k]
        y1 += u * x[k]
        y2 += u2 * x[k]
    det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
    if det == 0.0:
        return np.nan
    c2 = (s0 * (s2 * y2 - s3 * y1) - s1 * (s1 * y2 - s3 * y0) + s2 * (s1 * y1 - s2 * y0)) / det
    return 2.0 * c2


@njit(cache=True)
def ballistic_from(t, x, lo, hi, tol):
    """The earliest sample j in [lo, hi) from which x[j..hi] is a free flight: a parabola of
    curvature -G (any level and apex time) within ``tol`` of every sample. -1 when not even the
    last few samples are. Scanned back from ``hi`` in up to BALLISTIC_STEPS strides; stops at the
    first stretch that is not a flight."""
    if hi - lo < 3:
        return -1
    stride = max(1, (hi - lo) // BALLISTIC_STEPS)
    tr = t[hi]
    line = np.empty(2)
    best = -1
    j = hi - 2
    while j >= lo:
        if not _flight_line(t, x, j, hi, tr, line):
            return best
        for k in range(j, hi + 1):
            u = t[k] - tr
            if abs(x[k] + 0.5 * G * u * u - line[0] - line[1] * u) > tol:
                return best
        best = j
        j -= stride
    return best


@njit(cache=True)
def takeoff_fit(t, x, lo, j_fly, hi):
    """Where the bar leaves the push for its flight: the flight parabola is fitted on the flight's
    inner part (from half-way between ``j_fly`` and the apex region to ``hi``); before it the
    residual e = x - parabola grows as C (t_off - t)^p (the force falls to zero as the push ends);
    t_off, C and p in TAKEOFF_EXPONENTS by least squares over the samples where e is under
    TAKEOFF_FIT_M. -1.0 when there is nothing to fit."""
    tr = t[hi]
    mid = j_fly + (hi - j_fly) // 3
    line = np.empty(2)
    if hi - mid < 5 or not _flight_line(t, x, mid, hi, tr, line):
        return -1.0
    # residuals from the parabola, back from the flight to where they pass TAKEOFF_FIT_M
    first = mid
    while first > lo:
        u = t[first - 1] - tr
        if x[first - 1] - (line[0] + line[1] * u - 0.5 * G * u * u) > TAKEOFF_FIT_M:
            break
        first -= 1
    if mid - first < 5:
        return -1.0
    best_sse = np.inf
    best_t = -1.0
    t_lo = max(t[first], t[j_fly] - TAKEOFF_BACK_S)
    t_hi = t[mid]
    n_grid = 120
    for q in range(len(TAKEOFF_EXPONENTS)):
        p = TAKEOFF_EXPONENTS[q]
        for g in range(n_grid + 1):
            to = t_lo + (t_hi - t_lo) * g / n_grid
            sff = 0.0
            sfe = 0.0
            see = 0.0
            for k in range(first, mid + 1):
                u = t[k] - tr
                e = x[k] - (line[0] + line[1] * u - 0.5 * G * u * u)
                f = (to - t[k]) ** p if t[k] < to else 0.0
                sff += f * f
                sfe += f * e
                see += e * e
            sse = see - sfe * sfe / sff if sff > 0.0 else see
            if sse < best_sse:
                best_sse = sse
                best_t = to
    return best_t


@njit(cache=True)
def _descent(v, xf, prev_top, bottom, out3):
    """The descent before a rep: of the stretches of falling bar between ``prev_top`` and
    ``bottom``, the one that falls farthest (a set-up wiggle can be quicker than a slow
    eccentric, never longer); its fastest sample ``ie`` and the samples ``e0``..``e1`` around it
    where it goes faster than 5 % of that. False if none."""
    if prev_top < 0 or prev_top >= bottom:
        return False
    best_drop = 0.0
    r0 = -1
    r1 = -1
    j = prev_top
    while j <= bottom:
        if v[j] < 0.0:
            k = j
            while k + 1 <= bottom and v[k + 1] < 0.0:
                k += 1
            if xf[j] - xf[k] > best_drop:
                best_drop = xf[j] - xf[k]
                r0 = j
                r1 = k
            j = k + 1
        else:
            j += 1
    if r0 < 0:
        return False
    ie = r0
    for j in range(r0, r1 + 1):
        if v[j] < v[ie]:
            ie = j
    thr = 0.05 * v[ie]
    e0 = ie
    while e0 > prev_top and v[e0 - 1] < thr:
        e0 -= 1
    e1 = ie
    while e1 < v.shape[0] - 1 and v[e1 + 1] < thr:
        e1 += 1
    out3[0] = ie
    out3[1] = e0
    out3[2] = e1
    return True


@njit(cache=True)
def _level_at(x, tt, fs):
    """Recorded position at time ``tt`` (seconds from x[0]), linear between grid samples."""
    return _interp_idx(x, tt * fs)


@njit(cache=True)
def ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol):
    """Does a concentric phase from (t0, x0) to (t1, x1) agree with the recorded samples ``x``?

    Within ``tol`` (the encoder step and the noise the recording shows): the bar never goes
    below the start's level after the start, never descends inside the phase, never rises above
    the end's level after the end (up to ``t_stop``), and the fitted levels are the recorded ones.
    An end may lie inside a still stretch; never where the bar still moves the other way."""
    n = x.shape[0]
    j0 = max(0, int(math.ceil(t0 * fs)))
    j1 = min(n - 1, int(math.floor(t1 * fs)))
    js = min(n - 1, int(math.floor(t_stop * fs)))
    if j1 <= j0:
        return False
    if abs(_level_at(x, t0, fs) - x0) > tol or abs(_level_at(x, t1, fs) - x1) > tol:
        return False
    run_max = x[j0]
    for j in range(j0, j1 + 1):
        if x[j] < x0 - tol or run_max - x[j] > tol:
            return False
        if x[j] > run_max:
            run_max = x[j]
    for j in range(j1, js + 1):
        if x[j] > x1 + tol:
            return False
    return True


@njit(cache=True)
def final_rise_start(x, lo, top, tol):
    """First sample of the last stretch before ``top`` in which the bar never descends by more
    than ``tol``: going back from the top, where the bar was last ``tol`` above a later low."""
    mn = x[top]
    j = top
    while j > lo:
        if x[j - 1] > mn + tol:
            break
        if x[j - 1] < mn:
            mn = x[j - 1]
        j -= 1
    return j


@njit(cache=True)
def _window_below(x, ib, lo_limit, hi_limit, h):
    """Samples within ``h`` of x[ib] around ``ib``: (first, last) index, bounded by the limits."""
    right = ib
    while right < hi_limit and x[right + 1] - x[ib] <= h:
        right += 1
    left = ib
    while left > lo_limit and x[left - 1] - x[ib] <= h:
        left -= 1
    return left, right


@njit(cache=True)
def _fit_end(t, x, lo, hi, first_right, shape_passes, two_term, coef, times, exps):
    """One end of a rep: the three-piece fit of samples lo..hi-1, with exponents chosen by the data
    (and, if ``two_term``, the onset's or arrival's second term) when ``shape_passes`` > 0, else
    both exponents 2. ``exps`` receives the exponents used."""
    if shape_passes > 0:
        fit_turning_point_auto(t, x, lo, hi, first_right, coef, times, exps)
        if two_term:
            refit_two_term(t, x, lo, hi, exps[0], exps[1], first_right, coef, times,
                           AUTO_RADIUS_SHARE * (t[hi - 1] - t[lo]))
    else:
        exps[0] = 2.0
        exps[1] = 2.0
        fit_turning_point(t, x, lo, hi, 2.0, 2.0, coef, times)


@njit(cache=True)
def analyze_rep(x, fs, coeffs, n_pad, bottom, top, prev_top, fit_fraction, fit_min_m, fit_side_s,
                load_kg, shape_passes, tol_floor_m, out):
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
    # Windows anchored on the recorded extremes, not on the filter: the filter smears a sharp
    # reversal (its minimum sits above the bar's and its zero crossing tens of ms off).
    # start: samples within h of the lowest recorded point before the rise, up to fit_side_s
    # before it; the still bar at the bottom, however long, lies inside.
    # The recording's scatter (noise, vibration) about the 10 Hz filter over the rise, robustly.
    nr = top - bottom + 1
    dev = np.empty(nr)
    for j in range(nr):
        dev[j] = abs(x[bottom + j] - xf[bottom + j])
    sd_noise = 1.4826 * median_of(dev)
    near = max(tol_floor_m, EXTREME_NOISE_SD * sd_noise)
    # the bottom: the last sample within `near` of the lowest (noise picks the lowest at random
    # along a still bottom); the top: the first within `near` of the highest (a lockout wobble or
    # noise can make a later sample the highest)
    ib = bottom
    for j in range(bottom, ip + 1):
        if x[j] < x[ib]:
            ib = j
    lastb = ib
    for j in range(ib, ip + 1):
        if x[j] <= x[ib] + near:
            lastb = j
    ib = lastb
    # Corrections at the bottom (a grinder shifting the bar a few mm, then holding it) belong to
    # the pause, not to the rise: the rise starts at the last still run within `settle` of the
    # bottom, if the bar held still there.
    settle = min(SETTLE_MAX_M, SETTLE_SHARE * rom0)
    k_exit = ib
    while k_exit < ip and x[k_exit] <= x[ib] + settle:
        k_exit += 1
    n_still = int(SETTLE_STILL_S * fs)
    run_end = -1
    j = k_exit - 1
    while j > ib + n_still:
        # a still run ending at j: the samples j-n_still..j within a step of each other
        lo_v = x[j]
        hi_v = x[j]
        k = j
        while k > ib and j - k < n_still:
            k -= 1
            lo_v = min(lo_v, x[k])
            hi_v = max(hi_v, x[k])
        if hi_v - lo_v <= tol_floor_m and x[j] - x[ib] > max(3.0 * tol_floor_m, SETTLE_MIN_M):
            run_end = j
            break
        j -= 1
    if run_end > 0:
        k = run_end
        while k > ib and abs(x[k - 1] - x[run_end]) <= tol_floor_m:
            k -= 1
        ib = k
        left, right = _window_below(x, run_end, k, ip, h)
        left = k
    else:
        left, right = _window_below(x, ib, max(0, ib - side), ip, h)
    times = np.empty(2)
    exps = np.full(2, 2.0)
    _fit_end(t, x, left, right + 1, YES, shape_passes, np.bool_(TWO_TERM), coef, times, exps)
    c_on = abs(coef[2])
    p_on = exps[1]
    t0 = times[1]
    t_ecc_end = times[0]
    x0 = coef[0]
    # end: samples within h of the highest recorded point of the rise
    it = ip
    for j in range(ip, top + 1):
        if x[j] > x[it]:
            it = j
    firstt = it
    for j in range(it, ip - 1, -1):
        if x[j] >= x[it] - near:
            firstt = j
    it = firstt
    left2 = it
    while left2 > right and x[it] - x[left2 - 1] <= h:
        left2 -= 1
    right2 = it
    stop2 = min(n - 1, it + side)
    while right2 < stop2 and x[it] - x[right2 + 1] <= h:
        right2 += 1
    _fit_end(t, x, left2, right2 + 1, NO, shape_passes, np.bool_(TWO_TERM), coef, times, exps)
    c_arr = abs(coef[1])
    p_arr = exps[0]
    t1 = times[0]
    t_desc = times[1]
    x1 = coef[0]
    # What the recording shows beyond the fits: the encoder step (floor) and the noise.
    tol = max(tol_floor_m, TOL_NOISE_SD * sd_noise)
    t_stop = (n - 1) * dt
    method = 0
    # (The Beta profile starts and ends at rest: only for a rep with still bar either side.)
    if shape_passes > 0 and t1 > t0 and x1 > x0 and t0 - t_ecc_end >= SHAPE_MIN_STILL_S:
        # A model-based refinement, taken only where the model explains the rep: the whole
        # phase as one Beta-shaped velocity profile (fit_phase_lm), accepted when its residual is
        # within the recording's own noise (steps and scatter), its ends stay near the local
        # fits', and (below) the ends pass the same checks as any other.
        j0s = max(0, int(math.ceil(t0 * fs)))
        j1s = min(n - 1, int(math.floor(t1 * fs)))
        if j1s - j0s >= 8:
            jps = j0s
            for j in range(j0s, j1s + 1):
                if v[j] > v[jps]:
                    jps = j
            pa, pb = beta_from_shape((t[jps] - t0) / (t1 - t0), v[jps] / ((x1 - x0) / (t1 - t0)))
            init = np.empty(6)
            init[0] = x0
            init[1] = x1 - x0
            init[2] = t0
            init[3] = t1 - t0
            init[4] = pa
            init[5] = pb
            ph = np.empty(6)
            marg = SHAPE_HOLD_SHARE * (t1 - t0)
            l_ext = min(max(0, int(math.ceil(max(t0 - marg, t_ecc_end) * fs))), j0s)
            r_ext = min(max(min(n - 1, int(math.floor(min(t1 + marg, t_desc) * fs))), j1s + 1), n - 1)
            ms_fit = fit_phase_lm(t, x, l_ext, r_ext + 1, init, ph)
            noise2 = sd_noise * sd_noise + tol_floor_m * tol_floor_m / (TOL_STEPS_K * TOL_STEPS_K * 12.0)
            # An end may move only as far as the local fit leaves it uncertain: the time its
            # branch takes to move by the noise or half a step (a sharp reversal pins its end to
            # a few ms; a gentle onset leaves tens of ms open).
            sig = math.sqrt(noise2)
            unc0 = (sig / c_on) ** (1.0 / p_on) if c_on > 0.0 else 1.0
            unc1 = (sig / c_arr) ** (1.0 / p_arr) if c_arr > 0.0 else 1.0
            shift0 = min(SHAPE_AGREE_K * unc0, SHAPE_AGREE_SHARE * (t1 - t0))
            shift1 = min(SHAPE_AGREE_K * unc1, SHAPE_AGREE_SHARE * (t1 - t0))
            if ms_fit <= SHAPE_MAX_NOISE_RATIO ** 2 * noise2 and abs(ph[2] - t0) <= shift0 \
                    and abs(ph[2] + ph[3] - t1) <= shift1 \
                    and ends_consistent(x, fs, ph[2], ph[2] + ph[3], ph[0], ph[0] + ph[1], t_stop, tol):
                x0 = ph[0]
                x1 = ph[0] + ph[1]
                t0 = ph[2]
                t1 = ph[2] + ph[3]
                method = 4
    if method == 0 and not (t1 > t0 and ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol)):
        # The next method: the same fits on the last stretch before the top in which the bar
        # never descends (corrections before a grind, a false start), ends by the recorded extremes.
        method = 1
        js = final_rise_start(x, max(0, bottom - side), it, tol)
        ib2 = js
        for j in range(js, it + 1):
            if x[j] < x[ib2]:
                ib2 = j
        l3, r3 = _window_below(x, ib2, js, it, h)
        if r3 - l3 >= 4:
            _fit_end(t, x, l3, r3 + 1, YES, shape_passes, NO, coef, times, exps)
            t0 = times[1]
            x0 = coef[0]
        if not (t1 > t0 and ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol)):
            # model-free: the last sample at the bottom of the final rise, the first at its top
            method = 2
            k0 = it
            for j in range(js, it + 1):
                if x[j] <= x[ib2] + 0.5 * tol:
                    k0 = j
            k1 = it
            while k1 > k0 and x[k1 - 1] >= x[it] - 0.5 * tol:
                k1 -= 1
            t0 = t[k0]
            x0 = x[k0]
            t1 = t[k1]
            x1 = x[k1]
            if not (t1 > t0 and ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol)):
                method = 3
    if not (t1 > t0):
        return
    desc = np.zeros(3, dtype=np.int64)
    has_descent = _descent(v, xf, prev_top, bottom, desc)
    # the descent's own arrival exponent for the left branch of the bottom fit (touch-and-go
    # reps turn from one shape into another); 2 when the rep has no descent before it
    p_ecc_on = 2.0
    p_ecc = 2.0
    if has_descent and desc[2] > desc[1] + 4:
        ie, e0, e1 = desc[0], desc[1], desc[2]
        d_ecc = xf[e0] - xf[e1]
        if d_ecc > 0.0:
            # the 5 % ends trim the phase a little; close enough for its shape
            p_ecc_on, p_ecc = beta_from_shape((t[ie] - t[e0]) / (t[e1] - t[e0]), -v[ie] * (t[e1] - t[e0]) / d_ecc)
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
    if tp < t1:
        # A jump: the filter spreads the take-off (acceleration falling to exactly -g and staying
        # there) over tens of ms, so the filtered crossing lands inside the flight. When the
        # recorded bar flies (a parabola of curvature -g for MIN_FLIGHT_S before the end and on past
        # it: a lift's bar is held at its top), the take-off is fitted where it leaves that parabola.
        j_past = j1 + int(FLIGHT_PAST_APEX_S * fs) + 1
        if j_past < n:
            j_fly = ballistic_from(t, x, jp, j_past, tol)
            fall = x1 - x[j_past]  # a flight falls on past its apex; a held bar does not
            if j_fly >= 0 and t[j_fly] < tp and t1 - t[j_fly] >= MIN_FLIGHT_S and \
                    fall >= 0.25 * G * (t[j_past] - t1) ** 2 and abs(curvature(t, x, j_fly, j_past) + G) <= FLIGHT_G_TOL:
                t_off = takeoff_fit(t, x, j0, j_fly, j_past)
                if t_off > t[jp] and t_off < tp:
                    tp = t_off
    if tp >= t1:
        mpv = mv
    else:
        mpv = (_interp_idx(xf, tp * fs) - x0) / (tp - t0)
    out[R_T0] = t0
    out[R_T1] = t1
    out[R_METHOD] = method
    out[R_TOL] = tol
    out[R_MV] = mv
    out[R_MPV] = mpv
    out[R_PV] = pv
    out[R_ROM] = rom
    out[R_TTPV] = t[jp] - t0
    # preceding eccentric: from where the descent starts to where it stops
    if has_descent:
        ie, e0, e1 = desc[0], desc[1], desc[2]
        te0 = t[e0]
        # The descent starts where a fit of the top hold and the descent's onset puts it
        # (5 % of its peak speed comes late on a gradual start).
        top_level = xf[e0]
        for j in range(max(prev_top - side, 0), e0 + 1):
            if xf[j] > top_level:
                top_level = xf[j]
        lo4 = e0
        while lo4 > 0 and lo4 > e0 - side and top_level - xf[lo4] < h:
            lo4 -= 1
        hi4 = e0
        while hi4 < ie and top_level - xf[hi4] < h:
            hi4 += 1
        if hi4 - lo4 >= 8:
            _fit_then_refit(t, x, lo4, hi4 + 1, 2.0, p_ecc_on, coef, times)
            if times[1] < t[ie]:
                te0 = times[1]
        # The descent ends where the bottom fit's first branch ends (the pause follows), if
        # that fit's window reaches back onto the descent. A pause longer than the window
        # hides the descent from it: fit the descent's own end, found where its speed fell
        # to 5 % (a threshold alone ends a gradual arrival ~0.1-0.2 s early).
        if xf[left] - xf[a0] >= h:
            te1 = min(max(t_ecc_end, te0), t0)
        else:
            level = xf[a0]
            lo3 = e1
            while lo3 > e0 and xf[lo3] - level < h:
                lo3 -= 1
            hi3 = min(e1 + side, a0)
            if hi3 - lo3 >= 8:
                _fit_then_refit(t, x, lo3, hi3 + 1, p_ecc, 2.0, coef, times)
                te1 = min(max(times[0], te0), t0)
            else:
                te1 = min(t[e1], t0)
        if te1 > te0:
            out[R_ECC_DUR] = te1 - te0
            out[R_ECC_MV] = (_interp_idx(xf, te0 * fs) - _interp_idx(xf, te1 * fs)) / (te1 - te0)
            out[R_PAUSE] = max(0.0, t0 - te1)
    # Force and power with a load: F = m (a + g), P = F v. The concentric phase starts and ends
    # at rest, so over it the mean force is exactly the weight (impulse-momentum) and the mean
    # power exactly m g MV (work-energy). Averaging the twice-differentiated signal only added
    # its noise (mean force off by 4.7 % at p95 on the motion model). Peaks come from the
    # filtered signal.
    if load_kg > 0.0 and j1 > j0:
        fpk = -1e300
        ppk = -1e300
        for j in range(j0, j1 + 1):
            f = load_kg * (acc[j] + G)
            p = f * v[j]
            if f > fpk:
                fpk = f
            if p > ppk:
                ppk = p
        out[R_F_MEAN] = load_kg * G
        out[R_F_PEAK] = fpk
        out[R_P_MEAN] = load_kg * G * mv
        out[R_P_PEAK] = ppk
    out[R_OK] = 1.0
