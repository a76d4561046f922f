"""What the team tests share: a fresh team database on the private server, racks' histories, sets."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

_counter = itertools.count(1)


@dataclass
class Team:
    server: object
    database: str
    admin_url: str
    rack1_url: str
    rack2_url: str
    coach_url: str

    def admin(self):
        from vbt.team import db

        return db.connect(self.admin_url)

    def count(self, sql: str, params=()) -> int:
        with self.admin() as conn:
            return conn.execute(sql, params).fetchone()[0]


def new_team(server) -> Team:
    """A new database on the server, set up by ``init`` with two rack logins and a coach."""
    from psycopg import sql

    from vbt.team import db, schema

    name = f"team_{int(time.time() * 1000) % 10**9}_{next(_counter)}"
    with db.connect(server.url(database="postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin_url = server.url(database=name)
    with db.connect(admin_url) as conn:
        schema.init_team(conn)
        urls = {login: server.url(login, schema.add_login(conn, login, kind), database=name)
                for login, kind in (("rack1", "rack"), ("rack2", "rack"), ("coach", "coach"))}
    return Team(server, name, admin_url, urls["rack1"], urls["rack2"], urls["coach"])


def add_sets(store, n: int, *, athlete: str = "ana", exercise: str = "squat", trace_s: float = 2.0,
             start: float | None = None, load_kg: float = 100.0) -> list[int]:
    """``n`` finished sets of three reps (with a trace of ``trace_s`` seconds at 1 kHz)."""
    from tests.test_store import reps_from

    start = time.time() - 3600 if start is None else start
    t = np.arange(0.0, trace_s, 0.001)
    ids = []
    v = 1.4 - 0.006 * load_kg  # slower as the load rises, as a load-velocity profile needs
    for k in range(n):
        ids.append(store.add_set(reps_from([v, v - 0.05, v - 0.1 - 0.01 * k]), exercise=exercise, athlete=athlete,
                                 load_kg=load_kg, started_at_unix_s=start + 120 * k,
                                 trace=(t, 0.3 * np.sin(t + k)) if trace_s else None))
    return ids


def wait_for(predicate, timeout_s: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout_s} s")
