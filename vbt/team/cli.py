"""`vbt team`: set up a team server, connect a rack or a coach to it, push the queue, see its state,
and the coach's day.

``vbt team init ADMIN_URL [--rack NAME…] [--coach NAME…]``  schema, roles and grants; login roles
``vbt team connect URL``   this machine's team server (stored owner-only in the user's config)
``vbt team sync``          upload the finished sets waiting in this rack's history now
``vbt team status``        the outbox: sets waiting, refused, last upload
``vbt team today``         every athlete who trained today on any rack, and who is done for the day
``vbt team racks``         each rack's uploads
A password is never printed back, logged or written into the history (except the new logins'
passwords, shown once by ``init``).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from vbt.store import Store, StoreError
from vbt.team import config


def _fail(message: str) -> int:
    print(f"vbt team: {message}", file=sys.stderr)
    return 1


def _url_for(admin_url: str, user: str, password: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, "", ""))


def _cmd_init(args) -> int:
    from vbt.team import db, schema

    with db.connect(args.admin_url, application_name="vbt-team-init") as conn:
        try:
            before, after = schema.init_team(conn)
            logins = [(name, "rack", schema.add_login(conn, name, "rack")) for name in args.rack or ()]
            logins += [(name, "coach", schema.add_login(conn, name, "coach")) for name in args.coach or ()]
        except ValueError as exc:
            return _fail(str(exc))
        except db.DatabaseError as exc:
            return _fail(db.explain(exc, args.admin_url))
    where = db.redact(args.admin_url)
    print(f"team server {where}: schema version {after}" + (f" (was {before})" if before != after else " (up to date)")
          + f"; roles {schema.RACK_GROUP} (racks) and {schema.COACH_GROUP} (coaches) with their grants")
    if logins:
        print("new logins (passwords are shown once: give each machine its URL with `vbt team connect URL`):")
        for name, kind, password in logins:
            print(f"  {kind:<5} {name}: {_url_for(args.admin_url, name, password)}")
    return 0


def _cmd_connect(args) -> int:
    from vbt.team import db

    if args.forget:
        path = config.save(None)
        print(f"this machine no longer syncs to a team server ({path})")
        return 0
    if not args.url:
        return _fail("give the team server's URL (vbt team connect postgresql://USER:PASSWORD@HOST:5432/DB)")
    url = db.check_url(args.url)
    reach = "reachable"
    try:
        with db.connect(url) as conn:
            version = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        reach = f"reachable, team schema version {version}"
    except db.TeamError as exc:
        reach = f"not reachable now ({exc}); sets queue until it is"
    except db.DatabaseError as exc:
        reach = f"reachable but not set up ({db.explain(exc, url)}): run `vbt team init ADMIN_URL` there"
    path = config.save(url, traces=not args.no_traces)
    print(f"team server {db.redact(url)} saved in {path} (readable by you only); {reach}")
    if config.load().source == "environment":
        print(f"note: {config.ENV_URL} is set and wins over the saved URL")
    return 0


def _configured_url() -> str:
    cfg = config.load()
    if cfg.url is None:
        raise StoreError(f"no team server configured: `vbt team connect URL` or set {config.ENV_URL}")
    return cfg.url


def _cmd_sync(args) -> int:
    from vbt.store import database_path
    from vbt.team.sync import SyncWorker, outbox_state

    cfg = config.load()
    url = _configured_url()
    worker = SyncWorker(url, path=database_path(args.home), traces=cfg.traces)
    try:
        n = worker.sync_once()
        state = outbox_state(worker._local())
    finally:
        worker._close()
    print(f"uploaded {n} set{'s' if n != 1 else ''}; {state.pending_sets} waiting"
          + (f" ({len(state.refused)} refused by the server: see `vbt team status`)" if state.refused else ""))
    return 0


def _cmd_status(args) -> int:
    from vbt.team.db import redact
    from vbt.team.sync import outbox_state

    cfg = config.load()
    with Store.open(args.home, recover=False) as store:
        state = outbox_state(store)
        path = store.path
    info = {
        "server": redact(cfg.url) if cfg.url else None, "configured_by": cfg.source, "traces": cfg.traces,
        "history": str(path), "waiting_sets": state.pending_sets, "queued_changes": state.pending_rows,
        "oldest_queued_unix_s": state.oldest_queued_at, "last_upload_unix_s": state.last_upload_at,
        "refused": [{"set_uid": u, "attempts": n, "error": e} for u, n, e in state.refused],
    }
    if args.json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    def when(t):
        return "never" if t is None else f"{datetime.fromtimestamp(t):%Y-%m-%d %H:%M:%S}"

    print(f"team server: {info['server'] or 'none (vbt team connect URL)'}"
          + (f" (from {cfg.source})" if cfg.url else "") + (", traces uploaded" if cfg.traces else ", no traces"))
    print(f"history: {path}")
    print(f"waiting: {state.pending_sets} set{'s' if state.pending_sets != 1 else ''}"
          + (f", oldest queued {when(state.oldest_queued_at)}" if state.pending_sets else ""))
    print(f"last upload: {when(state.last_upload_at)}")
    for uid, attempts, error in state.refused:
        print(f"refused: set {uid} ({attempts} attempt{'s' if attempts != 1 else ''}): {error}")
    return 0


def _team_store():
    from vbt.team.store import TeamStore

    return TeamStore(_configured_url())


def _cmd_today(args) -> int:
    with _team_store() as team:
        days = team.today()
    if args.json:
        json.dump([d.__dict__ for d in days], sys.stdout, indent=2, default=list)
        sys.stdout.write("\n")
        return 0
    if not days:
        print("nobody has trained today yet")
        return 0
    for d in days:
        done = (f"DONE FOR TODAY at {datetime.fromtimestamp(d.done_at_unix_s):%H:%M}" if d.done_for_the_day
                else "training")
        best = "–" if d.best_velocity_m_s is None else f"{d.best_velocity_m_s:.2f} m/s"
        print(f"{d.athlete:<20} {done:<24} {d.n_sets} sets, {d.n_reps} reps, last set "
              f"{datetime.fromtimestamp(d.last_set_at_unix_s):%H:%M}, best {best}; "
              f"{', '.join(d.exercises)} on {', '.join(d.racks)}")
    return 0


def _cmd_racks(args) -> int:
    with _team_store() as team:
        racks = team.racks()
    if not racks:
        print("no rack has uploaded a set yet")
    for r in racks:
        last = "never" if r.last_upload_at_unix_s is None else f"{datetime.fromtimestamp(r.last_upload_at_unix_s):%Y-%m-%d %H:%M:%S}"  # noqa: E501
        print(f"{r.rack:<20} {r.n_recent_sets} sets in the last 24 h, last upload {last}")
    return 0


def _guarded(handler):
    def run(args) -> int:
        from vbt.team.db import TeamError

        try:
            return handler(args)
        except (TeamError, StoreError) as exc:
            return _fail(str(exc))
        except KeyboardInterrupt:
            return _fail("interrupted")

    return run


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "team", help="a team server (PostgreSQL): set it up, connect racks and coaches, sync, the coach's day",
        description="Each rack records into its own history and uploads finished sets to the team server when "
                    "it can (the queue survives crashes and outages); coaches read every rack's sets.")
    sub = p.add_subparsers(dest="team_command", required=True, metavar="ACTION")
    q = sub.add_parser("init", help="create or upgrade the schema, roles and grants (run with an admin's URL)")
    q.add_argument("admin_url", metavar="ADMIN_URL", help="postgresql://ADMIN:PASSWORD@HOST:5432/DB")
    q.add_argument("--rack", action="append", metavar="NAME", help="create a rack login (repeatable)")
    q.add_argument("--coach", action="append", metavar="NAME", help="create a coach login (repeatable)")
    q.set_defaults(func=_guarded(_cmd_init))
    q = sub.add_parser("connect", help="use this team server from this machine (stored in your config)")
    q.add_argument("url", nargs="?", metavar="URL", help="the rack's or coach's postgresql:// URL")
    q.add_argument("--no-traces", action="store_true", help="upload sets and reps without their raw traces")
    q.add_argument("--forget", action="store_true", help="stop using a team server")
    q.set_defaults(func=_guarded(_cmd_connect))
    for name, text, fn in (("sync", "upload the finished sets waiting in this rack's history now", _cmd_sync),
                           ("status", "what this rack's history has waiting for the team server", _cmd_status)):
        q = sub.add_parser(name, help=text)
        q.add_argument("--home", metavar="DIR", help="directory holding the history (default: $VBT_HOME, …)")
        if name == "status":
            q.add_argument("--json", action="store_true")
        q.set_defaults(func=_guarded(fn))
    q = sub.add_parser("today", help="the coach's day: every athlete who trained today, who is done for the day")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_guarded(_cmd_today))
    q = sub.add_parser("racks", help="each rack's uploads")
    q.set_defaults(func=_guarded(_cmd_racks))
