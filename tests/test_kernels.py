"""Every numba kernel against its slow twin in tests/naive.py: edge cases and seeded random input."""

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import brentq

from tests import naive
from vbt import kernels as K


def _resample_all(t, x, dt, chunks=None):
    state = np.zeros(K.RESAMPLE_STATE_SIZE)
    state[K.RS_DT] = dt
    out = []
    bounds = [0, len(t)] if chunks is None else chunks
    for a, b in zip(bounds[:-1], bounds[1:]):
        buf = np.empty(int((t[-1] - t[0]) / dt) + 4)
        n = K.resample_stream(t[a:b], x[a:b], state, buf)
        out.append(buf[:n])
    tail = np.empty(int((t[-1] - t[0]) / dt) + 4)
    n = K.resample_flush(state, tail)
    out.append(tail[:n])
    return np.concatenate(out)


@pytest.mark.parametrize("seed", range(5))
def test_resampler_matches_pchip_twin_on_uneven_input(seed):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.001, 0.03, 300))
    x = np.cumsum(rng.normal(0, 0.002, 300))
    x[100:140] = x[100]  # a still stretch: slopes must be zero there, no overshoot
    grid = _resample_all(t, x, 0.001)
    ks, vals = naive.resample_pchip(t, x, 0.001)
    np.testing.assert_allclose(grid[ks], vals, rtol=0, atol=1e-12)
    # every grid point up to the last sample is produced once
    assert grid.size == int(np.floor((t[-1] - t[0]) / 0.001 + 1e-9)) + 1
    # monotone pieces stay within their end values in the still stretch
    still = (np.arange(grid.size) * 0.001 + t[0] >= t[100]) & (np.arange(grid.size) * 0.001 + t[0] <= t[139])
    np.testing.assert_allclose(grid[still], x[100], rtol=0, atol=1e-15)


def test_resampler_is_chunking_invariant_and_skips_non_increasing_times():
    rng = np.random.default_rng(7)
    t = np.cumsum(rng.uniform(0.0002, 0.004, 2000))
    x = np.sin(t * 3)
    whole = _resample_all(t, x, 0.001)
    cuts = sorted(set(rng.integers(1, len(t) - 1, 40).tolist()))
    chunked = _resample_all(t, x, 0.001, [0] + cuts + [len(t)])
    np.testing.assert_array_equal(whole, chunked)
    t_dup = np.insert(t, 500, t[499])  # a duplicated timestamp is ignored
    x_dup = np.insert(x, 500, 99.0)
    np.testing.assert_array_equal(_resample_all(t_dup, x_dup, 0.001), whole)


@pytest.mark.parametrize("cutoff,fs", [(10.0, 1000.0), (7.0, 500.0), (20.0, 2000.0)])
def test_butterworth_coefficients_match_textbook_design(cutoff, fs):
    c = np.empty(5)
    K.butter_lowpass(cutoff, fs, c)
    b, a = naive.butter2(cutoff, fs)
    np.testing.assert_allclose(c[:3], b, rtol=1e-12)
    np.testing.assert_allclose(c[3:], a[1:], rtol=1e-12)
    # and the magnitude at the cut-off is -3 dB
    from scipy.signal import freqz
    _, h = freqz(b, a, worN=[cutoff], fs=fs)
    assert abs(abs(h[0]) - 1 / np.sqrt(2)) < 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_filtfilt_matches_twin(seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 1e-3, 1500))
    c = np.empty(5)
    K.butter_lowpass(10.0, 1000.0, c)
    out = np.empty_like(x)
    K.filtfilt(x, c, 300, out)
    b, a = naive.butter2(10.0, 1000.0)
    np.testing.assert_allclose(out, naive.filtfilt_constant_pad(b, a, x, 300), atol=1e-12)
    # a constant stays exactly constant (steady-state start, unit DC gain)
    const = np.full(200, 0.7)
    K.filtfilt(const, c, 50, out[:200])
    np.testing.assert_allclose(out[:200], 0.7, atol=1e-12)


@pytest.mark.parametrize("cutoff,fs", [(10.0, 1000.0), (24.0, 100.0), (30.0, 250.0)])
def test_velocity_noise_gain_matches_the_impulse_response(cutoff, fs):
    c = np.empty(5)
    K.butter_lowpass(cutoff, fs, c)
    assert K.cutoff_of(c, fs) == pytest.approx(cutoff, rel=1e-12)
    assert K.velocity_noise_gain(cutoff, fs) == pytest.approx(naive.velocity_noise_gain(cutoff, fs), rel=1e-5)


def _peak_case(kind, seed):
    """(x, fs, j0, j1, true peak velocity, step, raw rate): a sharp take-off-like peak or a slow
    flat-topped rise, sampled by a quantising, noisy sensor (slow_100hz: at 100 Hz, put on a 1 kHz grid;
    slow_vibration: with a cable vibration)."""
    rng = np.random.default_rng(seed)
    fs = 1000.0 if kind != "slow_coarse" else 200.0
    raw_hz = 100.0 if kind == "slow_100hz" else fs
    t = np.arange(0.0, 3.0, 1.0 / raw_hz)
    if kind == "sharp":  # velocity rises linearly to 2.4 m/s in 0.25 s, then falls at g: a corner
        tp, peak = 1.25, 2.4
        v = np.where(t < 1.0, 0.0, np.where(t < tp, peak * (t - 1.0) / 0.25, np.maximum(peak - 9.81 * (t - tp), 0.0)))
        step, noise = 0.001, 0.0
    else:  # 1.6 s, velocity a flat-topped sine-squared bump, 0.35 m/s
        peak = 0.35
        u = np.clip((t - 0.7) / 1.6, 0.0, 1.0)
        v = peak * np.minimum(1.0, 1.6 * np.sin(np.pi * u)) ** 2
        step, noise = (0.001, 0.0002) if kind in ("slow_fine", "slow_100hz") else (0.001, 0.0)
        step = 0.0002 if kind == "slow_vibration" else step
    x = np.cumsum(v) / raw_hz
    if kind == "slow_vibration":  # a cable vibrating at 35 Hz: coloured noise the white model misses
        x = x + 0.0004 * np.sin(2 * np.pi * 35.0 * t + rng.uniform(0, 2 * np.pi))
    x = np.round((x + rng.normal(0.0, noise, x.size) + rng.uniform(0, step)) / step) * step
    if raw_hz < fs:  # a slow sensor's samples on the analysis grid, as the tracker resamples them
        grid = np.arange(0.0, t[-1], 1.0 / fs)
        x, v = np.interp(grid, t, x), np.interp(grid, t, v)
    moving = np.flatnonzero(v > 0.01 * peak)
    return x, fs, int(moving[0]), int(moving[-1]), float(v.max()), step, raw_hz


@pytest.mark.parametrize("kind", ["sharp", "slow_fine", "slow_coarse", "slow_100hz", "slow_vibration"])
@pytest.mark.parametrize("seed", range(3))
def test_adaptive_peak_velocity_matches_twin_and_only_sharpens_sharp_peaks(kind, seed):
    x, fs, j0, j1, truth, step, raw_hz = _peak_case(kind, seed)
    c = np.empty(5)
    K.butter_lowpass(10.0, fs, c)
    xf = np.empty_like(x)
    n_pad = int(0.5 * fs)
    K.filtfilt(x, c, n_pad, xf)
    v10 = np.gradient(xf, 1.0 / fs)
    pv10 = float(v10[j0:j1 + 1].max())
    got = K.peak_velocity_adaptive(x, v10, fs, j0, j1, c, pv10, step, raw_hz)
    twin = naive.peak_velocity_lepski(x, fs, j0, j1, 10.0, K.filters.PV_CUTOFFS_HZ, K.filters.PV_AGREE_SD,
                                      K.filters.PV_MAX_CUT_SHARE, n_pad, step, raw_hz, K.filters.PV_STILL_S,
                                      K.filters.PV_STILL_M_S, K.filters.PV_STILL_MIN)
    assert got == pytest.approx(twin, abs=1e-9)
    if kind == "sharp":  # the 10 Hz peak is several cm/s low on a corner; the chosen one much closer
        assert truth - pv10 > 0.04
        assert abs(got - truth) < 0.6 * abs(pv10 - truth)
    else:  # nothing to sharpen: the steps and noise must not raise it (30 Hz alone reads 0.6-5.5 cm/s high)
        assert abs(got - truth) <= abs(pv10 - truth) + 0.005


