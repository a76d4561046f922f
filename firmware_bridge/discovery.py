"""Finding transducers: list serial ports and ask each what it is.

:func:`list_ports` gives every serial port pyserial knows (with USB VID/PID, serial number)
plus the running emulators' links. :func:`probe_port` opens one port and asks it: the native
IDENTIFY command (a HELLO frame answers) and Chronojump's ``'J'`` probe (a ``'J'`` echo inside a
plausible 1-byte-per-ms stream answers). :func:`discover` probes all ports in parallel;
:func:`choose` picks the only transducer or says clearly why it cannot.
"""

from __future__ import annotations

import errno
import glob
import os
import threading
import time
from dataclasses import dataclass, field

import serial
from serial.tools import list_ports as _list_ports

from firmware_bridge import chronojump as cj
from firmware_bridge import native as nat
from firmware_bridge.emulator import LINK_PREFIX, emulator_dir
from firmware_bridge.protocol import DeviceIdentity, ProbeEcho

PROTOCOLS = ("chronojump", "native")
PERMISSION_HINT = (
    "add your user to the 'dialout' group (sudo usermod -aG dialout $USER) and log in again"
)


class DiscoveryError(RuntimeError):
    """No single transducer could be chosen; the message says what was found and what to do."""


class SeveralTransducers(DiscoveryError):
    """More than one transducer answered: ``reports`` are theirs, for a person to choose from."""

    def __init__(self, message: str, reports: list):
        super().__init__(message)
        self.reports = reports


@dataclass(frozen=True)
class PortInfo:
    device: str
    description: str = ""
    hwid: str = ""
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    is_emulator: bool = False

    @property
    def usb_id(self) -> str | None:
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04X}:{self.pid:04X}"

    def to_json(self) -> dict:
        return {
            "device": self.device, "description": self.description, "usb_id": self.usb_id,
            "serial_number": self.serial_number, "manufacturer": self.manufacturer, "product": self.product,
            "is_emulator": self.is_emulator,
        }


@dataclass(frozen=True)
class ProbeResult:
    """What answered on an open port. ``protocol`` None: nothing recognised."""

    protocol: str | None
    identity: DeviceIdentity | None = None
    bytes_seen: int = 0
    detail: str = ""


@dataclass(frozen=True)
class PortReport:
    """One port and what it is. ``status``: transducer, no_answer, unknown_device, busy, permission, absent, error."""

    port: PortInfo
    status: str
    message: str
    protocol: str | None = None
    identity: dict | None = field(default=None)

    @property
    def is_transducer(self) -> bool:
        return self.status == "transducer"

    def to_json(self) -> dict:
        return {**self.port.to_json(), "status": self.status, "protocol": self.protocol,
                "identity": self.identity, "message": self.message}

    def label(self) -> str:
        """What a person picks a transducer by: port, protocol, device id and firmware when known."""
        ident = self.identity or {}
        parts = [self.protocol or "unknown protocol"]
        if isinstance(ident.get("device_id"), int):
            parts.append(f"device {ident['device_id']:08X}")
        if ident.get("firmware_version") is not None:
            parts.append(f"firmware {ident['firmware_version']}")
        if self.port.usb_id:
            serial_no = f" SN {self.port.serial_number}" if self.port.serial_number else ""
            parts.append(f"USB {self.port.usb_id}{serial_no}")
        if self.port.is_emulator:
            parts.append("emulator")
        return f"{self.port.device} ({', '.join(parts)})"

    def line(self) -> str:
        serial_no = " SN " + self.port.serial_number if self.port.serial_number else ""
        usb = f" [{self.port.usb_id}{serial_no}]" if self.port.usb_id else ""
        desc = f" {self.port.description}" if self.port.description and self.port.description != "n/a" else ""
        return f"{self.port.device}{usb}{desc}: {self.message}"


# ---- listing ---------------------------------------------------------------------------------


def emulator_ports(directory: str | None = None) -> list[PortInfo]:
    """Links of running emulators (stale links, whose pty is gone, are skipped)."""
    out = []
    for path in sorted(glob.glob(os.path.join(directory or emulator_dir(), LINK_PREFIX + "*"))):
        if path.endswith(".tmp") or not os.path.exists(path):
            continue
        proto = "native" if "-native-" in os.path.basename(path) else "chronojump"
        out.append(PortInfo(path, description=f"VBT emulator ({proto})", hwid="emulator", is_emulator=True))
    return out


