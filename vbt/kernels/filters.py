"""The zero-phase low-pass: 2nd-order Butterworth coefficients and a padded forward-backward biquad."""

from __future__ import annotations

import math

import numpy as np
from .jit import njit

from .common import NO, YES
from .order import median_of, robust_sd

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


# ---- peak velocity: the lowest cut-off the data agree with ----------------------------------
# A 10 Hz low-pass flattens a sharp velocity peak (a take-off, a bounce, a short fast rep) by
# several cm/s, while a higher one lets the encoder's steps and noise through on a slow,
# flat-topped rep. Peak velocity is therefore read at the lowest cut-off whose peak agrees with the
# peaks at all higher cut-offs (Lepski's rule for choosing a bandwidth): within PV_AGREE_SD
# standard deviations of the higher cut-off's velocity noise, taken as the larger of
#  - white noise: the samples' robust scatter about the highest cut-off's curve (never below the
#    step's rounding), through the filter and the difference, over the raw samples' band;
#  - what that cut-off's velocity shows where the bar is still next to the phase (within
#    PV_STILL_S of it, 10 Hz velocity under PV_STILL_M_S): coloured noise such as a cable
#    vibration at 20-60 Hz, which the white-noise model misses, shows there, and no motion does.
# Tuned on seeds 0-14 of every motion family and seeds 0-59 of the Beta model with vibration
# (benchmarks/bench_families.py, tests/test_accuracy.py; issue 9), checked on fresh seeds.
PV_CUTOFFS_HZ = (12.0, 14.0, 17.0, 20.0, 24.0, 30.0)
PV_AGREE_SD = 3.0
PV_MAX_CUT_SHARE = 0.4  # of the sampling rate
PV_STILL_S = 0.5
PV_STILL_M_S = 0.02
PV_STILL_MIN = 50  # still samples needed to measure the noise there
NOISE_GAIN_POINTS = 512
# A grid resampled from slower raw samples scatters less about a curve than the samples do: a
# point a share w of the way between two samples carries sqrt(w^2 + (1-w)^2) of their noise,
# sqrt(2/3) on average.
INTERPOLATED_SHARE = 0.75
INTERPOLATED_SD_GAIN = 1.0 / math.sqrt(2.0 / 3.0)
# The higher cut-offs filter the phase, the still stretches beside it and this much more either
# side (their start-up transient has decayed to ~1e-6 by then at 12 Hz and above), not the window.
PV_MARGIN_S = 0.25


@njit(cache=True)
def cutoff_of(c, fs_hz):
    """The cut-off (Hz) of butter_lowpass coefficients ``c`` at ``fs_hz``."""
    k = 2.0 * math.sqrt(2.0) * c[0] / (1.0 - c[4])
    return fs_hz * math.atan(k) / math.pi


@njit(cache=True)
def velocity_noise_gain(cutoff_hz, fs_hz):
    """Standard deviation of the velocity (filtfilt at ``cutoff_hz``, then a central difference)
    per unit of white noise in the position at ``fs_hz``: fs sqrt((1/pi) int_0^pi |H|^4 sin^2 w dw).
    The bilinear Butterworth has |H|^2 = 1 / (1 + (tan(w/2) / K)^4), K = tan(pi fc / fs); with
    tan(w/2) = K s and s = tan(u) the integral is 8 K^3 int_0^(pi/2) s^2 (1 + s^2) /
    ((1 + s^4)^2 (1 + K^2 s^2)^3) du, smooth on a finite interval (midpoint rule)."""
    k = math.tan(math.pi * cutoff_hz / fs_hz)
    k2 = k * k
    h = 0.5 * math.pi / NOISE_GAIN_POINTS
    acc = 0.0
    for i in range(NOISE_GAIN_POINTS):
        s = math.tan((i + 0.5) * h)
        s2 = s * s
        d = 1.0 + s2 * s2
        e = 1.0 + k2 * s2
        acc += s2 * (1.0 + s2) / (d * d * e * e * e)
    return fs_hz * math.sqrt(8.0 * k2 * k * acc * h / math.pi)


@njit(cache=True)
def _velocity_at(xf, j, lo, fs_hz):
    """Central-difference velocity at window sample ``j`` of ``xf`` (which holds the window from
    ``lo`` on), taken one sample in from either end of ``xf``."""
    jj = min(max(j - lo, 1), xf.shape[0] - 2)
    return (xf[jj + 1] - xf[jj - 1]) * 0.5 * fs_hz


