"""Chronojump codec: sans-IO, deterministic with explicit host times, never raises on bytes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import chronojump as cj
from firmware_bridge.protocol import Button, ProbeEcho, ProtocolError, Samples


def _samples(items):
    batches = [i for i in items if isinstance(i, Samples)]
    if not batches:
        return np.empty(0), np.empty(0)
    return np.concatenate([b.t_s for b in batches]), np.concatenate([b.position_m for b in batches])


# Synthetic counts below jump faster than a barbell can (3 -> -1 mm/ms): the physics guard is widened.
LENIENT = dict(max_counts_per_byte=cj.MAX_COUNTS_PER_BYTE, max_count_jump=6)


def test_counts_integrate_to_millimetres_after_startup_garbage():
    dec = cj.ChronojumpDecoder(fixed_period_s=0.001, **LENIENT)
    garbage = bytes(range(200, 220))  # 20 bytes, some of them 'T'-like values are impossible here anyway
    counts = [1, 2, 3, -1, 0, 5]
    t, x = _samples(dec.feed(garbage + cj.encode_counts(counts)))
    assert dec.stats.discarded_bytes == 20
    np.testing.assert_allclose(x, np.cumsum(counts) / 1000.0)
    np.testing.assert_allclose(t, np.arange(6) * 0.001)


def test_control_bytes_are_events_not_samples():
    dec = cj.ChronojumpDecoder(startup_discard_bytes=0, fixed_period_s=0.001, **LENIENT)
    data = cj.encode_counts([3, 3]) + b"T" + cj.encode_counts([2]) + b"t" + b"J"
    items = dec.feed(data)
    t, x = _samples(items)
    np.testing.assert_allclose(x, [0.003, 0.006, 0.008])
    buttons = [i for i in items if isinstance(i, Button)]
    assert [b.pressed for b in buttons] == [True, False]
    assert buttons[0].t_s == pytest.approx(t[1])  # reported at the last sample before it
    assert sum(isinstance(i, ProbeEcho) for i in items) == 1


def test_inverted_mounting_negates():
    data = cj.encode_counts([4, 4, -2])
    up = _samples(cj.ChronojumpDecoder(startup_discard_bytes=0).feed(data, 1.0))[1]
    down = _samples(cj.ChronojumpDecoder(startup_discard_bytes=0, inverted=True).feed(data, 1.0))[1]
    np.testing.assert_allclose(down, -up)


def test_implausible_bytes_are_counted_and_do_not_move_the_bar():
    dec = cj.ChronojumpDecoder(startup_discard_bytes=0, fixed_period_s=0.001)
    data = cj.encode_counts([1]) + bytes([100, 0x90]) + cj.encode_counts([1])  # +100 and -112 mm/ms
    t, x = _samples(dec.feed(data))
    assert dec.stats.implausible == 2
    np.testing.assert_allclose(x, [0.001, 0.001, 0.001, 0.002])


def test_encode_rejects_impossible_counts():
    with pytest.raises(ProtocolError):
        cj.encode_counts([0, 21])
    with pytest.raises(ProtocolError):
        cj.encode_counts([0.5])


def test_positions_to_counts_is_exact_on_the_running_sum():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 0.0004, 5000))
    counts, last = cj.positions_to_counts(x, start_mm=int(round(x[0] * 1000)))
    np.testing.assert_array_equal(np.cumsum(counts) + int(round(x[0] * 1000)), np.round(x * 1000).astype(int))
    assert last == int(round(x[-1] * 1000))


def _arrivals(rng, period, n_total, latency_s=0.001, jitter_s=0.0005):
    """Reads of random size; each arrives at its last byte's send time plus a positive latency."""
    k, chunks = 0, []
    while k < n_total:
        n = int(rng.integers(1, 24))
        k += n
        chunks.append((n, 50.0 + k * period + latency_s + abs(rng.normal(0, jitter_s))))
    return chunks


