"""The kernels' native module (vbt.native): built once on this machine by `vbt analyze --warm-up`, it
gives numba's JIT results on real and simulated recordings, whole files and live chunks alike, in a
process that never imports numba; it refuses arrays it was not built for; and a build that cannot
be done (no C compiler) is said once and leaves numba's JIT in place.

The rest of the suite runs numba's JIT (tests/conftest.py sets VBT_NATIVE_KERNELS=0)."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.test_first_run import assert_same_results, lines_by_path, real_and_family_recordings
from vbt.io import write_chronojump
from vbt.simulate import SensorSpec, simulate_session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDING = "Building the analysis as a native module"


def run(args, env, timeout=900, module=True):
    cmd = [sys.executable, "-m", "vbt_cli", *args] if module else [sys.executable, "-c", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def envs(tmp_path_factory):
    """(native, jit) environments sharing one numba cache, where `vbt analyze --warm-up` compiled
    the kernels and built their native module."""
    cache = tmp_path_factory.mktemp("native") / "numba-cache"
    native = dict(os.environ, NUMBA_CACHE_DIR=str(cache), VBT_NATIVE_KERNELS="1")
    done = run(["analyze", "--warm-up"], native)
    assert done.returncode == 0, done.stderr
    assert BUILDING in done.stderr, done.stderr
    assert glob.glob(str(cache / "*" / "vbt_native_*.so")), done.stderr
    again = run(["analyze", "--warm-up"], native)
    assert again.returncode == 0 and BUILDING not in again.stderr, again.stderr  # built once
    return native, dict(native, VBT_NATIVE_KERNELS="0")


@pytest.mark.slow
def test_a_native_process_never_imports_numba_and_doctor_says_so(envs):
    native, jit = envs
    probe = ("import sys; from vbt.io import read_recording; from vbt.analysis import analyze; "
             "from vbt import native; rec = read_recording('fixtures/real/chronojump_rep_from_rest.txt'); "
             "r = analyze(rec.t_s, rec.position_m); print(len(r.reps), native.active(), 'numba' in sys.modules)")
    assert run([probe], native, module=False).stdout.split() == ["1", "True", "False"]
    assert run([probe], jit, module=False).stdout.split() == ["1", "False", "True"]
    doctor = run(["doctor"], native)
    assert "native module built" in doctor.stdout, doctor.stdout


@pytest.mark.slow
def test_native_kernels_give_the_jit_results_on_real_and_simulated_recordings(envs, tmp_path):
    """Every real fixture, a set of every motion family (both formats, three sensor kinds) and a
    ten-minute session in one file (its reps analysed on two threads): the same reps, qualities,
    stop rep and numbers as numba's JIT; the folder on two processes too."""
    native, jit = envs
    files = real_and_family_recordings(tmp_path, 950)
    args = ["analyze", *files, "--json", "--load-kg", "80", "--jobs", "2"]
    a, b = run(args, native), run(args, jit)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    got, want = lines_by_path(a.stdout), lines_by_path(b.stdout)
    assert got.keys() == want.keys() and len(got) == len(files)
    for name in want:
        assert_same_results(got[name], want[name], name)

    session = simulate_session(5, n_sets=8, rest_s=30.0, style="squat",
                               sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001, noise_m=0.0002))
    long_file = tmp_path / "session.txt"
    mm = (session.position_m * 1000).round().astype(int)
    write_chronojump(long_file, np.diff(mm, prepend=mm[0]))
    a = run(["analyze", str(long_file), "--json", "--jobs", "2"], native)
    b = run(["analyze", str(long_file), "--json", "--jobs", "2"], jit)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    got, want = json.loads(a.stdout), json.loads(b.stdout)
    assert len(want["reps"]) >= 30
    assert_same_results(got, want, "session")


LIVE = """
import json, numpy as np
from vbt.config import AnalysisConfig
from vbt.simulate import SensorSpec, simulate_session
from vbt.tracker import LiveTracker
sim = simulate_session(8, n_sets=3, rest_s=25.0, style='bench', sensor=SensorSpec(rate_hz=500.0, quantum_m=0.0005))
tr = LiveTracker(AnalysisConfig(load_kg=70.0))
out = []
for i in range(0, sim.t_s.size, 10):
    for e in tr.feed(sim.t_s[i:i + 10], sim.position_m[i:i + 10]):
        if e.type == 'rep':
            out.append([e.rep.index, e.rep.mean_velocity_m_s, e.rep.peak_velocity_m_s, e.rep.quality])
        elif e.type == 'set_end':
            out.append(['set_end', len(e.result.reps)])
print(json.dumps(out))
"""


