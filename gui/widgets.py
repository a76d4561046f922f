"""Building blocks of the live view: self-fitting number tiles, the alert overlay, the status banner
and the plots (created once, fed with ``setData``)."""

from __future__ import annotations

import math
import time

import numpy as np
from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from gui import theme


class PaintMeter:
    """Durations of paint events (s), kept in a small ring, and the time the last one ended."""

    def __init__(self, size: int = 4096):
        self.durations = np.zeros(size)
        self.n = 0
        self.last_end_s = 0.0

    def add(self, start_s: float, end_s: float) -> None:
        self.durations[self.n % self.durations.size] = end_s - start_s
        self.n += 1
        self.last_end_s = end_s

    def values(self) -> np.ndarray:
        return self.durations[: min(self.n, self.durations.size)].copy()

    def reset(self) -> None:
        self.n = 0


def _fit_font(base: QFont, text: str, width: float, height: float, max_px: float) -> QFont:
    """``base`` at the largest pixel size (up to ``max_px``) at which ``text`` fits ``width`` x ``height``."""
    f = QFont(base)
    px = max(6, int(min(max_px, height)))
    f.setPixelSize(px)
    w = QFontMetricsF(f).horizontalAdvance(text) if text else 0.0
    if w > width > 0:
        px = max(6, int(px * width / w))
        f.setPixelSize(px)
    return f


class ValueTile(QWidget):
    """A caption, one big value that grows with the tile, an optional unit and footer.

    The value's font is fitted to the tile on every paint, so the number is as large as the
    space allows at any window size (the last rep's velocity is meant to be read from 3 m).
    """

    def __init__(self, caption: str = "", value: str = "–", *, unit: str = "", footer: str = "",
                 value_share: float = 0.62, parent=None):
        super().__init__(parent)
        self._caption = caption
        self._value = value
        self._unit = unit
        self._footer = footer
        self._value_colour = QColor(theme.TEXT)
        self._background = QColor(theme.PANEL)
        self._border: QColor | None = None
        self._border_px = 0
        self.value_share = value_share
        self.meter = PaintMeter(512)
        self.token = None  # what the shown value belongs to (latency measurements)
        self.painted_token = None
        self.setMinimumSize(80, 60)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent, True)

    # -- content --------------------------------------------------------------------------
    def value(self) -> str:
        return self._value

    def caption(self) -> str:
        return self._caption

    def footer(self) -> str:
        return self._footer

    def value_colour(self) -> str:
        return self._value_colour.name()

    def set_value(self, value: str, colour: str | None = None, *, footer: str | None = None, token=None) -> None:
        self._value = value
        if colour is not None:
            self._value_colour = QColor(colour)
        if footer is not None:
            self._footer = footer
        self.token = token
        self.update()

    def set_caption(self, caption: str) -> None:
        self._caption = caption
        self.update()

    def set_unit(self, unit: str) -> None:
        self._unit = unit
        self.update()

    def set_background(self, colour: str | None) -> None:
        self._background = QColor(colour or theme.PANEL)
        self.update()

    def set_border(self, colour: str | None, width_px: int = 6) -> None:
        self._border = QColor(colour) if colour else None
        self._border_px = width_px if colour else 0
        self.update()

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        t0 = time.perf_counter()
        p = QPainter(self)
        r = QRectF(self.rect())
        p.fillRect(r, QColor(theme.BACKGROUND))
        inner = r.adjusted(3, 3, -3, -3)
        p.setRenderHint(QPainter.Antialiasing, True)
        p.setPen(Qt.NoPen)
        p.setBrush(self._background)
        p.drawRoundedRect(inner, 10, 10)
        if self._border is not None:
            pen = QPen(self._border)
            pen.setWidthF(self._border_px)
            p.setPen(pen)
            p.setBrush(Qt.NoBrush)
            half = self._border_px / 2
            p.drawRoundedRect(inner.adjusted(half, half, -half, -half), 10, 10)
        h, w = inner.height(), inner.width()
        pad = max(8.0, min(w, h) * 0.04)
        base = QFont(self.font())
        base.setBold(True)
        # caption
        cap_px = max(13.0, min(h * 0.10, 34.0))
        if self._caption:
            f = QFont(base)
            f.setPixelSize(int(cap_px))
            f.setBold(True)
            f.setLetterSpacing(QFont.AbsoluteSpacing, 1.0)
            p.setFont(f)
            p.setPen(QColor(theme.MUTED))
            p.drawText(QRectF(inner.left() + pad, inner.top() + pad * 0.6, w - 2 * pad, cap_px * 1.4),
                       Qt.AlignLeft | Qt.AlignVCenter, self._caption.upper())
        top = inner.top() + (cap_px * 1.5 + pad * 0.6 if self._caption else pad)
        foot_h = h * 0.16 if self._footer else 0.0
        bottom = inner.bottom() - pad * 0.5 - foot_h
        avail_h = max(10.0, bottom - top)
        # value (+ unit to its right, baseline aligned)
        unit_font = QFont(base)
        unit_font.setBold(False)
        unit_px = max(12.0, avail_h * 0.16)
        unit_font.setPixelSize(int(unit_px))
        unit_w = QFontMetricsF(unit_font).horizontalAdvance(" " + self._unit) if self._unit else 0.0
        vf = _fit_font(base, self._value, w - 2 * pad - unit_w, avail_h * 1.15, avail_h * self.value_share / 0.62 * 0.95)  # noqa: E501
        fm = QFontMetricsF(vf)
        vw = fm.horizontalAdvance(self._value)
        x0 = inner.left() + (w - vw - unit_w) / 2
        baseline = top + (avail_h + fm.capHeight()) / 2
        p.setFont(vf)
        p.setPen(self._value_colour)
        p.drawText(int(x0), int(baseline), self._value)
        if self._unit:
            p.setFont(unit_font)
            p.setPen(QColor(theme.MUTED))
            p.drawText(int(x0 + vw + unit_w * 0.1), int(baseline), " " + self._unit)
        if self._footer:
            ff = _fit_font(base, self._footer, w - 2 * pad, foot_h * 0.8, foot_h * 0.8)
            p.setFont(ff)
            p.setPen(QColor(theme.TEXT))
            p.drawText(QRectF(inner.left() + pad, bottom, w - 2 * pad, foot_h), Qt.AlignCenter, self._footer)
        p.end()
        self.painted_token = self.token
        self.meter.add(t0, time.perf_counter())


