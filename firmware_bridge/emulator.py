"""An emulated transducer on a real pty: the real bytes of either protocol, in real time.

The emulator is a first-class device. It opens a pseudo-terminal pair, makes the slave raw,
and from one thread writes the bytes a Chronojump encoder or a native-protocol device would
send, paced on the monotonic clock (a few ms per write), from a :class:`MotionScript`: a
seeded simulated lifter (``vbt.simulate``: set-up, reps with fatigue, pauses, re-rack, rests,
repeated) or a recorded file. It answers the probes (Chronojump ``'J'``; native PING,
IDENTIFY, START, STOP, SET_RATE) so discovery and the reader treat it as a device.

Port names: the pty's slave (``/dev/pts/N``) is reached through a stable symlink in the
emulator registry directory (``$VBT_EMULATOR_DIR``, else ``<tmp>/vbt-emulators-<uid>``), which
``discovery`` scans, so ``vbt devices`` and ``--port auto`` find emulators started by
``vbt emulate`` in another terminal.

Cable pulls: :meth:`Emulator.unplug` closes the pty (the reader's next read fails, as with a
vanished USB device) and removes the link; :meth:`Emulator.plug` opens a new pty and points the
link at it (``rename=True`` gives it a new link name, like a USB device coming back as
ttyACM1). A plug is a power-up: Chronojump starts its count afresh, a native device reboots
(new boot id, count 0, waits for START) unless ``power_cycle=False``. The script clock keeps
running while unplugged: the lifter does not wait for the cable.

Usage::

    with Emulator("native", seed=3) as emu:      # starts the thread, opens the pty
        port = emu.port                            # open this with the reader
        emu.wait_script_time(5.0, timeout=10)      # script time starts when the host opens
        emu.unplug(); emu.plug()
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import select
import tempfile
import threading
import time
import tty
from dataclasses import dataclass

import numpy as np

from firmware_bridge import chronojump as cj
from firmware_bridge import native as nat
from firmware_bridge.motion import MotionScript

_log = logging.getLogger(__name__)
LINK_PREFIX = "ttyVBT"
_instance_counter = itertools.count()


def emulator_dir() -> str:
    """The registry directory where emulators put their port links."""
    d = os.environ.get("VBT_EMULATOR_DIR")
    if not d:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        d = os.path.join(tempfile.gettempdir(), f"vbt-emulators-{uid}")
    return d


@dataclass
class Faults:
    """Line faults the emulator injects into what it writes (seeded).

    ``bit_error_rate`` probability per byte of one flipped bit; ``drop_rate`` probability per
    byte of losing it; ``garbage_every_s`` a burst of ``garbage_bytes`` random bytes that often.
    """

    bit_error_rate: float = 0.0
    drop_rate: float = 0.0
    garbage_every_s: float = 0.0
    garbage_bytes: int = 16

    @property
    def any(self) -> bool:
        return self.bit_error_rate > 0 or self.drop_rate > 0 or self.garbage_every_s > 0


@dataclass
class EmulatorStats:
    bytes_written: int = 0
    bytes_dropped: int = 0  # written while the host could not take them (buffer full)
    bytes_unsent: int = 0  # generated while no host had the port open
    samples: int = 0
    probes_answered: int = 0
    host_opens: int = 0
    plugs: int = 0


# ---- byte sources: what a device of each protocol sends ------------------------------------


class ChronojumpSource:
    """Bytes of a Chronojump linear encoder driven by a motion script."""

    protocol = "chronojump"

    def __init__(self, script: MotionScript, *, byte_period_s: float = cj.FIRMWARE_BYTE_PERIOD_S,
                 inverted: bool = False, garbage_bytes: int = cj.STARTUP_GARBAGE_BYTES, rng=None):
        self.script = script
        self.byte_period_s = byte_period_s
        self.inverted = inverted
        self.garbage_bytes = garbage_bytes
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self._k_next = 0
        self._last_mm = 0
        self._pending = bytearray()
        self.samples = 0

    def power_up(self, s_now: float) -> None:
        # The first byte sent is the next timer period's; it counts from the position now.
        self._k_next = max(0, int(np.floor(s_now / self.byte_period_s))) + 1
        last_position_m = float(self.script.position((self._k_next - 1) * self.byte_period_s))
        self._last_mm = int(round(last_position_m * cj.COUNTS_PER_M))
        self._pending.clear()

    def host_opened(self, s_now: float) -> None:
        # Some units send garbage when the port opens (the board resets); never control bytes.
        g = self.rng.integers(0, 256, self.garbage_bytes, dtype=np.uint8)
        self._pending += bytes(g)

    def host_bytes(self, data: bytes, s_now: float) -> int:
        n = data.count(cj.PROBE)
        self._pending += cj.PROBE * n
        return n

    def button(self, pressed: bool) -> None:
        self._pending += bytes([cj.BUTTON_PRESSED_BYTE if pressed else cj.BUTTON_RELEASED_BYTE])

    def generate(self, s_now: float) -> bytes:
        k_due = int(np.floor(s_now / self.byte_period_s))
        out = bytes(self._pending)
        self._pending.clear()
        if k_due >= self._k_next:
            k = np.arange(self._k_next, k_due + 1, dtype=np.float64)
            counts, self._last_mm = cj.positions_to_counts(self.script.position(k * self.byte_period_s),
                                                          self._last_mm, inverted=self.inverted)
            self._k_next = k_due + 1
            self.samples += counts.size
            out += cj.encode_counts(counts)
        return out


class NativeSource:
    """Frames of a native-protocol device (firmware 1.0.0) driven by a motion script."""

    protocol = "native"
    firmware_version = (1, 0, 0)

    def __init__(self, script: MotionScript, *, counts_per_m: int = 10000, sample_period_us: int = 1000,
                 device_id: int = 0x56425401, heartbeat_s: float = 0.5, autostart: bool = False,
                 clock_start_us: int = 0, garbage_bytes: int = 0, inverted: bool = False, rng=None):
        self.script = script
        self.counts_per_m = counts_per_m
        self.inverted = inverted  # mounted upside down: the count falls as the bar rises
        self.period_us = sample_period_us
        self.device_id = device_id
        self.heartbeat_us = int(heartbeat_s * 1e6)
        self.autostart = autostart
        self.clock_start_us = clock_start_us
        self.garbage_bytes = garbage_bytes
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.commands = nat.CommandDecoder()
        self.samples = 0
        self._pending = bytearray()
        self._booted = False

    # -- device state -------------------------------------------------------------------
    def power_up(self, s_now: float) -> None:
        self.boot_id = int(self.rng.integers(1, 1 << 32))
        self._s_boot = s_now
        self._dev_boot_us = self.clock_start_us
        self._x_boot = float(self.script.position(s_now))
        self._seq = 0
        self.streaming = False
        self._pend_t: list = []
        self._pend_c: list = []
        self._next_hb_us = self._dev_boot_us + self.heartbeat_us
        self._last_dev_us = self._dev_boot_us
        self._pending.clear()
        self._booted = True
        self._send(self._hello())
        if self.autostart:
            self._start(self._dev_us(s_now))

    def _dev_us(self, s: float) -> int:
        return self._dev_boot_us + int(round((s - self._s_boot) * 1e6))

    def _script_s(self, dev_us) -> np.ndarray:
        return self._s_boot + (np.asarray(dev_us, dtype=np.float64) - self._dev_boot_us) * 1e-6

    def _count(self, dev_us) -> np.ndarray:
        x = self.script.position(self._script_s(dev_us))
        counts = np.round((x - self._x_boot) * self.counts_per_m).astype(np.int64)
        return -counts if self.inverted else counts

    def _next_seq(self) -> int:
        s = self._seq
        self._seq = (self._seq + 1) & 0xFFFF
        return s

    def _send(self, frame) -> None:
        self._pending += nat.encode_frame(frame)

    def _hello(self):
        return nat.hello_frame(self._next_seq(), nat.PROTOCOL_VERSION, self.firmware_version, self.device_id,
                         self.counts_per_m, self.period_us, self.boot_id, self.streaming)

    def _start(self, dev_now: int) -> None:
        if not self.streaming:
            self.streaming = True
            self._next_sample_us = dev_now + self.period_us
            # Script time of the first sample streamed: maps a sample's device clock to the script.
            self.start_script_s = float(self._script_s(self._next_sample_us))
            self.start_device_us = self._next_sample_us

    def _per_frame(self) -> int:
        return int(min(nat.MAX_SAMPLES_PER_FRAME, max(1, round(8000 / self.period_us))))

    def _flush_samples(self, force: bool) -> None:
        per = self._per_frame()
        while len(self._pend_t) >= per or (force and self._pend_t):
            n = min(per, len(self._pend_t))
            t0, counts = self._pend_t[0], self._pend_c[:n]
            self._send(nat.samples_frame(self._next_seq(), t0 % nat.U32, counts, self.period_us))
            del self._pend_t[:n]
            del self._pend_c[:n]

    # -- source interface ---------------------------------------------------------------
    def host_opened(self, s_now: float) -> None:
        if self.garbage_bytes:
            self._pending += bytes(self.rng.integers(1, 256, self.garbage_bytes, dtype=np.uint8))

    def host_bytes(self, data: bytes, s_now: float) -> int:
        answered = 0
        dev_now = self._dev_us(s_now)
        for cmd in self.commands.feed(data):
            status, value = nat.ACK_OK, 0
            if cmd.command == nat.CMD_PING:
                value = cmd.arg or 0
            elif cmd.command == nat.CMD_START:
                self._start(dev_now)
            elif cmd.command == nat.CMD_STOP:
                self._flush_samples(force=True)
                self.streaming = False
            elif cmd.command == nat.CMD_SET_RATE:
                if cmd.arg is None or not (nat.MIN_PERIOD_US <= cmd.arg <= nat.MAX_PERIOD_US):
                    status = nat.ACK_BAD_ARGUMENT
                else:
                    self._flush_samples(force=True)
                    self.period_us = int(cmd.arg)
                    if self.streaming:
                        self._next_sample_us = dev_now + self.period_us
                value = self.period_us
            self._send(nat.Ack(cmd.command, cmd.seq, status, value, seq=self._next_seq()))
            if cmd.command == nat.CMD_IDENTIFY:
                self._send(self._hello())
            answered += 1
        return answered

    def button(self, pressed: bool) -> None:
        if self._booted:
            self._send(nat.Button(pressed, seq=self._next_seq(), t_us=self._last_dev_us % nat.U32))

    def generate(self, s_now: float) -> bytes:
        dev_now = self._dev_us(s_now)
        self._last_dev_us = dev_now
        if self.streaming and self._next_sample_us <= dev_now:
            n = (dev_now - self._next_sample_us) // self.period_us + 1
            t = self._next_sample_us + self.period_us * np.arange(n, dtype=np.int64)
            c = self._count(t)
            self._pend_t.extend(int(v) for v in t)
            self._pend_c.extend(int(v) for v in c)
            self._next_sample_us = int(t[-1]) + self.period_us
            self.samples += int(n)
            self._flush_samples(force=False)
        if dev_now >= self._next_hb_us:
            if self.streaming and self._pend_t:
                self._flush_samples(force=True)
            hb_t = dev_now if not self.streaming else self._next_sample_us - self.period_us
            self._send(nat.Heartbeat(self.streaming, seq=self._next_seq(), t_us=hb_t % nat.U32,
                                     count=int(self._count(hb_t))))
            self._next_hb_us = dev_now + self.heartbeat_us
        out = bytes(self._pending)
        self._pending.clear()
        return out


class BytesReplaySource:
    """A recorded device byte stream written at a constant byte rate (fixtures)."""

    def __init__(self, data: bytes, bytes_per_s: float, protocol: str):
        self.data = bytes(data)
        self.bytes_per_s = bytes_per_s
        self.protocol = protocol
        self._sent = 0
        self._pending = bytearray()
        self.samples = 0

    def power_up(self, s_now: float) -> None:
        pass

    def host_opened(self, s_now: float) -> None:
        pass

    def host_bytes(self, data: bytes, s_now: float) -> int:
        if self.protocol == "chronojump":
            n = data.count(cj.PROBE)
            self._pending += cj.PROBE * n
            return n
        return 0

    def button(self, pressed: bool) -> None:
        pass

    def generate(self, s_now: float) -> bytes:
        due = min(len(self.data), int(s_now * self.bytes_per_s))
        out = bytes(self._pending) + self.data[self._sent:due]
        self._pending.clear()
        self._sent = max(self._sent, due)
        return out

    @property
    def finished(self) -> bool:
        return self._sent >= len(self.data)


# ---- the emulator ------------------------------------------------------------------------------


class Emulator:
    """A scripted transducer on a pty, run by one thread.

    Parameters
    ----------
    protocol
        ``"chronojump"`` or ``"native"``.
    seed
        Seeds the lifter script, start-up garbage, boot ids and faults.
    script
        A :class:`MotionScript`; default: a looping simulated lifter from ``seed``
        (``n_sets`` sets, ``rest_s`` rest, ``style``).
    replay
        A recording file (CSV or Chronojump raw) played once as the motion, instead of a script.
        A Chronojump replay keeps the file's own sampling period, so the bytes are the file's.
    replay_bytes, replay_bytes_per_s
        A recorded raw device byte stream, written as is at that byte rate.
    start_on
        ``"open"``: script time 0 is when a host first opens the port; ``"now"``: at start().
        A Chronojump byte stream is emitted from script time 0 on.
    speed
        Script seconds per wall second (> 1 for faster-than-real-time benchmarks).
    batch_s
        Bytes are written every ``batch_s`` of wall time.
    link_dir, link_name
        Where the stable port link lives (default: the registry directory).
    byte_period_s
        Chronojump byte period (default: the firmware's 0.973 ms; a replay: the file's period).
    faults
        Line faults to inject (:class:`Faults`).
    log_writes
        Keep ``write_log``: (monotonic time, script time) of every write (benchmarks).
    replay_rate_hz
        The sampling rate of a replayed CSV that numbers its samples or holds positions alone (``--rate``).
    """

    def __init__(self, protocol: str = "chronojump", *, seed: int = 0, script: MotionScript | None = None,
                 replay: str | os.PathLike | None = None, replay_bytes: bytes | None = None,
                 replay_bytes_per_s: float = 1000.0, n_sets: int = 3, rest_s: float = 20.0,
                 style: str | None = None, start_on: str = "open", speed: float = 1.0, batch_s: float = 0.004,
                 link_dir: str | None = None, link_name: str | None = None, byte_period_s: float | None = None,
                 inverted: bool = False, counts_per_m: int = 10000, sample_period_us: int = 1000,
                 device_id: int | None = None, autostart: bool = False, clock_start_us: int | None = None,
                 garbage_bytes: int | None = None, heartbeat_s: float = 0.5, faults: Faults | None = None,
                 log_writes: bool = False, replay_rate_hz: float | None = None):
        if protocol not in ("chronojump", "native"):
            raise ValueError(f"protocol must be 'chronojump' or 'native', not {protocol!r}")
        if start_on not in ("open", "now"):
            raise ValueError("start_on must be 'open' or 'now'")
        self.protocol = protocol
        self.seed = seed
        self.speed = float(speed)
        self.batch_s = batch_s
        self.start_on = start_on
        self.faults = faults or Faults()
        self._rng = np.random.default_rng(seed)
        if replay_bytes is not None:
            self.script = None
            self.source = BytesReplaySource(replay_bytes, replay_bytes_per_s, protocol)
        else:
            if replay is not None:
                script = MotionScript.from_recording(replay, rate_hz=replay_rate_hz)
                if byte_period_s is None and protocol == "chronojump":
                    byte_period_s = script.sample_period_s
            elif script is None:
                script = MotionScript.lifter(seed, n_sets=n_sets, rest_s=rest_s, style=style)
            self.script = script
            if protocol == "chronojump":
                self.source = ChronojumpSource(
                    script, byte_period_s=byte_period_s or cj.FIRMWARE_BYTE_PERIOD_S, inverted=inverted,
                    garbage_bytes=cj.STARTUP_GARBAGE_BYTES if garbage_bytes is None else garbage_bytes, rng=self._rng)
            else:
                self.source = NativeSource(
                    script, counts_per_m=counts_per_m, sample_period_us=sample_period_us,
                    device_id=device_id if device_id is not None else int(self._rng.integers(1, 1 << 31)),
                    heartbeat_s=heartbeat_s, autostart=autostart,
                    clock_start_us=clock_start_us if clock_start_us is not None else int(self._rng.integers(0, 1 << 32)),  # noqa: E501
                    garbage_bytes=0 if garbage_bytes is None else garbage_bytes, inverted=inverted, rng=self._rng)
        self.link_dir = link_dir or emulator_dir()
        self._link_base = link_name or f"{LINK_PREFIX}-{protocol}-{os.getpid()}-{next(_instance_counter)}"
        self._link_serial = 0
        self.stats = EmulatorStats()
        # (monotonic time, script time) of every write, for latency measurements
        self.write_log: list[tuple[float, float]] | None = [] if log_writes else None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests: list = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self.device_name: str | None = None  # the current /dev/pts/N
        self._link: str | None = None
        self._host_open = False
        self._t0_wall: float | None = None  # monotonic time at script time 0
        self._s_now = 0.0
        self._next_garbage_s = self.faults.garbage_every_s or None
        self._error: BaseException | None = None

    # -- public -----------------------------------------------------------------------------
    @property
    def port(self) -> str:
        """The port to open: the stable link (``device_name`` if links are disabled)."""
        return self._link or self.device_name

    @property
    def script_t0(self) -> float | None:
        """Monotonic time at which script time 0 happened (None until the script started)."""
        return self._t0_wall

    def script_time(self, wall: float | None = None) -> float | None:
        """Script time at monotonic time ``wall`` (now by default); None before the script starts."""
        if self._t0_wall is None:
            return None
        return ((time.monotonic() if wall is None else wall) - self._t0_wall) * self.speed

    def start(self) -> str:
        """Open the pty and start the thread; returns the port to open."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        os.makedirs(self.link_dir, exist_ok=True)
        if self.start_on == "now":
            self._t0_wall = time.monotonic()
        self._open_pty(time.monotonic())
        self._thread = threading.Thread(target=self._run, name=f"emulator-{self.protocol}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, close the pty and remove the link; re-raises a failure of the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("emulator thread did not stop")
            self._thread = None
        self._close_pty()
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"the emulator thread failed: {error!r}") from error

    def __enter__(self) -> "Emulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def unplug(self, timeout: float = 2.0) -> None:
        """Pull the cable: the pty closes at once and the link disappears."""
        self._request("unplug", timeout=timeout)

    def plug(self, *, rename: bool = False, power_cycle: bool = True, timeout: float = 2.0) -> str:
        """Plug the cable back in: a new pty; returns the port (a new link name when ``rename``)."""
        self._request("plug", rename, power_cycle, timeout=timeout)
        return self.port

    def press_button(self, pressed: bool = True) -> None:
        self._request("button", pressed, timeout=2.0)

    def wait_script_time(self, t_s: float, timeout: float) -> bool:
        """Block until the script clock has reached ``t_s`` (and its bytes are written)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._t0_wall is None or self._s_now < t_s:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(left)
        return True

    def wait_host_open(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._host_open:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    @property
    def host_connected(self) -> bool:
        return self._host_open

    @property
    def finished(self) -> bool:
        """A replay has played everything (always False for a script that loops)."""
        if isinstance(self.source, BytesReplaySource):
            return self.source.finished
        return (not self.script.loop) and self._s_now > self.script.duration_s

    def true_reps(self, until_s: float | None = None):
        """True reps of the script up to script time ``until_s`` (now by default)."""
        if self.script is None:
            return []
        return self.script.reps_until(self._s_now if until_s is None else until_s)

    # -- pty ---------------------------------------------------------------------------------
    def _open_pty(self, wall: float, rename: bool = False, power_up: bool = True) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave)  # no echo, no line editing, no CR/LF translation: bytes as they are
            name = os.ttyname(slave)
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self.device_name = name
        if rename:
            self._link_serial += 1
        link = os.path.join(self.link_dir, self._link_base + (f"-{self._link_serial}" if self._link_serial else ""))
        tmp = link + ".tmp"
        try:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(name, tmp)
            os.replace(tmp, link)
            self._link = link
        except OSError as exc:  # no links possible: the pts name is the port
            _log.warning("cannot create emulator link %s: %s", link, exc)
            self._link = None
        self._host_open = False
        self.stats.plugs += 1
        s_now = self._script_now(wall)
        if power_up:
            self.source.power_up(s_now if s_now is not None else 0.0)

    def _close_pty(self) -> None:
        if self._link is not None:
            try:
                if os.path.islink(self._link) and os.readlink(self._link) == self.device_name:
                    os.unlink(self._link)
            except OSError:
                pass
        if self._master is not None:
            os.close(self._master)
            self._master = None
        with self._cond:
            self._host_open = False
            self._cond.notify_all()

    # -- thread --------------------------------------------------------------------------------
    def _request(self, what: str, *args, timeout: float) -> None:
        done = threading.Event()
        with self._lock:
            self._requests.append((what, args, done))
        if self._thread is None:
            self._serve_requests(time.monotonic())
        elif not done.wait(timeout):
            raise TimeoutError(f"emulator did not handle {what!r}")

    def _serve_requests(self, wall: float) -> None:
        with self._lock:
            reqs, self._requests = self._requests, []
        for what, args, done in reqs:
            try:
                if what == "unplug":
                    self._close_pty()
                elif what == "plug":
                    rename, power_cycle = args
                    if self._master is not None:
                        self._close_pty()
                    # Without a power cycle the device keeps its state (a battery-powered unit).
                    self._open_pty(wall, rename=rename, power_up=power_cycle)
                elif what == "button":
                    self.source.button(args[0])
            finally:
                done.set()

    def _script_now(self, wall: float) -> float | None:
        if self._t0_wall is None:
            return None
        return (wall - self._t0_wall) * self.speed

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # reported to whoever stops us; the thread must not die silently
            self._error = exc
            _log.exception("emulator thread failed")
        finally:
            with self._cond:
                self._cond.notify_all()

    def _loop(self) -> None:
        poller = None
        polled_fd = None
        next_write = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if self._requests:
                self._serve_requests(now)
            if self._master is None:
                self._stop.wait(self.batch_s)
                continue
            if polled_fd != self._master:
                poller = select.poll()
                poller.register(self._master, select.POLLIN)
                polled_fd = self._master
            events = poller.poll(0)
            hup = any(ev & (select.POLLHUP | select.POLLERR) for _, ev in events)
            if not hup and not self._host_open:
                self._on_host_open(now)
            elif hup and self._host_open:
                with self._cond:
                    self._host_open = False
            if self._host_open and any(ev & select.POLLIN for _, ev in events):
                self._read_host(now)
            if now >= next_write:
                self._write_due(now)
                next_write = max(next_write + self.batch_s, now + self.batch_s * 0.5)
            timeout = max(0.0, next_write - time.monotonic())
            if self._host_open:
                events = poller.poll(timeout * 1000.0)
                if events and any(ev & select.POLLIN for _, ev in events):
                    self._read_host(time.monotonic())
            else:
                self._stop.wait(timeout)

    def _on_host_open(self, wall: float) -> None:
        self.stats.host_opens += 1
        if self._t0_wall is None:
            self._t0_wall = wall
            self.source.power_up(0.0)
        s = self._script_now(wall)
        self.source.host_opened(s)
        with self._cond:
            self._host_open = True
            self._cond.notify_all()

    def _read_host(self, wall: float) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:  # the host closed the port
                with self._cond:
                    self._host_open = False
                return
            raise
        if data:
            s = self._script_now(wall)
            answered = self.source.host_bytes(data, 0.0 if s is None else s)
            self.stats.probes_answered += answered

    def _write_due(self, wall: float) -> None:
        s = self._script_now(wall)
        if s is None:
            return
        data = self.source.generate(s)
        self.stats.samples = self.source.samples
        if data and self.faults.any:
            data = self._inject_faults(data, s)
        if data:
            if not self._host_open:
                self.stats.bytes_unsent += len(data)
            else:
                try:
                    n = os.write(self._master, data)
                except BlockingIOError:
                    n = 0
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    n = 0
                self.stats.bytes_written += n
                self.stats.bytes_dropped += len(data) - n
                if self.write_log is not None:
                    self.write_log.append((time.monotonic(), s))
        with self._cond:
            self._s_now = s
            self._cond.notify_all()

    def _inject_faults(self, data: bytes, s: float) -> bytes:
        f = self.faults
        arr = np.frombuffer(data, dtype=np.uint8).copy()
        if f.bit_error_rate > 0:
            hit = self._rng.random(arr.size) < f.bit_error_rate
            if hit.any():
                bits = self._rng.integers(0, 8, int(hit.sum()))
                arr[hit] ^= (1 << bits).astype(np.uint8)
        if f.drop_rate > 0:
            arr = arr[self._rng.random(arr.size) >= f.drop_rate]
        out = arr.tobytes()
        if self._next_garbage_s is not None and s >= self._next_garbage_s:
            out += bytes(self._rng.integers(0, 256, f.garbage_bytes, dtype=np.uint8))
            self._next_garbage_s += f.garbage_every_s
        return out
