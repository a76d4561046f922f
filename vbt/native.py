"""The kernels as one native extension module, built once per machine from the same sources.

A process that loads numba's cached kernels spends ~0.6 s before its first sample is analysed:
importing numba (~0.2 s) and numba setting up its code generator on the first cache load
(~0.3 s), whatever the size of the recording. The same kernels compiled ahead of time by numba's
``numba.pycc`` into an extension module need neither: the module loads in a millisecond and
numba is not imported at all. It is built in a process of its own (:func:`build_in_child`, ~40 s
of one core): in the background after a first run's compile, or by any later analysis that finds
it missing (:func:`start_background_build`), or at once by ``vbt analyze --warm-up``. It sits
beside numba's cache, named by a key of the package's sources, numpy's version and the
interpreter, so an edit or an upgrade only means numba's JIT until the next build. Where it
cannot be built (no C compiler, a numba without ``pycc``), the kernels stay numba's JIT, as
before; the reason is kept beside it so that it is not retried on every run.

Which functions: those the Python side calls (the public kernels), each with the one signature
the warm-up calls compile (``vbt.compile_cache.compile_fits`` and ``compile_rest``). Their
wrappers release the GIL like numba's ``nogil`` dispatchers, so a recording's reps still run on
several threads. A call whose arrays are not what the kernel was built for (dtype, dimensions,
C order, a read-only array for a kernel that writes) raises TypeError instead of reading memory
the wrong way. Functions it does not hold (the private helpers, which only the tests call from
Python) run as plain Python there. ``VBT_NATIVE_KERNELS=0`` keeps numba's JIT; the test suite
sets it and compares the two on the real fixtures (tests/test_native.py).
"""

from __future__ import annotations

import functools
import os
import sys

ENV = "VBT_NATIVE_KERNELS"  # "0": numba's JIT even where a native module is built
PREFIX = "vbt_native_"
BUILD_S = 40  # a build after a cold cache, measured on a 2-core machine (tests/test_native.py)


def wanted() -> bool:
    """Whether this process may take the kernels from a native module."""
    return os.environ.get(ENV, "1") != "0" and os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0")


def _kernels_dir() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")


@functools.lru_cache(maxsize=None)
def key() -> str:
    """The native module's key: the sources of ``vbt`` and its kernels (the kernels, and the code
    that calls them with the argument types they were built for), numpy's version, the interpreter,
    the machine and its processor."""
    import hashlib
    import platform

    import numpy as np

    from vbt.compile_cache import kernel_sources_hash

    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for folder in (here, _kernels_dir()):
        h.update(kernel_sources_hash(folder).encode())
    h.update(f"{np.__version__}|{sys.implementation.cache_tag}|{platform.machine()}|{_cpu()}".encode())
    return h.hexdigest()[:16]


