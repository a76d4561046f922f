"""Rack benchmark: 8 racks streaming 1 kHz from emulators into one dashboard (the rack overview).

Run::

    QT_QPA_PLATFORM=offscreen python benchmarks/team_racks.py            # 8 racks, 30 s measured
    QT_QPA_PLATFORM=offscreen python benchmarks/team_racks.py --racks 4 --seconds 20

``benchmarks/bench_team.py`` runs it too, through :func:`run_racks`.

What is measured
----------------
A child process runs ``--racks`` native emulators, each on its own pty at 1 kHz with a looping
scripted lifter (a set of 6 reps every ~12 s, racks out of step); it is the "devices", not counted
in CPU. This process runs the rack window (``gui.racks.RackWindow``) with one rack per emulator:
per rack the real reader, tracker and history recorder (one SQLite history for all), and the
overview's tiles. After every rack is connected and has shown a rep (warm-up), for ``--seconds``:

* frame time: each paint of the overview (``RackGrid.paintEvent``, all tiles whose area changed),
  p50 / p99 / max; and the lateness of a 16 ms timer on the GUI thread (how long the event loop
  was busy past a frame's deadline), p99 / max;
* rep to screen, per rack: from the rack worker's rep event (``SessionEvent.emitted_s``) to the end
  of the paint that showed it on the rack's tile, p50 / p99 / max;
* CPU: user + system CPU time over wall time, in cores, of this process (the GUI) and of the racks'
  worker processes (each rack's reader, tracker and recorder; ``gui.rack_process``), together and
  the GUI process alone. With ``--threads`` the racks' workers run on threads of this process instead
  (as before issue 15's worker processes; the comparison in the same run).

Time base: a rep's ``SessionEvent.emitted_s`` is ``time.perf_counter()`` in the rack's worker
process and the paint's end is ``perf_counter()`` here; on Linux both are CLOCK_MONOTONIC, one clock
for all processes, so the difference is a valid rep-to-screen latency across the process boundary.

Then, with ``--open-seconds`` > 0, the first rack is opened full size (its traces redrawn at
~30-60 FPS as in ``vbt gui``) while the others go on as tiles: the same figures, the frame being the
opened rack's trace frame (as ``bench_gui`` measures it).

Targets (issue 15): rep to screen under one frame (16.7 ms), frame p99 < 16 ms, CPU under one core.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from bench_gui import _cpu_s, _pct  # noqa: E402  (the single-rack benchmark's CPU clock and percentiles)

EMULATORS_CHILD = r"""
import sys
from firmware_bridge.emulator import Emulator
from gui.demo import scripted_sets
n, link_dir = int(sys.argv[1]), sys.argv[2]
emus = []
for k in range(n):
    top = 0.75 + 0.05 * (k % 5)
    v = [round(top * (1.0 - 0.035 * i), 3) for i in range(6)]
    script = scripted_sets([v], rom_m=0.45, lead_in_s=0.5 + 0.7 * k, eccentric_s=0.7, lockout_s=0.5,
                           rest_s=4.0, loop=True)
    emus.append(Emulator("native", seed=300 + k, script=script, link_dir=link_dir,
                         link_name=f"rack{k}"))
for e in emus:
    e.start()
print(" ".join(e.port for e in emus), flush=True)
sys.stdin.read()   # until the benchmark closes our stdin
for e in emus:
    e.stop()
