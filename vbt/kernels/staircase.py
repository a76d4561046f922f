"""A rise's start on a noiseless encoder's staircase, fitted on the crossings of its counts.

A noiseless encoder (Chronojump's 1 mm counts) reads a still bar as one count for as long as it
stays still, wherever within that count the bar really is: up to half a step off. A fit of the
samples takes the reading for the level that the rise leaves, and a slow onset's start moves with
that error: on the forcevel family at 1 mm, 40-47 ms per step of level error (tuning seeds; the
start was 12 ms early at the median when the reading lay a quarter to half a step below the bar,
22 ms late when it lay as far above). The crossings are exact where the readings are not: when
two samples differ by n counts, the bar crossed n count boundaries between them. Fitted on those
crossings, with the level free within half a step of the still reading, the start does not
inherit the reading's error.
"""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .turning import TWO_TERM_PENALTY, _solve_small, power

STAIR_MIN_STEP_M = 1e-5  # a smaller smallest change is no encoder's count (a float sensor's rounding)
STAIR_MAX_DT_S = 0.002  # raw samples further apart time their crossings too coarsely (csv at 100-500 Hz)
STAIR_SAME = 1e-3  # readings within this share of a step are the same count (the resampler's rounding)
STAIR_STILL_S = 0.02  # the still reading before the rise must hold this long, unchanged
STAIR_BACK_S = 0.3  # how far before the first crossing the start is searched
STAIR_MIN_CROSSINGS = 5  # fewer crossings than this in the window: the samples' fit stays
STAIR_MAX_CROSSINGS = 8  # the fit takes the first this many (further up, a power law no longer holds)
# The models: power laws (finer than vbt.kernels.turning.AUTO_EXPONENTS: the level's freedom trades
# against the exponent, and a coarse grid let it take up the difference), each also with its first
# correction, and force build-ups over these times (as vbt.kernels.rep.ramp_onset).
STAIR_EXPONENTS = (1.3, 1.6, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 4.0)
STAIR_RAMP_TAUS = (0.01, 0.02, 0.03, 0.045, 0.06, 0.08, 0.1, 0.13)
STAIR_RAMP_PENALTY = 2.0  # AIC parameters charged for the build-up time, as vbt.kernels.rep.RAMP_PENALTY
STAIR_SEARCH_STEP_S = 0.003  # the grid of candidate starts, refined by golden section within one step
STAIR_FLOOR = 0.05  # the least error a crossing's level is given, in steps (the models' own error)

@njit(cache=True)
def crossings(t, x, j0, hi, low, step, tc, yc):
    """The times at which samples j0..hi-1 first reach each count boundary above the reading
    ``low`` (``low`` + step/2, + 3 step/2, ...), by linear interpolation between the two samples
    either side: the encoder's count changed between them, so each is known to their spacing (a
    change of n counts between two samples spreads its n boundaries evenly over the interval; on
    a grid resampled from the raw counts, a boundary is crossed midway between the two raw samples
    that show it). Writes times and levels into ``tc``, ``yc`` (at most their length); returns
    how many."""
    n = 0
    j = j0 + 1
    while n < tc.shape[0]:
        level = low + (n + 0.5) * step
        while j < hi and x[j] < level:
            j += 1
        if j >= hi:
            break
        d = x[j] - x[j - 1]
        f = (level - x[j - 1]) / d if d > 0.0 else 1.0
        tc[n] = t[j - 1] + min(max(f, 0.0), 1.0) * (t[j] - t[j - 1])
        yc[n] = level
        n += 1
    return n


@njit(cache=True)
def rise_basis(u, model, par):
    """A rise from rest, u after its start: u^par (model 0), the rise under a force that builds up
    linearly for ``par`` seconds and then holds (1; as vbt.kernels.rep.ramp_onset), or u^par's
    first correction u^(par+1) (2: the second term of a two-term model, as
    vbt.kernels.turning.refit_two_term)."""
    if u <= 0.0:
        return 0.0
    if model == 0:
        return power(u, par)
    if model == 1:
        if u < par:
            return u * u * u / (6.0 * par)
        return u * u / 2.0 - par * u / 2.0 + par * par / 6.0
    return power(u, par) * u


@njit(cache=True)
def _face(A, g, fixed, val, out):
    """The least squares of normal equations A c = g (3 unknowns) with c[k] held at val[k] where
    fixed[k]; False if singular."""
    idx = np.empty(3, np.int64)
    k = 0
    for r in range(3):
        out[r] = val[r] if fixed[r] else 0.0
        if not fixed[r]:
            idx[k] = r
            k += 1
    if k == 0:
        return True
    Ar = np.empty((k, k))
    gr = np.empty(k)
    for a in range(k):
        gr[a] = g[idx[a]]
        for r in range(3):
            if fixed[r]:
                gr[a] -= A[idx[a], r] * val[r]
        for b in range(k):
            Ar[a, b] = A[idx[a], idx[b]]
    c = np.empty(k)
    if not _solve_small(Ar, gr, c):
        return False
    for a in range(k):
        out[idx[a]] = c[a]
    return True