@pytest.mark.parametrize("true_period", [0.000973, 0.001, 0.00095])
def test_byte_clock_measures_the_real_byte_period(true_period):
    rng = np.random.default_rng(7)
    clock = cj.ByteClock()
    stamps = np.concatenate([clock.stamp(n, t) for n, t in _arrivals(rng, true_period, 30000)])
    assert clock.established
    assert clock.period_s == pytest.approx(true_period, rel=2e-4)
    assert np.all(np.diff(stamps) > 0)
    # Spacing after the warm-up follows the measured period to within the loop's slew limit.
    d = np.diff(stamps[3000:])
    assert np.all(np.abs(d / true_period - 1) < 0.003)
    assert np.mean(d[-10000:]) == pytest.approx(true_period, rel=1e-4)


def test_byte_clock_ignores_a_stalled_reader_backlog():
    rng = np.random.default_rng(11)
    chunks = _arrivals(rng, 0.000973, 20000)
    # The reader stalls for 300 ms: the bytes of that time arrive in one late burst.
    stalled = []
    for n, t in chunks:
        if 8.0 < t - 50.0 < 8.3:
            t = 50.0 + 8.3
        stalled.append((n, t))
    clock = cj.ByteClock()
    for n, t in stalled:
        clock.stamp(n, t)
    assert clock.period_s == pytest.approx(0.000973, rel=5e-4)


def test_decoder_is_deterministic_with_explicit_times():
    rng = np.random.default_rng(5)
    data = cj.encode_counts(rng.integers(-5, 6, 4000))
    chunks = _arrivals(np.random.default_rng(9), 0.000973, 4000)

    def run():
        dec = cj.ChronojumpDecoder(startup_discard_bytes=0)
        out, pos = [], 0
        for n, t in chunks:
            out.extend(dec.feed(data[pos:pos + n], t))
            pos += n
        return _samples(out)

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.booleans())
def test_random_bytes_never_raise_and_never_jump(chunks, inverted):
    dec = cj.ChronojumpDecoder(inverted=inverted, startup_discard_bytes=3)
    t_host, xs, ts = 10.0, [], []
    for c in chunks:
        t_host += 0.004
        for item in dec.feed(c, t_host):
            if isinstance(item, Samples):
                xs.append(item.position_m)
                ts.append(item.t_s)
    if xs:
        x = np.concatenate([[0.0]] + xs)
        t = np.concatenate(ts)
        # No sample moves the bar more than the decoder's plausibility bound (20 mm per byte).
        assert np.max(np.abs(np.diff(x))) <= cj.MAX_COUNTS_PER_BYTE / 1000.0 + 1e-12
        assert np.all(np.diff(t) > 0)
    assert dec.stats.bytes == sum(len(c) for c in chunks)


def test_line_noise_guard_keeps_noise_from_reading_as_motion():
    rng = np.random.default_rng(8)
    rest = cj.encode_counts(np.zeros(500, int))
    noise = rng.integers(-128, 128, 400).astype(np.int8).tobytes()
    noise = bytes(b for b in noise if b not in cj.CONTROL_BYTES)
    dec = cj.ChronojumpDecoder(startup_discard_bytes=0, fixed_period_s=0.001)
    t, x = _samples(dec.feed(rest + noise + rest))
    assert np.ptp(x) <= 0.008  # at most a few plausible bytes before the guard trips
    assert dec.stats.implausible > 0 and dec.stats.extra["noise_bytes"] > 0
    # After the burst the line is trusted again: motion reads as motion.
    tail = _samples(dec.feed(cj.encode_counts(np.full(100, 2))))[1]
    assert tail[-1] - tail[0] == pytest.approx(0.198)


def test_a_flipped_bit_costs_one_byte_not_a_drift():
    counts = np.concatenate([np.arange(0, 5), np.full(50, 5), np.arange(5, -1, -1)])
    data = bytearray(cj.encode_counts(counts))
    data[20] ^= 0x10  # 5 -> 21: impossible
    data[30] ^= 0x08  # 5 -> 13: a jump no bar makes
    dec = cj.ChronojumpDecoder(startup_discard_bytes=0, fixed_period_s=0.001)
    x = _samples(dec.feed(bytes(data)))[1]
    assert dec.stats.implausible == 2
    assert x[-1] == pytest.approx((counts.sum() - 10) / 1000)  # each bad byte loses its own 5 mm only
