"""The emulator: real bytes of either protocol on a real pty, probes answered, cable pulls."""

import os
import time

import numpy as np
import pytest
import serial

from firmware_bridge import chronojump as cj
from firmware_bridge import native as nat
from firmware_bridge.emulator import ChronojumpSource, Emulator, NativeSource
from firmware_bridge.motion import MotionScript
from firmware_bridge.protocol import Ack, DeviceIdentity, ProbeEcho, Samples
from tests.conftest import read_until

pytestmark = pytest.mark.usefixtures("emulator_dir")


def ramp_script(seconds=30.0, speed_m_s=0.2):
    t = np.arange(0, seconds, 0.001)
    return MotionScript.from_arrays(t, 1.0 + speed_m_s * np.minimum(t, 5.0))


def n_samples(items):
    return sum(len(i) for i in items if isinstance(i, Samples))


def test_chronojump_source_bytes_integrate_to_the_script():
    script = MotionScript.lifter(seed=2, n_sets=1, rest_s=1.0, loop=False)
    src = ChronojumpSource(script, byte_period_s=cj.FIRMWARE_BYTE_PERIOD_S, garbage_bytes=0)
    src.power_up(0.0)
    data = b"".join(src.generate(s) for s in np.arange(0.004, 20.0, 0.004))
    dec = cj.ChronojumpDecoder(startup_discard_bytes=0, fixed_period_s=cj.FIRMWARE_BYTE_PERIOD_S)
    batch = [i for i in dec.feed(data) if isinstance(i, Samples)]
    x = np.concatenate([b.position_m for b in batch])
    k = np.arange(1, x.size + 1)
    truth = script.position(k * cj.FIRMWARE_BYTE_PERIOD_S) - script.position(0.0)
    assert np.max(np.abs(x - truth)) <= 0.0006  # 1 mm quantisation, no drift


def test_native_source_frames_carry_the_script_exactly():
    script = MotionScript.lifter(seed=2, n_sets=1, rest_s=1.0, loop=False)
    src = NativeSource(script, counts_per_m=10000, autostart=True, clock_start_us=nat.U32 - 3_000_000)
    src.power_up(0.0)
    data = b"".join(src.generate(s) for s in np.arange(0.004, 10.0, 0.004))
    dec = nat.NativeDecoder()
    items = dec.feed(data, 0.0)
    batch = [i for i in items if isinstance(i, Samples)]
    t = np.concatenate([b.t_s for b in batch])
    x = np.concatenate([b.position_m for b in batch])
    truth = script.position(t - t[0] + 0.001) - script.position(0.0)
    assert np.max(np.abs(x - truth)) <= 0.00006
    assert dec.stats.frames_lost == 0 and dec.stats.checksum_errors == 0
    np.testing.assert_allclose(np.diff(t), 0.001, atol=1e-9)  # across the clock wrap


@pytest.mark.slow
def test_chronojump_on_a_pty_answers_the_probe_and_streams_in_real_time():
    with Emulator("chronojump", script=ramp_script()) as emu:
        assert os.path.islink(emu.port) and os.readlink(emu.port) == emu.device_name
        ser = serial.serial_for_url(emu.port, baudrate=115200, timeout=0.05)
        try:
            dec = cj.ChronojumpDecoder()
            ser.write(b"J")
            t0 = time.monotonic()
            items = read_until(ser, dec, lambda it: any(isinstance(i, ProbeEcho) for i in it) and n_samples(it) > 1000)
            elapsed = time.monotonic() - t0
        finally:
            ser.close()
    rate = n_samples(items) / elapsed
    assert 900 < rate < 1150  # ~1028 bytes/s; real time, not a burst
    assert dec.stats.implausible == 0


def test_native_on_a_pty_answers_identify_ping_start_stop_and_set_rate():
    with Emulator("native", script=ramp_script(), device_id=0x1234) as emu:
        ser = serial.serial_for_url(emu.port, baudrate=115200, timeout=0.05)
        try:
            dec = nat.NativeDecoder()
            ser.write(b"\x00" + dec.command("identify") + dec.command("ping", 0xCAFE))
            items = read_until(ser, dec, lambda it: sum(isinstance(i, Ack) for i in it) >= 2
                               and any(isinstance(i, DeviceIdentity) for i in it))
            ident = next(i for i in items if isinstance(i, DeviceIdentity))
            assert ident.device_id == 0x1234 and not ident.streaming
            ping = next(i for i in items if isinstance(i, Ack) and i.command == nat.CMD_PING)
            assert ping.ok and ping.value == 0xCAFE
            assert n_samples(items) == 0  # a device streams only after START
            ser.write(dec.command("set_rate", 2000) + dec.command("start"))
            items = read_until(ser, dec, lambda it: n_samples(it) >= 200)
            batch = [i for i in items if isinstance(i, Samples)]
            assert np.allclose(np.diff(batch[-1].t_s), 0.002)
            # Out of range: the host encoder refuses it, so craft the frame; the device refuses too.
            ser.write(nat.encode_frame(nat.Command(900, nat.CMD_SET_RATE, 5)))
            ser.write(dec.command("stop"))
            items = read_until(ser, dec, lambda it: sum(isinstance(i, Ack) for i in it) >= 2)
            acks = [i for i in items if isinstance(i, Ack)]
            assert acks[0].status == nat.ACK_BAD_ARGUMENT and acks[1].ok
        finally:
            ser.close()


