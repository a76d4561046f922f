"""Slow, obviously-correct twins of the numba kernels (compared in tests/test_kernels.py)."""

from __future__ import annotations

import math

import numpy as np


def resample_pchip(t, x, dt):
    """Grid values origin + k*dt of a monotone cubic through (t, x), interior intervals only.

    Returns (k_indices, values) for grid points that fall in intervals with both neighbours
    (the kernel's end slopes differ from any textbook choice, so the ends are not compared)."""
    t = np.asarray(t, float)
    x = np.asarray(x, float)
    ks, vals = [], []
    for i in range(1, len(t) - 2):  # interval [t[i], t[i+1]]
        slopes = []
        for j in (i, i + 1):
            h1, h2 = t[j] - t[j - 1], t[j + 1] - t[j]
            d1, d2 = (x[j] - x[j - 1]) / h1, (x[j + 1] - x[j]) / h2
            if d1 * d2 <= 0:
                slopes.append(0.0)
            else:
                w1, w2 = 2 * h2 + h1, h2 + 2 * h1
                slopes.append((w1 + w2) / (w1 / d1 + w2 / d2))
        k = math.floor((t[i] - t[0]) / dt) + 1
        while t[0] + k * dt <= t[i + 1]:
            g = t[0] + k * dt
            if g > t[i]:
                h = t[i + 1] - t[i]
                s = (g - t[i]) / h
                h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
                h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
                ks.append(k)
                vals.append(h00 * x[i] + h10 * h * slopes[0] + h01 * x[i + 1] + h11 * h * slopes[1])
            k += 1
    return np.array(ks, dtype=int), np.array(vals)


def butter2(cutoff_hz, fs_hz):
    """2nd-order Butterworth low-pass by the textbook bilinear transform of 1/(s^2 + sqrt2 s + 1)."""
    wc = 2 * fs_hz * math.tan(math.pi * cutoff_hz / fs_hz)  # pre-warped analogue cut-off
    c = 2 * fs_hz / wc
    a0 = c * c + math.sqrt(2) * c + 1
    b = np.array([1.0, 2.0, 1.0]) / a0
    a = np.array([1.0, (2 - 2 * c * c) / a0, (c * c - math.sqrt(2) * c + 1) / a0])
    return b, a


def lfilter_steady(b, a, x):
    """Direct-form difference equation, started as if x[0] had always been the input."""
    y = np.empty_like(x)
    x_hist = [x[0], x[0]]
    y_hist = [x[0], x[0]]  # unit DC gain: the steady output equals the input
    for n in range(len(x)):
        yn = b[0] * x[n] + b[1] * x_hist[0] + b[2] * x_hist[1] - a[1] * y_hist[0] - a[2] * y_hist[1]
        x_hist = [x[n], x_hist[0]]
        y_hist = [yn, y_hist[0]]
        y[n] = yn
    return y


def filtfilt_constant_pad(b, a, x, n_pad):
    padded = np.concatenate([np.full(n_pad, x[0]), x, np.full(n_pad, x[-1])])
    fwd = lfilter_steady(b, a, padded)
    back = lfilter_steady(b, a, fwd[::-1])[::-1]
    return back[n_pad:n_pad + len(x)]


def least_squares(columns, y):
    """Ordinary least squares of ``y`` on the given columns: (residual sum of squares, coefficients)."""
    A = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(np.sum((y - A @ coef) ** 2)), coef


def least_squares_signed(columns, y, signed, sgn=None):
    """Least squares with the coefficients of the columns numbered in ``signed`` all of sign ``sgn``
    or zero (``sgn`` None: all of one sign, either), by trying every subset of them held at zero:
    (residual sum of squares, coefficients)."""
    import itertools

    best = (np.inf, None)
    for k in range(len(signed) + 1):
        for held in itertools.combinations(signed, k):
            free = [i for i in range(len(columns)) if i not in held]
            sse, c = least_squares([columns[i] for i in free], y)
            coef = np.zeros(len(columns))
            coef[free] = c
            signs = [np.sign(coef[i]) for i in signed if coef[i] != 0.0]
            ok = all(s == sgn for s in signs) if sgn is not None else len(set(signs)) <= 1
            if ok and sse < best[0]:
                best = (sse, coef)
    return best


