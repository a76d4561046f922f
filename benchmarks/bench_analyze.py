"""`vbt analyze` as a user runs it, as whole processes; prints figures, asserts nothing.

    python benchmarks/bench_analyze.py [--quick] [--runs N]

1. One hour of 1 kHz Chronojump raw signal (the text Chronojump saves): `vbt analyze FILE --json`
   against a plain NumPy/SciPy analyser of the same file run the same way (reference_cli.py:
   NumPy's own parser, then the same-job reference, or the crude one), best of N, alternating;
   wall time and CPU time (the machine may be shared: CPU time is the steadier figure); and
   `--jobs 1` (its reps on one thread), numba's JIT instead of the native module (vbt.native), and
   the analysis alone in process on 1 and on every core.
2. Parsing speed of that text in MB/s (vbt.io.read_recording, in process), and of our CSV.
3. `vbt --help` start time.
4. First-ever `vbt analyze` of a small file (numba's cache empty: NUMBA_CACHE_DIR in a temp dir):
   time to the first line on stderr, and to the result (analysed uncompiled while a background
   process compiles); when that background compile ends; then a first run on a larger file, which
   waits for the compile.
5. A folder of 100 one-minute recordings on 1 and on 2 processes (`--jobs`).
Targets (issue 12): 1. >= 3x the same-job analyser, >= 1.5x the crude one; 2. >= 100 MB/s;
3. < 0.3 s; 4. progress line within 1 s, done within 12 s; 5. 2 cores >= 1.7x one.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from vbt.analysis import analyze, usable_cores  # noqa: E402
from vbt.io import read_recording, write_chronojump, write_csv  # noqa: E402
from vbt.simulate import SensorSpec, simulate_session  # noqa: E402

VBT = [sys.executable, "-m", "vbt_cli"]
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def chronojump_counts(seconds: float, seed: int = 42) -> np.ndarray:
    """Whole copies of a 4-set squat session (1 kHz, 1 mm encoder) lasting ``seconds`` or more,
    as Chronojump's per-millisecond counts."""
    base = simulate_session(seed, n_sets=4, rest_s=20.0, style="squat",
                            sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001, noise_m=0.0002))
    reps = int(np.ceil(seconds / (base.t_s[-1] + 0.001)))
    mm = np.round(base.position_m * 1000).astype(np.int64)
    steps = np.diff(mm, prepend=mm[0])
    return np.tile(steps, reps)


def timed(cmd, env=ENV) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run; output discarded, failure raised."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_hour(d: str, seconds: float, runs: int) -> None:
    path = os.path.join(d, "hour.txt")
    write_chronojump(path, chronojump_counts(seconds))
    size_mb = os.path.getsize(path) / 1e6
    # the kernels as a user has them after a first run: numba's cache and the native module (vbt.native)
    subprocess.run([*VBT, "analyze", "--warm-up"], env=ENV, check=True, capture_output=True, cwd=ROOT)
    jit_env = dict(ENV, VBT_NATIVE_KERNELS="0")
    cmds = {
        "vbt analyze --json": [*VBT, "analyze", path, "--json"],
        "the same, --jobs 1": [*VBT, "analyze", path, "--json", "--jobs", "1"],
        "the same, numba's JIT": [*VBT, "analyze", path, "--json"],
        "NumPy/SciPy, previous method": [sys.executable, os.path.join(HERE, "reference_cli.py"), path,
                                         "--method", "fitted"],
        "NumPy/SciPy, crude": [sys.executable, os.path.join(HERE, "reference_cli.py"), path, "--method", "crude"],
    }
    envs = {"the same, numba's JIT": jit_env}
    for name, cmd in cmds.items():  # warm: caches, page cache
        timed(cmd, envs.get(name, ENV))
    results = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            results[name].append(timed(cmd, envs.get(name, ENV)))
    print(f"one hour of 1 kHz Chronojump text ({seconds / 3600:.2f} h, {size_mb:.1f} MB), whole process, "
          f"best of {runs}:")
    best = {name: (min(w for w, _ in r), min(c for _, c in r)) for name, r in results.items()}
    for name, (wall, cpu) in best.items():
        print(f"  {name:24s} wall {wall:6.2f} s   CPU {cpu:6.2f} s   all walls: "
              + ", ".join(f"{w:.2f}" for w, _ in results[name]))
    ours = best["vbt analyze --json"]
    for name, target in (("NumPy/SciPy, previous method", 3.0), ("NumPy/SciPy, crude", 1.5)):
        print(f"  ratio against {name:22s} wall {best[name][0] / ours[0]:5.2f} x   CPU {best[name][1] / ours[1]:5.2f} x"
              f"   (target >= {target:g}x)")
    one = best["the same, --jobs 1"]
    print(f"  one file's reps on a thread per core against one thread: wall {one[0] / ours[0]:5.2f} x")
    jit = best["the same, numba's JIT"]
    print(f"  the native module against numba's JIT (VBT_NATIVE_KERNELS=0): wall {jit[0] / ours[0]:5.2f} x")

    rec = read_recording(path)
    analyze(rec.t_s[:60000], rec.position_m[:60000])  # warm: the kernels loaded
    cores = usable_cores()
    spans = {1: [], cores: []}
    for _ in range(runs):
        for workers in spans:
            t0 = time.perf_counter()
            analyze(rec.t_s, rec.position_m, workers=workers)
            spans[workers].append(time.perf_counter() - t0)
    print(f"the analysis alone (vbt.analysis.analyze, in process), best of {runs}: 1 thread "
          f"{min(spans[1]):.2f} s, {cores} threads {min(spans[cores]):.2f} s: {min(spans[1]) / min(spans[cores]):.2f}x")

    read_recording(path)  # warm: numba's scanner loaded
    parse = []
    for _ in range(5):
        t0 = time.perf_counter()
        read_recording(path)
        parse.append(time.perf_counter() - t0)
    print(f"parsing that text (read_recording, in process): best {size_mb / min(parse):.0f} MB/s, "
          f"median {size_mb / np.median(parse):.0f} MB/s   (target >= 100 MB/s)")

    rec = read_recording(path)
    csv_path = os.path.join(d, "ten-minutes.csv")
    write_csv(csv_path, rec.t_s[:600000], rec.position_m[:600000])
    csv_mb = os.path.getsize(csv_path) / 1e6
    read_recording(csv_path)
    parse = []
    for _ in range(5):
        t0 = time.perf_counter()
        read_recording(csv_path)
        parse.append(time.perf_counter() - t0)
    print(f"parsing our CSV (10 min, {csv_mb:.1f} MB): best {csv_mb / min(parse):.0f} MB/s, "
          f"median {csv_mb / np.median(parse):.0f} MB/s")