"""


class RacksRun:
    """One run: the rack window on ``n`` emulated racks in another process."""

    def __init__(self, app, n: int, seconds: float, open_seconds: float, read_interval_s: float | None = None,
                 processes: bool = True):
        from PySide6.QtCore import QTimer

        from gui.racks import RackSpec, RackWindow
        from gui.session import LiveSettings
        from gui.sound import CuePlayer

        self.app, self.n, self.seconds, self.open_seconds = app, n, seconds, open_seconds
        self.tmp = tempfile.TemporaryDirectory(prefix="vbt-bench-racks-")
        self.child = subprocess.Popen([sys.executable, "-c", EMULATORS_CHILD, str(n), self.tmp.name],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        ports = self.child.stdout.readline().split()
        if len(ports) != n:
            raise RuntimeError("the emulators did not start")
        self.win = RackWindow(home=os.path.join(self.tmp.name, "history"), cue_player=CuePlayer(player=()),
                              processes=processes)
        self.win.resize(1600, 900)
        self.win.show()
        self._specs = [RackSpec(p, f"athlete {k + 1}", "squat", protocol="native",
                                settings=LiveSettings(set_end_stillness_s=2.0)) for k, p in enumerate(ports)]
        self.reader_options = None if read_interval_s is None else {"min_read_interval_s": read_interval_s}
        self.phase = "adding"
        self.figures: dict = {}
        self.tick = QTimer()
        self.tick.setInterval(16)
        self.tick.timeout.connect(self._on_tick)
        self._last_tick = None
        self.lateness: list[float] = []
        self.t0 = self.cpu0 = None
        self.workers0: dict = {}

    def _rss_mb(self) -> tuple[float, float]:
        """Resident memory (MB) of this process and of all the racks' worker processes together."""
        def rss(pid):
            try:
                with open(f"/proc/{pid}/status") as f:
                    return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
            except (OSError, StopIteration, ValueError):
                return 0.0
        pids = [getattr(r.session, "pid", None) for r in self.win.racks]
        return rss(os.getpid()), sum(rss(pid) for pid in pids if pid is not None)

    def _workers_cpu_s(self) -> dict:
        """CPU seconds (user + system) of each rack's worker process, by pid (none with --threads)."""
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for r in self.win.racks:
            pid = getattr(r.session, "pid", None)
            if pid is None:
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return out

    # ---- phases ----------------------------------------------------------------------------------
    def _add_next(self) -> None:
        from PySide6.QtCore import QTimer

        if self._specs:  # one rack per event-loop turn: the window stays responsive while they start
            self.win.add_rack(self._specs.pop(0), reader_options=self.reader_options)
            QTimer.singleShot(0, self._add_next)
        else:
            self.phase = "warming"
            self._deadline = time.perf_counter() + 120.0

    def _on_tick(self) -> None:
        now = time.perf_counter()
        if self._last_tick is not None and self.phase in ("overview", "opened"):
            self.lateness.append(max(0.0, now - self._last_tick - 0.016))
        self._last_tick = now
        if self.phase == "warming":
            if all(r.device == "ok" and r.display.n_reps > 0 for r in self.win.racks):
                self._start("overview")
            elif now > self._deadline:
                self.figures["error"] = "the racks did not all connect and count a rep within 120 s"
                self.app.quit()
        elif self.phase == "overview" and now - self.t0 >= self.seconds:
            self.figures["overview"] = self._collect()
            if self.open_seconds > 0:
                self.phase = "opening"  # the first show of a rack's dashboard lays out its widgets once
                self.win.open_rack(0)
                self._opened_at = now
            else:
                self.app.quit()
        elif self.phase == "opening" and now - self._opened_at >= 2.0:
            self._start("opened")
        elif self.phase == "opened" and now - self.t0 >= self.open_seconds:
            self.figures["one_rack_open"] = self._collect()
            self.app.quit()

    def _start(self, phase: str) -> None:
        self.phase = phase
        self.win.grid.frame_meter.reset()
        self.win.grid.rep_latencies_s.clear()
        self.win.grid.rep_draw_s.clear()
        for r in self.win.racks:
            r.window.frame_meter.reset()
            r.window.rep_latencies_s.clear()
        self.lateness.clear()
        self.t0, self.cpu0 = time.perf_counter(), _cpu_s()
        self.workers0 = self._workers_cpu_s()

    def _collect(self) -> dict:
        wall = time.perf_counter() - self.t0
        cpu = _cpu_s() - self.cpu0
        workers = self._workers_cpu_s()
        workers_cpu = sum(v - self.workers0.get(pid, 0.0) for pid, v in workers.items())
        grid = self.win.grid
        per_rack = {name: _pct(np.array(v) * 1e3) for name, v in grid.rep_latencies_s.items()}
        if self.phase == "opened":  # the opened rack's own big number, as in the single view
            r = self.win.racks[0]
            per_rack[r.name + " (full size)"] = _pct(np.array(r.window.rep_latencies_s) * 1e3)
        all_lat = np.concatenate([np.array(v) for v in grid.rep_latencies_s.values()] or [np.zeros(0)])
        out = {
            "racks": len(self.win.racks),
            "wall_s": wall,
            "cpu_cores": (cpu + workers_cpu) / wall,
            "gui_process_cpu_cores": cpu / wall,
            "worker_processes": len(workers),
            "rss_mb": dict(zip(("gui_process", "worker_processes"), self._rss_mb())),
            "frames": int(min(grid.frame_meter.n, grid.frame_meter.durations.size)),
            "tile_paint_ms": _pct(grid.frame_meter.values() * 1e3),
            "timer_lateness_ms": _pct(np.array(self.lateness) * 1e3),
            "rep_to_screen_ms": _pct(all_lat * 1e3),
            "rep_drawn_after_received_ms": _pct(np.concatenate([np.array(v) for v in grid.rep_draw_s.values()]
                                                               or [np.zeros(0)]) * 1e3),
            "rep_to_screen_per_rack_ms": per_rack,
            "reps_on_tiles": int(all_lat.size),
            "racks_connected": sum(1 for r in self.win.racks if r.device == "ok"),
        }
        if self.phase == "opened":
            w = self.win.racks[0].window
            out["opened_trace_frame_ms"] = _pct(w.frame_meter.values() * 1e3)
        return out

    def run(self) -> dict:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, self._add_next)
        self.tick.start()
        try:
            self.app.exec()
        finally:
            self.tick.stop()
            self.win.close()
            self.child.stdin.close()
            self.child.wait(20)
            self.child.stdout.close()
            self.tmp.cleanup()
        return self.figures


