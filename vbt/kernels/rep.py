"""One rep: where its ends are (the end fits, the checks against the samples, the fall-back
methods) and its metrics."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .common import G, NO, YES
from .order import _interp_idx, median3, median_of
from .filters import cutoff_of, differentiate, filtfilt, peak_velocity_adaptive, propulsive_acceleration
from .turning import (AUTO_RADIUS_SHARE, TWO_TERM, _fit_then_refit, akaike_share, fit_turning_point,
                      fit_turning_point_auto, refit_two_term, refit_two_term_exponents, vertex_fit)
from .phase import beta_from_shape, fit_phase_lm, phase_window_ms
from .staircase import rise_basis, staircase_onset
from .flight import (FLIGHT_G_TOL, FLIGHT_PAST_APEX_S, MIN_FLIGHT_S, ballistic_from, curvature, flight_apex,
                     takeoff_fit)

# ---- one rep --------------------------------------------------------------------------------
# What analyze_rep is given and what it answers: one record each (a numpy structured dtype; numba
# reads and writes the fields by name, at the cost of array slots). Allocate with rep_settings()
# and rep_result(), as record arrays so that the fields read by name in plain Python too (numba
# left out: vbt.compile_cache.interpreted); times are in seconds from the window's first sample.
REP_SETTINGS = np.dtype([
    ("fs_hz", np.float64),          # the window's (uniform) sampling rate
    ("n_pad", np.int64),            # filter padding at each end (samples)
    ("fit_fraction", np.float64),   # a turning-point fit takes samples within this share of the ROM
    ("fit_min_m", np.float64),      # ... or at least this close to the turning point's level
    ("fit_side_s", np.float64),     # ... up to this long before a bottom / after a top
    ("load_kg", np.float64),        # the moving mass; 0: no force or power
    ("shape_passes", np.int64),     # > 0: exponents chosen by the data and the whole-phase shape fit
    ("tol_floor_m", np.float64),    # the encoder's resolution in the end checks (steps)
    ("raw_hz", np.float64),         # the raw samples' mean rate, the noise's bandwidth (0: fs_hz)
    ("step_m", np.float64),         # the raw samples' smallest change, an encoder's count (0: unknown)
], align=True)
REP_RESULT = np.dtype([
    ("ok", np.bool_),               # a valid concentric phase was found (else the rest is NaN)
    ("method", np.int64),           # 0 end fits, 1 final rise, 2 recorded extremes, 3 ends uncertain, 4 shape fit
    ("t0_s", np.float64),           # concentric start
    ("t1_s", np.float64),           # concentric end
    ("mean_velocity_m_s", np.float64),
    ("mean_propulsive_velocity_m_s", np.float64),
    ("peak_velocity_m_s", np.float64),
    ("rom_m", np.float64),
    ("time_to_peak_velocity_s", np.float64),
    ("eccentric_duration_s", np.float64),         # NaN: no descent found before the rep
    ("eccentric_mean_velocity_m_s", np.float64),
    ("bottom_pause_s", np.float64),
    ("mean_force_n", np.float64),                 # NaN: no load
    ("peak_force_n", np.float64),
    ("mean_power_w", np.float64),
    ("peak_power_w", np.float64),
], align=True)


def rep_settings(fs_hz, n_pad, fit_fraction, fit_min_m, fit_side_s, load_kg, shape_passes, tol_floor_m,
                 raw_hz=0.0, step_m=0.0):
    """A one-element REP_SETTINGS array (analyze_rep's ``settings``)."""
    s = np.empty(1, dtype=REP_SETTINGS)
    s[0] = (fs_hz, n_pad, fit_fraction, fit_min_m, fit_side_s, load_kg, shape_passes, tol_floor_m, raw_hz, step_m)
    return s.view(np.recarray)


def rep_result():
    """A one-element REP_RESULT array (analyze_rep's ``out``)."""
    return np.zeros(1, dtype=REP_RESULT).view(np.recarray)


# The checks of a rep's ends allow this many robust standard deviations of the recording's noise
# (the largest excursion between two of a thousand noisy samples is ~6 of them).
TOL_NOISE_SD = 8.0
# ... counted from the scatter about the 10 Hz filter, which misses the noise below the filter's
# cut-off: at a raw rate r, a share of about 2 x 10 / r of white noise (half of it at 40 Hz), not less
# than NOISE_PASS_FLOOR of it left. Uncounted, a 30-40 Hz sensor's checks took a grind's hold mid-rise
# for a descent and cut the rep at it (a 30 Hz sensor, 0.2 mm of noise, 0.5 mm steps: 14 of 264 fresh
# grinder reps lost their part before the hold). Where a staircase leaves that scatter smaller still
# (0.06 mm for that sensor's 0.25 mm), 4 of the 14 stayed cut: below LOW_RATE_HI_HZ (all of it from
# LOW_RATE_LO_HZ down) the checks also count the noise of the window's still samples, from the mean
# square of their second differences at the raw spacing (_still_rms_sd: 0.12-0.16 mm there). On the
# tuning seeds of every family with the "csv", "chronojump" and "fine" sensors, 175 reps moved (jump
# apexes and 4 grinder reps), by 0.00003 m/s at most in MV (0.00009 in MPV, 0.2 ms at the start).
NOISE_PASS_FLOOR = 0.25
LOW_RATE_LO_HZ = 50.0
LOW_RATE_HI_HZ = 100.0
LOW_RATE_STILL_M_S = 0.02  # still: the 10 Hz velocity under this at a sample and its raw neighbours
LOW_RATE_STILL_MIN = 8  # ... and at least this many such samples in the window
# A touch-and-go bottom (issue 9): a "pause" the bottom fit finds no longer than the time both branches
# take to climb one step plus this many noise sd, and no longer than VERTEX_MAX_S, is the turn
# itself, unresolved by the sensor (tuned on seeds 0-14 of the jump, bounce and beta families).
VERTEX_NOISE_SD = 2.0
VERTEX_MAX_S = 0.015
# ... tapered, not switched: a pause past either limit keeps a share of the hidden time that falls
# to none at (1 + VERTEX_TAPER) times the limit (tuning seeds 0-44: 0.5 beat 0.25 and 1).
VERTEX_TAPER = 0.5
# ... and such a turn's vertex: a cubic over this long either side of it, and at least this many raw
# samples (tuning seeds 0-19 of bounce and jump, 1 kHz: 16-22 ms beat 8-12 and 30-40)
VERTEX_FIT_S = 0.018
VERTEX_FIT_SAMPLES = 4.0
VERTEX_FIT_MAX_S = 0.04  # ... but not wider than this (100 Hz; tapered to none at 1.5 times it): a cubic
# over a slower sensor's samples spans shapes it cannot follow (a 25 Hz rep: its start 6 ms early)
VERTEX_RISE_LO = 1.0  # ... where the cubic rises either side by more than this many climbs (a step and
VERTEX_RISE_HI = 2.0  # the noise) over its window: all of it from _HI, none below _LO (tuning seeds
# 0-29: 2-4 kept it off half the 1 mm bounces, whose starts it places within 0.5 ms; 0.5-1 let it onto
# Beta onsets from rest, one stop verdict lost)
EXTREME_NOISE_SD = 3.0  # samples within this many sd (or the step floor) of an extreme count as at it
# The whole-phase shape fit (phase.fit_phase_lm) is taken only where it explains the rep:
SHAPE_MAX_NOISE_RATIO = 1.0  # accept the shape fit if its RMS residual is within this factor of the noise
# (tuning seeds 0-29 at 100 Hz-1 kHz: on the Beta family, the fit's own model, 99 % of reps lie under
# 1.0 and none above 1.25, and there it is better on 92-97 % of them; on every other family it was
# taken at 2.0 on up to 15 % of the reps, almost all above 1.25, and was worse on most (smooth
# at 1 mm: stop rep 41 -> 53 % at 1.0); half-sine reps at 0.2 mm, median 1.07 (10 % above 1.56), were
# placed 12-17 ms wide at either end)
SHAPE_LOW_RATE_HZ = 100.0  # ... times this over the raw rate, up to 2, below it: at 40-80 Hz the
# Beta family's own reps reach 2.1 (the grid between samples is interpolated, an error that the
# scatter about the filter does not hold), and there the fit is still better on them (bench_core.py)
SHAPE_BODY_GAIN = 8.0  # ... with its body factor c free (phase.fit_phase_lm's seventh parameter) where
# that lowers the residual by more than this many noise variances (all of it from twice this; the samples
# counted as for SHAPE_END_EXCESS). bench_shapes.py's tuning seeds 0-19, MV median / p95 (c fixed at 0 ->
# here): half-sine 0.0049 / 0.0185 -> 0.0015 / 0.0139, raised cosine 0.0203 / 0.0380 -> 0.0094 / 0.0354,
# minimum-jerk (exactly Beta) 0.0008 / 0.0048 -> 0.0008 / 0.0080. Always free (0): half-sine 0.0015 /
# 0.0087, raised cosine 0.0048 / 0.0292, but minimum-jerk 0.0035 / 0.0191 and the Beta family's median
# 1.5-2 times worse (bench_families.py); at 4: minimum-jerk p95 0.0150; at 16: raised cosine median 0.0164.
SHAPE_BODY_AGREE = 8.0  # ... the gain also counting, by this factor, how much closer to the local fits'
# ends (in their uncertainties, unc0 and unc1 below) the freed fit's ends lie than the Beta fit's: the
# local power laws see the tails that the whole-phase residual hardly weighs. A raised cosine at 0.6 mm
# and 570 Hz: the freed fit found c = 1.6 and both ends within 2 ms, but lowered the residual by only
# 1.3-7 noise variances, so the Beta fit stayed, its ends 7 ms wide. bench_shapes.py's tuning seeds 0-19,
# MV median / p95 (0 -> 4 -> 8 -> 16): raised cosine 0.0094 / 0.0354 -> 0.0070 / 0.0351 -> 0.0055 /
# 0.0344 -> 0.0049 / 0.0330; minimum-jerk p95 0.0080 -> 0.0077 -> 0.0084 -> 0.0091; half-sine p95
# 0.0139 -> 0.0121 -> 0.0111 -> 0.0117. Fresh seeds at 8: raised cosine 0.0074 / 0.0350 -> 0.0054 /
# 0.0318, the other shapes within 0.0003; bench_families.py's tuning seeds (with and without
# --vibration 0.6): 9 of 5,754 reps moved, 7 of them closer.
SHAPE_BODY_MAX_C = 2.5  # ... and only while c stays under this (none from 1 more; a negative c is held by
# SHAPE_BODY_MIN_C below, tighter than the |c| this limit was first measured as): textbook reps lie
# within 2 (half sine 0.97, raised cosine 1.93), while the fit runs to c = -8 on the forcevel family's
# reps, which the checks below then refused; not under a cable's vibration, whose scatter widens them
# (bench_families.py --vibration 0.6, tuning seeds 0-39, MV p95, before the body factor -> c free
# -> held here: forcevel 1 mm 0.0177 -> 0.0201 -> 0.0187, plateau "fine" 0.0135 -> 0.0160 -> 0.0143;
# the figures without vibration and bench_shapes.py's did not move)
SHAPE_BODY_MIN_C = -0.5  # ... and not below this (none of it from 0.5 lower): no rep here wants a body
# thinner than the Beta profile's, yet on a noiseless 1 mm staircase the fit found c = -1.5 on a
# minimum-jerk rep (exactly Beta(3, 3)) with a gain of 15-23 noise variances and placed both ends
# 12-15 ms wide. bench_shapes.py --sensor 1000,1,0, MV median / p95, tuning seeds: minimum-jerk 0.0040 /
# 0.0264 -> 0.0038 / 0.0152, the other shapes unchanged; fresh: minimum-jerk 0.0033 / 0.0178 -> 0.0030 /
# 0.0141, hip thrust p95 0.0250 -> 0.0229; bench_families.py's tuning seeds: 4 of 5,754 reps moved (2
# closer), under --vibration 0.6 16 (15 closer: plateau csv / fine p95 0.0160 / 0.0143 -> 0.0158 / 0.0138)
SHAPE_AGREE_K = 2.0  # ... and it moves each end by at most this many times the local fit's uncertainty
SHAPE_UNC_SAMPLES = 2.0  # (that uncertainty never below this many raw sample spacings). Tuning seeds
# 0-29: K = 3 let the Beta profile move forcevel and plateau ends at 1 mm by 15-28 ms (K = 2: 37
# reps better, 14 worse, most on those two); without the floor, K = 2 cost bench_core.py's Beta
# sets on 50-100 Hz sensors (MV p95 0.0144 -> 0.0160; with it 0.0144)
SHAPE_AGREE_SHARE = 0.1  # ... and never more than this share of the duration
SHAPE_END_EXCESS = 16.0  # ... and near each end it fits the samples worse than that end's local branch
# by fewer than this many noise variances (raised below 100 Hz as the residual limit is). A half-sine rep
# at 0.5 mm holds its whole residual within the noise, yet its ends sit 5-6 ms wide (MV 2.2 % low):
# near them it is 20-80 noise variances worse, the Beta family's own reps about 0. bench_shapes.py's
# tuning seeds 0-39: half-sine median 0.0116 -> 0.0050 (at 8: 0.0034, but minimum-jerk p95
# 0.0054 -> 0.0131); counting every grid sample, not the raw ones: Beta family csv p95 0.0157 -> 0.0210;
# without the raise below 100 Hz: bench_core.py's 55 Hz Beta sets p95 0.0131 -> 0.0168, a stop rep lost.
# The samples count as independent by the white share of the noise (_white_sd): a cable's vibration
# (20-60 Hz) is not white, and counted as white it refused the fit on the Beta family's own vibrating
# reps (bench_families.py --vibration 0.6, fresh: Beta csv / 1 mm p95 0.0174 / 0.0165 -> 0.0210 /
# 0.0195; with the white share 0.0174 / 0.0178, half-sine median 0.0050 -> 0.0064)
SETTLE_MAX_M = 0.012  # corrections at the bottom: within this of the lowest point (real grinds: 2-10 mm)
SETTLE_SHARE = 0.05  # ... and this share of the rise
SETTLE_MIN_M = 0.002  # ... and at least this (or 3 steps) above it: a correction, not a slow onset
SETTLE_STILL_S = 0.06  # ... followed by the bar held still this long: the rise starts after it
HOLD_NOISE_SD = 6.0  # a held bar's samples span this many sd of the noise (150 of them)
HOLD_SPAN_STEPS = 2.01  # ... or this many encoder steps (two, and the rounding's margin)
HOLD_DRIFT_FLOOR = 0.5  # ... and the 10 Hz bar moves by at most this share of the floor across them
HOLD_DRIFT_SD = 1.0  # ... or this many sd of the white noise (both set by hand; a quarter of the floor: worse)
STAIRCASE_SD_STEPS = 0.37  # the robust (MAD) sd of a noiseless staircase about a smooth curve, in steps
SETTLE_LONG_S = 0.15  # a hold this long within SETTLE_MAX_M of the lowest point: the rise starts after it
SHAPE_MIN_STILL_S = 0.02  # ... and only when the local fit finds the bar still this long before the rise
TOL_STEPS_K = 1.5  # the tolerance floor is this many encoder steps (vbt.tracker.TOL_STEPS)
SHAPE_HOLD_SHARE = 0.15  # the fit also takes in the still bar either side, up to this share of the duration
# The end's fit also on a shorter window where the braking into the top is short against the 3 %
# window (plateau family: braking at 12-25 m/s^2 over 3-50 mm; one power law over the window then
# reads the plateau's straight line into the top and ended its reps 6 ms early at the median).
END_BRAKE_K = 2.0  # the short window reaches this many times the rise from the sharpest 10 Hz braking to the top
END_SHORT_MIN_M = 0.002  # ... but at least this high
END_SHORT_MIN_FLOORS = 8.0  # ... and this many tolerance floors (12 encoder steps)
END_SHORT_RAW = (15.0, 25.0)  # ... and its share grows from none to all over this many raw samples in it
END_SHORT_AGREE = (0.25, 0.75)  # ... and from none to all as its end and the full window's differ by these
# shares of the end's uncertainty (bands, not switches: a switch moved an end 6 ms on times re-spaced by
# a fraction of a millisecond, tests/test_io_fast.py)
# The start's fit also on shorter windows where one power law does not fit the full one (issue 9:
# a slow lead-in, then the push; one power law spans both, and the smooth family's starts came
# 25-70 ms early or 15-40 ms late). Where the rise's residual about the full window's fit lies beyond
# the noise (the still samples' own scatter about the fitted level; a chi-square's mean plus
# START_CHI_K sd of it, a band up to 1.5 times that), the start moves toward the fit on a window
# START_SHRINK times as high, by that share, and so on down, never below the end's short-window floors;
# where the smallest still fails, back to the full window's fit. Only the start's power law moves:
# the force build-up (ramp_onset) and the counts' crossings (staircase_onset) keep the full window.
# Tuning seeds 0-39 (bench_families.py): smooth MV p95 csv 0.0339 -> 0.0318, fine 0.0260 -> 0.0253, the
# other families within 0.0001 (MV median) and 0.0004 (Beta fine MPV p95). Tried there and not kept:
# START_CHI_K 3 (alike, more Beta reps moved); the noise from second differences instead of the still
# samples (resampled onto the grid, a 745 Hz sensor's still samples scatter by 0.196 mm where second
# differences say 0.155, and pulls of bench_shapes.py whose rise fit within that scatter "failed");
# the best-fitting window where none passes (Beta reps that no window fits moved); the build-up and
# crossings fits on the shorter window too (bench_shapes.py pull MV median 0.0079 -> 0.0091: a gentle
# break from the floor started 3-13 ms later).
START_SHRINK = (0.7, 0.5, 0.35)
START_CHI_K = 5.0
START_CHI_STILL = 20  # still samples that give the noise (fewer: the white noise and the steps' rounding)
FINAL_RISE_MIN_SHARE = 0.5  # a last rise shorter than this share of the recorded rise is not the rep (see analyze_rep)
SOFT_BAND = 0.25  # the shape fit's limits are bands: its share falls from all at 0.75 of a limit to none at 1.25
STAIR_MAX_MOVE_S = 0.04  # the crossings fit moves the samples' start by at most this (see analyze_rep)


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
def ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol, d):
    """Does a concentric phase from (t0, x0) to (t1, x1) agree with the recorded samples ``x``?

    Within ``tol`` (the encoder step and the noise the recording shows): the bar never goes
    below the start's level after the start, never descends inside the phase, never rises above
    the end's level after the end (up to ``t_stop``), and the fitted levels are the recorded ones.
    An end may lie inside a still stretch; never where the bar still moves the other way. A descent
    is one the raw neighbours (``d`` grid samples either side) share: their median is down as well,
    so a single reading flicked two counts by the noise is not one."""
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
        if x[j] < x0 - tol or (run_max - x[j] > tol and run_max - median3(x, j, d) > tol):
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
def _last_still_run(x, xf, ib, ip, settle, n_still, tol, above, drift_tol):
    """The last sample j in (ib, ip) that ends a still run lying more than ``above`` over x[ib],
    before the bar first rises ``settle`` over x[ib]; -1 when there is none. Still: the samples
    j - n_still..j lie within ``tol`` of each other, and the filtered bar ``xf`` moves by no more
    than ``drift_tol`` across them."""
    k_exit = ib
    while k_exit < ip and x[k_exit] <= x[ib] + settle:
        k_exit += 1
    j = k_exit - 1
    while j > ib + n_still:
        lo_v = x[j]
        hi_v = x[j]
        k = j
        while k > ib and j - k < n_still:
            k -= 1
            lo_v = min(lo_v, x[k])
            hi_v = max(hi_v, x[k])
        if x[j] - x[ib] > above and hi_v - lo_v <= tol and abs(xf[j] - xf[k]) <= drift_tol:
            return j
        j -= 1
    return -1