class AlertOverlay(QWidget):
    """Full-window flashing alert: "STOP" and the loss, impossible to miss.

    Covers its parent, lets mouse clicks through, flashes red / dark red for ``flash_s`` seconds and
    hides itself. :attr:`flashes` counts the colour changes (tests, and the log).
    """

    finished = Signal()

    def __init__(self, parent: QWidget, flash_s: float = 3.0, period_ms: int = 220):
        super().__init__(parent)
        self.setAttribute(Qt.WA_TransparentForMouseEvents, True)
        self.flash_s = flash_s
        self._on = True
        self._title = "STOP"
        self._detail = ""
        self.flashes = 0
        self._timer = QTimer(self)
        self._timer.setInterval(period_ms)
        self._timer.timeout.connect(self._toggle)
        self._end = QTimer(self)
        self._end.setSingleShot(True)
        self._end.timeout.connect(self.dismiss)
        self.hide()

    @property
    def title(self) -> str:
        return self._title

    @property
    def detail(self) -> str:
        return self._detail

    def show_alert(self, title: str, detail: str) -> None:
        self._title, self._detail = title, detail
        self._on = True
        self.flashes = 0
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()
        self._timer.start()
        self._end.start(int(self.flash_s * 1000))
        self.update()

    def dismiss(self) -> None:
        self._timer.stop()
        self._end.stop()
        if self.isVisible():
            self.hide()
            self.finished.emit()

    def _toggle(self) -> None:
        self._on = not self._on
        self.flashes += 1
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        r = QRectF(self.rect())
        p.fillRect(r, theme.qcolor(theme.STOP if self._on else theme.STOP_DARK, 248))
        base = QFont(self.font())
        base.setBold(True)
        title_font = _fit_font(base, self._title, r.width() * 0.9, r.height() * 0.42, r.height() * 0.42)
        p.setFont(title_font)
        p.setPen(QColor("#ffffff"))
        p.drawText(QRectF(r.left(), r.top() + r.height() * 0.12, r.width(), r.height() * 0.48), Qt.AlignCenter,
                   self._title)
        if self._detail:
            df = _fit_font(base, self._detail, r.width() * 0.9, r.height() * 0.13, r.height() * 0.13)
            p.setFont(df)
            p.drawText(QRectF(r.left(), r.top() + r.height() * 0.62, r.width(), r.height() * 0.2), Qt.AlignCenter,
                       self._detail)
        p.end()

    def resize_to_parent(self) -> None:
        if self.parentWidget() is not None:
            self.setGeometry(self.parentWidget().rect())


