"""Everything SQLite-specific about the history, apart from its DDL (:mod:`vbt.store.schema`).

The :class:`vbt.store.Store` speaks portable SQL through a DB-API connection; what differs between
engines lives here: how a connection is made and tuned (WAL, ``synchronous``), how a write
transaction is begun, how the file is copied, and the few SQL spellings that are not standard
(:class:`SqliteDialect`). A server backend (PostgreSQL) provides the same functions and a dialect of
its own.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path

#: How long a write waits for another writer before "the database is locked".
DEFAULT_BUSY_TIMEOUT_S = 5.0

#: The errors a connection raises (a server backend has its own).
DatabaseError = sqlite3.Error


class SqliteDialect:
    """SQL spellings that differ between engines."""

    #: LIMIT value meaning "no limit" (PostgreSQL: NULL).
    no_limit = -1
    #: Start of a write transaction that takes the write lock at once.
    begin_write = "BEGIN IMMEDIATE"

    @staticmethod
    def greatest(a: str, b: str) -> str:
        return f"max({a}, {b})"

    @staticmethod
    def least(a: str, b: str) -> str:
        return f"min({a}, {b})"

    @staticmethod
    def distinct_list(expr: str) -> str:
        """Comma-joined distinct values of ``expr`` in a group."""
        return f"GROUP_CONCAT(DISTINCT {expr})"


DIALECT = SqliteDialect()


def _connect_sqlite(path: str, timeout_s: float) -> sqlite3.Connection:
    """The one place a connection is made (tests wrap it to simulate a full disk)."""
    return sqlite3.connect(path, timeout=timeout_s, isolation_level=None)


def connect(path: str, timeout_s: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit)."""
    return _connect_sqlite(path, timeout_s)


def schema_version(conn: sqlite3.Connection) -> int:
    """The file's schema version (0 for a new file); fails fast on a file that is not a database."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def enter_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> str:
    """Switch the file to WAL (it stays so) and return the journal mode.

    The switch takes the file for itself and SQLite's busy handler does not wait for it, so when
    several openers race on a new file, retry within the busy timeout.
    """
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() == "wal":
        return mode
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.005
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(2 * delay, 0.1)


def damage(conn: sqlite3.Connection) -> str | None:
    """What is wrong with the file's structure (``PRAGMA quick_check``), or None when it is sound."""
    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    lines = [line.strip() for r in rows if r[0] != "ok" for line in str(r[0]).splitlines()]
    problems = [line for line in lines if line and not line.startswith("***")]
    return "; ".join(problems)[:160] if problems else None


def configure(conn: sqlite3.Connection) -> None:
    """Durable commits and enforced references."""
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def copy_file(conn: sqlite3.Connection, dest: Path) -> None:
    """A consistent copy of the open database at ``dest``, which appears only when complete.

    A failed copy never passes for a backup; it is built under a name of our own, as another
    process may be copying the same file right now.
    """
    partial = dest.with_name(f"{dest.name}.{os.getpid()}.{threading.get_ident()}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    target = sqlite3.connect(str(partial))
    try:
        conn.backup(target)
    finally:
        target.close()
    os.replace(partial, dest)
