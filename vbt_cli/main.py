"""`vbt`: the console entry point. Each command lives in the module that owns it and is imported
only when that command runs, so `vbt --help` starts in a few hundredths of a second, `vbt analyze`
never loads serial or Qt, and only `vbt gui` loads Qt."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from vbt import __version__

# command -> (module whose ``register(subparsers)`` adds it, one-line help), in help order.
COMMANDS = {
    "gui": ("gui.commands", "open the live dashboard (big numbers, stop alert, history)"),
    "live": ("firmware_bridge.cli", "read a transducer and print reps as they happen"),
    "analyze": ("vbt_cli.analyze", "analyse recorded sets (CSV t_s,position_m or Chronojump raw signal files)"),
    "history": ("vbt.cli", "list sessions, sets and reps from the history"),
    "profile": ("vbt.cli", "load-velocity profile and estimated 1RM"),
    "plan": ("vbt_cli.plan", "create, show or edit a training plan: blocks, velocity-loss limits, zones"),
    "exercises": ("vbt.cli", "list, add or change exercises (MVT, minimum ROM)"),
    "set": ("vbt.cli", "change a recorded set: its exercise, load, side, RPE or note"),
    "rep": ("vbt.cli", "delete a miscounted rep, or restore it"),
    "sides": ("vbt_cli.method", "left against right: unilateral sets at matched loads, the gap and its trend"),
    "retest": ("vbt_cli.method", "a test against its retest: the same load's velocity and the 1RM, then and now"),
    "share": ("vbt_cli.share", "one PNG of a set or a session a coach can text (no display needed)"),
    "export": ("vbt.cli", "write the history as CSV files a spreadsheet opens"),
    "import": ("vbt.cli", "bring recordings or an export into the history"),
    "team": ("vbt.team.cli", "a team server: set it up, connect racks and coaches, sync, the coach's day"),
    "devices": ("firmware_bridge.cli", "list serial ports and the transducers answering on them"),
    "emulate": ("firmware_bridge.cli", "run an emulated transducer on a pseudo-terminal"),
    "calibrate": ("firmware_bridge.cli", "measure a native transducer's counts per metre from a pull of known length"),
    "doctor": ("vbt_cli.doctor", "check this machine's set-up: display, Qt libraries, serial ports, sound, caches"),
}

DESCRIPTION = ("Barbell velocity-based training: live reps, velocity loss and stop-set alerts from a linear "
               "position transducer, and the history of every set.")


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not a global option)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full options of the command ``argv`` names (every command when
    ``argv`` is None) and one-line stand-ins for the others."""
    parser = argparse.ArgumentParser(prog="vbt", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"vbt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = None if argv is None else _command_in(argv)
    modules = [m for m, _ in COMMANDS.values()] if argv is None else [COMMANDS[wanted][0]] if wanted in COMMANDS else []
    for name in dict.fromkeys(modules):
        importlib.import_module(name).register(sub)
    for name, (_, text) in COMMANDS.items():
        if name not in sub.choices:  # a stand-in: named in the listing, never run
            sub.add_parser(name, help=text, add_help=False).set_defaults(func=None)
    return parser


def _exit_now(rc: int) -> None:
    """End the process without the interpreter's teardown: with numba's compiler loaded that
    teardown takes ~0.25 s and has nothing to clean up once the output is flushed."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass
    os._exit(rc)


def main(argv=None) -> int:
    from_command_line = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    # A shell starting a command in the background (`vbt live &`, nohup, CI) leaves SIGINT ignored;
    # a person's Ctrl-C or `kill -INT` must still end it cleanly.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # the command as given, for a command that runs itself again (analyze)
    import logging

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.func is None:
        parser.error(f"the {args.command} command is not available in this installation")
    try:
        rc = int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `vbt history | head`
        return 0
    if from_command_line and getattr(args, "exit_now", False):
        _exit_now(rc)  # a command that keeps nothing open (analyze): no teardown to wait for
    return rc


if __name__ == "__main__":
    sys.exit(main())
