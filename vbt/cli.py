"""History commands: ``history``, ``export``, ``import``, ``profile``, ``exercises``, ``rep``.

``register(subparsers)`` adds them to the `vbt` console command (``vbt_cli/main.py``); each parser's
``func(args)`` returns the exit status and never lets a user mistake out as a traceback: a problem
is one line on stderr and exit status 1 (argparse's own usage errors exit with 2).
``python -m vbt.cli ...`` runs the same commands standalone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from datetime import datetime
from pathlib import Path

from vbt.config import METRIC_LABELS, METRICS, AnalysisConfig, ConfigError, SegmentationConfig, StopRuleConfig
from vbt.io import FORMATS, RecordingError, check_plausible, read_recording, upside_down
from vbt.profile import ProfileError, describe
from vbt.fields import as_options
from vbt.store import (
    DEFAULT_ATHLETE,
    DEFAULT_PROFILE_DAYS,
    EXPORT_COLUMNS,
    EXPORT_FILES,
    SIDES,
    SetRecord,
    Store,
    StoreError,
    check_set_fields,
)
from vbt.units import add_reading_options, fmt

# Where an MVT comes from, in a person's words (the store keeps the short tags).
SOURCE_WORDS = {"science.md": "published study", "own estimate": "own estimate", "user": "set by you"}
#: --days beyond a century is a typing mistake.
MAX_PROFILE_DAYS = 36500

_USER_ERRORS = (StoreError, ProfileError, RecordingError, ConfigError)

EXPORT_HELP = """\
An export is a directory of four CSV files (UTF-8 with a byte-order mark, comma-separated, one header row):
  exercises.csv  name, mvt_m_s, min_rom_m, low_confidence, mvt_source, builtin
  sessions.csv   session_id, session_uid, athlete, started_at, started_unix_s, note
  sets.csv       set_id, set_uid, session_id, session_uid, athlete, exercise, load_kg, side, metric,
                 velocity_loss_threshold_pct, best_rep, stop_rep, stop_reason, rpe, note, started_at,
                 started_unix_s, ended_at, ended_unix_s, duration_s, recovered, source, n_reps
  reps.csv       rep_id, set_id, set_uid, set_started_at, athlete, exercise, load_kg, recorded_index,
                 deleted, then every field of a rep as `vbt analyze --json` prints it
