"""Python's cyclic garbage collector, run on the GUI thread only.

CPython collects reference cycles in whichever thread happens to cross the allocation threshold.
The dashboard runs a session thread, history loaders, image and sound writers; when one of them
tripped a collection that held a Qt object (any Qt object caught in a reference cycle), the
object was destroyed on that thread, against Qt's rule, while the GUI thread destroyed
another: each took a lock the other held (Qt's object mutex, Python's GIL) and the window froze.
Seen once in the test suite (tests/test_gui_sides.py, the session thread collecting while the
window's frame timer deleted a menu; both threads waited for ten minutes).

So while a window is up, automatic collection is off and a timer on the GUI thread collects the
generations whose counts passed their thresholds, as the automatic collector would have, a few
times a second (the pattern calibre and pyqtgraph use). Objects freed by their reference count
(nearly all) go as before, on whatever thread drops them.
"""

from __future__ import annotations

import gc

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QCoreApplication, QTimer

CHECK_MS = 200  # how often the GUI thread looks at the collector's counts

_timer: QTimer | None = None


def collect_due() -> int | None:
    """Collect the oldest generation whose count passed its threshold (None: none did)."""
    counts = gc.get_count()
    thresholds = gc.get_threshold()
    if counts[0] <= thresholds[0]:
        return None
    generation = 0
    for g in (1, 2):
        if counts[g] > thresholds[g]:
            generation = g
    gc.collect(generation)
    return generation


def keep_on_gui_thread() -> None:
    """Turn automatic collection off and collect from a timer on the GUI thread instead, until the
    application quits. Call it on the GUI thread once the QApplication exists; calling it again
    (every window does) only turns automatic collection off again."""
    global _timer
    app = QCoreApplication.instance()
    if app is None:
        return
    gc.disable()
    if _timer is not None:
        try:
            if _timer.parent() is app:
                return
        except RuntimeError:  # the application it belonged to is gone
            pass
    _timer = QTimer(app)
    _timer.setInterval(CHECK_MS)
    _timer.timeout.connect(collect_due)
    _timer.start()
    app.aboutToQuit.connect(release)


def release() -> None:
    """Collect everything now, on this (the GUI) thread, and give collection back to Python: for
    when no window and no worker thread is left (the application quits, or a test has ended)."""
    gc.collect()
    gc.enable()