@pytest.mark.parametrize("case", ["pause", "touch_and_go", "top_hold"])
def test_turning_point_fit_matches_brute_force(case):
    rng = np.random.default_rng(3)
    t = np.arange(0, 0.3, 0.002)
    te_true, t0_true = {"pause": (0.08, 0.17), "touch_and_go": (0.15, 0.15), "top_hold": (0.12, 0.2)}[case]
    x = 0.5 + 6.0 * (te_true - t).clip(min=0) ** 2 + 4.0 * (t - t0_true).clip(min=0) ** 2.3
    x = x + rng.normal(0, 2e-5, t.size)
    coef = np.empty(3)
    times = np.empty(2)
    K.fit_turning_point(t, x, 0, t.size, 2.0, 2.3, coef, times)
    sse, te_b, t0_b = naive.fit_turning_point_brute(t, x, 2.0, 2.3, step=0.002)
    assert abs(times[1] - t0_b) <= 0.002 + 1e-9
    assert abs(times[0] - te_b) <= 0.002 + 1e-9
    assert abs(times[1] - t0_true) < 0.003
    assert abs(coef[0] - 0.5) < 1e-4
    # the refit near a first estimate finds the same optimum; started far off, it stays within
    # its radius of the start
    coef_n, times_n = np.empty(3), np.empty(2)
    K.fit_turning_point_near(t, x, 0, t.size, 2.0, 2.3, coef_n, times_n, te_b + 0.01, t0_b - 0.01, 0.04)
    np.testing.assert_allclose(times_n, times, atol=1e-5)
    np.testing.assert_allclose(coef_n, coef, rtol=1e-4, atol=1e-8)
    K.fit_turning_point_near(t, x, 0, t.size, 2.0, 2.3, coef_n, times_n, 0.02, 0.02, 0.01)
    assert times_n[0] <= times_n[1] <= 0.02 + 0.01 + 0.002 + 1e-9


AUTO_CASES = [(2.5, 3.0, 0.06, 0.1), (1.6, 2.0, 0.08, 0.08), (3.5, 1.3, 0.048, 0.12)]


def _auto_case(pl, pr, te_true, t0_true):
    rng = np.random.default_rng(5)
    t = np.arange(0, 0.18, 0.002)
    # each branch climbs 15 mm within the window: both exponents are well determined
    a_l, a_r = 0.015 / te_true**pl, 0.015 / (t[-1] - t0_true) ** pr
    x = 0.5 + a_l * (te_true - t).clip(min=0) ** pl + a_r * (t - t0_true).clip(min=0) ** pr
    x = x + rng.normal(0, 1e-5, t.size)
    coef, times, exps = np.empty(3), np.empty(2), np.empty(2)
    sse = K.fit_turning_point_auto(t, x, 0, t.size, np.bool_(True), coef, times, exps)
    return t, x, sse, times, exps


@pytest.mark.parametrize("pl,pr,te_true,t0_true", AUTO_CASES)
def test_auto_exponent_fit_places_its_ends_as_brute_force_does(pl, pr, te_true, t0_true):
    """For the exponents fit_turning_point_auto settles on, its ends are the brute-force least
    squares ends (a time grid, every pair of times) within a grid step, and fit at least as well."""
    t, x, sse, times, exps = _auto_case(pl, pr, te_true, t0_true)
    sse_b, te_b, t0_b = naive.fit_turning_point_brute(t, x, exps[0], exps[1], step=0.002)
    assert abs(times[0] - te_b) <= 0.002 + 1e-9 and abs(times[1] - t0_b) <= 0.002 + 1e-9
    assert sse <= sse_b * (1 + 1e-6) + 1e-12


@pytest.mark.xfail(strict=True, reason="the exponent search is greedy: it refits only the exponents that "
                   "fit best at its first (2, 2) fit's ends, and misses the exhaustive optimum on these clean "
                   "turning points. A search that reaches it (a climb over the exponent grid, two rounds) "
                   "measured worse on fresh seeds of the motion families, so the greedy search stays (issue 9)")
@pytest.mark.parametrize("pl,pr,te_true,t0_true", AUTO_CASES)
def test_auto_exponent_search_reaches_the_exhaustive_optimum(pl, pr, te_true, t0_true):
    t, x, sse, times, exps = _auto_case(pl, pr, te_true, t0_true)
    sse_b, te_b, t0_b, pl_b, pr_b = naive.fit_turning_point_exponents_brute(t, x, K.turning.AUTO_EXPONENTS,
                                                                          step=0.004)
    assert (exps[0], exps[1]) == (pl_b, pr_b) == (pl, pr)


def test_cheap_powers_are_the_powers():
    """power() takes products and square roots for some exponents: within a few ulps of d ** p."""
    d = np.geomspace(1e-6, 3.0, 2001)
    for p in (*K.turning.AUTO_EXPONENTS, 1.5, 2.2761, 4.5):
        got = np.array([K.turning.power(v, p) for v in d])
        np.testing.assert_allclose(got, d**p, rtol=4e-16 * 4, atol=0)


