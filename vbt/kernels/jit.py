"""How a kernel becomes machine code: numba compiles it on its first call (and keeps it in its
on-disk cache), or, where this machine has built one, it comes from the native module compiled
from the same sources (``vbt.native``), which loads without numba in a millisecond.

Every kernel module decorates its kernels with this ``njit`` instead of numba's; the package sets
``NATIVE`` before its first kernel module loads and never changes it afterwards.
"""

from __future__ import annotations

NATIVE = None  # a vbt.native.NativeKernels while the kernels come from the native module


def njit(**options):
    """numba's ``njit(**options)``, or the native module's build of the same function."""

    def wrap(fn):
        if NATIVE is not None:
            return NATIVE.kernel(fn)
        from numba import njit as numba_njit

        return numba_njit(**options)(fn)

    return wrap