class DayDoneBanner(QWidget):
    """Done for the day: a violet band over the live view with the verdict and the day's best.

    Distinct from the set's STOP (red, flashing, over everything): it stays until the next set
    starts, so the lifter reads it at the rack between sets.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        from PySide6.QtWidgets import QVBoxLayout

        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet(f"DayDoneBanner {{ background: {theme.DAY_DARK}; border: 6px solid {theme.DAY}; }}"
                           f"DayDoneBanner QLabel {{ background: transparent; color: #ffffff; }}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 10, 22, 12)
        lay.setSpacing(4)
        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 54px; font-weight: 800;")
        self.detail = QLabel("")
        self.detail.setStyleSheet("font-size: 26px; font-weight: 600;")
        self.trend = QLabel("")
        self.trend.setStyleSheet(f"font-size: 21px; color: {theme.TEXT};")
        for label in (self.title, self.detail, self.trend):
            label.setTextFormat(Qt.PlainText)
            label.setWordWrap(True)
            lay.addWidget(label)
        self.hide()

    def show_verdict(self, exercise: str, verdict) -> None:
        v = verdict
        how = ("same load" if v.basis == "same_load" else "from the load-velocity profile")
        at = f" at {v.load_kg:g} kg" if v.load_kg else ""
        best_at = f" at {v.day_best_load_kg:g} kg" if v.day_best_load_kg else ""
        self.title.setText(f"DONE FOR TODAY · {exercise}")
        self.detail.setText(f"best rep {v.set_best_m_s:.2f} m/s{at} = {v.ratio_pct:.0f} % of {v.reference_m_s:.2f} "
                            f"m/s ({how}; under {v.floor_pct:g} %)")
        trend = " → ".join(f"{x:.2f}" for x in v.trend_m_s)
        self.trend.setText(f"day's best {v.day_best_m_s:.2f} m/s{best_at} · today's sets: {trend}")
        self.show()

    @property
    def text(self) -> str:
        return " — ".join(x.text() for x in (self.title, self.detail, self.trend))


class StatusBanner(QWidget):
    """Device status: a slim strip while all is well, a big red banner when the device is lost.

    A short headline (huge when loud) and a smaller detail line (the reason, the port).
    """

    action_clicked = Signal(str)

    OK, INFO, LOUD = "ok", "info", "loud"

    def __init__(self, parent=None):
        super().__init__(parent)
        from PySide6.QtWidgets import QVBoxLayout

        self.setAttribute(Qt.WA_StyledBackground, True)  # the style sheet paints one background
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 6, 14, 6)
        lay.setSpacing(16)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.label = QLabel("Starting…")
        self.label.setTextFormat(Qt.PlainText)
        self.detail_label = QLabel("")
        self.detail_label.setTextFormat(Qt.PlainText)
        self.detail_label.setWordWrap(True)
        texts.addWidget(self.label)
        texts.addWidget(self.detail_label)
        self.right = QLabel("")
        self.right.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        self.button = QPushButton("")
        self.button.hide()
        self.button.clicked.connect(lambda: self.action_clicked.emit(self._action))
        lay.addLayout(texts, 1)
        lay.addWidget(self.right, 0)
        lay.addWidget(self.button, 0)
        self._action = ""
        self.mode = None
        self.set_mode(self.INFO, "Starting…")

    @property
    def text(self) -> str:
        """Headline and detail, as one line (tests, the log)."""
        d = self.detail_label.text()
        return f"{self.label.text()} — {d}" if d else self.label.text()

    def set_right(self, text: str) -> None:
        self.right.setText(text)

    def set_mode(self, mode: str, text: str, detail: str = "", action: str = "", action_text: str = "") -> None:
        self.mode = mode
        self.label.setText(text)
        self.detail_label.setText(detail)
        self.detail_label.setVisible(bool(detail))
        self._action = action
        if action:
            self.button.setText(action_text or action)
            self.button.show()
        else:
            self.button.hide()
        if mode == self.LOUD:
            bg, fg, px, h = theme.STOP, "#ffffff", 44, 120
        elif mode == self.INFO:
            bg, fg, px, h = "#3a2b05", theme.WARNING, 22, 64
        else:
            bg, fg, px, h = theme.PANEL, theme.TEXT, 17, 40
        self.setStyleSheet(f"StatusBanner, StatusBanner QLabel {{ background: {bg}; color: {fg}; }}"
                           f"StatusBanner QPushButton {{ background: {theme.BACKGROUND}; color: {theme.TEXT}; }}")
        self.label.setStyleSheet(f"font-size: {px}px; font-weight: {800 if mode == self.LOUD else 600};")
        self.detail_label.setStyleSheet(f"font-size: {18 if mode == self.LOUD else 15}px;")
        self.right.setStyleSheet(f"font-size: {min(px, 20)}px;")
        self.setMinimumHeight(h)
        self.setMaximumHeight(h if mode == self.OK else 16777215)


class TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that records how long each paint takes (frame-time figures)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.meter = PaintMeter()

    def paintEvent(self, event) -> None:  # noqa: N802
        t0 = time.perf_counter()
        super().paintEvent(event)
        self.meter.add(t0, time.perf_counter())


def _style_plot(plot: pg.PlotItem, left: str, bottom: str | None) -> None:
    """Dark axes without SI prefixes. Axes are cached as pixmaps: a frame only re-blits them."""
    plot.showGrid(x=False, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(theme.PANEL_BORDER))
        ax.setTextPen(pg.mkPen(theme.MUTED))
        f = QFont()
        f.setPixelSize(14)
        ax.setStyle(tickFont=f)
        ax.enableAutoSIPrefix(False)
        ax.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    plot.setLabel("left", left, color=theme.MUTED, size="13pt")
    if bottom:
        plot.setLabel("bottom", bottom, color=theme.MUTED, size="13pt")


VALUE_ROOM_PX = 32.0  # a bar's value above it: 18 px type in a 29 px text box, and a margin


class RepBars(TimedPlotWidget):
    """One bar per rep of the set, coloured by level, with the best-rep and stop-threshold lines."""

    MAX_LABELS = 40

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setBackground(theme.PANEL)
        plot = self.getPlotItem()
        _style_plot(plot, "m/s", None)
        plot.getAxis("bottom").setTicks(None)
        plot.setMouseEnabled(x=False, y=False)
        self.bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.72, brushes=[], pen=pg.mkPen(None))
        plot.addItem(self.bars)
        self.best_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(theme.BEST, width=2))
        self.stop_line = pg.InfiniteLine(angle=0, movable=False,
                                         pen=pg.mkPen(theme.STOP, width=3, style=Qt.DashLine))
        # The lines' values in a legend above the bars, never on them: at the lines' right end
        # they covered the last bars' values (a 9-rep set's "stop 0.84" over bars 8 and 9).
        self.legend: str | None = None
        self._set_legend("")
        plot.addItem(self.best_line)
        plot.addItem(self.stop_line)
        self.best_line.hide()
        self.stop_line.hide()
        self._labels: list[pg.TextItem] = []
        font = QFont()
        font.setPixelSize(18)
        font.setBold(True)
        for _ in range(self.MAX_LABELS):  # created once, shown as reps arrive
            t = pg.TextItem("", color=theme.TEXT, anchor=(0.5, 1.0))
            t.setFont(font)
            t.hide()
            plot.addItem(t)
            self._labels.append(t)
        self._tempo_labels: list[pg.TextItem] = []
        tempo_font = QFont(font)
        tempo_font.setPixelSize(24)
        for _ in range(self.MAX_LABELS):  # "FAST" at the foot of a bar whose rep missed its tempo
            t = pg.TextItem("FAST", color=theme.TEMPO, anchor=(0.5, 1.0), fill=pg.mkBrush(theme.BACKGROUND))
            t.setFont(tempo_font)
            t.setZValue(25)
            t.hide()
            plot.addItem(t)
            self._tempo_labels.append(t)
        self.tempo_marks: tuple[int, ...] = ()
        self.metric_label = "MV"
        self.heights = np.zeros(0)
        self.levels: list[str] = []
        self.best_y: float | None = None
        self.stop_y: float | None = None
        self._set_ranges(0, None)

    def _set_legend(self, html: str) -> None:
        """The lines' legend in the title row (kept, even empty, so the bars do not jump when it fills)."""
        if html != self.legend:
            self.legend = html
            self.getPlotItem().setTitle(html or "&nbsp;", justify="right", size="13pt", bold=True)

    def _set_ranges(self, n: int, top: float | None) -> None:
        plot = self.getPlotItem()
        plot.setXRange(0.4, max(8, n) + 0.6, padding=0)
        # headroom for the values above the bars: 18 % of the tallest, or their type's height in
        # pixels where the chart is short (a 9-rep set's tallest values were cut off)
        h = float(plot.getViewBox().height())
        room = VALUE_ROOM_PX / h if h > 2.0 * VALUE_ROOM_PX else 0.5
        plot.setYRange(0.0, max(0.4, (top or 0.0) * max(1.18, 1.0 / (1.0 - room))), padding=0)
        ticks = [(i, str(i)) for i in range(1, max(8, n) + 1)]
        plot.getAxis("bottom").setTicks([ticks])

    def show_reps(self, velocities, levels, best: float | None, threshold: float | None,
                  threshold_pct: float | None = None, tempo_marks=()) -> None:
        v = np.asarray(velocities, dtype=float)
        n = v.size
        x = np.arange(1, n + 1, dtype=float)
        brushes = [pg.mkBrush(theme.level_colour(lv)) for lv in levels]
        marks = {int(i) for i in tempo_marks}
        pens = [pg.mkPen(theme.TEMPO, width=6) if i in marks else pg.mkPen(None) for i in range(1, n + 1)]
        self.bars.setOpts(x=x, height=np.nan_to_num(v), width=0.72, brushes=brushes, pens=pens or None)
        self.tempo_marks = tuple(sorted(i for i in marks if 1 <= i <= n))
        top_y = float(np.nanmax(v)) if n else 0.4
        for i, label in enumerate(self._tempo_labels, start=1):
            if i in marks and i <= n:
                label.setPos(i, 0.03 * max(top_y, 0.4))  # at the foot of the bar, clear of the value above
                label.show()
            else:
                label.hide()
        self.heights, self.levels = v, list(levels)
        for i, label in enumerate(self._labels):
            if i < n and i < self.MAX_LABELS:
                label.setText(f"{v[i]:.2f}")
                label.setPos(x[i], v[i])
                label.show()
            else:
                label.hide()
        self.best_y, self.stop_y = best, threshold
        parts = []
        for line, y, colour, text in ((self.best_line, best, theme.BEST, "── best"),
                                      (self.stop_line, threshold, theme.STOP, "╍╍ stop")):
            if y is None:
                line.hide()
                continue
            line.setPos(y)
            line.show()
            parts.append(f'<span style="color:{colour}">{text} {y:.2f}</span>')
        self._set_legend("&nbsp;&nbsp;&nbsp;".join(parts))
        top = float(np.nanmax(v)) if n else None
        self._set_ranges(n, top)