@pytest.mark.parametrize("n,bins", [(150, False), (613, True), (1000, True)])
@pytest.mark.parametrize("p", [1.3, 2.0, 3.5])
def test_grid_candidate_sums_are_the_direct_sums(n, bins, p):
    """The table of powers on an even grid (with a shorter last bin when the window is binned) gives
    each candidate's branch sums as the direct loop does, to rounding; an uneven grid takes the loop."""
    rng = np.random.default_rng(n)
    t = np.arange(n) * 0.001 + 3.217
    x = np.cumsum(rng.normal(0, 1e-3, n))
    tb, xb, m = K.turning._binned(t, x, 0, n)
    assert (m < n) == bins
    tt = tb - 0.5 * (tb[0] + tb[m - 1])
    xx = xb - xb.mean()
    pre = np.empty((m + 1, 8))
    K.turning._prefix_moments(tt, xx, pre)
    for uneven in (False, True):
        if uneven:
            tt = tt.copy()
            tt[m // 2] += 0.3 * (tt[1] - tt[0])
        for left in (True, False):
            got = np.empty((m // 3, 3))
            K.turning._grid_sums(tt, xx, pre, K.turning._even_spacing(tt), 1, 3, m // 3, p, np.bool_(left), got)
            want = np.empty_like(got)
            one = np.empty(3)
            for c in range(m // 3):
                K.turning._sums(tt, xx, pre, tt[1 + 3 * c], p, np.bool_(left), one)
                want[c] = one
            scale = np.abs(want).max(axis=0) + 1e-300
            np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=1e-12)


@pytest.mark.parametrize("right", [True, False])
def test_two_term_refit_matches_its_plain_twin(right):
    """refit_two_term (golden section, normal equations) against a grid search with least squares:
    the same decision, the same end within a grid step. The branch that gets the second term is a
    force building up (onset) or easing off (arrival): u^2 + u^3, which one power does not fit."""
    rng = np.random.default_rng(11)
    t = np.arange(0, 0.16, 0.001)  # 160 samples: under the fits' binning limit, so both see the same
    te_true, t0_true = 0.05, 0.07
    dl, dr = (te_true - t).clip(min=0), (t - t0_true).clip(min=0)
    if right:
        x = 0.5 + 3.0 * dl**2 + 2.0 * dr**2 + 60.0 * dr**3
    else:
        x = 0.5 + 2.0 * dl**2 + 60.0 * dl**3 + 3.0 * dr**2
    x = x + rng.normal(0, 2e-6, t.size)
    coef, times = np.empty(3), np.empty(2)
    K.fit_turning_point(t, x, 0, t.size, 2.0, 2.0, coef, times)
    one = float(np.sum((x - (coef[0] + coef[1] * (times[0] - t).clip(min=0) ** 2
                             + coef[2] * (t - times[1]).clip(min=0) ** 2)) ** 2))
    before = times.copy()
    # a radius in which the residual has one minimum (the golden section's premise; wider, a second
    # minimum where the pause collapses can appear)
    taken = K.refit_two_term(t, x, 0, t.size, 2.0, 2.0, np.bool_(right), coef, times, 0.012)
    taken_b, end_b, _ = naive.refit_two_term_brute(t, x, before[0], before[1], 2.0, 2.0, right, 0.012, 0.0002,
                                                  one, K.turning.TWO_TERM_PENALTY)
    assert taken and taken_b
    moved = times[1] if right else times[0]
    assert abs(moved - end_b) <= 0.0002 + 1e-9
    true_end, one_term_end = (t0_true, before[1]) if right else (te_true, before[0])
    assert abs(moved - true_end) < abs(one_term_end - true_end)  # the second term moves it toward the truth
    assert (times[0] if right else times[1]) == (before[0] if right else before[1])  # the other end held


def _arrival_end_errors(seed, step_m, noise_m, p_true=3.0, c=40.0):
    """A bar arriving at its top as x = top - c*(te - t)^p_true (a pure power law in the grid), then
    still: the end error (s) of the greedy one-term exponent with the usual two-term refit, and of
    :func:`refit_two_term_exponents`, on the window rep.py uses (12 mm below the top, the still top)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, 0.30, 0.001) + rng.uniform(0, 0.001)
    te = 0.2
    x = 0.5 - c * (te - t).clip(min=0) ** p_true
    x = np.round((x + rng.normal(0, noise_m, t.size)) / step_m) * step_m
    lo, hi = int(np.argmax(x >= x.max() - 0.012)), t.size
    radius = K.turning.AUTO_RADIUS_SHARE * (t[hi - 1] - t[lo])
    errors = []
    for new in (False, True):
        coef, times, exps = np.empty(3), np.empty(2), np.empty(2)
        K.fit_turning_point_auto(t, x, lo, hi, np.bool_(False), coef, times, exps)
        if new:
            K.turning.refit_two_term_exponents(t, x, lo, hi, np.bool_(False), coef, times, exps, radius)
        else:
            K.refit_two_term(t, x, lo, hi, exps[0], exps[1], np.bool_(False), coef, times, radius)
        errors.append(times[0] - te)
    return errors


def test_an_arrival_s_exponent_is_weighed_against_the_next_higher_one():
    """The greedy exponent search reads a u^3 arrival as a lower power and ends it 2-4 ms early on
    a 0.1 mm sensor (the premise, asserted; 7-9 ms before the branches kept their sides); weighing
    the next higher exponent, each with and without the second term, by Akaike weights puts the end
    within 2.5 ms. At 1 mm it is still closer on
    every seed, and as steady across sampling phases (the seeds' only difference there): a
    staircase's residuals count by its steps, not its samples; counted by samples, one model took
    all the weight by chance and the end jumped by up to 7 ms between phases."""
    fine = [_arrival_end_errors(seed, 1e-4, 3e-5) for seed in range(8)]
    assert min(abs(old) for old, _ in fine) > 0.002
    assert max(abs(new) for _, new in fine) < 0.0025
    coarse = [_arrival_end_errors(seed, 1e-3, 0.0) for seed in range(8)]
    assert all(abs(new) < abs(old) for old, new in coarse)
    new = [n for _, n in coarse]
    assert max(new) - min(new) < 0.003


@pytest.mark.parametrize("tau", [0.03, 0.08])
def test_ramp_onset_finds_a_force_build_up_the_power_law_starts_late_on(tau):
    """A still bar, then force building up over ``tau`` (no model family's own onset: a plain ramp of
    acceleration): the power law fitted over the window starts late; the ramp fit finds the onset,
    as its plain twin does."""
    rng = np.random.default_rng(2)
    t = np.arange(0, 0.35, 0.001)
    t0_true = 0.1  # the descent arrives at 0.04 s, the bar is still until 0.1 s
    x = 0.5 + 6.0 * (0.04 - t).clip(min=0) ** 2 + 12.0 * naive.ramp_rise(t - t0_true, tau) + rng.normal(0, 2e-5, t.size)
    coef, times, exps = np.empty(3), np.empty(2), np.empty(2)
    K.fit_turning_point_auto(t, x, 0, t.size, np.bool_(True), coef, times, exps)
    t0_pow = times[1]
    assert t0_pow - t0_true > 0.003  # the power law's onset is late
    got = K.rep.ramp_onset(t, x, 0, t.size, times[0], t0_pow, exps[1])
    assert abs(got - t0_true) < 0.0015
    twin = naive.ramp_onset_brute(t, x, times[0], t0_pow, exps[1], K.rep.RAMP_TAUS, K.rep.RAMP_BACK_S, 0.0005,
                                  K.rep.RAMP_PENALTY)
    assert abs(got - twin) < 0.0015


def test_ramp_onset_leaves_a_power_law_onset_alone():
    """A rise that leaves the still bar as u^2 (a step of force): the ramp adds nothing the power law
    lacks, so the onset stays the power law's (within a millisecond)."""
    rng = np.random.default_rng(4)
    t = np.arange(0, 0.3, 0.001)
    x = 0.5 + 6.0 * (0.04 - t).clip(min=0) ** 2 + 3.0 * (t - 0.1).clip(min=0) ** 2 + rng.normal(0, 2e-5, t.size)
    coef, times, exps = np.empty(3), np.empty(2), np.empty(2)
    K.fit_turning_point_auto(t, x, 0, t.size, np.bool_(True), coef, times, exps)
    got = K.rep.ramp_onset(t, x, 0, t.size, times[0], times[1], exps[1])
    assert abs(got - times[1]) < 0.001 and abs(got - 0.1) < 0.002


def _onset_fail(x_rise, seed):
    """The start's fit on a still bar (to 0.1 s) and then ``x_rise(u)``, at 1 kHz with 0.05 mm of
    noise in 0.1 mm steps: the share by which one power law fails the rise (rep._onset_chi)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 0.15, 0.001)
    u = (t - 0.1).clip(min=0.0)
    x = np.round((0.5 + x_rise(u) + rng.normal(0.0, 5e-5, t.size)) / 1e-4) * 1e-4
    coef, times, exps = np.empty(3), np.empty(2), np.empty(2)
    K.fit_turning_point_auto(t, x, 0, t.size, np.bool_(True), coef, times, exps)
    return K.rep._onset_chi(t, x, 0, t.size, times[0], times[1], exps[1], 5e-5 ** 2 + 1e-4 ** 2 / 12.0)


def test_one_power_law_passes_a_power_law_onset_and_fails_a_lead_in():
    """The test that shrinks the start's window: a rise that leaves the still bar as one power law
    (u^2.5, ~1 cm in 50 ms) fits within the noise on every seed; a slow lead-in (a 30 mm/s creep for
    25 ms) and then the push (u^2.5 after it) fails on every seed, though both rise about as far."""
    for seed in range(6):
        assert _onset_fail(lambda u: 18.0 * u ** 2.5, seed) == 0.0
        assert _onset_fail(lambda u: 0.03 * u + 18.0 * (u - 0.025).clip(min=0.0) ** 2.5, seed) == 1.0


def _braking_case(vp, brake_s, vib_m=0.0, vib_hz=20.0, step_m=1e-4, fs=1000.0):
    """A still bar, a rise to ``vp`` in 80 ms, 250 ms at ``vp``, then braking as a half cosine over
    ``brake_s`` (deepest deceleration vp pi / (2 brake_s)), sampled at ``fs`` in ``step_m`` steps,
    plus a cable vibration. Returns the samples, the 10 Hz velocity and acceleration as analyze_rep
    computes them, the phase's first and last sample, the peak's, and the true -g crossing (s)."""
    u = np.arange(0.0, 2.5, 1e-5) - 0.8
    v = np.where(u < 0.0, 0.0, np.where(u < 0.08, vp * np.sin(0.5 * np.pi * u / 0.08) ** 2, vp))
    ub = u - 0.33
    v = np.where(ub > 0.0, np.where(ub < brake_s, vp * np.cos(0.5 * np.pi * ub / brake_s) ** 2, 0.0), v)
    # the braking's deceleration vp pi / (2 brake_s) sin(pi ub / brake_s) reaches -g first at:
    tp_true = 0.8 + 0.33 + brake_s / np.pi * np.arcsin(9.80665 * 2.0 * brake_s / (np.pi * vp))
    x_dense = np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * 1e-5)))
    t = np.arange(0.0, 2.5, 1.0 / fs)
    x = np.interp(t, u + 0.8, x_dense) + vib_m * np.sin(2 * np.pi * vib_hz * t + 1.0)
    x = np.round(x / step_m) * step_m
    c = np.empty(5)
    K.butter_lowpass(10.0, fs, c)
    xf = np.empty_like(x)
    K.filtfilt(x, c, 100, xf)
    vel = np.gradient(xf) * fs
    acc = np.gradient(vel) * fs
    j0, j1 = int(0.8 * fs), int((1.13 + brake_s) * fs)
    return t, x, vel, acc, j0, j1, j0 + int(np.argmax(vel[j0:j1])), tp_true


def _first_below_g(t, acc, jp, j1):
    for j in range(jp, j1):
        if acc[j + 1] < -9.80665:
            return t[j] + (t[1] - t[0]) * (acc[j] + 9.80665) / (acc[j] - acc[j + 1])
    return np.inf


@pytest.mark.parametrize("vp", [0.65, 0.7, 0.75])
def test_a_short_braking_past_minus_g_ends_the_propulsive_phase_where_it_does(vp):
    """A braking whose deceleration passes -g for a few tens of ms: the 10 Hz acceleration never
    gets there or gets there late; at the higher cut-off the crossing lands within 3 ms."""
    t, x, vel, acc, j0, j1, jp, tp_true = _braking_case(vp, 0.1)
    out = np.empty_like(x)
    assert K.filters.propulsive_acceleration(x, vel, acc, 1000.0, 100, j0, j1, 1000.0, out) == 1.0
    assert _first_below_g(t, acc, jp, j1) - tp_true > 0.005  # 10 Hz: absent (inf) or late
    assert abs(_first_below_g(t, out, jp, j1) - tp_true) < 0.003


def test_the_higher_cut_off_stays_off_a_vibrating_cable_and_a_slow_sensor():
    """A 20 Hz cable vibration (0.6 mm) shows where the bar is still: the 10 Hz acceleration is kept
    whole. A sensor under 300 Hz keeps it too; between 300 and 400 Hz the share is a band."""
    t, x, vel, acc, j0, j1, jp, tp_true = _braking_case(0.8, 0.1, vib_m=6e-4)
    out = np.empty_like(x)
    assert K.filters.propulsive_acceleration(x, vel, acc, 1000.0, 100, j0, j1, 1000.0, out) == 0.0
    assert np.array_equal(out, acc)
    t, x, vel, acc, j0, j1, jp, tp_true = _braking_case(0.8, 0.1)
    assert K.filters.propulsive_acceleration(x, vel, acc, 1000.0, 100, j0, j1, 250.0, out) == 0.0
    assert np.array_equal(out, acc)
    assert K.filters.propulsive_acceleration(x, vel, acc, 1000.0, 100, j0, j1, 350.0, out) == pytest.approx(0.5)


@pytest.mark.parametrize("a,share", [(1.5, 0.4), (2.0, 0.5), (2.6, 0.45), (3.0, 0.5), (1.8, 0.6)])
def test_beta_from_shape_inverts_the_beta_density(a, share):
    b = 1 + (a - 1) * (1 - share) / share
    ratio = stats.beta(a, b).pdf(share)
    a_est, b_est = K.beta_from_shape(share, ratio)
    a_ref = brentq(lambda aa: stats.beta(aa, 1 + (aa - 1) * (1 - share) / share).pdf(share) - ratio, 1.01, 12)
    assert abs(a_est - a_ref) < 1e-6 and abs(a_est - a) < 1e-6
    assert abs(b_est - b) < 1e-6


@pytest.mark.parametrize("a,b", [(1.5, 2.0), (2.0, 2.0), (2.6, 1.5), (3.0, 3.0), (1.2, 4.5)])
def test_shape_integral_table_at_c_0_is_the_beta_integral(a, b):
    from scipy.special import beta, betainc

    tab, dens = np.empty(65), np.empty(65)
    K.shape_integral_table(a, b, 0.0, 65, 2, tab, dens)
    s = np.linspace(0.0, 1.0, 65)
    # within 1e-5 of the whole integral: a model of a 1 m rise off by 0.01 mm at most
    np.testing.assert_allclose(tab, betainc(a, b, s) * beta(a, b), rtol=0, atol=1e-5 * beta(a, b))
    np.testing.assert_allclose(dens[1:-1], s[1:-1] ** (a - 1) * (1 - s[1:-1]) ** (b - 1), rtol=1e-12)


@pytest.mark.parametrize("a,b,c", [(2.0, 2.0, 0.97), (3.0, 3.0, 1.93), (2.6, 1.5, -1.5), (1.2, 4.5, 4.0)])
def test_shape_integral_table_with_a_body_factor_matches_quadrature(a, b, c):
    """The extended profile s^(a-1) (1-s)^(b-1) exp(c s (1-s)): its table against SciPy's quadrature."""
    from scipy.integrate import quad

    tab, dens = np.empty(65), np.empty(65)
    K.shape_integral_table(a, b, c, 65, 2, tab, dens)
    s = np.linspace(0.0, 1.0, 65)
    f = lambda u: u ** (a - 1) * (1 - u) ** (b - 1) * np.exp(c * u * (1 - u))  # noqa: E731
    ref = np.array([quad(f, 0.0, sk, epsabs=1e-13, epsrel=1e-11, limit=200)[0] for sk in s])
    np.testing.assert_allclose(tab, ref, rtol=0, atol=1e-5 * ref[-1])
    np.testing.assert_allclose(dens[1:-1], f(s[1:-1]), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_extended_phase_fit_places_a_raised_cosine_rep(seed):
    """A rise whose velocity is 1 - cos(2 pi u) (not a Beta profile; its body factor c is about 1.9)
    at 1 kHz, 0.5 mm steps and 0.1 mm of noise: the fit with the body factor free finds both ends
    within 4 ms; the Beta fit (c = 0) places both 10 ms or more wide (MV 3-4 % low), as analyze did
    on such reps before the body factor."""
    rng = np.random.default_rng(seed)
    t0, dur, rom = 0.3, rng.uniform(0.5, 1.0), rng.uniform(0.35, 0.6)
    t = np.arange(0.0, t0 + dur + 0.3, 0.001)
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    x = 1.0 + rom * (u - np.sin(2 * np.pi * u) / (2 * np.pi)) + rng.normal(0, 1e-4, t.size)
    x = np.round(x / 0.0005) * 0.0005
    lo, hi = int((t0 - 0.1) / 0.001), int((t0 + dur + 0.1) / 0.001)
    beta = np.empty(6)
    K.fit_phase_lm(t, x, lo, hi, np.array([1.0, rom, t0 + 0.01, dur - 0.02, 2.5, 2.5]), beta)
    ext = np.empty(7)
    K.fit_phase_lm(t, x, lo, hi, np.append(beta, 0.0), ext)
    assert abs(ext[2] - t0) < 0.004 and abs(ext[2] + ext[3] - (t0 + dur)) < 0.004
    assert 1.4 < ext[6] < 2.4
    assert t0 - beta[2] > 0.01 and beta[2] + beta[3] - (t0 + dur) > 0.01


@pytest.mark.parametrize("seed", range(4))
def test_whole_phase_fit_matches_scipy_least_squares(seed):
    """A Beta-shaped rise with holds either side, sampled at 1 kHz with noise and 0.5 mm steps:
    the kernel's fit lands where SciPy's does, and near the truth."""
    from scipy.special import betainc

    rng = np.random.default_rng(seed)
    a, b = rng.uniform(1.5, 2.6), rng.uniform(1.5, 3.0)
    t0, dur, rom = 0.2, rng.uniform(0.25, 1.2), rng.uniform(0.3, 0.6)
    t = np.arange(0.0, t0 + dur + 0.2, 0.001)
    x = 1.0 + rom * betainc(a, b, np.clip((t - t0) / dur, 0, 1)) + rng.normal(0, 3e-4, t.size)
    x = np.round(x / 0.0005) * 0.0005
    # a first estimate a few ms off, exponents off by 0.3
    init = np.array([1.0, rom, t0 + 0.004, dur - 0.01, a + 0.3, b - 0.3])
    lo, hi = int(0.15 / 0.001), int((t0 + dur + 0.05) / 0.001)
    out = np.empty(6)
    ms = K.fit_phase_lm(t, x, lo, hi, init, out)
    level_n, rise_n, t0_n, dur_n, a_n, b_n, rms_n = naive.beta_phase_fit(t[lo:hi], x[lo:hi], init)
    assert abs(out[0] - level_n) < 1e-4 and abs(out[1] - rise_n) < 1e-4
    assert abs(out[2] - t0_n) < 2e-4 and abs(out[3] - dur_n) < 4e-4
    assert abs(out[4] - a_n) < 0.02 and abs(out[5] - b_n) < 0.02
    assert np.sqrt(ms) < 1.05 * rms_n + 1e-6
    assert abs(out[2] - t0) < 0.003 and abs(out[1] / out[3] - rom / dur) < 0.005


def test_window_residuals_of_the_shape_check_against_plain_least_squares():
    """The Beta fit's end check (vbt/kernels/rep.py ``_end_excess``): the Beta model's residual over
    one end's window less that of the end's power-law branch (level and coefficient refitted), in
    noise variances and scaled by the share of independent samples, against numpy on the same samples."""
    from scipy.special import betainc
    from vbt.kernels.phase import phase_window_ms
    from vbt.kernels.rep import _end_excess

    rng = np.random.default_rng(5)
    t = np.arange(0.0, 1.0, 0.001)
    prm = np.array([1.0, 0.45, 0.2, 0.6, 2.3, 2.7])
    clean = prm[0] + prm[1] * betainc(prm[4], prm[5], np.clip((t - prm[2]) / prm[3], 0, 1))
    x = clean + rng.normal(0, 2e-4, t.size)
    # the table's cubic Hermite is within 1e-5 of the integral (above): the residual is the noise's
    assert phase_window_ms(t, x, 150, 320, prm) == pytest.approx(np.mean((x - clean)[150:320] ** 2), rel=0.02)
    assert phase_window_ms(t, x, 150, 150, prm) == 0.0
    noise2, share = 4e-8, 0.7
    for right, tk, p, a0, a1 in ((True, 0.2, 2.3, 150, 320), (False, 0.8, 2.7, 700, 900)):
        d = np.clip(t[a0:a1] - tk if right else tk - t[a0:a1], 0.0, None) ** p
        a = np.column_stack([np.ones(a1 - a0), d])
        branch = np.sum((x[a0:a1] - a @ np.linalg.lstsq(a, x[a0:a1], rcond=None)[0]) ** 2)
        beta = phase_window_ms(t, x, a0, a1, prm) * (a1 - a0)
        got = _end_excess(t, x, prm, a0, a1, tk, p, right, noise2, share)
        assert got == pytest.approx((beta - branch) / noise2 * share, rel=1e-6, abs=1e-6)
    # a window whose samples all lie before an onset's turn: nothing to compare
    assert _end_excess(t, x, prm, 50, 150, 0.2, 2.3, True, noise2, share) == 0.0


def test_white_part_of_the_noise_from_second_differences():
    """The shape check's share of independent samples (vbt/kernels/rep.py ``_white_sd``): white noise
    reads as itself through a fast rise; a 40 Hz cable vibration and the rise's own motion hardly at all."""
    from vbt.kernels.rep import _white_sd

    rng = np.random.default_rng(3)
    t = np.arange(0.0, 1.0, 0.001)
    rise = 0.5 * (1 - np.cos(np.pi * t))  # 0.5 m in 1 s, up to 0.79 m/s
    assert _white_sd(rise + rng.normal(0, 2e-4, t.size), 0, t.size - 1, 1) == pytest.approx(2e-4, rel=0.15)
    assert _white_sd(rise + 6e-4 * np.sin(2 * np.pi * 40 * t), 0, t.size - 1, 1) < 0.1 * 6e-4 / np.sqrt(2)
    assert _white_sd(rise, 0, t.size - 1, 1) < 1e-5
    assert _white_sd(rise, 0, 3, 1) == 0.0  # too few samples to tell


def _detect(x, **kw):
    state = np.zeros(K.DETECT_STATE_SIZE)
    K.detect_init(state)
    events = np.empty((x.size, K.EVENT_WIDTH))
    ring = np.zeros(x.size + 2)  # longer than any look-back, like the twin's full history
    n = 0
    for a in range(0, x.size, 777):  # in chunks: the ring carries the history across calls
        n += K.detect_stream(x[a:a + 777], a, state, ring, events[n:], kw["hysteresis"], kw["min_rom"],
                             kw["band"], kw["n_still"], kw["still_share"], 3000.0, kw.get("n_hold", 0.0),
                             kw.get("slow_per_sample", 0.0), kw.get("n_reopen", 0.0))
    kinds = {K.EV_REP: "rep", K.EV_REVISE: "revise"}
    return [(kinds[r[0]], *(int(v) for v in r[1:4])) for r in events[:n] if r[0] in kinds]


@pytest.mark.parametrize("seed", range(6))
def test_detector_matches_plain_twin_on_random_walks(seed):
    rng = np.random.default_rng(seed)
    # swings of random size and speed (wobbles to full reps), flats, and jitter on top
    pieces, level = [], 0.0
    for _ in range(60):
        amp = rng.choice([rng.uniform(0.005, 0.04), rng.uniform(0.1, 0.6)]) * rng.choice([-1, 1])
        n = int(rng.integers(50, 1500))
        pieces.append(level + amp * (1 - np.cos(np.linspace(0, np.pi, n))) / 2)
        level += amp
        pieces.append(np.full(int(rng.integers(0, 600)), level))
    x = np.concatenate(pieces)
    x = np.round(x + rng.normal(0, 0.001, x.size), 4)
    kw = dict(hysteresis=0.03, min_rom=0.15, band=0.002, n_still=130.0, still_share=0.04, n_hold=1000.0,
              slow_per_sample=0.00035, n_reopen=3000.0)
    got = _detect(x, **kw)
    want = naive.detect_turning_points(x, **kw)
    assert got == want
    assert len(got) > 0


def test_detector_edge_cases():
    kw = dict(hysteresis=0.03, min_rom=0.15, band=0.002, n_still=130.0, still_share=0.04)
    flat = np.zeros(5000)
    assert _detect(flat, **kw) == [] == naive.detect_turning_points(flat, **kw)
    short = np.concatenate([np.zeros(100), np.linspace(0, 0.14, 300), np.full(500, 0.14)])  # below min ROM
    assert _detect(short, **kw) == []
    ok = np.concatenate([np.zeros(100), np.linspace(0, 0.3, 300), np.full(500, 0.3)])
    got = _detect(ok, **kw)
    assert got == naive.detect_turning_points(ok, **kw)
    # closed n_still after the top; a rise at 1 m/s that stops dead, up to half the stillness means'
    # span later (the older level's mean straddles the stop: K.stream.STILL_MEAN_SHARE)
    late = int(K.stream.STILL_MEAN_SHARE * 130) // 2
    assert len(got) == 1 and got[0][2] == 399 and 399 + 128 <= got[0][3] <= 399 + 130 + late
    # a first pull held still mid-way (0.3 s), then on up without coming down: closed at the hold,
    # then revised once it has risen on by a quarter of the rise; not when it rises on too late
    held = np.concatenate([np.zeros(100), np.linspace(0, 0.3, 300), np.full(300, 0.3), np.linspace(0.3, 0.5, 400),
                           np.full(500, 0.5)])
    for n_reopen, kinds in ((3000.0, ["rep", "revise"]), (100.0, ["rep"])):
        got = _detect(held, **kw, n_reopen=n_reopen)
        assert got == naive.detect_turning_points(held, **kw, n_reopen=n_reopen)
        assert [g[0] for g in got] == kinds and all(g[1] == 0 for g in got)
    assert got[0][2] == 399


@pytest.mark.parametrize("seed", range(5))
def test_search_median_and_rank_match_their_twins(seed):
    rng = np.random.default_rng(seed)
    a = np.sort(rng.integers(0, 20, 50).astype(float))  # repeated values: the sides differ
    for v in [-1.0, 0.0, 5.0, 5.5, 19.0, 25.0, *rng.uniform(-2, 22, 20)]:
        for n in (0, 1, 17, 50):
            assert K.search_left(a, v, n) == naive.search(a, v, n, "left")
            assert K.search_right(a, v, n) == naive.search(a, v, n, "right")
    for size in (0, 1, 2, 3, 10, 11, 200, 201):
        w = rng.normal(0, 1, size)
        w[: size // 3] = 0.25  # ties
        before = w.copy()
        m = K.median_of(w)
        np.testing.assert_array_equal(w, before)  # the input is not reordered
        assert (np.isnan(m) and size == 0) or m == naive.median(w)
    for size in (1, 2, 7, 12):
        score = rng.integers(0, 4, size).astype(float)  # ties keep their order
        order = np.empty(size, dtype=np.int64)
        K.rank_order(score, order)
        assert order.tolist() == naive.rank(score)


@pytest.mark.parametrize("seed", range(4))
def test_curvature_matches_polyfit_twin(seed):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 0.5, 120))
    x = 0.3 + 1.1 * t - 0.5 * 9.81 * t ** 2 + rng.normal(0, 1e-3, t.size)
    for lo, hi in [(0, 119), (10, 60), (50, 53), (50, 52)]:
        got = K.curvature(t, x, lo, hi)
        want = naive.curvature(t[lo:hi + 1], x[lo:hi + 1])
        if np.isnan(want):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("seed", range(4))
def test_ballistic_from_matches_twin_on_jumps(seed):
    """A push that accelerates the bar, then a free flight past its apex: the flight's start is
    where the samples start fitting a parabola of curvature -g."""
    rng = np.random.default_rng(seed)
    fs = 1000.0
    t = np.arange(0, 0.6, 1 / fs)
    t_off = rng.uniform(0.25, 0.35)
    v_off = rng.uniform(1.5, 2.5)
    push = 0.5 * v_off / t_off * t ** 2  # constant acceleration to take-off
    x_off = 0.5 * v_off * t_off
    flight = x_off + v_off * (t - t_off) - 0.5 * K.G * (t - t_off) ** 2
    x = np.where(t < t_off, push, flight) + rng.uniform(-2e-4, 2e-4, t.size)
    steps = K.flight.BALLISTIC_STEPS
    for lo, hi, tol in [(0, t.size - 1, 1e-3), (100, 500, 1e-3), (0, t.size - 1, 1e-5), (300, 302, 1e-3)]:
        got = K.ballistic_from(t, x, lo, hi, tol)
        assert got == naive.ballistic_from(t, x, lo, hi, tol, K.G, steps)
        if tol >= 1e-3 and lo < 250 and hi > 450:  # it finds the flight, not the push
            assert abs(t[got] - t_off) < 0.05


def _jump_on_a_vibrating_cable(seed, hold_top):
    """A push (constant acceleration) into a free flight at 1 kHz, 0.5 mm counts, 0.6 mm of cable
    vibration at 20-60 Hz; ``hold_top``: the bar decelerates at g into its top and is held there
    (a lift, not a flight). Returns t, x and the apex time."""
    rng = np.random.default_rng(seed)
    fs = 1000.0
    t = np.arange(0, 0.9, 1 / fs)
    t_off = rng.uniform(0.25, 0.35)
    v_off = rng.uniform(1.5, 2.5)
    push = 0.5 * v_off / t_off * t ** 2
    t_apex = t_off + v_off / K.G
    u = np.minimum(t, t_apex) - t_off if hold_top else t - t_off
    flight = 0.5 * v_off * t_off + v_off * u - 0.5 * K.G * u ** 2
    x = np.where(t < t_off, push, flight)
    x = x + 0.0006 * np.sin(2 * np.pi * rng.uniform(20, 60) * t + rng.uniform(0, 2 * np.pi))
    return t, np.round(x / 0.0005) * 0.0005, t_apex


@pytest.mark.parametrize("seed", range(6))
def test_flight_apex_places_a_jump_s_apex_from_its_whole_flight(seed):
    """The apex of a flight under a vibrating cable, from a local end 12 ms either side of it (what
    the local fit of the top gave there), within half a ms; a bar held at its top is no flight."""
    t, x, t_apex = _jump_on_a_vibrating_cable(seed, hold_top=False)
    out = np.empty(2)
    for miss in (-0.012, 0.0, 0.012):
        assert K.flight_apex(t, x, 100, t_apex + miss, 0.005, out)
        assert abs(out[0] - t_apex) < 0.0005
    t, x, t_apex = _jump_on_a_vibrating_cable(seed, hold_top=True)
    assert not K.flight_apex(t, x, 100, t_apex, 0.005, out)


@pytest.mark.parametrize("seed", range(4))
def test_end_checks_match_their_twins(seed):
    rng = np.random.default_rng(seed)
    fs = 200.0
    t = np.arange(160) / fs
    u = np.clip((t - 0.2) / 0.4, 0, 1)
    x = 0.2 * (1 - np.cos(np.pi * u)) / 2 + rng.normal(0, 5e-4, t.size)
    x[70:74] -= rng.uniform(0, 0.01)  # sometimes a dip inside the rise
    answers = set()
    for _ in range(200):
        t0, t1 = np.sort(rng.uniform(0.1, 0.75, 2))
        x0 = np.interp(t0 * fs, np.arange(t.size), x) + rng.normal(0, 2e-3)
        x1 = np.interp(t1 * fs, np.arange(t.size), x) + rng.normal(0, 2e-3)
        tol = rng.choice([1e-3, 3e-3, 1e-2])
        d = int(rng.integers(1, 4))
        got = K.ends_consistent(x, fs, t0, t1, x0, x1, 0.79, tol, d)
        assert got == naive.ends_consistent(x, fs, t0, t1, x0, x1, 0.79, tol, d)
        answers.add(bool(got))
        top = int(rng.integers(20, t.size))
        lo = int(rng.integers(0, top))
        assert K.final_rise_start(x, lo, top, tol) == naive.final_rise_start(x, lo, top, tol)
    assert answers == {True, False}


def test_checked_wrappers_give_the_kernels_results_and_refuse_bad_input():
    from vbt.kernels import api

    rng = np.random.default_rng(11)
    fs = 500.0
    t = np.arange(400) / fs
    u = np.clip((t - 0.2) / 0.3, 0, 1)
    x = 0.25 * (1 - np.cos(np.pi * u)) / 2 + rng.normal(0, 2e-4, t.size)

    c = np.empty(5)
    K.butter_lowpass(10.0, fs, c)
    np.testing.assert_array_equal(api.lowpass_coefficients(10.0, fs), c)
    raw = np.empty_like(x)
    K.filtfilt(x, c, 250, raw)
    np.testing.assert_array_equal(api.lowpass(x.tolist(), 10.0, fs, 0.5), raw)  # a list is converted
    np.testing.assert_array_equal(api.resample(t, x, 1 / fs), _resample_all(t, x, 1 / fs))
    assert api.median(x) == K.median_of(x)
    assert api.parabola_curvature(t[:50], x[:50]) == K.curvature(t, x, 0, 49)
    assert api.flight_start(t, x, 1e-3) == K.ballistic_from(t, x, 0, t.size - 1, 1e-3)

    rec = api.measure_rep(x, fs, 100, 260, load_kg=80.0)
    out = K.rep_result()
    K.analyze_rep(x, c, 100, 260, -1, K.rep_settings(fs, 250, 0.03, 0.005, 0.3, 80.0, 1, 0.0003, fs), out)
    np.testing.assert_equal(rec.tolist(), out[0].tolist())  # NaN where the kernel left NaN
    assert rec["ok"] and rec["rom_m"] == pytest.approx(0.25, abs=0.01)
    assert rec["mean_force_n"] == pytest.approx(80 * K.G)

    bad = [
        (lambda: api.lowpass(x, 300.0, fs), "half the sampling rate"),
        (lambda: api.lowpass(np.where(t > 0.1, np.nan, x), 10.0, fs), "NaN"),
        (lambda: api.resample(t, x[:-1], 0.002), "samples"),
        (lambda: api.resample(np.stack([t, t]), np.stack([x, x]), 0.002), "one series"),
        (lambda: api.median(["a", "b"]), "not numbers"),
        (lambda: api.flight_start(t, x, 1e-3, lo=10, hi=400), "outside"),
        (lambda: api.measure_rep(x, fs, 260, 100), "outside"),
        (lambda: api.measure_rep(x, fs, 100, 260, prev_top=150), "prev_top"),
        (lambda: api.measure_rep(x, -fs, 100, 260), "positive"),
    ]
    for call, words in bad:
        with pytest.raises(ValueError, match=words):
            call()


@pytest.mark.parametrize("seed", range(6))
def test_vertex_fit_finds_a_turn_without_a_stop(seed):
    """A touch-and-go turn: the velocity crosses zero with a slope of 20-60 m/s^2 and levels off on
    either side at its own speed (tanh), so each side bends away from a parabola on its own time
    scale. The cubic about the lowest point finds the turn where numpy's polyfit of the same
    window does, and within 0.3 ms of the truth with 0.05 mm of noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 1.0, 1e-3)
    tb = 0.5 + rng.uniform(-5e-4, 5e-4)
    a = rng.uniform(20.0, 60.0)
    v_down, v_up = rng.uniform(0.5, 1.5), rng.uniform(0.8, 2.0)
    u = t - tb
    x = 0.4 + np.where(u < 0, v_down**2 / a * np.log(np.cosh(a * u / v_down)),
                       v_up**2 / a * np.log(np.cosh(a * u / v_up))) + rng.normal(0.0, 5e-5, t.size)
    out = np.empty(6)
    start = tb + rng.uniform(-0.005, 0.005)
    assert K.turning.vertex_fit(t, x, 0, t.size, start, 0.018, out)
    want = naive.vertex_cubic(t, x, start, 0.018)
    assert abs(out[0] - want[0]) < 1e-9 and abs(out[1] - want[1]) < 1e-9
    assert abs(out[0] - tb) < 3e-4
    j0, j1 = int(out[2]), int(out[3])
    assert 35 <= j1 - j0 <= 37 and t[j0] < out[0] < t[j1 - 1]  # its window: 18 ms either side of the vertex
    assert out[4] > 0 and out[5] > 0  # the cubic rises either side
    steady = 0.4 + np.arange(200) * 1e-4  # a steady rise has no vertex: the fit says so
    assert not K.turning.vertex_fit(np.arange(200) * 1e-3, steady, 0, 200, 0.1, 0.018, out)


@pytest.mark.parametrize("seed", range(6))
def test_takeoff_fit_matches_twin(seed):
    """The push's last ms: x leaves the flight parabola as C (t_off - t)^p (C > 0: the force above
    the bar's weight keeps it over the parabola it takes off along), p anywhere from 2 to 4. The
    kernel (the push and the flight fitted together; p refined between the best of its coarse
    exponents, t_off between grid points) fits the samples as well as a plain search over a fine
    grid of both (residual within 1 %; near the best the residual is flat, so the twin's own grid
    puts its take-off up to 0.5 ms away), lands within 0.3 ms of the true take-off, and gives the
    flight's height there. With p taken from a list of five (2, 2.5 ... 4) and t_off from the grid,
    these seeds were 1.9-17.7 ms off."""
    rng = np.random.default_rng(seed)
    fs = 1000.0
    t = np.arange(0, 0.6, 1 / fs)
    t_off, v_off, p = rng.uniform(0.25, 0.32), rng.uniform(1.5, 2.5), rng.uniform(2.0, 4.0)

    def flight(tt):
        return 0.3 + v_off * (tt - t_off) - 0.5 * K.G * (tt - t_off) ** 2

    x = flight(t) + 4.0 * np.clip(t_off - t, 0, None) ** p + rng.normal(0, 1e-5, t.size)
    hi = t.size - 1
    j_fly = int(np.searchsorted(t, t_off + 0.02))
    f = K.flight
    out = np.empty(2)
    assert K.takeoff_fit(t, x, 0, j_fly, hi, out)
    want = naive.takeoff_fit(t, x, 0, j_fly, hi, K.G, f.TAKEOFF_EXPONENTS[0], f.TAKEOFF_EXPONENTS[-1],
                             f.TAKEOFF_BACK_S, f.TAKEOFF_FIT_M, n_grid=1200, p_step=0.02)
    # the residual of the joint fit at a take-off, its exponent free (numpy's lstsq over a fine grid),
    # on the samples within TAKEOFF_FIT_M of the flight
    first = int(np.searchsorted(t, t_off - (f.TAKEOFF_FIT_M / 4.0) ** (1 / p)))
    u = t[first:] - t[hi]
    y = x[first:] + 0.5 * K.G * u * u

    def residual(to):
        best = np.inf
        for q in np.arange(1.8, 4.6, 0.005):
            basis = np.column_stack([np.ones_like(u), u - u.mean(), np.clip(to - t[first:], 0, None) ** q])
            c, *_ = np.linalg.lstsq(basis, y - y.mean(), rcond=None)
            best = min(best, float(np.sum((y - y.mean() - basis @ c) ** 2)))
        return best

    assert residual(out[0]) <= 1.01 * residual(want[0])
    assert abs(out[0] - t_off) < 3e-4
    assert abs(out[1] - flight(out[0])) < 5e-5 and abs(want[1] - flight(want[0])) < 5e-5
    assert not K.takeoff_fit(t, x, 0, hi - 6, hi, out)  # too little flight to fit


# ---- signs and staircases (issue 9) -----------------------------------------------------------


def _sums(columns, y):
    """The sums a kernel's normal equations are built from: s1, sy, syy, then per column s, ss, sy."""
    out = [float(len(y)), float(np.sum(y)), float(np.sum(y * y))]
    for c in columns:
        out += [float(np.sum(c)), float(np.sum(c * c)), float(np.sum(c * y))]
    return out


@pytest.mark.parametrize("seed", range(12))
def test_three_piece_solve_keeps_both_branches_on_one_side(seed):
    """A bottom's two branches both lie above its level, a top's both below: where the free solution
    has them on opposite sides, the solve takes the best with one branch flat, as a plain search
    over the signs does. Seeds alternate between data of one sign and of opposite signs."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 0.3, 120)
    te, t0 = rng.uniform(0.05, 0.12), rng.uniform(0.15, 0.25)
    ul, ur = (te - t).clip(min=0) ** 2, (t - t0).clip(min=0) ** 2.5
    cl = rng.uniform(1, 5) * (-1 if seed % 2 else 1)
    y = 0.4 + cl * ul + rng.uniform(1, 5) * ur + rng.normal(0, 1e-4, t.size)
    coef = np.empty(3)
    s1, sx, sxx, sl, sll, slx, sr, srr, srx = _sums([ul, ur], y)
    got = K.turning._solve3(s1, sx, sxx, sl, sll, slx, sr, srr, srx, coef)
    want, wcoef = naive.least_squares_signed([np.ones_like(t), ul, ur], y, [1, 2])
    assert coef[1] * coef[2] >= 0.0
    assert got == pytest.approx(want, rel=1e-6, abs=1e-12)
    np.testing.assert_allclose(coef, wcoef, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_two_term_solve_keeps_the_branches_signs(seed):
    """The two-term fit's normal equations solved with both branches' leading coefficients of the
    one-term fit's sign or zero (the second term free), against a plain search over the signs."""
    rng = np.random.default_rng(100 + seed)
    t = np.linspace(0.0, 0.3, 150)
    te, t0 = 0.08, rng.uniform(0.1, 0.2)
    dl, dr = (te - t).clip(min=0), (t - t0).clip(min=0)
    cols = [np.ones_like(t), dl**2, dr**2.5, dr**3.5]
    y = 0.4 + rng.normal(0, 2, 3) @ np.stack(cols[1:]) + rng.normal(0, 1e-4, t.size)
    sgn = 1.0 if seed % 3 else -1.0
    A = np.stack(cols) @ np.stack(cols).T
    A[np.diag_indices(4)] += 1e-18
    g = np.stack(cols) @ y
    out = np.empty(4)
    assert K.turning._solve_signed(A.copy(), g.copy(), sgn, out)
    _, want = naive.least_squares_signed(cols, y, [1, 2], sgn)
    assert out[1] * sgn >= 0.0 and out[2] * sgn >= 0.0
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-7)


def test_a_creep_before_the_rise_is_not_taken_for_a_descent():
    """A still bar that creeps up at 3 cm/s for 120 ms before a steep rise (a slow lead-in). Free
    to take either sign, the bottom fit's descent branch climbed along the creep as an "arrival
    from below" and started the rise 79-83 ms late; held on the level's upper side it starts it
    where the creep has visibly begun (0.1 mm steps), within 25 ms."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        t = np.arange(0, 0.5, 0.001) + rng.uniform(0, 0.001)
        t0, lead, v_lead = 0.2, 0.12, 0.03
        u = (t - t0).clip(min=0)
        x = 0.5 + v_lead * (u - 0.01 * (1 - np.exp(-u / 0.01))) + 40.0 * (t - t0 - lead).clip(min=0) ** 2.5
        x = np.round((x + rng.normal(0, 3e-5, t.size)) / 1e-4) * 1e-4
        hi = int(np.argmax(x >= 0.515))
        coef, times, exps = np.empty(3), np.empty(2), np.empty(2)
        K.fit_turning_point_auto(t, x, 0, hi, np.bool_(True), coef, times, exps)
        assert coef[1] >= 0.0 and coef[2] > 0.0
        assert 0.0 <= times[1] - t0 < 0.025


def test_crossings_of_a_staircase_are_where_the_bar_crossed_its_boundaries():
    """The first time the record reaches each count boundary above the still reading lies between
    two samples across which the true bar crossed that boundary (exact to a sample spacing), and
    agrees with its plain twin; a wobble that dips back and climbs again counts once."""
    t = np.arange(0, 0.3, 0.001)
    true = 0.3004 + 0.2 * (1 - np.cos(np.pi * (t / 0.3))) + 0.0003 * np.sin(40 * t)
    step = 1e-3
    x = np.round(true / step) * step
    low = x[0]
    tc, yc = np.empty(40), np.empty(40)
    n = K.staircase.crossings(t, x, 0, t.size, low, step, tc, yc)
    want = naive.crossings(t, x, low, step, 40)
    assert n == len(want) == 40
    np.testing.assert_allclose(tc[:n], [w[0] for w in want], atol=1e-12)
    np.testing.assert_allclose(yc[:n], [w[1] for w in want], atol=1e-12)
    for tt, yy in zip(tc[:n], yc[:n]):
        j = int(np.searchsorted(t, tt))
        assert true[j - 1] < yy <= true[j]


@pytest.mark.parametrize("seed", range(6))
def test_level_fit_on_crossings_matches_its_bounded_twin(seed):
    """The crossings' fit (level within half a step of the still reading, the rise's coefficient
    >= 0, optionally the second term free) against a plain search over the limits' faces."""
    rng = np.random.default_rng(seed)
    tc = np.sort(rng.uniform(0.01, 0.08, 9))
    w = rng.uniform(0.5, 2.0, tc.size)
    t0 = rng.uniform(-0.01, 0.01)
    yc = 0.5 + rng.normal(0, 3e-4) + 40.0 * (tc - 0.0).clip(min=0) ** 2.5 + rng.normal(0, 2e-4, tc.size)
    lev_lo, lev_hi = 0.4995, 0.5005
    for model, par in ((0, 2.5), (0, 3.0), (2, 2.0), (1, 0.03)):
        c3 = np.empty(3)
        got = K.staircase._level_sse(tc, yc, w, tc.size, t0, model, par, lev_lo, lev_hi, c3)
        u = (tc - t0).clip(min=0)
        first = naive.ramp_rise(u, par) if model == 1 else np.where(u > 0, u ** par, 0.0)
        cols = [first] + ([np.where(u > 0, u ** (par + 1), 0.0)] if model == 2 else [])
        want, wcoef = naive.level_fit_bounded(cols, yc, w, lev_lo, lev_hi)
        assert got == pytest.approx(want, rel=1e-6, abs=1e-15)
        np.testing.assert_allclose(c3[:1 + len(cols)], wcoef, rtol=1e-6, atol=1e-9)
