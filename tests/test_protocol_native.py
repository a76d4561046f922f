"""Native protocol v1: framing, CRC, sequence, clock unwrap, plausibility, fuzzing."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import native as nat
from firmware_bridge.protocol import Ack, DeviceIdentity, Heartbeat, ProtocolError, Samples

CPM = 10000


def hello(seq=0, boot=77, version=nat.PROTOCOL_VERSION):
    return nat.hello_frame(seq, version, (1, 2, 3), 0xABCDEF01, CPM, 1000, boot, True)


def stream(counts, t0_us=1_000_000, seq0=1, per_frame=8, boot=77):
    """Wire bytes of a device: HELLO then SAMPLES frames of ``counts`` at 1 kHz."""
    frames = [hello(seq0 - 1, boot)] + nat.samples_frames(seq0, t0_us, counts, 1000, per_frame)
    return frames, b"\x00" + b"".join(nat.encode_frame(f) for f in frames)


def decode_all(data, chunk=37, t_host=100.0, dec=None):
    dec = dec or nat.NativeDecoder()
    items = []
    for i in range(0, len(data), chunk):
        items.extend(dec.feed(data[i:i + chunk], t_host + i * 1e-5))
    return dec, items


def samples_of(items):
    b = [i for i in items if isinstance(i, Samples)]
    if not b:
        return np.empty(0), np.empty(0)
    return np.concatenate([x.t_s for x in b]), np.concatenate([x.position_m for x in b])


# ---- pure functions ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700))
def test_cobs_round_trip_and_no_zero(data):
    enc = nat.cobs_encode(data)
    assert 0 not in enc
    assert nat.cobs_decode(enc) == data


@pytest.mark.parametrize("frame", [
    hello(),
    nat.samples_frame(5, 123, (-7, -6, -8, 292, 292), 1000),
    nat.samples_frame(6, nat.U32 - 1, (2**31 - 1,), 100),
    nat.Heartbeat(True, dropped_samples=12, seq=7, t_us=42, count=-3),
    nat.Button(True, seq=8, t_us=99),
    nat.Ack(nat.CMD_SET_RATE, 4, nat.ACK_OK, 500, seq=9),
    nat.Command(10, nat.CMD_PING, 0xDEADBEEF),
    nat.Command(11, nat.CMD_START),
    nat.Command(12, nat.CMD_SET_RATE, 250),
])
def test_every_frame_type_round_trips(frame):
    wire = nat.encode_frame(frame)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert nat.decode_frame(wire) == frame


def test_crc_catches_every_single_bit_flip():
    payload = nat.encode_payload(nat.samples_frame(1, 5000, np.cumsum((1234, *range(7))), 1000))
    for bit in range(len(payload) * 8):
        bad = bytearray(payload)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(ProtocolError):
            nat.decode_payload(bytes(bad))


def test_decode_errors_are_protocol_errors():
    for bad in [b"", b"\x05\x01", b"\x02\x00\x00", nat.cobs_encode(b"\x99" * 10)]:
        with pytest.raises(ProtocolError):
            nat.decode_frame(bad)
    with pytest.raises(ProtocolError):
        nat.command_frame("jump", 1)
    with pytest.raises(ProtocolError):
        nat.command_frame("set_rate", 1, 5)
    with pytest.raises(ProtocolError):
        nat.encode_frame(nat.samples_frame(1, 0, [0] * 71, 1000))


# ---- decoder ------------------------------------------------------------------------------------


def test_decoder_yields_identity_samples_and_device_time():
    counts = np.arange(40) * 3
    _, data = stream(counts)
    dec, items = decode_all(data)
    ident = [i for i in items if isinstance(i, DeviceIdentity)]
    assert ident and ident[0].counts_per_m == CPM and ident[0].firmware_version == "1.2.3"
    t, x = samples_of(items)
    np.testing.assert_allclose(x, counts / CPM)
    np.testing.assert_allclose(np.diff(t), 0.001, atol=1e-9)  # the device's clock, not arrival times
    assert dec.stats.samples == 40 and dec.stats.checksum_errors == 0 and dec.stats.frames_lost == 0


def test_samples_before_hello_are_not_emitted():
    frames = nat.samples_frames(1, 0, np.arange(16), 1000, 8)
    dec, items = decode_all(b"".join(nat.encode_frame(f) for f in frames))
    assert not samples_of(items)[0].size
    assert dec.stats.extra["samples_before_hello"] == 16


def test_lost_frame_costs_resolution_not_position():
    counts = np.cumsum(np.random.default_rng(2).integers(-10, 11, 80)) + 3000  # up to 1 m/s
    frames, _ = stream(counts)
    kept = [f for i, f in enumerate(frames) if i not in (3, 4, 7)]
    dec, items = decode_all(b"".join(nat.encode_frame(f) for f in kept))
    t, x = samples_of(items)
    assert dec.stats.frames_lost == 3 and dec.stats.sequence_gaps == 2
    all_t = 100.0 + np.arange(80) * 0.001
    # Every emitted sample sits exactly where the device measured it.
    idx = np.round((t - t[0]) / 0.001).astype(int)
    np.testing.assert_allclose(x, counts[idx] / CPM)
    assert x.size == 80 - 3 * 8 and all_t.size == 80


def test_clock_wrap_is_unwrapped():
    counts = np.arange(48)
    _, data = stream(counts, t0_us=nat.U32 - 20_000)  # wraps after 20 samples
    _, items = decode_all(data)
    t, _ = samples_of(items)
    np.testing.assert_allclose(np.diff(t), 0.001, atol=1e-9)


def test_duplicate_and_out_of_order_frames_are_dropped():
    frames, _ = stream(np.arange(32))
    wire = [nat.encode_frame(f) for f in frames]
    data = b"".join(wire[:3] + [wire[2]] + wire[3:])
    dec, items = decode_all(data)
    t, _ = samples_of(items)
    assert dec.stats.duplicates == 1 and np.all(np.diff(t) > 0) and t.size == 32


def test_implausible_jump_is_rejected_then_reanchored_without_a_jump():
    counts = np.full(80, 5000)
    frames, _ = stream(counts)
    # Frames 5.. come from a count 2 m away (as after an unseen reboot): implausible at first.
    moved = [f if i < 5 else replace(f, counts=tuple(c + 20000 for c in f.counts))
             for i, f in enumerate(frames)]
    dec, items = decode_all(b"".join(nat.encode_frame(f) for f in moved))
    batches = [i for i in items if isinstance(i, Samples)]
    assert dec.stats.implausible == 2 and dec.stats.resyncs == 1
    assert sum(b.rebased for b in batches) == 1
    assert batches[4].rebased  # four good frames, then the re-anchored one


def test_unsupported_version_is_reported_and_ignored():
    frames = [hello(0, version=2)] + nat.samples_frames(1, 0, np.arange(8), 1000, 8)
    dec, items = decode_all(b"".join(nat.encode_frame(f) for f in frames))
    ident = [i for i in items if isinstance(i, DeviceIdentity)]
    assert ident and not ident[0].supported
    assert not samples_of(items)[0].size


def test_ack_heartbeat_and_commands():
    dec = nat.NativeDecoder()
    hs = dec.handshake()
    cmds = nat.CommandDecoder().feed(hs)
    assert [c.command for c in cmds] == [nat.CMD_IDENTIFY, nat.CMD_START]
    data = nat.encode_frame(hello(0)) + nat.encode_frame(nat.Ack(nat.CMD_START, cmds[1].seq, 0, 0, seq=1)) + \
        nat.encode_frame(nat.Heartbeat(False, seq=2, t_us=500))
    items = dec.feed(data, 3.0)
    acks = [i for i in items if isinstance(i, Ack)]
    assert acks[0].ok and acks[0].command_seq == cmds[1].seq
    assert any(isinstance(i, Heartbeat) and not i.streaming for i in items)


def test_overlong_garbage_does_not_grow_the_buffer():
    dec = nat.NativeDecoder()
    for _ in range(100):
        dec.feed(b"\x55" * 1000, 1.0)
    assert len(dec._splitter._buf) <= nat.MAX_FRAME_BYTES
    _, data = stream(np.arange(16))
    _, items = decode_all(b"\x00" + data, dec=dec)
    assert samples_of(items)[0].size == 16


# ---- fuzzing: garbage never raises, never moves the bar ------------------------------------------


def _max_step_ok(items, dec):
    """Consecutive emitted samples never move faster than the plausibility bound."""
    prev = None
    for b in (i for i in items if isinstance(i, Samples)):
        if prev is not None and not b.rebased:
            dt = b.t_s[0] - prev[0]
            assert abs(b.position_m[0] - prev[1]) <= dec.max_speed_m_s * dt + dec.position_slack_m + 1e-9
        if b.t_s.size > 1:
            v = np.abs(np.diff(b.position_m)) / np.diff(b.t_s)
            assert np.all(v <= dec.max_speed_m_s + 2.0 / CPM / np.diff(b.t_s).min())
        prev = (b.t_s[-1], b.position_m[-1])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=30))
def test_random_bytes_never_raise(chunks):
    dec = nat.NativeDecoder()
    items = []
    for i, c in enumerate(chunks):
        items.extend(dec.feed(c, 1.0 + i * 0.01))
    assert dec.stats.extra.get("internal_errors", 0) == 0
    assert dec.stats.bytes == sum(map(len, chunks))
    assert not samples_of(items)[0].size  # random bytes never pass as a HELLO plus samples


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_streams_never_raise_are_counted_and_never_jump(data):
    rng_seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(rng_seed)
    counts = np.cumsum(rng.integers(-8, 9, 400)) + 10000
    _, wire = stream(counts)
    wire = bytearray(wire)
    # Bit flips, truncations (a frame cut short) and garbage bursts at random places.
    for _ in range(data.draw(st.integers(0, 12))):
        op = data.draw(st.sampled_from(["flip", "cut", "garbage"]))
        pos = data.draw(st.integers(0, len(wire) - 1))
        if op == "flip":
            wire[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del wire[pos:pos + data.draw(st.integers(1, 30))]
        else:
            wire[pos:pos] = data.draw(st.binary(min_size=1, max_size=40))
        if not wire:
            break
    chunk = data.draw(st.integers(1, 64))
    dec, items = decode_all(bytes(wire), chunk=chunk)
    assert dec.stats.extra.get("internal_errors", 0) == 0
    _max_step_ok(items, dec)
    t, x = samples_of(items)
    assert np.all(np.diff(t) > 0)
    # Whatever got through is a sample the device really sent (never a phantom value).
    valid = set((counts / CPM).round(6))
    assert all(round(v, 6) in valid for v in x)
    if len(wire) and t.size < counts.size:
        # Every missing sample is accounted for: a counted fault, or a last frame still waiting
        # for its delimiter.
        s = dec.stats
        assert s.bad_frames + s.checksum_errors + s.frames_lost + s.discarded_bytes + s.implausible + s.duplicates > 0 \
            or dec.pending_bytes > 0 or t.size == 0


def test_the_specification_example_is_what_the_code_sends():
    import pathlib

    spec = (pathlib.Path(nat.__file__).parent / "PROTOCOL.md").read_text()
    wire_line = next(line for line in spec.splitlines() if line.startswith("wire:"))
    documented = bytes.fromhex(wire_line.split(":", 1)[1])
    frame = nat.hello_frame(0, 1, (1, 0, 0), 0x56425401, 10000, 1000, 0x12345678, False)
    assert nat.encode_frame(frame) == documented
    assert nat.decode_frame(documented) == frame
    assert "version 1" in spec.splitlines()[0]