@njit(cache=True)
def _hold_after(x, xf, ib, ip, settle, fs, hold_tol, tol_floor_m, drift_tol):
    """The end of the hold after a correction at the bottom ``ib`` (see _last_still_run), -1 if none:
    a still run of SETTLE_STILL_S within ``settle`` of it and clearly above it, else a long one."""
    run_end = _last_still_run(x, xf, ib, ip, settle, int(SETTLE_STILL_S * fs), hold_tol,
                              max(3.0 * tol_floor_m, SETTLE_MIN_M), drift_tol)
    if run_end < 0:
        # A long hold after a correction is unambiguous, however small the correction (a 3-4 mm
        # dip and back at 1 mm per count) and however short the phase around the peak (a grind
        # with a hold mid-rise): the rise starts after it.
        run_end = _last_still_run(x, xf, ib, ip, SETTLE_MAX_M, int(SETTLE_LONG_S * fs), hold_tol, tol_floor_m,
                                  drift_tol)
    return run_end


@njit(cache=True)
def _window_after_hold(x, run_end, lo, hi_limit, h, tol):
    """(k, right): the start's fit window after a hold that ends at ``run_end``. It runs from k, the
    first sample back from ``run_end`` (not before ``lo``) within ``tol`` of its reading, to where
    the bar is ``h`` above the hold (_window_below, up to ``hi_limit``)."""
    k = run_end
    while k > lo and abs(x[k - 1] - x[run_end]) <= tol:
        k -= 1
    return k, _window_below(x, run_end, k, hi_limit, h)[1]