With --traces, traces/<set_uid>.csv holds each set's raw trace (t_s, position_m).
Numbers are written in their shortest exact form and empty cells mean "none", so `vbt import DIR`
restores every value exactly; *_at columns are local time for people, *_unix_s the exact instant.
"""


def _fail(command: str, message: str) -> int:
    print(f"vbt {command}: {message}", file=sys.stderr)
    return 1


def _guarded(command: str, handler):
    """Run a handler; user mistakes become one line on stderr and exit status 1."""

    def run(args) -> int:
        try:
            return handler(args)
        except _USER_ERRORS as exc:
            return _fail(command, str(exc))
        except KeyboardInterrupt:
            return _fail(command, "interrupted")
        except BrokenPipeError:  # `vbt history | head`
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except OSError:
                pass
            return 1
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            return _fail(command, f"{where}{exc.strerror or exc}")

    return run


def _home_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", metavar="DIR",
                        help="directory holding the history (default: $VBT_HOME, else $XDG_DATA_HOME/vbt "
                             "or ~/.local/share/vbt)")


def _team_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", action="store_true",
                        help="read the team server (every athlete, every rack; see `vbt team connect`)")


def _open(args) -> Store:
    if getattr(args, "team", False):  # the coach's view: every rack's sets on the team server
        from vbt.team.cli import _team_store

        return _team_store()
    store = Store.open(args.home)
    if store.damaged is not None:
        print(f"vbt: warning: {store.damage_message}", file=sys.stderr)
    return store


def _parse_date(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").timestamp()
    except ValueError:
        raise StoreError(f"{option} {text!r} is not a date like 2024-05-31") from None


def _parse_number(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise StoreError(f"{what} {text!r} is not a number") from None
    return value


def _json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _print_json(obj) -> None:
    json.dump(_json_safe(obj), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# ---- history -----------------------------------------------------------------------------------


def _set_line(s: SetRecord) -> str:
    label = METRIC_LABELS.get(s.metric, s.metric)
    load = f"{s.load_kg:g} kg" if s.load_kg is not None else "no load"
    side = "" if s.side == "both" else f" ({s.side})"
    parts = [
        f"  set {s.id:<5} {datetime.fromtimestamp(s.started_at_unix_s):%H:%M}  {s.exercise}{side}, {load}",
        f"{s.n_reps} rep{'s' if s.n_reps != 1 else ''}",
        f"best {label} {fmt(s.best_velocity_m_s, '.3f', ' m/s')}",
        f"loss {fmt(s.last_velocity_loss_pct, '.1f', ' %')} (limit {s.velocity_loss_threshold_pct:g} %"
        + (f", stop at rep {s.stop_rep})" if s.stop_rep else ")"),
    ]
    if s.warmup:
        parts.append("warm-up")
    if s.is_test:
        parts.append("TEST")
    if s.tempo_line():
        parts.append(s.tempo_line())
    if s.day_line():
        parts.append(s.day_line())
    if s.rpe is not None:
        parts.append(f"RPE {s.rpe:g}")
    if s.n_deleted_reps:
        parts.append(f"{s.n_deleted_reps} deleted")
    if s.recovered:
        parts.append("RECOVERED after a crash")
    if s.in_progress:
        parts.append("in progress")
    line = ", ".join(parts)
    if s.note:
        line += f"\n      note: {s.note}"
    return line


def _plan_week(store, athlete: str, unix_s: float, plans: dict):
    """Where a session falls in its athlete's plan (None: no plan); ``plans`` caches the plans."""
    if athlete not in plans:
        plans[athlete] = store.plan(athlete)
    plan = plans[athlete]
    return None if plan is None else plan.week(datetime.fromtimestamp(unix_s).date())


def _cmd_history(args) -> int:
    if args.action == "repair":
        return _cmd_repair(args)
    since, until = _parse_date(args.since, "--since"), _parse_date(args.until, "--until")
    if until is not None:
        until += 86400.0  # through the end of that day
    if args.limit is not None and args.limit < 0:
        raise StoreError("--limit must be 0 or more")
    limit = args.limit or None
    with _open(args) as store:
        plans: dict = {}
        if args.json:
            doc = store.history(athlete=args.athlete, exercise=args.exercise, since_unix_s=since,
                                until_unix_s=until, limit=limit)
            for session in doc["sessions"]:
                week = _plan_week(store, session["athlete"], session["started_unix_s"], plans)
                session["plan_week"] = None if week is None else {
                    "week": week.week, "block": week.block.name if week.block else None,
                    "week_in_block": week.week_in_block, "block_weeks": week.block.weeks if week.block else None,
                    "line": week.line()}
                for st in session["sets"]:
                    acc = store.accommodation(st["id"])
                    if acc is not None:
                        st["accommodation"] = acc.to_json()
            _print_json(doc)
            return 0
        sessions = store.sessions(athlete=args.athlete, exercise=args.exercise, since_unix_s=since,
                                  until_unix_s=until, limit=limit)[::-1]
        if not sessions:
            print("no sessions in the history" + (" match" if args.athlete or args.exercise or since or until else "")
                  + f" ({store.path})")
            return 0
        sets_by_session: dict[int, list[SetRecord]] = {}
        for record in store.sets(athlete=args.athlete, exercise=args.exercise,
                                 since_unix_s=sessions[0].started_at_unix_s - 86400.0):
            sets_by_session.setdefault(record.session_id, []).append(record)
        out = sys.stdout
        for s in sessions:
            when = datetime.fromtimestamp(s.started_at_unix_s)
            week = _plan_week(store, s.athlete, s.started_at_unix_s, plans)
            in_plan = f", plan week {week.week}: {week.line()}" if week is not None and week.block else ""
            out.write(f"{when:%Y-%m-%d %a %H:%M}  session {s.id}, {s.athlete}: {s.n_sets} set"
                      f"{'s' if s.n_sets != 1 else ''}, {s.n_reps} reps{in_plan}"
                      + (f"  ({s.note})" if s.note else "") + "\n")
            for record in sets_by_session.get(s.id, ()):
                out.write(_set_line(record) + "\n")
                acc = store.accommodation(record.id)
                if acc is not None:
                    out.write(f"      {acc.describe()}\n")
                if args.reps:
                    for r in store.reps(record.id):
                        rep = r.rep
                        out.write(
                            f"      rep {rep.index:>2} (id {r.id}): MV {fmt(rep.mean_velocity_m_s, '.3f')}  "
                            f"MPV {fmt(rep.mean_propulsive_velocity_m_s, '.3f')}  PV {fmt(rep.peak_velocity_m_s, '.3f')} m/s  "  # noqa: E501
                            f"ROM {fmt(rep.rom_m, '.3f')} m  loss {fmt(rep.velocity_loss_pct, '.1f', ' %')}"
                            + ("  DELETED" if r.deleted else "")
                            + (f"  check rep {rep.index}: {rep.quality}" if rep.doubtful else "") + "\n")
    return 0


