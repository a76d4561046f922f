"""Discovery: what answers on each port, and the choice `--port auto` makes."""

import errno
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
import tty

import pytest
import serial

from firmware_bridge import discovery
from firmware_bridge.cli import main
from firmware_bridge.discovery import DiscoveryError, PortInfo, PortReport
from firmware_bridge.emulator import Emulator

pytestmark = pytest.mark.usefixtures("emulator_dir")


@pytest.fixture
def mute_pty():
    """A serial port with nothing behind it that answers."""
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    os.close(slave)
    os.set_blocking(master, False)
    yield master, name
    os.close(master)


@pytest.mark.parametrize("protocol", ["chronojump", "native"])
def test_probe_identifies_each_protocol(protocol):
    with Emulator(protocol, device_id=0xBEEF) as emu:
        report = discovery.probe_port(emu.port, timeout_s=1.5)
    assert report.status == "transducer" and report.protocol == protocol
    if protocol == "native":
        assert report.identity["device_id"] == 0xBEEF and "0000BEEF" in report.message


def test_emulators_are_listed_from_the_registry():
    with Emulator("native") as a, Emulator("chronojump") as b:
        listed = {p.device: p for p in discovery.emulator_ports()}
        assert set(listed) == {a.port, b.port}
        assert listed[a.port].is_emulator and "native" in listed[a.port].description
    assert discovery.emulator_ports() == []  # links are removed when emulators stop


def test_mute_port_garbage_port_and_busy_port(mute_pty):
    master, name = mute_pty
    assert discovery.probe_port(name, timeout_s=0.4).status == "no_answer"
    # Something that talks, but no known protocol: a device sending its own binary data.
    stop = threading.Event()

    def chatter():
        while not stop.wait(0.01):
            try:
                os.write(master, bytes(range(100, 200)))
            except OSError:  # nobody has the port open: the pty refuses once its buffer is full
                pass

    talker = threading.Thread(target=chatter)
    talker.start()
    try:
        report = discovery.probe_port(name, timeout_s=0.4)
    finally:
        stop.set()
        talker.join()
    assert report.status == "unknown_device" and "not a known transducer" in report.message
    with serial.serial_for_url(name, exclusive=True):
        report = discovery.probe_port(name, timeout_s=0.4)
    assert report.status == "busy" and "busy" in report.message


def test_open_errors_are_classified_for_people():
    kind, msg = discovery.classify_open_error("/dev/ttyACM0", serial.SerialException(errno.EACCES, "denied"))
    assert kind == "permission" and "dialout" in msg
    kind, msg = discovery.classify_open_error("/dev/ttyACM0", serial.SerialException(errno.ENOENT, "x"))
    assert kind == "absent"
    report = discovery.probe_port("/nonexistent/ttyUSB9", timeout_s=0.2)
    assert report.status == "absent"


def _report(device, status, protocol=None):
    return PortReport(PortInfo(device), status, f"{status} here", protocol)


def test_choose_the_only_transducer_or_say_why_not():
    one = [_report("/dev/ttyS0", "no_answer"), _report("/dev/ttyACM0", "transducer", "native")]
    assert discovery.choose(one).port.device == "/dev/ttyACM0"
    with pytest.raises(DiscoveryError, match="(?s)no transducer found.*ttyS0.*no_answer here.*--port"):
        discovery.choose([_report("/dev/ttyS0", "no_answer"), _report("/dev/ttyUSB0", "busy")])
    with pytest.raises(DiscoveryError, match="No serial ports"):
        discovery.choose([])
    two = one + [_report("/dev/ttyACM1", "transducer", "chronojump")]
    with pytest.raises(DiscoveryError, match="(?s)several transducers.*ttyACM0.*ttyACM1"):
        discovery.choose(two)
    assert discovery.choose(two, protocol="chronojump").port.device == "/dev/ttyACM1"


def test_auto_finds_the_only_emulator():
    with Emulator("native") as emu:
        found = discovery.choose(discovery.discover(discovery.emulator_ports(), timeout_s=1.5))
        assert found.port.device == emu.port and found.protocol == "native"


def test_devices_command_lists_emulators(capsys):
    with Emulator("chronojump") as emu:
        assert main(["devices", "--timeout", "1.5"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if emu.port in ln)
    assert line.startswith("*") and "Chronojump" in line


def _vbt_live(args, env):
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(env, PYTHONPATH=str(root) + os.pathsep + env.get("PYTHONPATH", ""))
    return [sys.executable, "-m", "vbt_cli", "live", *args], env


def test_live_with_two_transducers_and_no_terminal_says_to_pass_port(emulator_dir, tmp_path):
    with Emulator("native", seed=3) as native, Emulator("chronojump", seed=4) as cj:
        cmd, env = _vbt_live(["--duration", "5", "--no-record"], dict(os.environ))
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stderr
    assert "several transducers found; choose one with --port" in out.stderr
    assert f"{native.port} (native, device " in out.stderr and f"{cj.port} (chronojump" in out.stderr


def test_live_with_two_transducers_on_a_terminal_asks_which(emulator_dir, tmp_path):
    """stdin and stderr on a real pty, as in a terminal: the list, the question, the chosen port opened."""
    with Emulator("native", seed=3), Emulator("chronojump", seed=4) as cj:
        master, slave = pty.openpty()
        cmd, env = _vbt_live(["--duration", "4", "--no-record", "--jsonl"], dict(os.environ))
        proc = subprocess.Popen(cmd, env=env, stdin=slave, stderr=slave, stdout=subprocess.PIPE, text=True)
        os.close(slave)
        seen, deadline = b"", time.monotonic() + 60
        try:
            while b"which one?" not in seen and time.monotonic() < deadline:
                if select.select([master], [], [], 0.5)[0]:
                    seen += os.read(master, 4096)
            text = seen.decode()
            assert "several transducers answered:" in text, text
            listed = [line.strip() for line in text.splitlines() if line.strip()[:2] in ("1.", "2.")]
            (choice,) = [line.split(".")[0] for line in listed if "(chronojump" in line]
            os.write(master, f"{choice}\n".encode())
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            os.close(master)
    assert proc.returncode == 0
    first = json.loads(out.splitlines()[0])
    assert first["event"] == "connected" and first["port"] == cj.port and first["protocol"] == "chronojump"