def bench_help(runs: int) -> None:
    walls = [timed([*VBT, "--help"])[0] for _ in range(max(runs, 5))]
    print(f"`vbt --help`: best {min(walls):.3f} s, median {np.median(walls):.3f} s   (target < 0.3 s)")


def bench_first_run(d: str) -> None:
    path = os.path.join(d, "small.txt")
    write_chronojump(path, chronojump_counts(30.0, seed=5)[:30000])
    env = dict(ENV, NUMBA_CACHE_DIR=os.path.join(d, "numba-cache-empty"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([*VBT, "analyze", path, "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    first_line = proc.stderr.readline()
    t_line = time.perf_counter() - t0
    proc.communicate()
    done = time.perf_counter() - t0
    print(f"first-ever `vbt analyze` of a 30 s file (empty numba cache): first stderr line after {t_line:.2f} s "
          f"({first_line.strip()!r}), result after {done:.1f} s   (targets: 1 s, 12 s)")
    # the background compile the first run started: `--warm-up` waits on its lock, then loads
    subprocess.run([*VBT, "analyze", "--warm-up"], env=env, capture_output=True, cwd=ROOT)
    built = subprocess.run([sys.executable, "-c", "from vbt import native; print(native.built())"], env=env,
                           capture_output=True, text=True, cwd=ROOT).stdout.strip() == "True"
    print(f"  the background compile it started ended {time.perf_counter() - t0:.1f} s after the start "
          f"(numba's cache, then the native module: {'built' if built else 'not built'})")
    again = timed([*VBT, "analyze", path, "--json"], env=env)[0]
    print(f"  the same file again (cache filled): {again:.2f} s")
    big = os.path.join(d, "big.txt")  # past the size a first run analyses uncompiled
    write_chronojump(big, chronojump_counts(120.0, seed=6))
    env = dict(ENV, NUMBA_CACHE_DIR=os.path.join(d, "numba-cache-empty-2"))
    print(f"first-ever `vbt analyze` of a 2 min file ({os.path.getsize(big) / 1e6:.2f} MB, compiled first): "
          f"{timed([*VBT, 'analyze', big, '--json'], env=env)[0]:.1f} s")


def bench_folder(d: str, n_files: int, runs: int) -> None:
    folder = os.path.join(d, "folder")
    os.makedirs(folder)
    counts = chronojump_counts(60.0 * n_files, seed=11)
    for i in range(n_files):
        write_chronojump(os.path.join(folder, f"set{i:03d}.txt"), counts[i * 60000:(i + 1) * 60000])
    one, two, start = [], [], []
    for _ in range(runs):
        one.append(timed([*VBT, "analyze", folder, "--json", "--jobs", "1"])[0])
        two.append(timed([*VBT, "analyze", folder, "--json", "--jobs", "2"])[0])
        start.append(timed([*VBT, "analyze", "--warm-up"])[0])  # the serial part: start, load the kernels
    print(f"a folder of {n_files} one-minute recordings, best of {runs}: 1 process {min(one):.2f} s, "
          f"2 processes {min(two):.2f} s: {min(one) / min(two):.2f}x   (target >= 1.7x on 2 cores; "
          f"this machine has {os.cpu_count()} CPUs)")
    fixed = min(start)
    print(f"  of which the serial start (`vbt analyze --warm-up`: interpreter, imports, kernels) {fixed:.2f} s; "
          f"the files themselves {min(one) - fixed:.2f} s on 1 process, {min(two) - fixed:.2f} s on 2: "
          f"{(min(one) - fixed) / max(min(two) - fixed, 1e-9):.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10 minutes instead of an hour, 30 files instead of 100")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        bench_help(args.runs)
        bench_first_run(d)
        bench_hour(d, 600.0 if args.quick else 3600.0, args.runs)
        bench_folder(d, 30 if args.quick else 100, max(1, args.runs - 1))


if __name__ == "__main__":
    main()
