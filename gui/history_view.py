"""The history tab: sessions by date, a set's reps and re-plotted trace, trends per exercise and the
load-velocity profile with its estimated 1RM.

Reading the history never happens on the GUI thread: :class:`HistoryLoader` runs every query on
one background thread that owns its own read-only use of the store (``vbt.store.Store``, WAL mode,
so it reads while the live view records) and hands results back by a queued signal. Only the
newest answer to each kind of question is shown; older ones are dropped.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from datetime import datetime

import numpy as np
from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui import gc_thread, theme
from gui.ringbuffer import DisplayVelocity
from gui.state import loss_level
from gui.widgets import RepBars, _style_plot
from vbt.config import METRIC_LABELS, METRICS
from vbt.units import fmt

log = logging.getLogger(__name__)

ALL = "(all)"


class HistoryLoader(QObject):
    """Runs ``fn(store)`` on one background thread; ``loaded(kind, result)`` or ``failed(kind, message)``.

    The store is opened on that thread at the first request (``recover=False``: crash recovery is
    the recorder's job) and closed by :meth:`close`.
    """

    loaded = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, home=None, parent=None):
        super().__init__(parent)
        self.home = home
        self.team_url: str | None = None  # set: read the team server instead (vbt.team.store.TeamStore)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="vbt-history")
        self._generation: dict[str, int] = {}
        self._local = threading.local()
        self._closed = False
        self._lock = threading.Lock()

    def _store(self):
        store = getattr(self._local, "store", None)
        if store is None:
            if self.team_url is not None:
                from vbt.team.store import TeamStore

                store = self._local.store = TeamStore(self.team_url)
            else:
                from vbt.store import Store

                store = self._local.store = Store.open(self.home, recover=False)
        return store

    def request(self, kind: str, fn) -> None:
        if self._closed:
            return
        with self._lock:
            gen = self._generation.get(kind, 0) + 1
            self._generation[kind] = gen

        def work():
            with self._lock:
                if self._generation.get(kind) != gen or self._closed:
                    return  # a newer request of this kind is queued
            try:
                result = fn(self._store())
            except Exception as exc:  # noqa: BLE001 - shown to the person, never raised into Qt
                if not self._closed:
                    self.failed.emit(kind, str(exc))
                return
            with self._lock:
                current = self._generation.get(kind) == gen and not self._closed
            if current:
                self.loaded.emit(kind, result)

        self._pool.submit(work)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close_store():
            store = getattr(self._local, "store", None)
            if store is not None:
                store.close()
                self._local.store = None

        self._pool.submit(close_store)
        self._pool.shutdown(wait=True)


def _set_text(s) -> str:
    load = f"{s.load_kg:g} kg" if s.load_kg else "no load"
    side = "" if s.side == "both" else f" ({s.side})"
    stop = f" · stop rep {s.stop_rep}" if s.stop_rep else ""
    rpe = f" · RPE {s.rpe:g}" if s.rpe is not None else ""
    best = f" · best {s.best_velocity_m_s:.2f}" if s.best_velocity_m_s is not None else ""
    when = datetime.fromtimestamp(s.started_at_unix_s).strftime("%H:%M")
    method = "".join(f" · {x}" for x in (("warm-up" if s.warmup else None), s.tempo_line(), s.day_line()) if x)
    return f"{when}  {s.exercise} {load}{side} · {s.n_reps} reps{best}{stop}{method}{rpe}"


class HistoryView(QWidget):
    """Sessions on the left; set detail, trends and profile on the right.

    ``lists_loaded(athletes, exercises)`` reports the names in the history (the set controls use
    them, so user-added exercises can be chosen).
    """

    lists_loaded = Signal(object, object)

    def __init__(self, home=None, parent=None):
        super().__init__(parent)
        gc_thread.keep_on_gui_thread()  # its loader's thread must not destroy Qt objects (gui/gc_thread.py)
        self.loader = HistoryLoader(home, self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self._stale = True
        self._selected_set: int | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        bar = QHBoxLayout()
        self.athlete = QComboBox()
        self.exercise = QComboBox()
        self.metric_box = QComboBox()
        for m in METRICS:
            self.metric_box.addItem(METRIC_LABELS[m], m)
        self.refresh_button = QPushButton("Refresh")
        self.message = QLabel("")
        self.message.setStyleSheet(f"color: {theme.WARNING};")
        for label, w in (("Athlete", self.athlete), ("Exercise", self.exercise), ("Metric", self.metric_box)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.message, 1)
        outer.addLayout(bar)
        self.athlete.addItem(ALL)
        self.exercise.addItem(ALL)
        for combo in (self.athlete, self.exercise):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(14)
        self.athlete.currentIndexChanged.connect(self.refresh)
        self.exercise.currentIndexChanged.connect(self._filters_changed)
        self.metric_box.currentIndexChanged.connect(self._filters_changed)
        self.refresh_button.clicked.connect(self.refresh)

        split = QSplitter(Qt.Horizontal)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Sessions by date"])
        self.tree.setUniformRowHeights(True)
        self.tree.itemExpanded.connect(self._expanded)
        self.tree.currentItemChanged.connect(self._selected)
        self.tree.itemClicked.connect(lambda item, _col: item.data(0, Qt.UserRole) is not None
                                      and self.tabs.setCurrentIndex(0))
        split.addWidget(self.tree)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_set_tab(), "Set")
        self.tabs.addTab(self._build_trend_tab(), "Trend")
        self.tabs.addTab(self._build_profile_tab(), "Profile")
        self.tabs.currentChanged.connect(lambda _: self._filters_changed())
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([430, 1100])
        outer.addWidget(split, 1)

    # ---- building --------------------------------------------------------------------------
    def _build_set_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.set_title = QLabel("Choose a set on the left")
        self.set_title.setWordWrap(True)
        self.set_title.setStyleSheet("font-size: 22px; font-weight: 700;")
        lay.addWidget(self.set_title)
        row = QHBoxLayout()
        self.set_bars = RepBars()
        row.addWidget(self.set_bars, 2)
        self.trace_plot = pg.PlotWidget()
        self.trace_plot.setBackground(theme.PANEL)
        _style_plot(self.trace_plot.getPlotItem(), "position m", "seconds")
        self.trace_pos = self.trace_plot.plot(pen=pg.mkPen(theme.POSITION, width=2))
        self.trace_vel_plot = pg.ViewBox()
        pi = self.trace_plot.getPlotItem()
        pi.showAxis("right")
        pi.scene().addItem(self.trace_vel_plot)
        pi.getAxis("right").linkToView(self.trace_vel_plot)
        pi.getAxis("right").setLabel("velocity m/s", color=theme.VELOCITY)
        self.trace_vel_plot.setXLink(pi)
        self.trace_vel = pg.PlotDataItem(pen=pg.mkPen(theme.VELOCITY, width=1.5))
        self.trace_vel_plot.addItem(self.trace_vel)
        pi.getViewBox().sigResized.connect(
            lambda: self.trace_vel_plot.setGeometry(pi.getViewBox().sceneBoundingRect()))
        self._regions: list[pg.LinearRegionItem] = []
        row.addWidget(self.trace_plot, 3)
        lay.addLayout(row, 3)
        self.rep_table = QTableWidget(0, 8)
        self.rep_table.setHorizontalHeaderLabels(["rep", "MV", "MPV", "PV", "ROM cm", "loss %", "power W", "status"])
        self.rep_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.rep_table.verticalHeader().hide()
        self.rep_table.setEditTriggers(QTableWidget.NoEditTriggers)
        lay.addWidget(self.rep_table, 2)
        return w

    def _build_trend_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.trend_title = QLabel("Choose an exercise above")
        self.trend_title.setWordWrap(True)
        self.trend_title.setStyleSheet("font-size: 20px; font-weight: 700;")
        lay.addWidget(self.trend_title)
        row = QHBoxLayout()
        row.addWidget(QLabel("Best velocity at"))
        self.trend_load = QDoubleSpinBox()
        self.trend_load.setRange(0.0, 1000.0)
        self.trend_load.setDecimals(1)
        self.trend_load.setSingleStep(2.5)
        self.trend_load.setSuffix(" kg")
        self.trend_load.setSpecialValueText("any load")
        self.trend_load.valueChanged.connect(self._filters_changed)
        row.addWidget(self.trend_load)
        row.addStretch(1)
        lay.addLayout(row)
        self.trend_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.trend_plot.setBackground(theme.PANEL)
        _style_plot(self.trend_plot.getPlotItem(), "best velocity m/s", None)
        self.trend_best = self.trend_plot.plot(pen=pg.mkPen(theme.ACCENT, width=2), symbol="o", symbolSize=9,
                                               symbolBrush=theme.ACCENT, symbolPen=None)
        self.volume_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.volume_plot.setBackground(theme.PANEL)
        _style_plot(self.volume_plot.getPlotItem(), "volume kg", None)
        self.volume_bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=theme.VELOCITY)
        self.volume_plot.addItem(self.volume_bars)
        self.volume_plot.setXLink(self.trend_plot)
        lay.addWidget(self.trend_plot, 3)
        lay.addWidget(self.volume_plot, 2)
        return w

    def _build_profile_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.profile_title = QLabel("Choose an exercise above")
        self.profile_title.setStyleSheet("font-size: 20px; font-weight: 700;")
        self.profile_title.setWordWrap(True)
        lay.addWidget(self.profile_title)
        self.profile_plot = pg.PlotWidget()
        self.profile_plot.setBackground(theme.PANEL)
        _style_plot(self.profile_plot.getPlotItem(), "velocity m/s", "load kg")
        pi = self.profile_plot.getPlotItem()
        self.profile_line = pi.plot(pen=pg.mkPen(theme.ACCENT, width=3))
        self.profile_points = pg.ScatterPlotItem(size=14, brush=pg.mkBrush(theme.TEXT), pen=pg.mkPen(theme.BACKGROUND))
        pi.addItem(self.profile_points)
        self.mvt_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(theme.STOP, width=2, style=Qt.DashLine))
        self.mvt_label = pg.InfLineLabel(self.mvt_line, text="", position=0.03, anchor=(0, 1), color=theme.STOP)
        pi.addItem(self.mvt_line)
        self.one_rm_interval = pg.ErrorBarItem(x=np.zeros(1), y=np.zeros(1), left=np.zeros(1), right=np.zeros(1),
                                               beam=0.03, pen=pg.mkPen(theme.WARNING, width=3))
        pi.addItem(self.one_rm_interval)
        self.one_rm_point = pg.ScatterPlotItem(size=20, symbol="star", brush=pg.mkBrush(theme.WARNING), pen=None)
        pi.addItem(self.one_rm_point)
        self.one_rm_text = pg.TextItem("", color=theme.WARNING, anchor=(1.0, 1.2))
        pi.addItem(self.one_rm_text)
        for item in (self.mvt_line, self.one_rm_interval, self.one_rm_point, self.one_rm_text):
            item.hide()
        lay.addWidget(self.profile_plot, 3)
        self.profile_text = QLabel("")
        self.profile_text.setWordWrap(True)
        self.profile_text.setTextFormat(Qt.PlainText)
        self.profile_text.setStyleSheet("font-size: 16px;")
        lay.addWidget(self.profile_text, 1)
        return w

    # ---- requests ----------------------------------------------------------------------------
    def _athlete(self) -> str | None:
        a = self.athlete.currentText()
        return None if a in ("", ALL) else a

    def _exercise(self) -> str | None:
        e = self.exercise.currentText()
        return None if e in ("", ALL) else e

    def choose_exercise(self, name: str) -> None:
        """Show ``name``'s trend and profile; kept until the exercise list has arrived if need be."""
        i = self.exercise.findText(name)
        if i >= 0:
            self._pending_exercise = None
            self.exercise.setCurrentIndex(i)
        else:
            self._pending_exercise = name

    def use_team(self, url: str) -> None:
        """Read the team server (every athlete, every rack) instead of this machine's history; call
        before the view is first shown. Changes made here are refused: sets are edited on their rack."""
        from vbt.team.db import redact

        self.loader.team_url = url
        self.setToolTip(f"team history on {redact(url)}")
        self._stale = True

    def mark_stale(self) -> None:
        """New data was recorded: reload when next shown (now, if visible)."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def load_lists(self) -> None:
        """Ask for the athletes and exercises in the history (answered by ``lists_loaded``)."""
        self.loader.request("lists", lambda s: ([a.name for a in s.athletes()], [e.name for e in s.exercises()]))

    def refresh(self, *_) -> None:
        self._stale = False
        athlete, exercise = self._athlete(), self._exercise()
        self.load_lists()
        self.loader.request("sessions", lambda s: s.sessions(athlete=athlete, exercise=exercise, limit=2000))
        self._filters_changed()

    def _filters_changed(self, *_) -> None:
        exercise, athlete = self._exercise(), self._athlete()
        metric = self.metric_box.currentData()
        tab = self.tabs.currentIndex()
        if exercise is None:
            if tab in (1, 2):
                msg = "Choose an exercise above to see its trend and load-velocity profile"
                self.trend_title.setText(msg)
                self.profile_title.setText(msg)
            return
        if tab == 1:
            load = self.trend_load.value() or None
            self.loader.request("trend", lambda s: (exercise, metric, load, s.exercise_trend(
                exercise, athlete=athlete, metric=metric, load_kg=load)))
        elif tab == 2:
            def profile(s):
                from vbt.profile import ProfileError

                try:
                    return exercise, s.load_velocity_profile(exercise, athlete=athlete, metric=metric), None
                except ProfileError as exc:
                    return exercise, None, str(exc)

            self.loader.request("profile", profile)

    def _expanded(self, item: QTreeWidgetItem) -> None:
        session_id = item.data(0, Qt.UserRole + 1)
        if session_id is None or item.data(0, Qt.UserRole + 2):
            return
        item.setData(0, Qt.UserRole + 2, True)
        exercise = self._exercise()
        self.loader.request(f"sets:{session_id}",
                            lambda s: (session_id, s.sets(session_id=session_id, exercise=exercise)))

    def _selected(self, item: QTreeWidgetItem | None, _prev=None) -> None:
        if item is None:
            return
        set_id = item.data(0, Qt.UserRole)
        if set_id is None:
            if not item.isExpanded():
                item.setExpanded(True)
            return
        self.show_set(set_id)

    def show_set(self, set_id: int) -> None:
        """Load one set into the Set tab (the tab shown is left as it is)."""
        self._selected_set = set_id

        def detail(s):
            d = s.set_detail(set_id)
            t, x = d.trace.t_s, d.trace.position_m
            v = DisplayVelocity(0.02).feed(t, x) if t.size else np.zeros(0)
            return d, v

        self.loader.request("set", detail)

    # ---- answers -------------------------------------------------------------------------------
    def _on_failed(self, kind: str, message: str) -> None:
        log.warning("history %s: %s", kind, message)
        self.message.setText(message)

    def _on_loaded(self, kind: str, result) -> None:
        self.message.setText("")
        if kind == "lists":
            self._fill_lists(*result)
        elif kind == "sessions":
            self._fill_sessions(result)
        elif kind.startswith("sets:"):
            self._fill_sets(*result)
        elif kind == "set":
            self._fill_set(*result)
        elif kind == "trend":
            self._fill_trend(*result)
        elif kind == "profile":
            self._fill_profile(*result)

    def _fill_lists(self, athletes, exercises) -> None:
        for combo, names in ((self.athlete, athletes), (self.exercise, exercises)):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ALL)
            combo.addItems(names)
            i = combo.findText(current)
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)
        pending = getattr(self, "_pending_exercise", None)
        if pending and self.exercise.findText(pending) >= 0:
            self.choose_exercise(pending)
        self.lists_loaded.emit(list(athletes), list(exercises))

    def _fill_sessions(self, sessions) -> None:
        self.tree.clear()
        items = []
        for s in sessions:
            when = datetime.fromtimestamp(s.started_at_unix_s)
            text = (f"{when:%a %d %b %Y}  {when:%H:%M} · {s.athlete} · {', '.join(s.exercises) or 'no sets'}"
                    f" · {s.n_sets} sets · {s.n_reps} reps")
            it = QTreeWidgetItem([text])
            it.setToolTip(0, text)
            it.setData(0, Qt.UserRole + 1, s.id)
            it.setChildIndicatorPolicy(QTreeWidgetItem.ShowIndicator)
            items.append(it)
        self.tree.addTopLevelItems(items)
        if not items:
            self.set_title.setText("No sets recorded yet: do a set in the Live tab, or `vbt import` recordings")
        elif self._selected_set is None:
            self.tree.setCurrentItem(items[0])  # the newest session, its sets listed

    def _fill_sets(self, session_id: int, sets) -> None:
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if it.data(0, Qt.UserRole + 1) == session_id:
                it.takeChildren()
                for s in sets:
                    child = QTreeWidgetItem([_set_text(s)])
                    child.setToolTip(0, _set_text(s))
                    child.setData(0, Qt.UserRole, s.id)
                    it.addChild(child)
                if sets and self._selected_set is None:
                    self.tree.setCurrentItem(it.child(it.childCount() - 1))
                return

    def _fill_set(self, detail, velocity) -> None:
        rec = detail.set
        self._selected_set = rec.id
        metric = rec.metric
        label = METRIC_LABELS.get(metric, metric)
        when = datetime.fromtimestamp(rec.started_at_unix_s)
        load = f"{rec.load_kg:g} kg" if rec.load_kg else "no load"
        extra = f" · RPE {rec.rpe:g}" if rec.rpe is not None else ""
        extra += " · recovered after a crash" if rec.recovered else ""
        note = f" · “{rec.note}”" if rec.note else ""
        self.set_title.setText(f"{rec.exercise} · {load} · {rec.athlete} · {when:%Y-%m-%d %H:%M}{extra}{note}")
        kept = [r for r in detail.reps if not r.deleted]
        vel = [r.rep.velocity(metric) for r in kept]
        best = vel[rec.best_rep - 1] if rec.best_rep and rec.best_rep <= len(vel) else None
        thr = best * (1 - rec.velocity_loss_threshold_pct / 100) if best is not None else None
        levels = [loss_level(r.rep.velocity_loss_pct, rec.velocity_loss_threshold_pct, 3.0) if r.rep.index > 1
                  else "good" for r in kept]
        self.set_bars.show_reps(vel, levels, best, thr, rec.velocity_loss_threshold_pct)
        self.set_bars.getPlotItem().setLabel("left", f"{label} m/s", color=theme.MUTED)
        t, x = detail.trace.t_s, detail.trace.position_m
        t0 = t[0] if t.size else 0.0
        self.trace_pos.setData(t - t0, x)
        self.trace_vel.setData(t - t0, velocity)
        self.trace_plot.getPlotItem().enableAutoRange()
        self.trace_vel_plot.enableAutoRange(axis=pg.ViewBox.YAxis)
        for r in self._regions:
            self.trace_plot.removeItem(r)
        self._regions = []
        for r in kept:
            region = pg.LinearRegionItem((r.rep.concentric_start_s - t0, r.rep.concentric_end_s - t0), movable=False,
                                         brush=theme.qcolor(theme.level_colour(levels[r.rep.index - 1]), 50),
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            self.trace_plot.addItem(region)
            self._regions.append(region)
        self.rep_table.setRowCount(len(detail.reps))
        for row, r in enumerate(detail.reps):
            rep = r.rep
            values = [str(rep.index), fmt(rep.mean_velocity_m_s), fmt(rep.mean_propulsive_velocity_m_s),
                      fmt(rep.peak_velocity_m_s), fmt(rep.rom_m * 100 if rep.rom_m else None, ".0f"),
                      fmt(rep.velocity_loss_pct, ".1f"), fmt(rep.mean_power_w, ".0f"), "deleted" if r.deleted else "kept"]  # noqa: E501
            for col, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setTextAlignment(Qt.AlignCenter)
                self.rep_table.setItem(row, col, item)

    def _fill_trend(self, exercise, metric, load, points) -> None:
        label = METRIC_LABELS.get(metric, metric)
        at = f" at {load:g} kg" if load else ""
        self.trend_title.setText(f"{exercise}: best {label}{at} per session, and volume ({len(points)} sessions)")
        x = np.array([p.started_at_unix_s for p in points], dtype=float)
        values = [p.best_velocity_at_load_m_s if load else p.best_velocity_m_s for p in points]
        best = np.array([np.nan if v is None else v for v in values], dtype=float)
        vol = np.array([p.volume_kg for p in points], dtype=float)
        ok = np.isfinite(best)
        self.trend_best.setData(x[ok], best[ok])
        self.volume_bars.setOpts(x=x, height=vol, width=0.6 * 86400.0)
        self.trend_plot.getPlotItem().enableAutoRange()
        self.volume_plot.getPlotItem().enableAutoRange()

    def _fill_profile(self, exercise, profile, problem) -> None:
        items = (self.mvt_line, self.one_rm_interval, self.one_rm_point, self.one_rm_text)
        if profile is None:
            self.profile_title.setText(f"{exercise}: no load-velocity profile yet — {problem}")
            self.profile_line.setData([], [])
            self.profile_points.setData([], [])
            self.profile_text.setText("Record sets at two or more loads (ideally about 0.5 m/s apart).")
            for item in items:
                item.hide()
            return
        from vbt.profile import describe

        p = profile
        flag = "  ⚠ LOW CONFIDENCE for this lift" if p.low_confidence else ""
        pct = round(p.confidence * 100)
        self.profile_title.setText(
            f"{p.exercise} · {p.athlete}: estimated 1RM {p.one_rm_kg:.0f} kg "
            f"({pct} % interval {p.one_rm_low_kg:.0f}–{p.one_rm_high_kg:.0f} kg){flag}")
        self.profile_title.setStyleSheet(
            f"font-size: 20px; font-weight: 700; color: {theme.WARNING if p.low_confidence else theme.TEXT};")
        loads = np.array(p.loads_kg)
        vel = np.array(p.velocities_m_s)
        self.profile_points.setData(loads, vel)
        x_line = np.linspace(0.0, max(p.one_rm_high_kg, loads.max()) * 1.05, 50)
        self.profile_line.setData(x_line, p.velocity_at_load_m_s(x_line))
        self.mvt_line.setPos(p.mvt_m_s)
        self.mvt_label.setFormat(f"MVT {p.mvt_m_s:.2f} m/s")
        self.one_rm_point.setData([p.one_rm_kg], [p.mvt_m_s])
        self.one_rm_interval.setData(x=np.array([p.one_rm_kg]), y=np.array([p.mvt_m_s]),
                                     left=np.array([p.one_rm_kg - p.one_rm_low_kg]),
                                     right=np.array([p.one_rm_high_kg - p.one_rm_kg]), beam=0.03)
        self.one_rm_text.setText(f"1RM ≈ {p.one_rm_kg:.0f} kg")
        self.one_rm_text.setPos(p.one_rm_kg, p.mvt_m_s)
        for item in items:
            item.show()
        pi = self.profile_plot.getPlotItem()
        pi.setXRange(0.0, x_line[-1], padding=0.02)
        pi.setYRange(0.0, max(float(vel.max()) * 1.25, p.mvt_m_s * 2.0), padding=0)
        self.profile_text.setText("\n".join(describe(p)))

    def close_loader(self) -> None:
        self.loader.close()
