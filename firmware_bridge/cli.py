"""Device commands: ``emulate``, ``devices`` and ``live``.

``register(subparsers)`` adds them to the `vbt` console command; ``main(argv)`` runs them
standalone (``python -m firmware_bridge.cli live --demo``). Each handler returns the exit
status; a user's mistake is one line on stderr and status 1, Ctrl-C ends cleanly with 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import logging
import os
import queue
import signal
import sys
import threading
import time

from vbt.units import fmt

_log = logging.getLogger(__name__)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends a long-running command like Ctrl-C does (clean stop, no traceback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(command: str, message: str) -> int:
    print(f"vbt {command}: {message}", file=sys.stderr, flush=True)
    return 1


def _out(line: str) -> None:
    try:
        print(line, flush=True)
    except BrokenPipeError:  # `vbt live --jsonl | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        raise KeyboardInterrupt from None


# ---- emulate ------------------------------------------------------------------------------------


def _cmd_emulate(args) -> int:
    from firmware_bridge.emulator import Emulator
    from vbt.io import RecordingError

    try:
        emu = Emulator(args.protocol, seed=args.seed, replay=args.replay, n_sets=args.sets, rest_s=args.rest_s,
                       style=args.style, speed=args.speed, inverted=args.inverted, start_on="open",
                       replay_rate_hz=args.rate)
    except RecordingError as exc:
        return _fail("emulate", str(exc))
    except (ValueError, OSError) as exc:
        return _fail("emulate", str(exc))
    try:
        port = emu.start()
    except OSError as exc:
        return _fail("emulate", f"cannot open a pseudo-terminal: {exc}")
    stop = threading.Event()
    try:
        with _sigterm_as_interrupt():
            _serve_emulator(emu, port, stop, args)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


def _serve_emulator(emu, port, stop, args) -> None:
    what = f"replaying {args.replay}" if args.replay else f"simulated lifter, seed {args.seed}"
    _out(port)
    print(f"emulated {args.protocol} transducer ({what}) on {port} (device {emu.device_name}); "
          f"its script starts when a program opens the port. Ctrl-C to stop.", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    while not stop.wait(0.2):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if args.exit_at_end and emu.finished:
            break


# ---- devices ------------------------------------------------------------------------------------


def _cmd_devices(args) -> int:
    from firmware_bridge.discovery import discover

    if not math.isfinite(args.timeout) or not 0.05 <= args.timeout <= 60.0:
        return _fail("devices", f"--timeout must be from 0.05 to 60 seconds, not {args.timeout:g}")
    reports = discover(timeout_s=args.timeout)
    if args.json:
        _out(json.dumps([r.to_json() for r in reports], indent=2))
        return 0
    if not reports:
        _out("no serial ports found (plug the transducer in, or start one with `vbt emulate`)")
        return 0
    for r in reports:
        mark = "*" if r.is_transducer else " "
        _out(f"{mark} {r.line()}")
    n = sum(r.is_transducer for r in reports)
    _out(f"{n} transducer{'s' if n != 1 else ''} found" + (" (`--port auto` will use it)" if n == 1 else ""))
    return 0


# ---- calibrate ----------------------------------------------------------------------------------


def _cmd_calibrate(args) -> int:
    import queue
    import time

    import numpy as np

    from firmware_bridge import calibration
    from firmware_bridge.discovery import DiscoveryError, auto_port
    from firmware_bridge.reader import DeviceReader

    if not 0.05 <= args.length <= 10.0:
        return _fail("calibrate", f"--length {args.length:g} m is outside 0.05–10 m")
    port = args.port
    if port == "auto":
        try:
            port = auto_port("native").port.device
        except DiscoveryError as exc:
            return _fail("calibrate", str(exc))
    # Raw counts: the firmware's own counts per metre, not a previous calibration.
    reader = DeviceReader(port, "native", calibration=False, silence_timeout_s=max(2.0, args.timeout))
    reader.start()
    try:
        deadline = time.monotonic() + args.timeout
        ident, detector = None, None
        while time.monotonic() < deadline:
            try:
                ev = reader.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if ev.type == "device_unavailable" and ident is None:
                _out(ev.reason)
            elif ev.type == "device_connected" and ident is None:
                ident = ev.device
                cpm = ident["firmware_counts_per_m"]
                detector = calibration.PullDetector(min_counts=0.5 * args.length * cpm,
                                                    band_counts=max(2.0, 0.001 * cpm), still_s=args.still_s)
                _out(f"device {ident['device_id']} (firmware {ident['firmware_version']}, "
                     f"{cpm} counts/m built in) on {port}")
                _out(f"hold the cable still, then pull it out by exactly {args.length:g} m and hold it there "
                     f"{args.still_s:g} s")
            elif ev.type == "samples" and detector is not None:
                delta = detector.feed(ev.t_s, np.asarray(ev.position_m) * ident["firmware_counts_per_m"])
                if delta is not None:
                    measured = abs(delta) / args.length
                    built = ident["firmware_counts_per_m"]
                    if not 0.5 * built <= measured <= 2.0 * built:
                        return _fail("calibrate", f"measured {measured:.1f} counts/m, more than a factor 2 from "
                                                  f"the firmware's {built}: was the pull {args.length:g} m? "
                                                  "Nothing stored.")
                    reversed_wiring = delta < 0
                    path = calibration.save(int(ident["device_id"], 16), measured, firmware_counts_per_m=built,
                                            length_m=args.length, reversed_wiring=reversed_wiring)
                    _out(f"measured {measured:.1f} counts/m ({100.0 * (measured / built - 1.0):+.2f} % from the "
                         f"firmware's {built}); stored for device {ident['device_id']} in {path}")
                    if reversed_wiring:
                        _out("the count fell as the cable came out (the encoder's A and B are the other way "
                             "round): stored too, and this device's positions are negated from now on, so that "
                             "a rising bar reads as rising")
                    return 0
        if ident is None:
            return _fail("calibrate", f"no native transducer answered on {port} within {args.timeout:g} s")
        return _fail("calibrate", f"no pull of {args.length:g} m held still at both ends within {args.timeout:g} s; "
                                  "nothing stored")
    finally:
        reader.stop()


# ---- live ---------------------------------------------------------------------------------------


def format_event(event, approximate_power: bool = False) -> str | None:
    """One line a person reads for an event of a live session (None: nothing to print).
    ``approximate_power``: the set's bands are given by one tension only (force and power marked ≈)."""
    kind = event.type
    if kind == "device_connected":
        d = event.device
        ident = f", device {d['device_id']}, firmware {d['firmware_version']}" if "device_id" in d else ""
        if d.get("calibrated"):
            ident += f", calibrated {d['counts_per_m']:g} counts/m"
        again = "reconnected" if event.reconnect else "connected"
        return f"[{event.t_s:8.2f} s] device {again}: {event.port} ({event.protocol}{ident})"
    if kind == "device_lost":
        return f"[{event.t_s:8.2f} s] device lost: {event.port}: {event.reason}; reconnecting…"
    if kind == "device_unavailable":
        return f"[{event.t_s:8.2f} s] {event.reason}"
    if kind in ("rep", "rep_revised"):
        r = event.rep
        loss = f", loss {r.velocity_loss_pct:.1f} %" if r.velocity_loss_pct is not None else ""
        approx = "≈" if approximate_power else ""
        power = f", mean power {approx}{r.mean_power_w:.0f} W" if r.mean_power_w is not None else ""
        zone = f"; zone: {event.zone.line()}" if getattr(event, "zone", None) is not None else ""
        check = f"; check rep {r.index}: {r.quality}" if r.doubtful else ""
        what = f"rep {r.index}"
        if kind == "rep_revised":  # the first rep, closed at a hold mid-way, went on up: one rep
            was = event.previous.mean_velocity_m_s if event.previous is not None else None
            what += f" revised (the bar rose on after a hold; was MV {fmt(was, '.3f', ' m/s')})"
        return (f"[{event.t_s:8.2f} s] {what}: MV {fmt(r.mean_velocity_m_s, '.3f', ' m/s')}, "
                f"MPV {fmt(r.mean_propulsive_velocity_m_s, '.3f', ' m/s')}, "
                f"PV {fmt(r.peak_velocity_m_s, '.3f', ' m/s')}, ROM {fmt(r.rom_m, '.3f', ' m')}{loss}{power}{check}"
                f"{zone}")
    if kind == "warning":
        return (f"[{event.t_s:8.2f} s] warning: rep {event.index} is {event.velocity_loss_pct:.1f} % slower than "
                f"the best (limit {event.threshold_pct:g} %)")
    if kind == "stop":
        return (f"[{event.t_s:8.2f} s] STOP: rep {event.index} lost {event.velocity_loss_pct:.1f} % "
                f"(limit {event.threshold_pct:g} %): end the set")
    if kind == "set_end":
        res = event.result
        line = (f"[{event.t_s:8.2f} s] set ended ({event.reason}): {len(res.reps)} reps, best rep {res.best_rep}, "
                f"stop rep {res.stop_rep if res.stop_rep is not None else 'none'}")
        if getattr(event, "tempo", None) is not None:
            line += f"; {event.tempo.line()}"
        if getattr(event, "day", None) is not None:
            line += f"; day: {event.day.reason}"
        return line
    if kind == "day_done":
        v = event.verdict
        how = "same load" if v.basis == "same_load" else "load-velocity profile"
        return (f"[{event.t_s:8.2f} s] DONE FOR TODAY with {event.exercise}: best {v.set_best_m_s:.3f} m/s is "
                f"{v.ratio_pct:.1f} % of {v.reference_m_s:.3f} m/s ({how}; day's best {v.day_best_m_s:.3f} m/s, "
                f"floor {v.floor_pct:g} %)")
    if kind == "tempo_miss":
        return f"[{event.t_s:8.2f} s] tempo: rep {event.index} too fast: {event.reason}"
    if kind == "button":
        return f"[{event.t_s:8.2f} s] button {'pressed' if event.pressed else 'released'}"
    if kind == "line_errors":
        return f"[{event.t_s:8.2f} s] line errors: {event.count} refused ({event.total} since the start)"
    return None


