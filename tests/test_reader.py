"""The reader on real ptys: one thread, one event path, losses reported at once, reconnection."""

import os
import select
import threading
import time
import tty

import numpy as np
import pytest
import serial

from firmware_bridge import chronojump as cj
from firmware_bridge.emulator import Emulator
from firmware_bridge.motion import MotionScript
from firmware_bridge.reader import DeviceReader
from tests.conftest import EventLog

pytestmark = pytest.mark.usefixtures("emulator_dir")


def slow_script(seconds=60.0):
    """A bar moving up and down slowly (0.2 m/s peak) so positions are easy to follow."""
    t = np.arange(0, seconds, 0.001)
    return MotionScript.from_arrays(t, 1.0 + 0.1 * np.sin(2 * np.pi * t / 3.0))


@pytest.mark.parametrize("protocol", ["chronojump", "native"])
def test_reader_streams_with_health_and_stops_cleanly(protocol):
    with Emulator(protocol, script=slow_script()) as emu:
        reader = DeviceReader(emu.port, protocol, health_interval_s=0.25).start()
        try:
            c = EventLog(reader.events)
            connected = c.wait(lambda e: e.type == "device_connected", 3.0)
            assert connected.protocol == protocol and not connected.reconnect
            c.wait_samples(1500, 5.0)
            c.wait(lambda e: e.type == "health" and e.health.samples_received > 1000, 2.0)
        finally:
            t0 = time.monotonic()
            reader.stop()
            assert time.monotonic() - t0 < 1.0
    _, t, x = c.samples()
    assert np.all(np.diff(t) > 0)
    h = reader.health()
    assert h.checksum_errors == 0 and h.frames_lost == 0 and h.implausible == 0 and h.losses == 0
    assert 900 < h.sample_rate_hz < 1150
    if protocol == "chronojump":
        assert h.byte_period_s == pytest.approx(cj.FIRMWARE_BYTE_PERIOD_S, rel=2e-3)
    # Velocities follow the script: peak 0.1 * 2π/3 ≈ 0.21 m/s.
    v = np.diff(x[::50]) / np.diff(t[::50])
    assert 0.17 < np.max(np.abs(v)) < 0.25


@pytest.mark.parametrize("protocol,power_cycle", [("chronojump", True), ("native", True), ("native", False)])
def test_pulled_cable_is_reported_at_once_and_the_stream_resumes(protocol, power_cycle):
    with Emulator(protocol, script=slow_script()) as emu:
        reader = DeviceReader(emu.port, protocol).start()
        try:
            c = EventLog(reader.events)
            c.wait(lambda e: e.type == "device_connected", 3.0)
            c.wait_samples(500, 3.0)
            pulled = time.monotonic()
            emu.unplug()
            c.wait(lambda e: e.type == "device_lost", 1.0)
            assert time.monotonic() - pulled < 0.5  # at once, not after a timeout
            n_before = len(c.all)
            time.sleep(0.3)  # the cable stays out a moment (not a synchronisation)
            emu.plug(power_cycle=power_cycle)
            plugged = time.monotonic()
            back = c.wait(lambda e: e.type == "device_connected" and e.reconnect, 2.0)
            assert time.monotonic() - plugged < 2.0
            c.wait_samples(500, 3.0, after=n_before)
        finally:
            reader.stop()
    _, t, x = c.samples()
    assert np.all(np.diff(t) > 0)  # one stream time base across the reconnection
    gap = np.argmax(np.diff(t))
    assert 0.25 < t[gap + 1] - t[gap] < 2.5
    if protocol == "native" and not power_cycle:
        # Same device power-on: the absolute count puts the bar exactly where it now is. Fit the
        # script's sine to the samples before the pull; those after it must lie on the same curve.
        w = 2 * np.pi / 3.0
        before, after = slice(0, gap + 1), slice(gap + 1, None)
        basis = np.column_stack([np.sin(w * t), np.cos(w * t), np.ones_like(t)])
        coef, *_ = np.linalg.lstsq(basis[before], x[before], rcond=None)
        assert np.max(np.abs(basis[after] @ coef - x[after])) < 0.0012  # 0.1 mm counts, fit residue
        assert reader.health().losses == 1 and back.reconnect
    else:
        # Relative continuation: no jump at the seam.
        assert abs(x[gap + 1] - x[gap]) < 0.005


