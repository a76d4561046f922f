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

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from gui import theme
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
    return app


def run(args) -> int:
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
    win.start_session(port=args.port, protocol=args.protocol, demo=demo)
    # Ctrl-C in the terminal, and SIGTERM (kill, logout, a service manager), close the window
    # cleanly: the set in progress is recorded. Installed explicitly, so a dashboard started in the
    # background (where the shell sets SIGINT to "ignore") still answers `kill -INT`. Python
    # handlers run between Qt events, hence the timer.
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