def _cmd_repair(args) -> int:
    from vbt.store import database_path
    from vbt.store.repair import repair

    path = database_path(args.home)
    if path.exists():
        try:
            with Store(path, recover=False) as store:
                damaged = store.damaged
        except StoreError as exc:
            damaged = str(exc)
        if damaged is None:
            print(f"{path}: quick check found no damage; nothing to repair")
            return 0
    print("\n".join(repair(path).lines()))
    return 0


# ---- export and import -------------------------------------------------------------------------


def _cmd_export(args) -> int:
    with _open(args) as store:
        counts = store.export_csv(args.csv, athlete=args.athlete, exercise=args.exercise, traces=args.traces)
    print(f"exported {counts['sessions']} sessions, {counts['sets']} sets, {counts['reps']} reps to {args.csv}")
    return 0


def _export_dir_of(path: Path) -> Path | None:
    """The export directory ``path`` belongs to, or None if it is a recording."""
    if path.is_dir():
        if not (path / "sets.csv").exists():
            raise StoreError(f"{path}: a directory, but not a VBT export (no sets.csv)")
        return path
    if path.name in EXPORT_FILES:
        return path.parent
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return None  # read_recording gives the clear message
    header = [h.strip() for h in first.split(",")]
    if any(header[: len(cols)] == list(cols) for cols in EXPORT_COLUMNS.values()):
        return path.parent
    return None


