"""Helpers shared by the test modules (import them with ``from tests.conftest import ...``)."""

from __future__ import annotations

import sqlite3
import time

import pytest


def db_dump(path) -> list[str]:
    """Everything in an SQLite file, as SQL text (to show that nothing changed)."""
    conn = sqlite3.connect(str(path))
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def emulator_dir(tmp_path, monkeypatch):
    """Emulators started by a test announce themselves in a directory of the test's own."""
    path = tmp_path / "emu"
    monkeypatch.setenv("VBT_EMULATOR_DIR", str(path))
    return path


def full_disk(monkeypatch, extra_pages: int = 0) -> None:
    """History connections that cannot grow the file beyond its size at opening plus ``extra_pages``
    (``PRAGMA max_page_count``): SQLite's own SQLITE_FULL, "database or disk is full", without root."""
    import vbt.store.db as store_db

    original = store_db._connect_sqlite

    def connect(path, timeout_s):
        conn = original(path, timeout_s)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1) + extra_pages}")
        return conn

    monkeypatch.setattr(store_db, "_connect_sqlite", connect)


def read_until(ser, dec, predicate, timeout_s: float = 3.0) -> list:
    """Read a serial port through decoder ``dec`` until ``predicate(items)`` holds; fail after
    ``timeout_s`` with what arrived."""
    items = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = ser.read(max(1, ser.in_waiting))
        if data:
            items.extend(dec.feed(data, time.monotonic()))
            if predicate(items):
                return items
    raise AssertionError(f"condition not met within {timeout_s} s; got "
                         f"{[type(i).__name__ for i in items][-20:]}")


def one_set(velocities, rom_m=0.45, lead_in_s=1.0, lockout_s=0.8, tail_s=5.0):
    """A scripted squat set (for the emulator) with exactly these mean concentric velocities."""
    import numpy as np

    from firmware_bridge.motion import GRID_HZ, MotionScript, ScriptRep
    from vbt.simulate import Timeline, concentric_truth

    tl = Timeline(x0_m=1.2)
    tl.hold(lead_in_s)
    reps = []
    for k, v in enumerate(velocities, start=1):
        tl.move(-rom_m, 0.7, 2.2, 2.0, role="eccentric")
        tl.hold(0.05)
        seg = tl.move(rom_m, rom_m / v, 2.0, 2.4, role="concentric")
        tr = concentric_truth(seg, k)
        reps.append(ScriptRep(1, k, tr.concentric_start_s, tr.concentric_end_s, tr.mean_velocity_m_s,
                              tr.mean_propulsive_velocity_m_s, tr.peak_velocity_m_s, tr.rom_m))
        tl.hold(lockout_s)
    tl.hold(tail_s)
    t = np.arange(0.0, tl.t_s, 1.0 / GRID_HZ)
    return MotionScript(t, tl.position(t), reps)
