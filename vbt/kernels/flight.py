"""A jump's flight: the ballistic stretch before a rep's end, its curvature and the take-off."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .common import G
from .turning import power

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
def _takeoff_sse(ts, ys, base, p, to, coef3):
    """Residual sum of squares of the push and flight together: ys (the samples' residuals from a
    first flight parabola) ~ a + b u + C (to - t)+^p by least squares (a, b: the flight's level and
    speed against that parabola's), over the samples at times ``ts``; ``base`` holds the sums that
    do not depend on (p, to): n, sum u, sum u^2, sum y, sum u y, sum y^2, then each sample's u (its
    time, centred on their mean). ``coef3`` receives (a, b, C)."""
    sf = 0.0
    sfu = 0.0
    sff = 0.0
    sfy = 0.0
    for k in range(ts.shape[0]):
        if ts[k] >= to:
            break
        f = power(to - ts[k], p)
        u = base[6 + k]
        sf += f
        sfu += f * u
        sff += f * f
        sfy += f * ys[k]
    s1, su, suu, sy, suy, syy = base[0], base[1], base[2], base[3], base[4], base[5]
    det2 = s1 * suu - su * su
    if det2 <= 0.0:
        return np.inf
    if sff <= 0.0:
        b = (s1 * suy - su * sy) / det2
        a = (sy - b * su) / s1
        coef3[0] = a
        coef3[1] = b
        coef3[2] = 0.0
        return max(syy - a * sy - b * suy, 0.0)
    # 3 x 3 normal equations by Cramer's rule (symmetric)
    m00, m01, m02, m11, m12, m22 = s1, su, sf, suu, sfu, sff
    c00 = m11 * m22 - m12 * m12
    c01 = m02 * m12 - m01 * m22
    c02 = m01 * m12 - m02 * m11
    det = m00 * c00 + m01 * c01 + m02 * c02
    if abs(det) <= 1e-300:
        return np.inf
    c11 = m00 * m22 - m02 * m02
    c12 = m01 * m02 - m00 * m12
    c22 = m00 * m11 - m01 * m01
    a = (c00 * sy + c01 * suy + c02 * sfy) / det
    b = (c01 * sy + c11 * suy + c12 * sfy) / det
    c = (c02 * sy + c12 * suy + c22 * sfy) / det
    coef3[0] = a
    coef3[1] = b
    coef3[2] = c
    return max(syy - a * sy - b * suy - c * sfy, 0.0)


@njit(cache=True)
def _takeoff_at(ts, ys, base, t_lo, t_hi, n_grid, p, refine, out2):
    """The best take-off time for exponent ``p``: an even grid of n_grid steps over t_lo..t_hi,
    then (if ``refine``) golden section within a grid step of its best point. out2 = (sse, t_off)."""
    coef3 = np.empty(3)
    h = (t_hi - t_lo) / n_grid
    best_sse = np.inf
    best_t = -1.0
    for g in range(n_grid + 1):
        to = t_lo + h * g
        sse = _takeoff_sse(ts, ys, base, p, to, coef3)
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
    fc = _takeoff_sse(ts, ys, base, p, c, coef3)
    fd = _takeoff_sse(ts, ys, base, p, d, coef3)
    while b - a > TAKEOFF_T_TOL_S:
        if fc < fd:
            b = d
            d = c
            fd = fc
            c = b - gr * (b - a)
            fc = _takeoff_sse(ts, ys, base, p, c, coef3)
        else:
            a = c
            c = d
            fc = fd
            d = a + gr * (b - a)
            fd = _takeoff_sse(ts, ys, base, p, d, coef3)
    if min(fc, fd) < best_sse:
        best_sse = min(fc, fd)
        best_t = c if fc < fd else d
    out2[0] = best_sse
    out2[1] = best_t


@njit(cache=True)
def takeoff_fit(t, x, lo, j_fly, hi, out2):
    """Where the bar leaves the push for its flight, and its height there. A first flight parabola,
    fitted on the flight's inner part (from a third of the way between ``j_fly`` and ``hi``), says
    where the push lies within TAKEOFF_FIT_M of it; from there to ``hi`` the samples are fitted as
    one curve: the flight parabola (curvature -G; its level and speed free) plus C (t_off - t)^p
    before t_off (the force falls to zero as the push ends), by least squares (p the best of
    TAKEOFF_EXPONENTS, refined between its neighbours). out2 = (t_off, the parabola's height at
    t_off); False when there is nothing to fit."""
    tr = t[hi]
    mid = j_fly + (hi - j_fly) // 3
    line = np.empty(2)
    if hi - mid < 5 or not _flight_line(t, x, mid, hi, tr, line):
        return False
    # residuals from the parabola, back from the flight to where they pass TAKEOFF_FIT_M
    first = mid
    while first > lo:
        u = t[first - 1] - tr
        if x[first - 1] - (line[0] + line[1] * u - 0.5 * G * u * u) > TAKEOFF_FIT_M:
            break
        first -= 1
    if mid - first < 5:
        return False
    t_lo = max(t[first], t[j_fly] - TAKEOFF_BACK_S)
    t_hi = t[mid]
    # the push's end and the whole flight in one fit: the parabola's level and speed are fitted
    # with the push's term, on every sample from `first` to `hi`
    # (about the first parabola, with u centred: small sums, far from cancelling)
    m = hi + 1 - first
    ts = t[first:hi + 1]
    ys = np.empty(m)
    base = np.zeros(6 + m)
    u_mean = 0.0
    for k in range(m):
        u_mean += ts[k] - tr
    u_mean /= m
    for k in range(m):
        u = ts[k] - tr
        y = x[first + k] - (line[0] + line[1] * u - 0.5 * G * u * u)
        u -= u_mean
        ys[k] = y
        base[6 + k] = u
        base[0] += 1.0
        base[1] += u
        base[2] += u * u
        base[3] += y
        base[4] += u * y
        base[5] += y * y
    r = np.empty(2)
    best_sse = np.inf
    best_t = -1.0
    best_q = 0
    ne = len(TAKEOFF_EXPONENTS)
    t_of = np.empty(ne)
    for q in range(ne):
        _takeoff_at(ts, ys, base, t_lo, t_hi, TAKEOFF_GRID, TAKEOFF_EXPONENTS[q], False, r)
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
    _takeoff_at(ts, ys, base, n_lo, n_hi, n_near, c, True, r)
    fc = r[0]
    tc = r[1]
    _takeoff_at(ts, ys, base, n_lo, n_hi, n_near, d, True, r)
    fd = r[0]
    td = r[1]
    while b - a > TAKEOFF_P_TOL:
        if fc < fd:
            b = d
            d = c
            fd = fc
            td = tc
            c = b - gr * (b - a)
            _takeoff_at(ts, ys, base, n_lo, n_hi, n_near, c, True, r)
            fc = r[0]
            tc = r[1]
        else:
            a = c
            c = d
            fc = fd
            tc = td
            d = a + gr * (b - a)
            _takeoff_at(ts, ys, base, n_lo, n_hi, n_near, d, True, r)
            fd = r[0]
            td = r[1]
    best_p = TAKEOFF_EXPONENTS[best_q]
    if fc < best_sse:
        best_sse = fc
        best_t = tc
        best_p = c
    if fd < best_sse:
        best_t = td
        best_p = d
    # the bar's height there: the fitted flight's (the push's term is zero at the take-off)
    coef3 = np.empty(3)
    _takeoff_sse(ts, ys, base, best_p, best_t, coef3)
    u = best_t - tr
    out2[0] = best_t
    out2[1] = line[0] + line[1] * u - 0.5 * G * u * u + coef3[0] + coef3[1] * (u - u_mean)
    return True
