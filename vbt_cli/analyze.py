"""`vbt analyze`: reps, velocities and the stop rule of recorded sets, one file or a folder of them.

Several files are analysed in parallel by worker processes (one per core by default), forked once
the kernels are loaded; results are printed in the order the files were given, as one table or one
JSON line per file. One file's reps are analysed on one thread per core (the kernel releases the
GIL); the numbers do not depend on how many.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from vbt.units import add_reading_options, fmt

FORMATS = ("auto", "csv", "chronojump")
METRICS = ("mean", "propulsive", "peak")
DEFAULT_MIN_ROM_M = 0.15
# Settings the analysis names by their field, as this command's options.
OPTION_OF_FIELD = {"min_rom_m": "--min-rom", "velocity_loss_pct": "--velocity-loss", "load_kg": "--load-kg",
                   "metric": "--metric", "band_top_n": "--band-top", "band_bottom_n": "--band-bottom",
                   "band_n_per_m": "--band-stiffness", "chain_top_kg": "--chain-top", "chain_kg_per_m": "--chain-per-m"}
#: Bands and chains (vbt.resistance): option -> (field, help).
ACCOMMODATION_HELP = {
    "--band-top": ("band_top_n", "band tension at the top of the rep, N"),
    "--band-bottom": ("band_bottom_n", "band tension at the bottom of the rep, N"),
    "--band-stiffness": ("band_n_per_m", "band stiffness, N/m (with --band-top instead of --band-bottom)"),
    "--chain-top": ("chain_top_kg", "chain mass off the floor at the top beyond the bottom, kg"),
    "--chain-per-m": ("chain_kg_per_m", "chain mass lifted per metre the bar rises, kg/m"),
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse recorded sets (CSV t_s,position_m or Chronojump raw signal files)",
        description="Segment recordings into reps and report MV, MPV, PV, ROM and the velocity-loss stop rep. "
                    "Give one file, several, or folders (their files are analysed in name order). Each file "
                    "is one set.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="recording files, or folders of them")
    p.add_argument("--warm-up", action="store_true",
                   help="compile the analysis now: numba's cache, then the native module later runs load "
                        "without numba (a first run does both in the background, ~1 min, once); then exit")
    p.add_argument("--format", choices=FORMATS, default="auto", help="file format (default: detect)")
    add_reading_options(p)
    p.add_argument("--json", action="store_true",
                   help="one file: print exactly one JSON object; several: one JSON object per line, with its path")
    p.add_argument("--load-kg", type=float, default=None, help="moving mass for force and power")
    for option, (field, words) in ACCOMMODATION_HELP.items():
        p.add_argument(option, dest=field, type=float, default=None, metavar="X",
                       help=f"{words}: with --load-kg, force and power use the load at each height")
    p.add_argument("--velocity-loss", type=float, default=10.0, metavar="PCT",
                   help="stop when a rep loses more than PCT %% of the best rep's velocity (default 10)")
    p.add_argument("--metric", choices=METRICS, default="mean", help="velocity used by the stop rule (default mean)")
    p.add_argument("--min-rom", type=float, default=None, metavar="M",
                   help=f"smallest concentric range of motion counted as a rep, metres (0.02-2, default: "
                        f"the exercise's, else {DEFAULT_MIN_ROM_M:g})")
    p.add_argument("--exercise", default=None, metavar="NAME",
                   help="the lift ('hip thrust', 'jump squat', 'clean pull'...): its minimum range of motion "
                        "applies")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="cores to use (default: all): processes for several files, threads for one file's reps")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar on stderr even when it is not a terminal")
    p.set_defaults(func=run, exit_now=True)


def user_words(problem: str) -> str:
    """A configuration problem named by this command's option instead of the internal field."""
    from vbt.fields import as_options

    return as_options([problem], OPTION_OF_FIELD)


