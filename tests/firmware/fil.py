"""Firmware in the loop: build the transducer firmware and the simavr harness, turn a motion into
encoder edges, run the firmware on them. Shared by ``tests/test_firmware.py`` and
``benchmarks/bench_firmware.py``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE_DIR = ROOT / "firmware_bridge" / "firmware"
HARNESS_DIR = pathlib.Path(__file__).resolve().parent
F_CPU = 16_000_000
# Quadrature state (B << 1) | A for count mod 4: the sequence the firmware counts as up.
GRAY = np.array([0, 1, 3, 2], dtype=np.uint64)
EDGE_DTYPE = np.dtype([("cycle", "<u8"), ("state", "<u8")])
TX_DTYPE = np.dtype([("cycle", "<u8"), ("byte", "u1")])


def missing_tools() -> list[str]:
    """What the firmware tests need and this machine lacks (empty: all there)."""
    tools = ("avr-gcc", "avr-objcopy", "avr-size", "avr-nm", "make", "cc", "pkg-config")
    missing = [t for t in tools if shutil.which(t) is None]
    inc_dir = "/usr/include/simavr"
    if "pkg-config" not in missing:
        inc = subprocess.run(["pkg-config", "--cflags", "simavr"], capture_output=True, text=True)
        if inc.returncode == 0 and inc.stdout.strip():
            inc_dir = inc.stdout.strip().split()[0].removeprefix("-I")
    if not os.path.exists(os.path.join(inc_dir or "/usr/include/simavr", "sim_avr.h")):
        missing.append("libsimavr-dev (simavr headers)")
    return missing


@dataclass
class Firmware:
    elf: pathlib.Path
    hex: pathlib.Path
    size_report: str

    def symbol(self, name: str) -> tuple[int, int]:
        """(data-space address, size) of a global variable, from the ELF's symbol table."""
        out = subprocess.run(["avr-nm", "-S", str(self.elf)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3] == name:
                return int(parts[0], 16) & 0xFFFF, int(parts[1], 16)
        raise KeyError(name)

    def watch(self, *names: str) -> list[str]:
        args = []
        for n in names:
            addr, size = self.symbol(n)
            args += ["--watch", f"{n}={addr:#x}:{size}"]
        return args


def build_firmware(build_dir, **settings) -> Firmware:
    """``make`` the firmware into ``build_dir`` with build-time settings (COUNTS_PER_M=..., ...)."""
    build_dir = pathlib.Path(build_dir)
    args = ["make", "-s", "-C", str(FIRMWARE_DIR), f"BUILD={build_dir}"] + [f"{k}={v}" for k, v in settings.items()]
    res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"firmware build failed:\n{res.stdout}\n{res.stderr}")
    return Firmware(build_dir / "vbt_transducer.elf", build_dir / "vbt_transducer.hex", res.stdout)


def build_harness(build_dir) -> pathlib.Path:
    build_dir = pathlib.Path(build_dir)
    res = subprocess.run(["make", "-s", "-C", str(HARNESS_DIR), f"BUILD={build_dir}"], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"harness build failed:\n{res.stdout}\n{res.stderr}")
    return build_dir / "vbt_sim"


def motion_counts(position, t_end_s: float, counts_per_m: float, dt_s: float = 4e-6, chunk_s: float = 0.5):
    """Encoder edges of a motion: (edge times in s, count after each edge), count 0 at t = 0.

    ``position(t)`` is the bar's height (m); the count is round((x(t) - x(0)) * counts_per_m),
    evaluated every ``dt_s`` (at 4 m/s and 0.1 mm per count that is 0.16 count per step, so no
    edge is skipped) and each change placed by linear interpolation inside its step.
    """
    x0 = float(position(np.array([0.0]))[0])
    times, counts = [], []
    prev_c, prev_x = 0, 0.0
    t0 = 0.0
    while t0 < t_end_s:
        t = np.arange(t0, min(t0 + chunk_s, t_end_s), dt_s)
        x = (position(t) - x0) * counts_per_m
        c = np.floor(x + 0.5).astype(np.int64)
        cc = np.concatenate([[prev_c], c])
        xx = np.concatenate([[x[0] if t0 == 0 else prev_x], x])
        tt = np.concatenate([[t[0] - dt_s], t])
        for i in np.flatnonzero(np.diff(cc)):
            step = int(np.sign(cc[i + 1] - cc[i]))
            for k in range(cc[i] + step, cc[i + 1] + step, step):
                level = k - 0.5 if step > 0 else k + 0.5  # the count becomes k when x crosses this
                frac = (level - xx[i]) / (xx[i + 1] - xx[i]) if xx[i + 1] != xx[i] else 1.0
                times.append(tt[i] + min(max(frac, 0.0), 1.0) * dt_s)
                counts.append(k)
        prev_c = int(c[-1])
        prev_x = float(x[-1])
        t0 += chunk_s
    return np.asarray(times), np.asarray(counts, dtype=np.int64)


