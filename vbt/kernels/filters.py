"""The zero-phase low-pass: 2nd-order Butterworth coefficients and a padded forward-backward biquad."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .common import NO, YES

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
