"""Checked entry points to the kernels: plain Python functions that validate their input (shape,
dtype, contiguity, finite values, index ranges), allocate the outputs and call the njit kernel.

For scripts, notebooks, tests and any code outside the live path. ``vbt.tracker.LiveTracker``
calls the raw kernels in its per-chunk loop: its buffers are its own and already right, and these
checks would cost more than the kernels on a 10-sample chunk.
"""

from __future__ import annotations

import numpy as np

from .filters import butter_lowpass, filtfilt
from .flight import ballistic_from, curvature
from .order import median_of
from .rep import analyze_rep, rep_result, rep_settings
from .stream import RESAMPLE_STATE_SIZE, RS_DT, resample_flush, resample_stream


def _series(name: str, values, min_size: int = 1) -> np.ndarray:
    """A 1-D contiguous float64 copy or view of ``values``, finite, of at least ``min_size``."""
    try:
        a = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not numbers ({exc})") from None
    if a.ndim != 1:
        raise ValueError(f"{name}: one series expected, got an array of shape {a.shape}")
    if a.size < min_size:
        raise ValueError(f"{name}: at least {min_size} samples needed, got {a.size}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def _pair(t, x, min_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
    t = _series("t", t, min_size)
    x = _series("x", x, min_size)
    if t.size != x.size:
        raise ValueError(f"t has {t.size} samples but x has {x.size}")
    return t, x


def _positive(name: str, value) -> float:
    value = float(value)
    if not value > 0.0 or not np.isfinite(value):
        raise ValueError(f"{name}: must be a positive number, got {value}")
    return value


def _span(lo, hi, n: int, min_len: int = 0) -> tuple[int, int]:
    lo, hi = int(lo), int(hi)
    if not 0 <= lo <= hi < n or hi - lo < min_len:
        raise ValueError(f"samples {lo}..{hi}: outside 0..{n - 1} or fewer than {min_len + 1}")
    return lo, hi


def lowpass_coefficients(cutoff_hz, fs_hz) -> np.ndarray:
    """The 2nd-order Butterworth low-pass as [b0, b1, b2, a1, a2]."""
    cutoff_hz, fs_hz = _positive("cutoff_hz", cutoff_hz), _positive("fs_hz", fs_hz)
    if cutoff_hz >= fs_hz / 2:
        raise ValueError(f"cutoff_hz must be below half the sampling rate ({fs_hz / 2:g} Hz), got {cutoff_hz:g}")
    coeffs = np.empty(5)
    butter_lowpass(cutoff_hz, fs_hz, coeffs)
    return coeffs


def lowpass(x, cutoff_hz, fs_hz, pad_s: float = 0.5) -> np.ndarray:
    """Zero-phase low-pass of uniformly sampled ``x`` (the analysis's filter), ends padded by
    repeating the end values for ``pad_s``."""
    x = _series("x", x, 2)
    coeffs = lowpass_coefficients(cutoff_hz, fs_hz)
    if not pad_s >= 0.0:
        raise ValueError(f"pad_s must be 0 or more, got {pad_s}")
    out = np.empty_like(x)
    filtfilt(x, coeffs, int(pad_s * fs_hz), out)
    return out


def resample(t, x, dt_s) -> np.ndarray:
    """``x`` at ``t[0] + k * dt_s`` up to ``t[-1]`` (monotone cubic between samples; samples whose
    time does not increase are skipped)."""
    t, x = _pair(t, x)
    dt_s = _positive("dt_s", dt_s)
    state = np.zeros(RESAMPLE_STATE_SIZE)
    state[RS_DT] = dt_s
    out = np.empty(int((t[-1] - t[0]) / dt_s) + 4)
    n = resample_stream(t, x, state, out)
    n += resample_flush(state, out[n:])
    return out[:n].copy()


def median(a) -> float:
    """The median of a series (NaN when empty)."""
    return float(median_of(_series("a", a, 0)))


def parabola_curvature(t, x) -> float:
    """Second derivative of the least-squares parabola through (t, x) (NaN: fewer than 4 samples)."""
    t, x = _pair(t, x)
    return float(curvature(t, x, 0, t.size - 1))


def flight_start(t, x, tol_m, lo: int = 0, hi: int | None = None) -> int:
    """The earliest sample from which x[j..hi] is a free flight (a parabola of curvature -g within
    ``tol_m``), -1 when none."""
    t, x = _pair(t, x)
    lo, hi = _span(lo, t.size - 1 if hi is None else hi, t.size)
    return int(ballistic_from(t, x, lo, hi, _positive("tol_m", tol_m)))


def measure_rep(window, fs_hz, bottom: int, top: int, prev_top: int = -1, *, cutoff_hz: float = 10.0,
                pad_s: float = 0.5, fit_fraction: float = 0.03, fit_min_m: float = 0.005,
                fit_side_s: float = 0.3, load_kg: float = 0.0, shape_passes: int = 1,
                tol_floor_m: float = 0.0003, raw_hz: float = 0.0, step_m: float = 0.0) -> np.void:
    """One rep of a uniformly sampled window whose rise runs from sample ``bottom`` to ``top``
    (``prev_top``: the preceding descent's start, -1 none): a REP_RESULT record (``["ok"]``,
    ``["mean_velocity_m_s"]``, ...; times in seconds from the window's first sample). The
    defaults are vbt.tracker's; it adds the step- and rate-dependent fit windows. ``raw_hz``: the
    rate of the samples the window was resampled from (0: the window's own); ``step_m``: their
    encoder's count, the smallest change between them (0: unknown)."""
    x = _series("window", window, 8)
    fs_hz = _positive("fs_hz", fs_hz)
    bottom, top = _span(bottom, top, x.size, 1)
    prev_top = int(prev_top)
    if not -1 <= prev_top < bottom:
        raise ValueError(f"prev_top must be -1 or a sample before the bottom ({bottom}), got {prev_top}")
    if load_kg < 0.0 or fit_fraction <= 0.0 or fit_min_m < 0.0 or fit_side_s <= 0.0 or tol_floor_m < 0.0 \
            or raw_hz < 0.0 or step_m < 0.0:
        raise ValueError("load, fit window, tolerance, raw rate and step must not be negative (fit_fraction, "
                         "fit_side_s above 0)")
    settings = rep_settings(fs_hz, int(pad_s * fs_hz), fit_fraction, fit_min_m, fit_side_s, load_kg,
                            int(shape_passes), tol_floor_m, raw_hz, step_m)
    out = rep_result()
    analyze_rep(x, lowpass_coefficients(cutoff_hz, fs_hz), bottom, top, prev_top, settings, out)
    return out[0]
