"""Chronojump linear encoder protocol, sans-IO (see ../shared/devices.md for the facts).

Wire format, device to host, 115200 baud 8N1: one byte per timer period of about 1 ms, the
signed (two's complement) number of encoder counts since the previous byte; one count is
1 mm, so a byte is also mm/ms = m/s. Bytes that no bar can produce are in-band messages:
``'J'`` (74) answers the host's ``'J'`` probe, ``'T'`` (84) and ``'t'`` (116) report the push
button pressed and released. We take those three as extra bytes that do not occupy a timer
period. The first ~20 bytes after the port opens are garbage on some units and are dropped.

The firmware's timer runs at about 0.973 ms per byte, not 1 ms, and the protocol carries no
time, so :class:`ByteClock` estimates the real byte period from the byte count against the
host's arrival times (a weighted least-squares line with exponential forgetting) and stamps
samples on that line through a slew-limited loop, so consecutive stamps never jump. Fed
explicit host times, the decoder is deterministic.
"""

from __future__ import annotations

import math

import numpy as np

from firmware_bridge.protocol import Button, DecoderStats, ProbeEcho, ProtocolError, Samples

BAUDRATE = 115200
COUNTS_PER_M = 1000
PROBE = b"J"
PROBE_BYTE = 0x4A  # 'J'
BUTTON_PRESSED_BYTE = 0x54  # 'T'
BUTTON_RELEASED_BYTE = 0x74  # 't'
CONTROL_BYTES = (PROBE_BYTE, BUTTON_PRESSED_BYTE, BUTTON_RELEASED_BYTE)
NOMINAL_BYTE_PERIOD_S = 0.001
FIRMWARE_BYTE_PERIOD_S = 0.000973  # what the firmware's timer actually gives (devices.md)
STARTUP_GARBAGE_BYTES = 20
# 20 mm in one ms is 20 m/s, far beyond any barbell; larger values are line noise.
MAX_COUNTS_PER_BYTE = 20


