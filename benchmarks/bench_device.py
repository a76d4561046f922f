"""Device-layer benchmarks: figures printed, not asserted.

    python benchmarks/bench_device.py            # full run (~12 min)
    python benchmarks/bench_device.py --quick    # a short run of every part (~2 min)

Everything runs end to end on real parts: the emulator writes a simulated lifter's bytes to a
pty in its own thread, the real ``DeviceReader`` reads them, ``LiveSession`` feeds
``vbt.tracker.LiveTracker``; the measurements are taken in the session's event callback.

1. Latency, real time (native and Chronojump):
   - rep event after its *last byte was written* (native: the device clock maps every sample to
     the emulator's write log exactly); target p99 < 20 ms;
   - rep event after the read that delivered the deciding sample returned (both protocols), and
     the same for every chunk of samples (read returned -> tracker done);
   - signal time from the *true* end of the concentric phase (simulation ground truth) to the
     rep's deciding sample; target < 150 ms.
2. One hour of 1 kHz native streaming, faster than real time (the device clock carries the
   time base, so the analysis sees a true 1 kHz stream): samples lost, frames lost, bytes the
   pty could not take, RSS and traced Python memory over the hour, reps found.
3. CPU in real time (both protocols): reader thread + analysis worker thread CPU time over wall
   time (``time.thread_time`` in each thread), and the whole process (emulator included).
"""

from __future__ import annotations

import argparse
import bisect
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from firmware_bridge.emulator import Emulator  # noqa: E402
from firmware_bridge.live import LiveSession  # noqa: E402
from firmware_bridge.motion import MotionScript  # noqa: E402
from vbt.config import AnalysisConfig  # noqa: E402
from vbt.tracker import warm_up  # noqa: E402


def pct(values, q):
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


class Probe:
    """The session's event callback: records when things happened (worker thread)."""

    def __init__(self, record_chunks: bool = True):
        self.record_chunks = record_chunks
        self.session = None
        self.chunks = []  # (received_s, t_first, t_last, done_s) in stream time
        self.chunk_last = []  # t_last, for bisect
        self.reps = []  # (event stream time at callback, RepCompleted)
        self.samples = 0
        self.worker_cpu_s = 0.0
        self.connected = threading.Event()
        self.first_sample_t = None

    def __call__(self, e):
        now = self.session.reader.stream_time()
        if e.type == "samples":
            if self.first_sample_t is None:
                self.first_sample_t = float(e.t_s[0])
            self.samples += len(e)
            if self.record_chunks:
                self.chunks.append((e.received_s, float(e.t_s[0]), float(e.t_s[-1]), now))
                self.chunk_last.append(float(e.t_s[-1]))
        elif e.type == "rep":
            self.reps.append((now, e))
        elif e.type == "device_connected":
            self.connected.set()
        self.worker_cpu_s = time.thread_time()

    def chunk_of(self, t_s):
        i = bisect.bisect_left(self.chunk_last, t_s)
        return self.chunks[i] if i < len(self.chunks) else None


def start(protocol, script, *, speed=1.0, log_writes=False, link_dir=None, record_chunks=True):
    emu = Emulator(protocol, script=script, speed=speed, log_writes=log_writes, link_dir=link_dir)
    emu.start()
    probe = Probe(record_chunks)
    session = LiveSession(emu.port, protocol, AnalysisConfig(), on_event=probe, forward_samples=True,
                          forward_health=False, warm=False)
    probe.session = session
    session.start()
    if not probe.connected.wait(10):
        raise RuntimeError("the reader did not connect to the emulator")
    return emu, session, probe