@njit(cache=True)
def _fit_end(t, x, lo, hi, first_right, shape_passes, two_term, coef, times, exps):
    """One end of a rep: the three-piece fit of samples lo..hi-1, with exponents chosen by the data
    (and, if ``two_term``, the onset's or arrival's second term; an arrival's exponent is then
    weighed against the next higher one, :func:`refit_two_term_exponents`) when ``shape_passes``
    > 0, else both exponents 2. ``exps`` receives the exponents used."""
    if shape_passes > 0:
        fit_turning_point_auto(t, x, lo, hi, first_right, coef, times, exps)
        if two_term and not first_right:
            refit_two_term_exponents(t, x, lo, hi, first_right, coef, times, exps,
                                     AUTO_RADIUS_SHARE * (t[hi - 1] - t[lo]))
        elif two_term:
            refit_two_term(t, x, lo, hi, exps[0], exps[1], first_right, coef, times,
                           AUTO_RADIUS_SHARE * (t[hi - 1] - t[lo]))
    else:
        exps[0] = 2.0
        exps[1] = 2.0
        fit_turning_point(t, x, lo, hi, 2.0, 2.0, coef, times)


@njit(cache=True)
def _onset_chi(t, x, lo, hi, t_still, t0, p, noise2):
    """How far one power law from a still level fails the rise in samples lo..hi-1 (onset ``t0``,
    exponent ``p``; level and gain refitted on the samples from ``t_still`` on): the rise's mean
    squared residual over the noise, against 1 + START_CHI_K sd of that mean for pure noise, as a
    share from 0 (within the limit) to 1 (at 1.5 times it). The noise: the still samples' own
    scatter about the fitted level where there are START_CHI_STILL of them (it holds what
    resampling a slower sensor onto the grid does to the noise), and never under ``noise2``. 0
    where the rise holds fewer than 8 samples or there is no noise."""
    j0 = lo
    while j0 < hi and t[j0] < t_still:
        j0 += 1
    jt = j0
    while jt < hi and t[jt] <= t0:
        jt += 1
    m = hi - jt
    if m < 8:
        return 0.0
    c2 = np.empty(2)
    _onset_sse(t, x, j0, hi, t0, NO, p, c2)
    s_still = 0.0
    s_rise = 0.0
    for j in range(j0, hi):
        d = x[j] - c2[0] - c2[1] * rise_basis(t[j] - t0, 0, p)
        if j < jt:
            s_still += d * d
        else:
            s_rise += d * d
    ref = noise2
    if jt - j0 >= START_CHI_STILL:
        ref = max(ref, s_still / (jt - j0))
    if ref <= 0.0:
        return 0.0
    chi = s_rise / (m * ref)
    return 1.0 - _band(chi / (1.0 + START_CHI_K * math.sqrt(2.0 / m)), 1.0, 1.0 + 2.0 * SOFT_BAND)


