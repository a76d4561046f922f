"""The training history: one SQLite file, durable as sets happen (stdlib ``sqlite3`` only).

Layout
------
``athletes``, ``exercises`` (catalogue, :mod:`vbt.exercises`), ``sessions`` (one athlete's training
session), ``sets``, ``reps`` (every field of :class:`vbt.results.Rep` plus a ``deleted`` flag and the
order it was recorded in) and ``trace_chunks`` (the raw position trace of each set, journaled in
chunks while the set runs and stitched into one chunk when it ends or is recovered).

The file lives in the user's data directory (:func:`default_home`; ``VBT_HOME`` overrides it). It
runs in WAL mode, so the history can be read while a set is being recorded. The schema is versioned
with ``PRAGMA user_version``; :data:`MIGRATIONS` upgrades any earlier version step by step, after
copying the old file to ``<name>.v<N>.bak``.

Durability
----------
:class:`SetRecorder` owns a writer thread with its own connection, so the caller (the GUI thread,
the live command) never waits on the disk. A completed rep is committed (``synchronous=FULL``) as
soon as it arrives; the trace is committed at least every ``trace_flush_interval_s``. A set whose
writer died (``kill -9``, power cut) is found the next time the store is opened: its trace chunks
are stitched, its reps kept, its stop rule re-applied and it is marked ``recovered``.

Modules
-------
``errors`` (StoreError), ``paths`` (where the file lives), ``records`` (what reads return), ``codec``
(trace blobs), ``schema`` (SQLite DDL and migrations), ``db`` (everything else SQLite-specific),
``store`` (:class:`Store`: opening, transactions, catalogue, writing, recovery), ``queries`` (reading),
``csv_io`` (export and import), ``recorder`` (:class:`SetRecorder`, the live writer thread).
Everything public is importable from ``vbt.store``.

Errors a person can cause or fix (locked, corrupt, full disk, unknown exercise, impossible load)
raise :class:`StoreError` with one readable line; the failed write changes nothing.
"""

from vbt.fields import SIDES, check_set_fields
from vbt.store.codec import RAW_CODEC, TRACE_CODEC, decode_f8, encode_f8
from vbt.store.csv_io import EXPORT_COLUMNS, EXPORT_FILES, ExportData, read_export
from vbt.store.db import DEFAULT_BUSY_TIMEOUT_S
from vbt.store.errors import NotFoundError, StoreError, UnknownAthleteError, UnknownExerciseError
from vbt.store.paths import DB_FILENAME, database_path, default_home
from vbt.store.queries import DEFAULT_PROFILE_DAYS, SESSION_GAP_S
from vbt.store.recorder import SetRecorder
from vbt.store.records import (
    Athlete,
    SessionSummary,
    SetDetail,
    SetRecord,
    StoredRep,
    Trace,
    TrendPoint,
    iso_local,
    local_date,
)
from vbt.store.schema import (
    _REP_COLUMN,
    MIGRATIONS,
    REP_METRIC_COLUMNS,
    SCHEMA_VERSION,
    build_schema,
)
from vbt.store.store import DEFAULT_ATHLETE, HEARTBEAT_S, STALE_AFTER_S, Store

__all__ = [
    "DB_FILENAME", "DEFAULT_ATHLETE", "DEFAULT_BUSY_TIMEOUT_S", "DEFAULT_PROFILE_DAYS", "EXPORT_COLUMNS",
    "EXPORT_FILES", "HEARTBEAT_S", "MIGRATIONS", "RAW_CODEC", "REP_METRIC_COLUMNS", "SCHEMA_VERSION",
    "SESSION_GAP_S", "SIDES", "STALE_AFTER_S", "TRACE_CODEC", "_REP_COLUMN", "Athlete", "ExportData",
    "NotFoundError", "SessionSummary", "SetDetail", "SetRecord", "SetRecorder", "Store", "StoreError",
    "StoredRep", "Trace", "TrendPoint", "UnknownAthleteError", "UnknownExerciseError", "build_schema",
    "check_set_fields", "database_path", "decode_f8", "default_home", "encode_f8", "iso_local", "local_date",
    "read_export",
]
