"""The native VBT transducer protocol, version 1, sans-IO. Specification: ``PROTOCOL.md``.

Frames are COBS-encoded and end with a 0x00 delimiter. Decoded, a frame is
``type (u8) | seq (u16) | body | CRC-32 (u32)``, little-endian, the CRC (IEEE 802.3, as
``zlib.crc32``) over type, seq and body.

Pure functions: :func:`cobs_encode`, :func:`cobs_decode`, :func:`encode_frame`,
:func:`decode_frame` (raise :class:`ProtocolError` and nothing else). Streaming objects:
:class:`NativeDecoder` (host side: device frames in, samples and events out, never raises) and
:class:`CommandDecoder` (device side, used by the emulator: host commands in).
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass, replace
from itertools import accumulate

import numpy as np

from firmware_bridge.protocol import (
    Ack,
    Button,
    DecoderStats,
    DeviceIdentity,
    Heartbeat,
    ProtocolError,
    Samples,
    evolve,
)

_log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
DELIMITER = b"\x00"
MAX_FRAME_BYTES = 255  # encoded, delimiter excluded
MAX_SAMPLES_PER_FRAME = 64
BAUDRATE = 115200
# Link rates a native device may use (PROTOCOL.md §1); hosts try them in this order.
LINK_BAUDRATES = (115200, 500000)
U32 = 1 << 32

# Device -> host frame types.
HELLO = 0x01
SAMPLES = 0x02
HEARTBEAT = 0x03
BUTTON = 0x04
ACK = 0x05
# Host -> device commands.
CMD_PING = 0x81
CMD_START = 0x82
CMD_STOP = 0x83
CMD_SET_RATE = 0x84
CMD_IDENTIFY = 0x85
COMMAND_NAMES = {
    CMD_PING: "ping",
    CMD_START: "start",
    CMD_STOP: "stop",
    CMD_SET_RATE: "set_rate",
    CMD_IDENTIFY: "identify",
}
COMMANDS_BY_NAME = {v: k for k, v in COMMAND_NAMES.items()}
# ACK status codes.
ACK_OK = 0
ACK_UNKNOWN_COMMAND = 1
ACK_BAD_ARGUMENT = 2
ACK_BAD_LENGTH = 3
MIN_PERIOD_US = 100
MAX_PERIOD_US = 65535

_HEADER = struct.Struct("<BH")
_CRC = struct.Struct("<I")
_HELLO = struct.Struct("<BBBBIIIIB")
_SAMPLES = struct.Struct("<IiHB")
_HEARTBEAT = struct.Struct("<IiBH")
_BUTTON = struct.Struct("<IB")
_ACK = struct.Struct("<BHBI")
_U32 = struct.Struct("<I")


class FrameError(ProtocolError):
    """A ProtocolError that says which check failed: ``kind`` is 'framing', 'checksum' or 'layout'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# ---- COBS ---------------------------------------------------------------------------------


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result contains no 0x00 (delimiter not added)."""
    out = bytearray()
    for part in bytes(data).split(b"\x00"):
        # A zero-free run longer than 254 bytes is split into 0xFF blocks (no implied zero).
        while len(part) >= 254:
            out.append(0xFF)
            out += part[:254]
            part = part[254:]
        out.append(len(part) + 1)
        out += part
    # Every group but the last implies a zero after it; the decoder drops the last one.
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raises FrameError('framing') on anything malformed."""
    data = bytes(data)
    n = len(data)
    if n == 0:
        raise FrameError("framing", "empty COBS block")
    out = bytearray()
    i = 0
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("framing", "zero byte inside a COBS frame")
        end = i + code
        if end > n:
            raise FrameError("framing", "COBS block runs past the end of the frame")
        block = data[i + 1 : end]
        if 0 in block:
            raise FrameError("framing", "zero byte inside a COBS frame")
        out += block
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


# ---- frames -------------------------------------------------------------------------------


# Device frames are the device messages themselves (``protocol.DeviceIdentity`` for HELLO,
# ``Samples``, ``Heartbeat``, ``Button``, ``Ack``): decoded with their wire fields (``seq``,
# device clock, counts) and no host time; ``NativeDecoder`` gives them their host time.
_FRAME_TYPES = {DeviceIdentity: HELLO, Samples: SAMPLES, Heartbeat: HEARTBEAT, Button: BUTTON, Ack: ACK}