def _files(paths: list[str]) -> list[str]:
    files = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if not n.startswith("."))
            files += [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
        else:
            files.append(path)  # a missing file gets its clear line when it is read
    return files


def table(path, rec, result, config, args) -> str:
    from vbt.config import METRIC_LABELS

    lines = [f"{path}: {len(result.reps)} reps ({rec.source_format}, {rec.t_s[-1] - rec.t_s[0]:.1f} s)"]
    lines += [f"note: {note}" for note in rec.notes]
    if not result.reps:
        lines.append("no rep found (is the transducer under the bar, and the range of motion above "
                     f"{config.segmentation.min_rom_m * 100:.0f} cm?)")
        return "\n".join(lines)
    header = (f"{'rep':>3} {'start s':>8} {'MV m/s':>7} {'MPV m/s':>8} {'PV m/s':>7} {'ROM cm':>7} {'conc s':>7} "
              f"{'ecc s':>6} {'loss %':>7}")
    if args.load_kg:
        header += f" {'P mean W':>9} {'P peak W':>9}"
    if config.accommodation is not None:
        lines.append(f"{config.accommodation.describe()}" + ("" if args.load_kg else " (needs --load-kg)"))
    lines.append(header)
    for r in result.reps:
        line = (f"{r.index:>3} {r.concentric_start_s:>8.2f} {r.mean_velocity_m_s:>7.3f} "
                f"{r.mean_propulsive_velocity_m_s:>8.3f} {r.peak_velocity_m_s:>7.3f} {r.rom_m * 100:>7.1f} "
                f"{r.concentric_duration_s:>7.2f} {fmt(r.eccentric_duration_s, '6.2f', missing='—'):>6} "
                f"{fmt(r.velocity_loss_pct, '7.1f', missing='—'):>7}")
        if args.load_kg:
            line += f" {fmt(r.mean_power_w, '9.0f', missing='—'):>9} {fmt(r.peak_power_w, '9.0f', missing='—'):>9}"
        if r.index == result.stop_rep:
            line += "  <- STOP"
        if r.doubtful:
            line += f"  check rep {r.index}: {r.quality}"
        lines.append(line)
    stop = f"stop at rep {result.stop_rep}" if result.stop_rep else "no rep crossed the limit"
    lines.append(f"best rep {result.best_rep}; {METRIC_LABELS[args.metric]} loss limit "
                 f"{result.velocity_loss_threshold_pct:g} %: {stop}")
    return "\n".join(lines)


# State of a worker process (set before the pool forks, so the workers inherit it).
_JOB: dict = {}


def analyse_file(path: str) -> tuple[bool, str]:
    """(ok, what to print): the file's table or JSON, or its one-line problem."""
    from vbt.analysis import analyze
    from vbt.io import RecordingError, check_plausible, read_recording, upside_down

    args, config, several = _JOB["args"], _JOB["config"], _JOB["several"]
    try:
        rec = read_recording(path, args.format, args.units, args.rate)
        if args.inverted:
            rec = upside_down(rec)
        check_plausible(rec, path)
    except RecordingError as exc:
        return False, str(exc)
    result = analyze(rec.t_s, rec.position_m, config, workers=_JOB.get("workers", 1))
    if args.json:
        doc = result.to_json()
        if rec.notes:
            doc["reading_notes"] = list(rec.notes)
        if config.accommodation is not None:
            doc["accommodation"] = config.accommodation.to_json()
        return True, json.dumps({"path": path, **doc} if several else doc)
    return True, table(path, rec, result, config, args)


class Progress:
    """``analysed 37/100 files [#######.......] 4.2 s`` on one stderr line, redrawn in place."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.enabled = total, 0, enabled
        self.t0 = time.monotonic()
        self.shown = False

    def draw(self) -> None:
        if not self.enabled:
            return
        width = 30
        full = width * self.done // max(self.total, 1)
        sys.stderr.write(f"\ranalysed {self.done}/{self.total} files [{'#' * full}{'.' * (width - full)}] "
                         f"{time.monotonic() - self.t0:.1f} s")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


# A first run analysing uncompiled: the background compile, and whether anything has been printed
# (under the lock: its rerun on the compiled kernels must not repeat a line).
_FIRST_RUN: dict = {"lock": threading.Lock(), "printed": False, "compiler": None}
# A first run on a recording this size or smaller runs the kernels uncompiled (~0.35 s a rep, a
# 30 s set in ~2 s) while a background process compiles them (~20 s on 2 cores; if that ends
# first, the compiled kernels take over); a larger one waits for the compile (README,
# benchmarks/bench_analyze.py). 300 kB: ~1 minute of Chronojump's 1 kHz text.
UNCOMPILED_MAX_BYTES = 300_000
HANDOVER_LINE = "The analysis is compiled now: analysing again with it…"
WAITING_LINE = "Waiting for the analysis, compiling in the background (a first run, once)…"


def _first_run_uncompiled(path: str, stderr_line) -> bool:
    """On a first run (numba's cache cold) with a small recording: start the background compile
    and make this process's kernels plain Python (numba not imported yet), saying so on stderr.
    True when it did."""
    from vbt.compile_cache import FIRST_COMPILE_S, INTERPRETED_ENV, probably_cold, start_background_compile

    if "numba" in sys.modules or os.environ.get(INTERPRETED_ENV) or not probably_cold():
        return False
    try:
        if os.path.getsize(path) > UNCOMPILED_MAX_BYTES:
            return False
    except OSError:
        return False  # the reader says what is wrong with it
    _FIRST_RUN["compiler"] = start_background_compile()  # None: numba cannot keep a cache here
    os.environ[INTERPRETED_ENV] = "1"
    stderr_line(f"First run: the analysis compiles in the background (~{FIRST_COMPILE_S} s, once); "
                f"this file is analysed meanwhile, uncompiled…")
    return True


def _rerun_once_compiled(argv: list[str] | None) -> None:
    """When the background compile ends before this uncompiled analysis has printed anything, this
    process becomes the same command on the compiled kernels (a long set: the compiled analysis
    then finishes sooner). Nothing when the compile fails: the uncompiled analysis goes on."""
    compiler = _FIRST_RUN["compiler"]
    if compiler is None or argv is None:
        return

    def watch() -> None:
        if compiler.wait() != 0:
            return
        from vbt.compile_cache import child_env

        with _FIRST_RUN["lock"]:
            if _FIRST_RUN["printed"]:
                return
            print(HANDOVER_LINE, file=sys.stderr, flush=True)
            os.execve(sys.executable, [sys.executable, "-m", "vbt_cli", *argv], child_env())

    threading.Thread(target=watch, name="rerun-once-compiled", daemon=True).start()


def _announce_first_run(stderr_line) -> threading.Timer | None:
    """Say so before a first run compiles the kernels (numba's cache cold); when the cache cannot
    be read, say it only if the start takes longer than a second. Returns a timer to cancel."""
    from vbt.compile_cache import (FIRST_COMPILE_S, cold_kernels, compile_in_parallel, compiling_elsewhere,
                                   probably_cold)

    message = f"Preparing the analysis (first run compiles, ~{FIRST_COMPILE_S} s)…"
    said = probably_cold()
    if said and compiling_elsewhere():
        message = WAITING_LINE
    if said:
        stderr_line(message)  # at once, before numba takes its second to load
    cold = cold_kernels()
    if cold:
        if not said:
            stderr_line(message)
        compile_in_parallel()  # two halves at once where there are two cores
        _warm_up()  # every kernel, so the cache is whole whichever format comes next
        return None
    from vbt.compile_cache import start_native_build

    start_native_build()  # the next runs start without numba, once it is built
    if cold is None:
        timer = threading.Timer(1.0, stderr_line, args=("Preparing the analysis…",))
        timer.daemon = True
        timer.start()
        return timer
    return None


def _build_native(say) -> None:
    """--warm-up: build the kernels' native module too (vbt.native), unless it is built or not
    wanted (a build that failed before is tried again); waits for a build in the background
    instead of starting another."""
    from vbt import native
    from vbt.compile_cache import compile_lock

    native.forget_failure()
    if not native.needs_build():
        return
    say(f"Building the analysis as a native module (~{native.BUILD_S} s, once): later runs start without numba…")
    with compile_lock():
        if native.needs_build():
            native.build_in_child()
    if not native.built():
        say(f"The native module: {native.state()[1]}")


def _freeze_heap() -> None:
    """Leave what is loaded so far (numpy, numba and the kernels: ~100,000 objects) out of the garbage
    collector's passes: it would walk them again on every full collection, and in a forked worker
    touch every page it walks, copying it. Measured: an hour's file 2.21 -> 2.06 s, a folder of
    100 files on 2 processes 2.39 -> 2.10 s (medians of 4, benchmarks/bench_analyze.py's files)."""
    import gc

    gc.freeze()


def _warm_up() -> None:
    """Load (or, on a first run, compile) every kernel on a tiny synthetic set."""
    import numpy as np

    from vbt.analysis import analyze
    from vbt.io import parse_chronojump_text, parse_csv_text

    t = np.arange(0.0, 4.0, 0.002)
    x = 0.2 * np.clip(np.sin(np.pi * (t - 1.0)), 0.0, None)  # one 20 cm rep
    analyze(t, x)
    parse_chronojump_text(b"1, 0, -1")
    parse_csv_text("t_s,position_m\n0,0\n0.001,0.001\n")


def _min_rom(args) -> float | None:
    """--min-rom, else the exercise's minimum range, else the default; None (after one line on
    stderr) for an exercise nobody knows."""
    if args.exercise is None:
        return DEFAULT_MIN_ROM_M if args.min_rom is None else args.min_rom
    from vbt.exercises import BUILTIN_EXERCISES, find_exercise

    exercise = find_exercise(args.exercise, BUILTIN_EXERCISES)
    if exercise is None:
        names = ", ".join(e.name for e in BUILTIN_EXERCISES if e.name != "unspecified")
        print(f"vbt analyze: unknown exercise {args.exercise!r} (known: {names}); or give --min-rom",
              file=sys.stderr)
        return None
    return exercise.min_rom_m if args.min_rom is None else args.min_rom


def run(args) -> int:
    from vbt.config import AnalysisConfig, SegmentationConfig, StopRuleConfig

    min_rom = _min_rom(args)
    if min_rom is None:
        return 2
    from vbt.resistance import Accommodation

    acc = Accommodation(**{field: getattr(args, field) for field, _ in ACCOMMODATION_HELP.values()})
    config = AnalysisConfig(
        segmentation=SegmentationConfig(min_rom_m=min_rom),
        stop_rule=StopRuleConfig(velocity_loss_pct=args.velocity_loss, metric=args.metric),
        load_kg=args.load_kg,
        accommodation=None if acc.empty else acc,
    )
    if not acc.empty and acc.validate():
        for p in acc.validate():
            print(f"vbt analyze: {user_words(p)}", file=sys.stderr)
        return 2
    problems = config.validate()
    if problems:
        for p in problems:
            print(f"vbt analyze: {user_words(p)}", file=sys.stderr)
        return 2
    if args.jobs < 0:
        print("vbt analyze: --jobs must be 1 or more (0: one per core)", file=sys.stderr)
        return 2
    if args.rate is not None:
        from vbt.io import RecordingError, check_rate

        try:
            check_rate(args.rate)
        except RecordingError as exc:
            print(f"vbt analyze: {exc}", file=sys.stderr)
            return 2
    if args.warm_up:
        from vbt.compile_cache import without_scipy_blas

        with without_scipy_blas():
            timer = _announce_first_run(lambda line: print(line, file=sys.stderr, flush=True))
            _warm_up()
        if timer is not None:
            timer.cancel()
        _build_native(lambda line: print(line, file=sys.stderr, flush=True))
        print("the analysis is compiled and cached", file=sys.stderr)
        if not args.paths:
            return 0
    if not args.paths:
        print("vbt analyze: give a recording file or a folder (see vbt analyze --help)", file=sys.stderr)
        return 2
    files = _files(args.paths)
    if not files:
        print(f"vbt analyze: no files in {', '.join(args.paths)}", file=sys.stderr)
        return 1
    several = len(files) > 1 or any(os.path.isdir(p) for p in args.paths)
    _JOB.update(args=args, config=config, several=several)
    progress = Progress(len(files), several and (args.progress or sys.stderr.isatty()))

    def stderr_line(text: str) -> None:
        progress.clear()
        print(text, file=sys.stderr, flush=True)

    from vbt.compile_cache import without_scipy_blas

    failed = 0

    def emit(ok: bool, text: str) -> None:
        nonlocal failed
        with _FIRST_RUN["lock"]:
            _FIRST_RUN["printed"] = True
        progress.clear()
        if ok:
            print(text, flush=True)
        else:
            failed += 1
            print(f"vbt analyze: {text}", file=sys.stderr, flush=True)
        progress.done += 1
        progress.draw()

    timer = None
    try:
        with without_scipy_blas():
            if len(files) == 1 and not args.warm_up and _first_run_uncompiled(files[0], stderr_line):
                _rerun_once_compiled(getattr(args, "argv", None))
            else:
                timer = _announce_first_run(stderr_line)
            if len(files) == 1:
                _freeze_heap()
                from vbt.analysis import usable_cores

                _JOB["workers"] = args.jobs or usable_cores()  # one file: its reps on the cores, by threads
                emit(*analyse_file(files[0]))
            else:
                progress.draw()
                from vbt import native

                if not native.active():
                    _warm_up()  # once here; the forked workers inherit numba's loaded kernels
                _freeze_heap()
                if timer is not None:
                    timer.cancel()
                progress.draw()
                _run_many(files, args.jobs, emit)
    finally:
        if timer is not None:
            timer.cancel()
        progress.clear()
    return 1 if failed else 0


def _run_many(files: list[str], jobs: int, emit) -> None:
    """Analyse ``files`` on ``jobs`` processes, emitting each file's output in order."""
    from vbt.analysis import usable_cores

    jobs = min(jobs or usable_cores(), len(files))
    if jobs <= 1:
        for path in files:
            emit(*analyse_file(path))
        return
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    ctx = multiprocessing.get_context(method)
    pending: dict[int, tuple[bool, str]] = {}
    next_out = 0
    # files handed out a few at a time (each worker gets ~8 batches: fewer round trips, still balanced);
    # measured on 100 one-minute files, 2 processes, 5 runs alternating: 0.83-1.01 s one by one, 0.78-0.86 s
    chunk = max(1, len(files) // (jobs * 8))
    with ctx.Pool(jobs, initializer=_worker_init, initargs=(_JOB,)) as pool:
        for i, out in pool.imap_unordered(_indexed, enumerate(files), chunksize=chunk):
            pending[i] = out
            while next_out in pending:
                emit(*pending.pop(next_out))
                next_out += 1


def _worker_init(job: dict) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends the pool
    _JOB.update(job)


def _indexed(item):
    i, path = item
    return i, analyse_file(path)
