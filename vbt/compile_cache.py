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