def frame_type(frame) -> int:
    """The wire type code of a frame object (a command's code for a host command)."""
    return frame.command if isinstance(frame, Command) else _FRAME_TYPES[type(frame)]


def samples_frame(seq: int, t_first_us: int, counts, period_us: int) -> Samples:
    """A SAMPLES frame: ``counts`` (absolute) from device time ``t_first_us``, one per ``period_us``."""
    return Samples(seq=seq, clock_us=t_first_us, period_us=period_us, counts=tuple(int(c) for c in counts))


def hello_frame(seq: int, protocol_version: int, firmware_version, device_id: int, counts_per_m: int,
                sample_period_us: int, boot_id: int, streaming: bool) -> DeviceIdentity:
    """A HELLO frame; ``firmware_version`` as "1.2.3" or (1, 2, 3)."""
    if not isinstance(firmware_version, str):
        firmware_version = "%d.%d.%d" % tuple(firmware_version)
    return DeviceIdentity(protocol_version, firmware_version, device_id, counts_per_m, sample_period_us, boot_id,
                          streaming, supported=protocol_version == PROTOCOL_VERSION and counts_per_m > 0, seq=seq)


@dataclass(frozen=True)
class Command:
    """A host command: ``command`` is one of the CMD_* codes; ``arg`` its u32 argument if it has one."""

    seq: int
    command: int
    arg: int | None = None


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ProtocolError(message)


def _body(frame, t: int) -> bytes:
    if t == HELLO:
        try:
            major, minor, patch = (int(v) for v in frame.firmware_version.split("."))
        except ValueError:
            raise ProtocolError(f"firmware version {frame.firmware_version!r} is not major.minor.patch") from None
        return _HELLO.pack(
            frame.protocol_version, major, minor, patch, frame.device_id, frame.counts_per_m,
            frame.sample_period_us, frame.boot_id, 1 if frame.streaming else 0,
        )
    if t == SAMPLES:
        c = frame.counts
        n = len(c)
        _check(1 <= n <= MAX_SAMPLES_PER_FRAME, f"a SAMPLES frame carries 1–{MAX_SAMPLES_PER_FRAME} samples")
        _check(MIN_PERIOD_US <= frame.period_us <= MAX_PERIOD_US, "sample period out of range")
        head = _SAMPLES.pack(frame.clock_us % U32, c[0], frame.period_us, n)
        return head + struct.pack(f"<{n - 1}h", *(b - a for a, b in zip(c, c[1:])))
    if t == HEARTBEAT:
        return _HEARTBEAT.pack(frame.t_us % U32, frame.count, 1 if frame.streaming else 0,
                               min(frame.dropped_samples, 0xFFFF))
    if t == BUTTON:
        return _BUTTON.pack(frame.t_us % U32, 1 if frame.pressed else 0)
    if t == ACK:
        return _ACK.pack(frame.command, frame.command_seq, frame.status, frame.value % U32)
    if t in COMMAND_NAMES:
        if t in (CMD_PING, CMD_SET_RATE):
            _check(frame.arg is not None, f"{COMMAND_NAMES[t]} needs an argument")
            return _U32.pack(frame.arg % U32)
        return b""
    raise ProtocolError(f"unknown frame type 0x{t:02x}")


def encode_payload(frame) -> bytes:
    """The decoded form of a frame: header, body and CRC."""
    t = frame_type(frame)
    try:
        raw = _HEADER.pack(t, frame.seq & 0xFFFF) + _body(frame, t)
    except struct.error as exc:
        raise ProtocolError(f"field out of range: {exc}") from None
    return raw + _CRC.pack(zlib.crc32(raw))


def encode_frame(frame) -> bytes:
    """A frame as sent on the wire: COBS-encoded payload followed by the 0x00 delimiter."""
    return cobs_encode(encode_payload(frame)) + DELIMITER


_BODY_SIZES = {
    HELLO: _HELLO.size,
    HEARTBEAT: _HEARTBEAT.size,
    BUTTON: _BUTTON.size,
    ACK: _ACK.size,
    CMD_PING: 4,
    CMD_START: 0,
    CMD_STOP: 0,
    CMD_SET_RATE: 4,
    CMD_IDENTIFY: 0,
}