class ByteClock:
    """Estimate send times of a byte stream that carries no time, from its arrival times.

    Model: the k-th sample was sent at ``a + b·k``. Each read gives one observation: the
    last byte of the read, index ``k_end``, arrived at ``t_arrival`` (send time plus a latency
    that is never negative). The line is a weighted least-squares fit over these points with
    exponential forgetting (``window_s``); points far off the line (a stalled reader handing
    over a backlog) are down-weighted (Huber weight with scale ``robust_scale_s``). Until the
    observations span ``warmup_samples`` the slope is the prior ``prior_period_s``; the fitted
    slope is always clamped to ``[min_period_s, max_period_s]``.

    Stamps follow the fitted line through a loop whose per-sample step is the current period
    plus a correction limited to ``slew`` of a period (0.2 %), so they are strictly increasing,
    never jump when the fit moves, and an offset error (the prior's, during warm-up) is worked
    off slowly instead of warping velocities: what matters for velocity is the spacing, and that
    follows the fitted period at once.

    Parameters are arguments, not globals, and the output depends only on the inputs.
    """

    def __init__(
        self,
        prior_period_s: float = FIRMWARE_BYTE_PERIOD_S,
        *,
        min_period_s: float = 0.0009,
        max_period_s: float = 0.0011,
        window_s: float = 30.0,
        warmup_samples: int = 500,
        robust_scale_s: float = 0.005,
        slew: float = 0.002,
        settle_samples: float = 2000.0,
    ):
        if not (0 < min_period_s <= prior_period_s <= max_period_s):
            raise ValueError("need 0 < min_period_s <= prior_period_s <= max_period_s")
        self.prior_period_s = prior_period_s
        self.min_period_s = min_period_s
        self.max_period_s = max_period_s
        self.tau_samples = max(10.0, window_s / prior_period_s)
        self.warmup_samples = warmup_samples
        self.robust_scale_s = robust_scale_s
        self.slew = slew
        self.settle_samples = settle_samples
        self.samples = 0  # samples stamped so far
        self._k_first: int | None = None
        self._t_ref = 0.0
        self._k_last = 0
        self._sw = self._sx = self._sy = self._sxx = self._sxy = 0.0
        self._a = 0.0  # fitted line in (x = k - k_first, y = t - t_ref)
        self._b = prior_period_s
        self._established = False
        self._t_last: float | None = None  # last stamp (relative to _t_ref)

    @property
    def period_s(self) -> float:
        """The byte period currently in use (prior until the fit is established)."""
        return self._b

    @property
    def established(self) -> bool:
        return self._established

    def _observe(self, k: int, t: float) -> None:
        if self._k_first is None:
            self._k_first = k
            self._t_ref = t
        x = float(k - self._k_first)
        y = t - self._t_ref
        if self._sw > 0.0:
            decay = math.exp(-(k - self._k_last) / self.tau_samples)
            self._sw *= decay
            self._sx *= decay
            self._sy *= decay
            self._sxx *= decay
            self._sxy *= decay
        w = 1.0
        if self._sw > 0.0:
            r = abs(y - (self._a + self._b * x))
            if r > self.robust_scale_s:
                w = self.robust_scale_s / r
        self._sw += w
        self._sx += w * x
        self._sy += w * y
        self._sxx += w * x * x
        self._sxy += w * x * y
        self._k_last = k
        b = self.prior_period_s
        if x >= self.warmup_samples:
            den = self._sw * self._sxx - self._sx * self._sx
            if den > 0.0:
                b = (self._sw * self._sxy - self._sx * self._sy) / den
                b = min(self.max_period_s, max(self.min_period_s, b))
                self._established = True
        self._b = b
        self._a = (self._sy - b * self._sx) / self._sw

    def stamp(self, n_new: int, t_arrival_s: float) -> np.ndarray:
        """Send times (host seconds) of the next ``n_new`` samples, the last arriving at ``t_arrival_s``."""
        if n_new <= 0:
            return np.empty(0, dtype=np.float64)
        k_end = self.samples + n_new - 1
        self._observe(k_end, float(t_arrival_s))
        x_first = float(self.samples - self._k_first)
        steps = np.arange(n_new, dtype=np.float64)
        if self._t_last is None:
            rel = self._a + self._b * (x_first + steps)
        else:
            b = self._b
            target_end = self._a + b * (x_first + n_new - 1)
            natural_end = self._t_last + n_new * b
            gain = 1.0 - math.exp(-n_new / self.settle_samples)
            limit = self.slew * n_new * b
            corr = min(limit, max(-limit, (target_end - natural_end) * gain))
            step = b + corr / n_new
            rel = self._t_last + step * (steps + 1.0)
        self._t_last = float(rel[-1])
        self.samples += n_new
        return rel + self._t_ref


