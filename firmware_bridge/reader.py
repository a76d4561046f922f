"""One reader thread per port: open, decode, report; survive pulled cables.

:class:`DeviceReader` owns its port. Its thread opens the port (device name, pty path or any
pyserial URL, via ``serial_for_url``), runs one protocol object per connection, stitches the
connections into one stream and reports *everything* (connections, losses, samples, button,
health) through one path: the ``on_event`` callback, called on the reader thread, or, without
one, the ``events`` queue. Writes to the port take a lock and may come from any thread.

When a read fails (cable pulled, pty closed) or the device goes silent, ``device_lost`` is
reported at once and the thread retries: the same port name first, then the same USB device
under another name (matched by VID:PID and serial number), then the ``candidates`` (names,
glob patterns, or a callable returning names). A native device must answer with the same
device id on a port other than the original one.

Stream time is seconds since ``start()`` on the reader's monotonic clock. Sample times are
continuous across reconnections; positions too: an absolute (native) stream of the same
device power-on continues exactly, in position and in time (by the device's clock); anything
else continues from the last position.
"""

from __future__ import annotations

import glob
import logging
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import serial

from firmware_bridge import chronojump as cj
from firmware_bridge import discovery
from firmware_bridge import native as nat
from firmware_bridge.events import (
    DeviceConnected,
    DeviceLost,
    DeviceUnavailable,
    EventPath,
    HealthEvent,
    LineErrors,
    ReaderHealth,
    implausible_count,
    line_error_count,
)
from firmware_bridge.protocol import (
    Ack,
    Button,
    DecoderStats,
    DeviceIdentity,
    Heartbeat,
    ProbeEcho,
    Samples,
    evolve,
)

_log = logging.getLogger(__name__)
PROTOCOL_CHOICES = ("auto", "chronojump", "native")
_STAT_FIELDS = ("frames_lost", "checksum_errors", "bad_frames", "sequence_gaps", "implausible",
                "discarded_bytes", "resyncs")


class StreamStitcher:
    """Turns per-connection sample batches into one stream (stream time, continuous position)."""

    def __init__(self, origin_s: float):
        self.origin_s = origin_s
        self.last_t: float | None = None
        self.last_x: float | None = None
        self._session = None
        self._last_clock_us: int | None = None  # device clock (raw u32 µs) at the last sample
        self._offset_x: float | None = None
        self._shift_t = 0.0
        self._fresh = True
        self.dropped_out_of_order = 0

    def new_connection(self) -> None:
        self._fresh = True

    def stream_time(self, t_host_s: float) -> float:
        return t_host_s - self.origin_s + self._shift_t

    def retime(self, item, received_s: float):
        """A decoded device message on stream time (None: nothing to report). ``received_s``: stream
        time of the read that carried it. Samples are placed (continuous time and position); a
        button or heartbeat keeps its device time; an acknowledgement is dated by its read."""
        if isinstance(item, Samples):
            return self.place(item, received_s)
        if isinstance(item, Ack):
            return evolve(item, t_s=received_s)
        if isinstance(item, (Button, Heartbeat)):
            return evolve(item, t_s=self.stream_time(item.t_s))
        return None

    def place(self, batch: Samples, received_s: float | None = None) -> Samples | None:
        t = batch.t_s - self.origin_s
        if self._fresh:
            self._shift_t = 0.0
            same_session = batch.absolute and batch.session is not None and batch.session == self._session
            if same_session and batch.clock_us is not None and self._last_clock_us is not None and not batch.rebased:
                # The device's clock ran on: place the new connection by it, exactly.
                gap_s = ((batch.clock_us - self._last_clock_us) % (1 << 32)) * 1e-6
                self._shift_t = self.last_t + gap_s - t[0]
            if self.last_t is not None and t[0] + self._shift_t <= self.last_t:
                self._shift_t = self.last_t - t[0] + 1e-4
            if not (same_session and self._offset_x is not None) or batch.rebased:
                last_x = self.last_x if self.last_x is not None else 0.0
                self._offset_x = last_x - batch.position_m[0]
            self._session = batch.session
            self._fresh = False
        elif batch.rebased:
            self._offset_x = (self.last_x - batch.position_m[0]) if self.last_x is not None else -batch.position_m[0]
        t = t + self._shift_t
        x = batch.position_m + self._offset_x
        if self.last_t is not None and t[0] <= self.last_t:
            keep = t > self.last_t
            self.dropped_out_of_order += int(np.count_nonzero(~keep))
            t, x = t[keep], x[keep]
            if t.size == 0:
                return None
        self.last_t = float(t[-1])
        self.last_x = float(x[-1])
        if batch.clock_us is not None:
            span_us = int(round((batch.t_s[-1] - batch.t_s[0]) * 1e6))
            self._last_clock_us = (batch.clock_us + span_us) % (1 << 32)
        else:
            self._last_clock_us = None
        return evolve(batch, t_s=t, position_m=x, received_s=received_s)