@njit(cache=True)
def _start_fit_row(coef, times, exps, row):
    """One start fit as a row: t_ecc_end, t0, c0, c_off, c_on, p_on."""
    row[0:2] = times
    row[2:5] = coef
    row[5] = exps[1]


@njit(cache=True)
def _start_fit_from_row(row, coef, times, exps):
    """The start fit a _start_fit_row holds, back into ``coef``, ``times`` and ``exps``."""
    times[:] = row[0:2]
    coef[:] = row[2:5]
    exps[1] = row[5]


@njit(cache=True)
def _start_on_shorter(t, x, left, right, anchor, ip, h, h_min, noise2, shape_passes, coef, times, exps):
    """The start's three-piece fit (``coef``, ``times``, ``exps``: the full window's, samples
    left..right, on entry) moved toward the fits on windows START_SHRINK times as high, each by
    the share its larger window fails one power law (:func:`_onset_chi`), down the windows in turn;
    where the smallest tried still fails, back to the full window's. A blend, not a switch: a tiny
    change in the data moves the start a little. Each window runs from ``left`` to where the bar is
    that high above x[``anchor``] (the bottom, or the end of a hold after it; as _window_below).
    Returns the right end of the smallest window tried (``right`` where none was), which the shape
    fit's check of the start's branch then reads."""
    nk = len(START_SHRINK) + 1
    fits = np.empty((nk, 6))  # one _start_fit_row per window
    fail = np.zeros(nk)
    _start_fit_row(coef, times, exps, fits[0])
    fail[0] = _onset_chi(t, x, left, right + 1, times[0], times[1], exps[1], noise2)
    n_fit = 1
    right_s = right
    c_k = np.empty(3)
    t_k = np.empty(2)
    e_k = np.full(2, 2.0)
    while n_fit < nk and fail[n_fit - 1] > 0.0:
        hq = h * START_SHRINK[n_fit - 1]
        if hq < h_min:
            break
        rq = _window_below(x, anchor, anchor, ip, hq)[1]
        _fit_end(t, x, left, rq + 1, YES, shape_passes, np.bool_(TWO_TERM), c_k, t_k, e_k)
        _start_fit_row(c_k, t_k, e_k, fits[n_fit])
        fail[n_fit] = _onset_chi(t, x, left, rq + 1, t_k[0], t_k[1], e_k[1], noise2)
        n_fit += 1
        right_s = rq
    if n_fit == 1:
        return right
    # fold from the smallest window tried: past it, the full window's fit
    est = fits[0].copy()
    for k in range(n_fit - 1, -1, -1):
        for q in range(6):
            est[q] = fits[k, q] + fail[k] * (est[q] - fits[k, q])
    _start_fit_from_row(est, coef, times, exps)
    return right_s


# A rise from a still bar (issue 9): force builds up over tens of ms (the rate of force development),
# so position leaves the still level as u^3 before it goes as u^2, and one power law over the window
# starts late (forcevel +11 ms, plateau +13 ms median). Build-up times tried, and how far before the
# power law's onset the ramp's is searched.
RAMP_TAUS = (0.005, 0.01, 0.02, 0.03, 0.045, 0.06, 0.08, 0.1, 0.13, 0.16)
RAMP_BACK_S = 0.06
RAMP_PENALTY = 2.0  # AIC parameters charged for the build-up time (chance fits of a step of force stay out)


@njit(cache=True)
def _onset_sse(t, x, lo, hi, t0, ramp, par, coef2):
    """Residual SS of x ~ c0 + g*B(t - t0) over samples lo..hi-1, both coefficients fitted (into
    ``coef2``). B is the power law u^par, or with ``ramp`` the rise from rest under a force that builds
    up linearly for ``par`` seconds and then holds: u^3/(6 par), then u^2/2 - par u/2 + par^2/6."""
    s1 = 0.0
    sr = 0.0
    srr = 0.0
    sx = 0.0
    srx = 0.0
    sxx = 0.0
    for j in range(lo, hi):
        r = rise_basis(t[j] - t0, 1 if ramp else 0, par)
        s1 += 1.0
        sr += r
        srr += r * r
        sx += x[j]
        srx += r * x[j]
        sxx += x[j] * x[j]
    det = s1 * srr - sr * sr
    if det <= 0.0:
        return 1e300
    c0 = (srr * sx - sr * srx) / det
    gain = (s1 * srx - sr * sx) / det
    coef2[0] = c0
    coef2[1] = gain
    return max(sxx - c0 * sx - gain * srx, 0.0)


@njit(cache=True)
def _end_excess(t, x, ph, lo, hi, tk, p, right, noise2, rate_share):
    """How much worse the whole-phase model ``ph`` fits samples lo..hi-1 (one end's window: the
    still bar and the branch) than that end's local branch does (turning time ``tk``, exponent
    ``p``; level and coefficient refitted, as :func:`_onset_sse` does, on reversed time for an
    arrival): the difference of their residual sums of squares in noise variances, the grid's
    samples counted as independent by ``rate_share`` (the raw rate over the grid's, as interpolated
    samples are not independent, times the noise's white share). Negative where the whole-phase
    model fits better."""
    m = hi - lo
    if m < 3 or noise2 <= 0.0:
        return 0.0
    coef2 = np.empty(2)
    if right:
        s_l = _onset_sse(t, x, lo, hi, tk, False, p, coef2)
    else:
        s_l = _onset_sse(-t[lo:hi], x[lo:hi], 0, m, -tk, False, p, coef2)
    if s_l >= 1e300:  # no sample on the branch: nothing to tell the models apart
        return 0.0
    return (phase_window_ms(t, x, lo, hi, ph) * m - s_l) / noise2 * min(1.0, rate_share)


@njit(cache=True)
def _best_onset(t, x, lo, hi, a, b, ramp, par, coef2):
    """The onset in [a, b] that :func:`_onset_sse` finds best, by golden section (the bracket's middle)."""
    gr = 0.6180339887498949
    c1 = b - gr * (b - a)
    c2 = a + gr * (b - a)
    f1 = _onset_sse(t, x, lo, hi, c1, ramp, par, coef2)
    f2 = _onset_sse(t, x, lo, hi, c2, ramp, par, coef2)
    while b - a > 2e-5:
        if f1 < f2:
            b = c2
            c2 = c1
            f2 = f1
            c1 = b - gr * (b - a)
            f1 = _onset_sse(t, x, lo, hi, c1, ramp, par, coef2)
        else:
            a = c1
            c1 = c2
            f1 = f2
            c2 = a + gr * (b - a)
            f2 = _onset_sse(t, x, lo, hi, c2, ramp, par, coef2)
    return 0.5 * (a + b)