def test_device_coming_back_under_a_new_name_is_found_through_candidates(tmp_path):
    with Emulator("native", script=slow_script()) as emu:
        pattern = os.path.join(str(tmp_path / "emu"), "ttyVBT-native-*")
        reader = DeviceReader(emu.port, "native", candidates=[pattern]).start()
        try:
            c = EventLog(reader.events)
            c.wait(lambda e: e.type == "device_connected", 3.0)
            emu.unplug()
            c.wait(lambda e: e.type == "device_lost", 1.0)
            new_port = emu.plug(rename=True)
            back = c.wait(lambda e: e.type == "device_connected" and e.reconnect, 2.0)
            assert back.port == new_port != reader.port
        finally:
            reader.stop()


def test_another_device_on_a_candidate_port_is_refused(tmp_path):
    with Emulator("native", script=slow_script(), device_id=1) as a, \
            Emulator("native", script=slow_script(), device_id=2) as b:
        reader = DeviceReader(a.port, "native", candidates=[b.port]).start()
        try:
            c = EventLog(reader.events)
            c.wait(lambda e: e.type == "device_connected", 3.0)
            a.unplug()
            c.wait(lambda e: e.type == "device_lost", 1.0)
            wrong = c.wait(lambda e: e.type == "device_unavailable" and e.kind == "wrong_device", 3.0)
            assert wrong.port == b.port and "00000002" in wrong.reason
            assert not reader.connected
        finally:
            reader.stop()


def test_busy_port_is_reported_then_used_when_free():
    with Emulator("chronojump", script=slow_script()) as emu:
        other = serial.serial_for_url(emu.port, exclusive=True, timeout=0.05)
        reader = DeviceReader(emu.port, "chronojump").start()
        try:
            c = EventLog(reader.events)
            busy = c.wait(lambda e: e.type == "device_unavailable", 2.0)
            assert busy.kind == "busy" and "busy" in busy.reason
            other.close()
            c.wait(lambda e: e.type == "device_connected", 2.0)
        finally:
            other.close()
            reader.stop()


def test_pyserial_url_and_writes_under_the_lock():
    # loop:// echoes what is written: the 'J' probe comes back as the device's answer.
    received = []
    done = threading.Event()

    def on_event(e):
        received.append(e)
        if e.type == "samples" and sum(len(x) for x in received if x.type == "samples") >= 300:
            done.set()

    reader = DeviceReader("loop://", "chronojump", on_event=on_event).start()
    try:
        deadline = time.monotonic() + 3
        while not reader.connected and time.monotonic() < deadline:
            reader.write(b"J")
            time.sleep(0.05)  # pacing the probe, not synchronising: the wait below is on an event
        counts = np.tile([1, 2, 0, -1], 150)
        writers = [threading.Thread(target=reader.write, args=(cj.encode_counts(counts[i::3]),)) for i in range(3)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        assert done.wait(3.0)
    finally:
        reader.stop()
    assert reader.events.empty()  # one path: the callback got everything
    assert received[0].type == "device_connected"


def test_silent_device_is_lost_and_a_mute_port_is_not_a_transducer():
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    os.close(slave)
    try:
        # The default connect timeout: a loaded CI machine may not schedule the answer sooner.
        reader = DeviceReader(name, "chronojump", silence_timeout_s=0.3).start()
        try:
            c = EventLog(reader.events)
            c.wait(lambda e: e.type == "device_unavailable" and e.kind == "no_answer", 6.0)
            # Now answer every probe like a Chronojump until the reader takes it as connected,
            # then fall silent. (A device answers when probed; bytes written between the
            # reader's retries are rightly discarded when it reopens the port.)
            deadline = time.monotonic() + 10.0
            connected = None
            while connected is None:
                assert time.monotonic() < deadline, "the reader never accepted the answer"
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready and b"J" in os.read(master, 256):
                    os.write(master, bytes(20) + b"J" + bytes(200))
                try:
                    connected = c.wait(lambda e: e.type == "device_connected", 0.05)
                except AssertionError:
                    pass
            lost = c.wait(lambda e: e.type == "device_lost", 4.0)
            assert "no data" in lost.reason
        finally:
            reader.stop()
    finally:
        os.close(master)
