"""A first `vbt analyze` on a fresh machine (numba's cache empty): a small recording is analysed at
once by the kernels as plain Python while a background process compiles them; a large one waits
for the compile; every later run loads the compiled kernels. The uncompiled kernels must give the
compiled results, on real recordings and on every motion family."""

import glob
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from vbt.io import write_chronojump, write_csv
from vbt.motions import FAMILIES, chronojump_text, simulate_family
from vbt.simulate import SensorSpec, simulate_set
from vbt_cli.analyze import HANDOVER_LINE, UNCOMPILED_MAX_BYTES, WAITING_LINE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_LINE = "First run: the analysis compiles in the background"


def analyze(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "vbt_cli", "analyze", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def assert_same_results(a: dict, b: dict, where: str) -> None:
    """The same reps, qualities and stop rep; numbers equal to 1e-9 (plain Python and numba's machine
    code round a few sums differently, in the 13th digit)."""
    assert a.keys() == b.keys(), where
    for key in a:
        if key == "reps":
            assert len(a[key]) == len(b[key]), f"{where}: {len(a[key])} reps uncompiled, {len(b[key])} compiled"
            for i, (ra, rb) in enumerate(zip(a[key], b[key]), 1):
                assert_same_results(ra, rb, f"{where} rep {i}")
        elif isinstance(a[key], float) and isinstance(b[key], float):
            assert abs(a[key] - b[key]) <= 1e-9 * max(1.0, abs(b[key])), f"{where} {key}: {a[key]} vs {b[key]}"
        elif isinstance(a[key], dict):
            assert_same_results(a[key], b[key], f"{where} {key}")
        else:
            assert a[key] == b[key], f"{where} {key}: {a[key]!r} vs {b[key]!r}"


def real_and_family_recordings(folder, first_seed: int) -> list[str]:
    """Every real fixture, the device fixture, and a set of every motion family written into
    ``folder`` (seeds from ``first_seed``; the sensor kinds in turn: our CSV, Chronojump's text)."""
    files = sorted(glob.glob(os.path.join(ROOT, "fixtures", "real", "*.txt")))
    files.append(os.path.join(ROOT, "fixtures", "device", "chronojump_squat.txt"))
    kinds = ("csv", "chronojump", "fine")
    for n, family in enumerate(FAMILIES):
        kind = kinds[n % len(kinds)]
        sim = simulate_family(family, first_seed + n, kind)
        if kind == "chronojump":
            path = folder / f"{family}-{kind}.txt"
            path.write_text(chronojump_text(sim))
        else:
            path = folder / f"{family}-{kind}.csv"
            write_csv(path, sim.t_s, sim.position_m)
        files.append(str(path))
    return files


def lines_by_path(stdout: str) -> dict:
    docs = [json.loads(line) for line in stdout.splitlines()]
    return {os.path.basename(d.pop("path")): d for d in docs}


@pytest.mark.slow
def test_uncompiled_kernels_give_the_compiled_results_on_real_and_simulated_sets(tmp_path):
    """Every real fixture and a set of every motion family (both file formats, three sensor kinds),
    analysed with numba's machine code and as plain Python (NUMBA_DISABLE_JIT=1, what a first run on a
    small file does): the same reps, stop rep and qualities, the same numbers."""
    files = real_and_family_recordings(tmp_path, 900)
    compiled = analyze(*files, "--json", "--load-kg", "80")
    assert compiled.returncode == 0, compiled.stderr
    uncompiled = analyze(*files, "--json", "--load-kg", "80", env=dict(os.environ, NUMBA_DISABLE_JIT="1"))
    assert uncompiled.returncode == 0, uncompiled.stderr
    a, b = lines_by_path(uncompiled.stdout), lines_by_path(compiled.stdout)
    assert a.keys() == b.keys() and len(a) == len(files)
    assert sum(len(doc["reps"]) for doc in b.values()) > 40
    for name in b:
        assert_same_results(a[name], b[name], name)


def _wait_for_background_compile(env) -> subprocess.CompletedProcess:
    """`vbt analyze --warm-up` waits on the compile lock the background compile holds, then loads."""
    return analyze("--warm-up", env=env, timeout=900)


@pytest.mark.slow
def test_a_first_run_on_a_small_file_answers_at_once_and_compiles_in_the_background(tmp_path):
    sim = simulate_set(21, style="squat", sensor=SensorSpec(rate_hz=500.0, quantum_m=0.0005), n_reps=6,
                       fatigue_per_rep=0.04)
    path = tmp_path / "squat.csv"
    write_csv(path, sim.t_s, sim.position_m)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    t0 = time.monotonic()
    first = analyze(str(path), "--json", env=env)
    took = time.monotonic() - t0
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith(FIRST_LINE) and first.stderr.count("\n") == 1, first.stderr
    assert len(json.loads(first.stdout)["reps"]) == len(sim.truth)
    # the background compile outlives the first run; waiting for it compiles nothing more
    warm = _wait_for_background_compile(env)
    assert warm.returncode == 0, warm.stderr
    assert warm.stderr.splitlines()[-1] == "the analysis is compiled and cached", warm.stderr
    assert set(warm.stderr.splitlines()[:-1]) <= {WAITING_LINE}, (took, warm.stderr)  # it compiled nothing
    again = analyze(str(path), "--json", env=env)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert_same_results(json.loads(first.stdout), json.loads(again.stdout), "first run against a later one")
    raw = tmp_path / "raw.txt"  # the other format: in the cache too
    sim = simulate_set(7, sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001), n_reps=3)
    mm = np.round(sim.position_m * 1000).astype(int)
    write_chronojump(raw, np.diff(mm, prepend=mm[0]))
    other = analyze(str(raw), "--json", env=env)
    assert other.returncode == 0 and other.stderr == "", other.stderr