# The events `vbt live --jsonl` prints, each as its own ``to_json()``.
JSONL_EVENTS = frozenset({"rep", "rep_revised", "warning", "stop", "set_end", "day_done", "tempo_miss", "line_errors",
                          "device_connected", "device_lost", "device_unavailable"})


def event_json(event) -> dict | None:
    """The `--jsonl` object of an event (None: not printed)."""
    return event.to_json() if event.type in JSONL_EVENTS else None


#: `vbt live`'s band and chain options -> the set field each fills (vbt.fields).
ACCOMMODATION_OPTIONS = {"band_top_n": "--band-top", "band_bottom_n": "--band-bottom",
                         "band_n_per_m": "--band-stiffness", "chain_top_kg": "--chain-top",
                         "chain_kg_per_m": "--chain-per-m"}


def _accommodation(args):
    """(vbt.resistance.Accommodation or None, problems) from the band and chain options."""
    from vbt.resistance import Accommodation

    acc = Accommodation(**{f: getattr(args, f, None) for f in ACCOMMODATION_OPTIONS})
    return (None if acc.empty else acc), acc.validate()


def _analysis_config(args):
    from vbt.config import AnalysisConfig, StopRuleConfig

    limit = args.velocity_loss if args.velocity_loss is not None else 10.0
    acc, _ = _accommodation(args)
    config = AnalysisConfig(stop_rule=StopRuleConfig(velocity_loss_pct=limit, metric=args.metric),
                            load_kg=args.load_kg, accommodation=acc)
    return config, config.validate()


