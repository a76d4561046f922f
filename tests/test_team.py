"""The team server on a real PostgreSQL (private server, ``pg_server`` in conftest): schema and roles,
idempotent ordered upload of finished sets and their edits, access rules, the coach's read API, and
the faults: server stopped and restarted, sync killed with SIGKILL mid-upload, connection refused."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

psycopg = pytest.importorskip("psycopg") if not os.environ.get("CI") else __import__("psycopg")

from tests.team_helpers import add_sets, new_team, wait_for  # noqa: E402
from vbt.store import Store  # noqa: E402
from vbt.store import schema as local_schema  # noqa: E402
from vbt.team import db, schema  # noqa: E402
from vbt.team.store import TeamStore  # noqa: E402
from vbt.team.sync import SyncWorker, outbox_state  # noqa: E402


@pytest.fixture
def team(pg_server):
    return new_team(pg_server)


@pytest.fixture
def rack(tmp_path):
    with Store(tmp_path / "rack" / "history.sqlite3") as store:
        yield store


def _sync(url, store, **kw) -> int:
    worker = SyncWorker(url, path=store.path, **kw)
    try:
        return worker.sync_once()
    finally:
        worker._close()


# ---- schema, columns, roles --------------------------------------------------------------------------


def test_init_builds_the_schema_once_and_again_changes_nothing(team):
    with team.admin() as conn:
        assert schema.schema_version(conn) == schema.SCHEMA_VERSION
        assert schema.init_team(conn) == (schema.SCHEMA_VERSION, schema.SCHEMA_VERSION)
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == schema.SCHEMA_VERSION
        policies = conn.execute("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'").fetchone()[0]
        assert policies == 2 * len(schema.OWNED_TABLES)


def test_every_local_column_is_synced_or_named_local(rack, team):
    """A migration that adds a column to the rack's sets or reps must decide whether it is uploaded
    (and add a team migration) — this fails until it does."""
    local_sets = {r[1] for r in rack.conn.execute("PRAGMA table_info(sets)")}
    assert local_sets == set(schema.SET_COLUMNS) | set(schema.LOCAL_SET_COLUMNS)
    with team.admin() as conn:
        def columns(table):
            return {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                               "WHERE table_name = %s", (table,))}
        assert set(schema.SET_COLUMNS) <= columns("sets")
        for table in ("reps", "exercises", "athletes", "sessions", "trace_chunks"):
            local = {r[1] for r in rack.conn.execute(f"PRAGMA table_info({table})")}
            assert local <= columns(table), (table, local - columns(table))


def test_a_rack_cannot_delete_or_change_another_racks_set(rack, team, tmp_path):
    add_sets(rack, 2)
    assert _sync(team.rack1_url, rack, traces=False) == 2
    uid = rack.sets()[0].uid
    with db.connect(team.rack2_url) as other:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            other.execute("DELETE FROM sets WHERE uid = %s", (uid,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            other.execute("DELETE FROM reps")
        assert other.execute("UPDATE sets SET note = %s WHERE uid = %s", ("mine now", uid)).rowcount == 0
        assert other.execute("SELECT count(*) FROM sets").fetchone()[0] == 0  # cannot even see them
        assert other.execute("SELECT count(*) FROM athletes").fetchone()[0] == 1  # reads the athlete list
    with db.connect(team.rack1_url) as own:  # not its own either: a deleted set is a flag, not a DELETE
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            own.execute("DELETE FROM sets WHERE uid = %s", (uid,))
    assert team.count("SELECT count(*) FROM sets WHERE note IS NULL") == 2

    # A second rack's history holding a set with the same uid is refused for that set only.
    with Store(tmp_path / "other" / "history.sqlite3") as other_rack:
        add_sets(other_rack, 1, athlete="ben")
        other_rack.conn.execute("UPDATE sets SET uid = ? WHERE id = 1", (uid,))
        add_sets(other_rack, 1, athlete="ben", start=time.time())
        assert _sync(team.rack2_url, other_rack, traces=False) == 1
        state = outbox_state(other_rack)
        assert state.pending_sets == 1 and state.refused[0][0] == uid
        assert "row-level security" in state.refused[0][2]
    assert team.count("SELECT count(*) FROM sets WHERE rack = 'rack1'") == 2
    assert team.count("SELECT count(*) FROM sets WHERE rack = 'rack2'") == 1


def test_the_coach_reads_everything_and_writes_nothing(rack, team, tmp_path):
    add_sets(rack, 2)
    _sync(team.rack1_url, rack)
    with Store(tmp_path / "b" / "history.sqlite3") as other:
        add_sets(other, 3, athlete="ben")
        _sync(team.rack2_url, other)
    with db.connect(team.coach_url) as coach:
        assert coach.execute("SELECT count(*) FROM sets").fetchone()[0] == 5
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            coach.execute("UPDATE sets SET note = 'x'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            coach.execute("INSERT INTO athletes (name) VALUES ('eve')")


# ---- upload ------------------------------------------------------------------------------------------


def test_a_set_uploaded_twice_exists_once(rack, team):
    add_sets(rack, 3)
    assert outbox_state(rack).pending_sets == 3
    assert _sync(team.rack1_url, rack) == 3
    assert outbox_state(rack).pending_sets == 0
    # as after a crash between the server's commit and the outbox's: everything queued again
    rack.conn.execute("INSERT INTO sync_outbox (set_uid, queued_at) SELECT uid, 0 FROM sets")
    assert _sync(team.rack1_url, rack) == 3
    assert team.count("SELECT count(*) FROM sets") == 3
    assert team.count("SELECT count(DISTINCT uid) FROM sets") == 3
    assert team.count("SELECT count(*) FROM reps") == 9
    assert team.count("SELECT count(*) FROM trace_chunks") == 3
    assert team.count("SELECT min(uploads) FROM sets") == 2


def test_sets_are_uploaded_in_order_and_open_sets_wait(rack, team):
    add_sets(rack, 4)
    open_id = rack.open_set(exercise="squat", athlete="ana")
    _sync(team.rack1_url, rack)
    with db.connect(team.admin_url) as conn:
        uids = [r[0] for r in conn.execute("SELECT uid FROM sets ORDER BY first_uploaded_at, id")]
    assert uids == [r.uid for r in rack.sets() if not r.in_progress]
    assert team.count("SELECT count(*) FROM sets WHERE uid = %s", (rack.get_set(open_id).uid,)) == 0


def test_edits_sync_too(rack, team):
    ids = add_sets(rack, 3)
    _sync(team.rack1_url, rack)
    rack.update_set(ids[0], rpe=8.5, note="felt heavy")  # RPE and a note added later
    rep = rack.reps(ids[1])[0]
    rack.delete_rep(rep.id)  # a miscounted rep
    rack.delete_set(ids[2])
    assert outbox_state(rack).pending_sets == 3
    assert _sync(team.rack1_url, rack) == 3
    with TeamStore(team.coach_url) as coach:
        by_uid = {s.uid: s for s in coach.sets()}
        first = by_uid[rack.get_set(ids[0]).uid]
        assert (first.rpe, first.note) == (8.5, "felt heavy")
        second = by_uid[rack.get_set(ids[1]).uid]
        assert (second.n_reps, second.n_deleted_reps) == (2, 1)
        assert second.best_velocity_m_s == rack.get_set(ids[1]).best_velocity_m_s
        assert rack.get_set(ids[2]).uid not in by_uid  # deleted: out of the coach's lists
    rack.restore_set(ids[2])
    _sync(team.rack1_url, rack)
    with TeamStore(team.coach_url) as coach:
        assert len(coach.sets()) == 3
    # A set removed from the history (an import replacing it) is flagged deleted on the server.
    uid = rack.get_set(ids[2]).uid
    with rack.transaction():
        rack._purge_set(ids[2])
    _sync(team.rack1_url, rack)
    assert team.count("SELECT deleted FROM sets WHERE uid = %s", (uid,)) == 1


def test_finished_sets_of_an_older_history_are_queued_by_the_migration(tmp_path, team):
    outbox_version = next(v for v, step in local_schema.MIGRATIONS.items() if "team sync" in (step.__doc__ or ""))
    before_outbox = outbox_version - 1
    path2 = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(str(path2), isolation_level=None)
    local_schema.build_schema(conn, before_outbox)
    conn.execute("INSERT INTO athletes (id, name) VALUES (1, 'ana')")
    conn.execute("INSERT INTO exercises (id, name, mvt_m_s) VALUES (1, 'squat', 0.30)")
    conn.execute("INSERT INTO sessions (id, uid, athlete_id, started_at) VALUES (1, 'se1', 1, 1.7e9)")
    conn.execute("INSERT INTO sets (id, uid, session_id, athlete_id, exercise_id, load_kg, started_at, ended_at) "
                 "VALUES (1, 'st1', 1, 1, 1, 100, 1.7e9, 1.7e9 + 12), (2, 'st2', 1, 1, 1, 100, 1.7e9 + 60, NULL)")
    conn.close()
    with Store(path2, recover=False) as old:
        assert outbox_state(old).pending_sets == 1
        assert _sync(team.rack1_url, old) == 1
    assert team.count("SELECT count(*) FROM sets WHERE uid = 'st1'") == 1


# ---- the coach's read API ----------------------------------------------------------------------------


def _strip(obj):
    """A record without the ids that differ between the rack's file and the server."""
    d = dict(obj.__dict__)
    for key in ("id", "session_id", "set_id"):
        d.pop(key, None)
    return d