class TracePlots(pg.GraphicsLayoutWidget):
    """Rolling bar position and velocity over the last ``window_s`` seconds.

    Both plots live in one graphics view (one paint and one flush a frame instead of two). The
    curves are created once; :meth:`show_window` feeds them ``setData`` with times relative to the
    newest sample, so the x axis never moves and only the data changes. The y ranges follow the
    data with hysteresis (they change a few times per set, not every frame). The data arrive
    thinned to 200 samples a second (``gui.session``), a few per pixel column.
    """

    def __init__(self, window_s: float = 10.0, parent=None):
        super().__init__(parent)
        self.window_s = window_s
        self.meter = PaintMeter()
        self.setBackground(theme.PANEL)
        # Repaint only what changed (the curves' rectangle; the cached axes are blitted).
        self.setViewportUpdateMode(QGraphicsView.BoundingRectViewportUpdate)
        self.ci.layout.setSpacing(2)
        self.position_plot = self.addPlot(row=0, col=0)
        self.velocity_plot = self.addPlot(row=1, col=0)
        self.curves = []
        # two short plots: a label as long as "position m" overran its plot into the other's; the unit
        # alone, in its curve's colour, says which is which
        for plot, label, colour in ((self.position_plot, "m", theme.POSITION),
                                    (self.velocity_plot, "m/s", theme.VELOCITY)):
            _style_plot(plot, label, None)
            plot.setLabel("left", label, color=colour, size="11pt")
            plot.setMouseEnabled(x=False, y=False)
            plot.setXRange(-window_s, 0.0, padding=0)
            plot.disableAutoRange()
            # A bare curve item with a 1 px pen: the worker already thins the stream to 200 samples
            # a second, all in view, so PlotDataItem's clipping and downsampling would only cost
            # time; and Qt's raster engine strokes wider lines several times slower.
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), skipFiniteCheck=True)
            plot.addItem(curve)
            self.curves.append(curve)
        self.velocity_plot.setLabel("bottom", "seconds", color=theme.MUTED, size="11pt")
        self.position_plot.getAxis("bottom").setStyle(showValues=False)
        self.position_plot.getAxis("left").setWidth(64)
        self.velocity_plot.getAxis("left").setWidth(64)
        zero = pg.InfiniteLine(angle=0, pos=0.0, pen=pg.mkPen(theme.PANEL_BORDER, width=1))
        zero.setZValue(-5)  # under the curve
        self.velocity_plot.addItem(zero)
        self._ranges = [(0.0, 1.0), (-1.0, 1.0)]
        self._set_y(0, 0.0, 1.0)
        self._set_y(1, -1.0, 1.0)
        self.drawn_t_s: float | None = None  # newest sample drawn

    def paintEvent(self, event) -> None:  # noqa: N802
        t0 = time.perf_counter()
        super().paintEvent(event)
        self.meter.add(t0, time.perf_counter())

    def seconds_per_pixel(self) -> float:
        width = self.position_plot.getViewBox().width()
        return self.window_s / width if width > 0 else 0.0

    @property
    def meters(self):
        return [self.meter]

    def _set_y(self, i: int, lo: float, hi: float) -> None:
        self._ranges[i] = (lo, hi)
        (self.position_plot if i == 0 else self.velocity_plot).setYRange(lo, hi, padding=0)

    def _follow(self, i: int, data: np.ndarray, min_span: float, step: float) -> None:
        if data.size == 0:
            return
        lo_d, hi_d = float(data.min()), float(data.max())
        lo, hi = self._ranges[i]
        span = max(min_span, hi_d - lo_d)
        margin = 0.12 * span
        want_lo, want_hi = lo_d - margin, hi_d + margin
        # widen at once when data leaves the range; shrink only when the range is far too big
        if want_lo < lo or want_hi > hi or (hi - lo) > 2.5 * (want_hi - want_lo):
            new_lo = math.floor(want_lo / step) * step
            new_hi = math.ceil(want_hi / step) * step
            if (new_lo, new_hi) != (lo, hi):
                self._set_y(i, new_lo, new_hi)

    def show_window(self, t_s: np.ndarray, position_m: np.ndarray, velocity_m_s: np.ndarray) -> None:
        if t_s.size == 0:
            self.curves[0].setData([], [])
            self.curves[1].setData([], [])
            return
        self.drawn_t_s = float(t_s[-1])
        rel = t_s - t_s[-1]
        self.curves[0].setData(rel, position_m)
        self.curves[1].setData(rel, velocity_m_s)
        self._follow(0, position_m, 0.3, 0.1)
        self._follow(1, velocity_m_s, 1.0, 0.25)
