"""The rack overview's tiles: one tile per rack, all painted by one widget.

A tile is read from two metres away: who and what (athlete · exercise) on top, the last rep's
velocity as big as the tile allows, coloured by its loss against the set's best, then reps and
velocity loss, and a strip of the set's reps as bars. STOP (the set crossed its velocity-loss
limit) turns the tile red; DONE FOR TODAY gets its own colour; a lost or missing transducer is
said on the tile's bottom line, in red when the cable was pulled.

:class:`TileState` is the plain data of one tile (no Qt), derived from the rack's
``gui.state.SetDisplay`` and its device state. :class:`RackGrid` paints every tile in one
``paintEvent`` (one redraw for the whole overview, only the tiles whose area changed), measures each
paint (``frame_meter``) and the time from a rep event to the end of the paint that showed it
(``rep_latencies_s``, per rack).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import theme
from gui.state import ENDED, STOP, WARNING
from gui.widgets import PaintMeter

# device states of a rack, as the tile says them
DEVICE_STARTING, DEVICE_OK, DEVICE_LOST, DEVICE_WAITING, DEVICE_PROBLEM, DEVICE_STOPPED = (
    "starting", "ok", "lost", "waiting", "problem", "stopped")  # stopped: the rack's worker process ended


@dataclass
class TileState:
    """What one tile shows (plain data; the tests read it, the grid paints it)."""

    name: str = ""
    athlete: str = ""
    exercise: str = ""
    velocity_text: str = "–"
    level: str = "good"
    metric_label: str = "MV"
    reps: int = 0
    set_number: int = 1
    loss_text: str = "–"
    stop: bool = False
    day_done: bool = False
    set_over: bool = False
    bars: list[tuple[float, str]] = field(default_factory=list)  # (velocity, level) of the set's reps
    device: str = DEVICE_STARTING
    device_text: str = "starting…"

    @classmethod
    def from_display(cls, d, **kw) -> "TileState":
        """The set part of a tile from a ``gui.state.SetDisplay``."""
        last = d.last
        loss = d.loss_pct
        return cls(velocity_text=f"{last.velocity_m_s:.2f}" if last is not None else "–",
                   level=last.level if last is not None else "good", metric_label=d.metric_label,
                   reps=d.n_reps, set_number=d.set_number,
                   loss_text=f"{loss:.1f} %" if loss is not None else "–", stop=d.alert == STOP,
                   set_over=d.phase == ENDED, bars=[(r.velocity_m_s, r.level) for r in d.reps], **kw)


def _font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(6, int(px)))
    f.setBold(bold)
    return f


_FITTED: dict[tuple, QFont] = {}
_DIGITS = str.maketrans("123456789", "000000000")


def _fitted(text: str, width: float, height: float, bold: bool = True) -> QFont:
    """The largest font (by pixel size) at which ``text`` fits ``width`` x ``height``.

    Measuring text is the dearest part of a tile's paint, so fits are kept, keyed by the text with
    its digits as 0 (the digits of the UI font have one width: "0.71" fits as "0.84" does)."""
    key = (text.translate(_DIGITS), int(width), int(height), bold)
    f = _FITTED.get(key)
    if f is None:
        f = _font(height, bold)
        w = QFontMetricsF(f).horizontalAdvance(text) if text else 0.0
        if w > width > 0:
            f.setPixelSize(max(6, int(f.pixelSize() * width / w)))
        if len(_FITTED) > 4096:
            _FITTED.clear()
        _FITTED[key] = f
    return f


class RackGrid(QWidget):
    """Every rack's tile, laid out in a grid that fills the widget; one paint for all of them.

    Signals
    -------
    opened(int)
        A tile was clicked (or its number key pressed): open that rack full screen.
    """

    opened = Signal(int)

    GAP = 10

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # every pixel is painted: no background fill first
        self.tiles: list[TileState] = []
        self.frame_meter = PaintMeter(16384)
        self.rep_latencies_s: dict[str, list[float]] = {}
        self.rep_draw_s: dict[str, list[float]] = {}  # the part of each latency after the GUI thread got the rep
        self._pending: dict[int, tuple[float, float]] = {}  # tile -> (emitted_s, received_s) of a rep not yet shown
        self._images: dict[int, QImage] = {}  # tile index -> its last rendering (kept until it changes)
        self._rects: list[QRectF] = []  # the tiles' places at the current size and count
        self._layout_for: tuple = ()

    # ---- layout ------------------------------------------------------------------------------
    def columns(self) -> int:
        n = max(1, len(self.tiles))
        w, h = max(1, self.width()), max(1, self.height())
        best, best_side = 1, -1.0
        for cols in range(1, n + 1):  # the column count that gives the largest tiles at about 4:3
            rows = math.ceil(n / cols)
            tw, th = w / cols, h / rows
            side = min(tw, th * 4 / 3)
            if side > best_side:
                best, best_side = cols, side
        return best

    def tile_rect(self, i: int) -> QRectF:
        key = (self.width(), self.height(), len(self.tiles))
        if key != self._layout_for:
            n = max(1, len(self.tiles))
            cols = self.columns()
            rows = math.ceil(n / cols)
            g = self.GAP
            tw = (self.width() - g * (cols + 1)) / cols
            th = (self.height() - g * (rows + 1)) / rows
            self._rects = [QRectF(g + c * (tw + g), g + r * (th + g), tw, th)
                           for r, c in (divmod(k, cols) for k in range(n))]
            self._layout_for = key
            self._images.clear()
        return QRectF(self._rects[i])

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._images.clear()

    def tile_at(self, x: float, y: float) -> int | None:
        for i in range(len(self.tiles)):
            if self.tile_rect(i).contains(QPointF(x, y)):
                return i
        return None

    # ---- updates -----------------------------------------------------------------------------
    def set_tiles(self, tiles: list[TileState]) -> None:
        self.tiles = list(tiles)
        self._pending.clear()
        self._images.clear()
        self.update()

    def set_tile(self, i: int, state: TileState, *, rep_emitted_s: float | None = None) -> None:
        """New content for tile ``i``. A rep is painted now (the number on screen within a
        millisecond or two); other changes wait for the next paint pass."""
        if not 0 <= i < len(self.tiles):
            return
        self.tiles[i] = state
        self._images.pop(i, None)
        rect = self.tile_rect(i).toAlignedRect()
        if rep_emitted_s is not None:
            self._pending[i] = (rep_emitted_s, time.perf_counter())
            if self.isVisible():
                self.repaint(rect)
                return
        self.update(rect)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        i = self.tile_at(event.position().x(), event.position().y())
        if i is not None and event.button() == Qt.LeftButton:
            self.opened.emit(i)
        super().mousePressEvent(event)

    # ---- painting ----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        t0 = time.perf_counter()
        p = QPainter(self)
        area = event.rect()
        p.fillRect(area, QColor(theme.BACKGROUND))
        painted = []
        if not self.tiles:
            p.setRenderHint(QPainter.Antialiasing)
            p.setPen(QColor(theme.MUTED))
            p.setFont(_font(22))
            p.drawText(QRectF(self.rect()), Qt.AlignCenter, "No racks yet — “Add rack…” names a port, an athlete "
                                                              "and an exercise")
        for i in range(len(self.tiles)):
            r = self.tile_rect(i).toAlignedRect()
            if r.intersects(area):
                image = self._images.get(i)
                if image is None:
                    image = self._render(i, r.width(), r.height())
                p.drawImage(r.topLeft(), image)
                painted.append(i)
        p.end()
        end = time.perf_counter()
        self.frame_meter.add(t0, end)
        for i in painted:
            pending = self._pending.pop(i, None)
            if pending is not None:
                self.rep_latencies_s.setdefault(self.tiles[i].name, []).append(end - pending[0])
                self.rep_draw_s.setdefault(self.tiles[i].name, []).append(end - pending[1])

    def _render(self, i: int, width: int, height: int) -> QImage:
        ratio = self.devicePixelRatioF()
        image = QImage(int(width * ratio), int(height * ratio), QImage.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(QColor(theme.BACKGROUND))
        p = QPainter(image)
        p.setRenderHint(QPainter.Antialiasing)
        self._paint_tile(p, QRectF(0, 0, width, height), self.tiles[i])
        p.end()
        self._images[i] = image
        return image

    def _paint_tile(self, p: QPainter, r: QRectF, t: TileState) -> None:
        lost = t.device in (DEVICE_LOST, DEVICE_PROBLEM, DEVICE_STOPPED)
        if t.stop:
            bg, border = theme.STOP_DARK, theme.STOP
        elif t.day_done:
            bg, border = theme.DAY_DARK, theme.DAY
        else:
            bg = theme.PANEL
            border = theme.STOP if lost else (theme.WARNING if t.level == WARNING and t.reps else theme.PANEL_BORDER)
        p.setPen(QPen(QColor(border), 6 if (t.stop or lost or t.day_done) else 2))
        p.setBrush(QColor(bg))
        p.drawRoundedRect(r.adjusted(3, 3, -3, -3), 10, 10)
        pad = max(8.0, r.width() * 0.04)
        inner = r.adjusted(pad, pad * 0.8, -pad, -pad * 0.8)
        x, y, w, h = inner.x(), inner.y(), inner.width(), inner.height()

        # who and what: rack · athlete (left, bold), exercise (right)
        head_h = h * 0.13
        p.setPen(QColor(theme.TEXT))
        p.setFont(_fitted(f"{t.athlete}", w * 0.62, head_h))
        p.drawText(QRectF(x, y, w * 0.62, head_h), Qt.AlignLeft | Qt.AlignVCenter, t.athlete)
        p.setPen(QColor(theme.MUTED))
        p.setFont(_fitted(t.exercise, w * 0.36, head_h * 0.8, bold=False))
        p.drawText(QRectF(x + w * 0.64, y, w * 0.36, head_h), Qt.AlignRight | Qt.AlignVCenter, t.exercise)
        y += head_h
        sub_h = h * 0.08
        sub = f"{t.name} · set {t.set_number} · {t.metric_label} m/s"
        p.setFont(_fitted(sub, w, sub_h * 0.85, bold=False))
        p.drawText(QRectF(x, y, w, sub_h), Qt.AlignLeft | Qt.AlignVCenter, sub)
        y += sub_h

        # the big number: the last rep's velocity, coloured by its loss against the best
        big_h = h * 0.42
        colour = theme.MUTED if not t.reps or lost else (theme.TEXT if t.stop else theme.level_colour(t.level))
        p.setPen(QColor(colour))
        p.setFont(_fitted(t.velocity_text if t.reps else "–", w * 0.96, big_h))
        p.drawText(QRectF(x, y, w, big_h), Qt.AlignCenter, t.velocity_text if t.reps else "–")
        y += big_h

        # reps and loss, or the badge (STOP / DONE FOR TODAY)
        row_h = h * 0.15
        if lost:  # the loudest line: nothing from this bar is counted until the cable is back
            loud = "RACK STOPPED" if t.device == DEVICE_STOPPED else "DEVICE LOST"
            p.setPen(QColor(theme.STOP))
            p.setFont(_fitted(loud, w, row_h))
            p.drawText(QRectF(x, y, w, row_h), Qt.AlignCenter, loud)
        elif t.stop or t.day_done:
            text = "STOP" if t.stop else "DONE FOR TODAY"
            if t.stop and t.day_done:
                text = "STOP · DONE FOR TODAY"
            p.setPen(QColor(theme.TEXT))
            p.setFont(_fitted(f"{text} · {t.reps} reps · −{t.loss_text}", w, row_h))
            p.drawText(QRectF(x, y, w, row_h), Qt.AlignCenter, f"{text} · {t.reps} reps · −{t.loss_text}")
        else:
            label = f"{t.reps} reps · loss {t.loss_text}" + (" · set done" if t.set_over else "")
            p.setPen(QColor(theme.TEXT))
            p.setFont(_fitted(label, w, row_h * 0.8, bold=False))
            p.drawText(QRectF(x, y, w, row_h), Qt.AlignCenter, label)
        y += row_h

        # the set's reps as bars (up to the last 12), then the device's state
        bars_h = h * 0.12
        if t.bars:
            shown = t.bars[-12:]
            top = max(v for v, _ in shown) or 1.0
            bw = w / 12
            for k, (v, level) in enumerate(shown):
                bh = max(2.0, bars_h * 0.9 * v / top)
                p.fillRect(QRectF(x + k * bw + bw * 0.15, y + bars_h - bh, bw * 0.7, bh),
                           QColor(theme.level_colour(level)))
        y += bars_h
        dev_h = h - (y - inner.y())
        dev_colour = {DEVICE_OK: theme.GOOD, DEVICE_LOST: theme.STOP, DEVICE_PROBLEM: theme.STOP,
                      DEVICE_STOPPED: theme.STOP}.get(t.device,
                                                                                                     theme.MUTED)
        p.setPen(QColor(dev_colour))
        p.setFont(_fitted(t.device_text, w, dev_h * 0.8, bold=lost))
        p.drawText(QRectF(x, y, w, dev_h), Qt.AlignLeft | Qt.AlignVCenter, t.device_text)