class ChronojumpDecoder:
    """Bytes of one Chronojump connection in, sample batches, button changes and probe echoes out.

    Parameters
    ----------
    inverted
        The encoder is mounted upside down: every count is negated.
    startup_discard_bytes
        Bytes dropped at the start of the connection (start-up garbage).
    clock
        Estimator of the byte period; a fresh :class:`ByteClock` by default. Keep one across
        reconnections of the same unit to keep its learned rate.
    fixed_period_s
        Stamp sample ``k`` at ``k * fixed_period_s`` (from 0) instead of estimating from host
        times: the time base of a saved Chronojump file. Also used when ``feed`` gets no time.
    max_counts_per_byte
        Larger magnitudes (other than the control bytes) are counted as implausible and taken
        as no motion. Default 6 (6 m/s): faster than any barbell moves (science.md: peak
        velocities of the fastest lifts stay below 4 m/s).
    max_count_jump, noise_window, noise_flags
        The line-noise guard. The protocol has no checksum, so noise within the plausible range
        would read as motion. A bar cannot change speed by ``max_count_jump`` m/s within one
        millisecond (2 m/s in 1 ms is 2000 m/s²; the 1 mm count makes consecutive bytes of a
        steady bar differ by 1), so a byte that differs that much from the previous one is implausible; when
        ``noise_flags`` of the last ``noise_window`` bytes were implausible the line is noisy and
        every byte counts as no motion until ``noise_window`` clean bytes in a row have passed.
    """

    name = "chronojump"
    counts_per_m = COUNTS_PER_M

    def __init__(
        self,
        *,
        inverted: bool = False,
        startup_discard_bytes: int = STARTUP_GARBAGE_BYTES,
        clock: ByteClock | None = None,
        fixed_period_s: float | None = None,
        max_counts_per_byte: int = 6,
        max_count_jump: int = 2,
        noise_window: int = 32,
        noise_flags: int = 3,
    ):
        self.inverted = inverted
        self.clock = clock if clock is not None else ByteClock()
        self.fixed_period_s = fixed_period_s
        self.max_counts_per_byte = int(max_counts_per_byte)
        self.max_count_jump = int(max_count_jump)
        self.noise_window = int(noise_window)
        self.noise_flags = int(noise_flags)
        self._last_raw = 0  # previous sample byte's count, as received
        self._ref = 0  # last plausible count
        self._consistent_run = 0
        self._recent_flags: list[int] = []  # sample numbers of recent implausible bytes
        self._noisy = False
        self._clean_run = 0
        self._n_seen = 0  # sample bytes seen (numbering for the guard)
        self.stats = DecoderStats()
        self.stats.extra["probe_echoes"] = 0
        self.stats.extra["buttons"] = 0
        self.stats.extra["noise_bytes"] = 0
        self._to_discard = int(startup_discard_bytes)
        self._count_mm = 0  # running position in counts since the connection began
        self._fixed_k = 0
        self._last_t: float | None = None

    @property
    def position_m(self) -> float:
        return self._count_mm / COUNTS_PER_M

    @property
    def period_s(self) -> float:
        return self.fixed_period_s if self.fixed_period_s is not None else self.clock.period_s

    def handshake(self) -> bytes:
        """Bytes the host sends on connecting: the identification probe."""
        return PROBE

    def feed(self, data: bytes, t_host_s: float | None = None) -> list:
        """Decode one read. Never raises on any byte content."""
        out: list = []
        n = len(data)
        if n == 0:
            return out
        self.stats.bytes += n
        if self._to_discard > 0:
            k = min(self._to_discard, n)
            self._to_discard -= k
            self.stats.discarded_bytes += k
            data = data[k:]
            if not data:
                return out
        u8 = np.frombuffer(bytes(data), dtype=np.uint8)
        s8 = u8.view(np.int8)
        control = (u8 == PROBE_BYTE) | (u8 == BUTTON_PRESSED_BYTE) | (u8 == BUTTON_RELEASED_BYTE)
        is_sample = ~control
        counts = s8[is_sample].astype(np.int64)
        if counts.size:
            counts = self._guard(counts)
        if self.inverted:
            counts = -counts
        m = int(counts.size)
        if m:
            if self.fixed_period_s is not None or t_host_s is None:
                period = self.fixed_period_s if self.fixed_period_s is not None else NOMINAL_BYTE_PERIOD_S
                t = (self._fixed_k + np.arange(m, dtype=np.float64)) * period
                self._fixed_k += m
            else:
                t = self.clock.stamp(m, t_host_s)
            cum = self._count_mm + np.cumsum(counts)
            self._count_mm = int(cum[-1])
            self._last_t = float(t[-1])
            out.append(Samples(t_s=t, position_m=cum.astype(np.float64) / COUNTS_PER_M))
            self.stats.samples += m
        if np.any(control):
            # Control bytes are reported at the time of the last sample before them.
            sample_idx = np.cumsum(is_sample) - 1  # index within this chunk's samples
            batch_t = out[0].t_s if m else None
            for i in np.flatnonzero(control):
                j = int(sample_idx[i])
                if batch_t is not None and j >= 0:
                    t_evt = float(batch_t[j])
                elif self._last_t is not None:
                    t_evt = self._last_t
                else:
                    t_evt = float(t_host_s) if t_host_s is not None else 0.0
                code = int(u8[i])
                if code == PROBE_BYTE:
                    self.stats.extra["probe_echoes"] += 1
                    out.append(ProbeEcho(t_s=t_evt))
                else:
                    self.stats.extra["buttons"] += 1
                    out.append(Button(pressed=code == BUTTON_PRESSED_BYTE, t_s=t_evt))
        return out


    def _guard(self, raw: np.ndarray) -> np.ndarray:
        """Counts with implausible bytes and noisy stretches replaced by 0 (no motion).

        A byte is implausible when its magnitude is impossible or it jumps by more than
        ``max_count_jump`` from the last plausible byte (the reference). Should that reference
        go stale (16 bytes in a row consistent with each other but not with it), the run is
        taken as real and becomes the reference.
        """
        n = raw.size
        if not self._noisy and self._last_raw == self._ref:
            prev = np.concatenate(([self._ref], raw[:-1]))
            if not ((np.abs(raw) > self.max_counts_per_byte) | (np.abs(raw - prev) > self.max_count_jump)).any():
                # The common case, vectorised: every byte plausible.
                self._ref = self._last_raw = int(raw[-1])
                self._n_seen += n
                self._clean_run += n
                self._consistent_run += n
                return raw
        out = raw.copy()
        for i in range(n):
            c = int(raw[i])
            k = self._n_seen + i
            magnitude_ok = abs(c) <= self.max_counts_per_byte
            if magnitude_ok and abs(c - self._last_raw) <= self.max_count_jump:
                self._consistent_run += 1
            else:
                self._consistent_run = 0
            self._last_raw = c
            bad = not magnitude_ok or abs(c - self._ref) > self.max_count_jump
            if bad and self._consistent_run >= 16:
                bad = False  # the reference was stale, this run is real
            if bad:
                self._clean_run = 0
                self._recent_flags = [f for f in self._recent_flags if f > k - self.noise_window] + [k]
                if len(self._recent_flags) >= self.noise_flags:
                    self._noisy = True
                self.stats.implausible += 1
                out[i] = 0
                continue
            self._ref = c
            self._clean_run += 1
            if self._noisy:
                if self._clean_run >= self.noise_window:
                    self._noisy = False
                    self._recent_flags = []
                else:
                    self.stats.extra["noise_bytes"] += 1
                    out[i] = 0
        self._n_seen += n
        return out