def test_the_team_store_answers_what_the_local_store_answers(rack, team):
    day = 86400.0
    t0 = time.time() - 30 * day
    for k in range(6):
        add_sets(rack, 2, start=t0 + k * 3 * day, load_kg=60 + 10 * k, trace_s=0.5)
    _sync(team.rack1_url, rack)
    with TeamStore(team.coach_url) as coach:
        assert [s.athlete for s in coach.sessions()] == [s.athlete for s in rack.sessions()]
        assert [(s.n_sets, s.n_reps, s.exercises) for s in coach.sessions()] == \
               [(s.n_sets, s.n_reps, s.exercises) for s in rack.sessions()]
        assert [_strip(s) for s in coach.sets(athlete="ANA")] == [_strip(s) for s in rack.sets(athlete="ana")]
        assert [_strip(p) for p in coach.exercise_trend("squat", athlete="ana")] == \
               [_strip(p) for p in rack.exercise_trend("squat", athlete="ana")]
        loads, vel = coach.profile_points("squat", athlete="ana")
        local = rack.profile_points("squat", athlete="ana")
        assert loads.tolist() == local[0].tolist() and vel.tolist() == local[1].tolist()
        assert coach.load_velocity_profile("squat", athlete="ana", days=0).to_json() == \
               rack.load_velocity_profile("squat", athlete="ana", days=0).to_json()
        first = coach.sets()[0]
        detail = coach.set_detail(first.id)
        local_detail = rack.set_detail(rack.sets()[0].id)
        assert [r.rep for r in detail.reps] == [r.rep for r in local_detail.reps]
        assert detail.trace.t_s.tolist() == local_detail.trace.t_s.tolist()
        history = coach.history(limit=2)
        assert len(history["sessions"]) == 2 and history["sessions"][-1]["sets"][0]["reps"]


