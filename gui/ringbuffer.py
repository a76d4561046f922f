"""Fixed-capacity buffers for the rolling trace (no Qt).

The worker thread appends every batch of samples; the GUI's frame timer copies out the newest
window. Each channel is stored twice, side by side, so the newest ``capacity`` samples are always
one contiguous slice and a read is a single ``copy`` under a lock held for microseconds.

:class:`DisplayVelocity` turns the position stream into a velocity for the trace: a causal
difference over ``window_s`` followed by a moving average of the same length (a triangular kernel,
about ``window_s`` of lag). It is only for drawing; rep velocities come from the tracker.
"""

from __future__ import annotations

import threading

import numpy as np


class RingBuffer:
    """The newest ``capacity`` rows of ``n_channels`` float64 channels.

    Parameters
    ----------
    capacity
        How many samples are kept (12 s at 1 kHz is 12 000).
    n_channels
        Columns written together, e.g. time, position and velocity.
    """

    def __init__(self, capacity: int, n_channels: int = 3):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = int(capacity)
        self.n_channels = int(n_channels)
        self._data = np.zeros((self.n_channels, 2 * self.capacity))
        self._head = 0  # index of the next write, in [0, capacity)
        self._size = 0
        self._written = 0  # samples ever written: tells readers whether anything is new
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    @property
    def written(self) -> int:
        """Total samples ever appended (a cheap change counter for readers)."""
        return self._written

    def clear(self) -> None:
        with self._lock:
            self._head = 0
            self._size = 0
            self._written += 1  # readers see a change

    def append(self, *columns: np.ndarray) -> None:
        """Append equally long 1-d arrays, one per channel."""
        if len(columns) != self.n_channels:
            raise ValueError(f"expected {self.n_channels} columns, got {len(columns)}")
        n = int(np.size(columns[0]))
        if n == 0:
            return
        block = np.empty((self.n_channels, n))
        for i, c in enumerate(columns):
            if np.size(c) != n:
                raise ValueError("columns must have the same length")
            block[i] = c
        if n > self.capacity:
            block = block[:, -self.capacity:]
            n = self.capacity
        with self._lock:
            cap, h = self.capacity, self._head
            first = min(n, cap - h)
            # primary copy at [h, h+n) wrapping within [0, cap); mirror at +cap
            self._data[:, h:h + first] = block[:, :first]
            self._data[:, h + cap:h + cap + first] = block[:, :first]
            rest = n - first
            if rest:
                self._data[:, :rest] = block[:, first:]
                self._data[:, cap:cap + rest] = block[:, first:]
            self._head = (h + n) % cap
            self._size = min(cap, self._size + n)
            self._written += n

    def latest(self, n: int | None = None) -> np.ndarray:
        """A copy of the newest ``n`` rows (all kept rows by default), oldest first: shape (channels, n)."""
        with self._lock:
            size = self._size if n is None else min(int(n), self._size)
            end = self._head + self.capacity  # the mirror makes [end - size, end) contiguous
            return self._data[:, end - size:end].copy()

    def newer_than(self, written: int) -> tuple[int, np.ndarray]:
        """``(written now, a copy of the rows appended since the count was `written`)`` read together
        (at most the kept rows): a reader that passes the count back each time gets every row once."""
        with self._lock:
            size = min(max(self._written - int(written), 0), self._size)
            end = self._head + self.capacity
            return self._written, self._data[:, end - size:end].copy()

    def since(self, t_min: float, time_channel: int = 0) -> np.ndarray:
        """A copy of the rows whose time channel is at least ``t_min``."""
        with self._lock:
            end = self._head + self.capacity
            view = self._data[:, end - self._size:end]
            k = int(np.searchsorted(view[time_channel], t_min, side="left"))
            return view[:, k:].copy()


class DisplayVelocity:
    """Causal velocity of a position stream for drawing (about ``window_s`` of lag).

    Feed consecutive chunks; each call returns one velocity per sample of the chunk.
    """

    def __init__(self, window_s: float = 0.025):
        self.window_s = float(window_s)
        self._t = np.zeros(0)
        self._x = np.zeros(0)
        self._v = np.zeros(0)

    def reset(self) -> None:
        self._t = np.zeros(0)
        self._x = np.zeros(0)
        self._v = np.zeros(0)

    def feed(self, t_s: np.ndarray, position_m: np.ndarray) -> np.ndarray:
        t_s = np.asarray(t_s, dtype=np.float64)
        position_m = np.asarray(position_m, dtype=np.float64)
        n = t_s.size
        if n == 0:
            return np.zeros(0)
        t = np.concatenate((self._t, t_s))
        x = np.concatenate((self._x, position_m))
        m = self._t.size
        # raw velocity of each new sample: difference back to the first sample at least window_s earlier
        idx = np.searchsorted(t, t[m:] - self.window_s, side="right") - 1
        idx = np.clip(idx, 0, None)
        dt = t[m:] - t[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(dt > 0, (x[m:] - x[idx]) / np.where(dt > 0, dt, 1.0), 0.0)
        # moving average of the raw velocity over the same window (by sample count)
        period = float(np.median(np.diff(t))) if t.size > 1 else 0.001
        k = max(1, int(round(self.window_s / max(period, 1e-5))))
        v_all = np.concatenate((self._v, raw))
        c = np.concatenate(([0.0], np.cumsum(v_all)))
        hi = np.arange(m, m + n) + 1
        lo = np.maximum(hi - k, 0)
        smooth = (c[hi] - c[lo]) / (hi - lo)
        # keep a tail long enough for the next chunk: window_s of positions and k raw velocities
        j = int(np.searchsorted(t, t[-1] - 2.0 * self.window_s))
        keep = max(t.size - j, k + 1)
        self._t, self._x = t[-keep:], x[-keep:]
        self._v = v_all[-keep:]
        return smooth