@pytest.mark.slow
def test_a_first_run_on_a_large_file_compiles_first_and_says_so(tmp_path):
    sim = simulate_set(4, style="squat", sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.0001), n_reps=20)
    path = tmp_path / "long.csv"
    write_csv(path, sim.t_s, sim.position_m)
    assert path.stat().st_size > UNCOMPILED_MAX_BYTES
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    first = analyze(str(path), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith("Preparing the analysis (first run compiles, ~"), first.stderr
    again = analyze(str(path), "--json", env=env)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == first.stdout


@pytest.mark.slow
def test_when_the_compile_ends_first_the_uncompiled_analysis_hands_over_to_the_compiled_one(tmp_path):
    """A first run taken uncompiled on a long set (the size limit raised here): the background compile
    ends before the plain-Python analysis, so the command runs again on the compiled kernels and
    prints exactly what a later run prints, once."""
    counts = []
    for seed in range(16):  # ~7 minutes of 1 kHz Chronojump signal, 160 reps: ~55 s uncompiled, ~30 s to compile
        sim = simulate_set(seed, sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001), n_reps=10)
        mm = np.round(sim.position_m * 1000).astype(int)
        counts.append(np.diff(mm, prepend=mm[0]))
    path = tmp_path / "long.txt"
    write_chronojump(path, np.concatenate(counts))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    code = ("import sys\nimport vbt_cli.analyze as a\na.UNCOMPILED_MAX_BYTES = 10 ** 9\n"
            "from vbt_cli.main import main\nsys.exit(main(sys.argv[1:]))\n")
    first = subprocess.run([sys.executable, "-c", code, "analyze", str(path), "--json"], capture_output=True,
                           text=True, timeout=900, env=env, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    lines = first.stderr.splitlines()
    assert lines[0].startswith(FIRST_LINE) and lines[1:] == [HANDOVER_LINE], first.stderr
    again = analyze(str(path), "--json", env=env)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert first.stdout == again.stdout
    assert len(json.loads(first.stdout)["reps"]) >= 150

