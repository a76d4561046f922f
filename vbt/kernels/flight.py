"""A jump's flight: the ballistic stretch before a rep's end, its curvature and the take-off."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .common import G

MIN_FLIGHT_S = 0.08  # a ballistic stretch this long before the end is a flight (a jump's is 0.1 s or more)
FLIGHT_PAST_APEX_S = 0.04  # ... that goes on this long past the apex (a lift's bar stops there)
FLIGHT_G_TOL = 1.0  # ... whose own curvature (a free parabola) is -g within this (m/s^2): a wobble's is not
APEX_FIT_SHARE = 1.0 / 3.0  # a flight's apex: fitted on the flight without its first third (the push's end)
APEX_PAST_TOLS = 8.0  # ... followed past the apex until a parabola falls this many tolerances (a held bar fails)
APEX_MAX_MOVE_S = 0.03  # ... and taken only this close to the local fit's end
BALLISTIC_STEPS = 150  # the flight's start is searched at this many points at most
TAKEOFF_EXPONENTS = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5)  # the push's last ms: x leaves the flight as
# (t_off - t)^p; the best of these is then refined between its neighbours (golden section)
TAKEOFF_P_TOL = 0.02  # ... down to this
TAKEOFF_GRID = 60  # the take-off time: first on a grid of this many steps
TAKEOFF_T_TOL_S = 2e-5  # ... then by golden section down to this
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
def flight_apex(t, x, lo, t_end, tol, out2):
    """A jump's apex from its whole flight, when the recorded bar flies through the end ``t_end``
    that the local fits put at the top: from MIN_FLIGHT_S or more before the apex to a while past
    it (FLIGHT_PAST_APEX_S, longer where ``tol`` is wide, so that a bar held at its top leaves the
    parabola by APEX_PAST_TOLS tolerances; no further than the samples go), the samples lie within
    ``tol`` of a parabola of curvature -G (``ballistic_from``), and their own curvature is -G within
    FLIGHT_G_TOL. The apex is the vertex of the curvature -G parabola fitted by least squares to
    that flight without its first third (the end of the push), found twice: the second time with
    the window placed on the first apex. Two parameters over a hundred ms or more of flight, where
    a local power-law fit of the top sees tens of ms: a cable's vibration (0.6 mm at 20-60 Hz)
    moved that fit's apex by up to 15 ms, and the flight's by under 0.2 ms. out2 = (t_apex,
    x_apex); False when the bar does not fly through the end, or the apex lies more than
    APEX_MAX_MOVE_S from it."""
    n = x.shape[0]
    if n < 2:
        return False
    fs = 1.0 / (t[1] - t[0])
    past = max(FLIGHT_PAST_APEX_S, math.sqrt(APEX_PAST_TOLS * tol / G))
    line = np.empty(2)
    t_ref = t_end
    for _ in range(2):
        j1 = int(math.floor(t_ref * fs))
        j_past = min(j1 + int(past * fs) + 1, n - 1)  # (a live window ends where its rep was decided)
        if j1 <= lo or t[j_past] - t_ref < FLIGHT_PAST_APEX_S:
            return False
        j_fly = ballistic_from(t, x, lo, j_past, tol)
        if j_fly < 0 or t_ref - t[j_fly] < MIN_FLIGHT_S:
            return False
        if not abs(curvature(t, x, j_fly, j_past) + G) <= FLIGHT_G_TOL:
            return False
        mid = j_fly + int(APEX_FIT_SHARE * (j_past - j_fly))
        tr = t[j_past]
        if j_past - mid < 5 or not _flight_line(t, x, mid, j_past, tr, line):
            return False
        t_ref = tr + line[1] / G
        # the fitted bar falls past its apex inside the flight, and the apex is near the local fit's
        if not (abs(t_ref - t_end) <= APEX_MAX_MOVE_S and tr - t_ref >= 0.5 * FLIGHT_PAST_APEX_S):
            return False
    u = line[1] / G
    out2[0] = t_ref
    out2[1] = line[0] + 0.5 * line[1] * u
    return True


@njit(cache=True)
def _takeoff_sse(ts, es, see, p, to):
    """Residual sum of squares of the residuals ``es`` at times ``ts`` (their sum of squares
    ``see``) about C (to - t)^p, C by least squares."""
    sff = 0.0
    sfe = 0.0
    for k in range(ts.shape[0]):
        if ts[k] < to:
            f = (to - ts[k]) ** p
            sff += f * f
            sfe += f * es[k]
    return see - sfe * sfe / sff if sff > 0.0 else see


@njit(cache=True)
def _takeoff_at(ts, es, see, t_lo, t_hi, n_grid, p, refine, out2):
    """The best take-off time for exponent ``p``: an even grid of n_grid steps over t_lo..t_hi,
    then (if ``refine``) golden section within a grid step of its best point. out2 = (sse, t_off)."""
    h = (t_hi - t_lo) / n_grid
    best_sse = np.inf
    best_t = -1.0
    for g in range(n_grid + 1):
        to = t_lo + h * g
        sse = _takeoff_sse(ts, es, see, p, to)
        if sse < best_sse:
            best_sse = sse
            best_t = to
    if not refine:
        out2[0] = best_sse
        out2[1] = best_t
        return
    gr = 0.5 * (math.sqrt(5.0) - 1.0)
    a = max(t_lo, best_t - h)
    b = min(t_hi, best_t + h)
    c = b - gr * (b - a)
    d = a + gr * (b - a)
    fc = _takeoff_sse(ts, es, see, p, c)
    fd = _takeoff_sse(ts, es, see, p, d)
    while b - a > TAKEOFF_T_TOL_S:
        if fc < fd:
            b = d
            d = c
            fd = fc
            c = b - gr * (b - a)
            fc = _takeoff_sse(ts, es, see, p, c)
        else:
            a = c
            c = d
            fc = fd
            d = a + gr * (b - a)
            fd = _takeoff_sse(ts, es, see, p, d)
    if min(fc, fd) < best_sse:
        best_sse = min(fc, fd)
        best_t = c if fc < fd else d
    out2[0] = best_sse
    out2[1] = best_t


@njit(cache=True)
def takeoff_fit(t, x, lo, j_fly, hi):
    """Where the bar leaves the push for its flight: the flight parabola is fitted on the flight's
    inner part (from half-way between ``j_fly`` and the apex region to ``hi``); before it the
    residual e = x - parabola grows as C (t_off - t)^p (the force falls to zero as the push ends);
    t_off, C and p by least squares over the samples where e is under TAKEOFF_FIT_M (p the best of
    TAKEOFF_EXPONENTS, refined between its neighbours). -1.0 when there is nothing to fit."""
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
    t_lo = max(t[first], t[j_fly] - TAKEOFF_BACK_S)
    t_hi = t[mid]
    ts = t[first:mid + 1]
    es = np.empty(mid + 1 - first)
    see = 0.0
    for k in range(first, mid + 1):
        u = t[k] - tr
        es[k - first] = x[k] - (line[0] + line[1] * u - 0.5 * G * u * u)
        see += es[k - first] * es[k - first]
    r = np.empty(2)
    best_sse = np.inf
    best_t = -1.0
    best_q = 0
    ne = len(TAKEOFF_EXPONENTS)
    t_of = np.empty(ne)
    for q in range(ne):
        _takeoff_at(ts, es, see, t_lo, t_hi, TAKEOFF_GRID, TAKEOFF_EXPONENTS[q], False, r)
        t_of[q] = r[1]
        if r[0] < best_sse:
            best_sse = r[0]
            best_t = r[1]
            best_q = q
    # golden section on p between the best exponent's neighbours; the take-off moves with p, so for
    # each p it is searched between the neighbours' own take-offs (and a grid step beyond them)
    h = (t_hi - t_lo) / TAKEOFF_GRID
    q0 = max(0, best_q - 1)
    q1 = min(ne - 1, best_q + 1)
    n_lo = t_of[q0]
    n_hi = t_of[q0]
    for q in range(q0, q1 + 1):
        n_lo = min(n_lo, t_of[q])
        n_hi = max(n_hi, t_of[q])
    n_lo = max(t_lo, n_lo - h)
    n_hi = min(t_hi, n_hi + h)
    n_near = max(2, int(math.ceil((n_hi - n_lo) / h)))
    a = TAKEOFF_EXPONENTS[q0]
    b = TAKEOFF_EXPONENTS[q1]
    gr = 0.5 * (math.sqrt(5.0) - 1.0)
    c = b - gr * (b - a)
    d = a + gr * (b - a)
    _takeoff_at(ts, es, see, n_lo, n_hi, n_near, c, True, r)
    fc = r[0]
    tc = r[1]
    _takeoff_at(ts, es, see, n_lo, n_hi, n_near, d, True, r)
    fd = r[0]
    td = r[1]
    while b - a > TAKEOFF_P_TOL:
        if fc < fd:
            b = d
            d = c
            fd = fc
            td = tc
            c = b - gr * (b - a)
            _takeoff_at(ts, es, see, n_lo, n_hi, n_near, c, True, r)
            fc = r[0]
            tc = r[1]
        else:
            a = c
            c = d
            fc = fd
            tc = td
            d = a + gr * (b - a)
            _takeoff_at(ts, es, see, n_lo, n_hi, n_near, d, True, r)
            fd = r[0]
            td = r[1]
    if fc < best_sse:
        best_sse = fc
        best_t = tc
    if fd < best_sse:
        best_t = td
    return best_t