@njit(cache=True)
def _level_sse(tc, yc, wc, n, t0, model, par, lev_lo, lev_hi, coef3):
    """Weighted residual SS of yc ~ c0 + g1*B(tc - t0) [+ g2*u^(par+1) for model 2] over the n
    crossings, with c0 within [lev_lo, lev_hi] and g1 >= 0: the best solution of the faces of
    those limits that keeps them (into ``coef3``)."""
    A = np.zeros((3, 3))
    g = np.zeros(3)
    yy = 0.0
    two = model == 2
    for i in range(n):
        u = tc[i] - t0
        b1 = rise_basis(u, 1 if model == 1 else 0, par)
        b2 = rise_basis(u, 2, par) if two else 0.0
        w = wc[i]
        y = yc[i]
        A[0, 0] += w
        A[0, 1] += w * b1
        A[0, 2] += w * b2
        A[1, 1] += w * b1 * b1
        A[1, 2] += w * b1 * b2
        A[2, 2] += w * b2 * b2
        g[0] += w * y
        g[1] += w * b1 * y
        g[2] += w * b2 * y
        yy += w * y * y
    A[1, 0] = A[0, 1]
    A[2, 0] = A[0, 2]
    A[2, 1] = A[1, 2]
    for r in range(3):
        A[r, r] += 1e-18 * (1.0 + A[r, r])
    fixed = np.zeros(3, np.bool_)
    val = np.zeros(3)
    c = np.empty(3)
    best = 1e300
    coef3[0] = 0.5 * (lev_lo + lev_hi)
    coef3[1] = 0.0
    coef3[2] = 0.0
    for face in range(6):  # c0 free, at its lower or upper limit; g1 free or zero
        lev = face % 3
        fixed[0] = lev != 0
        val[0] = lev_lo if lev == 1 else lev_hi
        fixed[1] = face >= 3
        val[1] = 0.0
        fixed[2] = not two
        val[2] = 0.0
        if not _face(A, g, fixed, val, c):
            continue
        if c[0] < lev_lo - 1e-12 or c[0] > lev_hi + 1e-12 or c[1] < 0.0:
            continue
        sse = yy
        for r in range(3):
            sse -= 2.0 * c[r] * g[r]
            for q in range(3):
                sse += c[r] * A[r, q] * c[q]
        if sse < best:
            best = sse
            coef3[0] = c[0]
            coef3[1] = c[1]
            coef3[2] = c[2]
        if face == 0:
            break  # the free solution keeps the limits: it is the best (a convex problem)
    return max(best, 0.0)


@njit(cache=True)
def _best_start(tc, yc, wc, n, a, b, model, par, lev_lo, lev_hi, coef2):
    """The start in [a, b] with the least :func:`_level_sse`: the best of a grid every
    STAIR_SEARCH_STEP_S, refined by golden section within a step either side. Returns (sse, t0);
    ``coef2`` holds that fit's level and gain."""
    best = 1e300
    tb = a
    k = int(math.ceil((b - a) / STAIR_SEARCH_STEP_S))
    for i in range(k + 1):
        t0 = min(a + i * STAIR_SEARCH_STEP_S, b)
        f = _level_sse(tc, yc, wc, n, t0, model, par, lev_lo, lev_hi, coef2)
        if f < best:
            best = f
            tb = t0
    lo = max(a, tb - STAIR_SEARCH_STEP_S)
    hi = min(b, tb + STAIR_SEARCH_STEP_S)
    gr = 0.6180339887498949
    c1 = hi - gr * (hi - lo)
    c2 = lo + gr * (hi - lo)
    f1 = _level_sse(tc, yc, wc, n, c1, model, par, lev_lo, lev_hi, coef2)
    f2 = _level_sse(tc, yc, wc, n, c2, model, par, lev_lo, lev_hi, coef2)
    while hi - lo > 2e-6:
        if f1 < f2:
            hi = c2
            c2 = c1
            f2 = f1
            c1 = hi - gr * (hi - lo)
            f1 = _level_sse(tc, yc, wc, n, c1, model, par, lev_lo, lev_hi, coef2)
        else:
            lo = c1
            c1 = c2
            f1 = f2
            c2 = lo + gr * (hi - lo)
            f2 = _level_sse(tc, yc, wc, n, c2, model, par, lev_lo, lev_hi, coef2)
    t0 = 0.5 * (lo + hi)
    f = _level_sse(tc, yc, wc, n, t0, model, par, lev_lo, lev_hi, coef2)
    if f <= best:
        return f, t0
    return best, tb  # (the grid's best; coef2 is refitted there by the caller)


