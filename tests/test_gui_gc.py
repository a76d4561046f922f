"""gui/gc_thread.py: while a window is up, Python's cyclic garbage is collected on the GUI thread only.

A collection tripped on a worker thread destroyed Qt objects there while the GUI thread destroyed
others, and the two threads deadlocked (Qt's object mutex against the GIL): tests/test_gui_sides.py
froze for ten minutes once.
"""

import gc
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui import gc_thread  # noqa: E402
from gui.history_view import HistoryView  # noqa: E402


class _Cycle:
    """Garbage that only the cycle collector frees; says on which thread it went."""

    def __init__(self, seen):
        self.seen = seen
        self.me = self

    def __del__(self):
        self.seen.append(threading.current_thread().name)


def test_a_worker_thread_never_collects_garbage_while_a_window_is_up(qtbot, tmp_path):
    view = HistoryView(home=tmp_path)  # any window of ours turns it on
    qtbot.addWidget(view)
    assert not gc.isenabled()
    gc.collect()
    seen = []
    _Cycle(seen)  # unreachable at once

    kept = []

    def churn():  # far past the collector's threshold of allocations, kept alive (as a loader's results are)
        kept.extend([] for _ in range(200_000))

    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join()
    assert seen == []  # automatic collection would have freed it on the worker
    qtbot.waitUntil(lambda: bool(seen), timeout=3000)
    assert seen == [threading.main_thread().name]


def test_collect_due_collects_as_the_automatic_collector_would():
    gc.collect()
    assert gc_thread.collect_due() is None  # nothing past its threshold yet
    junk = [[] for _ in range(2 * gc.get_threshold()[0])]
    was = gc.isenabled()
    gc.disable()
    try:
        junk += [[] for _ in range(2 * gc.get_threshold()[0])]
        assert gc_thread.collect_due() is not None
        assert gc.get_count()[0] < gc.get_threshold()[0]
    finally:
        if was:
            gc.enable()
    del junk