@njit(cache=True)
def peak_velocity_adaptive(x, v_base, fs_hz, j0, j1, c_base, pv_base, step_m, raw_hz):
    """Peak velocity of ``x[j0..j1]``: ``pv_base``, the peak of ``v_base`` (the low-pass
    ``c_base``'s velocity over the window), unless the higher cut-offs of PV_CUTOFFS_HZ show a
    sharper peak than their noise explains (see above). ``step_m`` is the encoder step: the white
    noise is never taken below its rounding (step/sqrt 12). ``raw_hz`` is the rate of the samples
    the window was resampled from: their noise is white over that band, not the grid's (a 100 Hz
    sensor on a 1 kHz grid has ~3x the velocity noise the grid's rate would suggest)."""
    n = x.shape[0]
    base_hz = cutoff_of(c_base, fs_hz)
    top_hz = PV_MAX_CUT_SHARE * min(fs_hz, raw_hz)
    cuts = np.empty(len(PV_CUTOFFS_HZ) + 1)  # the base, then the higher cut-offs this rate allows
    cuts[0] = base_hz
    m = 1
    for cut in PV_CUTOFFS_HZ:
        if cut > 1.05 * base_hz and cut < top_hz:
            cuts[m] = cut
            m += 1
    if m == 1 or j1 - j0 < 2:
        return pv_base
    # the still samples beside the phase
    n_still = int(PV_STILL_S * fs_hz)
    s0 = max(0, j0 - n_still)
    s1 = min(n - 1, j1 + n_still)
    still = np.empty(s1 - s0 + 1, dtype=np.int64)
    ns = 0
    for j in range(s0, s1 + 1):
        if (j < j0 or j > j1) and abs(v_base[j]) < PV_STILL_M_S:
            still[ns] = j
            ns += 1
    pvs = np.empty(m)
    white = np.empty(m)  # per unit of white position noise
    at_rest = np.zeros(m)  # the velocity's robust sd where the bar is still (0: too few samples)
    pvs[0] = pv_base
    white[0] = velocity_noise_gain(cuts[0], raw_hz)
    lo = max(0, s0 - int(PV_MARGIN_S * fs_hz))
    hi = min(n, s1 + int(PV_MARGIN_S * fs_hz) + 1)
    xs = np.empty(hi - lo)
    for j in range(lo, hi):
        xs[j - lo] = x[j]
    xf = np.empty(hi - lo)
    vr = np.empty(max(ns, 1))
    c = np.empty(5)
    for i in range(1, m):
        butter_lowpass(cuts[i], fs_hz, c)
        filtfilt(xs, c, 0, xf)  # (the margin is the padding)
        best = -1e300
        for j in range(j0, j1 + 1):
            best = max(best, _velocity_at(xf, j, lo, fs_hz))
        pvs[i] = best
        white[i] = velocity_noise_gain(cuts[i], raw_hz)
        if ns >= PV_STILL_MIN:
            for k in range(ns):
                vr[k] = _velocity_at(xf, still[k], lo, fs_hz)
            at_rest[i] = robust_sd(vr)
    # white noise: robust scatter of the samples about the highest cut-off's curve, over the phase
    dev = np.empty(j1 - j0 + 1)
    for j in range(j0, j1 + 1):
        dev[j - j0] = abs(x[j] - xf[j - lo])
    sd = 1.4826 * median_of(dev)
    if raw_hz < INTERPOLATED_SHARE * fs_hz:
        sd *= INTERPOLATED_SD_GAIN  # grid points between raw samples average two samples' noise
    sd = max(sd, step_m / math.sqrt(12.0))
    for a in range(m):
        agree = True
        for b in range(a + 1, m):
            if abs(pvs[a] - pvs[b]) > PV_AGREE_SD * max(sd * white[b], at_rest[b]):
                agree = False
                break
        if agree:
            return pvs[a]
    return pvs[m - 1]


@njit(cache=True)
def differentiate(xf, fs_hz, v, acc):
    """Velocity ``v`` and acceleration ``acc`` of the filtered positions ``xf`` by central
    differences (one-sided at the ends for the velocity; the acceleration's ends repeat their
    neighbours)."""
    n = xf.shape[0]
    for j in range(1, n - 1):
        v[j] = (xf[j + 1] - xf[j - 1]) * 0.5 * fs_hz
    v[0] = (xf[1] - xf[0]) * fs_hz
    v[n - 1] = (xf[n - 1] - xf[n - 2]) * fs_hz
    for j in range(1, n - 1):
        acc[j] = (v[j + 1] - v[j - 1]) * 0.5 * fs_hz
    acc[0] = acc[1] if n > 2 else 0.0
    acc[n - 1] = acc[n - 2] if n > 2 else 0.0