def _cmd_import(args) -> int:
    load_kg = _parse_number(args.load_kg, "--load-kg")
    threshold = _parse_number(args.threshold_pct, "--threshold-pct")
    rpe = _parse_number(args.rpe, "--rpe")
    problems = check_set_fields(load_kg=load_kg, side=args.side, metric=args.metric, threshold_pct=threshold,
                                rpe=rpe, note=args.note)
    if problems:
        raise StoreError(as_options(problems, {"load_kg": "--load-kg", "velocity_loss_pct": "--threshold-pct",
                                               "RPE": "--rpe", "note": "--note", "side": "--side"}))
    export_dirs: list[Path] = []
    recordings: list[Path] = []
    for name in args.files:
        path = Path(name)
        if not path.exists():
            raise StoreError(f"{path}: no such file or directory")
        export_dir = _export_dir_of(path)
        if export_dir is None:
            recordings.append(path)
        elif export_dir.resolve() not in {d.resolve() for d in export_dirs}:
            export_dirs.append(export_dir)
    if export_dirs and (args.exercise or load_kg is not None):
        raise StoreError("--exercise and --load-kg apply to recordings; an export brings its own")

    with _open(args) as store:
        analysed = []
        if recordings:
            if not args.exercise:
                raise StoreError("--exercise is required to import a recording (it sets the minimum ROM and the MVT)")
            exercise = store.exercise(args.exercise)
            config = AnalysisConfig(
                segmentation=SegmentationConfig(min_rom_m=exercise.min_rom_m),
                stop_rule=StopRuleConfig(velocity_loss_pct=threshold, metric=args.metric),
                load_kg=load_kg,
            ).checked()
            try:
                from vbt.analysis import analyze, usable_cores
            except ImportError as exc:
                raise StoreError(f"the analysis core is not available ({exc})") from None
            for path in recordings:  # analyse everything before writing anything
                rec = read_recording(path, args.format, args.units, args.rate)
                if args.inverted:
                    rec = upside_down(rec)
                check_plausible(rec, path)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                result = analyze(rec.t_s, rec.position_m, config, workers=usable_cores())
                duration = float(rec.t_s[-1] - rec.t_s[0])
                started = path.stat().st_mtime - duration  # the file was written when the recording ended
                # (read the other way up, the same file is another set: a wrong import can be deleted
                # and the right one kept)
                uid = f"file-{digest[:32]}" + ("-inverted" if args.inverted else "")
                analysed.append((path, rec, result, uid, started, duration))
        lines = []
        with store.transaction():
            for directory in export_dirs:
                counts = store.import_csv(directory, athlete=args.athlete)
                lines.append(f"imported export {directory}: {counts['sessions']} sessions, {counts['sets']} sets, "
                             f"{counts['reps']} reps" + (f" ({counts['skipped_sets']} sets already in the history, "
                                                         f"skipped)" if counts["skipped_sets"] else ""))
            for path, rec, result, uid, started, duration in analysed:
                existing = store.conn.execute("SELECT id FROM sets WHERE uid = ?", (uid,)).fetchone()
                if existing:
                    lines.append(f"skipped {path}: already in the history as set {existing[0]}")
                    continue
                set_id = store.add_set(
                    result, exercise=exercise.name, athlete=args.athlete or DEFAULT_ATHLETE, load_kg=load_kg,
                    side=args.side, rpe=rpe, note=args.note, started_at_unix_s=started,
                    ended_at_unix_s=started + duration, trace=(rec.t_s, rec.position_m),
                    source=f"import:{rec.source_format}:{path.name}", uid=uid, new_session=args.new_session,
                )
                stop = f", stop at rep {result.stop_rep}" if result.stop_rep else ""
                lines.append(f"imported {path} as set {set_id}: {exercise.name}"
                             + (f" {load_kg:g} kg" if load_kg is not None else "")
                             + f", {len(result.reps)} reps{stop}"
                             + "".join(f" ({note})" for note in rec.notes))
    for line in lines:
        print(line)
    return 0


# ---- profile -----------------------------------------------------------------------------------


def _cmd_profile(args) -> int:
    if not math.isfinite(args.days) or not 0 <= args.days <= MAX_PROFILE_DAYS:
        raise StoreError(f"--days must be a number of days from 0 (all history) to {MAX_PROFILE_DAYS}, "
                         f"not {args.days:g}")
    with _open(args) as store:
        profile = store.load_velocity_profile(args.exercise, athlete=args.athlete, metric=args.metric,
                                              days=args.days, side=args.side)
    if args.json:
        _print_json(profile.to_json())
    else:
        print("\n".join(describe(profile)))
    return 0


# ---- exercises and reps ------------------------------------------------------------------------


