"""Helpers shared by the test modules (import them with ``from tests.conftest import ...``)."""

from __future__ import annotations

import sqlite3

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
