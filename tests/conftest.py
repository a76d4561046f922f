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
