"""`vbt doctor`: everything a set-up needs, one line each: OK, or the problem and its fix."""

from __future__ import annotations

import grp
import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor", help="check this machine's set-up: display, Qt libraries, serial ports, sound, caches",
        description="Check the display and Qt's system libraries, serial ports and the permission to open "
                    "them, a sound player for the stop alert, numba's compiled kernels, and the history file. "
                    "One line each; exit status 1 when something needs fixing.")
    p.add_argument("--home", metavar="DIR", help="history directory to check (default: $VBT_HOME or the user's)")
    p.set_defaults(func=run)


def check_display() -> tuple[bool, str]:
    try:
        from gui.preflight import check_qt_display
    except ImportError:
        return False, "the dashboard is not installed (gui package missing)"
    check = check_qt_display()
    if check.ok:
        where = f"Qt platform {check.platform}" + (f", display {os.environ['DISPLAY']}"
                                                   if check.platform == "xcb" else "")
        return True, f"{where}: the dashboard can open"
    return False, check.problem_line()


def check_serial() -> tuple[bool, str]:
    try:
        from serial.tools import list_ports
    except ImportError:
        return False, "pyserial is not installed: python3 -m pip install pyserial"
    ports = [p.device for p in list_ports.comports()]
    if not ports:
        return True, "no serial port now (plug the transducer in; `vbt devices` lists what answers)"
    denied = [p for p in ports if not os.access(p, os.R_OK | os.W_OK)]
    if not denied:
        return True, f"{len(ports)} port{'s' if len(ports) != 1 else ''} ({', '.join(ports)}), all can be opened"
    fix = ""
    if sys.platform.startswith("linux"):
        try:
            group = grp.getgrgid(os.stat(denied[0]).st_gid).gr_name
        except (KeyError, OSError):
            group = "dialout"
        fix = f"; fix: sudo usermod -aG {group} $USER, then log out and back in"
    return False, f"no permission to open {', '.join(denied)}{fix}"


def check_sound() -> tuple[bool, str]:
    from gui.sound import PLAYERS, find_player

    player = find_player()
    if player:
        return True, f"stop alert plays through {os.path.basename(player[0])}"
    names = ", ".join(c[0] for c in PLAYERS)
    return False, (f"no sound player ({names}): the stop alert is shown but silent; "
                   "fix: sudo apt-get install pulseaudio-utils (or alsa-utils)")


def check_kernels() -> tuple[bool, str]:
    from vbt.compile_cache import FIRST_COMPILE_S, cold_kernels

    cold = cold_kernels()
    if cold is None:
        return True, "numba's cache cannot be inspected with this numba version (first run may compile)"
    if cold:
        return False, (f"analysis kernels not compiled yet: the first analysis compiles them (~{FIRST_COMPILE_S} s, "
                       "once); to do it now: vbt analyze --warm-up")
    from vbt import native

    return True, f"analysis kernels compiled and cached; native module {native.state()[1]}"


def check_history(home) -> tuple[bool, str]:
    import sqlite3

    from vbt.store import database_path

    path = database_path(home)
    if not path.exists():
        ancestor = path.parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if os.access(ancestor, os.W_OK):
            return True, f"no history yet; the first recorded set creates {path}"
        return False, f"cannot create the history in {path.parent} (no permission); fix: --home DIR or VBT_HOME"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            n_sets = conn.execute("SELECT count(*) FROM sets").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return False, f"{path} cannot be read ({exc}); `vbt history repair` copies what is readable into a new file"
    if verdict != "ok":
        verdict = " ".join(str(verdict).split())[:120]
        return False, f"{path} is damaged ({verdict}); `vbt history repair` copies what is readable into a new file"
    if not os.access(path, os.W_OK):
        return False, f"{path} is read-only: new sets cannot be recorded; fix its permissions"
    return True, f"{path}: {n_sets} sets, healthy"


def run(args) -> int:
    checks = (("display", check_display), ("serial", check_serial), ("sound", check_sound),
              ("kernels", check_kernels), ("history", lambda: check_history(args.home)))
    bad = 0
    for name, check in checks:
        try:
            ok, line = check()
        except Exception as exc:  # a check that cannot run is itself a finding, never a traceback
            ok, line = False, f"could not be checked ({type(exc).__name__}: {exc})"
        bad += not ok
        print(f"{'OK     ' if ok else 'PROBLEM'} {name:8s} {line}", flush=True)
    return 1 if bad else 0
