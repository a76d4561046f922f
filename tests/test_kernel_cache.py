"""numba's on-disk cache checks a kernel against its own source file only: a caller whose callee
lives in another file keeps the callee's old machine code. The kernels package guards against
that (vbt.compile_cache.refresh_kernel_cache): these tests change a callee in a copy of the
package and watch the caller, in fresh processes, as a user's next run would."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys

import pytest

import vbt
from vbt import compile_cache

KERNELS = os.path.join(os.path.dirname(os.path.abspath(vbt.__file__)), "kernels")
# rep._level_at (the caller) interpolates the recording through order._interp_idx (the callee)
CALL = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import kcopy; "
        "print(kcopy.rep._level_at(np.linspace(0.0, 1.0, 101), 0.25, 100.0))")
CALLEE = "    return arr[i] * (1.0 - f) + arr[i + 1] * f\n"


def _copy(tmp_path, guard: bool):
    root = tmp_path / ("guarded" if guard else "unguarded")
    pkg = root / "kcopy"
    shutil.copytree(KERNELS, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    if not guard:
        init = pkg / "__init__.py"
        text = init.read_text()
        assert "\n_refresh_kernel_cache(" in text
        init.write_text(text.replace("\n_refresh_kernel_cache(", "\n(lambda _: None)("))
    return root, pkg


def _level(root) -> float:
    run = subprocess.run([sys.executable, "-c", CALL, str(root)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return float(run.stdout.strip().splitlines()[-1])


def _change_callee(pkg) -> None:
    order = pkg / "order.py"
    text = order.read_text()
    assert text.count(CALLEE) == 1
    order.write_text(text.replace(CALLEE, CALLEE.replace(" * f\n", " * f + 1.0\n")))


@pytest.mark.parametrize("where", ["numba_cache_dir", "beside_the_sources"])
def test_a_callers_cached_code_follows_a_change_in_a_callees_file(tmp_path, monkeypatch, where):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    if where == "numba_cache_dir":
        monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))

    # numba alone: the caller loads its cached machine code, the callee's change unseen
    root, pkg = _copy(tmp_path, guard=False)
    assert _level(root) == 0.25
    _change_callee(pkg)
    assert _level(root) == 0.25  # stale: what the guard is for

    # with the package's stamp: the change reaches the caller
    root, pkg = _copy(tmp_path, guard=True)
    assert _level(root) == 0.25
    cache_dir = compile_cache.kernel_cache_dirs(str(pkg))[0]
    assert any(name.startswith("rep._level_at") and name.endswith(".nbi") for name in os.listdir(cache_dir))
    assert _level(root) == 0.25  # unchanged sources: the cache is kept (the stamp matches)
    _change_callee(pkg)
    assert _level(root) == 1.25
    with open(os.path.join(cache_dir, compile_cache.STAMP_NAME)) as f:
        assert f.read().strip() == compile_cache.kernel_sources_hash(str(pkg))


def test_a_cache_dir_that_cannot_be_written_is_left_alone(tmp_path, monkeypatch):
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(not_a_dir))
    compile_cache.refresh_kernel_cache(KERNELS)  # no exception
    assert compile_cache.numba_cache_dir(KERNELS) != compile_cache.kernel_cache_dirs(KERNELS)[0]


TINY = "from numba import njit\n\n\n@njit(cache=True)\ndef twice(x):\n    return 2 * x\n"


@pytest.mark.parametrize("case", ["numba_cache_dir", "numba_cache_dir_unwritable", "beside_unwritable_too"])
def test_the_cache_dir_is_the_one_numba_uses(tmp_path, monkeypatch, case):
    """numba takes $NUMBA_CACHE_DIR, else ``__pycache__`` beside the sources, else the user's cache
    dir, skipping any it cannot write (an installed package a user cannot write, a bad setting):
    numba_cache_dir must name the one numba really used, or a first run is guessed wrongly."""
    pkg = tmp_path / "src" / "tinypkg"
    pkg.mkdir(parents=True)
    (pkg / "tiny.py").write_text(TINY)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache" if case == "numba_cache_dir" else not_a_dir))
    if case == "beside_unwritable_too":
        (pkg / "__pycache__").write_text("")  # a file where the dir would be: numba cannot use it
    run = subprocess.run([sys.executable, "-c", "import tiny; print(tiny.twice(21))"], capture_output=True,
                         text=True, timeout=120, cwd=pkg, env=dict(os.environ))
    assert run.returncode == 0 and run.stdout.strip() == "42", run.stderr
    used = [d for d in compile_cache.kernel_cache_dirs(str(pkg))
            if os.path.isdir(d) and any(name.endswith(".nbi") for name in os.listdir(d))]
    expected = {"numba_cache_dir": 0, "numba_cache_dir_unwritable": 1, "beside_unwritable_too": 2}[case]
    assert used == [compile_cache.kernel_cache_dirs(str(pkg))[expected]]
    assert compile_cache.numba_cache_dir(str(pkg)) == used[0]


def _read(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _called_names(tree) -> set:
    return {n.func.id if isinstance(n.func, ast.Name) else n.func.attr for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))}


def test_every_kernel_is_compiled_by_the_package_itself():
    """compile_cache.cold_kernels() calls the cache cold while any kernel of the kernel modules has
    no cached index, and numba writes one only for a kernel that was compiled: by the warm-up
    (which runs the package's own analysis) or as the callee of a kernel it compiles. A kernel that
    only a test calls (as the Beta table's wrapper did, session 49) stays cold for good, and every
    `vbt analyze` then announced a first run and compiled again. Each kernel must be called by
    another kernel or by the package's own Python code."""
    jitted, called = set(), set()
    for part in compile_cache.KERNEL_PARTS:
        for node in ast.walk(ast.parse(_read(os.path.join(KERNELS, part + ".py")))):
            if isinstance(node, ast.FunctionDef) and any("njit" in ast.unparse(d) for d in node.decorator_list):
                jitted.add(node.name)
                called |= _called_names(node) - {node.name}
    root = os.path.dirname(os.path.dirname(os.path.abspath(vbt.__file__)))
    for package in ("vbt", "vbt_cli"):
        for folder, _, files in os.walk(os.path.join(root, package)):
            if os.path.basename(folder) == "kernels":
                continue
            for name in files:
                if name.endswith(".py"):
                    called |= _called_names(ast.parse(_read(os.path.join(folder, name))))
    never = sorted(jitted - called)
    assert never == [], f"kernels that nothing in the package calls, so no warm-up compiles: {never}"