def decode_payload(raw: bytes):
    """Parse a decoded payload (header, body, CRC) into a frame object."""
    if len(raw) < _HEADER.size + _CRC.size:
        raise FrameError("layout", "frame too short")
    (crc,) = _CRC.unpack_from(raw, len(raw) - 4)
    if zlib.crc32(raw[:-4]) != crc:
        raise FrameError("checksum", "CRC mismatch")
    ftype, seq = _HEADER.unpack_from(raw, 0)
    body = raw[_HEADER.size : -4]
    if ftype == SAMPLES:
        if len(body) < _SAMPLES.size:
            raise FrameError("layout", "SAMPLES frame too short")
        t_us, count, period, n = _SAMPLES.unpack_from(body, 0)
        if not (1 <= n <= MAX_SAMPLES_PER_FRAME) or len(body) != _SAMPLES.size + 2 * (n - 1):
            raise FrameError("layout", "SAMPLES frame length does not match its sample count")
        if period < MIN_PERIOD_US:
            raise FrameError("layout", "SAMPLES frame with an impossible sample period")
        deltas = struct.unpack_from(f"<{n - 1}h", body, _SAMPLES.size)
        return Samples(seq=seq, clock_us=t_us, period_us=period, counts=tuple(accumulate(deltas, initial=count)))
    size = _BODY_SIZES.get(ftype)
    if size is None:
        raise FrameError("layout", f"unknown frame type 0x{ftype:02x}")
    if len(body) != size:
        raise FrameError("layout", f"frame type 0x{ftype:02x} has a body of {len(body)} bytes, expected {size}")
    if ftype == HELLO:
        pv, ma, mi, pa, dev, cpm, per, boot, flags = _HELLO.unpack(body)
        return hello_frame(seq, pv, (ma, mi, pa), dev, cpm, per, boot, bool(flags & 1))
    if ftype == HEARTBEAT:
        t_us, count, flags, dropped = _HEARTBEAT.unpack(body)
        return Heartbeat(bool(flags & 1), dropped_samples=dropped, seq=seq, t_us=t_us, count=count)
    if ftype == BUTTON:
        t_us, pressed = _BUTTON.unpack(body)
        return Button(bool(pressed), seq=seq, t_us=t_us)
    if ftype == ACK:
        cmd, cseq, status, value = _ACK.unpack(body)
        return Ack(cmd, cseq, status, value, seq=seq)
    arg = _U32.unpack(body)[0] if size == 4 else None
    return Command(seq, ftype, arg)


def decode_frame(encoded: bytes):
    """One wire frame (COBS bytes, with or without its trailing delimiter) to a frame object."""
    encoded = bytes(encoded)
    if encoded.endswith(DELIMITER):
        encoded = encoded[:-1]
    if len(encoded) > MAX_FRAME_BYTES:
        raise FrameError("framing", "frame longer than the protocol allows")
    return decode_payload(cobs_decode(encoded))


def command_frame(name_or_code, seq: int, arg: int | None = None) -> bytes:
    """Encode a host command by name ('ping', 'start', 'stop', 'set_rate', 'identify') or code."""
    code = COMMANDS_BY_NAME.get(name_or_code, name_or_code)
    if code not in COMMAND_NAMES:
        raise ProtocolError(f"unknown command {name_or_code!r}")
    if code == CMD_SET_RATE and arg is not None and not (MIN_PERIOD_US <= arg <= MAX_PERIOD_US):
        raise ProtocolError(f"sample period {arg} µs is outside {MIN_PERIOD_US}–{MAX_PERIOD_US} µs")
    return encode_frame(Command(seq, code, arg))


# ---- streaming --------------------------------------------------------------------------------