@njit(cache=True)
def ramp_onset(t, x, lo, hi, t_still, t0_pow, p_on):
    """A rise from a still bar whose force builds up over tens of ms: position leaves the still
    level as u^3 and only later as u^2, so one power law fitted over the window starts late. Fit
    the ramp model (onset, build-up time, level, gain) to the samples from ``t_still`` on; return
    the two onsets averaged by the models' Akaike weights (the ramp charged RAMP_PENALTY extra
    parameters): the ramp's where it fits clearly better, ``t0_pow`` where it does not."""
    j0 = lo
    while j0 < hi and t[j0] < t_still:
        j0 += 1
    m = hi - j0
    if m < 12:
        return t0_pow
    a = max(t_still, t0_pow - RAMP_BACK_S)
    b = t0_pow + 0.01
    if not b > a:
        return t0_pow
    c2 = np.empty(2)
    # the power law's own best onset on these samples (the window's fit also weighed the descent)
    t_pow = _best_onset(t, x, j0, hi, a, b, NO, p_on, c2)
    base = min(_onset_sse(t, x, j0, hi, t0_pow, NO, p_on, c2), _onset_sse(t, x, j0, hi, t_pow, NO, p_on, c2))
    best = 1e300
    best_t0 = t0_pow
    for q in range(len(RAMP_TAUS)):
        tau = RAMP_TAUS[q]
        tm = _best_onset(t, x, j0, hi, a, b, YES, tau, c2)
        f = _onset_sse(t, x, j0, hi, tm, YES, tau, c2)
        if f < best and c2[1] > 0.0:
            best = f
            best_t0 = tm
    if best >= 1e300 or base <= 0.0 or best <= 0.0:
        return best_t0 if best < base * math.exp(-2.0 * RAMP_PENALTY / m) else t0_pow
    # Both models weighed by their Akaike weights, not the better one taken whole: two fits
    # within a few AIC units of each other are about as likely, and a hard choice between them
    # moves the start by the difference on a tiny change in the data.
    w = akaike_share(m * math.log(best / base) + 2.0 * RAMP_PENALTY)
    return t0_pow + w * (best_t0 - t0_pow)


@njit(cache=True)
def _band(r, lo, hi):
    """A limit as a band: 1 for r <= lo, 0 for r >= hi, linear between."""
    return min(1.0, max(0.0, (hi - r) / (hi - lo)))


@njit(cache=True)
def _branch_time(sig, c, p):
    """The time a branch c * u^p takes to move by ``sig``: how far its turning point is left open
    by the noise (1 s for a flat branch)."""
    return (sig / c) ** (1.0 / p) if c > 0.0 else 1.0


@njit(cache=True)
def _within(r):
    """1 well inside a limit (r <= 1 - SOFT_BAND), 0 well beyond it (r >= 1 + SOFT_BAND)."""
    return _band(r, 1.0 - SOFT_BAND, 1.0 + SOFT_BAND)


@njit(cache=True)
def _still_rms_sd(x, v, d):
    """The noise of the window's still samples (the 10 Hz velocity ``v`` under LOW_RATE_STILL_M_S
    at a sample and at both its neighbours ``d`` grid samples away), from the mean square of their
    second differences (not the median: on a staircase most of them are zero); 0 with fewer than
    LOW_RATE_STILL_MIN of them."""
    n = x.shape[0]
    s2 = 0.0
    m = 0
    j = d
    while j + d < n:
        if abs(v[j - d]) < LOW_RATE_STILL_M_S and abs(v[j]) < LOW_RATE_STILL_M_S and \
                abs(v[j + d]) < LOW_RATE_STILL_M_S:
            e = x[j + d] - 2.0 * x[j] + x[j - d]
            s2 += e * e
            m += 1
        j += d
    if m < LOW_RATE_STILL_MIN:
        return 0.0
    return math.sqrt(s2 / (6.0 * m))


@njit(cache=True)
def _white_sd(x, lo, hi, d):
    """The white part of the noise on samples lo..hi (a robust sd from second differences at a
    spacing of ``d`` grid samples: a rise's own motion and a 20-60 Hz vibration hardly reach them)."""
    m = (hi - lo) // d - 1
    if m < 3:
        return 0.0
    a = np.empty(m)
    for k in range(m):
        j = lo + (k + 1) * d
        a[k] = abs(x[j + d] - 2.0 * x[j] + x[j - d])
    return 1.4826 * median_of(a) / math.sqrt(6.0)


@njit(cache=True)
def _still_share(pause):
    """How far a rise counts as "from a still bar", by the still time before its start: 0 up to
    0.75 SHAPE_MIN_STILL_S, 1 from 1.25 of it, linear between (a band, not a line)."""
    return _within(2.0 - pause / SHAPE_MIN_STILL_S)