def test_unplug_closes_the_port_and_plug_brings_a_new_one():
    with Emulator("chronojump", script=ramp_script()) as emu:
        port = emu.port
        ser = serial.serial_for_url(port, baudrate=115200, timeout=0.05)
        try:
            read_until(ser, cj.ChronojumpDecoder(), lambda it: n_samples(it) > 50)
            emu.unplug()
            assert not os.path.lexists(port)
            with pytest.raises(serial.SerialException):
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    ser.read(100)
        finally:
            ser.close()
        assert emu.plug() == port and os.path.exists(port)
        renamed = emu.plug(rename=True)
        assert renamed != port and os.path.exists(renamed)
        ser = serial.serial_for_url(renamed, baudrate=115200, timeout=0.05)
        try:
            read_until(ser, cj.ChronojumpDecoder(), lambda it: n_samples(it) > 50)
        finally:
            ser.close()
    assert not os.path.lexists(renamed)


def test_replay_of_a_chronojump_file_sends_its_counts(tmp_path):
    rng = np.random.default_rng(4)
    motion = np.clip(np.cumsum(rng.integers(-1, 2, 1500)), -6, 6)  # a bar's counts change smoothly
    counts = np.concatenate([np.zeros(300, int), motion, np.zeros(200, int)])
    path = tmp_path / "raw.txt"
    path.write_text(", ".join(map(str, counts)))
    with Emulator("chronojump", replay=path, garbage_bytes=0) as emu:
        ser = serial.serial_for_url(emu.port, baudrate=115200, timeout=0.05)
        try:
            dec = cj.ChronojumpDecoder(startup_discard_bytes=0, fixed_period_s=0.001)
            items = read_until(ser, dec, lambda it: n_samples(it) >= counts.size + 100, timeout_s=5)
        finally:
            ser.close()
        assert emu.source.byte_period_s == pytest.approx(0.001)
    x = np.concatenate([b.position_m for b in items if isinstance(b, Samples)])
    got = np.round(np.diff(x, prepend=0.0) * 1000).astype(int)
    # The bytes are the file's counts (from its second sample: the first is the reference).
    assert got[: counts.size - 1].tolist() == counts[1:].tolist()
    assert np.all(got[counts.size - 1:] == 0)  # then an idle device


def test_script_clock_starts_when_the_host_opens():
    with Emulator("native", script=ramp_script()) as emu:
        assert emu.script_time() is None and not emu.wait_script_time(0.0, timeout=0.1)
        ser = serial.serial_for_url(emu.port, timeout=0.05)
        try:
            assert emu.wait_host_open(2.0)
            assert emu.wait_script_time(0.2, timeout=2.0)
        finally:
            ser.close()


def test_lifter_script_loops_with_continuous_position():
    s = MotionScript.lifter(seed=1, n_sets=1, rest_s=2.0)
    d = s.duration_s
    x = s.position(np.array([d - 1e-6, d, d + 1e-6]))
    assert np.ptp(x) < 1e-4
    reps = s.reps_until(2 * d)
    assert len(reps) == 2 * len(s.reps) and reps[len(s.reps)].set_index == 2


def test_emulate_command_prints_the_port_and_stops_cleanly_on_sigterm(tmp_path):
    import signal
    import subprocess
    import sys

    env = dict(os.environ, VBT_EMULATOR_DIR=str(tmp_path / "emu"))
    proc = subprocess.Popen([sys.executable, "-m", "firmware_bridge.cli", "emulate", "--protocol", "native",
                             "--seed", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith(str(tmp_path / "emu"))
        from firmware_bridge.discovery import probe_port

        report = probe_port(port, timeout_s=1.5)
        assert report.protocol == "native"
        proc.send_signal(signal.SIGTERM)  # as a service manager would; Ctrl-C is tested with `live`
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "Traceback" not in err
    assert not os.path.lexists(port)


def test_a_replayed_frame_counter_plays_at_the_rate_given(tmp_path):
    """A recording that numbers its samples is replayed at --rate (and refused, saying so, without it)."""
    from vbt.io import RecordingError

    x = 1.0 + 0.2 * np.sin(np.arange(2000) * 0.005)
    path = tmp_path / "frames.csv"
    path.write_text("frame,y_m\n" + "".join(f"{i},{v:.6f}\n" for i, v in enumerate(x)))
    with pytest.raises(RecordingError, match="--rate"):
        Emulator("chronojump", replay=path)
    emu = Emulator("chronojump", replay=path, replay_rate_hz=500.0)
    assert emu.script.sample_period_s == pytest.approx(0.002)
    assert np.allclose(emu.script.t_s - emu.script.t_s[0], np.arange(2000) / 500.0)