class FrameSplitter:
    """Split a byte stream on 0x00 and decode each frame; errors are counted, never raised.

    A run longer than ``MAX_FRAME_BYTES`` without a delimiter is dropped up to the next
    delimiter, so garbage without zeros cannot make the buffer grow.
    """

    def __init__(self, stats: DecoderStats):
        self.stats = stats
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list:
        frames = []
        if not data:
            return frames
        self._buf += data
        if 0 not in data:  # the buffer held no delimiter before, so none is complete
            self._trim()
            return frames
        parts = bytes(self._buf).split(DELIMITER)
        self._buf = bytearray(parts.pop())
        for part in parts:
            if self._overflow:
                self._overflow = False
                self.stats.discarded_bytes += len(part) + 1
                continue
            if not part:
                continue  # extra delimiters are allowed
            try:
                frames.append(decode_frame(part))
            except FrameError as exc:
                if exc.kind == "checksum":
                    self.stats.checksum_errors += 1
                else:
                    self.stats.bad_frames += 1
            except ProtocolError:
                self.stats.bad_frames += 1
        self._trim()
        return frames

    def _trim(self) -> None:
        if len(self._buf) > MAX_FRAME_BYTES:
            if not self._overflow:
                self.stats.bad_frames += 1
            self.stats.discarded_bytes += len(self._buf)
            self._buf.clear()
            self._overflow = True