def _cpu() -> str:
    """This processor's model and features, as far as the system tells without importing LLVM: the
    module is built for the processor it runs on (as numba's JIT does), so a cache folder shared
    with another machine (a home folder on the network) must not hand it over."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [line for line in f.read(65536).splitlines()
                     if line.startswith(("model name", "flags", "Features", "CPU part"))]
        return "|".join(dict.fromkeys(lines))
    except OSError:
        return platform.processor()


def _paths(cache_dir: str, k: str) -> tuple[str, str, str]:
    """The module, its argument specs and the failure note, for key ``k`` in ``cache_dir``."""
    from importlib.machinery import EXTENSION_SUFFIXES

    base = os.path.join(cache_dir, PREFIX + k)
    return base + EXTENSION_SUFFIXES[0], base + ".json", base + ".failed"


def _where() -> str | None:
    from vbt.compile_cache import numba_cache_dir

    return numba_cache_dir(_kernels_dir())


@functools.lru_cache(maxsize=None)
def _files() -> tuple[str, str, str] | None:
    """This process's module, specs and failure note (:func:`_paths` in :func:`_where`), or None
    where numba has no writable cache folder; looked up once (the lookup writes a probe file)."""
    where = _where()
    return None if where is None else _paths(where, key())


def state() -> tuple[str, str]:
    """("built" | "missing" | "failed" | "off", words) for ``vbt doctor``."""
    if not wanted():
        return "off", f"off ({ENV}=0 or NUMBA_DISABLE_JIT set): numba's JIT"
    if _files() is None:
        return "failed", "no writable cache folder: numba's JIT, compiled on every run"
    so, _, failed = _files()
    if os.path.exists(so):
        return "built", "built: the kernels load without numba"
    if os.path.exists(failed):
        with open(failed, encoding="utf-8", errors="replace") as f:
            return "failed", (f"could not be built ({f.read().strip()[:200]}): numba's JIT; to try again: "
                              "vbt analyze --warm-up")
    return "missing", "not built yet (the next analysis builds it in the background): numba's JIT"


class NativeKernels:
    """A loaded native module and the argument specs of its functions."""

    def __init__(self, module, specs: dict):
        self.module = module
        self.specs = specs

    def kernel(self, fn):
        """The native build of kernel ``fn``, checked; ``fn`` itself when the module lacks it."""
        name = f"{fn.__module__.rsplit('.', 1)[-1]}__{fn.__name__}"
        native = getattr(self.module, name, None)
        if native is None or name not in self.specs:
            return fn
        import numpy as np

        return _checked(native, [(i, np.dtype(d), nd, writes) for i, d, nd, writes in self.specs[name]], fn)


def _dtype_spec(dtype) -> object:
    """A dtype as JSON: its string for a plain one, names, formats, offsets and size for a record."""
    if dtype.names is None:
        return dtype.str
    return {"names": list(dtype.names), "formats": [dtype.fields[n][0].str for n in dtype.names],
            "offsets": [dtype.fields[n][1] for n in dtype.names], "itemsize": dtype.itemsize}


def _same_dtype(got, want) -> bool:
    """Equal, or both records with the same fields at the same places (numpy's record arrays and
    plain structured ones compare unequal)."""
    if got == want:
        return True
    return (want.names is not None and got.names == want.names and got.itemsize == want.itemsize
            and all(got.fields[n][:2] == want.fields[n][:2] for n in want.names))


def _checked(native, arrays, fn):
    import numpy as np

    def call(*args):
        for i, dtype, ndim, writes in arrays:
            a = args[i]
            if not (isinstance(a, np.ndarray) and a.ndim == ndim and a.flags.c_contiguous
                    and (a.flags.writeable or not writes) and _same_dtype(a.dtype, dtype)):
                raise TypeError(f"{fn.__name__}: argument {i + 1} must be a C-ordered {ndim}-D {dtype} array"
                                f"{' that can be written' if writes else ''}, got {_shown(a)}")
        return native(*args)

    functools.update_wrapper(call, fn)
    call.native = native
    return call


def _shown(a) -> str:
    import numpy as np

    if not isinstance(a, np.ndarray):
        return type(a).__name__
    order = "C-ordered" if a.flags.c_contiguous else "not C-ordered"
    return f"a {order} {a.ndim}-D {a.dtype} array{'' if a.flags.writeable else ' (read-only)'}"


def load() -> NativeKernels | None:
    """The native module built for these sources on this machine, or None (then numba's JIT)."""
    if not wanted():
        return None
    try:
        import importlib.util
        import json

        if _files() is None:
            return None
        so, spec_path, _ = _files()
        if not os.path.exists(so):
            return None
        with open(spec_path, encoding="utf-8") as f:
            specs = json.load(f)
        spec = importlib.util.spec_from_file_location(PREFIX + key(), so)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return NativeKernels(module, specs)
    except (OSError, ImportError, ValueError, TypeError, KeyError):
        _remove_damaged()  # a damaged or foreign build: numba's JIT here, and the next analysis builds it again
        return None


def _remove_damaged() -> None:
    for path in _files()[:2]:
        try:
            os.remove(path)
        except OSError:
            pass


def active() -> bool:
    """Whether this process's kernels come from the native module (imports the kernels)."""
    from vbt.kernels import jit

    return jit.NATIVE is not None


def built() -> bool:
    """Wanted here and built for these sources (without loading it)."""
    return wanted() and _files() is not None and os.path.exists(_files()[0])


def forget_failure() -> None:
    """Let the next build try again after a failed one (``vbt analyze --warm-up`` asks for it)."""
    if _files() is not None:
        try:
            os.remove(_files()[2])
        except OSError:
            pass


def needs_build() -> bool:
    """Wanted here, not built for these sources, and not failed before."""
    if not wanted() or _files() is None:
        return False
    so, _, failed = _files()
    return not os.path.exists(so) and not os.path.exists(failed)


def build_in_child(timeout_s: float = 600.0) -> bool:
    """Build the native module in a child process (numba's JIT needs a cache of its own there,
    :func:`_build`). True when it is built afterwards."""
    import shutil
    import subprocess
    import tempfile

    from vbt.compile_cache import child_env

    if _files() is None:
        return False
    where = os.path.dirname(_files()[0])
    scratch = tempfile.mkdtemp(prefix="vbt-native-")
    try:
        env = dict(child_env(), NUMBA_CACHE_DIR=os.path.join(scratch, "numba-cache"), **{ENV: "0"})
        try:
            done = subprocess.run([sys.executable, "-m", "vbt.native", where, scratch], env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _note_failure(f"the build took over {timeout_s:.0f} s")
            return False
        except OSError as exc:
            _note_failure(str(exc))
            return False
        if done.returncode != 0:
            lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
            _note_failure(lines[-1] if lines else f"exit status {done.returncode}")
            return False
        _write_bytecode()
        return os.path.exists(_files()[0])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_bytecode() -> None:
    """Compile the project's Python files to bytecode beside them, as an install from a wheel does:
    where Python is told not to write bytecode (PYTHONDONTWRITEBYTECODE) every start would compile
    the sources again (~40 ms of `vbt analyze`). A folder that cannot be written is left alone."""
    import compileall

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for package in ("vbt", "vbt_cli", "gui", "firmware_bridge"):
        folder = os.path.join(root, package)
        if os.path.isfile(os.path.join(folder, "__init__.py")):
            try:
                compileall.compile_dir(folder, quiet=2)
            except OSError:
                pass


def start_background_build() -> None:
    """Start :func:`_background` in a process of its own session (it outlives this one and a
    Ctrl-C here), niced; nothing when it cannot start."""
    import subprocess

    from vbt.compile_cache import child_env

    try:
        subprocess.Popen([sys.executable, "-m", "vbt.native", "--background"], env=child_env(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError:
        pass


def _background() -> int:
    """The background build: under the compile lock (nothing when another process holds it), at
    a lower priority than the analyses a person waits for."""
    from vbt.compile_cache import compile_lock

    with compile_lock(wait=False) as mine:
        if not mine:
            return 1
        if hasattr(os, "nice"):
            os.nice(10)
        if needs_build():
            return 0 if build_in_child() else 1
    return 0


def _note_failure(why: str) -> None:
    try:
        with open(_files()[2], "w", encoding="utf-8") as f:
            f.write(why + "\n")
    except OSError:
        pass


def _array_spec(i: int, ty) -> list:
    from numba.np.numpy_support import as_dtype

    return [i, _dtype_spec(as_dtype(ty.dtype)), ty.ndim, ty.mutable]


def _build(where: str, scratch: str) -> None:
    """In a process whose numba cache is empty (so that every kernel is compiled here, with the
    LLVM code that ``pycc`` links; one loaded from the cache has machine code only): compile every
    kernel through the warm-up calls, export the public ones with the signature they got, and
    write the module and its specs beside numba's cache, the module last (atomically)."""
    import glob
    import importlib
    import json
    import warnings

    import llvmlite.binding as llvm
    from numba.core import types
    from numba.core.dispatcher import Dispatcher

    from vbt.compile_cache import KERNEL_MODULES, compile_fits, compile_rest, without_scipy_blas

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending deprecation: a failure below falls back to the JIT
        import numba.pycc.compiler as pycc_compiler
        from numba.pycc import CC
        from numba.pycc.platform import external_compiler_works
    if not external_compiler_works():
        sys.exit("no working C compiler (on Debian: apt-get install gcc)")
    # The module is named by the sources it is compiled from: the key is taken before they are
    # imported, and checked again before the module is installed (an edit or an upgrade during
    # the build would otherwise give the new sources' name to the old sources' code).
    k = key()
    with without_scipy_blas():
        compile_fits()
        compile_rest()

    class _GilFreeFlags(pycc_compiler.Flags):  # pycc's wrappers keep the GIL; numba's nogil ones let it go
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True

    pycc_compiler.Flags = _GilFreeFlags
    cc = CC(PREFIX + k)
    cc.output_dir = scratch
    cc.target_cpu = llvm.get_host_cpu_name()  # built on the machine that runs it, like the JIT
    cc.verbose = False
    specs = {}
    for module_name in KERNEL_MODULES:
        module = importlib.import_module(module_name)
        part = module_name.rsplit(".", 1)[-1]
        for name, obj in vars(module).items():
            if not isinstance(obj, Dispatcher) or obj.__module__ != module_name or name.startswith("_"):
                continue
            sigs = [s for s in obj.signatures if not any(isinstance(a, types.Literal) for a in s)]
            if len(sigs) != 1:
                continue  # not called by the warm-up (a test's helper): plain Python in a native process
            (sig,) = sigs
            restype = obj.overloads[sig].signature.return_type
            cc.export(f"{part}__{name}", restype(*sig))(obj.py_func)
            specs[f"{part}__{name}"] = [_array_spec(i, ty) for i, ty in enumerate(sig) if isinstance(ty, types.Array)]
    cc.compile()
    key.cache_clear()
    if key() != k:
        sys.exit("the sources changed while the module was built; the next analysis builds it again")
    (built,) = glob.glob(os.path.join(scratch, PREFIX + k + "*"))
    so, spec_path, failed = _paths(where, k)
    tmp = f"{spec_path}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(specs, f)
    os.replace(tmp, spec_path)
    tmp = f"{so}.{os.getpid()}"
    _copy(built, tmp)
    os.replace(tmp, so)
    for old in glob.glob(os.path.join(where, PREFIX + "*")):
        if not os.path.basename(old).startswith(PREFIX + k):
            try:
                os.remove(old)
            except OSError:
                pass


def _copy(src: str, dst: str) -> None:
    import shutil

    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755)


if __name__ == "__main__":
    if sys.argv[1:] == ["--background"]:
        sys.exit(_background())
    _build(sys.argv[1], sys.argv[2])
