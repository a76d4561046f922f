"""Take the documentation screenshots of the running dashboard (``python -m gui.screenshots DIR``).

Runs the real application with the demo transducer (emulator on a pty, real reader, real tracker)
lifting one scripted squat set at 100 kg, over a throwaway history filled with example sessions,
and saves, driven by the app's own signals:

* ``live.png``: mid-set, after the rep that enters the warning band;
* ``stop.png``: the stop alert, in the bright phase of its flash;
* ``history.png``: the History tab, load-velocity profile of the squat with its 1RM and interval;
* ``history-set.png``: the set just lifted, re-plotted from the history.

Under an X server (``xvfb-run -s "-screen 0 1600x900x24" python -m gui.screenshots docs``) the
pictures are real screen grabs; on the offscreen platform they are renders of the window.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile

from gui import _pyside_fix  # noqa: F401
from PySide6.QtCore import QSettings, QTimer

from gui.app import make_app
from gui.demo import scripted_sets, seed_demo_history
from gui.main_window import MainWindow
from gui.session import DemoOptions, LiveSettings
from gui.sound import CuePlayer

log = logging.getLogger(__name__)

# best 0.68 at rep 2; rep 5 in the warning band (8.8 % loss); rep 6 crosses 10 % (11.8 %)
SET_VELOCITIES = [0.66, 0.68, 0.66, 0.64, 0.62, 0.60]


class ScreenshotRun:
    def __init__(self, out_dir: str, width: int = 1600, height: int = 900):
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.app = make_app()
        self.tmp = tempfile.mkdtemp(prefix="vbt-screens-")
        self.home = os.path.join(self.tmp, "history")
        n = seed_demo_history(self.home, seed=7, sessions=12, athlete="demo")
        log.info("example history: %d sets", n)
        settings = QSettings(os.path.join(self.tmp, "settings.ini"), QSettings.IniFormat)
        self.win = MainWindow(settings, home=self.home, cue_player=CuePlayer(player=()))
        self.win.controls.set_settings(LiveSettings(athlete="demo", exercise="squat", load_kg=100.0,
                                                    set_end_stillness_s=2.0))
        self.win.resize(width, height)
        self.win.move(0, 0)
        self.saved: list[str] = []
        self.failed = False
        b = self.win.bridge
        b.rep.connect(self._on_rep)
        b.stop.connect(self._on_stop)
        b.set_saved.connect(self._on_saved)
        self.win.history.loader.loaded.connect(self._on_history)
        self._want_profile = False
        self._want_set = False
        self.watchdog = QTimer()
        self.watchdog.setSingleShot(True)
        self.watchdog.timeout.connect(self._give_up)

    def grab(self, name: str) -> None:
        path = os.path.join(self.out_dir, name)
        screen = self.app.primaryScreen()
        if self.app.platformName() == "xcb":
            pixmap = screen.grabWindow(0, 0, 0, self.win.width(), self.win.height())
        else:
            pixmap = self.win.grab()
        pixmap.save(path, "PNG")
        self.saved.append(path)
        log.info("saved %s (window %dx%d)", path, self.win.width(), self.win.height())

    def _on_rep(self, ev) -> None:
        if ev.payload.rep.index == 5:
            QTimer.singleShot(400, lambda: self.grab("live.png"))

    def _on_stop(self, ev) -> None:
        QTimer.singleShot(60, lambda: self.grab("stop.png"))  # the flash starts bright for 220 ms

    def _on_saved(self, ev) -> None:
        self.set_id = ev.payload.set_id
        QTimer.singleShot(500, self._history)

    def _history(self) -> None:
        w = self.win
        w.tabs.setCurrentIndex(1)
        view = w.history
        self._want_profile = True
        view.tabs.setCurrentIndex(2)
        view.choose_exercise("squat")

    def _on_history(self, kind: str, result) -> None:
        if kind == "profile" and self._want_profile:
            self._want_profile = False
            QTimer.singleShot(400, self._profile_done)
        elif kind == "set" and self._want_set:
            self._want_set = False
            QTimer.singleShot(400, self._set_done)

    def _profile_done(self) -> None:
        self.grab("history.png")
        self._want_set = True
        self.win.history.tabs.setCurrentIndex(0)
        self.win.history.show_set(self.set_id)

    def _set_done(self) -> None:
        self.grab("history-set.png")
        self.win.close()

    def _give_up(self) -> None:
        log.error("screenshots did not complete in time; saved so far: %s", self.saved)
        self.failed = True
        self.win.close()

    def run(self) -> int:
        script = scripted_sets([SET_VELOCITIES], rom_m=0.5, lead_in_s=2.0, eccentric_s=0.9, lockout_s=0.6,
                               rest_s=30.0)
        self.win.show()
        self.win.start_session(demo=DemoOptions(protocol="native", seed=7, script=script))
        self.watchdog.start(90_000)
        self.app.exec()
        self.win.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return 1 if self.failed or len(self.saved) < 4 else 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    out = argv[0] if argv else "docs"
    return ScreenshotRun(out).run()


if __name__ == "__main__":
    sys.exit(main())