def plan_for_live(athlete: str, exercise: str | None, velocity_loss_pct: float | None, metric: str = "mean"):
    """What the athlete's plan says for a live session today: ``(limit, words, zone)``.

    ``limit`` is the velocity-loss limit to use: ``velocity_loss_pct`` when the person gave one,
    else the active block's, else the default 10 %. ``words`` (or None) say where the limit and the
    zone come from, for the first line. ``zone`` is the exercise's ``vbt.plan.ZoneTarget`` or None.
    Reads the history only if its file exists (a live run never creates it for this)."""
    from vbt.store.plans import plan_today

    limit = velocity_loss_pct if velocity_loss_pct is not None else 10.0
    try:
        week, zone = plan_today(None, athlete, exercise)
    except Exception as exc:  # noqa: BLE001 - no plan then; say why
        return limit, f"plan not read ({exc})", None
    if week is None:
        return limit, None, None
    if week.block is None:
        return limit, f"{athlete}'s plan: {week.why_none}", None
    block = week.block
    if velocity_loss_pct is None:
        limit = block.velocity_loss_pct
        words = (f"velocity-loss limit {limit:g} % from {athlete}'s plan ({week.line()}; "
                 f"--velocity-loss overrides)")
    else:
        words = (f"velocity-loss limit {velocity_loss_pct:g} % from --velocity-loss (the plan's {block.name} "
                 f"block says {block.velocity_loss_pct:g} %)")
    if zone is not None:
        words += f"; zone {zone.low_m_s:.2f}–{zone.high_m_s:.2f} m/s MV from the {zone.source_text}"
        if metric != "mean":
            words += " (zones are in mean velocity)"
    return limit, words, zone


