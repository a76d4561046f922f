"""Guard against a reference-count bug of the installed PySide6 on CPython before 3.12.

What we found (PySide6-Essentials 6.12.0, CPython 3.11.7): every call of a Qt method that returns
nothing takes one reference away from ``None`` (``QLabel.setText``, ``QWidget.update``,
``processEvents``...), and every ``SignalInstance.emit()`` takes one away from ``True``. From
CPython 3.12 on these objects are immortal and nothing happens; on 3.11 their count runs down
by hundreds per second in a live dashboard (pyqtgraph emits signals on every ``setData``) and
the interpreter aborts with "Fatal Python error: none_dealloc" (or ``bool_dealloc``) after some
seconds, or at exit. ``tests/test_gui_pyside_fix.py`` shows it.

The workaround makes them immortal the way CPython 3.12 does: it adds a very large constant
to the reference counts of ``None``, ``True`` and ``False`` once, when ``gui`` first loads Qt,
and only when a probe shows the bug. The real fix is a PySide6 release without the bug or
CPython 3.12+; this module then does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: Added to each singleton's count: 2**60 references last 36 years at a billion lost per second.
BOOST = 1 << 60
applied = False


def _refcount_field(obj) -> ctypes.c_ssize_t:
    # CPython: ob_refcnt is the first field of every object (release builds).
    return ctypes.c_ssize_t.from_address(id(obj))


def probe() -> tuple[int, int]:
    """References lost by ``None`` and ``True`` over 20 void calls and 20 signal emissions."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    obj = _Probe()
    none0 = sys.getrefcount(None)
    for _ in range(20):
        obj.setObjectName("probe")
    none_lost = none0 - sys.getrefcount(None)
    true0 = sys.getrefcount(True)
    for _ in range(20):
        obj.fired.emit()
    true_lost = true0 - sys.getrefcount(True)
    obj.deleteLater()
    return none_lost, true_lost


def apply() -> bool:
    """Make None, True and False immortal if this PySide6 build needs it; True when applied."""
    global applied
    if applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    none_lost, true_lost = probe()
    if none_lost < 10 and true_lost < 10:
        return False
    for obj in (None, True, False):
        _refcount_field(obj).value += BOOST
    applied = True
    import PySide6

    log.info("PySide6 %s drops references to None/True on Python %d.%d: made them immortal",
             PySide6.__version__, *sys.version_info[:2])
    return True


apply()