def latency(protocol, seconds, seed, link_dir):
    script = MotionScript.lifter(seed, n_sets=3, rest_s=6.0, style="squat")
    emu, session, probe = start(protocol, script, log_writes=True, link_dir=link_dir)
    try:
        time.sleep(seconds)  # the run itself: a benchmark's duration, not a synchronisation
    finally:
        session.stop(finish=False)
        emu.stop()
    origin = session.reader.origin_s
    proc_lat, write_lat, lag_true, lag_detected = [], [], [], []
    src = emu.source
    writes = emu.write_log or []
    write_s = [w[1] for w in writes]
    truth = script.reps_until(emu.script_time() or 0.0)
    for now, e in probe.reps:
        decided = e.t_s
        chunk = probe.chunk_of(decided)
        if chunk is None:
            continue
        proc_lat.append(now - chunk[0])
        lag_detected.append(decided - e.rep.concentric_end_s)
        if protocol == "native":
            # Device clock -> script time, exactly: the first streamed sample is start_script_s.
            to_script = src.start_script_s - probe.first_sample_t
            s_last = chunk[2] + to_script  # the chunk's last sample: its bytes were in this write
            i = bisect.bisect_left(write_s, s_last - 1e-9)
            if i < len(writes):
                write_lat.append(now - (writes[i][0] - origin))
            end_script = e.rep.concentric_end_s + to_script
            if truth:
                true_end = min(truth, key=lambda r: abs(r.concentric_end_s - end_script)).concentric_end_s
                lag_true.append(decided - (true_end - to_script))
    chunk_lat = [c[3] - c[0] for c in probe.chunks]
    ms = 1000.0
    print(f"  {protocol}: {len(probe.reps)} reps in {seconds:.0f} s, {len(probe.chunks)} chunks, "
          f"{probe.samples} samples")
    if write_lat:
        print(f"    last byte written -> rep event: p50 {pct(write_lat, 50) * ms:.1f} ms, "
              f"p99 {pct(write_lat, 99) * ms:.1f} ms, max {max(write_lat) * ms:.1f} ms  (target p99 < 20 ms)")
    print(f"    read returned -> rep event:      p50 {pct(proc_lat, 50) * ms:.2f} ms, "
          f"p99 {pct(proc_lat, 99) * ms:.2f} ms, max {max(proc_lat) * ms:.2f} ms" if proc_lat else "    no reps")
    print(f"    read returned -> chunk analysed: p50 {pct(chunk_lat, 50) * ms:.2f} ms, "
          f"p99 {pct(chunk_lat, 99) * ms:.2f} ms, max {max(chunk_lat) * ms:.2f} ms ({len(chunk_lat)} chunks)")
    if lag_true:
        print(f"    true concentric end -> deciding sample (signal time): p50 {pct(lag_true, 50) * ms:.0f} ms, "
              f"p99 {pct(lag_true, 99) * ms:.0f} ms, max {max(lag_true) * ms:.0f} ms  (target < 150 ms)")
    if lag_detected:
        print(f"    detected concentric end -> deciding sample: p50 {pct(lag_detected, 50) * ms:.0f} ms, "
              f"max {max(lag_detected) * ms:.0f} ms")
    return dict(write_p99=pct(write_lat, 99), lag_max=max(lag_true) if lag_true else None)


