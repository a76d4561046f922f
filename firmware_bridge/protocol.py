"""What every sans-IO protocol object shares: its one error type and the things it decodes.

A protocol object turns the bytes of one connection into decoded items and never touches a
port. ``feed(data, t_host_s)`` takes the bytes of one read and the host's monotonic time at
which that read returned; it never raises on anything a device (or line noise) can send:
bad input is counted in ``stats`` and dropped. ``ProtocolError`` is raised only by the
strict single-frame functions (``native.decode_frame``, ``native.cobs_decode``, encoders
given impossible arguments), never out of ``feed``.

Times in decoded items are host monotonic seconds (estimated send times); positions are in
metres, up positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


class ProtocolError(ValueError):
    """Bytes that are not a valid frame, or arguments no frame can carry."""


@dataclass(frozen=True)
class SampleBatch:
    """Consecutive position samples of one connection.

    Attributes
    ----------
    t_s
        Estimated host-monotonic send time of each sample, strictly increasing.
    position_m
        Bar position in metres. For a relative protocol (Chronojump) it starts at 0 on each
        connection; for an absolute one (native) it is ``count / counts_per_m``.
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
    """

    t_s: np.ndarray
    position_m: np.ndarray
    absolute: bool = False
    session: tuple | None = None
    rebased: bool = False
    clock_us: int | None = None

    def __len__(self) -> int:
        return int(self.t_s.size)


@dataclass(frozen=True)
class ButtonChange:
    """The device's push button was pressed (``pressed=True``) or released."""

    pressed: bool
    t_s: float


@dataclass(frozen=True)
class ProbeEcho:
    """The device answered an identification probe (Chronojump's 'J')."""

    t_s: float


@dataclass(frozen=True)
class DeviceIdentity:
    """What a device says about itself (native HELLO frame)."""

    protocol_version: int
    firmware_version: str
    device_id: int
    counts_per_m: int
    sample_period_us: int
    boot_id: int
    streaming: bool
    supported: bool = True
    calibrated_counts_per_m: float | None = None  # measured on the host by `vbt calibrate`

    @property
    def effective_counts_per_m(self) -> float:
        """The counts per metre positions are computed with: the host's calibration, else HELLO's."""
        return self.calibrated_counts_per_m or self.counts_per_m

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CommandAck:
    """The device acknowledged (or refused) a host command."""

    command: int
    command_seq: int
    status: int
    value: int
    t_s: float

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class Heartbeat:
    """The device is alive; its clock, mapped to host time, and its streaming state."""

    t_s: float
    streaming: bool
    device_dropped_samples: int


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
