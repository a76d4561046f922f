"""``vbt gui``: create the application, the window and the worker; run the event loop."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import replace

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from gui import gc_thread, theme
from gui.main_window import MainWindow
from gui.window_settings import APPLICATION, ORGANIZATION, default_settings
from gui.session import DemoOptions

log = logging.getLogger(__name__)


def make_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("VBT tracker")
    theme.apply(app)
    gc_thread.keep_on_gui_thread()
    return app


def parse_rack(text: str):
    """``PORT[,ATHLETE[,EXERCISE]]`` of ``--rack`` as a ``gui.racks.RackSpec``; ValueError with one line."""
    from gui.racks import RackSpec

    parts = [p.strip() for p in text.split(",")]
    if len(parts) > 3 or not parts[0]:
        raise ValueError(f"--rack {text!r}: expected PORT[,ATHLETE[,EXERCISE]]")
    spec = RackSpec(parts[0], parts[1] if len(parts) > 1 and parts[1] else "default",
                    parts[2] if len(parts) > 2 and parts[2] else "squat")
    problems = spec.live_settings().validate()
    if problems:
        raise ValueError(f"--rack {text!r}: " + "; ".join(problems))
    return spec


def rack_upside_down(args, spec):
    """A rack started from the command line, with ``--inverted``: the transducer on a ``--rack`` port
    is mounted upside down (its dashboard's "Mounted upside down" ticked); the emulated racks of
    ``--racks N`` stay upright."""
    from gui.racks import EMULATED

    if not getattr(args, "inverted", False) or spec.port == EMULATED:
        return spec
    return replace(spec, settings=replace(spec.live_settings(), upside_down=True))


def run_racks(args) -> int:
    """``vbt gui --racks N`` / ``--rack PORT,ATHLETE,EXERCISE``: the rack overview."""
    from gui.racks import RackWindow, demo_specs

    try:
        specs = [parse_rack(t) for t in args.rack]
    except ValueError as exc:
        print(f"vbt gui: {exc}", file=sys.stderr)
        return 2
    n_demo = args.racks or 0
    if n_demo < 0 or n_demo > 64:
        print(f"vbt gui: --racks {n_demo}: expected 0 to 64 emulated racks", file=sys.stderr)
        return 2
    specs += demo_specs(n_demo)
    app = make_app()
    home = args.home
    throwaway_home = None
    if home is None and n_demo and not args.rack and not args.no_record:
        throwaway_home = home = tempfile.mkdtemp(prefix="vbt-racks-history-")
    win = RackWindow(home=home, record=not args.no_record)
    if args.fullscreen:
        win.showFullScreen()
    else:
        win.show()
    pending = list(specs)

    def add_next():  # one rack per event-loop turn: the window is drawn and answers while they start
        if pending:
            spec = pending.pop(0)
            try:
                win.add_rack(rack_upside_down(args, spec))
            except ValueError as exc:
                win.statusBar().showMessage(str(exc), 15000)
            QTimer.singleShot(0, add_next)

    QTimer.singleShot(0, add_next)
    return _run_until_closed(app, win, throwaway_home)


def upside_down_demo(args, demo: DemoOptions | None) -> DemoOptions | None:
    """The demo transducer for ``--demo --inverted``: mounted upside down too (its emulator writes the
    counts negated), so that the dashboard's "Mounted upside down", which ``--inverted`` ticks, runs
    the real path and still shows the lifter's reps."""
    if demo is None or not getattr(args, "inverted", False):
        return demo
    return replace(demo, emulator_kwargs={**demo.emulator_kwargs, "inverted": True})


def run(args) -> int:
    if getattr(args, "racks", None) is not None or getattr(args, "rack", None):
        return run_racks(args)
    app = make_app()
    settings = QSettings(args.settings, QSettings.IniFormat) if args.settings else default_settings()
    home = args.home
    throwaway_home = None
    demo = None
    if args.demo:
        demo = DemoOptions(protocol=args.demo_protocol, seed=args.demo_seed)
        if home is None and not args.no_record:
            throwaway_home = tempfile.mkdtemp(prefix="vbt-demo-history-")
            home = throwaway_home
            demo = DemoOptions(protocol=args.demo_protocol, seed=args.demo_seed, seed_history=True)
    win = MainWindow(settings, home=home, record=not args.no_record)
    if getattr(args, "team", False):  # the coach's view: the history tab reads the team server
        from vbt.team import config

        win.history.use_team(config.load().url)
    if args.exit_when_shown:
        def shown():
            # wall-clock time of the first painted frame, for the start-up benchmark
            sys.stdout.write(json.dumps({"first_paint_unix_s": time.time()}) + "\n")
            sys.stdout.flush()
            win.close()

        win.on_first_paint = shown
    if args.fullscreen:
        win.showFullScreen()
    else:
        win.show()
    if getattr(args, "inverted", False):
        win.controls.upside_down.setChecked(True)  # kept, as any setting of the window, until unticked
    win.start_session(port=args.port, protocol=args.protocol, demo=upside_down_demo(args, demo))
    return _run_until_closed(app, win, throwaway_home)


def _run_until_closed(app, win, throwaway_home) -> int:
    """Qt's event loop until the window closes, then the window's shutdown (the set in progress is
    recorded) and the throwaway demo history removed. Ctrl-C in the terminal, and SIGTERM (kill,
    logout, a service manager), close the window cleanly; installed explicitly, so a dashboard
    started in the background (where the shell sets SIGINT to "ignore") still answers `kill -INT`.
    Python handlers run between Qt events, hence the timer."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: win.close())
    tick = QTimer()
    tick.start(200)
    tick.timeout.connect(lambda: None)
    try:
        app.exec()
    finally:
        win.shutdown()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if throwaway_home is not None:
            shutil.rmtree(throwaway_home, ignore_errors=True)
    return 0


def main(argv=None) -> int:
    """``python -m gui.app [options]``: the same as ``vbt gui``."""
    import argparse

    from gui.commands import register

    parser = argparse.ArgumentParser(prog="python -m gui.app")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["gui", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.INFO if os.environ.get("VBT_VERBOSE") else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
