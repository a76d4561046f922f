"""Rescue a damaged history: copy every readable row into a new file, keep the original beside it.

SQLite-specific (it reads the damaged file page by page through rowid lookups). A table whose
B-tree is broken part-way is read in order up to the damage, then row by row by rowid, so the rows
on undamaged pages are kept. Rows that refer to a lost row (a rep of a lost set) are left out.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from vbt.store.errors import StoreError
from vbt.store.schema import SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)

#: Tables in the order their rows may be copied (parents first) and the parent each row needs.
TABLES = (
    ("athletes", None),
    ("exercises", None),
    ("sessions", ("athlete_id", "athletes")),
    ("sets", ("session_id", "sessions")),
    ("reps", ("set_id", "sets")),
    ("trace_chunks", ("set_id", "sets")),
)
#: How far past the last readable row a broken table is probed, row id by row id.
PROBE_SPAN = 200_000


@dataclass
class RepairReport:
    path: Path
    original_kept_as: Path
    saved: dict = field(default_factory=dict)  # table -> rows copied
    unreadable: dict = field(default_factory=dict)  # table -> rows known lost (row ids that failed)
    orphans: dict = field(default_factory=dict)  # table -> rows left out: their parent was lost
    sets_lost_ids: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"repaired history written to {self.path}; the damaged original is kept as {self.original_kept_as}"]
        for table, _ in TABLES:
            n = self.saved.get(table, 0)
            lost = self.unreadable.get(table, 0) + self.orphans.get(table, 0)
            out.append(f"  {table}: {n} saved" + (f", {lost} lost" if lost else ""))
        if self.sets_lost_ids:
            shown = ", ".join(str(i) for i in self.sets_lost_ids[:20])
            more = " …" if len(self.sets_lost_ids) > 20 else ""
            out.append(f"  sets lost (ids): {shown}{more}")
        else:
            out.append("  no set was lost")
        return out


def _columns(conn, table: str) -> list[str]:
    try:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        return []


def _readable_rows(src, table: str, cols: list[str]) -> tuple[list[tuple], int]:
    """(rows that could be read, row ids that failed) of one table, by rowid."""
    select = f"SELECT rowid, {', '.join(cols)} FROM {table}"
    rows: list[tuple] = []
    try:
        for row in src.execute(select + " ORDER BY rowid"):
            rows.append(row)
        return rows, 0
    except sqlite3.DatabaseError as exc:
        log.info("%s: sequential read stopped at row %s (%s); probing row by row", table,
                 rows[-1][0] if rows else None, exc)
    last = rows[-1][0] if rows else 0
    failed, misses = 0, 0
    rowid = last + 1
    while rowid <= last + PROBE_SPAN and misses < 20_000:
        try:
            row = src.execute(select + " WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.DatabaseError:
            failed += 1
            misses = 0
            rowid += 1
            continue
        if row is None:
            misses += 1
        else:
            rows.append(row)
            misses = 0
        rowid += 1
    return rows, failed


def repair(path: str | os.PathLike) -> RepairReport:
    """Copy everything readable from the history file ``path`` into a new file that takes its place;
    the damaged original is renamed ``<name>.damaged-<time>`` beside it. Returns what was saved."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no history file to repair")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    new = path.with_name(f"{path.name}.repair-{os.getpid()}.tmp")
    for leftover in (new, Path(f"{new}-wal"), Path(f"{new}-shm")):
        if leftover.exists():
            leftover.unlink()
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot be opened at all ({exc}); nothing to repair from") from None
    report = RepairReport(path=path, original_kept_as=kept)
    dst = sqlite3.connect(str(new), isolation_level=None)
    try:
        build_schema(dst, SCHEMA_VERSION)
        dst.execute("BEGIN")
        kept_ids: dict[str, set] = {}
        for table, parent in TABLES:
            cols_src = _columns(src, table)
            cols = [c for c in _columns(dst, table) if c in cols_src and c != "id"]
            if not cols_src:
                report.unreadable[table] = 0
                kept_ids[table] = set()
                continue
            rows, failed = _readable_rows(src, table, cols)
            report.unreadable[table] = failed
            ids, orphans = set(), 0
            parent_i = cols.index(parent[0]) + 1 if parent else None
            sql = f"INSERT INTO {table} (id, {', '.join(cols)}) VALUES (?, {', '.join('?' * len(cols))})"
            for row in rows:
                if parent and row[parent_i] not in kept_ids[parent[1]]:
                    orphans += 1
                    continue
                dst.execute(sql, row)
                ids.add(row[0])
            kept_ids[table] = ids
            report.saved[table] = len(ids)
            report.orphans[table] = orphans
        # Sets known to have existed (their reps or trace name them) but not recovered.
        named = set()
        for table in ("reps", "trace_chunks"):
            try:
                named |= {r[0] for r in src.execute(f"SELECT DISTINCT set_id FROM {table}")}
            except sqlite3.DatabaseError:
                pass
        report.sets_lost_ids = sorted(named - kept_ids.get("sets", set()))
        dst.execute("COMMIT")
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":  # pragma: no cover - a fresh file built by us
            raise StoreError(f"{new}: the repaired copy failed its own check ({check})")
    except BaseException:
        dst.close()
        src.close()
        for leftover in (new, Path(f"{new}-wal"), Path(f"{new}-shm")):
            if leftover.exists():
                leftover.unlink()
        raise
    dst.close()
    src.close()
    os.replace(path, kept)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{kept}{suffix}"))
    os.replace(new, path)
    return report