def test_who_is_done_for_the_day_across_racks(rack, team, tmp_path):
    from vbt.dayrule import DayRule

    now = time.time()
    ids = add_sets(rack, 2, athlete="ana", start=now - 600, trace_s=0)
    rule = DayRule()
    from tests.test_store import reps_from

    rule.add_set(reps_from([0.8]), 100.0)
    rack.set_method(ids[1], day=rule.add_set(reps_from([0.6]), 100.0))
    _sync(team.rack1_url, rack)
    with Store(tmp_path / "b" / "history.sqlite3") as other:
        add_sets(other, 1, athlete="ben", start=now - 300, trace_s=0)
        add_sets(other, 1, athlete="ana", exercise="bench press", start=now - 200, trace_s=0)
        _sync(team.rack2_url, other)
    with TeamStore(team.coach_url) as coach:
        days = {d.athlete: d for d in coach.today(since_unix_s=now - 3600)}
    assert set(days) == {"ana", "ben"}
    assert days["ana"].done_for_the_day and not days["ben"].done_for_the_day
    assert days["ana"].racks == ("rack1", "rack2") and days["ana"].n_sets == 3
    assert days["ana"].exercises == ("bench press", "squat")


# ---- faults ------------------------------------------------------------------------------------------


def test_server_stopped_and_restarted_nothing_lost_nothing_twice(rack, team):
    messages = []
    worker = SyncWorker(team.rack1_url, path=rack.path, poll_s=0.1, retry_max_s=0.5,
                        on_error=messages.append, on_recovered=messages.append).start()
    try:
        add_sets(rack, 3, trace_s=0.5)
        wait_for(lambda: team.count("SELECT count(*) FROM sets") == 3, what="first sets uploaded")
        team.server.stop()
        try:
            add_sets(rack, 5, start=time.time(), trace_s=0.5)  # the rack records on while the server is down
            wait_for(lambda: worker.failing is not None, what="failure noticed")
            time.sleep(1.0)
            with Store(rack.path, recover=False) as look:
                assert outbox_state(look).pending_sets == 5
        finally:
            team.server.start()
        wait_for(lambda: team.count("SELECT count(*) FROM sets") == 8, what="queued sets uploaded")
        wait_for(lambda: worker.failing is None, what="recovery noticed")
    finally:
        worker.stop()
    assert team.count("SELECT count(DISTINCT uid) FROM sets") == 8
    assert len(messages) == 2, messages  # one when it started failing, one when it recovered
    assert "postgresql://rack1:***@" in messages[0]
    password = db.secrets_of(team.rack1_url)[0]
    assert all(password not in m for m in messages)


