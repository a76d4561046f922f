"""The summary a coach texts: one 1080-pixel-wide PNG of a set or a session, readable on a phone.

Painted with QPainter straight onto a QImage (no widget, no window), so it renders the same on
the dashboard's GUI thread and headless (``vbt share``, Qt's offscreen platform). Text is large:
a phone shows the 1080 px image about 400 px wide, so body text is 34 px or more.
"""

from __future__ import annotations

import math
from datetime import datetime

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen

from gui import theme
from vbt.share import ShareSet

WIDTH = 1080
SIDE = "#1fb5a8"  # the side-to-side gap, as on the dashboard's banner
MARGIN = 56
VERDICT_COLOURS = {"stop": (theme.STOP, theme.STOP_DARK), "day": (theme.DAY, theme.DAY_DARK),
                   "done": (theme.GOOD, "#0f3320")}


def _font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(int(px))
    f.setBold(bold)
    return f


def _when(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).strftime("%a %d %b %Y · %H:%M")


def _fmt(v, spec=".2f") -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:{spec}}"


class _Pen:
    """A painter with a cursor going down the card."""

    def __init__(self, painter: QPainter):
        self.p = painter
        self.y = 0.0

    def text(self, s: str, px: float, colour: str = theme.TEXT, bold: bool = False, x: float = MARGIN,
             width: float = WIDTH - 2 * MARGIN, wrap: bool = False, gap: float = 10.0) -> float:
        f = _font(px, bold)
        self.p.setFont(f)
        self.p.setPen(QColor(colour))
        flags = Qt.AlignLeft | Qt.AlignTop | (Qt.TextWordWrap if wrap else 0)
        rect = self.p.boundingRect(QRectF(x, self.y, width, 4000), flags, s)
        self.p.drawText(QRectF(x, self.y, width, rect.height()), flags, s)
        self.y += rect.height() + gap
        return rect.height()


def _pills(pen: _Pen, items: list[tuple[str, str]], px: float = 40) -> None:
    """Coloured verdict pills in one row (STOP, DONE FOR TODAY, limit not reached)."""
    p = pen.p
    x = MARGIN
    h = px * 1.6
    p.setFont(_font(px, True))
    fm = QFontMetricsF(p.font())
    for kind, words in items:
        fg, bg = VERDICT_COLOURS[kind]
        w = fm.horizontalAdvance(words) + px * 1.2
        p.setPen(QPen(QColor(fg), 4))
        p.setBrush(QColor(bg))
        p.drawRoundedRect(QRectF(x, pen.y, w, h), 14, 14)
        p.setPen(QColor(theme.TEXT))
        p.drawText(QRectF(x, pen.y, w, h), Qt.AlignCenter, words)
        x += w + 18
    p.setBrush(Qt.NoBrush)
    pen.y += h + 22


def _tiles(pen: _Pen, s: ShareSet) -> None:
    """Three numbers: best, velocity loss, reps."""
    p = pen.p
    items = [(f"best {s.metric_label}", _fmt(s.best_m_s), "m/s"),
             ("velocity loss", _fmt(s.max_loss_pct, ".1f"), "%"),
             ("reps", str(s.n_reps), "")]
    gap = 20
    w = (WIDTH - 2 * MARGIN - gap * (len(items) - 1)) / len(items)
    h = 170
    for k, (caption, value, unit) in enumerate(items):
        x = MARGIN + k * (w + gap)
        p.setPen(QPen(QColor(theme.PANEL_BORDER), 2))
        p.setBrush(QColor(theme.PANEL))
        p.drawRoundedRect(QRectF(x, pen.y, w, h), 12, 12)
        p.setFont(_font(30))
        p.setPen(QColor(theme.MUTED))
        p.drawText(QRectF(x, pen.y + 12, w, 40), Qt.AlignHCenter | Qt.AlignTop, caption)
        colour = theme.TEXT
        if caption == "velocity loss" and s.max_loss_pct is not None:
            worst = s.max_loss_pct
            colour = theme.level_colour("stop" if worst >= s.threshold_pct else "warning"
                                        if worst >= s.threshold_pct - s.warning_margin_pct else "good")
        big, small = _font(76, True), _font(34)
        vw = QFontMetricsF(big).horizontalAdvance(value)
        uw = QFontMetricsF(small).horizontalAdvance(" " + unit) if unit and value != "–" else 0.0
        x0 = x + (w - vw - uw) / 2
        p.setFont(big)
        p.setPen(QColor(colour))
        p.drawText(QRectF(x0, pen.y + 50, vw + 4, 100), Qt.AlignLeft | Qt.AlignVCenter, value)
        if uw:
            p.setFont(small)
            p.setPen(QColor(theme.MUTED))
            p.drawText(QRectF(x0 + vw, pen.y + 72, uw + 4, 80), Qt.AlignLeft | Qt.AlignVCenter, " " + unit)
    p.setBrush(Qt.NoBrush)
    pen.y += h + 26


