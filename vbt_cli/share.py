"""``vbt share SET_OR_SESSION_ID --out FILE.png``: the summary a coach texts, rendered without a display.

The history is read (and a wrong id reported in one line) before Qt loads; the card is then painted
on Qt's offscreen platform, which needs no display (``gui.share_card``)."""

from __future__ import annotations

import os
from pathlib import Path

from vbt.cli import _guarded, _home_arg, _open
from vbt.store import StoreError


def _cmd_share(args) -> int:
    from vbt.share import share_sets
    from vbt_cli.method import _parse_target

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise StoreError(f"--out {args.out}: the summary is a PNG image; name the file *.png")
    if out.is_dir():
        raise StoreError(f"--out {args.out}: is a directory; name the file to write, e.g. {out / 'set.png'}")
    if not out.parent.exists() and str(out.parent) not in ("", "."):
        raise StoreError(f"--out {args.out}: no directory {out.parent}")
    kind, number = _parse_target(args.target)
    with _open(args) as store:
        sets = share_sets(store, kind, number)
    if not any(s.n_reps for s in sets):
        raise StoreError(f"{kind} {number} has no reps to show")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no window: the card is painted into an image
    from gui.preflight import check_qt_display

    check = check_qt_display()
    if not check.ok:
        raise StoreError(check.problem_line())
    from gui.share_card import render_share
    from PySide6.QtGui import QGuiApplication


    app = QGuiApplication.instance() or QGuiApplication(["vbt-share"])  # noqa: F841 - painting needs one
    image = render_share([s for s in sets if s.n_reps])
    if not image.save(str(out), "PNG"):
        raise StoreError(f"could not write {out}")
    what = f"set {number}" if kind == "set" else f"session {number} ({len(sets)} sets)"
    print(f"wrote {out}: {what}, {image.width()} x {image.height()} px")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "share", help="one PNG of a set or a session a coach can text (no display needed)",
        description="Write one image of a set (SET_ID, or set:ID) or of a whole session (session:ID): athlete, "
                    "date, exercise, load, the rep bars with the best and stop lines, velocity loss, STOP or "
                    "done for the day, tempo kept, RPE and note. 1080 px wide, for a phone. No display needed.")
    _home_arg(p)
    p.add_argument("target", metavar="SET_OR_SESSION_ID", help="12 or set:12 (a set), session:3 (a session)")
    p.add_argument("--out", required=True, metavar="FILE.png", help="the PNG to write")
    p.set_defaults(func=_guarded("share", _cmd_share))