def _line(name: str, f: dict) -> None:
    tp, tl, lat = f["tile_paint_ms"], f["timer_lateness_ms"], f["rep_to_screen_ms"]
    print(f"\n{name}: {f['racks']} racks ({f['racks_connected']} connected), {f['wall_s']:.1f} s, "
          f"{f['reps_on_tiles']} reps on the tiles")
    if tp.get("n"):
        print(f"  overview paint (frame):       p50 {tp['p50']:.2f} ms  p99 {tp['p99']:.2f} ms  max {tp['max']:.2f} ms"
              f" over {tp['n']} paints   [target p99 < 16 ms]")
    if "opened_trace_frame_ms" in f and f["opened_trace_frame_ms"].get("n"):
        of = f["opened_trace_frame_ms"]
        print(f"  opened rack's trace frame:    p50 {of['p50']:.2f} ms  p99 {of['p99']:.2f} ms  max {of['max']:.2f} ms")
    if tl.get("n"):
        print(f"  16 ms timer lateness:         p50 {tl['p50']:.2f} ms  p99 {tl['p99']:.2f} ms  max {tl['max']:.2f} ms")
    for name_, v in f["rep_to_screen_per_rack_ms"].items():
        if name_.endswith("(full size)") and v.get("n"):
            print(f"  rep event to big number, {name_}: p50 {v['p50']:.2f} ms  p99 {v['p99']:.2f} ms  "
                  f"max {v['max']:.2f} ms over {v['n']} reps")
    if lat.get("n"):
        worst = max((v.get("p99", 0.0) for v in f["rep_to_screen_per_rack_ms"].values()), default=0.0)
        print(f"  rep event to tile on screen:  p50 {lat['p50']:.2f} ms  p99 {lat['p99']:.2f} ms  "
              f"max {lat['max']:.2f} ms; worst rack's p99 {worst:.2f} ms   [target < 16.7 ms]")
    dr = f.get("rep_drawn_after_received_ms", {})
    if dr.get("n"):
        print(f"    of which on the GUI thread (rep received → tile painted): p50 {dr['p50']:.2f} ms  "
              f"p99 {dr['p99']:.2f} ms; the rest is the wait for the GUI thread")
    if f.get("worker_processes"):
        print(f"  CPU: {f['cpu_cores']:.2f} cores: the GUI process {f['gui_process_cpu_cores']:.2f} + "
              f"{f['worker_processes']} rack worker processes (readers, trackers, recorders); emulators in "
              f"another process, not counted   [target < 1]")
        print(f"  memory: the GUI process {f['rss_mb']['gui_process']:.0f} MB, the worker processes "
              f"{f['rss_mb']['worker_processes']:.0f} MB together (resident)")
    else:
        print(f"  CPU: {f['cpu_cores']:.2f} cores (this process: readers, trackers, recorders, GUI; emulators in "
              f"another process)   [target < 1]")