def hour(stream_s, speed, seed, link_dir, trace_memory):
    script = MotionScript.lifter(seed, n_sets=3, rest_s=30.0, style="squat")
    if trace_memory:
        tracemalloc.start()
    cpu0, wall0 = time.process_time(), time.monotonic()
    emu, session, probe = start("native", script, speed=speed, link_dir=link_dir, record_chunks=False)
    marks = []
    next_mark = 0.0
    try:
        while True:
            s = emu.script_time() or 0.0
            if s >= next_mark:
                traced = tracemalloc.get_traced_memory()[0] / 1e6 if trace_memory else float("nan")
                marks.append((s, rss_mb(), traced, probe.samples, session.reader.events.qsize()))
                next_mark += stream_s / 12
            if s >= stream_s:
                break
            time.sleep(0.2)  # polling the benchmark's progress, not synchronising
        # Stop the device (STOP flushes its last frame) and let the reader drain the line.
        before = probe.samples
        session.reader.command("stop")
        deadline = time.monotonic() + 5
        while emu.source.streaming and time.monotonic() < deadline:
            time.sleep(0.05)
        while probe.samples < emu.source.samples and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the drain, bounded
    finally:
        session.stop(finish=True)
        emu.stop()
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    h = session.reader.health()
    src = emu.source
    sent = src.samples  # STOP flushed every generated sample onto the line
    reps = len(probe.reps)
    true_reps = len(script.reps_until(stream_s))
    print(f"  {stream_s / 3600:.2f} h of 1 kHz native streaming at {speed:g}x in {wall:.0f} s wall")
    print(f"    samples: emulator sent {sent}, analysis received {probe.samples} -> lost {sent - probe.samples} "
          f"(frames lost {h.frames_lost}, checksum errors {h.checksum_errors}, bytes the pty refused "
          f"{emu.stats.bytes_dropped}, out of order {session.reader._stitcher.dropped_out_of_order}); "
          f"{probe.samples - before} drained after the device stopped")
    print(f"    reps: {reps} found, {true_reps} in the script (squat lifter, seed {seed})")
    print("    memory (stream time: RSS MB / traced Python MB / reader queue):")
    print("     " + ", ".join(f"{s / 60:.0f} min: {r:.1f}/{t:.1f}/{q}" for s, r, t, _, q in marks))
    rss = [m[1] for m in marks[2:]] or [m[1] for m in marks]
    print(f"    RSS growth after the first 10 min: {rss[-1] - rss[0]:+.1f} MB; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
    print(f"    CPU: reader {h.reader_cpu_s:.1f} s + worker {probe.worker_cpu_s:.1f} s for {stream_s:.0f} s of signal "
          f"= {(h.reader_cpu_s + probe.worker_cpu_s) / stream_s * 100:.2f} % of a core per real-time second "
          f"(whole process incl. emulator {cpu:.0f} s)")
    if trace_memory:
        tracemalloc.stop()


def cpu_real_time(protocol, seconds, seed, link_dir):
    script = MotionScript.lifter(seed, n_sets=3, rest_s=20.0, style="squat")
    emu, session, probe = start(protocol, script, link_dir=link_dir, record_chunks=False)
    time.sleep(2.0)  # settle; the measurement window starts now
    h0 = session.reader.health().reader_cpu_s
    w0 = probe.worker_cpu_s
    p0, t0 = time.process_time(), time.monotonic()
    time.sleep(seconds)  # the measurement window
    h1 = session.reader.health().reader_cpu_s
    w1 = probe.worker_cpu_s
    p1, t1 = time.process_time(), time.monotonic()
    session.stop(finish=False)
    emu.stop()
    wall = t1 - t0
    print(f"  {protocol}, {wall:.0f} s real time: reader {100 * (h1 - h0) / wall:.2f} % + analysis worker "
          f"{100 * (w1 - w0) / wall:.2f} % = {100 * (h1 - h0 + w1 - w0) / wall:.2f} % of one core "
          f"(target < 10 %); whole process with the emulator {100 * (p1 - p0) / wall:.1f} %")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs of every part")
    ap.add_argument("--latency-s", type=float, default=240.0, help="real-time seconds per protocol for latency")
    ap.add_argument("--hour-s", type=float, default=3600.0, help="stream seconds of the long run")
    ap.add_argument("--speed", type=float, default=20.0, help="speed-up of the long run")
    ap.add_argument("--cpu-s", type=float, default=60.0, help="real-time seconds per protocol for CPU")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--tracemalloc", action="store_true", help="trace Python allocations in the long run (slower)")
    args = ap.parse_args(argv)
    if args.quick:
        args.latency_s, args.hour_s, args.cpu_s = 45.0, 600.0, 20.0
    warm_up()
    with tempfile.TemporaryDirectory(prefix="vbt-bench-") as link_dir:
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print("1. latency (real time)")
        for protocol in ("native", "chronojump"):
            latency(protocol, args.latency_s, args.seed, link_dir)
        print("2. long run")
        hour(args.hour_s, args.speed, args.seed, link_dir, args.tracemalloc)
        print("3. CPU (real time)")
        for protocol in ("native", "chronojump"):
            cpu_real_time(protocol, args.cpu_s, args.seed, link_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