def _bars(pen: _Pen, s: ShareSet, height: float, labels: bool = True) -> None:
    """One bar per rep, coloured by level, with the best line (white) and the stop line (red, dashed).

    The axis starts below the slowest rep (said in the corner), so a 10 % loss is visible on a phone;
    the lines' labels sit in a gutter on the right, clear of the bars."""
    p = pen.p
    gutter = 190 if labels else 0
    left, right = MARGIN + 12, WIDTH - MARGIN - gutter - 12
    top, bottom = pen.y + (56 if labels else 12), pen.y + height - (52 if labels else 10)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(theme.PANEL))
    p.drawRoundedRect(QRectF(MARGIN, pen.y, WIDTH - 2 * MARGIN, height), 12, 12)
    vs = [v for v in s.velocities_m_s if v is not None and math.isfinite(v)]
    marks = [v for v in (s.best_m_s, s.stop_below_m_s) if v is not None]
    hi = max(vs + marks) if vs or marks else 1.0
    lo = min(vs + marks) if vs or marks else 0.0
    floor = max(0.0, lo - 0.6 * max(hi - lo, 0.05 * hi))
    ceiling = hi + 0.08 * max(hi - floor, 1e-3)
    n = max(1, s.n_reps)
    slot = (right - left) / n
    bw = min(slot * 0.72, 130)

    def y_of(v):
        return bottom - (bottom - top) * (max(floor, v) - floor) / (ceiling - floor)

    for i, v in enumerate(s.velocities_m_s, start=1):
        if v is None or not math.isfinite(v):
            continue
        cx = left + slot * (i - 0.5)
        colour = theme.MUTED if (i - 1 < len(s.doubtful) and s.doubtful[i - 1]) else theme.level_colour(s.level(i))
        p.setPen(QPen(QColor(theme.TEMPO), 6) if i in s.tempo_marks else Qt.NoPen)
        p.setBrush(QColor(colour))
        p.drawRect(QRectF(cx - bw / 2, y_of(v), bw, bottom - y_of(v)))
    p.setBrush(Qt.NoBrush)
    lines = [(s.best_m_s, theme.BEST, Qt.SolidLine, "best"), (s.stop_below_m_s, theme.STOP, Qt.DashLine, "stop")]
    for v, colour, style, word in lines:
        if v is None:
            continue
        y = y_of(v)
        p.setPen(QPen(QColor(colour), 4, style))
        p.drawLine(int(MARGIN + 8), int(y), int(right + 8), int(y))
        if labels:
            p.setFont(_font(30, True))
            box = QRectF(right + 16, y - (38 if word == "best" else -2), gutter - 4, 36)
            p.setPen(QColor(colour))
            p.drawText(box, Qt.AlignLeft | Qt.AlignVCenter, f"{word} {v:.2f}")
    for i, v in enumerate(s.velocities_m_s, start=1):  # values after the bars and lines: always legible
        if labels and v is not None and math.isfinite(v):
            cx = left + slot * (i - 0.5)
            f = _font(30 if n <= 8 else 22, True)
            tw = QFontMetricsF(f).horizontalAdvance(f"{v:.2f}") + 10
            box = QRectF(cx - tw / 2, y_of(v) - 42, tw, 38)
            p.fillRect(box, QColor(theme.PANEL))
            p.setFont(f)
            p.setPen(QColor(theme.TEXT))
            p.drawText(box, Qt.AlignCenter, f"{v:.2f}")
    for i, v in enumerate(s.velocities_m_s, start=1):
        if v is None or not math.isfinite(v):
            continue
        cx = left + slot * (i - 0.5)
        if labels:
            p.setFont(_font(28 if n <= 8 else 22, i in s.tempo_marks))
            p.setPen(QColor(theme.TEMPO if i in s.tempo_marks else theme.MUTED))
            p.drawText(QRectF(cx - slot / 2, bottom + 6, slot, 40), Qt.AlignCenter,
                       f"{i} FAST" if i in s.tempo_marks and n <= 8 else str(i))
    if labels and floor > 0:
        p.setFont(_font(24))
        p.setPen(QColor(theme.MUTED))
        p.drawText(QRectF(MARGIN + 14, pen.y + 8, 600, 32), Qt.AlignLeft | Qt.AlignVCenter,
                   f"{s.metric_label} m/s · bars from {floor:.2f}")
    pen.y += height + 22