def write_edges(path, times_s, counts) -> np.ndarray:
    """The harness's edge file: a power-up record (count 0) then one record per edge."""
    rec = np.zeros(len(times_s) + 1, dtype=EDGE_DTYPE)
    rec["state"][0] = GRAY[0]
    rec["cycle"][1:] = np.round(np.asarray(times_s) * F_CPU).astype(np.uint64)
    rec["state"][1:] = GRAY[np.asarray(counts) % 4]
    pathlib.Path(path).write_bytes(rec.tobytes())
    return rec


@dataclass
class BatchRun:
    start_cycle: int
    done_cycle: int
    watches: dict
    tx: np.ndarray  # TX_DTYPE records


def run_batch(harness, firmware: Firmware, edges_path, host_bytes: bytes, work_dir, run_ms=None,
              lead_ms: float = 20.0, watch=("qe_errors", "enc_count"), timeout_s: float = 600.0) -> BatchRun:
    """Run the firmware on an edge file with no host attached: ``host_bytes`` are fed to its UART
    at the start, everything it sends is logged with the cycle it left the UART."""
    work_dir = pathlib.Path(work_dir)
    host = work_dir / "host.bin"
    host.write_bytes(host_bytes)
    log = work_dir / "tx.bin"
    cmd = [str(harness), "--elf", str(firmware.elf), "--edges", str(edges_path), "--host-input", str(host),
           "--tx-log", str(log), "--lead-ms", str(lead_ms)] + firmware.watch(*watch)
    if run_ms is not None:
        cmd += ["--run-ms", str(run_ms)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if res.returncode != 0:
        raise RuntimeError(f"harness failed ({res.returncode}): {res.stderr}")
    start = done = None
    watches = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["START"]:
            start = int(parts[1])
        elif parts[:1] == ["DONE"]:
            done = int(parts[1])
        elif parts[:1] == ["WATCH"]:
            watches[parts[1]] = int(parts[2])
    return BatchRun(start, done, watches, np.fromfile(log, dtype=TX_DTYPE))


class PtyRun:
    """The harness with its UART on a pty, as a context manager: ``.port`` is the pty to open."""

    def __init__(self, harness, firmware: Firmware, edges_path, *, lead_ms: float = 300.0, run_ms=None,
                 garbage_ms=(), garbage_bytes: int = 24, seed: int = 0, watch=("qe_errors", "enc_count"),
                 link=None):
        self.cmd = [str(harness), "--elf", str(firmware.elf), "--edges", str(edges_path), "--pty",
                    "--lead-ms", str(lead_ms), "--seed", str(seed), "--garbage-bytes", str(garbage_bytes)]
        if link is not None:  # the pty under a fixed name: a new run is the same device plugged back in
            self.cmd += ["--link", str(link)]
        self.cmd += firmware.watch(*watch)
        if run_ms is not None:
            self.cmd += ["--run-ms", str(run_ms)]
        if garbage_ms:
            self.cmd += ["--garbage-ms", ",".join(f"{g:g}" for g in garbage_ms)]
        self.proc = None
        self.port = None
        self.lines: list[str] = []
        self.watches: dict = {}
        self._done = threading.Event()

    def __enter__(self) -> "PtyRun":
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        while line and not line.startswith("PTY "):  # simavr prints its own lines first
            line = self.proc.stdout.readline()
        if not line.startswith("PTY "):
            self.proc.kill()
            raise RuntimeError(f"harness did not start: {line!r} {self.proc.stderr.read()}")
        self.port = line.split(maxsplit=1)[1].strip()
        self._thread = threading.Thread(target=self._read_lines, daemon=True)
        self._thread.start()
        return self

    def _read_lines(self) -> None:
        for line in self.proc.stdout:
            parts = line.split()
            self.lines.append(line.strip())
            if parts[:1] == ["WATCH"]:
                self.watches[parts[1]] = int(parts[2])
                if len(self.watches) == sum(a == "--watch" for a in self.cmd):
                    self._done.set()

    def wait_done(self, timeout_s: float = 120.0) -> dict:
        """Wait for the simulation to reach its end; returns the WATCH values."""
        if not self._done.wait(timeout_s):
            raise AssertionError(f"simulation did not finish: {self.lines}")
        return dict(self.watches)

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._thread.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


def decode_tx(tx: np.ndarray):
    """Split a TX log into frames: [(frame object or None if undecodable, cycle its last byte left)]."""
    sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
    from firmware_bridge import native as nat

    out = []
    data = tx["byte"].tobytes()
    ends = np.flatnonzero(tx["byte"] == 0)
    start = 0
    for e in ends:
        part = data[start:e]
        if part:
            try:
                out.append((nat.decode_frame(part), int(tx["cycle"][e])))
            except Exception:
                out.append((None, int(tx["cycle"][e])))
        start = e + 1
    return out
