"""The compiled analysis kernels on disk: is this a first run, and a quicker numba start.

numba compiles the kernels on their first call and keeps the machine code in its cache
(``__pycache__`` beside the sources, or ``$NUMBA_CACHE_DIR``); a first run on a machine takes
~20 s, every later one loads them in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import sys

KERNEL_MODULES = ("vbt.kernels", "vbt.textscan")
FIRST_COMPILE_S = 20  # measured on a 2-core machine (README, benchmarks/bench_analyze.py)


def probably_cold() -> bool:
    """A guess, without importing numba (a second to load): no index file of the kernels where
    numba keeps them by default, or one older than the kernels' source. ``cold_kernels`` is exact."""
    import glob
    import hashlib
    import os

    import vbt

    here = os.path.dirname(os.path.abspath(vbt.__file__))
    src = os.path.join(here, "kernels.py")
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    # numba's layout: <NUMBA_CACHE_DIR>/<dir name>_<sha1 of the dir>, else __pycache__ beside the source
    where = (os.path.join(user_dir, f"{os.path.basename(here)}_{hashlib.sha1(here.encode()).hexdigest()}")
             if user_dir else os.path.join(here, "__pycache__"))
    try:
        newest = max((os.path.getmtime(p) for p in glob.glob(os.path.join(where, "kernels.*.nbi"))), default=0.0)
        return newest < os.path.getmtime(src)
    except OSError:
        return False


def cold_kernels() -> bool | None:
    """True when numba's cache lacks a kernel (the next analysis compiles), False when every
    kernel is there, None when numba's cache cannot be read this way (an unknown numba)."""
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
# numba compiles a kernel when first called and looks in its cache before compiling; so while
# this process compiles the end fits (``_fit_end`` and all below it, the largest part), a helper
# process compiles everything else into the cache, and this process then loads it instead of
# compiling it. Each half is driven by calls on a small synthetic rep with the argument types
# the analysis uses (tests/test_analyze_cli.py checks, on an empty cache, that nothing is left
# to compile afterwards).


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

    t, x, fs = _synthetic_rep()
    K._fit_end(t, x, 0, t.size, True, 1, True, np.empty(3), np.empty(2), np.full(2, 2.0))
    coeffs = np.empty(5)
    K.butter_lowpass(10.0, fs, coeffs)
    K.analyze_rep(x, fs, coeffs, 50, 100, 300, -1, 0.5, 0.01, 0.2, 60.0, 1, 0.001, np.empty(K.REP_OUT_SIZE))


def compile_rest() -> None:
    """Compile (or load) every kernel but the end fits and the rep analysis: the helper process's
    half, in the order the rep analysis calls them (the other process gets there after its fits)."""
    import numpy as np

    from vbt import kernels as K
    from vbt.config import AnalysisConfig
    from vbt.io import parse_chronojump_text, parse_csv_text
    from vbt.tracker import LiveTracker

    t, x, fs = _synthetic_rep()
    n = t.size
    coeffs = np.empty(5)
    K.butter_lowpass(10.0, fs, coeffs)
    xf = np.empty(n)
    K.filtfilt(x, coeffs, 50, xf)
    K.median_of(np.abs(x - xf))
    K._window_below(x, 100, 0, 300, 0.01)
    K.beta_from_shape(0.5, 1.5)
    init = np.array([0.0, 0.2, 0.1, 0.2, 2.0, 2.0])
    K.fit_phase_lm(t, x, 0, n, init, np.empty(6))
    K.ends_consistent(x, fs, 0.1, 0.3, 0.0, 0.2, 0.35, 0.001)
    K.final_rise_start(x, 0, 300, 0.001)
    v = np.gradient(xf) * fs
    K._descent(v, xf, -1, 100, np.zeros(3, dtype=np.int64))
    K._fit_then_refit(t, x, 0, n, 2.0, 2.0, np.empty(3), np.empty(2))
    K.ballistic_from(t, x, 0, n - 1, 0.001)
    K.curvature(t, x, 0, n - 1)
    K.takeoff_fit(t, x, 0, 200, n - 1)
    # the stream kernels, through a tracker on a still bar (no rep: nothing reaches the fits)
    tracker = LiveTracker(AnalysisConfig())
    tracker.feed(np.arange(2000) / fs, np.zeros(2000))
    tracker.finish()
    parse_chronojump_text(b"1, 0, -1")
    parse_csv_text("t_s,position_m\n0,0\n0.001,0.001\n")


def compile_in_parallel(timeout_s: float = 300.0) -> bool:
    """On a machine with two cores or more: a helper process compiles :func:`compile_rest` while
    this one compiles :func:`compile_fits`; returns when both are done (False: one core, nothing
    done). A helper that fails only means this process compiles its half later, as it would anyway."""
    import os
    import subprocess

    if (os.cpu_count() or 1) < 2:
        return False
    try:
        helper = subprocess.Popen([sys.executable, "-c", "from vbt.compile_cache import compile_rest; compile_rest()"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return False
    try:
        compile_fits()
    finally:
        try:
            helper.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
    return True


def prepare() -> None:
    """Before a first analysis: when a kernel is missing from numba's cache, compile the two halves
    at once (:func:`compile_in_parallel`); otherwise nothing (the caller's warm-up loads them)."""
    if cold_kernels():
        compile_in_parallel()


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
