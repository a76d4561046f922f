"""Discovery: what answers on each port, and the choice `--port auto` makes."""

import errno
import os
import threading
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