def level_fit_bounded(columns, y, w, lev_lo, lev_hi):
    """Weighted least squares of ``y`` on [1, *columns] with the level (the constant's coefficient)
    within [lev_lo, lev_hi] and the first column's coefficient >= 0, by trying the level free and
    at each limit and that coefficient free and at zero: (weighted residual SS, coefficients)."""
    sw = np.sqrt(w)
    best = (np.inf, None)
    for lev in (None, lev_lo, lev_hi):
        for zero_first in (False, True):
            cols = [np.asarray(c, float) for c in columns]
            names = list(range(1, len(cols) + 1))
            if zero_first:
                cols, names = cols[1:], names[1:]
            target = y - (lev if lev is not None else 0.0)
            design = ([] if lev is not None else [np.ones_like(y)]) + cols
            if not design:
                c = np.empty(0)
            else:
                c, *_ = np.linalg.lstsq(np.stack(design, 1) * sw[:, None], target * sw, rcond=None)
            coef = np.zeros(len(columns) + 1)
            if lev is None:
                coef[0], rest = c[0], c[1:]
            else:
                coef[0], rest = lev, c
            coef[names] = rest
            if coef[0] < lev_lo - 1e-12 or coef[0] > lev_hi + 1e-12 or coef[1] < 0.0:
                continue
            fit = coef[0] + sum(coef[i + 1] * columns[i] for i in range(len(columns)))
            sse = float(np.sum(w * (y - fit) ** 2))
            if sse < best[0]:
                best = (sse, coef)
    return best


def crossings(t, x, low, step, count):
    """The first times a record reaches each count boundary above the reading ``low`` (low + step/2,
    low + 3 step/2, ...), by linear interpolation between the samples either side: [(time, level)]."""
    out = []
    for k in range(count):
        level = low + (k + 0.5) * step
        above = np.nonzero(x[1:] >= level)[0]
        if not above.size:
            break
        j = int(above[0]) + 1
        f = (level - x[j - 1]) / (x[j] - x[j - 1])
        out.append((t[j - 1] + f * (t[j] - t[j - 1]), level))
    return out


def ramp_rise(u, tau):
    """Rise from rest under a force that builds up linearly for ``tau`` and then holds, per unit
    final acceleration: 0 before the onset, u^3/(6 tau), then u^2/2 - tau u/2 + tau^2/6."""
    return np.where(u <= 0, 0.0, np.where(u < tau, u**3 / (6 * tau), u * u / 2 - tau * u / 2 + tau * tau / 6))


def fit_turning_point_brute(t, x, p_left, p_right, step):
    """Least squares of x ~ c0 + cL (te-t)+^pL + cR (t-t0)+^pR over a fine (te <= t0) grid."""
    best = (np.inf, None, None)
    grid = np.arange(t[0], t[-1] + step / 2, step)
    for i, te in enumerate(grid):
        ul = np.where(t < te, (te - t).clip(min=0) ** p_left, 0.0)
        for t0 in grid[i:]:
            ur = np.where(t > t0, (t - t0).clip(min=0) ** p_right, 0.0)
            branches = [c for c in (ul, ur) if np.any(c)]  # both on one side of the level
            sse, _ = least_squares_signed([np.ones_like(t)] + branches, x, list(range(1, len(branches) + 1)))
            if sse < best[0] - 1e-15:
                best = (sse, te, t0)
    return best


def fit_turning_point_exponents_brute(t, x, exponents, step):
    """:func:`fit_turning_point_brute` for every pair of branch exponents from ``exponents``: the
    exhaustive answer that ``fit_turning_point_auto`` (which refits only near its first fit, for the
    exponents that fit best there) should reach. Returns (sse, te, t0, p_left, p_right)."""
    best = (np.inf, None, None, None, None)
    for pl in exponents:
        for pr in exponents:
            sse, te, t0 = fit_turning_point_brute(t, x, pl, pr, step)
            if sse < best[0]:
                best = (sse, te, t0, pl, pr)
    return best


