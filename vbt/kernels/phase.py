"""The whole concentric phase as one Beta-shaped velocity profile (Levenberg-Marquardt), and the
Beta shape from a profile's peak."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .turning import _binned, _solve_small


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
# sticking point, two velocity peaks) keeps the local fits (see analyze_rep). The Beta density times
# exp(c s (1 - s)) extends it by one body parameter: a half sine is Beta(2, 2) with c ~ 0.97, a raised
# cosine (1 - cos 2 pi s) Beta(3, 3) with c ~ 1.93, each within 0.3 % of its peak; c = 0 is the Beta
# profile itself.
SHAPE_TABLE_N = 65  # nodes of the Beta CDF table (cubic Hermite between them)
SHAPE_MIN_EXP = 1.05  # the exponents stay above 1: velocity starts and ends at zero
SHAPE_MAX_ITER = 30  # Levenberg-Marquardt iterations
SHAPE_MAX_C = 8.0  # the body factor exp(c s (1 - s)) of the extended profile: |c| at most this
SHAPE_TOL = 1e-6  # stop when an iteration lowers the residual by less than this fraction


@njit(cache=True)
def shape_integral_table(a, b, c, n, m, tab, dens):
    """tab[k] = integral from 0 to s_k of s^(a-1) (1-s)^(b-1) exp(c s (1-s)) ds (for c = 0 the
    unnormalised Beta CDF) and dens[k] the integrand at s_k, for s_k = k/(n-1); Simpson's rule
    on m sub-steps per cell, the first and last sub-steps by their expansions to first order (the
    integrand may not be smooth at 0 and 1)."""
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
            f1 = s1 ** (a - 1.0) * max(1.0 - s1, 0.0) ** (b - 1.0) * math.exp(c * s1 * (1.0 - s1))
            if s0 == 0.0:
                acc += s1 ** a / a * (1.0 - a / (a + 1.0) * s1) ** (b - 1.0) * math.exp(c * a / (a + 1.0) * s1)
            elif k == n - 1 and q == m - 1:
                acc += h ** b / b * (1.0 - b / (b + 1.0) * h) ** (a - 1.0) * math.exp(c * b / (b + 1.0) * h)
            else:
                fm = sm ** (a - 1.0) * (1.0 - sm) ** (b - 1.0) * math.exp(c * sm * (1.0 - sm))
                acc += h / 6.0 * (f0 + 4.0 * fm + f1)
            f0 = f1
        tab[k] = acc
        dens[k] = f0


@njit(cache=True)
def _phase_curve(tb, t0, dur, a, b, c, tab, dens, u, du):
    """u[j]: the normalised CDF of the profile s^(a-1) (1-s)^(b-1) exp(c s (1-s)) at
    s = (tb[j] - t0)/dur (cubic Hermite on its table);
    du[j]: its derivative in s (0 outside the phase)."""
    nt = tab.shape[0]
    shape_integral_table(a, b, c, nt, 2, tab, dens)
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
def _phase_resid(tb, xb, prm, tab, dens, u, du):
    """Residual SS of the phase model with parameters prm = (level, rise, t0, dur, a, b[, c]); the
    curve goes into u, du (1e300 and untouched for a duration that is not positive)."""
    if prm[3] <= 0.0:
        return 1e300
    _phase_curve(tb, prm[2], prm[3], prm[4], prm[5], prm[6] if prm.shape[0] > 6 else 0.0, tab, dens, u, du)
    sse = 0.0
    for j in range(tb.shape[0]):
        r = xb[j] - prm[0] - prm[1] * u[j]
        sse += r * r
    return sse


@njit(cache=True)
def fit_phase_lm(t, x, lo, hi, init, out):
    """Levenberg-Marquardt fit of samples lo..hi-1 to level + rise * BetaCDF((t - t0)/dur; a, b);
    ``init`` and ``out`` = (level, rise, t0, dur, a, b). With a seventh parameter c (``init`` and
    ``out`` of length 7) the velocity profile is the Beta density times exp(c s (1 - s)), c fitted
    too (within +-SHAPE_MAX_C). Returns the residual SS per sample."""
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
    npar = init.shape[0]
    prm = init.copy()
    trial = np.empty(npar)
    uc = np.empty(nb)
    J = np.empty((nb, npar))
    A0 = np.empty((npar, npar))  # normal equations at prm, damped into A for each try
    g0 = np.empty(npar)
    A = np.empty((npar, npar))
    g = np.empty(npar)
    step = np.empty(npar)
    for k in range(npar):
        out[k] = init[k]
    if init[3] <= 0.0 or nb < 6:
        return 1e300
    lam = 1e-3
    rel = 1.0
    sse = _phase_resid(tb, xb, prm, tab, dens, u, du)
    eps = 1e-4
    for _ in range(SHAPE_MAX_ITER):
        # Jacobian of the model at prm (u, du hold the curve there)
        cc = prm[6] if npar > 6 else 0.0
        _phase_curve(tb, prm[2], prm[3], prm[4] + eps, prm[5], cc, tab, dens, ua, dd)
        _phase_curve(tb, prm[2], prm[3], prm[4], prm[5] + eps, cc, tab, dens, ub, dd)
        if npar > 6:
            _phase_curve(tb, prm[2], prm[3], prm[4], prm[5], cc + eps, tab, dens, uc, dd)
        for j in range(nb):
            sj = (tb[j] - prm[2]) / prm[3]
            J[j, 0] = 1.0
            J[j, 1] = u[j]
            J[j, 2] = -prm[1] * du[j] / prm[3]
            J[j, 3] = -prm[1] * du[j] * sj / prm[3]
            J[j, 4] = prm[1] * (ua[j] - u[j]) / eps
            J[j, 5] = prm[1] * (ub[j] - u[j]) / eps
            if npar > 6:
                J[j, 6] = prm[1] * (uc[j] - u[j]) / eps
        for r in range(npar):
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
            for r in range(npar):
                g[r] = g0[r]
                for c in range(npar):
                    A[r, c] = A0[r, c]
                A[r, r] *= 1.0 + lam
            if not _solve_small(A, g, step):
                lam *= 10.0
                continue
            for k in range(npar):
                trial[k] = prm[k] + step[k]
            trial[4] = max(trial[4], SHAPE_MIN_EXP)
            trial[5] = max(trial[5], SHAPE_MIN_EXP)
            if npar > 6:
                trial[6] = min(max(trial[6], -SHAPE_MAX_C), SHAPE_MAX_C)
            s_new = _phase_resid(tb, xb, trial, tab, dens, ut, dut)
            if s_new < sse:
                rel = (sse - s_new) / max(sse, 1e-300)
                sse = s_new
                for k in range(npar):
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
    for k in range(npar):
        out[k] = prm[k]
    return sse / nb


@njit(cache=True)
def phase_window_ms(t, x, lo, hi, prm):
    """Mean square residual of samples lo..hi-1 (not binned) about the phase model with
    parameters prm = (level, rise, t0, dur, a, b[, c]); 0 for an empty range."""
    m = hi - lo
    if m <= 0 or prm[3] <= 0.0:
        return 0.0
    nt = SHAPE_TABLE_N
    return _phase_resid(t[lo:hi], x[lo:hi], prm, np.empty(nt), np.empty(nt), np.empty(m), np.empty(m)) / m