def _cmd_exercises(args) -> int:
    mvt = _parse_number(args.mvt, "--mvt")
    min_rom = _parse_number(args.min_rom, "--min-rom")
    with _open(args) as store:
        if args.add:
            if mvt is None:
                raise StoreError("--add needs --mvt (the mean velocity of a 1RM, m/s)")
            from vbt.exercises import DEFAULT_MIN_ROM_M, Exercise

            new = Exercise(args.add, mvt, DEFAULT_MIN_ROM_M if min_rom is None else min_rom)
            if new.validate():  # named as the options typed
                raise StoreError(as_options(new.validate(), {"mvt_m_s": "--mvt", "min_rom_m": "--min-rom",
                                                             "name": "--add"}))
            ex = store.add_exercise(args.add, mvt, new.min_rom_m, low_confidence=args.low_confidence,
                                    unilateral=args.unilateral)
            print(f"added {ex.name}: MVT {ex.mvt_m_s:g} m/s, minimum ROM {ex.min_rom_m:g} m"
                  + (", one side at a time" if ex.unilateral else ""))
            return 0
        if args.change:
            if mvt is None and min_rom is None:
                raise StoreError("--change needs --mvt and/or --min-rom")
            try:
                ex = store.set_exercise_defaults(args.change, mvt_m_s=mvt, min_rom_m=min_rom)
            except StoreError as exc:  # named as the options typed
                raise StoreError(as_options(str(exc).split("; "), {"mvt_m_s": "--mvt", "min_rom_m": "--min-rom"})) \
                    from None
            print(f"changed {ex.name}: MVT {ex.mvt_m_s:g} m/s, minimum ROM {ex.min_rom_m:g} m")
            return 0
        if mvt is not None or min_rom is not None:
            raise StoreError("--mvt and --min-rom go with --add NAME or --change NAME")
        exercises = store.exercises()
    if args.json:
        _print_json([{"name": e.name, "mvt_m_s": e.mvt_m_s, "min_rom_m": e.min_rom_m,
                      "low_confidence": e.low_confidence, "mvt_source": e.mvt_source, "builtin": e.builtin,
                      "unilateral": e.unilateral}
                     for e in exercises])
        return 0
    width = max(len(e.name) for e in exercises)
    for e in exercises:
        print(f"{e.name:<{width}}  MVT {e.mvt_m_s:.2f} m/s ({SOURCE_WORDS.get(e.mvt_source, e.mvt_source)})  "
              f"min ROM {e.min_rom_m:.2f} m"
              + ("  low-confidence 1RM" if e.low_confidence else "")
              + ("  unilateral (left/right sets)" if e.unilateral else ""))
    return 0


def _row_id(text: str, what: str) -> int:
    """An id a person typed: a whole number the history could hold."""
    try:
        value = int(text)
    except ValueError:
        raise StoreError(f"{what} {text!r} is not a whole number (see `vbt history --reps`)") from None
    if not 1 <= value < 2 ** 63:
        raise StoreError(f"no {what} {text} in the history")
    return value


def _cmd_set_deleted(args) -> int:
    set_id = _row_id(args.set_id, "set")
    if args.delete and args.restore:
        raise StoreError("--delete or --restore, not both")
    args.action = "delete" if args.delete else "restore"
    with _open(args) as store:
        record = store.delete_set(set_id) if args.action == "delete" else store.restore_set(set_id)
    verb = "deleted" if args.action == "delete" else "restored"
    print(f"{verb} set {set_id} ({record.exercise}, {record.n_reps} reps)"
          + (f"; `vbt set {set_id} --restore` brings it back" if args.action == "delete" else ""))
    return 0


def _cmd_rep(args) -> int:
    args.rep_id = _row_id(args.rep_id, "rep")
    with _open(args) as store:
        result = store.delete_rep(args.rep_id) if args.action == "delete" else store.restore_rep(args.rep_id)
    verb = "deleted" if args.action == "delete" else "restored"
    stop = f"stop at rep {result.stop_rep}" if result.stop_rep else "no stop"
    losses = ", ".join(fmt(r.velocity_loss_pct, ".1f") for r in result.reps)
    print(f"{verb} rep {args.rep_id}; the set now has {len(result.reps)} reps, losses % [{losses}], {stop}")
    return 0