def refit_two_term_brute(t, x, te, t0, pl, pr, right, radius, step, one_sse, penalty, sgn=1.0):
    """The two-term refit written plainly: the branch named by ``right`` gets a second term
    u^(p+1); its end is moved over a grid within ``radius`` (the other end held, the two never
    crossing), each candidate solved by least squares; the best is taken only if it lowers the
    one-term residual ``one_sse`` by more than the AIC penalty. Both branches' leading
    coefficients keep the sign ``sgn`` (the one-term fit's) or are zero. Returns (taken, moved
    end, sse)."""

    def sse_at(te_, t0_):
        dl = (te_ - t).clip(min=0)
        dr = (t - t0_).clip(min=0)
        ul = np.where(dl > 0, dl**pl, 0.0)
        ur = np.where(dr > 0, dr**pr, 0.0)
        extra = ur * dr if right else ul * dl
        return least_squares_signed([np.ones_like(t), ul, ur, extra], x, [1, 2], sgn)[0]

    lo, hi = (max(t0 - radius, te), t0 + radius) if right else (te - radius, min(te + radius, t0))
    best = (np.inf, None)
    for c in np.arange(lo, hi + step / 2, step):
        s = sse_at(te, c) if right else sse_at(c, t0)
        if s < best[0]:
            best = (s, c)
    taken = best[0] < one_sse * np.exp(-2.0 * penalty / t.size)
    return taken, best[1], best[0]


def ramp_onset_brute(t, x, t_still, t0_pow, p_on, taus, back_s, step, penalty):
    """The ramp onset fit written plainly: for each build-up time and each onset on a grid from
    ``back_s`` before the power law's onset to 10 ms after, least squares of x ~ c0 + J R(t - t0)
    over the samples from ``t_still`` on; the best onset if it beats the power law's best residual
    on the same grid by more than ``penalty`` parameters' worth (AIC), else ``t0_pow``."""
    keep = t >= t_still
    tt, xx = t[keep], x[keep]

    def lsq(col):
        sse, coef = least_squares([np.ones_like(tt), col], xx)
        return sse, coef[1]

    grid = np.arange(max(t_still, t0_pow - back_s), t0_pow + 0.01 + step / 2, step)
    base = min(lsq(np.where(tt > c, (tt - c).clip(min=0) ** p_on, 0.0))[0] for c in [t0_pow, *grid])
    best = (np.inf, t0_pow)
    for tau in taus:
        for t0 in grid:
            sse, gain = lsq(ramp_rise(tt - t0, tau))
            if gain > 0 and sse < best[0]:
                best = (sse, t0)
    return best[1] if best[0] < base * np.exp(-2.0 * penalty / tt.size) else t0_pow


