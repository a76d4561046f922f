"""`vbt plan`: create, show, edit and delete an athlete's training plan (vbt/plan.py).

Every change is checked whole before anything is written: a plan with overlapping blocks, a zone
whose low end is above its high end or a limit out of range is one line on stderr, exit status 1,
and the stored plan stays as it was.
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import replace

from vbt import plan as planning
from vbt.cli import _fail, _home_arg, _open, _print_json
from vbt.store import DEFAULT_ATHLETE, StoreError


def _today(args) -> _dt.date:
    return planning.parse_date(args.on) if getattr(args, "on", None) else _dt.date.today()


def _target(text: str, what: str) -> tuple[str, str | None, str]:
    """``BLOCK=VALUE`` or ``BLOCK/EXERCISE=VALUE`` -> (block, exercise or None, value)."""
    where, sep, value = text.partition("=")
    if not sep or not where.strip():
        raise planning.PlanError(f"{what} {text!r}: write BLOCK=VALUE or BLOCK/EXERCISE=VALUE")
    block, _, exercise = where.partition("/")
    return block.strip(), (exercise.strip() or None), value.strip()


def _edited(plan: planning.Plan, args) -> planning.Plan:
    if args.start:
        plan = replace(plan, start=planning.parse_date(args.start))
    if args.repeat is not None:
        plan = replace(plan, repeat=args.repeat)
    for name in args.remove_block or ():
        plan.block(name)  # PlanError when there is none
        plan = plan.replace_block(name, None)
    for block in planning.parse_blocks(args.block or []):
        try:
            old = plan.block(block.name)
            block = replace(block, zones=old.zones)  # new weeks, the zones set by hand kept
        except planning.PlanError:
            pass
        plan = plan.replace_block(block.name, block)
    for text in args.limit or ():
        name, exercise, value = _target(text, "--limit")
        if exercise:
            raise planning.PlanError(f"--limit {text!r}: a limit is per block (BLOCK=PCT)")
        try:
            pct = float(value.rstrip("%"))
        except ValueError:
            raise planning.PlanError(f"--limit {text!r}: the limit must be a number of %") from None
        plan = plan.replace_block(name, replace(plan.block(name), velocity_loss_pct=pct))
    for option, texts in (("--pct", args.pct), ("--zone", args.zone)):
        for text in texts or ():
            name, exercise, value = _target(text, option)
            block = plan.block(name)
            lo, hi = planning.parse_range(value, option)
            if exercise is None:
                if option == "--zone":
                    raise planning.PlanError(f"--zone {text!r}: a velocity zone is per exercise (BLOCK/EXERCISE=LO-HI)")
                block = replace(block, pct_low=lo, pct_high=hi)
            else:
                spec = block.zone_spec(exercise) or planning.ZoneSpec()
                spec = replace(spec, pct_low=lo, pct_high=hi) if option == "--pct" else replace(
                    spec, low_m_s=lo, high_m_s=hi)
                block = block.with_zone(exercise, spec)
            plan = plan.replace_block(name, block)
    for text in args.clear_zone or ():
        name, _, exercise = text.partition("/")
        if not exercise.strip():
            raise planning.PlanError(f"--clear-zone {text!r}: write BLOCK/EXERCISE")
        plan = plan.replace_block(name, plan.block(name).with_zone(exercise, None))
    return plan


def _resolve_zone_names(store, plan: planning.Plan) -> planning.Plan:
    """Zones name exercises as the catalogue spells them (an unknown one is a one-line error)."""
    blocks = []
    for b in plan.blocks:
        zones = tuple((store.exercise(ex).name, spec) for ex, spec in b.zones)
        blocks.append(replace(b, zones=zones))
    return replace(plan, blocks=tuple(blocks))


def _plan_lines(store, plan: planning.Plan, on: _dt.date, exercises: list[str]) -> list[str]:
    lines = [f"plan of {plan.athlete}: from {plan.start.isoformat()}, {plan.cycle_weeks}-week cycle"
             + (", repeated" if plan.repeat else ", once")]
    here = plan.week(on)
    for b in plan.blocks:
        low, high = planning.GENERAL_ZONES[b.general_zone]
        general = f"{'MVT' if low is None else f'{low:g}'}–{high:g} m/s"
        mark = "  <- now" if here.block is b else ""
        lines.append(f"  {b.name:<12} weeks {b.first_week}–{b.last_week}: "
                     f"velocity-loss limit {b.velocity_loss_pct:g} %, zone {b.pct_low:g}–{b.pct_high:g} %1RM "
                     f"(general: {b.general_zone} {general}){mark}")
        for ex, z in b.zones:
            bits = []
            if z.pct_low is not None:
                bits.append(f"{z.pct_low:g}–{z.pct_high:g} %1RM")
            if z.low_m_s is not None:
                bits.append(f"{z.low_m_s:g}–{z.high_m_s:g} m/s (set by hand)")
            lines.append(f"      {ex}: {', '.join(bits)}")
    lines.append(f"{on.isoformat()}: " + (f"week {here.week}, {here.line()}" if here.block else here.why_none))
    for exercise in exercises:
        target = store.zone_target(plan.athlete, exercise, on)
        if target is None:
            lines.append(f"  {exercise}: no zone on this day")
        else:
            lines.append(f"  {store.exercise(exercise).name} zone: {target.low_m_s:.2f}–{target.high_m_s:.2f} m/s mean "
                         f"velocity, from the {target.source_text}")
    return lines


def _cmd_plan(args) -> int:
    athlete = args.athlete or DEFAULT_ATHLETE
    try:
        on = _today(args)
        with _open(args) as store:
            current = store.plan(athlete)
            if args.action == "show":
                if current is None:
                    return _fail("plan", f"{athlete} has no plan (create one: vbt plan create --athlete {athlete})")
                if args.json:
                    out = current.to_json()
                    here = current.week(on)
                    out["on"] = {"date": on.isoformat(), "week": here.week, "block": here.block.name if here.block
                                 else None, "week_in_block": here.week_in_block, "line": here.line()}
                    out["zones"] = {ex: (t.to_json() if (t := store.zone_target(athlete, ex, on)) else None)
                                    for ex in args.exercise or ()}
                    _print_json(out)
                else:
                    print("\n".join(_plan_lines(store, current, on, args.exercise or [])))
                return 0
            if args.action == "delete":
                if current is None or not store.delete_plan(athlete):
                    return _fail("plan", f"{athlete} has no plan")
                print(f"deleted the plan of {athlete}")
                return 0
            if args.action == "create":
                if current is not None and not args.replace:
                    return _fail("plan", f"{athlete} already has a plan (vbt plan edit to change it, or create "
                                         "--replace)")
                start = planning.parse_date(args.start) if args.start else on
                blocks = planning.parse_blocks(args.block) if args.block else planning.DEFAULT_BLOCKS
                new = planning.Plan(athlete, start, blocks, True if args.repeat is None else args.repeat)
                import argparse

                new = _edited(new, argparse.Namespace(**{**vars(args), "start": None, "block": None, "repeat": None}))
            else:  # edit
                if current is None:
                    return _fail("plan", f"{athlete} has no plan to edit (vbt plan create --athlete {athlete})")
                new = _edited(current, args)
            new = _resolve_zone_names(store, new)
            problems = planning.plan_problems(new)
            if problems:
                return _fail("plan", "; ".join(problems) + " (nothing changed)")
            saved = store.save_plan(new)
            print(("created" if args.action == "create" else "changed") + f" the plan of {saved.athlete}")
            print("\n".join(_plan_lines(store, saved, on, [])))
    except (planning.PlanError, StoreError) as exc:
        return _fail("plan", f"{exc} (nothing changed)" if args.action in ("create", "edit") else str(exc))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "plan", help="create, show or edit a training plan: blocks of weeks, velocity-loss limits, zones",
        description="A training plan per athlete: blocks of weeks (default: activation, hypertrophy, strength, "
                    "power, four weeks each, repeated), each with a velocity-loss limit for live sets and a target "
                    "zone (%1RM band, turned into velocities through the athlete's load-velocity profile, else the "
                    "general zones; a zone in m/s per exercise set by hand wins).")
    p.add_argument("action", nargs="?", default="show", choices=("show", "create", "edit", "delete"))
    p.add_argument("--athlete", default=None, help="whose plan (default: 'default')")
    p.add_argument("--on", metavar="DATE", help="show the plan's week and zones on this date (default today)")
    p.add_argument("--exercise", action="append", metavar="NAME", help="show: this exercise's zone (repeatable)")
    p.add_argument("--json", action="store_true", help="show: one JSON document")
    p.add_argument("--start", metavar="DATE", help="the plan's first day (create: default today)")
    p.add_argument("--block", action="append", metavar="NAME:FIRST-LAST[@PCT]",
                   help="a block: its weeks of the cycle (or NAME:WEEKS after the previous one) and velocity-loss "
                        "limit; create: the blocks in order (default four); edit: adds or moves a block")
    p.add_argument("--remove-block", action="append", metavar="NAME")
    p.add_argument("--limit", action="append", metavar="BLOCK=PCT", help="a block's velocity-loss limit")
    p.add_argument("--pct", action="append", metavar="BLOCK[/EXERCISE]=LO-HI",
                   help="a block's zone as %%1RM (for one exercise with /EXERCISE)")
    p.add_argument("--zone", action="append", metavar="BLOCK/EXERCISE=LO-HI",
                   help="an exercise's zone in m/s mean velocity, set by hand (wins over the profile)")
    p.add_argument("--clear-zone", action="append", metavar="BLOCK/EXERCISE")
    rep = p.add_mutually_exclusive_group()
    rep.add_argument("--repeat", dest="repeat", action="store_const", const=True, default=None,
                     help="repeat the cycle of blocks (default)")
    rep.add_argument("--no-repeat", dest="repeat", action="store_const", const=False, help="run the blocks once")
    p.add_argument("--replace", action="store_true", help="create: replace an existing plan")
    _home_arg(p)
    p.set_defaults(func=_cmd_plan)


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(prog="vbt")
    register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args()
    sys.exit(ns.func(ns))
