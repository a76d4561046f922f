"""Device byte streams off line: render an emulated device's bytes, decode recorded bytes.

Used by the fixture generator (``fixtures/make_device_fixtures.py``), the fixture tests and the
benchmarks. Decoding is deterministic: the host arrival times are synthesised from the byte
position (``chunk_bytes`` per read, each arriving ``latency_s`` after its last byte was sent at
``byte_period_s`` per byte), so the result is exact and repeatable.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge import chronojump as cj
from firmware_bridge import native as nat
from firmware_bridge.protocol import Samples
from firmware_bridge.reader import StreamStitcher


def render(source, duration_s: float, step_s: float = 0.004, host_open: bool = True) -> bytes:
    """The bytes an emulator ``source`` (Chronojump or native) sends over ``duration_s`` of script time.

    A native source is started (host IDENTIFY + START) as the reader would on connecting."""
    source.power_up(0.0)
    out = bytearray()
    if host_open:
        source.host_opened(0.0)
    if source.protocol == "native":
        host = nat.NativeDecoder()
        source.host_bytes(host.handshake(), 0.0)
    for s in np.arange(step_s, duration_s + step_s / 2, step_s):
        out += source.generate(float(s))
    return bytes(out)


def decode(data: bytes, protocol: str, *, byte_period_s: float, chunk_bytes: int = 8, latency_s: float = 0.002,
           inverted: bool = False):
    """Decode a recorded byte stream as the reader would, with synthetic arrival times.

    Returns ``(t_s, position_m, decoder)``: stream-time samples (first read at t≈0) and the
    decoder (for its ``stats``).
    """
    if protocol == "chronojump":
        dec = cj.ChronojumpDecoder(inverted=inverted)
    elif protocol == "native":
        dec = nat.NativeDecoder(inverted=inverted)
    else:
        raise ValueError(f"unknown protocol {protocol!r}")
    stitcher = StreamStitcher(0.0)
    ts, xs = [], []
    for start in range(0, len(data), chunk_bytes):
        end = min(len(data), start + chunk_bytes)
        t_arrival = end * byte_period_s + latency_s
        for item in dec.feed(data[start:end], t_arrival):
            if isinstance(item, Samples):
                placed = stitcher.place(item)
                if placed is not None:
                    ts.append(placed.t_s)
                    xs.append(placed.position_m)
    if not ts:
        return np.empty(0), np.empty(0), dec
    return np.concatenate(ts), np.concatenate(xs), dec
