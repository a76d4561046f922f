"""Turning-point fits: two power-law branches either side of a hold, exponents fixed or chosen by the data."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .common import NO, YES
from .order import rank_order, search_left, search_right

# ---- turning-point fit ----------------------------------------------------------------------

GOLDEN_TOL_S = 2e-6  # a golden-section search stops when its bracket is this narrow (seconds)
FIT_MAX_POINTS = 200  # a fit averages its samples in bins down to this many (1 kHz windows run to ~600)
REFIT_RADIUS_S = 0.04  # the refit with the phase's own exponents searches this close to the first fit
DESCENT_REFIT_RADIUS_S = 0.1  # the same for a descent's ends, whose onset can be slow (exponent up to 4.5)


@njit(cache=True)
def power(d, p):
    """d ** p for d > 0. The exponents the fits try most (2, 2.5, 3, 3.5, 4) by products and a
    square root: glibc's pow took half the time of a rep's analysis. Either way is within an ulp or
    two of the exact power."""
    if p == 2.0:
        return d * d
    if p == 3.0:
        return d * d * d
    if p == 4.0:
        d2 = d * d
        return d2 * d2
    if p == 2.5:
        return d * d * math.sqrt(d)
    if p == 3.5:
        return d * d * d * math.sqrt(d)
    return d ** p


@njit(cache=True)
def _branch_sums(t, x, lo, hi, tb, p, left, out3):
    """Sums over samples lo..hi-1 of u, u*u, u*x with u = (tb-t)+^p (left) or (t-tb)+^p."""
    s = 0.0
    ss = 0.0
    sx = 0.0
    for j in range(lo, hi):
        d = tb - t[j] if left else t[j] - tb
        if d > 0.0:
            u = power(d, p)
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
        cl = (slx - sl * c0) / sll
        cr = (srx - sr * c0) / srr
        if cl * cr < 0.0:
            # Both branches leave the level the same way (a bottom's above it, a top's below): a
            # branch of the other sign is not an arrival or a departure but something else in the
            # window (a creep into a slow start) that it would hide. Fit with that branch flat.
            det_l = s1 * sll - sl * sl
            det_r = s1 * srr - sr * sr
            sse_l = 1e300
            sse_r = 1e300
            a0 = a2 = b0 = b1 = 0.0
            if abs(det_r) >= eps:  # left branch flat
                a0 = (sx * srr - sr * srx) / det_r
                a2 = (s1 * srx - sr * sx) / det_r
                sse_l = sxx - a0 * sx - a2 * srx
            if abs(det_l) >= eps:  # right branch flat
                b0 = (sx * sll - sl * slx) / det_l
                b1 = (s1 * slx - sl * sx) / det_l
                sse_r = sxx - b0 * sx - b1 * slx
            if sse_l >= 1e300 and sse_r >= 1e300:
                return 1e300
            if sse_l <= sse_r:
                coef[0] = a0
                coef[1] = 0.0
                coef[2] = a2
                return sse_l
            coef[0] = b0
            coef[1] = b1
            coef[2] = 0.0
            return sse_r
        coef[0] = c0
        coef[1] = cl
        coef[2] = cr
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
def _sse_two_term(t, x, te, t0, pl, pr, right, coef4, basis, fixed_known, sgn):
    """Residual SS of x ~ c0 + cL*(te-t)+^pL + cR*(t-t0)+^pR with the branch named by ``right``
    given a second term, u^(p+1): the power law's first correction, so that a window reaching
    beyond where one power holds (force building up, braking easing off) does not bend the ends.
    ``basis`` (3 x len(t)) holds each sample's terms, computed once for the normal equations and
    the residual; with ``fixed_known`` its row of the other branch is already there (the same
    other end as the call before), and only the named branch's terms are computed. Both branches'
    leading coefficients have the sign ``sgn`` or are zero (:func:`_solve_signed`)."""
    A = np.zeros((4, 4))
    g = np.zeros(4)
    for j in range(t.shape[0]):
        dl = te - t[j]
        dr = t[j] - t0
        if right:
            b1 = basis[0, j] if fixed_known else (power(dl, pl) if dl > 0.0 else 0.0)
            b2 = power(dr, pr) if dr > 0.0 else 0.0
            b3 = b2 * dr if dr > 0.0 else 0.0
        else:
            b2 = basis[1, j] if fixed_known else (power(dr, pr) if dr > 0.0 else 0.0)
            b1 = power(dl, pl) if dl > 0.0 else 0.0
            b3 = b1 * dl if dl > 0.0 else 0.0
        basis[0, j] = b1
        basis[1, j] = b2
        basis[2, j] = b3
        bs = (1.0, b1, b2, b3)
        for r in range(4):
            g[r] += bs[r] * x[j]
            for c in range(r, 4):
                A[r, c] += bs[r] * bs[c]
    for r in range(4):
        for c in range(r):
            A[r, c] = A[c, r]
        A[r, r] += 1e-18
    if not _solve_signed(A, g, sgn, coef4):
        return 1e300
    sse = 0.0
    for j in range(t.shape[0]):
        r_ = x[j] - (coef4[0] + coef4[1] * basis[0, j] + coef4[2] * basis[1, j] + coef4[3] * basis[2, j])
        sse += r_ * r_
    return sse


@njit(cache=True)
def _solve_signed(A, g, sgn, out):
    """The least squares of normal equations ``A`` out = ``g`` in (level, left branch, right
    branch, second term) with both branches' coefficients of sign ``sgn`` or zero (0: free): the
    best of the solutions with each of them free or held at zero that keeps the signs. A rise
    from rest leaves its level upwards, an arrival at the top comes from below; a fit free to
    dip first and climb faster after puts a rise's start tens of ms early wherever the samples
    cannot see the dip (a 1 mm staircase's first steps). False if singular."""
    n = 4
    best = -1e308
    found = False
    sol = np.empty(n)
    Ar = np.empty((n, n))
    gr = np.empty(n)
    idx = np.empty(n, np.int64)
    for mask in range(4 if sgn != 0.0 else 1):  # bit 0: left held at zero, bit 1: right
        k = 0
        for r in range(n):
            if (r == 1 and mask & 1) or (r == 2 and mask & 2):
                continue
            idx[k] = r
            k += 1
        for a in range(k):
            gr[a] = g[idx[a]]
            for b in range(k):
                Ar[a, b] = A[idx[a], idx[b]]
        c = np.empty(k)
        if not _solve_small(Ar[:k, :k].copy(), gr[:k].copy(), c):
            continue
        for r in range(n):
            sol[r] = 0.0
        fit = 0.0
        for a in range(k):
            sol[idx[a]] = c[a]
            fit += c[a] * g[idx[a]]
        if sgn != 0.0 and (sol[1] * sgn < 0.0 or sol[2] * sgn < 0.0):
            continue
        if fit > best:  # the residual SS is sum x^2 - fit at a least-squares solution
            best = fit
            found = True
            for r in range(n):
                out[r] = sol[r]
        if mask == 0:
            break  # the free solution keeps the signs: it is the best
    return found


@njit(cache=True)
def _two_term_moved(t, x, te, t0, tb, pl, pr, right, coef4, basis, sgn):
    """:func:`_sse_two_term` with the end named by ``right`` (t0 if right, else te) moved to ``tb``,
    the other end's terms already in ``basis``."""
    if right:
        return _sse_two_term(t, x, te, tb, pl, pr, right, coef4, basis, YES, sgn)
    return _sse_two_term(t, x, tb, t0, pl, pr, right, coef4, basis, YES, sgn)


@njit(cache=True)
def akaike_share(d_aic):
    """The Akaike weight of a model whose AIC exceeds its one rival's by ``d_aic`` (its share when
    the two are averaged, rather than the better one taken whole)."""
    return 1.0 / (1.0 + math.exp(min(0.5 * d_aic, 700.0)))


@njit(cache=True)
def changing_share(x, lo, hi):
    """The share of samples lo+1..hi-1 that differ from the one before: the evidence a fit of
    them holds per sample. A staircase's residuals (a 1 mm encoder's slow onset or arrival, tens
    of samples on one level) are not independent samples; counted one by one, a model comparison
    gives one model all the weight on a chance fit to the steps."""
    changes = 0
    for j in range(lo + 1, hi):
        if x[j] != x[j - 1]:
            changes += 1
    return min(1.0, changes / max(1.0, hi - lo - 1.0))


@njit(cache=True)
def refit_two_term(t, x, lo, hi, pl, pr, right, coef, times, radius):
    """See :func:`_refit_two_term`. Returns True when the refinement carries more than half."""
    res = np.empty(6)
    _refit_two_term(t, x, lo, hi, pl, pr, right, coef, times, radius, res)
    return res[0] >= 0.5


@njit(cache=True)
def _refit_two_term(t, x, lo, hi, pl, pr, right, coef, times, radius, res):
    """Refine the turning point of the branch named by ``right`` (t0 of a rise's onset, or te of
    an arrival) with :func:`_sse_two_term`, the other end held, within ``radius`` of ``times``.
    The refined end and level are weighed against the one-term fit's by their Akaike weights (the
    extra term must lower the residual by more than chance would to carry more than half).
    ``res`` receives the refinement's Akaike weight, the two-term residual SS (1e300: none), the
    one-term residual SS, the number of binned samples, and the two-term end and level;
    ``coef`` (c0) and ``times`` are updated."""
    res[0] = 0.0
    res[1] = 1e300
    res[2] = 1e300
    tb, xb, m = _binned(t, x, lo, hi)
    if m < 8:
        return
    tc = 0.5 * (tb[0] + tb[m - 1])
    tt = np.empty(m)
    for j in range(m):
        tt[j] = tb[j] - tc
    te = times[0] - tc
    t0 = times[1] - tc
    c4 = np.empty(4)
    basis = np.empty((3, m))
    # the sign both branches' leading terms keep: the one-term fit's
    lead = coef[2] if right else coef[1]
    if lead == 0.0:
        lead = coef[1] if right else coef[2]
    sgn = 1.0 if lead > 0.0 else (-1.0 if lead < 0.0 else 0.0)
    base = _sse_two_term(tt, xb, te, t0, pl, pr, right, c4, basis, NO, sgn)  # two terms at the one-term ends
    one = 0.0
    for j in range(m):  # (the terms just computed, at the same ends)
        r_ = xb[j] - (coef[0] + (coef[1] * basis[0, j] if te - tt[j] > 0.0 else 0.0)
                      + (coef[2] * basis[1, j] if tt[j] - t0 > 0.0 else 0.0))
        one += r_ * r_
    if right:
        a = max(t0 - radius, te)
        b = t0 + radius
    else:
        a = te - radius
        b = min(te + radius, t0)
    if not b > a:
        return
    gr = 0.6180339887498949
    c1 = b - gr * (b - a)
    c2 = a + gr * (b - a)
    f1 = _two_term_moved(tt, xb, te, t0, c1, pl, pr, right, c4, basis, sgn)
    f2 = _two_term_moved(tt, xb, te, t0, c2, pl, pr, right, c4, basis, sgn)
    while b - a > GOLDEN_TOL_S * 10.0:
        if f1 < f2:
            b = c2
            c2 = c1
            f2 = f1
            c1 = b - gr * (b - a)
            f1 = _two_term_moved(tt, xb, te, t0, c1, pl, pr, right, c4, basis, sgn)
        else:
            a = c1
            c1 = c2
            f1 = f2
            c2 = a + gr * (b - a)
            f2 = _two_term_moved(tt, xb, te, t0, c2, pl, pr, right, c4, basis, sgn)
    tm = 0.5 * (a + b)
    sse = _two_term_moved(tt, xb, te, t0, tm, pl, pr, right, c4, basis, sgn)
    if base >= 1e300 or not (sse < 1e300) or sse <= 0.0 or one <= 0.0:
        return
    # AIC: one more coefficient must earn its keep. The two fits weighed by their Akaike weights,
    # not the better one taken whole (a near tie would move the end by their difference on a tiny
    # change in the data).
    w = akaike_share(m * math.log(sse / one) + 2.0 * TWO_TERM_PENALTY)
    res[2] = one
    res[3] = m
    res[4] = tm + tc
    res[5] = c4[0]
    if right:
        times[1] += w * (tm + tc - times[1])
    else:
        times[0] += w * (tm + tc - times[0])
    coef[0] += w * (c4[0] - coef[0])
    res[0] = w
    res[1] = sse


TWO_TERM_HIGHER = 1  # exponents above the one-term choice that an arrival's end is also fitted with


@njit(cache=True)
def refit_two_term_exponents(t, x, lo, hi, right, coef, times, exps, radius):
    """The end of the branch named by ``right``, averaged by Akaike weights over several models:
    the branch's one-term exponent and the next TWO_TERM_HIGHER of AUTO_EXPONENTS, each with one
    term (its own fit near ``times``) and with two (:func:`refit_two_term`). ``coef`` and
    ``times`` are updated, ``exps`` and the branch's coefficient are those of the heaviest model.

    Why: an arrival that is a power of time times a factor that changes across the window (braking
    easing off before the top) reads as a lower power to the one-term fits, and the greedy search
    of :func:`fit_turning_point_auto` then ends it early (7-9 ms on a u^3 arrival); with a second
    term to take up the factor, the next higher power can fit better, and the data say by how much.

    The evidence is counted by the samples that differ from the one before, not by all of them: a
    staircase's residuals (a 1 mm encoder's slow arrival, tens of samples on one level) are not
    independent samples, and counting each made one model take all the weight on a chance fit to
    the steps."""
    ne = len(AUTO_EXPONENTS)
    k0 = 0
    for q in range(ne):
        if AUTO_EXPONENTS[q] == (exps[1] if right else exps[0]):
            k0 = q
    nq = min(ne, k0 + 1 + TWO_TERM_HIGHER) - k0
    share = changing_share(x, lo, hi)
    aic = np.full(2 * nq, np.inf)
    end = np.empty(2 * nq)
    lev = np.empty(2 * nq)
    cb = np.empty(2 * nq)  # the branch's (one-term) coefficient
    c = np.empty(3)
    tm = np.empty(2)
    res = np.empty(6)
    for i in range(nq):
        p = AUTO_EXPONENTS[k0 + i]
        pl = exps[0] if right else p
        pr = p if right else exps[1]
        if i == 0:
            c[:] = coef
            tm[:] = times
        else:
            fit_turning_point_near(t, x, lo, hi, pl, pr, c, tm, times[0], times[1], radius)
        end[2 * i] = tm[1] if right else tm[0]
        lev[2 * i] = c[0]
        cb[2 * i] = c[2] if right else c[1]
        _refit_two_term(t, x, lo, hi, pl, pr, right, c, tm, radius, res)
        if not (0.0 < res[2] < 1e300):
            if i == 0:
                return  # the two-term refit cannot run here: the one-term fit stays, as it would
            continue
        m = res[3] * share
        aic[2 * i] = m * math.log(res[2])
        aic[2 * i + 1] = m * math.log(res[1]) + 2.0 * TWO_TERM_PENALTY
        end[2 * i + 1] = res[4]
        lev[2 * i + 1] = res[5]
        cb[2 * i + 1] = cb[2 * i]
    best = 0
    for k in range(2 * nq):
        if aic[k] < aic[best]:
            best = k
    sw = 0.0
    se = 0.0
    sl = 0.0
    for k in range(2 * nq):
        if aic[k] < np.inf:
            w = math.exp(-0.5 * (aic[k] - aic[best]))
            sw += w
            se += w * end[k]
            sl += w * lev[k]
    p = AUTO_EXPONENTS[k0 + best // 2]
    if right:
        times[1] = se / sw
        exps[1] = p
        coef[2] = cb[best]
    else:
        times[0] = se / sw
        exps[0] = p
        coef[1] = cb[best]
    coef[0] = sl / sw


GRID_TOL = 1e-9  # a sample lies on the window's even time grid when within this share of a spacing


@njit(cache=True)
def _even_spacing(t):
    """The spacing of ``t`` when samples 0..n-2 lie on an even grid (the last may not: a shorter
    last bin), else 0."""
    n = t.shape[0]
    if n < 3:
        return 0.0
    dt = (t[n - 2] - t[0]) / (n - 2)
    if not dt > 0.0:
        return 0.0
    for j in range(n - 1):
        if abs(t[j] - (t[0] + j * dt)) > GRID_TOL * dt:
            return 0.0
    return dt


@njit(cache=True)
def _grid_sums(t, x, pre, even_dt, first, stride, count, p, left, out):
    """:func:`_sums` at the candidate times t[first + c*stride], c < count, into out[c]. On an even
    grid (``even_dt``: :func:`_even_spacing` of ``t``) with an exponent other than 2, each sample's
    power comes from one table of (i*dt)^p (one power per sample instead of one per sample and
    candidate); the sums are the same to rounding."""
    n = t.shape[0]
    dt = even_dt if p != 2.0 else 0.0
    tmp = np.empty(3)
    if dt == 0.0:
        for c in range(count):
            _sums(t, x, pre, t[first + c * stride], p, left, tmp)
            out[c, 0] = tmp[0]
            out[c, 1] = tmp[1]
            out[c, 2] = tmp[2]
        return
    table = np.empty(n)
    table[0] = 0.0
    for i in range(1, n):
        table[i] = power(i * dt, p)
    for c in range(count):
        k = first + c * stride
        s = 0.0
        ss = 0.0
        sx = 0.0
        if left:  # samples before t[k], all on the grid
            for j in range(k):
                u = table[k - j]
                s += u
                ss += u * u
                sx += u * x[j]
        else:  # samples after t[k]; the last one's power on its own
            for j in range(k + 1, n - 1):
                u = table[j - k]
                s += u
                ss += u * u
                sx += u * x[j]
            if k < n - 1:
                d = t[n - 1] - t[k]
                if d > 0.0:
                    u = power(d, p)
                    s += u
                    ss += u * u
                    sx += u * x[n - 1]
        out[c, 0] = s
        out[c, 1] = ss
        out[c, 2] = sx


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
    even_dt = _even_spacing(tt) if (p_left != 2.0 or p_right != 2.0) else 0.0  # (checked once per fit)
    _grid_sums(tt, xx, pre, even_dt, e_lo, stride, ne, p_left, YES, left_sums)
    _grid_sums(tt, xx, pre, even_dt, o_lo, stride, no, p_right, NO, right_sums)
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
    # A branch held flat (_solve3: it would have left the level the other way) leaves its end
    # free, and the search would put it anywhere along the still stretch by rounding: the bar is
    # at the level from the edge of the searched range, and the still time before a rise (or
    # after an arrival) then does not jump on a tiny change in the data.
    if coef[1] == 0.0:
        te = min(tt[e_lo], t0)
    if coef[2] == 0.0:
        t0 = max(tt[o_hi - 1], te)
    coef[0] += xm
    times[0] = te + tc
    times[1] = t0 + tc
    return sse


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


# ---- a turn without a stop ------------------------------------------------------------------

VERTEX_FIT_ITER = 3  # the window is recentred on the vertex found this many times


@njit(cache=True)
def vertex_fit(t, x, lo, hi, tc, w, out6):
    """The vertex of a turn the bar makes without stopping (touch-and-go, a jump's countermovement):
    a cubic fitted by least squares to the samples of ``lo..hi-1`` within ``w`` s of ``tc``,
    recentred on its vertex ``VERTEX_FIT_ITER`` times. Near such a turn the velocity crosses zero
    with a finite slope, so the bar's position is smooth there and a low-degree polynomial follows
    it; the power-law branches of :func:`fit_turning_point` suit a rise from rest instead.

    ``out6`` receives (time, position) of the vertex, the first and last + 1 sample of its window,
    and how far the cubic rises from the vertex to the window's first and last instant. False, and
    ``out6`` untouched, when the window holds too few samples, the cubic has no minimum within the
    window, or the solve is singular."""
    A = np.empty((4, 4))
    g = np.empty(4)
    c = np.empty(4)
    root = 0.0
    j0 = lo
    j1 = lo
    for _ in range(VERTEX_FIT_ITER):
        j0 = max(lo, search_left(t, tc - w, hi))
        j1 = min(hi, search_right(t, tc + w, hi))
        if j1 - j0 < 8:
            return False
        for r in range(4):
            g[r] = 0.0
            for k in range(4):
                A[r, k] = 0.0
        for j in range(j0, j1):
            u = (t[j] - tc) / w  # scaled to [-1, 1]: a well-conditioned system
            p = 1.0
            for r in range(7):
                if r < 4:
                    g[r] += p * x[j]
                for k in range(max(0, r - 3), min(3, r) + 1):
                    A[k, r - k] += p
                p *= u
        if not _solve_small(A, g, c):
            return False
        # x' = c1 + 2 c2 u + 3 c3 u^2 = 0: the root nearest the centre where x'' = 2 c2 + 6 c3 u > 0
        qa = 3.0 * c[3]
        qb = 2.0 * c[2]
        root = np.inf
        if abs(qa) <= 1e-12 * (abs(qb) + abs(c[1])):
            if qb > 0.0:
                root = -c[1] / qb
        else:
            disc = qb * qb - 4.0 * qa * c[1]
            if disc >= 0.0:
                sq = math.sqrt(disc)
                for r0 in ((-qb - sq) / (2.0 * qa), (-qb + sq) / (2.0 * qa)):
                    if qb + 2.0 * qa * r0 > 0.0 and abs(r0) < abs(root):
                        root = r0
        if not abs(root) < 1.0:
            return False
        tc += root * w
    out6[0] = tc
    out6[1] = c[0] + root * (c[1] + root * (c[2] + root * c[3]))
    out6[2] = j0
    out6[3] = j1
    # how far the cubic rises from the vertex to either end of its window
    out6[4] = c[0] - c[1] + c[2] - c[3] - out6[1]
    out6[5] = c[0] + c[1] + c[2] + c[3] - out6[1]
    return True
