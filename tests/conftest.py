"""Helpers shared by the test modules (import them with ``from tests.conftest import ...``)."""

from __future__ import annotations

import os
import queue
import sqlite3
import time

import pytest

# The suite runs numba's JIT kernels whatever this machine has built (vbt.native): the test modules
# import the kernels before any fixture runs, and a native module built half-way through would
# change what the later subprocesses run. tests/test_native.py builds one and compares the two.
os.environ["VBT_NATIVE_KERNELS"] = "0"


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """numba's cache holds every kernel before the first test: on a fresh machine they compile here,
    once (~20 s on two cores). Without it, whichever test first started `vbt analyze` on a small file
    would take the first-run path (uncompiled, with a background compile), and the tests after it
    would share the machine with that compile. The first-run tests use caches of their own."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "vbt_cli", "analyze", "--warm-up"], capture_output=True, timeout=900,
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def gc_back_after_gui():
    """A window turns Python's automatic garbage collection off for the GUI thread's timer
    (gui/gc_thread.py). After a test, its windows closed and its threads stopped, collect here, on
    the main thread, and give collection back, so that the non-GUI tests after it run as usual."""
    yield
    import gc

    if not gc.isenabled():  # only a window turns it off, so Qt is loaded by now
        from gui.gc_thread import release

        release()


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


@pytest.fixture(scope="session")
def firmware_toolchain():
    """The AVR toolchain and simavr: the firmware tests skip without them locally, fail in CI."""
    from tests.firmware import fil

    missing = fil.missing_tools()
    if missing:
        msg = ("firmware toolchain missing: " + ", ".join(missing)
               + " (apt-get install gcc-avr avr-libc simavr libsimavr-dev libelf-dev pkg-config)")
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def firmware_built(firmware_toolchain, tmp_path_factory):
    """(firmware, harness, build dir): the default firmware build and the simavr harness, built once."""
    from tests.firmware import fil

    d = tmp_path_factory.mktemp("fw")
    return fil.build_firmware(d / "default"), fil.build_harness(d / "harness"), d


def fresh_health(reader, timeout_s: float = 5.0):
    """The reader's health figures from a tick computed after this call: ``health()`` returns the
    latest tick's (one a second), and a simulated device that runs ahead of the wall clock can deliver
    seconds of stream between two ticks, so the figures read just after a set's end could predate
    bytes the set's end came after (the firmware's garbage bursts: refused 0 in CI, twice)."""
    before = reader.health()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        h = reader.health()
        if h is not before:
            return h
        time.sleep(0.02)
    raise AssertionError(f"no new health tick within {timeout_s} s")


class EventLog:
    """Drains an events queue (a reader's or a live session's); keeps every event; waits on
    conditions with a timeout and says what it saw when they fail."""

    def __init__(self, events: queue.Queue):
        self.queue = events
        self.all: list = []

    def _take(self, timeout_s: float) -> None:
        try:
            self.all.append(self.queue.get(timeout=timeout_s))
        except queue.Empty:
            pass

    def wait(self, predicate, timeout_s: float, after: int = 0):
        """The first event from index ``after`` on for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout_s
        seen = after
        while True:
            for e in self.all[seen:]:
                if predicate(e):
                    return e
            seen = max(seen, len(self.all))
            left = deadline - time.monotonic()
            if left <= 0:
                kinds = [e.type for e in self.all[after:] if e.type != "samples"]
                raise AssertionError(f"no matching event within {timeout_s} s; saw {kinds[-30:]}")
            self._take(min(left, 0.1))

    def wait_samples(self, n: int, timeout_s: float, after: int = 0) -> None:
        deadline = time.monotonic() + timeout_s
        while (got := sum(len(e) for e in self.all[after:] if e.type == "samples")) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {got} samples within {timeout_s} s")
            self._take(0.1)

    def samples(self):
        """(batches, t, x): the sample events in arrival order and their concatenated arrays."""
        import numpy as np

        batches = [e for e in self.all if e.type == "samples"]
        return batches, np.concatenate([b.t_s for b in batches]), np.concatenate([b.position_m for b in batches])


@pytest.fixture(scope="session")
def pg_server():
    """A private PostgreSQL server for the team tests (``vbt.team.localserver``): initdb in a temporary
    directory, started with pg_ctl as a non-root user on a free port, stopped and removed at the end.
    Without PostgreSQL's server programs the team tests skip, except in CI (``CI`` set), where they fail."""
    import os

    try:
        from vbt.team.localserver import LocalServer, ServerUnavailable
    except ImportError as exc:  # psycopg missing
        if os.environ.get("CI"):
            pytest.fail(f"the team tests need psycopg: {exc}")
        pytest.skip(f"the team tests need psycopg ({exc})")
    try:
        server = LocalServer().start()
    except ServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the team tests need a PostgreSQL server: {exc}")
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(autouse=True, scope="session")
def _no_team_server_of_the_user(tmp_path_factory):
    """No test uploads to a team server the person running them configured (`vbt team connect`,
    VBT_TEAM_URL): a configuration directory of the test run's own. Child processes inherit it."""
    import os

    saved = {k: os.environ.get(k) for k in ("VBT_CONFIG_HOME", "VBT_TEAM_URL")}
    os.environ["VBT_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    os.environ.pop("VBT_TEAM_URL", None)
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