def run_racks(argv=None) -> dict:
    """Run the rack benchmark (options as on the command line); print the figures and return them."""
    p = argparse.ArgumentParser(prog="team_racks.py", description=__doc__.splitlines()[0])
    p.add_argument("--racks", type=int, default=8, help="racks, each an emulator at 1 kHz (default 8)")
    p.add_argument("--seconds", type=float, default=30.0, help="measured seconds of the overview (default 30)")
    p.add_argument("--open-seconds", type=float, default=15.0,
                   help="then measured seconds with the first rack open full size (default 15; 0: skip)")
    p.add_argument("--reference-seconds", type=float, default=15.0,
                   help="first, one rack alone through the same path for this long: the machine's own figures "
                        "in the same run, to compare with (default 15; 0: skip)")
    p.add_argument("--read-interval-ms", type=float, default=None,
                   help="the racks' reader wake-up interval (default: the dashboard's, 10 ms)")
    p.add_argument("--threads", action="store_true",
                   help="run the racks' workers on threads of this process, not in worker processes of their own")
    p.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=logging.WARNING)

    from gui.app import make_app

    app = make_app()
    print(f"platform: {app.platformName()}, Python {sys.version.split()[0]}, {os.cpu_count()} cores; "
          f"{args.racks} racks at 1 kHz; workers {'on threads' if args.threads else 'in processes'}")
    read_s = None if args.read_interval_ms is None else args.read_interval_ms / 1e3
    figures = {}
    if args.reference_seconds > 0:
        ref = RacksRun(app, 1, args.reference_seconds, 0.0, read_s, not args.threads).run()
        if "overview" in ref:
            figures["reference_one_rack"] = ref["overview"]
    figures.update(RacksRun(app, args.racks, args.seconds, args.open_seconds, read_s, not args.threads).run())
    if "error" in figures:
        print(figures["error"])
    for name in ("reference_one_rack", "overview", "one_rack_open"):
        if name in figures:
            _line(name, figures[name])
    ref, full = figures.get("reference_one_rack"), figures.get("overview")
    if ref and full and ref["rep_to_screen_ms"].get("n") and full["rep_to_screen_ms"].get("n"):
        print(f"\n{args.racks} racks against one: CPU {full['cpu_cores'] / max(ref['cpu_cores'], 1e-9):.1f}x, "
              f"rep to screen p99 {full['rep_to_screen_ms']['p99'] / ref['rep_to_screen_ms']['p99']:.1f}x, "
              f"overview paint p99 {full['tile_paint_ms']['p99'] / ref['tile_paint_ms']['p99']:.1f}x")
    if args.json:
        print(json.dumps(figures, indent=1))
    return figures


def main(argv=None) -> int:
    figures = run_racks(argv)
    return 1 if "error" in figures else 0


if __name__ == "__main__":
    sys.exit(main())
