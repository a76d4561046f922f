"""Three layers, one direction: vbt knows neither serial nor Qt; firmware_bridge knows no Qt."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "vbt": {"serial", "PySide6", "pyqtgraph", "shiboken6", "firmware_bridge", "gui"},
    "firmware_bridge": {"PySide6", "pyqtgraph", "shiboken6", "gui"},
}


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node.lineno
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield node.args[0].value.split(".")[0], node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name, line in _imports(path):
            if name in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not bad, "layering broken:\n" + "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("import serial\nfrom PySide6 import QtCore\n")
    assert {n for n, _ in _imports(p)} == {"serial", "PySide6"}


def test_gui_package_import_does_not_load_qt():
    import subprocess
    import sys

    code = ("import sys, gui, vbt_cli.main, vbt_cli.analyze; vbt_cli.main.build_parser(); "
            "print('PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