def _cmd_set(args) -> int:
    if args.delete or args.restore:
        return _cmd_set_deleted(args)
    fields = {}
    if args.exercise is not None:
        fields["exercise"] = args.exercise
    if args.load_kg is not None:
        fields["load_kg"] = None if args.load_kg.lower() == "none" else _parse_number(args.load_kg, "--load-kg")
    if args.side is not None:
        fields["side"] = args.side
    if args.rpe is not None:
        fields["rpe"] = None if args.rpe.lower() == "none" else _parse_number(args.rpe, "--rpe")
    if args.note is not None:
        fields["note"] = args.note or None
    if not fields:
        raise StoreError("say what to change: --exercise, --load-kg, --side, --rpe or --note")
    with _open(args) as store:
        if args.set_id == "last":
            newest = store.sets(athlete=args.athlete, limit=1, newest_first=True)
            if not newest:
                raise StoreError("no sets in the history yet")
            set_id = newest[0].id
        else:
            try:
                set_id = int(args.set_id)
            except ValueError:
                raise StoreError(f"{args.set_id!r} is not a set id (a number from `vbt history`, or last)") from None
            if not 1 <= set_id < 2 ** 63:
                raise StoreError(f"no set {args.set_id} in the history")
        record = store.update_set(set_id, **fields)
    print("changed" + _set_line(record)[1:])
    return 0


# ---- wiring ------------------------------------------------------------------------------------