# ---- the propulsive phase's end: the acceleration at a higher cut-off --------------------------
# The propulsive phase ends where the acceleration first falls below -g after the peak velocity.
# A 10 Hz low-pass spreads a short braking dip and makes it shallower: on the tuning seeds of every
# motion family (benchmarks/bench_families.py) half the Beta and bounce reps whose true braking
# passes -g mid-phase never did at 10 Hz, and their MPV read as their MV. The crossing is read at
# ACC_CUTOFF_HZ instead where the recording allows it:
#  - raw samples at ACC_MIN_RAW_HZ or faster (a band up from ACC_RAW_BAND_LO_HZ): slower ones are
#    resampled onto the grid by straight lines, whose kinks pass a higher cut-off;
#  - and where the bar is still next to the phase (as for the peak velocity), what that cut-off
#    adds to the 10 Hz acceleration scatters by less than ACC_REST_SD (a band up to 1.5 times it):
#    a cable vibration at 20-60 Hz passes 15 Hz far more than 10 Hz. Clean 1 kHz sensors
#    (0.1-1 mm steps, up to 0.2 mm noise) mostly measure 0.1-0.6 m/s^2 there.
#    With too few still samples to tell (touch-and-go sets), the rate alone decides.
# Tuned on seeds 0-29 of every family at 12.5, 15 and 20 Hz (15 Hz, MPV p95 on 1 kHz sensors:
# bounce 0.0153 -> 0.0097, Beta 0.0156 -> 0.0104; 20 Hz let more of the 1 mm steps through), and
# on the 50 Beta-model sets with cable vibration of benchmarks/bench_core.py (MPV p95 0.0170 ->
# 0.0163). A 0.5 m/s^2 limit kept 15 Hz off some clean 1 kHz bounce reps (p95 0.0121, not 0.0097).
ACC_CUTOFF_HZ = 15.0
ACC_MIN_RAW_HZ = 400.0
ACC_RAW_BAND_LO_HZ = 300.0
ACC_REST_SD = 0.8  # m/s^2, about 8 % of g


@njit(cache=True)
def propulsive_acceleration(x, v_base, acc_base, fs_hz, n_pad, j0, j1, raw_hz, out):
    """The acceleration (``out``, the window's length) whose first fall below -g after the peak
    ends the propulsive phase of ``x[j0..j1]``: ``acc_base`` (the 10 Hz one, from the velocity
    ``v_base``) moved toward the ACC_CUTOFF_HZ one by the share the recording allows (see above).
    Returns that share (0: ``out`` is ``acc_base``)."""
    n = x.shape[0]
    for j in range(n):
        out[j] = acc_base[j]
    share = 1.0 - min(1.0, max(0.0, (ACC_MIN_RAW_HZ - raw_hz) / (ACC_MIN_RAW_HZ - ACC_RAW_BAND_LO_HZ)))
    if share <= 0.0 or n < 5 or ACC_CUTOFF_HZ >= PV_MAX_CUT_SHARE * fs_hz:
        return 0.0
    c = np.empty(5)
    butter_lowpass(ACC_CUTOFF_HZ, fs_hz, c)
    xf = np.empty(n)
    filtfilt(x, c, n_pad, xf)
    v = np.empty(n)
    a = np.empty(n)
    differentiate(xf, fs_hz, v, a)
    # the still samples beside the phase (not its first or last few, where the filter rings)
    n_still = int(PV_STILL_S * fs_hz)
    rest = np.empty(2 * n_still + 2)
    ns = 0
    for j in range(max(2, j0 - n_still), min(n - 2, j1 + n_still + 1)):
        if (j < j0 or j > j1) and abs(v_base[j]) < PV_STILL_M_S:
            rest[ns] = a[j] - acc_base[j]
            ns += 1
    if ns >= PV_STILL_MIN:
        sd = robust_sd(rest[:ns])
        share *= min(1.0, max(0.0, (1.5 * ACC_REST_SD - sd) / (0.5 * ACC_REST_SD)))
    if share <= 0.0:
        return 0.0
    for j in range(n):
        out[j] = acc_base[j] + share * (a[j] - acc_base[j])
    return share