def list_ports(include_emulators: bool = True) -> list[PortInfo]:
    """Serial ports on this machine (pyserial's list) and, optionally, running emulators."""
    out = []
    for p in _list_ports.comports(include_links=False):
        out.append(PortInfo(p.device, p.description or "", p.hwid or "", p.vid, p.pid, p.serial_number,
                            p.manufacturer, p.product))
    if include_emulators:
        out.extend(emulator_ports())
    return out


def usb_identity(port: str) -> PortInfo | None:
    """The listed USB port behind ``port`` (a device name or a link to it), if any."""
    if "://" in port:
        return None
    try:
        real = os.path.realpath(port)
    except OSError:
        return None
    for p in list_ports(include_emulators=False):
        if p.vid is not None and os.path.realpath(p.device) == real:
            return p
    return None


# ---- probing -------------------------------------------------------------------------------


def classify_open_error(port: str, exc: BaseException) -> tuple[str, str]:
    """(kind, message) for an exception raised while opening ``port``."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text or "Device or resource busy" in text:
        return "busy", f"{port} is busy: another program has it open (close Chronojump or another vbt)"
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return "permission", f"permission denied on {port}: {PERMISSION_HINT}"
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
        return "absent", f"{port} is not present (unplugged?)"
    return "error", f"{port} cannot be opened: {text}"


def open_port(port: str, baudrate: int = 115200, timeout: float = 0.05, exclusive: bool = True) -> serial.SerialBase:
    """Open a device name, pty path or pyserial URL (``loop://``, ``socket://``...) as a port."""
    kwargs = {"baudrate": baudrate, "timeout": timeout}
    if "://" not in port and exclusive:
        kwargs["exclusive"] = True
    return serial.serial_for_url(port, **kwargs)


def identify(ser, timeout_s: float = 1.0, clock=time.monotonic) -> ProbeResult:
    """Ask an open port what it is; reads and writes only that port.

    Sends a native IDENTIFY (the device answers with HELLO); from ``0.2 s`` on also Chronojump's
    ``'J'`` (answered by ``'J'``). Chronojump is only accepted when the stream around the echo
    is a plausible count stream, so binary frames that happen to contain 0x4A are not taken
    for it.
    """
    native_dec = nat.NativeDecoder()
    cj_dec = cj.ChronojumpDecoder(startup_discard_bytes=cj.STARTUP_GARBAGE_BYTES)
    t0 = clock()
    ser.write(nat.DELIMITER + native_dec.command(nat.CMD_IDENTIFY))
    j_times = [t0 + 0.2, t0 + 0.5]
    seen = 0
    echo = False
    while clock() - t0 < timeout_s:
        if j_times and clock() >= j_times[0]:
            j_times.pop(0)
            ser.write(cj.PROBE)
        data = ser.read(max(1, ser.in_waiting))
        if not data:
            continue
        now = clock()
        seen += len(data)
        for item in native_dec.feed(data, now):
            if isinstance(item, DeviceIdentity):
                if not item.supported:
                    return ProbeResult(None, item, seen, f"native device speaking protocol version {item.protocol_version}, "  # noqa: E501
                                       f"this software speaks version {nat.PROTOCOL_VERSION}")
                return ProbeResult("native", item, seen, "native device")
        for item in cj_dec.feed(data, now):
            if isinstance(item, ProbeEcho):
                echo = True
        st = cj_dec.stats
        if echo and st.samples >= 50 and st.implausible <= 0.02 * st.samples:
            return ProbeResult("chronojump", None, seen, "Chronojump linear encoder")
    if seen == 0:
        return ProbeResult(None, None, 0, "no answer")
    return ProbeResult(None, None, seen, f"sends data ({seen} bytes) but is not a known transducer")


def probe_port(port: str | PortInfo, timeout_s: float = 1.0, baudrate: int | None = None) -> PortReport:
    """Open ``port``, identify what answers, close it. Never raises for a port problem.

    ``baudrate`` None: a serial device is tried at each native link rate (115200, then 500000)
    until something answers; ptys, emulators and URLs once (their rate means nothing).
    """
    info = port if isinstance(port, PortInfo) else PortInfo(port)
    if baudrate is not None:
        rates = (baudrate,)
    elif info.is_emulator or "://" in info.device or os.path.realpath(info.device).startswith("/dev/pts/"):
        rates = (nat.LINK_BAUDRATES[0],)
    else:
        rates = nat.LINK_BAUDRATES
    report = None
    for rate in rates:
        report = _probe_at(info, timeout_s, rate)
        if report.status not in ("no_answer", "unknown_device"):
            return report
    return report


def _probe_at(info: PortInfo, timeout_s: float, baudrate: int) -> PortReport:
    try:
        ser = open_port(info.device, baudrate=baudrate, timeout=0.05)
    except (serial.SerialException, OSError, ValueError) as exc:
        kind, msg = classify_open_error(info.device, exc)
        return PortReport(info, kind, msg)
    try:
        res = identify(ser, timeout_s)
    except (serial.SerialException, OSError) as exc:
        return PortReport(info, "error", f"{info.device} failed while probing: {exc}")
    finally:
        ser.close()
    if res.protocol == "native":
        ident = res.identity
        from firmware_bridge import calibration

        cal = calibration.counts_per_m_for(ident.device_id)
        cpm = f"{ident.counts_per_m} counts/m" + (f" (calibrated: {cal:g})" if cal else "")
        rate = f", {baudrate} baud" if baudrate != nat.LINK_BAUDRATES[0] else ""
        return PortReport(info, "transducer",
                          f"native transducer, device {ident.device_id:08X}, firmware {ident.firmware_version}, "
                          f"{cpm}{rate}", "native", {**ident.to_json(), "baudrate": baudrate})
    if res.protocol == "chronojump":
        return PortReport(info, "transducer", "Chronojump linear encoder (answers 'J')", "chronojump", None)
    if res.identity is not None:
        return PortReport(info, "wrong_device", f"{res.detail}", None, res.identity.to_json())
    if res.bytes_seen:
        return PortReport(info, "unknown_device", res.detail)
    return PortReport(info, "no_answer", "no answer to the native or Chronojump probe (not a transducer?)")


def discover(ports: list[PortInfo | str] | None = None, timeout_s: float = 1.0) -> list[PortReport]:
    """Probe every port (all listed ones by default) in parallel; reports in port order."""
    infos = [p if isinstance(p, PortInfo) else PortInfo(p) for p in (list_ports() if ports is None else ports)]
    reports: list[PortReport | None] = [None] * len(infos)

    def work(i: int) -> None:
        reports[i] = probe_port(infos[i], timeout_s)

    threads = [threading.Thread(target=work, args=(i,), name=f"probe-{i}", daemon=True) for i in range(len(infos))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s + 5.0)
    return [r if r is not None else PortReport(infos[i], "error", "probe did not finish")
            for i, r in enumerate(reports)]


def choose(reports: list[PortReport], protocol: str = "auto") -> PortReport:
    """The only transducer among ``reports`` (of ``protocol`` unless 'auto'), or DiscoveryError."""
    found = [r for r in reports if r.is_transducer and (protocol == "auto" or r.protocol == protocol)]
    if len(found) == 1:
        return found[0]
    if not found:
        lines = [r.line() for r in reports]
        what = "transducer" if protocol == "auto" else f"{protocol} transducer"
        msg = f"no {what} found."
        if lines:
            msg += " Ports checked:\n  " + "\n  ".join(lines)
        else:
            msg += " No serial ports at all."
        msg += "\nPlug the transducer in (or start one with `vbt emulate`), or name the port with --port."
        raise DiscoveryError(msg)
    lines = [r.label() for r in found]
    raise SeveralTransducers("several transducers found; choose one with --port:\n  " + "\n  ".join(lines), found)


def auto_port(protocol: str = "auto", timeout_s: float = 1.0) -> PortReport:
    """Discover and choose in one step (what ``--port auto`` does)."""
    return choose(discover(timeout_s=timeout_s), protocol)
