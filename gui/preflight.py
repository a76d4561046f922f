"""Before Qt loads: is there a display, and can Qt's X11 platform plugin load?

When a system library of Qt's xcb plugin is missing, Qt aborts the process (status 134) with a
hint that often names the wrong package. This module reads what the plugin needs (``ldd`` on the
plugin inside the installed PySide6, without importing it), and says which Debian packages are
missing: ``vbt gui`` installs them when it runs as root with apt, or prints the exact command.
Nothing here imports Qt.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Shared libraries Qt 6's xcb plugin loads (ldd on PySide6 6.11's libqxcb.so) -> Debian/Ubuntu package.
PACKAGE_OF = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
NON_X11_PLATFORMS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "wayland", "wayland-egl", "minimalegl"}


@dataclass
class QtCheck:
    """What stands between `vbt gui` and a window. ``ok`` when nothing does."""

    platform: str  # "xcb", or the platform Qt was asked for
    missing: list[str] = field(default_factory=list)  # sonames Qt's xcb plugin cannot find
    display_problem: str | None = None
    plugin: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and self.display_problem is None

    @property
    def packages(self) -> list[str]:
        return list(dict.fromkeys(PACKAGE_OF[s] for s in self.missing if s in PACKAGE_OF))

    @property
    def unknown(self) -> list[str]:
        return [s for s in self.missing if s not in PACKAGE_OF]

    def install_command(self) -> str | None:
        if not self.packages or shutil.which("apt-get") is None:
            return None
        return "sudo apt-get install " + " ".join(self.packages)

    def problem_line(self) -> str:
        """One line: what is wrong and the command that fixes it."""
        if self.missing:
            cmd = self.install_command()
            what = f"Qt's display plugin needs system libraries that are missing ({', '.join(self.missing)})"
            if cmd and not self.unknown:
                return f"{what}; install them with: {cmd}"
            return f"{what}; install the packages that provide them"
        return self.display_problem or ""


def qt_plugin_dir() -> Path | None:
    """The directory Qt will load its platform plugins from: $QT_QPA_PLATFORM_PLUGIN_PATH when set
    (Qt honours it too), else PySide6's own, found without importing PySide6."""
    override = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if override and Path(override).is_dir():
        return Path(override)
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        for sub in ("Qt/plugins/platforms", "plugins/platforms"):
            d = Path(base) / sub
            if d.is_dir():
                return d
    return None


def missing_libraries(plugin: Path) -> list[str]:
    """Sonames the dynamic loader cannot find for ``plugin`` (ldd), in ldd's order."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    missing = [line.split("=>")[0].strip() for line in out.splitlines() if "not found" in line]
    return list(dict.fromkeys(missing))


def display_problem() -> str | None:
    """Why an X11 window cannot open here, or None when the X server answers."""
    name = os.environ.get("DISPLAY")
    if not name:
        if os.environ.get("WAYLAND_DISPLAY"):
            return None  # Qt may use Wayland; it falls back to X11 through XWayland
        return ("no display: run it on the machine's desktop, or in a terminal there (DISPLAY is not set); "
                "for a window without a screen: xvfb-run vbt gui")
    path = ctypes.util.find_library("X11")
    if path is None:
        return None  # reported among the missing libraries
    try:
        xlib = ctypes.CDLL(path)
        xlib.XOpenDisplay.restype = ctypes.c_void_p
        xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        handle = xlib.XOpenDisplay(name.encode())
    except (OSError, AttributeError):
        return None
    if not handle:
        return f"cannot open the display {name} (is the X server running, and may this user use it?)"
    xlib.XCloseDisplay(handle)
    return None


def check_qt_display() -> QtCheck:
    """What would stop Qt from opening a window here (only for Qt's X11 platform; an offscreen
    or other platform asked for through QT_QPA_PLATFORM needs no check)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in NON_X11_PLATFORMS:
        return QtCheck(platform)
    if platform == "" and os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return QtCheck("wayland")
    if not sys.platform.startswith("linux"):
        return QtCheck(platform or "native")
    check = QtCheck("xcb")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        check.display_problem = display_problem()  # no screen to show a window on: libraries are moot
        return check
    plugins = qt_plugin_dir()
    plugin = plugins / "libqxcb.so" if plugins else None
    if plugin is not None and plugin.exists():
        check.plugin = str(plugin)
        check.missing = missing_libraries(plugin)
    if not check.missing:
        check.display_problem = display_problem()
    return check


def install_missing(check: QtCheck, say) -> bool:
    """As root with apt-get: install the missing packages (updating the package lists if the
    first try fails). Returns True when the libraries are then all there."""
    if not check.packages or check.unknown or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *check.packages]
    say(f"installing the system libraries Qt needs: {' '.join(check.packages)}")
    for attempt in range(2):
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode == 0:
            break
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return check.plugin is not None and not missing_libraries(Path(check.plugin))