def test_connection_refused_is_one_line_without_the_password(rack, team, tmp_path):
    from vbt.team.localserver import free_port

    add_sets(rack, 1)
    url = team.server.url("rack1", db.secrets_of(team.rack1_url)[0], database=team.database, port=free_port())
    with pytest.raises(db.TeamError) as err:
        _sync(url, rack)
    assert "connection refused" in str(err.value) and db.secrets_of(url)[0] not in str(err.value)
    assert outbox_state(rack).pending_sets == 1  # still queued
    env = {**os.environ, "VBT_TEAM_URL": url, "VBT_HOME": str(rack.path.parent),
           "VBT_CONFIG_HOME": str(tmp_path / "cfg")}
    out = subprocess.run([sys.executable, "-m", "vbt_cli", "team", "sync"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "connection refused" in out.stderr
    assert db.secrets_of(url)[0] not in out.stderr + out.stdout


_SYNC_CHILD = """
import os, signal, sys
import vbt.team.sync as sync
from vbt.store import Store
url, path, where = sys.argv[1:4]
uploaded = [0]
real_upload, real_transaction = sync.upload_set, Store.transaction

def upload(*args, **kwargs):  # the 25th set: the second batch's server transaction is open
    out = real_upload(*args, **kwargs)
    uploaded[0] += 1
    if where == "inside the server's transaction" and uploaded[0] == 25:
        os.kill(os.getpid(), signal.SIGKILL)
    return out

def transaction(self):  # the second batch committed on the server, its queue rows not yet cleared
    if where == "after the server's commit" and uploaded[0] == 40:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_transaction(self)

sync.upload_set, Store.transaction = upload, transaction
w = sync.SyncWorker(url, path=path, batch=20)
print(w.sync_once(), flush=True)
"""


@pytest.mark.parametrize("where, on_server_after_kill", [("inside the server's transaction", 20),
                                                          ("after the server's commit", 40)])
def test_sync_killed_mid_upload_resumes_without_loss_or_duplicate(rack, team, where, on_server_after_kill):
    """The sync process killed in a batch of 20: inside the server's transaction (the batch is rolled
    back there), or after the server's commit and before the rack's queue rows are cleared (the batch
    is on the server and still queued). The next sync uploads the rest, nothing lost, nothing twice.
    The kill is placed by the child itself: killed from outside at a moment picked by polling, a fast
    run had uploaded all 60 sets before the kill landed (CI, once)."""
    add_sets(rack, 60, trace_s=20.0)
    child = subprocess.Popen([sys.executable, "-c", _SYNC_CHILD, team.rack1_url, str(rack.path), where],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.wait(120) == -signal.SIGKILL, child.stderr.read()
    finally:
        child.stdout.close()
        child.stderr.close()
    on_server = team.count("SELECT count(*) FROM sets")
    assert on_server == on_server_after_kill
    with Store(rack.path, recover=False) as look:
        assert outbox_state(look).pending_sets == 40  # the first batch cleared, the second still queued
    _sync(team.rack1_url, rack)
    assert team.count("SELECT count(*) FROM sets") == 60
    assert team.count("SELECT count(DISTINCT uid) FROM sets") == 60
    assert team.count("SELECT count(*) FROM reps") == 180
    assert team.count("SELECT count(*) FROM trace_chunks") == 60
    assert outbox_state(rack).pending_sets == 0


# ---- command line, config, no password anywhere --------------------------------------------------------


def _vbt(args, env, timeout=90):
    return subprocess.run([sys.executable, "-m", "vbt_cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_command_line_connect_sync_status_and_the_coachs_view(rack, team, tmp_path):
    add_sets(rack, 2, athlete="ana", start=time.time() - 600)
    env = {k: v for k, v in os.environ.items() if k != "VBT_TEAM_URL"}
    env.update(VBT_HOME=str(rack.path.parent), VBT_CONFIG_HOME=str(tmp_path / "cfg"))
    password = db.secrets_of(team.rack1_url)[0]
    out = _vbt(["team", "connect", team.rack1_url], env)
    assert out.returncode == 0, out.stderr
    cfg = tmp_path / "cfg" / "team.json"
    assert oct(cfg.stat().st_mode & 0o777) == "0o600" and json.loads(cfg.read_text())["url"] == team.rack1_url
    status = _vbt(["team", "status"], env)
    assert "waiting: 2 sets" in status.stdout and "rack1:***@" in status.stdout
    synced = _vbt(["team", "sync"], env)
    assert synced.returncode == 0 and "uploaded 2 sets; 0 waiting" in synced.stdout, synced.stderr
    status = json.loads(_vbt(["team", "status", "--json"], env).stdout)
    assert status["waiting_sets"] == 0 and status["last_upload_unix_s"]
    for out in (_vbt(["team", "connect", team.rack1_url], env), synced):
        assert password not in out.stdout + out.stderr
    assert password not in json.dumps(status)
    assert password.encode() not in rack.path.read_bytes()

    coach_env = {**env, "VBT_TEAM_URL": team.coach_url, "VBT_HOME": str(tmp_path / "coach-home")}
    history = _vbt(["history", "--team"], coach_env)
    assert history.returncode == 0 and "ana: 2 sets, 6 reps" in history.stdout, history.stderr
    as_json = json.loads(_vbt(["history", "--team", "--json"], coach_env).stdout)
    assert len(as_json["sessions"][0]["sets"]) == 2
    today = _vbt(["team", "today"], coach_env)
    assert today.returncode == 0 and today.stdout.startswith("ana") and "rack1" in today.stdout
    assert "rack1" in _vbt(["team", "racks"], coach_env).stdout
    bad = _vbt(["history", "--team"], {**coach_env, "VBT_TEAM_URL": "mysql://x"})
    assert bad.returncode == 1 and "not a team server URL" in bad.stderr


def test_init_command_creates_logins(pg_server, tmp_path):
    from psycopg import sql

    name = f"init_{int(time.time())}"
    with db.connect(pg_server.url(database="postgres")) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env = {**os.environ, "VBT_CONFIG_HOME": str(tmp_path / "cfg")}
    out = _vbt(["team", "init", pg_server.url(database=name), "--rack", "rack_a", "--coach", "coach_a"], env)
    assert out.returncode == 0, out.stderr
    assert pg_server.password not in out.stdout  # the admin's password is never printed back
    urls = [w for w in out.stdout.split() if w.startswith("postgresql://") and "***" not in w]
    assert len(urls) == 2
    with db.connect(urls[0]) as conn:
        assert conn.execute("SELECT count(*) FROM athletes").fetchone()[0] == 0
    again = _vbt(["team", "init", pg_server.url(database=name)], env)
    assert again.returncode == 0 and "(up to date)" in again.stdout
    bad = _vbt(["team", "init", pg_server.url(database=name), "--rack", "Bad Name"], env)
    assert bad.returncode == 1 and "cannot name a rack" in bad.stderr


# ---- the live paths upload finished sets -----------------------------------------------------------


def test_vbt_live_uploads_its_finished_sets(team, tmp_path, monkeypatch):
    from firmware_bridge.emulator import Emulator
    from tests.conftest import one_set

    env = {**os.environ, "VBT_HOME": str(tmp_path / "home"), "VBT_TEAM_URL": team.rack1_url,
           "VBT_EMULATOR_DIR": str(tmp_path / "emu")}
    with Emulator("chronojump", script=one_set((0.8, 0.7)), link_dir=str(tmp_path / "emu")) as emu:
        live = _vbt(["live", "--port", emu.port, "--protocol", "chronojump", "--exercise", "squat",
                     "--athlete", "cara", "--max-sets", "1"], env, timeout=120)
    assert live.returncode == 0, live.stderr
    assert "uploaded to the team server postgresql://rack1:***@" in live.stderr
    assert db.secrets_of(team.rack1_url)[0] not in live.stderr + live.stdout
    # the set ended and was uploaded before the command stopped, or is uploaded by the next sync
    with Store(tmp_path / "home" / "history.sqlite3", recover=False) as store:
        (local,) = store.sets()
        if outbox_state(store).pending_sets:
            _sync(team.rack1_url, store)
    with TeamStore(team.coach_url) as coach:
        (remote,) = coach.sets(athlete="cara")
    assert remote.uid == local.uid and remote.n_reps == local.n_reps == 2


def test_the_dashboard_backend_uploads_finished_sets(team, tmp_path, monkeypatch):
    from firmware_bridge.emulator import Emulator
    from gui.session import DashboardBackend, LiveSettings
    from tests.conftest import one_set

    monkeypatch.setenv("VBT_TEAM_URL", team.rack1_url)
    events = []
    with Emulator("chronojump", script=one_set((0.8, 0.7)), link_dir=str(tmp_path / "emu")) as emu:
        backend = DashboardBackend(events.append, port=emu.port, protocol="chronojump", home=tmp_path / "home",
                                   settings=LiveSettings(exercise="squat", athlete="dora"))
        backend.start()
        try:
            wait_for(lambda: any(e.type == "set_saved" for e in events), timeout_s=90, what="set saved")
            wait_for(lambda: team.count("SELECT count(*) FROM sets") == 1, timeout_s=20, what="set uploaded")
        finally:
            backend.stop()
    with TeamStore(team.coach_url) as coach:
        (remote,) = coach.sets(athlete="dora")
    assert remote.n_reps == 2 and remote.exercise == "squat"


def test_the_team_view_refuses_changes_in_one_line(team):
    from vbt.store import StoreError

    with TeamStore(team.coach_url) as coach:
        for attempt in (lambda: coach.delete_set(1), lambda: coach.update_set(1, rpe=7)):
            with pytest.raises(StoreError, match="read-only here"):
                attempt()
        with pytest.raises(AttributeError):
            coach.no_such_thing  # noqa: B018
