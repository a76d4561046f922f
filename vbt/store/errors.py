"""The one error type of the history, and how a database error becomes one line for a person."""

from __future__ import annotations

import functools
import sqlite3


class StoreError(Exception):
    """The history cannot do what was asked; the message is one line a person can act on."""


class UnknownExerciseError(StoreError):
    pass


class UnknownAthleteError(StoreError):
    pass


class NotFoundError(StoreError):
    pass


def _explain(exc: sqlite3.Error, path) -> str:
    """One line for a person, from an sqlite3 error."""
    msg = str(exc)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return f"{path}: the history database is locked by another program (a recording or import?); try again"
    if "full" in low:
        return f"{path}: the disk is full; nothing was saved"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"{path}: not a readable VBT history database (damaged, or another kind of file)"
    if "readonly" in low or "read-only" in low:
        return f"{path}: the history database is read-only"
    if "unable to open" in low or "disk i/o" in low:
        return f"{path}: cannot open or write the history database ({msg})"
    return f"{path}: database error: {msg}"


def _translated(method):
    """Public Store methods raise StoreError instead of sqlite3 errors."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from exc

    return wrapper