@njit(cache=True)
def staircase_onset(t, x, lo, hi, step, raw_dt, t_min, out2):
    """The start and level of a rise from a still bar read by an encoder of ``step`` without noise,
    from the times at which samples lo..hi-1 reach the count boundaries after the last still
    reading (:func:`crossings`; the raw samples' spacing ``raw_dt`` is how well each is known). The
    models are the power laws of STAIR_EXPONENTS with and without their first correction and the
    force build-ups of STAIR_RAMP_TAUS, averaged by their Akaike weights; the level is held within
    half a step of the still reading, the start after ``t_min``. Returns False (``out2`` untouched)
    without a step of at least STAIR_MIN_STEP_M, with raw samples further apart than
    STAIR_MAX_DT_S, when the reading before the rise did not hold exactly still for STAIR_STILL_S
    (a noisy encoder's flickers), or with fewer than STAIR_MIN_CROSSINGS boundaries crossed."""
    if hi - lo < 8 or not step >= STAIR_MIN_STEP_M or not 0.0 < raw_dt <= STAIR_MAX_DT_S:
        return False
    # the lowest reading, and the last sample that reads it before the bar leaves it for good
    ib = lo
    for j in range(lo, hi):
        if x[j] < x[ib]:
            ib = j
    low = x[ib]
    same = STAIR_SAME * step
    last = ib
    for j in range(ib, hi):
        if abs(x[j] - low) <= same:
            last = j
    first = last
    while first > lo and abs(x[first - 1] - low) <= same:
        first -= 1
    if t[last] - t[first] < STAIR_STILL_S:
        return False
    tc = np.empty(STAIR_MAX_CROSSINGS)
    yc = np.empty(STAIR_MAX_CROSSINGS)
    n = crossings(t, x, last, hi, low, step, tc, yc)
    if n < STAIR_MIN_CROSSINGS:
        return False
    # each crossing's weight: its time is known to within the samples' spacing, so its level to
    # within the speed times that (slow crossings near the start pin it; fast ones far less)
    wc = np.empty(n)
    dt = raw_dt
    for i in range(n):
        g0 = tc[i] - tc[i - 1] if i > 0 else tc[1] - tc[0]
        g1 = tc[i + 1] - tc[i] if i < n - 1 else g0
        v = step / max(0.5 * (g0 + g1), 1e-9)
        wc[i] = 1.0 / (v * v * dt * dt / 12.0 + (STAIR_FLOOR * step) ** 2)
    lev_lo = low - 0.5 * step
    lev_hi = low + 0.5 * step
    a = max(t_min, tc[0] - STAIR_BACK_S, t[first])
    b = tc[0]
    if not b > a:
        return False
    ne = len(STAIR_EXPONENTS)
    nm = 2 * ne + len(STAIR_RAMP_TAUS)
    aic = np.empty(nm)
    starts = np.empty(nm)
    levels = np.empty(nm)
    c3 = np.empty(3)
    best = 0
    for q in range(nm):
        if q < ne:
            model, par, pen = 0, STAIR_EXPONENTS[q], 0.0
        elif q < 2 * ne:
            model, par, pen = 2, STAIR_EXPONENTS[q - ne], 2.0 * TWO_TERM_PENALTY
        else:
            model, par, pen = 1, STAIR_RAMP_TAUS[q - 2 * ne], 2.0 * STAIR_RAMP_PENALTY
        sse, t0 = _best_start(tc, yc, wc, n, a, b, model, par, lev_lo, lev_hi, c3)
        _level_sse(tc, yc, wc, n, t0, model, par, lev_lo, lev_hi, c3)
        starts[q] = t0
        levels[q] = c3[0]
        # The weights are each crossing's inverse variance (its timing and STAIR_FLOOR), so the
        # residual is a chi-square and Akaike's criterion takes it as it is. Counted as from an
        # unknown variance (n log SSE), a model that fits the crossings closer than their timing
        # allows won by far: a still bar, then a constant acceleration, at 1 mm, whose crossings a
        # t^2 law from the true start fits within their half-ms timing (chi-square 3 for 8), gave
        # the weight to t^2.75 with the level 0.43 steps down (chi-square 0.6; n log SSE: 13 apart,
        # now 2.5), starting 32 ms early. It still starts 29 ms early: many models with the level
        # down share the weight. Tuning seeds 0-39 at 1 mm, MV p95 against n log SSE: forcevel
        # 0.0215 -> 0.0199, plateau 0.0122 -> 0.0113, smooth 0.0388 -> 0.0375; no family worse by
        # more than 0.0001 (the floor left as it was: 0.03 and 0.08-0.12 each moved some families back).
        aic[q] = sse + pen
        if aic[q] < aic[best]:
            best = q
    if not aic[best] < 1e299:
        return False  # no model could be fitted (every face singular)
    sw = 0.0
    st = 0.0
    sl = 0.0
    for q in range(nm):
        w = math.exp(-0.5 * (aic[q] - aic[best]))
        sw += w
        st += w * starts[q]
        sl += w * levels[q]
    out2[0] = st / sw
    out2[1] = sl / sw
    return True


