"""Benchmark: the team server (issue 15). Prints figures; asserts nothing about time.

    python benchmarks/bench_team.py                   # every section
    python benchmarks/bench_team.py sync              # 50 racks x 20 sets with faults (outage 60 s)
    python benchmarks/bench_team.py sync --outage-s 20 --racks 20 --sets 10   # shorter
    python benchmarks/bench_team.py queries           # 100 athletes x 5 years, the coach's queries
    python benchmarks/bench_team.py racks [OPTIONS]   # several racks in one dashboard: benchmarks/team_racks.py
                                                      # with its own options (e.g. --racks 8 --seconds 30)

Everything runs against a private PostgreSQL started here (``vbt.team.localserver``; fsync on) on
127.0.0.1, set up by ``vbt team init``'s own code with one login per rack and a coach.

``sync``: racks are simulated in processes of ``--racks-per-process`` racks each; every rack has its
own SQLite history and its own sync worker (the one ``vbt live`` and the dashboard start), and finishes
``--sets`` sets (reps and a ``--trace-s`` trace at 1 kHz) spread over the run. Faults during the run:
the network refused for one process's racks for a while (their connections go through a proxy here
that closes its port and drops what it carries), the server stopped for ``--outage-s`` seconds and
started again, and one rack process killed with SIGKILL while it uploads the backlog after the
restart (then started again: it resumes from its history's outbox). Reported: sets made, on the
server, lost (made but not on the server), duplicated (the same uid twice: the schema forbids it,
counted anyway), re-uploads (a set sent again after a kill or a lost reply: harmless), upload latency
p50/p99 (set ended → first on the server) for sets made while the server was up, and the time from
the restart until every set is on the server (target 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from vbt.results import Rep  # noqa: E402


def _rep(i: int, v: float) -> Rep:
    return Rep(index=i, concentric_start_s=3.0 * i, concentric_end_s=3.0 * i + 0.45 / v, mean_velocity_m_s=v,
               mean_propulsive_velocity_m_s=v * 1.08, peak_velocity_m_s=v * 1.7, rom_m=0.45,
               time_to_peak_velocity_s=0.2, concentric_duration_s=0.45 / v, eccentric_duration_s=1.1,
               bottom_pause_s=0.05)


def _pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


# ---- one rack process (a child of the sync section) --------------------------------------------------


def _rack_process(args) -> int:
    """Racks as threads of one process: each records its sets into its own history on schedule while
    its own sync worker uploads them; exits when every set is made and uploaded and ``stop`` exists."""
    from vbt.store import Store
    from vbt.team.sync import SyncWorker, outbox_state

    plan = json.loads(Path(args.plan).read_text())
    stop_file = Path(plan["stop_file"])
    t = np.arange(0.0, plan["trace_s"], 0.001)

    go_file = Path(plan["go_file"])
    opened = threading.Barrier(len(plan["racks"]) + 1)

    def rack(spec):
        path = Path(spec["dir"]) / "history.sqlite3"
        store = Store(path)
        worker = SyncWorker(spec["url"], path=path, poll_s=0.2).start()
        made = len(store.sets())
        opened.wait()
        while not go_file.exists():  # every rack process is up: the schedule starts together
            time.sleep(0.05)
        start_at = float(go_file.read_text())
        rng = np.random.default_rng(spec["seed"])
        for k in range(made, plan["sets"]):
            due = start_at + k * plan["interval_s"] + spec["offset_s"]
            if due > time.time():
                time.sleep(due - time.time())
            v = 0.9 - 0.03 * (k % 5) + rng.normal(0, 0.01)
            now = time.time()
            store.add_set([_rep(i, v - 0.03 * i) for i in range(1, 6)], exercise="squat",
                          athlete=spec["athlete"], load_kg=100.0 + 5 * (k % 5), started_at_unix_s=now - plan["trace_s"],
                          ended_at_unix_s=now, trace=(t, 0.45 * np.abs(np.sin(t + k))))
            worker.nudge()
        while not (stop_file.exists() and outbox_state(store).pending_sets == 0):
            time.sleep(0.2)
        worker.stop()
        store.close()

    threads = [threading.Thread(target=rack, args=(spec,)) for spec in plan["racks"]]
    for th in threads:
        th.start()
    opened.wait()
    Path(plan["ready_file"]).write_text("ready")
    for th in threads:
        th.join()
    return 0


# ---- a proxy that can refuse connections (the network refused) ----------------------------------------


class RefusingProxy:
    """Forwards 127.0.0.1:``port`` to the server; :meth:`refuse` closes the port (new connections are
    refused) and drops every connection it carries, :meth:`accept` opens it again."""

    def __init__(self, target_port: int):
        from vbt.team.localserver import free_port

        self.target_port = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._sel = selectors.DefaultSelector()
        self._stop = threading.Event()
        self.accept()
        threading.Thread(target=self._run, daemon=True).start()

    def accept(self) -> None:
        with self._lock:
            if self._listener is None:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", self.port))
                s.listen(64)
                s.setblocking(False)
                self._listener = s
                self._sel.register(s, selectors.EVENT_READ, None)

    def refuse(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._sel.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for a, b in self._pairs:
                for s in (a, b):
                    try:
                        self._sel.unregister(s)
                    except (KeyError, ValueError):
                        pass
                    s.close()
            self._pairs.clear()

    def close(self) -> None:
        self._stop.set()
        self.refuse()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                ready = self._sel.select(timeout=0) if self._sel.get_map() else []
            if not ready:
                time.sleep(0.002)
                continue
            with self._lock:
                for key, _ in ready:
                    if key.data is None:
                        if self._listener is None or key.fileobj is not self._listener:
                            continue
                        try:
                            client, _ = self._listener.accept()
                            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=3)
                        except OSError:
                            continue
                        client.setblocking(False)
                        server.setblocking(False)
                        self._pairs.append((client, server))
                        self._sel.register(client, selectors.EVENT_READ, server)
                        self._sel.register(server, selectors.EVENT_READ, client)
                        continue
                    src, dst = key.fileobj, key.data
                    try:
                        data = src.recv(65536)
                        if data:
                            dst.setblocking(True)
                            dst.sendall(data)
                            dst.setblocking(False)
                            continue
                    except OSError:
                        pass
                    for s in (src, dst):
                        try:
                            self._sel.unregister(s)
                        except (KeyError, ValueError):
                            pass
                        s.close()
                    self._pairs = [p for p in self._pairs if src not in p]


# ---- the sync section ----------------------------------------------------------------------------------


def _start_server():
    from vbt.team import db, schema
    from vbt.team.localserver import LocalServer

    server = LocalServer(fsync=True, max_connections=300).start()
    with db.connect(server.admin_url) as conn:
        schema.init_team(conn)
    return server


def _spawn(plan_path: Path) -> subprocess.Popen:
    with open(plan_path.with_suffix(".err"), "a") as err:  # a file: a pipe nobody reads could fill up
        return subprocess.Popen([sys.executable, __file__, "_rack", "--plan", str(plan_path)],
                                stdout=subprocess.DEVNULL, stderr=err)


def bench_sync(args) -> None:
    from vbt.store import Store
    from vbt.team import db, schema

    print(f"sync: {args.racks} racks x {args.sets} sets ({args.racks_per_process} racks a process, "
          f"{args.trace_s:g} s traces at 1 kHz), server outage {args.outage_s:g} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="vbt-bench-team-"))
    server = _start_server()
    proxy = RefusingProxy(server.port)
    procs: dict[int, subprocess.Popen] = {}
    try:
        with db.connect(server.admin_url) as conn:
            passwords = {k: schema.add_login(conn, f"rack_{k:02d}", "rack") for k in range(args.racks)}
        n_groups = (args.racks + args.racks_per_process - 1) // args.racks_per_process
        refused_group, killed_group = (1 % n_groups), 0
        warm_s = 12.0
        after_s = 15.0  # sets go on after the restart too
        span_s = warm_s + args.outage_s + after_s
        interval = span_s / max(1, args.sets - 1)
        stop_file, go_file = work / "stop", work / "go"
        plans = []
        groups: dict[int, set[str]] = {}
        for g in range(n_groups):
            racks = []
            for k in range(g * args.racks_per_process, min(args.racks, (g + 1) * args.racks_per_process)):
                port = proxy.port if g == refused_group else server.port
                url = server.url(f"rack_{k:02d}", passwords[k], port=port)
                (work / f"rack_{k:02d}").mkdir()
                racks.append({"dir": str(work / f"rack_{k:02d}"), "url": url, "athlete": f"athlete {k:02d}",
                              "seed": k, "offset_s": (k % 7) * interval / 7})
            groups[g] = {f"rack_{k:02d}" for k in range(g * args.racks_per_process,
                                                        min(args.racks, (g + 1) * args.racks_per_process))}
            plan = {"racks": racks, "sets": args.sets, "interval_s": interval, "go_file": str(go_file),
                    "ready_file": str(work / f"ready_{g}"), "trace_s": args.trace_s, "stop_file": str(stop_file)}
            path = work / f"plan_{g}.json"
            path.write_text(json.dumps(plan))
            plans.append(path)
            procs[g] = _spawn(path)
        total = args.racks * args.sets
        t_spawn = time.time()
        while not all((work / f"ready_{g}").exists() for g in range(n_groups)):
            if any(p.poll() is not None for p in procs.values()) or time.time() > t_spawn + 300:
                raise RuntimeError("a rack process did not start")
            time.sleep(0.1)
        start_at = time.time() + 1.0
        (work / "go.tmp").write_text(repr(start_at))
        os.replace(work / "go.tmp", go_file)  # whole or absent: the racks read it as soon as it exists
        print(f"  {n_groups} rack processes up in {time.time() - t_spawn:.1f} s; the schedule starts", flush=True)

        def on_server() -> int:
            with db.connect(server.admin_url) as conn:
                return conn.execute("SELECT count(*) FROM sets").fetchone()[0]

        def sleep_until(t):
            time.sleep(max(0.0, t - time.time()))

        refuse_at, refuse_until = start_at + 2.0, start_at + 8.0
        outage_at = start_at + warm_s - 2.0
        sleep_until(refuse_at)
        proxy.refuse()
        print(f"  t={time.time() - start_at:5.1f} s  network refused for racks of process {refused_group}", flush=True)
        sleep_until(refuse_until)
        proxy.accept()
        print(f"  t={time.time() - start_at:5.1f} s  network back", flush=True)
        sleep_until(outage_at)
        before_outage = on_server()
        server.stop(mode="fast")
        stopped = time.time()
        print(f"  t={stopped - start_at:5.1f} s  server stopped ({before_outage} sets on it)", flush=True)
        sleep_until(stopped + args.outage_s)
        server.start()
        restarted = time.time()
        print(f"  t={restarted - start_at:5.1f} s  server started again after {restarted - stopped:.1f} s", flush=True)
        # Kill one rack process while it uploads its backlog.
        time.sleep(0.3)
        killed_racks = sorted(groups[killed_group])
        procs[killed_group].send_signal(signal.SIGKILL)
        procs[killed_group].wait()
        with db.connect(server.admin_url) as conn:
            theirs = conn.execute("SELECT count(*) FROM sets WHERE rack = ANY(%s)", (killed_racks,)).fetchone()[0]
        made_by_them = 0
        for name in killed_racks:
            with Store(work / name / "history.sqlite3", recover=False) as s:
                made_by_them += len(s.sets())
        print(f"  t={time.time() - start_at:5.1f} s  rack process {killed_group} killed (SIGKILL) with "
              f"{theirs} of its {made_by_them} sets on the server; started again", flush=True)
        procs[killed_group] = _spawn(plans[killed_group])
        deadline = restarted + max(120.0, 4 * args.outage_s)
        while time.time() < deadline:  # every set made (the last ones after the restart) on the server
            if time.time() > start_at + span_s + 1.0 and on_server() >= total:
                break
            time.sleep(0.2)
        stop_file.write_text("stop")
        for p in procs.values():
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # Lost: made on a rack but not on the server; duplicated: a uid twice on the server.
        made: dict[str, float] = {}
        for k in range(args.racks):
            with Store(work / f"rack_{k:02d}" / "history.sqlite3", recover=False) as s:
                for rec in s.sets():
                    made[rec.uid] = rec.ended_at_unix_s
        with db.connect(server.admin_url) as conn:
            rows = conn.execute("SELECT uid, ended_at, first_uploaded_at, uploads, rack, "
                                "(SELECT count(*) FROM reps r WHERE r.set_id = sets.id), "
                                "(SELECT count(*) FROM trace_chunks c WHERE c.set_id = sets.id) FROM sets").fetchall()
            n_rows = len(rows)
            n_uids = conn.execute("SELECT count(DISTINCT uid) FROM sets").fetchone()[0]
        server_uids = {r[0] for r in rows}
        lost = [u for u in made if u not in server_uids]
        incomplete = sum(1 for r in rows if r[5] != 5 or r[6] != 1)
        reuploads = sum(r[3] - 1 for r in rows)
        faulted = {r for g in (refused_group, killed_group) for r in groups[g]}

        def latency(lo, hi, racks=None):
            return [r[2] - r[1] for r in rows if lo <= r[1] < hi and (racks is None or r[4] not in racks)]

        before = latency(start_at, stopped - 1.0, faulted)
        after = latency(restarted + 5.0, float("inf"), faulted)
        backlog = [r[2] for r in rows if r[1] < restarted]
        backlog_lost = sum(1 for u, t in made.items() if t < restarted and u not in server_uids)
        print(f"  sets made {len(made)} (planned {total}), on the server {n_rows}, lost {len(lost)}, "
              f"duplicated {n_rows - n_uids}, incomplete (reps or trace missing) {incomplete}, "
              f"re-uploads {reuploads}")
        for label, values in (("before the outage", before), ("after the restart (from +5 s)", after)):
            print(f"  upload latency {label}: p50 {1000 * _pct(values, 50):.0f} ms, "
                  f"p99 {1000 * _pct(values, 99):.0f} ms ({len(values)} sets; racks with a fault left out)")
        print(f"  sets ended during the outage reached the server {_pct(latency(stopped, restarted), 50):.1f} s "
              f"(median) after they ended")
        if backlog and not backlog_lost:
            print(f"  every set made before the restart on the server {max(backlog) - restarted:.1f} s after the "
                  f"server came back (target 10 s)")
        else:
            print(f"  {backlog_lost} sets made before the restart are NOT on the server")
        for g, p in procs.items():
            err = plans[g].with_suffix(".err").read_text(errors="replace")
            if p.returncode != 0 or "Traceback" in err:
                print(f"  rack process {g} ended with {p.returncode}: {err.strip()[-500:]}")
    finally:
        proxy.close()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        server.destroy()
        shutil.rmtree(work, ignore_errors=True)


# ---- the queries section ---------------------------------------------------------------------------------

_BUILD = [
    # athletes and the exercises the programme uses
    "INSERT INTO athletes (name, created_at) SELECT 'athlete ' || lpad(a::text, 3, '0'), %(t0)s "
    "FROM generate_series(1, %(athletes)s) a ON CONFLICT DO NOTHING",
    "INSERT INTO exercises (name, mvt_m_s, builtin) VALUES ('squat', 0.30, 1), ('bench press', 0.17, 1), "
    "('deadlift', 0.15, 1), ('overhead press', 0.19, 1) ON CONFLICT DO NOTHING",
    # three sessions a week per athlete, on one of ten racks
    "INSERT INTO sessions (uid, athlete_id, started_at, rack) "
    "SELECT md5(a.id || '-' || d), a.id, %(t0)s + d * 86400.0 + 2 * 3600 + (a.id %% 12) * 600, "
    "'rack_' || (a.id %% 10) FROM athletes a, generate_series(0, %(days)s - 1) d "
    "WHERE (%(days)s - 1 - d) %% 7 IN (0, 2, 4)",
    # five sets a session: two exercises, rising load
    "INSERT INTO sets (uid, session_id, athlete_id, exercise_id, load_kg, started_at, ended_at, duration_s, "
    "best_rep, stop_rep, stop_reason, rpe, rack, day_done, day_basis, first_uploaded_at, uploaded_at) "
    "SELECT md5(se.id || '-' || k), se.id, se.athlete_id, "
    "(SELECT id FROM exercises WHERE name = CASE WHEN k < 3 THEN 'squat' ELSE 'bench press' END), "
    "CASE WHEN k < 3 THEN 80 + 10 * k ELSE 50 + 5 * k END + (se.started_at - %(t0)s) / 86400.0 / 30, "
    "se.started_at + k * 240, se.started_at + k * 240 + 25, 25, 1, NULL, 'stillness', 7 + k %% 3, se.rack, "
    "CASE WHEN k = 4 THEN 1 ELSE 0 END, 'same_load', se.started_at + k * 240 + 26, se.started_at + k * 240 + 26 "
    "FROM sessions se, generate_series(0, 4) k",
    # five reps a set, slower as the load rises
    "INSERT INTO reps (set_id, seq, rep_index, concentric_start_s, concentric_end_s, mean_velocity_m_s, "
    "mean_propulsive_velocity_m_s, peak_velocity_m_s, rom_m, time_to_peak_velocity_s, concentric_duration_s, "
    "velocity_loss_pct, rack) "
    "SELECT st.id, r, r, 3.0 * r, 3.0 * r + 0.6, v, v * 1.08, v * 1.7, 0.45, 0.2, 0.6, 3.0 * (r - 1), st.rack "
    "FROM sets st, generate_series(1, 5) r, "
    "LATERAL (SELECT greatest(0.2, 1.35 - 0.008 * st.load_kg - 0.02 * (r - 1) + 0.03 * random()) AS v) vv",
    "VACUUM ANALYZE",  # what autovacuum does on a running server: statistics and the visibility map
]


def _timed(fn, repeat: int = 5):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times), result


def bench_queries(args) -> None:
    from vbt.team import db, schema
    from vbt.team.store import TeamStore

    days = int(round(args.years * 365))
    print(f"queries: {args.athletes} athletes x {args.years:g} years on one server, the coach's queries "
          f"(median and max of 5)", flush=True)
    server = _start_server()
    try:
        with db.connect(server.admin_url) as conn:
            coach_pw = schema.add_login(conn, "coach_bench", "coach")
            t_build = time.perf_counter()
            midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
            t0 = midnight - (days - 1) * 86400.0  # the last day built is today
            for statement in _BUILD:
                conn.execute(statement, {"t0": t0, "athletes": args.athletes, "days": days} if "%(" in statement
                             else None)
            counts = conn.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM sets), "
                                  "(SELECT count(*) FROM reps)").fetchone()
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        print(f"  built {counts[0]:,} sessions, {counts[1]:,} sets, {counts[2]:,} reps ({size}) in "
              f"{time.perf_counter() - t_build:.1f} s", flush=True)
        with TeamStore(server.url("coach_bench", coach_pw)) as coach:
            one = f"athlete {min(42, args.athletes):03d}"
            newest = coach.sets(athlete=one, newest_first=True, limit=1)[0]
            since_day = time.time() - 86400.0
            c, ninety = coach, time.time() - 90 * 86400
            cases = [
                ("history list, all athletes (newest 50 sessions)", lambda: coach.sessions(limit=50)),
                ("history list, one athlete (newest 50)", lambda: coach.sessions(athlete=one, limit=50)),
                ("one athlete's sets, last 90 days", lambda: c.sets(athlete=one, since_unix_s=ninety)),
                ("squat trend, one athlete, 5 years", lambda: coach.exercise_trend("squat", athlete=one)),
                ("squat trend at 100 kg, one athlete", lambda: c.exercise_trend("squat", athlete=one, load_kg=100)),
                ("squat profile (last 56 days), one athlete", lambda: c.load_velocity_profile("squat", athlete=one)),
                ("squat profile points, all 5 years", lambda: coach.profile_points("squat", athlete=one)),
                ("today: every athlete, who is done", lambda: coach.today(since_unix_s=since_day)),
                ("history JSON, one athlete, newest 10 sessions", lambda: coach.history(athlete=one, limit=10)),
                ("one set's detail", lambda: coach.set_detail(newest.id)),
                ("athletes list", lambda: coach.athletes()),
                ("racks' uploads", lambda: coach.racks()),
            ]
            worst = 0.0
            for name, fn in cases:
                med, mx, result = _timed(fn)
                worst = max(worst, mx)
                n = len(result) if hasattr(result, "__len__") else 1
                print(f"  {name:<48} {1000 * med:7.1f} ms  (max {1000 * mx:6.1f} ms, {n} rows)", flush=True)
            print(f"  slowest of all runs {1000 * worst:.1f} ms (target 200 ms)")
    finally:
        server.destroy()


# ---- several racks in one dashboard (issue 15 item 1) -------------------------------------------------------


def bench_racks(argv) -> None:
    try:
        from benchmarks.team_racks import run_racks
    except ImportError:
        print("racks: not built in this tree")
        return
    run_racks(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["_rack"]:
        p = argparse.ArgumentParser()
        p.add_argument("_rack")
        p.add_argument("--plan", required=True)
        return _rack_process(p.parse_args(argv))
    if argv[:1] == ["racks"]:  # the racks benchmark's own options, as team_racks.py takes them
        bench_racks(argv[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("section", nargs="?", choices=("all", "sync", "queries", "racks"), default="all")
    p.add_argument("--racks", type=int, default=50, help="sync: simulated racks (default 50)")
    p.add_argument("--sets", type=int, default=20, help="sync: sets per rack (default 20)")
    p.add_argument("--racks-per-process", type=int, default=5, help="sync: racks per process (default 5)")
    p.add_argument("--outage-s", type=float, default=60.0, help="sync: how long the server is stopped (default 60)")
    p.add_argument("--trace-s", type=float, default=10.0, help="sync: seconds of 1 kHz trace per set (default 10)")
    p.add_argument("--athletes", type=int, default=100, help="queries: athletes (default 100)")
    p.add_argument("--years", type=float, default=5.0, help="queries: years of history (default 5)")
    args = p.parse_args(argv)
    # A SIGTERM ends the run like Ctrl-C: its servers are stopped and its files removed.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.section in ("all", "sync"):
        bench_sync(args)
    if args.section in ("all", "queries"):
        bench_queries(args)
    if args.section == "all":
        bench_racks([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
