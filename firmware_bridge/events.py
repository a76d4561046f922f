"""What the reader reports, through its one path (a callback or a queue).

Every event has a ``type`` string and a ``t_s`` in *stream time*: seconds on the reader's
monotonic clock since ``DeviceReader.start()``. Sample times use the same base, continuous
across reconnections, so the analysis sees one stream.

The device's own messages (``samples``, ``button``, ``heartbeat``, ``ack``) are the classes the
decoders emit (``protocol.Samples``, ``Button``, ``Heartbeat``, ``Ack``), re-timed onto stream
time by the reader's ``StreamStitcher``; this module holds the reader's own events.

==================== =============================================================
type                 meaning
==================== =============================================================
device_connected     a port was opened and the device answered its protocol
device_lost          the connection failed (cable pulled, device silent, read error)
device_unavailable   a port could not be used (absent, busy, permission, wrong device)
samples              position samples (numpy arrays), in stream time
button               the device's push button was pressed or released
heartbeat            the device is alive and not streaming (native)
ack                  the device acknowledged a host command (native)
line_errors          bytes or frames refused as line noise (checksum, framing, impossible motion)
health               periodic health figures of the reader and the link
==================== =============================================================
"""

from __future__ import annotations

import logging
import queue
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from vbt.results import HIDDEN, Event

_log = logging.getLogger(__name__)


class EventPath:
    """One path out for events: ``on_event`` (called on the producing thread; a failing callback is
    logged, never raised into the producer) or, without one, the :attr:`events` queue."""

    def __init__(self, on_event=None):
        self.on_event = on_event
        self.events: queue.Queue = queue.Queue()

    def emit(self, event) -> None:
        if self.on_event is None:
            self.events.put(event)
            return
        try:
            self.on_event(event)
        except Exception:
            _log.exception("on_event callback failed on %s", getattr(event, "type", event))


class _Connection(Event):
    """A connection event; ``vbt live --jsonl`` prints it as ``{"type": "device", "event":
    "connected" | "lost" | "unavailable", "t_s", its other fields}``."""

    def to_json(self) -> dict:
        out = super().to_json()
        del out["type"]
        return {"type": "device", "event": self.type.removeprefix("device_"), **out}


@dataclass(frozen=True)
class DeviceConnected(_Connection):
    port: str
    protocol: str
    device: dict  # identity: protocol, port, device_id, firmware_version, counts_per_m, usb...
    reconnect: bool
    t_s: float
    type: ClassVar[str] = "device_connected"


@dataclass(frozen=True)
class DeviceLost(_Connection):
    port: str
    reason: str
    t_s: float
    type: ClassVar[str] = "device_lost"


@dataclass(frozen=True)
class DeviceUnavailable(_Connection):
    """A port could not be used. ``kind``: absent, busy, permission, no_answer, wrong_device, error."""

    port: str
    kind: str
    reason: str
    t_s: float
    type: ClassVar[str] = "device_unavailable"


@dataclass(frozen=True)
class LineErrors(Event):
    """``count`` bytes or frames refused since the last report (``total`` since the reader
    started): checksum and framing errors, and readings a barbell cannot produce. ``implausible``
    of them were readings refused as impossible motion: those are the ones that can bend a rep
    (a frame lost to a bad checksum only costs samples, the next one carries the position)."""

    count: int
    total: int
    t_s: float
    implausible: int = field(default=0, metadata=HIDDEN)  # not in --jsonl's line_errors object
    type: ClassVar[str] = "line_errors"


def implausible_count(stats) -> int:
    """Readings a decoder refused as impossible motion (``protocol.DecoderStats``)."""
    return stats.implausible + int(stats.extra.get("noise_bytes", 0))


def line_error_count(stats) -> int:
    """The line errors in a decoder's counters: checksum and framing errors, impossible motion."""
    return stats.checksum_errors + stats.bad_frames + implausible_count(stats)


@dataclass(frozen=True)
class ReaderHealth:
    """Health of one reader: the link now and counters since the reader started.

    ``sample_rate_hz`` is measured over the last health interval (host clock); the error
    counters add up every connection's decoder counters (see ``DecoderStats``);
    ``reader_cpu_s`` is the reader thread's CPU time, including the ``on_event`` callback.
    """

    t_s: float
    connected: bool
    port: str | None
    protocol: str | None
    connections: int
    losses: int
    bytes_received: int
    samples_received: int
    sample_rate_hz: float
    frames_lost: int
    checksum_errors: int
    bad_frames: int
    sequence_gaps: int
    implausible: int
    discarded_bytes: int
    resyncs: int
    byte_period_s: float | None
    last_data_age_s: float | None
    reader_cpu_s: float
    line_errors: int = 0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HealthEvent(Event):
    health: ReaderHealth
    t_s: float
    type: ClassVar[str] = "health"