class NativeDecoder:
    """Bytes of one native-protocol connection in, samples and device events out.

    Checks, each failure counted in ``stats`` and the frame dropped: framing and length
    (``bad_frames``), CRC-32 (``checksum_errors``), sequence numbers (``frames_lost``,
    ``sequence_gaps``, ``duplicates``), and physical plausibility (``implausible``): a
    sample frame must move forward in device time and its absolute count may not jump more
    than ``max_speed_m_s`` allows since the last accepted reading, nor its device time run ahead of
    the last accepted one by more than the frames between them can span (``max_frame_span_s`` per
    sequence number: a valid frame stamped far in the future is refused, not believed).
    If ``reanchor_after``
    consecutive frames agree with each other but not with the reference, the decoder accepts
    them as the new reference and marks that batch ``rebased`` (the receiver then continues
    from its last position: no jump, no phantom rep).

    Device microseconds (u32, wrapping every 71.6 min) are unwrapped and mapped to host time
    with one offset per connection, set by the first time-bearing frame: sample spacing is the
    device's own clock.
    """

    name = "native"

    def __init__(
        self,
        *,
        inverted: bool = False,
        counts_per_m_for=None,
        max_speed_m_s: float = 10.0,
        position_slack_m: float = 0.005,
        reanchor_after: int = 3,
        max_frame_span_s: float = 1.0,
    ):
        self.inverted = inverted
        self.max_frame_span_s = max_frame_span_s
        self._seq_step = 1
        self.max_speed_m_s = max_speed_m_s
        self.position_slack_m = position_slack_m
        self.reanchor_after = reanchor_after
        # device_id -> counts per metre measured on the host (`vbt calibrate`; negative: wired the
        # other way round), or None
        self.counts_per_m_for = counts_per_m_for
        self.stats = DecoderStats()
        self.stats.extra.update(samples_before_hello=0, acks=0, heartbeats=0)
        self.identity: DeviceIdentity | None = None
        self._splitter = FrameSplitter(self.stats)
        self._cmd_seq = 0
        self._reset_session()

    def _reset_session(self) -> None:
        self._last_seq: int | None = None
        self._raw_last: int | None = None  # last accepted device time, raw u32
        self._us_last = 0  # its unwrapped value
        self._ref_count: int | None = None
        self._last_sample_us: int | None = None
        self._offset_s: float | None = None
        self._last_t: float | None = None  # last emitted sample time (host seconds)
        self._candidate = None  # (unwrapped_us_end, count_end, chain length)

    @property
    def pending_bytes(self) -> int:
        """Bytes of a frame still waiting for its delimiter (not an error yet)."""
        return len(self._splitter._buf)

    # -- host commands --------------------------------------------------------------------
    def command(self, name_or_code, arg: int | None = None) -> bytes:
        """Bytes of a host command with the next command sequence number."""
        self._cmd_seq = (self._cmd_seq + 1) & 0xFFFF
        return command_frame(name_or_code, self._cmd_seq, arg)

    @property
    def last_command_seq(self) -> int:
        return self._cmd_seq

    def handshake(self) -> bytes:
        """Bytes the host sends on connecting: a delimiter to flush noise, IDENTIFY, START."""
        return DELIMITER + self.command(CMD_IDENTIFY) + self.command(CMD_START)

    # -- decoding -------------------------------------------------------------------------
    def feed(self, data: bytes, t_host_s: float | None = None) -> list:
        out: list = []
        if not data:
            return out
        self.stats.bytes += len(data)
        for frame in self._splitter.feed(data):
            try:
                self._handle(frame, t_host_s, out)
            except Exception:  # a bug here must not kill the reader; counted, logged, tested to stay 0
                self.stats.extra["internal_errors"] = self.stats.extra.get("internal_errors", 0) + 1
                _log.exception("native decoder failed on a frame that passed its CRC")
        return out

    def _sequence_ok(self, seq: int) -> bool:
        if self._last_seq is None:
            self._last_seq = seq
            return True
        diff = (seq - self._last_seq) & 0xFFFF
        if diff == 0:
            self.stats.duplicates += 1
            return False
        self._seq_step = diff if diff <= 1024 else 1
        if diff <= 1024:
            if diff > 1:
                self.stats.frames_lost += diff - 1
                self.stats.sequence_gaps += 1
        else:
            self.stats.sequence_gaps += 1
            self.stats.extra["sequence_resets"] = self.stats.extra.get("sequence_resets", 0) + 1
        self._last_seq = seq
        return True

    def _unwrap(self, raw: int) -> int:
        if self._raw_last is None:
            return raw
        delta = (raw - self._raw_last) % U32
        if delta >= U32 // 2:
            delta -= U32
        return self._us_last + delta

    def _host_time(self, us: int, t_host_s: float | None) -> float:
        if self._offset_s is None:
            self._offset_s = (t_host_s - us * 1e-6) if t_host_s is not None else 0.0
        return self._offset_s + us * 1e-6

    def _plausible(self, us: int, count: int, ref_us: int | None, ref_count: int | None) -> bool:
        if ref_us is None or self.identity is None:
            return True
        dt_s = abs(us - ref_us) * 1e-6
        if dt_s > 2000.0:
            return False
        allowed = (self.max_speed_m_s * dt_s + self.position_slack_m) * self.identity.effective_counts_per_m
        return abs(count - ref_count) <= allowed

    def _time_plausible(self, us: int) -> bool:
        """Device time may not run ahead of the last accepted reading by more than the frames sent
        since (by sequence number) can span."""
        refs = [r for r in (self._last_sample_us, self._us_last if self._raw_last is not None else None)
                if r is not None]
        if not refs:
            return True
        return (us - max(refs)) * 1e-6 <= self._seq_step * self.max_frame_span_s + 0.1

    def _handle(self, frame, t_host_s, out) -> None:
        if isinstance(frame, Command):
            self.stats.unknown_frames += 1  # a host command echoed back: not ours to act on
            return
        if isinstance(frame, DeviceIdentity):
            self._on_hello(frame, out)
            return
        if not self._sequence_ok(frame.seq):
            return
        if isinstance(frame, Ack):
            self.stats.extra["acks"] += 1
            t = self._host_time(self._us_last, t_host_s) if self._raw_last is not None else (t_host_s or 0.0)
            out.append(evolve(frame, t_s=t))
            return
        if isinstance(frame, Samples):
            self._on_samples(frame, t_host_s, out)
            return
        if isinstance(frame, Heartbeat):
            self.stats.extra["heartbeats"] += 1
            us = self._unwrap(frame.t_us)
            if self._plausible(us, frame.count, self._us_last if self._raw_last is not None else None, self._ref_count):
                if self._raw_last is None or us >= self._us_last:
                    self._raw_last, self._us_last = frame.t_us, us
                self._ref_count = frame.count
                out.append(evolve(frame, t_s=self._host_time(us, t_host_s)))
            else:
                self.stats.implausible += 1
            return
        if isinstance(frame, Button):
            us = self._unwrap(frame.t_us)
            out.append(evolve(frame, t_s=self._host_time(us, t_host_s)))
            return

    def _on_hello(self, ident: DeviceIdentity, out) -> None:
        calibrated = self.counts_per_m_for(ident.device_id) if self.counts_per_m_for is not None else None
        if calibrated:
            ident = replace(ident, calibrated_counts_per_m=abs(float(calibrated)), reversed_wiring=calibrated < 0)
        known = self.identity
        if known is None or (ident.device_id, ident.boot_id) != (known.device_id, known.boot_id):
            self._reset_session()  # a new device or a reboot: sequence, clock and count restart
        self._last_seq = ident.seq
        self.identity = ident
        out.append(ident)

    def _on_samples(self, frame: Samples, t_host_s, out) -> None:
        n = len(frame.counts)
        if self.identity is None or not self.identity.supported:
            self.stats.extra["samples_before_hello"] += n
            return
        cpm = self.identity.effective_counts_per_m
        per_sample = self.max_speed_m_s * frame.period_us * 1e-6 * cpm + 2
        c = frame.counts
        if n > 1 and max(abs(b - a) for a, b in zip(c, c[1:])) > per_sample:
            self.stats.implausible += 1
            return
        counts = np.asarray(c, dtype=np.int64)
        count_first = c[0]
        us_first = self._unwrap(frame.clock_us)
        us_end = us_first + frame.period_us * (n - 1)
        ok_time = (self._last_sample_us is None or us_first > self._last_sample_us) and self._time_plausible(us_first)
        ref_us = self._us_last if self._raw_last is not None else None
        if ok_time and self._plausible(us_first, count_first, ref_us, self._ref_count):
            self._candidate = None
            self._emit(frame, us_first, us_end, counts, t_host_s, out, rebased=False)
            return
        cand = self._candidate
        if cand is not None and us_first > cand[0] and self._plausible(us_first, count_first, cand[0], cand[1]):
            chain = cand[2] + 1
        else:
            chain = 1
        if chain >= self.reanchor_after:
            self.stats.resyncs += 1
            self._candidate = None
            self._emit(frame, us_first, us_end, counts, t_host_s, out, rebased=True)
            return
        self.stats.implausible += 1
        self._candidate = (us_end, int(counts[-1]), chain)

    def _emit(self, frame: Samples, us_first, us_end, counts, t_host_s, out, rebased) -> None:
        n = counts.size
        us = us_first + frame.period_us * np.arange(n, dtype=np.int64)
        if rebased:
            # The device clock may have restarted: map it afresh, never backwards.
            self._offset_s = None
            t0 = self._host_time(us_first, t_host_s)
            if self._last_t is not None and t0 <= self._last_t:
                self._offset_s += self._last_t + frame.period_us * 1e-6 - t0
        t0 = self._host_time(us_first, t_host_s)
        t = t0 + (us - us_first) * 1e-6
        pos = counts.astype(np.float64) / self.identity.effective_counts_per_m
        if self.inverted != self.identity.reversed_wiring:  # mounted upside down, or wired so: not both
            pos = -pos
        self._raw_last = (frame.clock_us + frame.period_us * (n - 1)) % U32
        self._us_last = us_end
        self._last_sample_us = us_end
        self._ref_count = int(counts[-1])
        self._last_t = float(t[-1])
        self.stats.samples += n
        out.append(evolve(frame, t_s=t, position_m=pos, absolute=True,
                          session=(self.identity.device_id, self.identity.boot_id), rebased=rebased,
                          clock_us=frame.clock_us % U32))


class CommandDecoder:
    """Device side: host bytes in, :class:`Command` frames out (the emulator's parser)."""

    def __init__(self):
        self.stats = DecoderStats()
        self._splitter = FrameSplitter(self.stats)

    def feed(self, data: bytes) -> list:
        self.stats.bytes += len(data)
        cmds = []
        for frame in self._splitter.feed(data):
            if isinstance(frame, Command):
                cmds.append(frame)
            else:
                self.stats.unknown_frames += 1
        return cmds


def samples_frames(seq0: int, t_first_us: int, counts, period_us: int, per_frame: int):
    """Split a run of absolute counts into SAMPLES frames (for devices and emulators)."""
    counts = np.asarray(counts, dtype=np.int64)
    frames = []
    seq = seq0
    for start in range(0, counts.size, per_frame):
        c = counts[start : start + per_frame]
        frames.append(samples_frame(seq & 0xFFFF, (t_first_us + start * period_us) % U32, c, period_us))
        seq += 1
    return frames
