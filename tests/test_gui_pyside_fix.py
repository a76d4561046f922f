"""gui._pyside_fix: the installed PySide6 drops references to None and True on CPython < 3.12.

Shown in child processes, since the unpatched case ends in a fatal interpreter error."""

import subprocess
import sys

import pytest

pytest.importorskip("PySide6")

STRESS = "from PySide6.QtCore import QObject\no = QObject()\nfor _ in range(300000):\n    o.setObjectName('x')\n"


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def _affected() -> bool:
    """Does a void Qt call take a reference from None here? (Measured without the fix.)"""
    out = _run("import sys\nfrom PySide6.QtCore import QObject\no = QObject()\nn = sys.getrefcount(None)\n"
               "for _ in range(50):\n    o.setObjectName('x')\nprint(n - sys.getrefcount(None))")
    assert out.returncode == 0, out.stderr
    return int(out.stdout) > 10


def test_qt_calls_do_not_exhaust_none_with_the_fix():
    out = _run("import sys\nfrom gui import _pyside_fix\n" + STRESS +
               "print(_pyside_fix.applied, sys.getrefcount(None) > 1 << 50)")
    assert out.returncode == 0, out.stderr[-500:]
    applied, huge = out.stdout.split()
    assert applied == huge  # when applied, None is effectively immortal


def test_the_bug_is_real_where_the_fix_applies():
    if sys.version_info >= (3, 12) or not _affected():
        pytest.skip("this PySide6 / CPython pair keeps its references right")
    out = _run(STRESS)
    assert out.returncode != 0 and "dealloc" in out.stderr  # "Fatal Python error: none_dealloc"