def make_history_hook(args):
    """The history hook of `vbt live`: sets are recorded unless ``--no-record``, as ``--exercise``
    or, until someone names it, as the exercise "unspecified". Returns (hook or None, the line
    that says what happens, for the first line on stderr); raises ValueError for an unknown exercise."""
    if args.no_record:
        return None, "not recording (--no-record): the sets are shown, not kept"
    try:
        from vbt.store import SetRecorder
    except ImportError:
        return None, "the history store is not available; sets are not recorded"
    from firmware_bridge.live import HistoryHook
    from vbt.exercises import UNSPECIFIED, canonical_key, exercise_key

    exercise = args.exercise or UNSPECIFIED

    def tell(message: str) -> None:  # once when writing fails, once when it works again
        print(f"vbt live: history: {message}", file=sys.stderr, flush=True)

    rec = SetRecorder(on_error=tell, on_recovered=tell)
    known = {e.key for e in rec.exercises}
    if exercise_key(exercise) not in known and canonical_key(exercise) not in known:
        rec.stop()
        raise ValueError(f"unknown exercise {exercise!r} (see `vbt exercises`)")
    hook = HistoryHook(rec, exercise=exercise, load_kg=args.load_kg, athlete=args.athlete,
                       metric=args.metric, threshold_pct=args.velocity_loss, source="demo" if args.demo else "live")
    what = "demo sets" if args.demo else "sets"
    if args.exercise:
        return hook, f"recording {what} of {args.exercise} into {rec.path} (--no-record: do not record)"
    return hook, (f"recording {what} into {rec.path} as exercise {UNSPECIFIED!r} (name it with --exercise, or "
                  "afterwards: vbt set last --exercise NAME; --no-record: do not record)")


def _method_options(args):
    """(DayRuleConfig, Tempo or None, problems) from `vbt live`'s method options."""
    from vbt.dayrule import DayRuleConfig
    from vbt.fields import as_options
    from vbt.tempo import TempoError, parse_tempo

    problems = []
    day = DayRuleConfig(floor_pct=args.day_floor, warmup_below_kg=args.warmup_below, metric=args.metric)
    bad = day.validate()
    if bad:
        problems.append(as_options(bad, {"day_floor_pct": "--day-floor", "warmup_below_kg": "--warmup-below"}))
    tempo = None
    if args.tempo is not None:
        try:
            tempo = parse_tempo(args.tempo, args.tempo_margin)
        except TempoError as exc:
            problems.append("--" + str(exc))
    return day, tempo, problems