def _risen(x, i, look_back, m):
    """The rise over the look-back: the level now (a least-squares line through the last m samples,
    at the newest) less the mean of the m centred on the sample a look-back ago (summed in the
    kernel's order); single samples when the look-back is under 2 m or the older run would start
    before the recording."""
    if i < look_back:
        return 0.0
    if look_back < 2 * m or i < look_back + m // 2:
        return x[i] - x[i - look_back]
    now = before = 0.0
    for k in range(m):
        now += x[i - k]
        before += x[i - look_back - m // 2 + k]
    now /= m
    kc = 0.5 * (m - 1)
    sxy = sxx = 0.0
    for k in range(m):
        sxy += (k - kc) * (x[i - k] - now)
        sxx += (k - kc) * (k - kc)
    return now - kc * sxy / sxx - before / m


def detect_turning_points(x, hysteresis, min_rom, band, n_still, still_share=0.0, n_hold=0, slow_per_sample=0.0,
                          n_reopen=0, still_mean_share=0.25):
    """Rep candidates ("rep" or "revise", bottom, top, confirm) of a whole grid series, written as
    plainly as possible: walk the samples, remember the lowest point since the last top and the
    highest since the last bottom, and close a rise when the bar drops back or has risen no more than
    ``band`` over the last ``n_still`` samples, read both from two single samples and from the level now
    (a line through the last ``still_mean_share`` of them) against the mean centred that long before
    (``still_share`` of the rise's duration when longer;
    ``n_hold`` while the rise is still more than a tenth of the last rep's range below the last top,
    or, for a first rise, while it has risen slower than ``slow_per_sample`` per sample since it
    became a rise). A first rise closed that way and then, within ``n_reopen`` samples, risen on by a
    quarter of its rise (at least twice the hysteresis) is open again, and its next close is a
    "revise"."""
    reps = []
    reopened = False
    emit_val = emit_i = None
    prev_top = None
    direction = None
    lo_val, lo_i = x[0], 0
    hi_val, hi_i = x[0], 0
    bottom_val = bottom_i = up_i = None
    emitted = False
    for i, xi in enumerate(x):
        look_back = int(max(n_still, still_share * (i - up_i))) if direction == "up" else int(n_still)
        if direction == "up":
            if prev_top is not None:
                stalled = hi_val < prev_top - max(hysteresis, 0.1 * (prev_top - bottom_val))
            else:  # a first rise: only a slow one (a grind) may hold mid-way
                stalled = hi_val - bottom_val - hysteresis < slow_per_sample * (i - up_i)
            if stalled:
                look_back = int(max(look_back, n_hold))
        before = x[i - look_back] if i >= look_back else xi
        m = max(1, int(still_mean_share * n_still))
        if direction is None:
            if xi < lo_val:
                lo_val, lo_i = xi, i
            if xi > hi_val:
                hi_val, hi_i = xi, i
            if xi > lo_val + hysteresis:
                direction, bottom_val, bottom_i = "up", lo_val, lo_i
                hi_val, hi_i, up_i, emitted = xi, i, i, False
            elif xi < hi_val - hysteresis:
                direction, lo_val, lo_i = "down", xi, i
                prev_top = hi_val
        elif direction == "down":
            if xi < lo_val:
                lo_val, lo_i = xi, i
            elif xi > lo_val + hysteresis:
                direction, bottom_val, bottom_i = "up", lo_val, lo_i
                hi_val, hi_i, up_i, emitted = xi, i, i, False
        else:
            if xi > hi_val:
                hi_val, hi_i = xi, i
            if emitted and prev_top is None and i - emit_i <= n_reopen and \
                    xi - emit_val > max(2 * hysteresis, 0.25 * (emit_val - bottom_val)):
                emitted, reopened = False, True
            big_enough = hi_val - bottom_val >= min_rom
            if xi < hi_val - hysteresis:
                if big_enough and not emitted:
                    reps.append(("revise" if reopened else "rep", bottom_i, hi_i, i))
                direction, lo_val, lo_i = "down", xi, i
                prev_top = hi_val
                reopened = False
            elif big_enough and not emitted and i - up_i >= look_back and xi - before <= band \
                    and _risen(x, i, look_back, m) <= band:
                reps.append(("revise" if reopened else "rep", bottom_i, hi_i, i))
                emitted, reopened, emit_val, emit_i = True, False, hi_val, i
    return reps


def beta_phase_fit(t, x, init):
    """Least squares of x ~ level + rise * I((t - t0)/dur; a, b) (I: SciPy's regularised incomplete
    beta), started from init = (level, rise, t0, dur, a, b); returns (t0, dur, a, b, rms)."""
    from scipy.optimize import least_squares
    from scipy.special import betainc

    def resid(p):
        level, rise, t0, dur, a, b = p
        s = np.clip((t - t0) / dur, 0.0, 1.0)
        return x - level - rise * betainc(max(a, 1.05), max(b, 1.05), s)

    res = least_squares(resid, init, x_scale=[0.01, 0.1, 0.01, 0.01, 0.1, 0.1], xtol=1e-12, ftol=1e-12)
    return (*res.x, float(np.sqrt(np.mean(res.fun ** 2))))


# ---- order: search, median, rank ------------------------------------------------------------

def search(a, v, n, side):
    """The first index i < n with a[i] >= v (side "left") or a[i] > v ("right"); n when none."""
    for i in range(n):
        if (a[i] >= v) if side == "left" else (a[i] > v):
            return i
    return n


def median(a):
    """The middle value of the sorted copy (the mean of the two middle ones for an even count)."""
    s = sorted(a)
    n = len(s)
    if n == 0:
        return math.nan
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def rank(score):
    """Indices that sort ``score``, ties in their original order."""
    return sorted(range(len(score)), key=lambda i: (score[i], i))


# ---- flight ---------------------------------------------------------------------------------

def curvature(t, x):
    """Second derivative of the least-squares parabola through (t, x) (NaN: fewer than 4 samples)."""
    if len(t) < 4:
        return math.nan
    return 2.0 * np.polyfit(t - 0.5 * (t[0] + t[-1]), x, 2)[0]


def ballistic_from(t, x, lo, hi, tol, g, steps):
    """The earliest j of lo..hi-2 (tried back from hi - 2 in strides of (hi - lo) // steps) from
    which every sample up to hi is within ``tol`` of its own least-squares parabola of curvature
    -g; the scan stops at the first start that fails. -1 when none."""
    if hi - lo < 3:
        return -1
    stride = max(1, (hi - lo) // steps)
    best = -1
    for j in range(hi - 2, lo - 1, -stride):
        u = t[j:hi + 1] - t[hi]
        y = x[j:hi + 1] + 0.5 * g * u * u  # a free flight: y is a straight line in u
        slope, level = np.polyfit(u, y, 1)
        if np.max(np.abs(y - level - slope * u)) > tol:
            break
        best = j
    return best


# ---- a rep's ends ---------------------------------------------------------------------------

def ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol, d=1):
    """The recorded samples agree with a phase from (t0, x0) to (t1, x1): the levels at both ends
    (linear between samples), no sample below the start or below an earlier one of the phase by
    more than ``tol`` (the latter only where the median of the sample and its neighbours ``d`` away
    is that far below too), none above the end after it (until ``t_stop``)."""
    n = len(x)
    grid = np.arange(n)
    j0, j1 = max(0, math.ceil(t0 * fs)), min(n - 1, math.floor(t1 * fs))
    js = min(n - 1, math.floor(t_stop * fs))
    if j1 <= j0:
        return False
    if abs(np.interp(t0 * fs, grid, x) - x0) > tol or abs(np.interp(t1 * fs, grid, x) - x1) > tol:
        return False
    phase = x[j0:j1 + 1]
    idx = np.arange(j0, j1 + 1)
    med = np.median(np.stack([x[np.maximum(idx - d, 0)], phase, x[np.minimum(idx + d, n - 1)]]), axis=0)
    peak = np.maximum.accumulate(phase)
    if np.any(phase < x0 - tol) or np.any((peak - phase > tol) & (peak - med > tol)):
        return False
    return not np.any(x[j1:js + 1] > x1 + tol)


def final_rise_start(x, lo, top, tol):
    """The first j >= lo from which, up to ``top``, no sample is more than ``tol`` above a later one."""
    for j in range(lo, top + 1):
        seg = x[j:top + 1]
        if all(seg[a] - seg[a + 1:].min() <= tol for a in range(len(seg) - 1)):
            return j
    return top


def takeoff_fit(t, x, lo, j_fly, hi, g, p_lo, p_hi, back_s, fit_m, n_grid=2400, p_step=0.01):
    """Where the push ends, and the bar's height there: a first flight parabola (curvature -g)
    fitted from a third of the way from ``j_fly`` to ``hi`` says where the push lies within
    ``fit_m`` of it; from there to ``hi`` the samples are fitted (normal equations solved by numpy,
    every candidate t_off at once) as the flight parabola, its level and speed free, plus
    C (t_off - t)+^p, by a plain search over p from ``p_lo`` to ``p_hi`` in ``p_step`` and t_off on a
    fine even grid from ``back_s`` before the flight's start. (t_off, height at t_off); None when too
    few samples."""
    mid = j_fly + (hi - j_fly) // 3
    if hi - mid < 5:
        return None
    u = t[mid:hi + 1] - t[hi]
    slope, level = np.polyfit(u, x[mid:hi + 1] + 0.5 * g * u * u, 1)
    first = mid
    while first > lo:
        uk = t[first - 1] - t[hi]
        if x[first - 1] - (level + slope * uk - 0.5 * g * uk * uk) > fit_m:
            break
        first -= 1
    if mid - first < 5:
        return None
    ts = t[first:hi + 1]
    us = ts - t[hi]
    ys = x[first:hi + 1] + 0.5 * g * us * us
    y0, u0 = ys.mean(), us.mean()  # centred: the normal equations' sums stay far from cancelling
    ys, us = ys - y0, us - u0
    t_lo = max(t[first], t[j_fly] - back_s)
    grid = t_lo + (t[mid] - t_lo) * np.arange(n_grid + 1) / n_grid
    best = (np.inf, -1.0, None)
    for p in np.arange(p_lo, p_hi + 1e-9, p_step):
        # every grid point at once: the normal equations of (1, u, f) for each, solved by numpy
        f = np.clip(grid[:, None] - ts[None, :], 0.0, None) ** p
        f /= np.maximum(f.max(axis=1, keepdims=True), 1e-300)
        basis = np.stack([np.broadcast_to(np.ones_like(us), f.shape), np.broadcast_to(us, f.shape), f], axis=2)
        ata = np.einsum("gni,gnj->gij", basis, basis)
        aty = np.einsum("gni,n->gi", basis, ys)
        coef = np.linalg.solve(ata + 1e-30 * np.eye(3), aty[:, :, None])[:, :, 0]
        sse = np.sum((ys[None, :] - np.einsum("gni,gi->gn", basis, coef)) ** 2, axis=1)
        k = int(np.argmin(sse))
        if sse[k] < best[0]:
            best = (float(sse[k]), float(grid[k]), coef[k])
    to, coef = best[1], best[2]
    uo = to - t[hi]
    return to, float(y0 + coef[0] + coef[1] * (uo - u0) - 0.5 * g * uo * uo)


def vertex_cubic(t, x, tc, w, iterations=3):
    """The vertex of a cubic fitted (numpy's polyfit) to the samples within ``w`` of ``tc``,
    recentred on it ``iterations`` times: (time, position); None when it has no minimum within the
    window."""
    for _ in range(iterations):
        m = (t >= tc - w) & (t <= tc + w)
        c = np.polynomial.polynomial.polyfit((t[m] - tc) / w, x[m], 3)
        roots = np.roots([3 * c[3], 2 * c[2], c[1]])
        roots = [r.real for r in np.atleast_1d(roots)
                 if abs(r.imag) < 1e-12 and abs(r.real) < 1 and 2 * c[2] + 6 * c[3] * r.real > 0]
        if not roots:
            return None
        u = min(roots, key=abs)
        tc += u * w
        level = c[0] + u * (c[1] + u * (c[2] + u * c[3]))
    return tc, level


def velocity_noise_gain(cutoff_hz, fs_hz, n=8001):
    """Velocity sd per unit white position noise through the zero-phase low-pass and a central
    difference: the root sum of squares of that chain's impulse response (Parseval)."""
    b, a = butter2(cutoff_hz, fs_hz)
    imp = np.zeros(n)
    imp[n // 2] = 1.0
    h = np.gradient(filtfilt_constant_pad(b, a, imp, 10), 1.0 / fs_hz)
    return float(np.sqrt(np.sum(h * h)))


def peak_velocity_lepski(x, fs_hz, j0, j1, base_hz, cutoffs, agree_sd, max_share, n_pad, step_m, raw_hz,
                         still_s, still_v, still_min):
    """Peak velocity over x[j0..j1] at the lowest cut-off whose peak lies within ``agree_sd`` noise
    sd of every higher cut-off's. The noise sd is the larger of white noise (the robust scatter of x
    about the highest curve, white over the raw samples' band ``raw_hz``) and the robust sd of that
    cut-off's velocity at the still samples within ``still_s`` of the phase (base velocity under
    ``still_v``; none when fewer than ``still_min``)."""
    x = np.asarray(x, float)
    cuts = [base_hz] + [c for c in cutoffs if 1.05 * base_hz < c < max_share * min(fs_hz, raw_hz)]
    peaks, curves, vels = [], [], []
    for c in cuts:
        b, a = butter2(c, fs_hz)
        # the whole window, padded (the kernel filters the phase and its surroundings only)
        xf = filtfilt_constant_pad(b, a, x, n_pad)
        curves.append(xf)
        vels.append(np.gradient(xf, 1.0 / fs_hz))
        peaks.append(float(np.max(vels[-1][j0:j1 + 1])))
    near = np.arange(max(0, j0 - int(still_s * fs_hz)), min(len(x) - 1, j1 + int(still_s * fs_hz)) + 1)
    near = near[(near < j0) | (near > j1)]
    still = near[np.abs(vels[0][near]) < still_v]
    sd = 1.4826 * float(np.median(np.abs(x[j0:j1 + 1] - curves[-1][j0:j1 + 1])))
    if raw_hz < 0.75 * fs_hz:  # interpolated between raw samples: sqrt(2/3) of their scatter
        sd /= math.sqrt(2.0 / 3.0)
    sd = max(sd, step_m / math.sqrt(12.0))
    noise = []
    for c, v in zip(cuts, vels):
        at_rest = 0.0
        if still.size >= still_min:
            at_rest = 1.4826 * float(np.median(np.abs(v[still] - np.median(v[still]))))
        noise.append(max(sd * velocity_noise_gain(c, raw_hz), at_rest))
    for i, p in enumerate(peaks):
        if all(abs(p - peaks[k]) <= agree_sd * noise[k] for k in range(i + 1, len(cuts))):
            return p
    return peaks[-1]
