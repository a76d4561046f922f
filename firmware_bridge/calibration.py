"""Counts per metre measured on the host, per native device (`vbt calibrate`).

A spool's counts per metre depend on its drum and how the cable winds, so the value built into
the firmware (sent in HELLO) is only nominal. `vbt calibrate` measures it: the user pulls the
cable out by a known length; the count difference over that length is stored here, keyed by the
device id, and the reader uses it for that device from then on.

The file is ``devices.json`` in the user's data directory (the history's: ``$VBT_HOME``, else
``$XDG_DATA_HOME/vbt``, else ``~/.local/share/vbt``)::

    {"devices": {"5642F00D": {"counts_per_m": 10412.5, "firmware_counts_per_m": 10000,
                              "length_m": 1.0, "reversed": false,
                              "calibrated_at": "2026-12-02T01:50:00+00:00"}}}

``reversed``: the count fell as the cable came out (the encoder's A and B the other way round); the
reader negates that device's positions, so that a pulled cable still reads as the bar rising.

A missing or unreadable file means "no calibration" (logged once, never an error).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

_log = logging.getLogger(__name__)
FILENAME = "devices.json"


def path(home: str | os.PathLike | None = None) -> Path:
    from vbt.store import default_home

    return Path(home if home is not None else default_home()) / FILENAME


def load(home: str | os.PathLike | None = None) -> dict:
    """device id (``"%08X"``) -> its stored entry; {} when there is none or the file is unreadable."""
    p = path(home)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        devices = data.get("devices", {})
        return {str(k).upper(): v for k, v in devices.items()
                if isinstance(v, dict) and isinstance(v.get("counts_per_m"), (int, float)) and v["counts_per_m"] > 0}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError) as exc:
        _log.warning("ignoring the device calibrations in %s: %s", p, exc)
        return {}


def counts_per_m_for(device_id: int, home: str | os.PathLike | None = None) -> float | None:
    """The device's measured counts per metre; negative when its count falls as the cable comes out
    (A and B wired the other way round: the reader then negates its positions)."""
    entry = load(home).get(f"{device_id:08X}")
    if not entry:
        return None
    return -float(entry["counts_per_m"]) if entry.get("reversed") is True else float(entry["counts_per_m"])


def save(device_id: int, counts_per_m: float, *, firmware_counts_per_m: int | None = None,
         length_m: float | None = None, reversed_wiring: bool = False,
         home: str | os.PathLike | None = None) -> Path:
    """Store (or replace) one device's calibration; the file is replaced atomically. ``reversed_wiring``:
    the count fell as the cable came out (stored as ``"reversed": true``)."""
    p = path(home)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
            data = {"devices": {}}
    except (OSError, ValueError):
        data = {"devices": {}}
    data["devices"][f"{device_id:08X}"] = {
        "counts_per_m": round(float(counts_per_m), 3),
        "firmware_counts_per_m": firmware_counts_per_m,
        "length_m": length_m,
        "reversed": bool(reversed_wiring),
        "calibrated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    fd, tmp = tempfile.mkstemp(prefix=".devices-", dir=p.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, p)
    return p


class PullDetector:
    """Finds "still, pulled out, still again" in a stream of raw counts.

    Feed it samples (time in s, count); :attr:`result` becomes the count difference between the
    two still stretches once the cable has been held ``still_s`` at both ends with a pull of at
    least ``min_counts`` between them. Still: the count moved no more than ``band_counts``.
    """

    def __init__(self, min_counts: float, band_counts: float, still_s: float = 1.0):
        self.min_counts = min_counts
        self.band_counts = band_counts
        self.still_s = still_s
        self._t: list[float] = []
        self._c: list[float] = []
        self.start_count: float | None = None
        self.result: float | None = None

    def _still_since(self) -> float | None:
        """The count of the stretch that has been still for ``still_s`` up to now, if there is one."""
        t = np.asarray(self._t)
        c = np.asarray(self._c)
        recent = t >= t[-1] - self.still_s
        if t[-1] - t[0] < self.still_s or np.ptp(c[recent]) > self.band_counts:
            return None
        return float(np.median(c[recent]))

    def feed(self, t_s, counts) -> float | None:
        self._t.extend(np.asarray(t_s, dtype=float).tolist())
        self._c.extend(np.asarray(counts, dtype=float).tolist())
        keep = self._t[-1] - 3 * self.still_s
        i = next((k for k, t in enumerate(self._t) if t >= keep), 0)
        del self._t[:i], self._c[:i]
        still = self._still_since()
        if still is None or self.result is not None:
            return self.result
        if self.start_count is None or abs(still - self.start_count) < self.min_counts:
            # Still before the pull (or settled a little elsewhere: start from there).
            if self.start_count is None or abs(still - self.start_count) > self.band_counts:
                self.start_count = still
            return None
        self.result = still - self.start_count
        return self.result