def _cmd_live(args) -> int:
    from vbt.fields import as_options

    _, acc_problems = _accommodation(args)
    if acc_problems:
        return _fail("live", as_options(acc_problems, ACCOMMODATION_OPTIONS))
    if args.no_plan:
        plan_words, zone = None, None
        args.velocity_loss = 10.0 if args.velocity_loss is None else args.velocity_loss
    else:
        args.velocity_loss, plan_words, zone = plan_for_live(args.athlete or "default", args.exercise,
                                                             args.velocity_loss, args.metric)
    args.zone = zone
    config, problems = _analysis_config(args)
    day_config, tempo, method_problems = _method_options(args)
    if method_problems:
        return _fail("live", "; ".join(method_problems))
    if problems:
        from vbt.fields import as_options

        return _fail("live", as_options(problems, {"velocity_loss_pct": "--velocity-loss", "load_kg": "--load-kg",
                                                   "metric": "--metric"}))
    try:  # first, so the first line says whether and where the sets are recorded
        hook, note = make_history_hook(args)
    except Exception as exc:
        return _fail("live", str(exc))
    if plan_words:
        note += f"; {plan_words}"
    if config.accommodation is not None:
        note += f"; {config.accommodation.describe()}"
    print(note, file=sys.stderr, flush=True)
    sync = _start_team_sync(hook)
    try:
        return _start_live(args, config, hook)
    finally:
        if hook is not None:
            hook.close()
        if sync is not None:
            sync.stop()


def _start_team_sync(hook):
    """With a team server configured, finished sets are uploaded by a worker thread of their own
    (vbt.team.sync); what happens is said once on stderr, the password never."""
    if hook is None:
        return None
    from vbt.team import start_sync

    def tell(message: str) -> None:
        print(f"vbt live: team: {message}", file=sys.stderr, flush=True)

    worker, note = start_sync(hook.recorder.path, on_error=tell, on_recovered=tell)
    if note:
        tell(note)
    return worker


def _start_live(args, config, hook) -> int:
    from firmware_bridge.discovery import DiscoveryError, SeveralTransducers, auto_port
    from firmware_bridge.emulator import Emulator
    from firmware_bridge.live import LiveSession

    emulator = None
    port, protocol = args.port, args.protocol
    if args.demo:
        emulator = Emulator("chronojump" if protocol == "auto" else protocol, seed=args.seed, start_on="open")
        port = emulator.start()
        protocol = emulator.protocol
        print(f"demo: emulated {protocol} transducer on {port}", file=sys.stderr, flush=True)
    elif port == "auto":
        try:
            report = auto_port(protocol)
        except SeveralTransducers as exc:
            report = _pick(exc.reports)
            if report is None:
                return _fail("live", str(exc))
        except DiscoveryError as exc:
            return _fail("live", str(exc))
        port, protocol = report.port.device, report.protocol
    from firmware_bridge.live import MethodContext, history_day_book

    day_config, tempo, _ = _method_options(args)
    if hook is not None:
        hook.warmup = bool(args.warmup)
    context = MethodContext(athlete=args.athlete or "default", exercise=args.exercise or "unspecified",
                            load_kg=args.load_kg, warmup=bool(args.warmup), tempo=tempo,
                            zone=getattr(args, "zone", None), accommodation=config.accommodation)
    try:
        session = LiveSession(port, protocol, config, forward_samples=False, forward_health=False, recorder=hook,
                              reader_options={"inverted": args.inverted}, context=context,
                              day_book=history_day_book(hook.recorder if hook is not None else None, day_config))
        return _run_live(session, args)
    finally:
        if emulator is not None:
            emulator.stop()


