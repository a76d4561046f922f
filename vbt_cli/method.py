"""The training method's history commands: ``vbt sides`` (left against right) and ``vbt retest``
(a test against its retest four weeks later). A user mistake is one line on stderr, exit status 1."""

from __future__ import annotations

from vbt.cli import _guarded, _home_arg, _open, _print_json, _row_id
from vbt.config import METRICS
from vbt.store import StoreError


def _cmd_sides(args) -> int:
    from vbt.sides import SidesError, side_report

    with _open(args) as store:
        athlete = args.athlete or _only_athlete(store)
        try:
            report = side_report(store, athlete, args.exercise, args.metric)
        except SidesError as exc:
            raise StoreError(str(exc)) from None
    if args.json:
        _print_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return 0


def _only_athlete(store) -> str:
    names = [a.name for a in store.athletes()]
    if len(names) == 1:
        return names[0]
    if not names:
        raise StoreError("no athletes in the history yet")
    raise StoreError(f"several athletes in the history ({', '.join(names)}): choose one with --athlete")


def _parse_target(text: str) -> tuple[str, int]:
    """``12`` or ``set:12`` is set 12; ``session:3`` is session 3."""
    raw = str(text).strip().lower()
    kind, _, number = raw.rpartition(":")
    kind = kind or "set"
    if kind not in ("set", "session"):
        raise StoreError(f"{text!r}: name a set (12 or set:12) or a session (session:3)")
    return kind, _row_id(number, kind)


def _cmd_retest(args) -> int:
    from vbt.retest import RetestError, due_retests, retest

    with _open(args) as store:
        if args.mark or args.unmark:
            kind, number = _parse_target(args.mark or args.unmark)
            changed = store.mark_test(**{f"{kind}_id": number}, test=bool(args.mark), exercise=args.exercise)
            verb = "marked as a test" if args.mark else "no longer a test"
            names = sorted({r.exercise for r in changed})
            print(f"{kind} {number}: {len(changed)} set{'s' if len(changed) != 1 else ''} ({', '.join(names)}) "
                  f"{verb}")
            return 0
        if args.due:
            due = due_retests(store, athlete=args.athlete, days=args.days)
            if args.json:
                _print_json([d.to_json() for d in due])
            elif not due:
                print("no retest due")
            else:
                print("\n".join(d.line() for d in due))
            return 0
        if not args.exercise:
            raise StoreError("say which exercise: --exercise NAME (or --due, --mark, --unmark)")
        athlete = args.athlete or _only_athlete(store)
        try:
            result = retest(store, athlete, args.exercise, metric=args.metric,
                            test_session=args.test_session, retest_session=args.retest_session)
        except RetestError as exc:
            raise StoreError(str(exc)) from None
    if args.json:
        _print_json(result.to_json())
    else:
        print("\n".join(result.lines()))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sides", help="left against right: unilateral sets compared at matched loads, the gap and its trend",
        description="For each session with left and right sets of an exercise: each side's fastest rep at the "
                    "same load (±2.5 %), or, when the loads differ, each side carried to their mean load along "
                    "its own load-velocity profile (the report says which); the gap in %% of the faster side; "
                    "and its trend over the sessions.")
    _home_arg(p)
    p.add_argument("--athlete", help="whose sets (needed when the history has several athletes)")
    p.add_argument("--exercise", required=True, help="the exercise (e.g. single-leg Romanian deadlift)")
    p.add_argument("--metric", choices=METRICS, default="mean", help="velocity compared (default mean)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_guarded("sides", _cmd_sides))

    p = subparsers.add_parser(
        "retest", help="a test against its retest: the same load's velocity and the 1RM, then and now",
        description="Compare an exercise's latest test (sets marked with --mark) with the latest session after "
                    "it: the fastest rep at each load both lifted (±2.5 %%), and the load-velocity profile's 1RM "
                    "then and now with its interval. --due lists the tests four weeks old or more with no "
                    "retest since.")
    _home_arg(p)
    p.add_argument("--athlete", help="whose sets (needed when the history has several athletes)")
    p.add_argument("--exercise", help="the exercise to compare (with --mark SESSION: only its sets)")
    p.add_argument("--metric", choices=METRICS, default="mean", help="velocity used (default mean)")
    p.add_argument("--test-session", type=int, metavar="ID", help="the test session (default: the latest test)")
    p.add_argument("--retest-session", type=int, metavar="ID",
                   help="the retest session (default: the latest session after the test)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--mark", metavar="SET_OR_SESSION",
                       help="mark a set (12 or set:12) or a session's sets (session:3) as a test")
    group.add_argument("--unmark", metavar="SET_OR_SESSION", help="undo --mark")
    group.add_argument("--due", action="store_true", help="list the retests that are due")
    p.add_argument("--days", type=int, default=28, help="a retest is due this many days after a test (default 28)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_guarded("retest", _cmd_retest))