def register(subparsers) -> None:
    """Add the history commands to an ``argparse`` subparsers object; ``args.func(args)`` runs one."""
    p = subparsers.add_parser("history", help="list sessions, sets and reps from the history",
                              description="List the training history, oldest session first. "
                                          "`vbt history repair` rescues a damaged history file: everything "
                                          "readable is copied into a new file, the original is kept beside it.")
    _home_arg(p)
    p.add_argument("action", nargs="?", choices=("list", "repair"), default="list",
                   help="list (default) or repair")
    p.add_argument("--athlete", help="only this athlete")
    p.add_argument("--exercise", help="only sessions with this exercise, and only its sets")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="sessions from this day on")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="sessions up to and including this day")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N sessions")
    p.add_argument("--reps", action="store_true", help="list every rep (with its id, for `vbt rep`)")
    _team_arg(p)
    p.add_argument("--json", action="store_true",
                   help="print JSON: sessions -> sets -> reps, each rep with the fields of `vbt analyze --json` "
                        "plus rep_id, recorded_index and deleted")
    p.set_defaults(func=_guarded("history", _cmd_history))

    p = subparsers.add_parser("export", help="write the history as CSV files a spreadsheet opens",
                              description="Write the history as CSV files.", epilog=EXPORT_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    _home_arg(p)
    p.add_argument("--csv", required=True, metavar="DIR", help="directory to write (created if missing)")
    p.add_argument("--athlete", help="only this athlete")
    p.add_argument("--exercise", help="only this exercise")
    p.add_argument("--traces", action="store_true", help="also write each set's raw trace")
    p.set_defaults(func=_guarded("export", _cmd_export))

    p = subparsers.add_parser(
        "import", help="bring recordings or an export into the history",
        description="Import recordings (Chronojump raw signal or our t_s,position_m CSV: each becomes one\n"
                    "analysed set with its trace) or a `vbt export --csv` directory (name the directory or\n"
                    "any of its files). All files are checked and analysed first; if any fails, nothing is\n"
                    "imported. A file or exported set imported before is skipped.",
        epilog=EXPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _home_arg(p)
    p.add_argument("files", nargs="+", metavar="FILE", help="recordings, export directories or export CSV files")
    p.add_argument("--athlete", help=f"whose sets these are (default: {DEFAULT_ATHLETE!r} for recordings, "
                                     "the exported names for an export)")
    p.add_argument("--exercise", help="exercise of the recordings (required for recordings)")
    p.add_argument("--load-kg", metavar="KG", help="bar load of the recordings")
    p.add_argument("--side", choices=SIDES, default="both", help="both (default), left or right")
    p.add_argument("--metric", choices=METRICS, default="mean", help="stop-rule metric (default mean)")
    p.add_argument("--threshold-pct", metavar="PCT", default="10", help="velocity-loss limit in %% (default 10)")
    p.add_argument("--rpe", metavar="1-10", help="perceived effort of the recorded sets")
    p.add_argument("--note", help="note kept with each recorded set")
    p.add_argument("--format", choices=FORMATS, default="auto", help="recording format (default: detect)")
    add_reading_options(p)
    p.add_argument("--new-session", action="store_true",
                   help="start a new session instead of joining sets within two hours")
    p.set_defaults(func=_guarded("import", _cmd_import))

    p = subparsers.add_parser(
        "profile", help="load-velocity profile and estimated 1RM",
        description="Fit load against the fastest rep per load and read the 1RM at the exercise's minimal "
                    "velocity threshold, with its interval. Squat- and deadlift-type lifts are flagged low "
                    "confidence.")
    _home_arg(p)
    p.add_argument("exercise", metavar="EXERCISE")
    p.add_argument("--athlete", help="whose profile (needed when several athletes did the exercise)")
    p.add_argument("--metric", choices=METRICS, default="mean", help="velocity used (default mean)")
    p.add_argument("--days", type=float, default=DEFAULT_PROFILE_DAYS,
                   help=f"use the sets of this many days up to the newest one (default {DEFAULT_PROFILE_DAYS}; "
                        "0 = all history)")
    p.add_argument("--side", choices=SIDES, help="only sets of this side")
    p.add_argument("--json", action="store_true", help="print the profile as JSON")
    _team_arg(p)
    p.set_defaults(func=_guarded("profile", _cmd_profile))

    p = subparsers.add_parser("exercises", help="list, add or change exercises (MVT, minimum ROM)")
    _home_arg(p)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--add", metavar="NAME", help="add an exercise (with --mvt, optional --min-rom)")
    group.add_argument("--change", metavar="NAME", help="change an exercise's --mvt and/or --min-rom")
    p.add_argument("--mvt", metavar="M_S", help="minimal velocity threshold: mean velocity of a 1RM, m/s")
    p.add_argument("--min-rom", metavar="M", help="smallest concentric range of motion counted as a rep, m")
    p.add_argument("--low-confidence", action="store_true", help="flag 1RM estimates of the new exercise as weak")
    p.add_argument("--unilateral", action="store_true",
                   help="the new exercise is done one side at a time (its sets carry --side left/right)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_guarded("exercises", _cmd_exercises))

    p = subparsers.add_parser("set", help="change a recorded set: its exercise, load, side, RPE or note",
                              description="Change what was entered about a recorded set, for example name the "
                                          "exercise of sets `vbt live` recorded as 'unspecified'. SET_ID is a "
                                          "number from `vbt history`, or `last` for the newest set.")
    _home_arg(p)
    p.add_argument("set_id", metavar="SET_ID")
    p.add_argument("--exercise", help="the exercise (see `vbt exercises`)")
    p.add_argument("--load-kg", metavar="KG", help="the bar load, or none")
    p.add_argument("--side", choices=SIDES)
    p.add_argument("--rpe", metavar="1-10", help="perceived effort, or none")
    p.add_argument("--note", help="a note (empty to clear)")
    p.add_argument("--athlete", help="with last: the newest set of this athlete")
    p.add_argument("--delete", action="store_true",
                   help="delete the set (it stays in the file, out of lists, profiles and exports; "
                        "importing it again replaces it)")
    p.add_argument("--restore", action="store_true", help="undo --delete")
    p.set_defaults(func=_guarded("set", _cmd_set))

    p = subparsers.add_parser("rep", help="delete a miscounted rep, or restore it",
                              description="Delete or restore a rep by id (see `vbt history --reps`); the set's "
                                          "velocity loss is recomputed. Deleted reps stay in the history.")
    _home_arg(p)
    p.add_argument("action", choices=("delete", "restore"))
    p.add_argument("rep_id", metavar="REP_ID")
    p.set_defaults(func=_guarded("rep", _cmd_rep))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vbt", description="VBT tracker history commands")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