@pytest.mark.slow
def test_native_kernels_give_the_jit_events_chunk_by_chunk(envs):
    """The live path: a three-set session fed 10 samples at a time gives the same rep events."""
    native, jit = envs
    a, b = run([LIVE], native, module=False), run([LIVE], jit, module=False)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    got, want = json.loads(a.stdout), json.loads(b.stdout)
    assert sum(1 for e in want if e[0] == "set_end") >= 2 and len(want) >= 12
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g[0] == w[0] and g[-1] == w[-1]
        assert all(abs(x - y) <= 1e-9 for x, y in zip(g[1:-1], w[1:-1])), (g, w)


REFUSED = """
import numpy as np
from vbt import kernels as K, native
assert native.active()
x = np.linspace(0.0, 1.0, 200)
c = np.empty(5)
K.butter_lowpass(10.0, 1000.0, c)
cases = {
    'float32 out': lambda: K.butter_lowpass(10.0, 1000.0, np.empty(5, dtype=np.float32)),
    'strided x': lambda: K.filtfilt(np.linspace(0.0, 1.0, 400)[::2], c, 10, np.empty(200)),
    'read-only out': lambda: K.filtfilt(x, c, 10, np.frombuffer(np.zeros(200).tobytes())),
    'list x': lambda: K.filtfilt(list(x), c, 10, np.empty(200)),
}
for name, call in cases.items():
    try:
        call()
        print(name, 'ACCEPTED')
    except TypeError as exc:
        print(name, 'refused:', exc)
out = np.empty(200)
K.filtfilt(x, c, 10, out)
print('ok', bool(np.isfinite(out).all()))
"""


@pytest.mark.slow
def test_native_kernels_refuse_arrays_they_were_not_built_for(envs):
    """numba's JIT would compile another version for such an array; the native build, which has
    one, must not read its memory the wrong way: a TypeError that names what was expected."""
    native, _ = envs
    done = run([REFUSED], native, module=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "ok True"
    assert len(lines) == 5 and all("refused:" in line for line in lines[:4]), done.stdout
    assert "float32" in lines[0] and "not C-ordered" in lines[1] and "read-only" in lines[2], done.stdout


@pytest.mark.slow
def test_a_build_without_a_c_compiler_is_said_once_and_the_jit_stays(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"), VBT_NATIVE_KERNELS="1", CC="false")
    probe = ("from vbt import native; print(native.needs_build(), native.build_in_child(), native.needs_build(), "
             "native.state()[0]); print(native.state()[1])")
    done = run([probe], env, module=False)
    assert done.returncode == 0, done.stderr
    first, words = done.stdout.splitlines()
    assert first.split() == ["True", "False", "False", "failed"]  # not retried on every run
    assert "no working C compiler" in words and "numba's JIT" in words and "vbt analyze --warm-up" in words
    loaded = run(["from vbt import native; print(native.load())"], env, module=False)
    assert loaded.stdout.strip() == "None"
    retried = run(["from vbt import native; native.forget_failure(); print(native.needs_build())"], env, module=False)
    assert retried.stdout.strip() == "True"  # what --warm-up does first: a person asked for it


@pytest.mark.slow
def test_a_damaged_native_module_means_numbas_jit(envs):
    """A spec file or module that cannot be read (a full disk during the build, a stray edit): the
    process takes numba's JIT, gives the same numbers, and removes the damaged files so that the
    next analysis builds them again."""
    native, jit = envs
    (spec,) = glob.glob(os.path.join(native["NUMBA_CACHE_DIR"], "*", "vbt_native_*.json"))
    (module,) = glob.glob(os.path.join(native["NUMBA_CACHE_DIR"], "*", "vbt_native_*.so"))
    probe = ("from vbt import native; from vbt.io import read_recording; from vbt.analysis import analyze; "
             "rec = read_recording('fixtures/real/chronojump_grind_85kg_rep7.txt'); "
             "r = analyze(rec.t_s, rec.position_m); print(native.active(), [x.mean_velocity_m_s for x in r.reps])")
    want = run([probe], jit, module=False).stdout
    assert want.startswith("False [")
    good = {}
    for path in (spec, module):
        with open(path, "rb") as f:
            good[path] = f.read()
    for path, garbage in ((spec, b'{"filters__filtfilt": [[0, '), (module, b"\x7fELF not really")):
        try:
            with open(path, "wb") as f:
                f.write(garbage)
            got = run([probe], native, module=False)
            assert got.returncode == 0 and got.stdout == want, got.stderr
            assert not os.path.exists(spec) and not os.path.exists(module)  # the next analysis builds them again
        finally:
            for p, content in good.items():
                with open(p, "wb") as f:
                    f.write(content)
    assert run([probe], native, module=False).stdout.startswith("True [")