@dataclass
class _Connection:
    ser: serial.SerialBase
    port: str
    protocol: str
    decoder: object
    opened_s: float
    confirmed: bool = False
    identity: DeviceIdentity | None = None
    usb: discovery.PortInfo | None = None
    next_probe_s: float = 0.0
    last_data_s: float = 0.0
    held: list | None = None  # items decoded before the device was confirmed
    line_errors: int = 0  # line errors of this connection already reported
    implausible: int = 0  # of which readings refused as impossible motion


class PortFinder:
    """Where the device may be: its own port name first, then the same USB device under another name
    (matched by VID:PID and serial number, learned at the first connection on the own name), then
    the ``candidates`` (names, glob patterns, or a callable returning names)."""

    def __init__(self, port: str, candidates=(), match_usb: bool = True):
        self.port = port
        self.candidates = candidates
        self.match_usb = match_usb
        self.usb: discovery.PortInfo | None = None

    def usb_identity(self, port: str) -> discovery.PortInfo | None:
        return discovery.usb_identity(port) if self.match_usb else None

    def remember(self, port: str, usb: discovery.PortInfo | None) -> None:
        """A device was confirmed on ``port``: on its own name, its USB identity is the one to follow."""
        if usb is not None and port == self.port:
            self.usb = usb

    def ports(self) -> list[str]:
        names = [self.port]
        if self.usb is not None and self.match_usb:
            for p in discovery.list_ports(include_emulators=False):
                if (p.vid, p.pid) == (self.usb.vid, self.usb.pid) and (
                        self.usb.serial_number is None or p.serial_number == self.usb.serial_number):
                    names.append(p.device)
        cands = self.candidates() if callable(self.candidates) else list(self.candidates)
        for c in cands:
            if any(ch in c for ch in "*?["):
                names.extend(sorted(glob.glob(c)))
            else:
                names.append(c)
        seen, out = set(), []
        for n in names:
            if n not in seen:
                seen.add(n)
                out.append(n)
        return out