def encode_counts(counts) -> bytes:
    """Counts per byte period (ints, |c| <= MAX_COUNTS_PER_BYTE) to the bytes the device sends."""
    c = np.asarray(counts)
    if c.size == 0:
        return b""
    if not np.issubdtype(c.dtype, np.integer):
        if not np.all(np.isfinite(c)) or np.any(c != np.round(c)):
            raise ProtocolError("counts must be integers")
        c = c.astype(np.int64)
    if np.any(np.abs(c) > MAX_COUNTS_PER_BYTE):
        raise ProtocolError(
            f"a count above {MAX_COUNTS_PER_BYTE} per byte ({MAX_COUNTS_PER_BYTE} m/s) cannot be sent"
        )
    return c.astype(np.int8).tobytes()


def positions_to_counts(position_m, start_mm: int = 0, inverted: bool = False) -> tuple[np.ndarray, int]:
    """Quantise positions (one per byte period) to per-byte counts, as the encoder would.

    Returns the counts and the last absolute position in mm, to continue from. Quantising the
    absolute position (not each difference) keeps the running sum exact.
    """
    mm = np.round(np.asarray(position_m, dtype=np.float64) * COUNTS_PER_M).astype(np.int64)
    counts = np.diff(mm, prepend=start_mm)
    last = int(mm[-1]) if mm.size else start_mm
    counts = np.clip(counts, -MAX_COUNTS_PER_BYTE, MAX_COUNTS_PER_BYTE)
    if inverted:
        counts = -counts
    return counts, last
