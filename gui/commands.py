"""The ``vbt gui`` subcommand. Importing this module loads no Qt: the handler imports ``gui.app``
(and with it PySide6 and pyqtgraph) only when the command runs."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the live dashboard (big numbers, stop alert, history)",
        description="Open the live dashboard. Finds the transducer (or use --port), or runs the built-in "
                    "demo transducer with --demo (also offered when nothing is plugged in). Keys: Space ends "
                    "the set / gets ready for the next, N next set, M mute, 1-0 RPE after a set, Ctrl+S save "
                    "the set summary as PNG, F11 full screen, Ctrl+1 / Ctrl+2 live / history.",
    )
    p.add_argument("--port", default="auto",
                   help="serial port, pty or pyserial URL of the transducer, or 'auto' to find it (default)")
    p.add_argument("--protocol", default="auto", choices=("auto", "chronojump", "native"),
                   help="transducer protocol (default: probe)")
    p.add_argument("--demo", action="store_true",
                   help="run the built-in emulated transducer (in-process, over a real pty, through the real "
                        "reader); without --home the demo uses a throwaway history with example sessions")
    p.add_argument("--demo-protocol", default="native", choices=("chronojump", "native"),
                   help="protocol the demo transducer speaks (default: native)")
    p.add_argument("--demo-seed", type=int, default=7, help="seed of the demo lifter (default: 7)")
    p.add_argument("--inverted", action="store_true",
                   help="the transducer is mounted upside down (the cable shortens as the bar rises): ticks the "
                        "window's \"Mounted upside down\" (kept until unticked), for --port and every --rack port "
                        "(with --demo: the demo transducer is mounted so too)")
    p.add_argument("--home", default=None,
                   help="history directory (default: $VBT_HOME or the user data directory)")
    p.add_argument("--no-record", action="store_true", help="do not record the sets into the history")
    p.add_argument("--settings", default=None, metavar="INI",
                   help="keep settings and window state in this ini file instead of the platform's store")
    p.add_argument("--team", action="store_true",
                   help="the history view reads the team server (every athlete, every rack; `vbt team connect`)")
    p.add_argument("--fullscreen", action="store_true", help="start full screen")
    p.add_argument("--racks", type=int, default=None, metavar="N",
                   help="the rack overview (a weight room: one tile per transducer, each with its athlete and "
                        "exercise) with N emulated racks for a demo; 0 starts it empty (add racks with "
                        "\"Add rack...\"); without --home the emulated racks record into a throwaway history")
    p.add_argument("--rack", action="append", default=[], metavar="PORT[,ATHLETE[,EXERCISE]]",
                   help="a rack in the overview on this port, for this athlete and exercise (repeatable)")
    p.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)  # start-up benchmark
    p.set_defaults(func=_run)


def _run(args) -> int:
    import sys

    from gui.preflight import check_qt_display, install_missing

    def say(line: str) -> None:
        print(f"vbt gui: {line}", file=sys.stderr, flush=True)

    if getattr(args, "team", False):
        from vbt.team import config

        if config.load().url is None:
            say(f"no team server configured: `vbt team connect URL` or set {config.ENV_URL}")
            return 1
    check = check_qt_display()  # before Qt loads: Qt itself would abort the process
    if check.missing and install_missing(check, say):
        check = check_qt_display()
    if not check.ok:
        say(check.problem_line())
        return 1
    from gui.app import run

    return run(args)