class LinkCounters:
    """What the reader counts for its health report: connections, losses, bytes, samples and line
    errors since it started, every closed connection's decoder counters, the sample rate over the
    last health interval, and the reader thread's CPU time. Written on the reader thread; the
    latest report is handed to other threads under a lock."""

    def __init__(self):
        self.past = DecoderStats()  # the closed connections' decoder counters, added up
        self.connections = 0
        self.losses = 0
        self.samples = 0
        self.bytes = 0
        self.line_errors = 0
        self.cpu_s = 0.0
        self._rate_mark = (0.0, 0)
        self._last_rate = 0.0
        self._lock = threading.Lock()
        self._latest: ReaderHealth | None = None

    def start(self, now: float) -> None:
        self._rate_mark = (now, 0)

    def closed(self, stats: DecoderStats) -> None:
        for name in _STAT_FIELDS:
            setattr(self.past, name, getattr(self.past, name) + getattr(stats, name))

    def new_line_errors(self, conn: "_Connection") -> tuple[int, int] | None:
        """(count, of which readings refused as impossible motion) of the line errors of ``conn`` not
        reported yet, added to the total; None when there is nothing to report, also before the device
        is confirmed (start-up garbage is not line noise)."""
        n = line_error_count(conn.decoder.stats)
        if n <= conn.line_errors:
            return None
        bad = implausible_count(conn.decoder.stats)
        new = (n - conn.line_errors, bad - conn.implausible)
        conn.line_errors, conn.implausible = n, bad
        if not conn.confirmed:
            return None
        self.line_errors += new[0]
        return new

    def health(self, now: float, t_s: float, conn: "_Connection | None", protocol: str | None,
               interval_s: float) -> ReaderHealth:
        cur = conn.decoder.stats if conn is not None else None

        def total(name: str) -> int:
            return getattr(self.past, name) + (getattr(cur, name) if cur is not None else 0)

        t_mark, n_mark = self._rate_mark
        if now - t_mark >= 0.5 * interval_s:
            self._last_rate = (self.samples - n_mark) / (now - t_mark) if now > t_mark else 0.0
            self._rate_mark = (now, self.samples)
        period = None
        if conn is not None and isinstance(conn.decoder, cj.ChronojumpDecoder):
            period = conn.decoder.period_s
        return ReaderHealth(
            t_s=t_s,
            connected=conn is not None and conn.confirmed,
            port=conn.port if conn is not None else None,
            protocol=conn.protocol if conn is not None else protocol,
            connections=self.connections,
            losses=self.losses,
            bytes_received=self.bytes,
            samples_received=self.samples,
            sample_rate_hz=self._last_rate,
            frames_lost=total("frames_lost"),
            checksum_errors=total("checksum_errors"),
            bad_frames=total("bad_frames"),
            sequence_gaps=total("sequence_gaps"),
            implausible=total("implausible"),
            discarded_bytes=total("discarded_bytes"),
            resyncs=total("resyncs"),
            byte_period_s=period,
            last_data_age_s=(now - conn.last_data_s) if conn is not None else None,
            reader_cpu_s=self.cpu_s,
            line_errors=self.line_errors,
        )

    def publish(self, health: ReaderHealth) -> None:
        with self._lock:
            self._latest = health

    def latest(self) -> ReaderHealth | None:
        with self._lock:
            return self._latest


