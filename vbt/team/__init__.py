"""The team server (PostgreSQL): racks upload finished sets, coaches read every rack's.

``schema`` (the server's DDL, migrations, roles), ``db`` (connecting, the dialect, passwords kept out
of messages), ``sync`` (the rack's upload worker and its outbox), ``store`` (the coach's read API),
``config`` (where the URL is configured), ``cli`` (`vbt team`), ``localserver`` (a private server
for tests and benchmarks). Only :func:`start_sync` and ``config`` load without the driver (psycopg).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def start_sync(history_path: str | os.PathLike, *, on_error=None, on_recovered=None, **kwargs):
    """Start uploading the history's finished sets when a team server is configured
    (``VBT_TEAM_URL`` or ``vbt team connect``). Returns ``(worker or None, one line saying what happens,
    or None when no team server is configured)``; never raises: the live path goes on without it."""
    from vbt.team import config

    cfg = config.load()
    if cfg.url is None:
        return None, None
    try:
        from vbt.team.db import redact
        from vbt.team.sync import SyncWorker

        kwargs.setdefault("traces", cfg.traces)
        worker = SyncWorker(cfg.url, path=history_path, on_error=on_error, on_recovered=on_recovered, **kwargs)
    except ImportError as exc:
        return None, f"team sync off: the PostgreSQL driver is missing ({exc}); pip install 'psycopg[binary]'"
    except Exception as exc:  # noqa: BLE001 - a bad URL: said once, recording goes on
        return None, f"team sync off: {exc}"
    worker.start()
    return worker, f"finished sets are uploaded to the team server {redact(cfg.url)}"