def _pick(reports):
    """Several transducers answered: on a terminal, list them and ask which; else None (the caller
    says to pass --port)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    print("several transducers answered:", file=sys.stderr)
    for k, r in enumerate(reports, start=1):
        print(f"  {k}. {r.label()}", file=sys.stderr)
    while True:
        print(f"which one? [1-{len(reports)}, Enter for 1, q to quit] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        if not answer or answer.strip().lower() in ("q", "quit"):
            raise KeyboardInterrupt
        choice = answer.strip() or "1"
        if choice.isdigit() and 1 <= int(choice) <= len(reports):
            return reports[int(choice) - 1]


def _run_live(session, args) -> int:
    sets_ended = 0
    acc = getattr(session.config, "accommodation", None)
    approximate = bool(acc is not None and acc.approximate and args.load_kg)

    def show(event) -> None:
        nonlocal sets_ended
        if args.jsonl:
            obj = event_json(event)
            if obj is not None:
                if approximate and event.type in ("rep", "rep_revised"):
                    obj["force_power_approximate"] = True
                _out(json.dumps(obj))
        else:
            line = format_event(event, approximate)
            if line is not None:
                _out(line)
        if event.type == "set_end":
            sets_ended += 1

    deadline = time.monotonic() + args.duration if args.duration else None
    with _sigterm_as_interrupt():
        return _live_loop(session, args, show, deadline, lambda: sets_ended)


def _live_loop(session, args, show, deadline, sets_ended) -> int:
    try:
        if session.warm:
            from vbt.compile_cache import first_run_words

            words = first_run_words()  # a first run: say why nothing happens for ~20 s
            if words:
                print(f"{words[:1].upper()}{words[1:]}…", file=sys.stderr, flush=True)
        session.start()
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if args.max_sets and sets_ended() >= args.max_sets:
                break
            try:
                event = session.events.get(timeout=0.2)
            except queue.Empty:
                continue
            show(event)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            session.stop(finish=not (args.max_sets and sets_ended() >= args.max_sets))
        except KeyboardInterrupt:
            pass
        while True:
            try:
                event = session.events.get_nowait()
            except queue.Empty:
                break
            try:
                show(event)
            except KeyboardInterrupt:
                break
    return 0


# ---- wiring -------------------------------------------------------------------------------------


def register(subparsers) -> None:
    """Add ``emulate``, ``devices``, ``calibrate`` and ``live`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "emulate", help="run an emulated transducer on a pseudo-terminal",
        description="Run an emulated transducer (a simulated lifter, or a replayed recording) on a "
                    "pseudo-terminal. Prints the port to open on the first line of stdout; runs until Ctrl-C.")
    p.add_argument("--protocol", choices=("chronojump", "native"), default="chronojump")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated lifter (default 0)")
    p.add_argument("--replay", metavar="FILE", help="play a recording (CSV or Chronojump raw) as the device's motion")
    p.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="with --replay: the sampling rate of a CSV that numbers its samples or holds positions alone")
    p.add_argument("--sets", type=int, default=3, help="sets per pass of the simulated session (repeats)")
    p.add_argument("--rest-s", type=float, default=60.0, help="rest between simulated sets (default 60 s)")
    p.add_argument("--style", choices=("squat", "bench", "deadlift"), default=None)
    p.add_argument("--speed", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--inverted", action="store_true", help="mounted upside down (its counts negated: either protocol)")
    p.add_argument("--duration", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--exit-at-end", action="store_true", help="with --replay: stop when the recording has played")
    p.set_defaults(func=_cmd_emulate)

    p = subparsers.add_parser("devices", help="list serial ports and the transducers answering on them",
                              description="List serial ports (USB VID:PID, serial number) and running emulators, "
                                          "and probe each for a native or Chronojump transducer.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for each port to answer")
    p.set_defaults(func=_cmd_devices)

    p = subparsers.add_parser(
        "calibrate", help="measure a native transducer's counts per metre (pull the cable a known length)",
        description="Measure a native transducer's counts per metre: hold the cable still, pull it out by a "
                    "known length, hold it still again. The value is stored on this computer for that device "
                    "(by its id) and used whenever it is read.")
    p.add_argument("--length", type=float, required=True, help="the length you pull the cable out by, in metres")
    p.add_argument("--port", default="auto", help="device name, pty path, or 'auto' (the only native transducer)")
    p.add_argument("--still-s", type=float, default=1.0, help="how long the cable must be held still at each end")
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    p.set_defaults(func=_cmd_calibrate)

    p = subparsers.add_parser(
        "live", help="read a transducer and print reps as they happen",
        description="Read a transducer and print each event as it happens: device connected or lost, rep with "
                    "its metrics, velocity-loss warning, stop, set ended. Ctrl-C ends. The sets are recorded into "
                    "the history (as --exercise, or 'unspecified' until named) unless --no-record.")
    p.add_argument("--port", default="auto",
                   help="device name, pty path, pyserial URL, or 'auto' (the only transducer)")
    p.add_argument("--protocol", choices=("auto", "chronojump", "native"), default="auto")
    p.add_argument("--load-kg", type=float, default=None, help="moving mass for force and power")
    p.add_argument("--velocity-loss", type=float, default=None, metavar="PCT",
                   help="stop the set at this velocity loss in %% (default: the active block of the athlete's "
                        "plan, else 10)")
    p.add_argument("--no-plan", action="store_true", help="ignore the athlete's plan (its limit and zones)")
    for field, option in ACCOMMODATION_OPTIONS.items():
        words = {"band_top_n": "band tension at the top of the rep, N",
                 "band_bottom_n": "band tension at the bottom of the rep, N",
                 "band_n_per_m": "band stiffness, N per metre (with --band-top instead of --band-bottom)",
                 "chain_top_kg": "chain mass off the floor at the top beyond the bottom, kg",
                 "chain_kg_per_m": "chain mass lifted per metre the bar rises, kg/m"}[field]
        p.add_argument(option, dest=field, type=float, default=None, metavar="X",
                       help=f"{words}: force and power use the load at each height")
    p.add_argument("--metric", choices=("mean", "propulsive", "peak"), default="mean")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line, with a 'type' field")
    p.add_argument("--demo", action="store_true", help="read an emulated transducer started in this process")
    p.add_argument("--seed", type=int, default=0, help="with --demo: seed of the simulated lifter")
    p.add_argument("--inverted", action="store_true", help="transducer mounted upside down")
    p.add_argument("--exercise", default=None,
                   help="the exercise the sets are recorded as (default: 'unspecified', to name later with `vbt set`)")
    p.add_argument("--athlete", default=None, help="whose sets these are")
    p.add_argument("--no-record", action="store_true", help="do not record the sets into the history")
    p.add_argument("--tempo", default=None, metavar="ECC:PAUSE",
                   help="tempo target in seconds, e.g. 3:1 (eccentric 3 s, pause 1 s, concentric fast)")
    p.add_argument("--tempo-margin", type=float, default=0.5, metavar="S",
                   help="a rep may come down this much faster than the tempo before it misses (default 0.5 s)")
    p.add_argument("--day-floor", type=float, default=90.0, metavar="PCT",
                   help="done for the day when a set's best rep is under this share of the day's best (default 90)")
    p.add_argument("--warmup", action="store_true", help="these sets are warm-ups: never the day's best")
    p.add_argument("--warmup-below", type=float, default=None, metavar="KG",
                   help="sets lighter than this are warm-ups")
    p.add_argument("--max-sets", type=int, default=0, help="exit after this many sets have ended")
    p.add_argument("--duration", type=float, default=None, help="exit after this many seconds")
    p.set_defaults(func=_cmd_live)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="vbt", description="VBT tracker device commands")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