class DeviceReader:
    """Reads one transducer on one port, in its own thread.

    Its parts: :class:`PortFinder` (where the device may be), the protocol decoders (bytes to
    device messages), the connection's confirmation (``_confirmed_items``: the device answered its
    protocol and is the expected one), :class:`StreamStitcher` (the one time base),
    :class:`LinkCounters` (health), and ``events.EventPath`` (the one way out). The reader itself
    owns the thread, the port, its reads and its writes.

    Parameters
    ----------
    port
        Device name, pty path, link, or pyserial URL.
    protocol
        ``"chronojump"``, ``"native"`` or ``"auto"`` (probe on connecting; kept for reconnects).
    on_event
        Called on the reader thread with every event (keep it short: hand work to another
        thread). Without it, events go to :attr:`events` (a ``queue.Queue``).
    candidates
        Other names the device may come back under: names, glob patterns, or a callable
        returning a list of names.
    inverted
        Encoder mounted upside down (positions negated).
    retry_interval_s, silence_timeout_s, connect_timeout_s, health_interval_s, read_timeout_s
        Reconnection pacing; silence that counts as a lost device; time a new connection has to
        answer its protocol; health report period; the port read timeout.
    baudrate
        None (default): try the native link rates in turn (115200, then 500000) until a device
        answers; a number: only that rate. (Ignored by ptys and emulators.)
    calibration
        Use the counts per metre stored by `vbt calibrate` for a native device's id.
    min_read_interval_s
        Reads are at least this far apart (bytes wait in the driver meanwhile): bounds the
        reader's wake-ups, and so its CPU, for devices that send every millisecond.
    """

    def __init__(self, port: str, protocol: str = "auto", *, on_event=None, candidates=(), inverted: bool = False,
                 baudrate: int | None = None, calibration: bool = True, retry_interval_s: float = 0.2,
                 silence_timeout_s: float = 2.0,
                 connect_timeout_s: float = 1.5, health_interval_s: float = 1.0, read_timeout_s: float = 0.05,
                 min_read_interval_s: float = 0.008, match_usb: bool = True, clock=time.monotonic):
        if protocol not in PROTOCOL_CHOICES:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOL_CHOICES)}, not {protocol!r}")
        self.port = port
        self.protocol = protocol
        self._path = EventPath(on_event)
        self._emit = self._path.emit
        self.events: queue.Queue = self._path.events  # without on_event, events come here
        self.ports = PortFinder(port, candidates, match_usb)
        self.inverted = inverted
        # None: the link rates native devices may use (115200 first); an unanswered connection
        # moves on to the next one. A number: that rate only.
        self._rates = tuple(nat.LINK_BAUDRATES) if baudrate is None else (int(baudrate),)
        self.baudrate = self._rates[0]
        self.calibration = calibration
        self.retry_interval_s = retry_interval_s
        self.silence_timeout_s = silence_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.health_interval_s = health_interval_s
        self.read_timeout_s = read_timeout_s
        self.min_read_interval_s = min_read_interval_s
        self._last_read_s = 0.0
        self.clock = clock
        self.origin_s: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._conn: _Connection | None = None
        self._stitcher: StreamStitcher | None = None
        self._cj_clock: cj.ByteClock | None = None  # the Chronojump unit's learned byte rate
        self._known_protocol = None if protocol == "auto" else protocol
        self._device_id: int | None = None
        self._last_unavailable: tuple | None = None
        self._ever_connected = False
        self.counters = LinkCounters()
        self._error: BaseException | None = None

    # -- public --------------------------------------------------------------------------------
    def start(self) -> "DeviceReader":
        if self._thread is not None:
            raise RuntimeError("reader already started")
        self.origin_s = self.clock()
        self._stitcher = StreamStitcher(self.origin_s)
        self.counters.start(self.origin_s)
        self._thread = threading.Thread(target=self._run, name=f"reader {self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, close the port, join. Safe to call twice."""
        self._stop.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.ser.cancel_read()
            except Exception:  # the port may be closing under us; the timeout wakes the thread anyway
                pass
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"reader thread for {self.port} did not stop")
            self._thread = None

    def __enter__(self) -> "DeviceReader":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        c = self._conn
        return c is not None and c.confirmed

    def stream_time(self, monotonic_s: float | None = None) -> float:
        """Stream time of a monotonic instant (now by default)."""
        now = self.clock() if monotonic_s is None else monotonic_s
        st = self._stitcher
        return st.stream_time(now) if st is not None else 0.0

    def write(self, data: bytes) -> bool:
        """Send bytes to the device (any thread). False when no port is open."""
        with self._write_lock:
            conn = self._conn
            if conn is None:
                return False
            try:
                conn.ser.write(data)
                return True
            except (serial.SerialException, OSError) as exc:
                _log.debug("write to %s failed: %s", conn.port, exc)
                return False

    def command(self, name: str, arg: int | None = None) -> int | None:
        """Send a native command ('ping', 'start', 'stop', 'set_rate', 'identify'); returns its sequence number."""
        with self._write_lock:
            conn = self._conn
            if conn is None or not isinstance(conn.decoder, nat.NativeDecoder):
                return None
            data = conn.decoder.command(name, arg)
            seq = conn.decoder.last_command_seq
            try:
                conn.ser.write(data)
            except (serial.SerialException, OSError):
                return None
            return seq

    def health(self) -> ReaderHealth:
        """The latest health figures (computed on the reader thread at each health tick)."""
        latest = self.counters.latest()
        return latest if latest is not None else self._make_health(self.clock())

    def _make_health(self, now: float) -> ReaderHealth:
        return self.counters.health(now, self.stream_time(now), self._conn, self._known_protocol,
                                    self.health_interval_s)

    # -- thread -----------------------------------------------------------------------------------
    def _run(self) -> None:
        next_health = self.clock() + self.health_interval_s
        try:
            while not self._stop.is_set():
                if self._conn is None:
                    if not self._connect():
                        self._stop.wait(self.retry_interval_s)
                else:
                    self._read_once()
                now = self.clock()
                if now >= next_health:
                    next_health = now + self.health_interval_s
                    self.counters.cpu_s = time.thread_time()
                    h = self._make_health(now)
                    self.counters.publish(h)
                    self._emit(HealthEvent(h, h.t_s))
        except BaseException as exc:
            self._error = exc
            _log.exception("reader thread for %s failed", self.port)
            self._emit(DeviceLost(self.port, f"reader failed: {exc}", self.stream_time()))
        finally:
            if self._conn is not None:
                self._close(self._conn)

    def _unavailable(self, port: str, kind: str, reason: str) -> None:
        key = (port, kind, reason)
        if key != self._last_unavailable:
            self._last_unavailable = key
            self._emit(DeviceUnavailable(port, kind, reason, self.stream_time()))

    def _connect(self) -> bool:
        for port in self.ports.ports():
            if self._stop.is_set():
                return False
            try:
                ser = discovery.open_port(port, baudrate=self.baudrate, timeout=self.read_timeout_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                kind, msg = discovery.classify_open_error(port, exc)
                if port == self.port:
                    self._unavailable(port, kind, msg)
                continue
            protocol = self._known_protocol
            if protocol is None:
                try:
                    res = discovery.identify(ser, timeout_s=self.connect_timeout_s, clock=self.clock)
                except (serial.SerialException, OSError) as exc:
                    ser.close()
                    self._unavailable(port, "error", f"{port} failed while probing: {exc}")
                    continue
                if res.protocol is None:
                    ser.close()
                    self._next_rate()
                    self._unavailable(port, "wrong_device" if res.bytes_seen else "no_answer",
                                      f"{port}: {res.detail}")
                    continue
                protocol = res.protocol
            self._begin(ser, port, protocol)
            return True
        return False

    def _begin(self, ser, port: str, protocol: str) -> None:
        now = self.clock()
        if protocol == "chronojump":
            if self._cj_clock is None:
                self._cj_clock = cj.ByteClock()
            else:
                self._cj_clock = _continue_clock(self._cj_clock)
            decoder = cj.ChronojumpDecoder(inverted=self.inverted, clock=self._cj_clock)
        else:
            from firmware_bridge import calibration

            decoder = nat.NativeDecoder(inverted=self.inverted,
                                        counts_per_m_for=calibration.counts_per_m_for if self.calibration else None)
        conn = _Connection(ser, port, protocol, decoder, now, next_probe_s=now, last_data_s=now, held=[])
        conn.usb = self.ports.usb_identity(port)
        with self._write_lock:
            self._conn = conn
        self._stitcher.new_connection()
        self._probe(conn, now)

    def _probe(self, conn: _Connection, now: float) -> None:
        conn.next_probe_s = now + 0.3
        data = conn.decoder.handshake()
        with self._write_lock:
            try:
                conn.ser.write(data)
            except (serial.SerialException, OSError) as exc:
                _log.debug("handshake write on %s failed: %s", conn.port, exc)

    def _read_once(self) -> None:
        conn = self._conn
        # Pace reads: a device that sends every millisecond would otherwise cost a wake-up per
        # byte. The wait bounds the added latency to min_read_interval_s.
        wait = self._last_read_s + self.min_read_interval_s - self.clock()
        if wait > 0 and self._stop.wait(wait):
            return
        try:
            data = conn.ser.read(1)
            if data:
                waiting = conn.ser.in_waiting
                if waiting:
                    data += conn.ser.read(waiting)
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial's fd vanished under a concurrent close
            if self._stop.is_set():
                return
            self._lost(conn, f"read failed: {exc}")
            return
        now = self.clock()
        self._last_read_s = now
        if data:
            conn.last_data_s = now
            self.counters.bytes += len(data)
            self._handle(conn, conn.decoder.feed(data, now), now)
            self._report_line_errors(conn, now)
        if self._conn is not conn:
            return
        if not conn.confirmed:
            if now - conn.opened_s > self.connect_timeout_s:
                self._close(conn)
                self._next_rate()
                self._unavailable(conn.port, "no_answer",
                                  f"{conn.port}: no {conn.protocol} transducer answered within {self.connect_timeout_s:g} s")  # noqa: E501
            elif now >= conn.next_probe_s:
                self._probe(conn, now)
        elif now - conn.last_data_s > self.silence_timeout_s:
            self._lost(conn, f"no data for {self.silence_timeout_s:g} s")

    def _handle(self, conn: _Connection, items: list, now: float) -> None:
        """Decoded items of one read: held until the device is confirmed, then reported on stream time."""
        if not conn.confirmed:
            items = self._confirmed_items(conn, items, now)
            if items is None:
                return
        received = self._stitcher.stream_time(now)
        for item in items:
            if isinstance(item, DeviceIdentity):
                conn.identity = item
                continue
            if isinstance(item, Heartbeat) and item.streaming:
                continue  # samples already say the device is alive
            event = self._stitcher.retime(item, received)
            if event is not None:
                if isinstance(event, Samples):
                    self.counters.samples += len(event)
                self._emit(event)

    def _confirmed_items(self, conn: _Connection, items: list, now: float) -> list | None:
        """Confirmation: the device answered its protocol (HELLO of a supported version and, on another
        port than the own, the same device id; a Chronojump probe echo, or a plausible stream) and
        is taken as connected: the items held so far, then these. None: not (yet) confirmed, or
        refused and closed."""
        for item in items:
            if isinstance(item, DeviceIdentity):
                if not item.supported:
                    self._close(conn)
                    self._unavailable(conn.port, "wrong_device",
                                      f"{conn.port}: device speaks native protocol version {item.protocol_version}, "  # noqa: E501
                                      f"this software speaks {nat.PROTOCOL_VERSION}")
                    return None
                if conn.port != self.port and self._device_id is not None and item.device_id != self._device_id:
                    self._close(conn)
                    self._unavailable(conn.port, "wrong_device",
                                      f"{conn.port}: another device ({item.device_id:08X}) answered, "
                                      f"expected {self._device_id:08X}")
                    return None
                conn.identity = item
                self._confirm(conn, now)
                break
            if isinstance(item, ProbeEcho):
                self._confirm(conn, now)
                break
        else:
            if conn.protocol == "chronojump":
                st = conn.decoder.stats
                if st.samples >= 100 and st.implausible <= 0.02 * st.samples:
                    self._confirm(conn, now)  # a unit that streams plausibly but missed the probe
        if not conn.confirmed:
            conn.held.extend(items)
            return None
        items = conn.held + items
        conn.held = None
        return items

    def _next_rate(self) -> None:
        """After an unanswered connection: the next link rate, if several are allowed."""
        if len(self._rates) > 1:
            self.baudrate = self._rates[(self._rates.index(self.baudrate) + 1) % len(self._rates)]

    def _confirm(self, conn: _Connection, now: float) -> None:
        conn.confirmed = True
        self.counters.connections += 1
        self._known_protocol = conn.protocol
        self._last_unavailable = None
        if conn.identity is not None:
            self._device_id = conn.identity.device_id
        self.ports.remember(conn.port, conn.usb)
        device = {"protocol": conn.protocol, "port": conn.port}
        if conn.identity is not None:
            ident = conn.identity
            device.update(device_id=f"{ident.device_id:08X}", firmware_version=ident.firmware_version,
                          counts_per_m=ident.effective_counts_per_m, firmware_counts_per_m=ident.counts_per_m,
                          calibrated=ident.calibrated_counts_per_m is not None, reversed_wiring=ident.reversed_wiring,
                          sample_period_us=ident.sample_period_us, baudrate=self.baudrate)
        else:
            device.update(counts_per_m=cj.COUNTS_PER_M)
        if conn.usb is not None:
            device["usb"] = {"usb_id": conn.usb.usb_id, "serial_number": conn.usb.serial_number,
                             "description": conn.usb.description}
        reconnect = self._ever_connected
        self._ever_connected = True
        self._emit(DeviceConnected(conn.port, conn.protocol, device, reconnect, self._stitcher.stream_time(now)))

    def _close(self, conn: _Connection) -> None:
        with self._write_lock:
            if self._conn is conn:
                self._conn = None
        try:
            conn.ser.close()
        except Exception:  # closing a vanished device can fail; the fd is released either way
            pass
        self.counters.closed(conn.decoder.stats)

    def _lost(self, conn: _Connection, reason: str) -> None:
        was_confirmed = conn.confirmed
        self._close(conn)
        if was_confirmed:
            self.counters.losses += 1
            self._emit(DeviceLost(conn.port, reason, self.stream_time()))
        else:
            self._unavailable(conn.port, "error", f"{conn.port}: {reason}")

    def _report_line_errors(self, conn: _Connection, now: float) -> None:
        """One event per read that brought refused bytes or frames."""
        new = self.counters.new_line_errors(conn)
        if new is not None:
            self._emit(LineErrors(new[0], self.counters.line_errors, self._stitcher.stream_time(now), new[1]))


def _continue_clock(old: cj.ByteClock) -> cj.ByteClock:
    """A fresh byte clock for a new connection of the same unit, starting from its learned rate."""
    period = old.period_s if old.established else old.prior_period_s
    period = min(old.max_period_s, max(old.min_period_s, period))
    return cj.ByteClock(period, min_period_s=old.min_period_s, max_period_s=old.max_period_s)
