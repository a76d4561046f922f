"""The `vbt` command: one entry point over the three layers.

It lives in ``gui`` (the top layer, the only one allowed to reach all others) but imports Qt
only inside the `gui` subcommand, so `vbt analyze`, `vbt live` and the history commands run on
machines without a display and never load Qt.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from vbt import __version__

# Modules that add subcommands through ``register(subparsers)``, in help order.
COMMAND_MODULES = (
    "vbt.cli_analyze",  # analyze
    "firmware_bridge.cli",  # live, emulate, devices
    "vbt.cli",  # history, export, import, profile, exercises, rep
    "gui.commands",  # gui
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vbt",
        description="Barbell velocity-based training: live reps, velocity loss and stop-set alerts from a "
                    "linear position transducer, and the history of every set.",
    )
    parser.add_argument("--version", action="version", version=f"vbt {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a dependency of the module is missing: that is a real error
                raise
            logging.getLogger(__name__).debug("commands of %s are not available", name)
            continue
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `vbt history | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