@njit(cache=True, nogil=True)  # nogil: a whole recording's reps are analysed on several threads
def analyze_rep(x, coeffs, bottom, top, prev_top, settings, out):
    """Metrics of the rep whose rise runs from sample ``bottom`` to ``top`` of window ``x``, into
    ``out[0]`` (a REP_RESULT record); ``settings[0]`` is a REP_SETTINGS record, ``coeffs`` the low-pass's.

    ``prev_top`` is the start of the preceding descent within the window (-1: none). Times in
    ``out`` are in seconds from x[0]. ``out[0].ok`` is True when the rep is valid.
    """
    cfg = settings[0]
    fs = cfg.fs_hz
    n_pad = cfg.n_pad
    fit_fraction = cfg.fit_fraction
    fit_min_m = cfg.fit_min_m
    fit_side_s = cfg.fit_side_s
    load_kg = cfg.load_kg
    shape_passes = cfg.shape_passes
    tol_floor_m = cfg.tol_floor_m
    r = out[0]
    r.ok = False
    r.method = -1
    r.t0_s = np.nan
    r.t1_s = np.nan
    r.mean_velocity_m_s = np.nan
    r.mean_propulsive_velocity_m_s = np.nan
    r.peak_velocity_m_s = np.nan
    r.rom_m = np.nan
    r.time_to_peak_velocity_s = np.nan
    r.eccentric_duration_s = np.nan
    r.eccentric_mean_velocity_m_s = np.nan
    r.bottom_pause_s = np.nan
    r.mean_force_n = np.nan
    r.peak_force_n = np.nan
    r.mean_power_w = np.nan
    r.peak_power_w = np.nan
    n = x.shape[0]
    dt = 1.0 / fs
    xf = np.empty(n)
    filtfilt(x, coeffs, n_pad, xf)
    v = np.empty(n)
    acc = np.empty(n)
    differentiate(xf, fs, v, acc)
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
    # the highest recorded point of the rise (the end's fit is anchored on it below)
    it = ip
    for j in range(ip, top + 1):
        if x[j] > x[it]:
            it = j
    settle = min(SETTLE_MAX_M, SETTLE_SHARE * (x[it] - x[ib]))  # of the whole recorded rise
    # Held still: within a step, or within the noise (a 0.1-0.2 mm sensor with 0.1-0.2 mm of
    # noise spans ~6 sd over 150 samples): the noise beyond what the steps explain. (Within a step
    # alone, a noisy 0.1-0.5 mm sensor's bar never held still between a correction and the rise, and
    # the rise started at the correction's dip, 0.2-0.5 s early: grinder tuning seeds 2, 16, 18 at 1 kHz.)
    # Or within two steps: noise of a third of a step reads on three levels, yet its robust scatter
    # looks like a noiseless staircase's (most samples sit on the middle level), so no noise shows
    # "beyond" the steps (a fine sensor's 0.45 mm steps with ~0.15 mm of noise: robust sd 0.161 mm,
    # a staircase's 0.166). Within 1.5 steps, five grinder reps of the tuning seeds (csv 33, 35;
    # fine 19, 31) started 0.2-0.4 s early, at a correction's dip; within two, 2-14 ms from the truth.
    step = tol_floor_m / TOL_STEPS_K
    sd_beyond = math.sqrt(max(0.0, sd_noise * sd_noise - (STAIRCASE_SD_STEPS * step) ** 2))
    hold_tol = max(tol_floor_m, HOLD_NOISE_SD * sd_beyond, HOLD_SPAN_STEPS * step)
    # And the 10 Hz bar stays put across the run: within half the floor, or the white noise (from
    # successive differences, which a 20-60 Hz vibration hardly moves at 1 kHz). A slow start is
    # not a hold, though its samples may lie within the allowance for 60 ms:
    #  - the noise measured over the rise holds a cable's vibration or a tremor, and six times it
    #    let a rise whose speed grows from rest (t^2.5; 0.5 mm steps, 0.6 mm at 35 Hz) "hold" 2.5 mm
    #    up, 0.35 s into it: MV 25 % high;
    #  - within 1.5 steps alone, a noiseless 1 mm encoder "held" a 3.5 s grind's creep (under
    #    12 mm/s) 0.6 s into it: MV 20 % high (fresh smooth seed 100028 at 1 mm: 289 ms, MV +0.055).
    for j in range(nr - 1):
        dev[j] = abs(x[bottom + j + 1] - x[bottom + j])
    sd_white = 1.4826 * median_of(dev[:nr - 1]) / math.sqrt(2.0) if nr > 1 else 0.0
    drift_tol = max(HOLD_DRIFT_FLOOR * tol_floor_m, HOLD_DRIFT_SD * sd_white)
    run_end = _hold_after(x, xf, ib, ip, settle, fs, hold_tol, tol_floor_m, drift_tol)
    if run_end > 0:
        ib, right = _window_after_hold(x, run_end, ib, ip, h, tol_floor_m)
        left = ib
    else:
        left, right = _window_below(x, ib, max(0, ib - side), ip, h)
    times = np.empty(2)
    exps = np.full(2, 2.0)
    _fit_end(t, x, left, right + 1, YES, shape_passes, np.bool_(TWO_TERM), coef, times, exps)
    raw_hz = cfg.raw_hz if cfg.raw_hz > 0.0 else fs  # (0: the samples came on the grid)
    raw_dt = 1.0 / raw_hz
    d_raw = max(1, int(round(raw_dt * fs)))  # grid samples per raw sample (the end checks' neighbours)
    right_s = right  # the start's power-law window's right end (shorter where one power law fails the full)
    if shape_passes > 0 and times[1] - times[0] >= 0.75 * SHAPE_MIN_STILL_S:
        w_sd = _white_sd(x, left, right + 1, d_raw)
        right_s = _start_on_shorter(t, x, left, right, run_end if run_end > 0 else ib, ip, h,
                                    max(END_SHORT_MIN_M, END_SHORT_MIN_FLOORS * tol_floor_m),
                                    w_sd * w_sd + step * step / 12.0, shape_passes, coef, times, exps)
    c_on = abs(coef[2])
    p_on = exps[1]
    t0 = times[1]
    t_ecc_end = times[0]
    x0 = coef[0]
    # A touch-and-go bottom: the three-piece fit finds a short "pause" where the recorded bar stays
    # within a step of its lowest point, straddling the turn (each branch takes a while to climb a
    # step). When the pause is no longer than that, the bar never stopped: the turn lies inside
    # it, where each branch's share of the unseen time puts it.
    # Tapered, not switched (VERTEX_TAPER): a switch moved the start by the whole hidden time on
    # a tiny change in the data (a live byte clock's stamps: 5 ms, 0.7 % of MV, at 1 mm).
    c_off = abs(coef[1])
    pause = t0 - t_ecc_end
    climb = tol_floor_m / TOL_STEPS_K + VERTEX_NOISE_SD * sd_noise  # a step and the noise
    if 0.0 < pause < (1.0 + VERTEX_TAPER) * VERTEX_MAX_S and c_on > 0.0 and c_off > 0.0:
        w_l = (climb / c_off) ** (1.0 / exps[0])
        w_r = (climb / c_on) ** (1.0 / p_on)
        u = w_l + w_r
        hidden = min(pause, u) * _band(pause / u, 1.0, 1.0 + VERTEX_TAPER) \
            * _band(pause / VERTEX_MAX_S, 1.0, 1.0 + VERTEX_TAPER)
        if hidden > 0.0:
            t_ecc_end += hidden * w_l / u
            t0 -= hidden * w_r / u
    still_w = _still_share(t0 - t_ecc_end)
    if still_w < 1.0:
        # A turn without a stop: the velocity crosses zero with a finite slope, the position is
        # smooth there, and a cubic about the lowest point places the turn where the branches
        # (power laws, each bending away from the other over the window) put it late
        # (vbt.kernels.turning.vertex_fit).
        vt = np.empty(6)
        w_v = max(VERTEX_FIT_S, VERTEX_FIT_SAMPLES * raw_dt)
        if vertex_fit(t, x, 0, n, t0, w_v, vt) and abs(vt[0] - t0) <= w_v:
            # ... where the bar visibly comes down to it and goes up from it: a still bar before
            # a sharp rise, or a turn too gentle for the window to see, is not such a vertex
            s_v = (1.0 - still_w) * (1.0 - _band(min(vt[4], vt[5]) / climb, VERTEX_RISE_LO, VERTEX_RISE_HI)) \
                * _band(w_v / VERTEX_FIT_MAX_S, 1.0, 1.0 + VERTEX_TAPER)
            t0 += s_v * (vt[0] - t0)
            t_ecc_end += s_v * (vt[0] - t_ecc_end)
            x0 += s_v * (vt[1] - x0)
    if still_w > 0.0:  # from a still bar: the force may build up first
        t0 += still_w * (ramp_onset(t, x, left, right + 1, t_ecc_end, t0, p_on) - t0)
    # the samples' fit: the shape refinement below starts from it and is held near it
    t0_ref = t0
    x0_ref = x0
    if still_w > 0.0:
        # A noiseless encoder: the start from the crossings of its counts, the level free within
        # half a step of the still reading (vbt.kernels.staircase).
        st2 = np.empty(2)
        if staircase_onset(t, x, left, right + 1, cfg.step_m, raw_dt, t_ecc_end, st2):
            # ... moved by no more than a level error can explain: the start moves 40-47 ms per
            # step of level error on forcevel at 1 mm, and the level is free within half a step.
            # A larger move is the crossings' power law extrapolated over a slow lead-in (the
            # crossings speed up as the lead-in ends, the highest exponent fits them best, and its
            # start lies 80-150 ms before the samples' fit: smooth tuning seeds 7 and 29 at 1 mm).
            st = min(max(st2[0], t0 - STAIR_MAX_MOVE_S), t0 + STAIR_MAX_MOVE_S)
            t0 += still_w * (st - t0)
            x0 += still_w * (st2[1] - x0)
    # end: samples within h of the highest recorded point of the rise (it)
    firstt = it
    for j in range(it, ip - 1, -1):
        if x[j] >= x[it] - near:
            firstt = j
    it = firstt
    # the noise the fits see: the scatter and the steps (a uniform quantisation error of TOL_STEPS_K floors)
    noise2 = sd_noise * sd_noise + tol_floor_m * tol_floor_m / (TOL_STEPS_K * TOL_STEPS_K * 12.0)
    sig = math.sqrt(noise2)
    # The shorter window: up to END_BRAKE_K times the rise from the sharpest braking of the 10 Hz
    # bar to the top, when that is below h.
    jd = it
    for j in range(ip, it + 1):
        if acc[j] < acc[jd]:
            jd = j
    h_end = min(h, max(END_BRAKE_K * (x[it] - xf[jd]), END_SHORT_MIN_M, END_SHORT_MIN_FLOORS * tol_floor_m))
    left2 = it
    while left2 > right and x[it] - x[left2 - 1] <= h:
        left2 -= 1
    right2 = it
    stop2 = min(n - 1, it + side)
    while right2 < stop2 and x[it] - x[right2 + 1] <= h:
        right2 += 1
    _fit_end(t, x, left2, right2 + 1, NO, shape_passes, np.bool_(TWO_TERM), coef, times, exps)
    if h_end < h:
        left3 = it
        while left3 > right and x[it] - x[left3 - 1] <= h_end:
            left3 -= 1
        n_short = (it - left3) / d_raw  # raw samples in the short window
        if left3 > left2 and n_short > END_SHORT_RAW[0]:
            coef_s = np.empty(3)
            times_s = np.empty(2)
            exps_s = np.full(2, 2.0)
            _fit_end(t, x, left3, right2 + 1, NO, shape_passes, np.bool_(TWO_TERM), coef_s, times_s, exps_s)
            # Both fits agree within the noise: the full window's, which has more samples. They
            # disagree: the power law does not hold over the full window, and the short one's end
            # is taken. (Taken always, on tuning seeds 0-39: the plateau family gained as much, but
            # bounce reps at 1 mm lost; at 1 and 2 times the uncertainty, half the plateau gain or
            # none remained. The sample floor came after the fresh seeds: bounce reps at 100-550 Hz
            # and 0.5-0.9 mm whose short windows held ~10 samples moved their ends 7-10 ms.)
            unc_e = _branch_time(sig, abs(coef[1]), exps[0])
            w_s = (1.0 - _band(n_short, END_SHORT_RAW[0], END_SHORT_RAW[1])) \
                * (1.0 - _band(abs(times_s[0] - times[0]) / unc_e, END_SHORT_AGREE[0], END_SHORT_AGREE[1]))
            if w_s > 0.0:
                for k in range(3):
                    coef[k] += w_s * (coef_s[k] - coef[k])
                for k in range(2):
                    times[k] += w_s * (times_s[k] - times[k])
                if w_s > 0.5:
                    exps[0] = exps_s[0]
                    exps[1] = exps_s[1]
    c_arr = abs(coef[1])
    p_arr = exps[0]
    t1 = times[0]
    t_desc = times[1]
    x1 = coef[0]
    # What the recording shows beyond the fits: the encoder step (floor) and the noise.
    sd_chk = sd_noise / math.sqrt(max(NOISE_PASS_FLOOR, 1.0 - 2.0 * cutoff_of(coeffs, fs) / raw_hz))
    if raw_hz < LOW_RATE_HI_HZ:
        sd_chk = max(sd_chk, _band(raw_hz, LOW_RATE_LO_HZ, LOW_RATE_HI_HZ) * _still_rms_sd(x, v, d_raw))
    tol = max(tol_floor_m, TOL_NOISE_SD * sd_chk)
    t_stop = (n - 1) * dt
    method = 0
    # (The Beta profile starts and ends at rest: only for a rep with still bar either side.)
    still_w = _still_share(t0_ref - t_ecc_end)  # again: the ramp may have moved the start
    if shape_passes > 0 and t1 > t0_ref and x1 > x0_ref and still_w > 0.0:
        # A model-based refinement, taken only where the model explains the rep: the whole
        # phase as one Beta-shaped velocity profile (fit_phase_lm), accepted when its residual is
        # within the recording's own noise (steps and scatter), its ends stay near the local
        # fits', and (below) the ends pass the same checks as any other.
        j0s = max(0, int(math.ceil(t0_ref * fs)))
        j1s = min(n - 1, int(math.floor(t1 * fs)))
        if j1s - j0s >= 8:
            jps = j0s
            for j in range(j0s, j1s + 1):
                if v[j] > v[jps]:
                    jps = j
            pa, pb = beta_from_shape((t[jps] - t0_ref) / (t1 - t0_ref), v[jps] / ((x1 - x0_ref) / (t1 - t0_ref)))
            init = np.empty(6)
            init[0] = x0_ref
            init[1] = x1 - x0_ref
            init[2] = t0_ref
            init[3] = t1 - t0_ref
            init[4] = pa
            init[5] = pb
            ph = np.empty(7)
            marg = SHAPE_HOLD_SHARE * (t1 - t0_ref)
            l_ext = min(max(0, int(math.ceil(max(t0_ref - marg, t_ecc_end) * fs))), j0s)
            r_ext = min(max(min(n - 1, int(math.floor(min(t1 + marg, t_desc) * fs))), j1s + 1), n - 1)
            ms_fit = fit_phase_lm(t, x, l_ext, r_ext + 1, init, ph[:6])
            ph[6] = 0.0
            # The samples count as independent by the white share of the noise (see SHAPE_END_EXCESS).
            q2 = step * step * (1.0 / 12.0 + STAIRCASE_SD_STEPS * STAIRCASE_SD_STEPS)
            share = raw_hz / fs * min(1.0, (_white_sd(x, bottom, top, d_raw) ** 2 + q2)
                                      / max(sd_noise * sd_noise + q2, 1e-30))
            # An end may move only as far as the local fit leaves it uncertain: the time its
            # branch takes to move by the noise or half a step (a sharp reversal pins its end to
            # a few ms; a gentle onset leaves tens of ms open).
            # Never below SHAPE_UNC_SAMPLES raw sample spacings: a 50-100 Hz sensor's ends are no
            # sharper than its samples, and its shape fit corrects them by more than the branches say.
            unc0 = max(_branch_time(sig, c_on, p_on), SHAPE_UNC_SAMPLES * raw_dt)
            unc1 = max(_branch_time(sig, c_arr, p_arr), SHAPE_UNC_SAMPLES * raw_dt)
            # ... and the profile's body factor exp(c s (1 - s)) freed where the samples ask for it
            # (SHAPE_BODY_GAIN, SHAPE_BODY_AGREE): half-sine and raised-cosine reps, whose body a
            # Beta profile can match only with tails too steep, which it then places wide
            if noise2 > 0.0:
                ph7 = np.empty(7)
                ms7 = fit_phase_lm(t, x, l_ext, r_ext + 1, ph, ph7)
                m_ext = r_ext + 1 - l_ext
                gain = (phase_window_ms(t, x, l_ext, r_ext + 1, ph) - phase_window_ms(t, x, l_ext, r_ext + 1, ph7)) \
                    * m_ext / noise2 * min(1.0, share)
                # ... counting also how far each fit's ends lie from the local fits', in their uncertainties
                gain += SHAPE_BODY_AGREE * (((ph[2] - t0_ref) / unc0) ** 2 + ((ph[2] + ph[3] - t1) / unc1) ** 2
                                            - ((ph7[2] - t0_ref) / unc0) ** 2 - ((ph7[2] + ph7[3] - t1) / unc1) ** 2)
                w7 = (1.0 - _band(gain, SHAPE_BODY_GAIN, 2.0 * SHAPE_BODY_GAIN)) \
                    * _band(ph7[6], SHAPE_BODY_MAX_C, SHAPE_BODY_MAX_C + 1.0) \
                    * _band(-ph7[6], -SHAPE_BODY_MIN_C, 0.5 - SHAPE_BODY_MIN_C)
                if w7 > 0.0:
                    for k in range(7):
                        ph[k] += w7 * (ph7[k] - ph[k])
                    ms_fit += w7 * (ms7 - ms_fit)
            shift0 = min(SHAPE_AGREE_K * unc0, SHAPE_AGREE_SHARE * (t1 - t0_ref))
            shift1 = min(SHAPE_AGREE_K * unc1, SHAPE_AGREE_SHARE * (t1 - t0_ref))
            # Each limit is a band, not a line: the refinement's share falls from all to none
            # across it, so a tiny change in the data (a live clock's 0.05 %) no longer swaps one
            # estimate for the other whole at a limit (4-6 % of MV on plateau and Beta reps at 1 mm;
            # the end checks below still pass or fail).
            low_rate = min(2.0, max(1.0, SHAPE_LOW_RATE_HZ / raw_hz))
            g = still_w * _within(math.sqrt(ms_fit / noise2) / (SHAPE_MAX_NOISE_RATIO * low_rate)) \
                if noise2 > 0.0 else 0.0
            g *= _within(abs(ph[2] - t0_ref) / shift0) if shift0 > 0.0 else 0.0
            g *= _within(abs(ph[2] + ph[3] - t1) / shift1) if shift1 > 0.0 else 0.0
            # ... and near each end it fits the samples about as well as the local fit's branch
            # (SHAPE_END_EXCESS): a rep that is not Beta-shaped can hold its whole residual within
            # the noise and still have its ends placed wide
            if g > 0.0:
                g *= _within(max(_end_excess(t, x, ph, max(left, int(math.ceil(t_ecc_end * fs))), right_s + 1,
                                             t0_ref, p_on, True, noise2, share),
                                 _end_excess(t, x, ph, left2, min(right2, int(math.floor(t_desc * fs))) + 1,
                                             t1, p_arr, False, noise2, share))
                             / (SHAPE_END_EXCESS * low_rate))
            if g > 0.0 and ends_consistent(x, fs, ph[2], ph[2] + ph[3], ph[0], ph[0] + ph[1], t_stop, tol, d_raw):
                b0 = x0 + g * (ph[0] - x0)
                b1 = x1 + g * (ph[0] + ph[1] - x1)
                s0 = t0 + g * (ph[2] - t0)
                s1 = t1 + g * (ph[2] + ph[3] - t1)
                if g >= 1.0 or (s1 > s0 and ends_consistent(x, fs, s0, s1, b0, b1, t_stop, tol, d_raw)):
                    x0 = b0
                    x1 = b1
                    t0 = s0
                    t1 = s1
                    method = 4
    if method == 0 and not (t1 > t0 and ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol, d_raw)):
        # The next method: the same fits on the last stretch before the top in which the bar
        # never descends (corrections before a grind, a false start), ends by the recorded extremes.
        t0_fit = t0
        t1_fit = t1
        x0_fit = x0
        x1_fit = x1
        method = 1
        js = final_rise_start(x, max(0, bottom - side), it, tol)
        ib2 = js
        for j in range(js, it + 1):
            if x[j] < x[ib2]:
                ib2 = j
        l3, r3 = _window_below(x, ib2, js, it, h)
        # ... and, as above, after a hold that follows that stretch's low, when the first fits
        # started above that low (on the hold after the dip, which they took for part of the rise;
        # or after an earlier correction): not at a still bottom's reading
        run2 = -1
        if x0_fit - x[ib2] > tol_floor_m and ib2 < ip:
            run2 = _hold_after(x, xf, ib2, ip, settle, fs, hold_tol, tol_floor_m, drift_tol)
        if run2 > 0:
            ib2, r3 = _window_after_hold(x, run2, ib2, it, h, tol_floor_m)
            l3 = ib2
        if r3 - l3 >= 4:
            _fit_end(t, x, l3, r3 + 1, YES, shape_passes, NO, coef, times, exps)
            t0 = times[1]
            x0 = coef[0]
        if not (t1 > t0 and ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol, d_raw)):
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
            if not (t1 > t0 and ends_consistent(x, fs, t0, t1, x0, x1, t_stop, tol, d_raw)):
                method = 3
        if x1 - x0 < FINAL_RISE_MIN_SHARE * (x[it] - x[ib]) and t1_fit > t0_fit and x1_fit > x0_fit:
            # Not a false start before the rep but a sag inside it (a grinder's hold, a noisy
            # step): the rep is the whole rise, placed by the first fits, and said to be doubtful,
            # not cut to its last part (which then fell below the minimum range or speed and the
            # rep was lost).
            t0 = t0_fit
            t1 = t1_fit
            x0 = x0_fit
            x1 = x1_fit
            method = 3
    if method != 3:
        # A jump's apex: where the bar flies through the top, the whole flight (a parabola of
        # curvature -g) places it, not the few tens of ms the local fit of the top sees, which a
        # cable's vibration moved by up to 15 ms (MV 3-4 %); the ends must still pass the checks.
        apex = np.empty(2)
        if flight_apex(t, x, ip, t1, tol, apex) and apex[0] > t0 and \
                ends_consistent(x, fs, t0, apex[0], x0, apex[1], t_stop, tol, d_raw):
            t1 = apex[0]
            x1 = apex[1]
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
    # propulsive phase: until acceleration first drops below -g after peak velocity (read at a
    # higher cut-off where the recording allows: vbt.kernels.filters.propulsive_acceleration)
    acc_p = np.empty(n)
    propulsive_acceleration(x, v, acc, fs, n_pad, j0, j1, raw_hz, acc_p)
    tp = t1
    x_tp = np.nan  # the bar's height at tp where a fit gives it (a jump's flight)
    for j in range(jp, j1):
        if acc_p[j + 1] < -G:
            if acc_p[j] < -G:
                tp = t[j]
            else:
                tp = t[j] + dt * (acc_p[j] + G) / (acc_p[j] - acc_p[j + 1])
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
                    fall >= 0.25 * G * (t[j_past] - t1) ** 2 and \
                    abs(curvature(t, x, j_fly, j_past) + G) <= FLIGHT_G_TOL:
                off2 = np.empty(2)
                if takeoff_fit(t, x, j0, j_fly, j_past, off2) and t[jp] < off2[0] < tp:
                    tp = off2[0]
                    x_tp = off2[1]
    # (the 10 Hz peak above stays the reference for the propulsive phase and the time to peak)
    pv = peak_velocity_adaptive(x, v, fs, j0, j1, coeffs, pv, tol_floor_m / TOL_STEPS_K,
                                raw_hz)
    if tp >= t1:
        mpv = mv
    else:
        mpv = ((x_tp if x_tp == x_tp else _interp_idx(xf, tp * fs)) - x0) / (tp - t0)
    r.t0_s = t0
    r.t1_s = t1
    r.method = method
    r.mean_velocity_m_s = mv
    r.mean_propulsive_velocity_m_s = mpv
    r.peak_velocity_m_s = pv
    r.rom_m = rom
    r.time_to_peak_velocity_s = t[jp] - t0
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
            r.eccentric_duration_s = te1 - te0
            r.eccentric_mean_velocity_m_s = (_interp_idx(xf, te0 * fs) - _interp_idx(xf, te1 * fs)) / (te1 - te0)
            r.bottom_pause_s = max(0.0, t0 - te1)
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
        r.mean_force_n = load_kg * G
        r.peak_force_n = fpk
        r.mean_power_w = load_kg * G * mv
        r.peak_power_w = ppk
    r.ok = True
