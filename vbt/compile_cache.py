"""The compiled analysis kernels on disk: is this a first run, and a quicker numba start.

numba compiles the kernels on their first call and keeps the machine code in its cache
(``__pycache__`` beside the sources, or ``$NUMBA_CACHE_DIR``); a first run on a machine takes
~20 s, every later one loads them in a fraction of a second. One process at a time compiles
(:func:`compile_lock`); another first run waits for it and loads what it compiled.

A first ``vbt analyze`` of a small recording does not wait for the compile: a background process
compiles the cache (:func:`start_background_compile`) while the analysis runs the same kernels as
plain Python (:func:`interpreted`: numba's ``NUMBA_DISABLE_JIT``), slower per rep but done in a
few seconds, with the same results (tests/test_first_run.py compares them on every fixture).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import sys

KERNEL_PACKAGE = "vbt.kernels"
KERNEL_PARTS = ("order", "stream", "filters", "turning", "phase", "flight", "staircase", "rep")  # modules with kernels
KERNEL_MODULES = (*(f"{KERNEL_PACKAGE}.{part}" for part in KERNEL_PARTS), "vbt.textscan")
FIRST_COMPILE_S = 20  # measured on a 2-core machine (README, benchmarks/bench_analyze.py)
STAMP_NAME = "kernels-source.stamp"  # beside numba's cache files of the kernels package
LOCK_NAME = "kernels-compile.lock"  # ... and the lock a compiling process holds
INTERPRETED_ENV = "NUMBA_DISABLE_JIT"  # numba's switch: "1" makes every kernel plain Python


def _kernels_dir() -> str:
    import os

    import vbt

    return os.path.join(os.path.dirname(os.path.abspath(vbt.__file__)), "kernels")


def kernel_cache_dirs(package_dir: str) -> list[str]:
    """Where numba may keep the machine code of the modules in ``package_dir``, in numba's order
    and layout: ``$NUMBA_CACHE_DIR/<dir name>_<sha1 of the dir's path>`` when set, then
    ``__pycache__`` beside the sources, then the same subpath under the user's cache dir. numba
    takes the first it can write (:func:`numba_cache_dir`)."""
    import hashlib
    import os

    package_dir = os.path.abspath(package_dir)
    subpath = f"{os.path.basename(package_dir)}_{hashlib.sha1(package_dir.encode()).hexdigest()}"
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    user_wide = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "numba")
    return [*([os.path.join(user_dir, subpath)] if user_dir else []), os.path.join(package_dir, "__pycache__"),
            os.path.join(user_wide, subpath)]


def numba_cache_dir(package_dir: str) -> str | None:
    """The cache dir numba uses for ``package_dir``: the first of :func:`kernel_cache_dirs` that
    can be made and written (numba's own test: make it, write a temporary file there). None when
    none can: numba then compiles on every run."""
    import os
    import tempfile

    for cache_dir in kernel_cache_dirs(package_dir):
        try:
            os.makedirs(cache_dir, exist_ok=True)
            tempfile.TemporaryFile(dir=cache_dir).close()
            return cache_dir
        except OSError:
            continue
    return None


def kernel_sources_hash(package_dir: str) -> str:
    """One hash of every source file of the package (names and contents)."""
    import hashlib
    import os

    h = hashlib.sha256()
    for name in sorted(os.listdir(package_dir)):
        if name.endswith(".py"):
            h.update(name.encode() + b"\0")
            with open(os.path.join(package_dir, name), "rb") as f:
                h.update(f.read() + b"\0")
    return h.hexdigest()


def _read_stamp(cache_dir: str) -> str | None:
    import os

    try:
        with open(os.path.join(cache_dir, STAMP_NAME), encoding="ascii") as f:
            return f.read().strip()
    except (OSError, ValueError):
        return None


def refresh_kernel_cache(package_dir: str) -> None:
    """Before the kernels package loads: numba checks a cached kernel against its own file only,
    so a kernel whose callee (in another file) changed would load stale machine code. When the
    package's sources differ from the stamp beside numba's cache, delete the package's cache files
    there and write the new stamp; the same in any other place numba may have used before. A cache
    dir that cannot be read or written is left alone (numba does not use it)."""
    import glob
    import os

    digest = kernel_sources_hash(package_dir)
    used = numba_cache_dir(package_dir)
    for cache_dir in kernel_cache_dirs(package_dir):
        if (cache_dir != used and not os.path.isdir(cache_dir)) or _read_stamp(cache_dir) == digest:
            continue
        try:
            for path in glob.glob(os.path.join(cache_dir, "*.nbi")) + glob.glob(os.path.join(cache_dir, "*.nbc")):
                with contextlib.suppress(FileNotFoundError):  # another process cleared it first
                    os.remove(path)
            tmp = os.path.join(cache_dir, f"{STAMP_NAME}.{os.getpid()}")
            with open(tmp, "w", encoding="ascii") as f:
                f.write(digest + "\n")
            os.replace(tmp, os.path.join(cache_dir, STAMP_NAME))
        except OSError:
            pass


def probably_cold() -> bool:
    """A guess, without importing numba (a second to load): the kernels' sources differ from the
    stamp beside numba's cache, or a kernel module has no index file there. ``cold_kernels`` is
    exact."""
    import glob
    import os

    from vbt import native

    if native.built():
        return False
    here = _kernels_dir()
    try:
        where = numba_cache_dir(here)
        if where is None or _read_stamp(where) != kernel_sources_hash(here):
            return True
        return any(not glob.glob(os.path.join(where, f"{part}.*.nbi")) for part in KERNEL_PARTS)
    except OSError:
        return False


def cold_kernels() -> bool | None:
    """True when numba's cache lacks a kernel (the next analysis compiles), False when every
    kernel is there, None when numba's cache cannot be read this way (an unknown numba)."""
    from vbt import native

    if native.active():
        return False  # the native module holds them: nothing compiles
    try:
        from numba.core.dispatcher import Dispatcher

        for name in KERNEL_MODULES:
            module = importlib.import_module(name)
            for obj in vars(module).values():
                if isinstance(obj, Dispatcher) and obj.__module__ == name:
                    if not obj._cache._cache_file._load_index():  # missing, stale or from another numba
                        return True
    except (AttributeError, ImportError, OSError, TypeError):
        return None
    return False


class _HideSciPy(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "scipy.linalg" or fullname.startswith("scipy.linalg."):
            raise ImportError(f"{fullname} is not needed by the analysis kernels")
        return None


# ---- a first run on two cores: two processes compile two halves at once --------------------
# numba compiles a kernel when first called and looks in its cache before compiling; so one
# helper process compiles the end fits (``_fit_end`` and all below it, the largest part) while
# another compiles everything else into the cache, and the process that asked then loads them.
# It compiles nothing itself: a Ctrl-C landing inside numba's compiler (in one of LLVM's ctypes
# callbacks) leaves numba half-way and raises some other error, where a Ctrl-C in a wait is clean.
# Each half is driven by calls on a small synthetic rep with the argument types the analysis
# uses (tests/test_analyze_cli.py checks, on an empty cache, that nothing is left to compile
# afterwards).


def _synthetic_rep():
    import numpy as np

    fs = 1000.0
    t = np.arange(400) / fs
    u = np.clip((t - 0.1) / 0.2, 0.0, 1.0)
    x = 0.1 * (1.0 - np.cos(np.pi * u))  # a 20 cm rise, still before and after
    return t, x, fs


def compile_fits() -> None:
    """Compile (or load) the end fits, then the rep analysis around them: this process's half."""
    import numpy as np

    from vbt import kernels as K
    from vbt.kernels.rep import _fit_end

    t, x, fs = _synthetic_rep()
    _fit_end(t, x, 0, t.size, True, 1, True, np.empty(3), np.empty(2), np.full(2, 2.0))
    coeffs = np.empty(5)
    K.butter_lowpass(10.0, fs, coeffs)
    K.analyze_rep(x, coeffs, 100, 300, -1, K.rep_settings(fs, 50, 0.5, 0.01, 0.2, 60.0, 1, 0.001, fs), K.rep_result())


def compile_rest() -> None:
    """Compile (or load) every kernel but the end fits and the rep analysis: the helper process's
    half, in the order the rep analysis calls them (the other process gets there after its fits)."""
    import numpy as np

    from vbt import kernels as K
    from vbt.config import AnalysisConfig
    from vbt.kernels.rep import _descent, _window_below
    from vbt.kernels.turning import _fit_then_refit
    from vbt.io import parse_chronojump_text, parse_csv_text
    from vbt.tracker import LiveTracker

    t, x, fs = _synthetic_rep()
    n = t.size
    coeffs = np.empty(5)
    K.butter_lowpass(10.0, fs, coeffs)
    xf = np.empty(n)
    K.filtfilt(x, coeffs, 50, xf)
    K.peak_velocity_adaptive(x, np.gradient(xf) * fs, fs, 100, 300, coeffs, 1.0, 0.001, fs)
    K.median_of(np.abs(x - xf))
    _window_below(x, 100, 0, 300, 0.01)
    K.beta_from_shape(0.5, 1.5)
    init = np.array([0.0, 0.2, 0.1, 0.2, 2.0, 2.0])
    K.fit_phase_lm(t, x, 0, n, init, np.empty(6))
    K.ends_consistent(x, fs, 0.1, 0.3, 0.0, 0.2, 0.35, 0.001, 1)
    K.final_rise_start(x, 0, 300, 0.001)
    v = np.gradient(xf) * fs
    _descent(v, xf, -1, 100, np.zeros(3, dtype=np.int64))
    _fit_then_refit(t, x, 0, n, 2.0, 2.0, np.empty(3), np.empty(2))
    K.ballistic_from(t, x, 0, n - 1, 0.001)
    K.curvature(t, x, 0, n - 1)
    K.takeoff_fit(t, x, 0, 200, n - 1, np.empty(2))
    # the stream kernels, through a tracker on a still bar (no rep: nothing reaches the fits)
    tracker = LiveTracker(AnalysisConfig())
    tracker.feed(np.arange(2000) / fs, np.zeros(2000))
    tracker.finish()
    parse_chronojump_text(b"1, 0, -1")
    parse_csv_text("t_s,position_m\n0,0\n0.001,0.001\n")


def compile_in_parallel(timeout_s: float = 300.0) -> bool:
    """Compile every kernel into numba's cache in helper processes, :func:`compile_fits` and
    :func:`compile_rest` at once on two cores or more (one after the other on one); returns when
    they are done, True when both succeeded. A helper that fails only means the caller compiles
    what is missing when it first calls it, as it would anyway. When another process is compiling
    (:func:`compile_lock`), this one waits for it instead."""
    with compile_lock():
        if cold_kernels() is False:
            return True  # another process compiled them while this one waited
        return _compile_halves(timeout_s)


def _compile_halves(timeout_s: float) -> bool:
    import os
    import subprocess
    import time

    one_core = (os.cpu_count() or 1) < 2
    halves = [("compile_fits", "compile_rest")] if one_core else [("compile_fits",), ("compile_rest",)]
    helpers = []
    try:
        for names in halves:
            code = f"from vbt.compile_cache import {', '.join(names)}; " + "; ".join(f"{n}()" for n in names)
            helpers.append(subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env()))
    except OSError:
        pass
    # interrupted here (Ctrl-C, SIGTERM): no waiting for the helpers, which end their halves alone
    deadline = time.monotonic() + timeout_s
    for helper in helpers:
        try:
            helper.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
    return len(helpers) == len(halves) and all(h.returncode == 0 for h in helpers)


def _lock_path() -> str:
    """Beside numba's cache of the kernels where there is one, else in the temp dir."""
    import hashlib
    import os
    import tempfile

    here = _kernels_dir()
    cache_dir = numba_cache_dir(here)
    if cache_dir is not None:
        return os.path.join(cache_dir, LOCK_NAME)
    return os.path.join(tempfile.gettempdir(), f"vbt-{hashlib.sha1(here.encode()).hexdigest()[:12]}-{LOCK_NAME}")


@contextlib.contextmanager
def compile_lock(wait: bool = True):
    """Held by a process while it compiles the kernels into numba's cache, so that a second first
    run waits and then loads them rather than compiling the same kernels on the same cores. Yields
    True when held (or when no lock can be taken here: then nothing is serialised), False when
    ``wait`` is False and another process holds it."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock
        yield True
        return
    try:
        f = open(_lock_path(), "a")
    except OSError:
        yield True
        return
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            held = True
        except BlockingIOError:
            held = False
        except OSError:  # a file system without locks
            held = None
        yield held is not False


def first_run_words() -> str | None:
    """What a live view says before its kernels load on a first run (how long that takes), else None."""
    if probably_cold():
        return f"preparing the analysis (a first run compiles it: ~{FIRST_COMPILE_S} s, once)"
    return None


def preparing_words() -> str:
    """What a live view says while its kernels load."""
    return first_run_words() or "preparing the analysis"


def compiling_elsewhere() -> bool:
    """Whether another process holds the compile lock now (a background compile at work)."""
    with compile_lock(wait=False) as free:
        return not free


def interpreted() -> bool:
    """True when the kernels run as plain Python (numba's ``NUMBA_DISABLE_JIT=1``, read when numba
    is imported): a first run's small analysis, or a person who asked for it."""
    from vbt.kernels import jit

    if jit.NATIVE is not None:
        return False
    import numba

    return bool(numba.config.DISABLE_JIT)


def child_env() -> dict:
    """This process's environment for a process that must run the compiled kernels, with this
    package importable whatever that process's working directory."""
    import os

    import vbt

    env = {k: v for k, v in os.environ.items() if k != INTERPRETED_ENV}
    root = os.path.dirname(os.path.dirname(os.path.abspath(vbt.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def start_background_compile():
    """Start a process, in its own session so that it outlives this one and a Ctrl-C here, that
    compiles every kernel into numba's cache (:func:`main`). Returns its Popen, or None when numba
    cannot keep a cache here or the process cannot start."""
    import subprocess

    if numba_cache_dir(_kernels_dir()) is None:
        return None
    try:
        return subprocess.Popen([sys.executable, "-m", "vbt.compile_cache"], env=child_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        return None


def main() -> int:
    """The background compile: every kernel into numba's cache, both halves at once on two cores;
    nothing when another process holds the compile lock (it is compiling them) or they are cached.
    Exit status 0 when the kernels are cached afterwards."""
    import os

    with compile_lock(wait=False) as mine:
        if not mine:
            return 1  # another process compiles: whoever waits on this one waits on the lock too
        if hasattr(os, "nice"):
            os.nice(10)  # the analysis a person waits for comes first; this (and its helper) takes the rest
        with without_scipy_blas():
            if cold_kernels() is not False:
                _compile_halves(300.0)
                compile_fits()  # loads what the helpers compiled, or compiles what they could not
                compile_rest()
            if cold_kernels() is not False:
                return 1
    start_native_build()  # its own process: whoever waits on this one waits for numba's cache only
    return 0


def prepare() -> None:
    """Before a first analysis: when a kernel is missing from numba's cache, compile the two halves
    at once (:func:`compile_in_parallel`); otherwise nothing (the caller's warm-up loads them)."""
    if cold_kernels():
        compile_in_parallel()
    start_native_build()


def start_native_build() -> None:
    """When the native module of these kernels is wanted and not built (vbt.native): build it in
    a background process."""
    from vbt import native

    if native.needs_build() and not compiling_elsewhere():
        native.start_background_build()


@contextlib.contextmanager
def without_scipy_blas():
    """While numba sets itself up (its first compile or cache load), it imports SciPy's BLAS when
    SciPy is installed, only to learn whether ``np.dot`` can be compiled: half a second our
    kernels, which use no BLAS, do not need. Inside this block ``scipy.linalg`` is not importable
    (unless already imported; ``import numba`` itself imports only the light top of SciPy). A
    kernel that used BLAS would fail to compile here, which the first-run test (cold cache) shows."""
    if "scipy.linalg" in sys.modules:
        yield
        return
    finder = _HideSciPy()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


if __name__ == "__main__":
    sys.exit(main())
