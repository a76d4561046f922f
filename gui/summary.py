"""The set summary card: a picture of one set to keep or share (PNG).

The card is a widget laid out off screen and grabbed on the GUI thread (widgets can only be
painted there); the image is then written by a short-lived thread so the GUI never waits on the disk.
"""

from __future__ import annotations

import html
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui import theme
from gui.state import loss_level
from gui.widgets import RepBars
from vbt.config import METRIC_LABELS
from vbt.results import SetResult
from vbt.units import fmt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetInfo:
    """What the card says about the set besides its reps."""

    set_number: int
    athlete: str
    exercise: str
    load_kg: float | None
    side: str
    end_reason: str | None
    rpe: int | None = None
    note: str = ""
    when: datetime | None = None
    warning_margin_pct: float = 3.0
    method: str = ""  # tempo kept and the day rule's verdict, one line
    tempo_marks: tuple = ()  # reps that missed their tempo


class SetSummaryCard(QWidget):
    """A 1200 x 720 card: title, rep bars with best and stop lines, the reps table, RPE and note."""

    def __init__(self, result: SetResult, info: SetInfo, parent=None):
        super().__init__(parent)
        self.info = info
        self.setAttribute(Qt.WA_DontShowOnScreen, True)
        self.setStyleSheet(f"background: {theme.BACKGROUND}; color: {theme.TEXT};")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 18, 24, 18)
        lay.setSpacing(10)
        metric = result.metric
        m_label = METRIC_LABELS.get(metric, metric)
        when = (info.when or datetime.now()).strftime("%Y-%m-%d %H:%M")
        load = f"{info.load_kg:g} kg" if info.load_kg else "no load"
        side = "" if info.side == "both" else f" · {info.side} side"
        title = QLabel(f"{info.exercise} · {load}{side}")
        title.setStyleSheet("font-size: 34px; font-weight: 800;")
        sub = QLabel(f"{info.athlete} · set {info.set_number} · {when}")
        sub.setStyleSheet(f"font-size: 18px; color: {theme.MUTED};")
        lay.addWidget(title)
        lay.addWidget(sub)

        velocities = [r.velocity(metric) for r in result.reps]
        best = velocities[result.best_rep - 1] if result.best_rep else None
        threshold = best * (1 - result.velocity_loss_threshold_pct / 100) if best is not None else None
        levels = [loss_level(r.velocity_loss_pct, result.velocity_loss_threshold_pct, info.warning_margin_pct)
                  if r.index > 1 else "good" for r in result.reps]
        self.bars = RepBars()
        self.bars.show_reps(velocities, levels, best, threshold, result.velocity_loss_threshold_pct,
                            tempo_marks=info.tempo_marks)
        self.bars.getPlotItem().setLabel("left", f"{m_label} m/s", color=theme.MUTED, size="13pt")
        lay.addWidget(self.bars, 3)

        last_loss = result.reps[-1].velocity_loss_pct if result.reps else None
        stop = (f"stop rule fired at rep {result.stop_rep}" if result.stop_rep
                else f"stop rule not reached (limit {result.velocity_loss_threshold_pct:g} %)")
        head = (f"<b>{len(result.reps)} reps</b> · best {fmt(best)} m/s {m_label} (rep {result.best_rep}) · "
                f"loss at the end {fmt(last_loss, '.1f', ' %')} · {stop}")
        extra = []
        if info.method:
            extra.append(html.escape(info.method))
        if info.rpe is not None:
            extra.append(f"RPE {info.rpe}")
        if info.end_reason:
            extra.append(f"ended: {info.end_reason.replace('_', ' ')}")
        if info.note:
            extra.append(html.escape(info.note))
        rows = "".join(
            f"<tr><td>{r.index}</td><td>{fmt(r.mean_velocity_m_s)}</td><td>{fmt(r.mean_propulsive_velocity_m_s)}</td>"
            f"<td>{fmt(r.peak_velocity_m_s)}</td><td>{fmt(r.rom_m * 100 if r.rom_m else None, '.0f')}</td>"
            f"<td style='color:{theme.level_colour(lv)}'>{fmt(r.velocity_loss_pct, '.1f')}</td></tr>"
            for r, lv in zip(result.reps, levels)
        )
        table = QLabel(
            f"<div style='font-size:19px'>{head}</div>"
            f"<div style='font-size:17px; color:{theme.MUTED}'>{' · '.join(extra)}</div>"
            "<table cellspacing='0' cellpadding='3' style='font-size:16px'>"
            "<tr style='color:#8b949e'><td width='60'>rep</td><td width='80'>MV</td><td width='80'>MPV</td>"
            "<td width='80'>PV</td><td width='90'>ROM cm</td><td width='80'>loss %</td></tr>"
            f"{rows}</table>"
        )
        table.setTextFormat(Qt.RichText)
        table.setWordWrap(True)
        lay.addWidget(table, 2)
        foot = QLabel("VBT tracker · velocity loss vs the fastest rep of the set")
        foot.setStyleSheet(f"font-size: 13px; color: {theme.MUTED};")
        lay.addWidget(foot)
        self.resize(1200, 720 + max(0, len(result.reps) - 8) * 26)

    def render_image(self) -> QImage:
        self.ensurePolished()
        self.layout().activate()
        return self.grab().toImage()


class ImageSaver(QObject):
    """Writes QImages on a background thread; reports on the GUI thread."""

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._threads: list[threading.Thread] = []

    def save(self, image: QImage, path: str) -> None:
        def work():
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                if image.save(path, "PNG"):
                    self.saved.emit(path)
                else:
                    self.failed.emit(f"could not write {path}")
            except OSError as exc:
                self.failed.emit(f"could not write {path}: {exc}")

        self._threads = [t for t in self._threads if t.is_alive()]
        t = threading.Thread(target=work, name="vbt-png-writer", daemon=True)
        self._threads.append(t)
        t.start()

    def join(self, timeout: float = 5.0) -> None:
        for t in self._threads:
            t.join(timeout)
        self._threads = []
