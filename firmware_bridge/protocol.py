"""What every sans-IO protocol object shares: its one error type and the things it decodes.

A protocol object turns the bytes of one connection into decoded items and never touches a
port. ``feed(data, t_host_s)`` takes the bytes of one read and the host's monotonic time at
which that read returned; it never raises on anything a device (or line noise) can send:
bad input is counted in ``stats`` and dropped. ``ProtocolError`` is raised only by the
strict single-frame functions (``native.decode_frame``, ``native.cobs_decode``, encoders
given impossible arguments), never out of ``feed``.

Times in decoded items are host monotonic seconds (estimated send times); positions are in
metres, up positive. The reader re-times the same objects onto stream time and reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np


class ProtocolError(ValueError):
    """Bytes that are not a valid frame, or arguments no frame can carry."""


# ---- the device messages: one class each, from the wire to the reader's events ---------------
#
# A decoder emits these with ``t_s`` in host monotonic seconds; the reader's ``StreamStitcher``
# re-times each one onto stream time (``dataclasses.replace``) and reports the same object type.
# Fields after ``t_s`` that only the native wire format carries (``seq``, device clock ``t_us``,
# counts) default to empty for protocols that have no such thing (Chronojump).


def evolve(message, **changes):
    """``message`` with ``changes``: ``dataclasses.replace`` for the hot path (every sample batch is
    re-timed twice, by its decoder and by the reader's stitcher), without re-running ``__init__``.
    Only for these messages, which check nothing on construction."""
    new = object.__new__(type(message))
    new.__dict__.update(message.__dict__, **changes)
    return new


@dataclass(frozen=True)
class Samples:
    """Consecutive position samples of one connection (native: one SAMPLES frame).

    Attributes
    ----------
    t_s
        Time of each sample, strictly increasing: host monotonic from a decoder, stream time
        from the reader. ``None`` in a wire frame not yet decoded.
    position_m
        Bar position in metres. For a relative protocol (Chronojump) it starts at 0 on each
        connection; for an absolute one (native) it is ``count / counts_per_m``; from the reader,
        continuous across connections.
    absolute
        Positions are an absolute encoder reading: a later batch of the same ``session`` can
        be placed exactly, whatever was lost in between.
    session
        Identifies one power-on of one device (native: device id and boot id); ``None`` when
        the protocol cannot tell.
    rebased
        The decoder lost its position reference (implausible jump it had to accept); the
        receiver must re-anchor this batch to its last position instead of jumping.
    clock_us
        The device clock (raw u32 microseconds) at the first sample, when the device has one: a
        later connection of the same ``session`` can then be placed exactly in time too.
    received_s
        Stream time at which the read carrying them returned (set by the reader).
    seq, period_us, counts
        The native SAMPLES frame: sequence number, sample period and the absolute counts.
    """

    t_s: np.ndarray | None = field(default=None, compare=False)
    position_m: np.ndarray | None = field(default=None, compare=False)
    absolute: bool = False
    session: tuple | None = None
    rebased: bool = False
    clock_us: int | None = None
    received_s: float | None = None
    seq: int = 0
    period_us: int = 0
    counts: tuple[int, ...] = ()
    type: ClassVar[str] = "samples"

    def __len__(self) -> int:
        return int(self.t_s.size) if self.t_s is not None else len(self.counts)


@dataclass(frozen=True)
class Button:
    """The device's push button was pressed (``pressed=True``) or released."""

    pressed: bool
    t_s: float | None = None
    seq: int = 0
    t_us: int = 0  # device clock, raw u32 (native)
    type: ClassVar[str] = "button"


@dataclass(frozen=True)
class Heartbeat:
    """The device is alive: its streaming state, clock and count (native)."""

    streaming: bool
    t_s: float | None = None
    dropped_samples: int = 0
    seq: int = 0
    t_us: int = 0
    count: int = 0
    type: ClassVar[str] = "heartbeat"


@dataclass(frozen=True)
class Ack:
    """The device acknowledged (or refused) a host command (native)."""

    command: int
    command_seq: int
    status: int
    value: int
    t_s: float | None = None
    seq: int = 0
    type: ClassVar[str] = "ack"

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class ProbeEcho:
    """The device answered an identification probe (Chronojump's 'J')."""

    t_s: float
    type: ClassVar[str] = "probe_echo"


@dataclass(frozen=True)
class DeviceIdentity:
    """What a device says about itself (native HELLO frame)."""

    protocol_version: int
    firmware_version: str  # "major.minor.patch"
    device_id: int
    counts_per_m: int
    sample_period_us: int
    boot_id: int
    streaming: bool
    supported: bool = True
    calibrated_counts_per_m: float | None = None  # measured on the host by `vbt calibrate`
    reversed_wiring: bool = False  # `vbt calibrate` saw the count fall as the cable came out
    seq: int = 0
    type: ClassVar[str] = "identity"

    @property
    def effective_counts_per_m(self) -> float:
        """The counts per metre positions are computed with: the host's calibration, else HELLO's."""
        return self.calibrated_counts_per_m or self.counts_per_m

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "seq"}


@dataclass
class DecoderStats:
    """Counters a decoder keeps; all only ever grow.

    ``bytes`` every byte fed; ``samples`` samples emitted; ``discarded_bytes`` start-up
    garbage and bytes outside any frame; ``bad_frames`` undecodable frames (framing, length,
    unknown layout); ``checksum_errors`` frames whose CRC failed; ``frames_lost`` frames
    missing by sequence number; ``sequence_gaps`` how many times a gap was seen;
    ``implausible`` frames or bytes rejected as physically impossible; ``resyncs`` times the
    decoder had to re-anchor its position reference.
    """

    bytes: int = 0
    samples: int = 0
    discarded_bytes: int = 0
    bad_frames: int = 0
    checksum_errors: int = 0
    frames_lost: int = 0
    sequence_gaps: int = 0
    implausible: int = 0
    resyncs: int = 0
    duplicates: int = 0
    unknown_frames: int = 0
    extra: dict = field(default_factory=dict)

    def snapshot(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        d.update(self.extra)
        return d