def _method_lines(s: ShareSet) -> list[tuple[str, str]]:
    out = []
    if s.warmup:
        out.append(("warm-up set", theme.MUTED))
    if s.day_line:
        out.append((s.day_line, theme.DAY if s.day_done else theme.TEXT))
    if s.tempo_line:
        missed = f" · rep {', '.join(map(str, s.tempo_marks))} too fast" if s.tempo_marks else ""
        out.append((s.tempo_line + missed, theme.TEMPO if s.tempo_marks else theme.TEXT))
    if s.side_line:
        out.append((s.side_line, SIDE))
    if s.zone:
        out.append((f"zone: {s.zone}", theme.ACCENT))
    out.append((f"stop rule: {s.threshold_pct:g} % velocity loss ({s.metric_label})", theme.MUTED))
    return out


def _paint_set(pen: _Pen, s: ShareSet) -> None:
    pen.text(s.exercise, 68 if len(s.exercise) <= 22 else 56, bold=True, wrap=True, gap=2)
    pen.text(s.load_words(), 50, colour=theme.ACCENT, bold=True, gap=6)
    pen.text(f"{s.athlete} · {_when(s.when_unix_s)}", 34, colour=theme.MUTED, gap=26)
    _pills(pen, s.verdicts())
    _tiles(pen, s)
    _bars(pen, s, 520)
    for words, colour in _method_lines(s):
        pen.text(words, 36, colour=colour, wrap=True, gap=8)
    pen.y += 8
    rpe = f"RPE {s.rpe:g}" if s.rpe is not None else "RPE –"
    pen.text(rpe, 44, bold=True, gap=6)
    if s.note:
        pen.text(f"“{s.note}”", 38, wrap=True, gap=8)


def _paint_session_row(pen: _Pen, s: ShareSet, k: int) -> None:
    pen.text(f"{k}. {s.exercise} · {s.load_words()}", 42, bold=True, wrap=True, gap=2)
    facts = [f"{s.n_reps} reps", f"best {_fmt(s.best_m_s)} m/s", f"loss {_fmt(s.max_loss_pct, '.1f')} %"]
    if s.rpe is not None:
        facts.append(f"RPE {s.rpe:g}")
    pen.text(" · ".join(facts), 34, gap=10)
    _pills(pen, s.verdicts(), px=30)
    _bars(pen, s, 230, labels=False)
    for words, colour in _method_lines(s)[:-1]:
        pen.text(words, 32, colour=colour, wrap=True, gap=6)
    if s.note:
        pen.text(f"“{s.note}”", 32, wrap=True, gap=6)
    pen.y += 24


def _measure(sets: list[ShareSet]) -> int:
    """Height the card needs: painted once on a scratch image, the cursor says how far it went."""
    scratch = QImage(WIDTH, 8000, QImage.Format_RGB32)
    p = QPainter(scratch)
    try:
        pen = _Pen(p)
        _paint_all(pen, sets)
        return int(math.ceil(pen.y))
    finally:
        p.end()


def _paint_all(pen: _Pen, sets: list[ShareSet]) -> None:
    pen.y = MARGIN
    if len(sets) == 1:
        _paint_set(pen, sets[0])
    else:
        first = sets[0]
        pen.text(f"{first.athlete}", 68, bold=True, gap=2)
        pen.text(f"session · {_when(first.when_unix_s)} · {len(sets)} sets", 36, colour=theme.MUTED, gap=30)
        for k, s in enumerate(sets, start=1):
            _paint_session_row(pen, s, k)
    pen.y += 10
    pen.text("VBT tracker · velocity loss against the set's fastest rep", 26, colour=theme.MUTED, gap=0)
    pen.y += MARGIN * 0.6


def render_share(sets: list[ShareSet]) -> QImage:
    """The card of one set, or of a session's sets, 1080 px wide (height as needed, at least 1350)."""
    if not sets:
        raise ValueError("nothing to share")
    height = max(1350 if len(sets) == 1 else 0, _measure(sets))
    image = QImage(WIDTH, height, QImage.Format_RGB32)
    image.fill(QColor(theme.BACKGROUND))
    p = QPainter(image)
    p.setRenderHint(QPainter.Antialiasing, True)
    p.setRenderHint(QPainter.TextAntialiasing, True)
    try:
        _paint_all(_Pen(p), sets)
    finally:
        p.end()
    return image
