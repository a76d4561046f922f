"""The dashboard window: status banner, Live and History tabs, alerts, shortcuts, remembered settings.

Threads: the window and every widget live on the GUI thread. The worker (``gui.session``) reports
through ``gui.worker.SessionBridge``'s queued signals; slots only update the display state
(``gui.state.SetDisplay``) and the widgets, never wait. The rolling traces are redrawn by one
~60 FPS timer from the worker's ring buffer, and only while the Live tab is visible.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from datetime import datetime

import numpy as np
from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMessageBox,
                               QTabWidget, QVBoxLayout, QWidget)

from gui import theme
from gui.history_view import HistoryView
from gui.live_view import ControlsPanel, LiveView
from gui.session import DemoOptions, LiveSettings
from gui.sound import CuePlayer
from gui.state import ENDED, GOOD, RUNNING, STOP, WARNING, SetDisplay
from gui.summary import ImageSaver, SetInfo, SetSummaryCard
from gui.widgets import AlertOverlay, PaintMeter, StatusBanner
from gui.worker import SessionBridge

log = logging.getLogger(__name__)

ORGANIZATION = "vbt-tracker"
APPLICATION = "vbt"
FRAME_INTERVAL_MS = 16
READ_INTERVAL_S = 0.010
TRACE_WINDOW_S = 10.0

UNAVAILABLE_HEADLINES = {
    "busy": "PORT BUSY",
    "permission": "NO PERMISSION",
    "wrong_device": "WRONG DEVICE",
    "absent": "WAITING FOR THE TRANSDUCER",
    "no_answer": "NO ANSWER",
    "error": "PORT ERROR",
}


def default_settings() -> QSettings:
    return QSettings(ORGANIZATION, APPLICATION)


def _bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


class MainWindow(QMainWindow):
    """The whole dashboard.

    Parameters
    ----------
    settings
        Where settings and window state are kept (tests pass an ini file of their own).
    home
        History directory (None: the default, ``VBT_HOME``...).
    record
        Record the live sets into the history.
    ask_demo
        When no transducer is found, offer the demo in a dialog.
    cue_player
        Sound cues (tests pass one with no player, to count what would have played).
    """

    def __init__(self, settings: QSettings | None = None, *, home=None, record: bool = True, ask_demo: bool = True,
                 cue_player: CuePlayer | None = None):
        super().__init__()
        self.qsettings = settings if settings is not None else default_settings()
        self.home = home
        self.record = record
        self.ask_demo = ask_demo
        self.demo_mode = False
        self._demo_prompt: QMessageBox | None = None
        self._demo_offered = False
        self.port_picker: QInputDialog | None = None  # shown when several transducers answer
        self._port_choices: list = []
        self.setWindowTitle("VBT tracker")
        self.bridge = SessionBridge(self)
        self.cues = cue_player or CuePlayer(fallback=lambda _name: QApplication.beep())
        self.cues.prepare()  # WAVs written in the background, before the first cue
        self.saver = ImageSaver(self)
        self.saver.saved.connect(lambda p: self.show_message(f"saved {p}"))
        self.saver.failed.connect(self.show_message)
        self.display = SetDisplay()
        self._set_infos: dict[int, SetInfo] = {}  # set_seq -> what was set when it ended
        self._set_ids: dict[int, int] = {}  # set_seq -> history id
        self._shown_seq: int | None = None  # the set whose end panel is shown
        self._connected = False
        self._device_text = ""
        self._trace_written = -1
        self.frame_meter = PaintMeter(8192)
        self.rep_latencies_s: list[float] = []
        self.redraw_every_frame = False  # True: redraw the traces on every tick, even sub-pixel moves
        self._pending_latency: tuple[object, float] | None = None
        self.stop_alerts: list[int] = []  # rep indices at which the stop alert fired (tests, log)
        self.day_alerts: list = []  # DayVerdicts of the day_done alerts shown (tests, log)
        self.tempo_misses: list[int] = []  # reps of the current set that missed their tempo
        self._applied = None  # the LiveSettings last accepted (restored when an edit is refused)
        self.warning_cues: list[int] = []

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.banner = StatusBanner()
        self.banner.action_clicked.connect(self._banner_action)
        outer.addWidget(self.banner)
        self.storage_banner = StatusBanner()  # shown only while the history cannot be written
        self.storage_banner.hide()
        outer.addWidget(self.storage_banner)
        self.line_error_label = QLabel("")
        self.statusBar().addPermanentWidget(self.line_error_label)
        self.tabs = QTabWidget()
        live_page = QWidget()
        row = QHBoxLayout(live_page)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.live = LiveView()
        self.controls = ControlsPanel()
        row.addWidget(self.live, 1)
        row.addWidget(self.controls, 0)
        self.tabs.addTab(live_page, "Live")
        self.history = HistoryView(home)
        self.tabs.addTab(self.history, "History")
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.overlay = AlertOverlay(central)
        # Whoever switches tabs has seen the alert: it must not cover the history view.
        self.tabs.currentChanged.connect(lambda _index: self.overlay.dismiss())
        self.statusBar().setStyleSheet(f"font-size: 15px; color: {theme.MUTED};")

        self.live.setFocusPolicy(Qt.ClickFocus)  # click the live area to leave a text field: keys act again
        self.live.setFocus()
        self._load_settings()
        self._connect()
        self._shortcuts()
        self._show_waiting()
        if self.record:
            self.history.load_lists()  # athletes and exercises (user-added ones too) for the set controls

        self.frame_timer = QTimer(self)
        self.frame_timer.setTimerType(Qt.PreciseTimer)
        self.frame_timer.setInterval(FRAME_INTERVAL_MS)
        self.frame_timer.timeout.connect(self._on_frame)
        self.frame_timer.start()
        self.shown_at_s: float | None = None
        self.first_paint_s: float | None = None
        self.on_first_paint = None  # called once when the window's content has been painted

    # ---- wiring --------------------------------------------------------------------------------
    def _connect(self) -> None:
        b = self.bridge
        b.rep_completed.connect(self._on_rep)
        b.warning.connect(self._on_warning)
        b.stop.connect(self._on_stop)
        b.set_ended.connect(self._on_set_ended)
        b.day_done.connect(self._on_day_done)
        b.tempo_miss.connect(self._on_tempo_miss)
        b.set_saved.connect(self._on_set_saved)
        b.device_connected.connect(self._on_device_connected)
        b.device_lost.connect(self._on_device_lost)
        b.device_unavailable.connect(self._on_device_unavailable)
        b.no_device.connect(self._on_no_device)
        b.choose_port.connect(self._on_choose_port)
        b.health.connect(self._on_health)
        b.status.connect(self._on_status)
        b.error.connect(lambda ev: self.show_message(str(ev.payload), 15000))
        b.demo_started.connect(self._on_demo_started)
        b.history_changed.connect(lambda _ev: self.history.mark_stale())
        b.storage_failed.connect(self._on_storage_failed)
        b.storage_recovered.connect(self._on_storage_recovered)
        b.line_errors.connect(self._on_line_errors)
        c = self.controls
        c.settings_changed.connect(self._on_settings_changed)
        c.alerts_changed.connect(self._on_alerts_changed)
        c.end_set_clicked.connect(self.end_or_next_set)
        c.next_set_clicked.connect(self.next_set)
        c.mute_toggled.connect(self.set_muted)
        c.save_clicked.connect(self.save_summary)
        self.history.lists_loaded.connect(self._on_lists)
        self.live.end_panel.annotated.connect(self._on_annotated)
        self.live.end_panel.save_requested.connect(self.save_summary)

    def _shortcuts(self) -> None:
        def add(key, slot):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.WindowShortcut)
            sc.activated.connect(slot)
            return sc

        self.shortcuts = {
            "end_or_next": add(Qt.Key_Space, self.end_or_next_set),
            "next": add(Qt.Key_N, self.next_set),
            "mute": add(Qt.Key_M, lambda: self.controls.mute_button.toggle()),
            "save": add(QKeySequence.Save, self.save_summary),
            "fullscreen": add(Qt.Key_F11, self._toggle_fullscreen),
            "dismiss": add(Qt.Key_Escape, self.overlay.dismiss),
            "live": add("Ctrl+1", lambda: self.tabs.setCurrentIndex(0)),
            "history": add("Ctrl+2", lambda: self.tabs.setCurrentIndex(1)),
        }
        for i in range(1, 11):  # RPE with the number keys after a set (0 = 10)
            add(str(i % 10), lambda i=i: self._rpe_key(i))

    # ---- the session ---------------------------------------------------------------------------
    def start_session(self, *, port: str = "auto", protocol: str = "auto", demo: DemoOptions | None = None,
                      reader_options: dict | None = None) -> None:
        """Start the worker: the demo transducer, a named port, or discovery ("auto")."""
        self.demo_mode = demo is not None
        # The reader wakes every 10 ms rather than 5: half the wake-ups of the reader and the tracker
        # thread for at most 5 ms more before a rep is decided; the screen runs at 16 ms anyway.
        reader_options = {"min_read_interval_s": READ_INTERVAL_S, **(reader_options or {})}
        self.bridge.start(port=port, protocol=protocol, demo=demo, home=self.home, record=self.record,
                          settings=self.controls.settings(), reader_options=reader_options)

    @property
    def session(self):
        return self.bridge.session

    def shutdown(self) -> None:
        """Stop the worker, finish pending writes; idempotent."""
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        self.frame_timer.stop()
        self.overlay.dismiss()
        if self._demo_prompt is not None:
            self._demo_prompt.close()
        if self.port_picker is not None:
            self.port_picker.close()
        self.bridge.shutdown()
        self.history.close_loader()
        self.saver.join()
        self.cues.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        self._save_settings()
        self.shutdown()
        super().closeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.shown_at_s is None:
            self.shown_at_s = time.perf_counter()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.overlay.resize_to_parent()

    # ---- settings ------------------------------------------------------------------------------
    def _load_settings(self) -> None:
        q = self.qsettings
        d = LiveSettings()

        def num(key, default):
            v = q.value(key)
            try:
                return float(v) if v not in (None, "") else default
            except (TypeError, ValueError):
                return default

        load = num("set/load_kg", 0.0)
        s = LiveSettings(
            athlete=str(q.value("set/athlete", d.athlete)),
            exercise=str(q.value("set/exercise", d.exercise)),
            load_kg=load or None,
            side=str(q.value("set/side", d.side)),
            threshold_pct=num("rule/threshold_pct", d.threshold_pct),
            metric=str(q.value("rule/metric", d.metric)),
            warning_margin_pct=num("rule/warning_margin_pct", d.warning_margin_pct),
            set_end_stillness_s=num("rule/set_end_stillness_s", d.set_end_stillness_s),
            auto_end=_bool(q.value("rule/auto_end"), d.auto_end),
            grace_rep=_bool(q.value("rule/grace_rep"), d.grace_rep),
            tempo=str(q.value("method/tempo", d.tempo) or ""),
            tempo_margin_s=num("method/tempo_margin_s", d.tempo_margin_s),
            warmup_below_kg=num("method/warmup_below_kg", 0.0) or None,
            day_floor_pct=num("method/day_floor_pct", d.day_floor_pct),
        )
        if s.validate():
            log.warning("stored settings ignored: %s", "; ".join(s.validate()))
            s = d
        self.controls.set_settings(s)
        self._applied = s
        self.controls.stop_alert.setChecked(_bool(q.value("alerts/stop"), True))
        self.controls.day_alert.setChecked(_bool(q.value("alerts/day"), True))
        self.controls.tempo_cue.setChecked(_bool(q.value("alerts/tempo"), True))
        self.controls.warning_cue.setChecked(_bool(q.value("alerts/warning"), True))
        self.controls.sound.setChecked(_bool(q.value("alerts/sound"), True))
        self.controls.sound_method.setText(f"sound via {self.cues.method}")
        self.display.configure(threshold_pct=s.threshold_pct, warning_margin_pct=s.warning_margin_pct, metric=s.metric)
        self.summary_dir = str(q.value("summary/dir", "") or "") or os.path.join(
            QStandardPaths.writableLocation(QStandardPaths.PicturesLocation) or os.path.expanduser("~"), "vbt")
        geometry = q.value("window/geometry")
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 900)
        state = q.value("window/state")
        if state:
            self.restoreState(state)
        self._on_alerts_changed()

    def _save_settings(self) -> None:
        q = self.qsettings
        s = self.controls.settings()
        q.setValue("set/athlete", s.athlete)
        q.setValue("set/exercise", s.exercise)
        q.setValue("set/load_kg", s.load_kg or 0.0)
        q.setValue("set/side", s.side)
        q.setValue("rule/threshold_pct", s.threshold_pct)
        q.setValue("rule/metric", s.metric)
        q.setValue("rule/warning_margin_pct", s.warning_margin_pct)
        q.setValue("rule/set_end_stillness_s", s.set_end_stillness_s)
        q.setValue("rule/auto_end", s.auto_end)
        q.setValue("rule/grace_rep", s.grace_rep)
        q.setValue("method/tempo", s.tempo)
        q.setValue("method/tempo_margin_s", s.tempo_margin_s)
        q.setValue("method/warmup_below_kg", s.warmup_below_kg or 0.0)
        q.setValue("method/day_floor_pct", s.day_floor_pct)
        q.setValue("alerts/day", self.controls.day_alert.isChecked())
        q.setValue("alerts/tempo", self.controls.tempo_cue.isChecked())
        q.setValue("alerts/stop", self.controls.stop_alert.isChecked())
        q.setValue("alerts/warning", self.controls.warning_cue.isChecked())
        q.setValue("alerts/sound", self.controls.sound.isChecked())
        q.setValue("window/geometry", self.saveGeometry())
        q.setValue("window/state", self.saveState())
        q.sync()

    def _on_settings_changed(self, s: LiveSettings) -> None:
        problems = s.validate()
        if problems:
            self.show_message("; ".join(problems))
            if self._applied is not None:  # the field shows what is in force, nothing changed
                self.controls.set_settings(self._applied)
            return
        self._applied = s
        self.display.configure(threshold_pct=s.threshold_pct, warning_margin_pct=s.warning_margin_pct, metric=s.metric)
        if self.session is not None:
            self.session.configure(s)
        running = self.display.phase == RUNNING
        self.controls.pending_hint.setText("Rule changes apply from the next set." if running else "")
        self._refresh_tiles()

    def _on_alerts_changed(self) -> None:
        self.cues.muted = not self.controls.sound.isChecked() or self.controls.mute_button.isChecked()

    def set_muted(self, muted: bool) -> None:
        self._on_alerts_changed()
        self.controls.mute_button.setText("Muted  [M]" if muted else "Mute  [M]")
        self.show_message("sound muted" if muted else "sound on", 3000)

    # ---- set flow ------------------------------------------------------------------------------
    def end_or_next_set(self) -> None:
        """Space: end the set now if one is running, otherwise get ready for the next one."""
        if self.display.phase == RUNNING:
            if self.session is not None:
                self.session.end_set("manual")
        else:
            self.next_set()

    def next_set(self) -> None:
        """End the set (if running) and clear the screen for the next one: a new set resets the best."""
        if self.display.phase == RUNNING and self.session is not None:
            self.session.end_set("manual")
        self.display.new_set()
        self.overlay.dismiss()
        self.live.day_banner.hide()
        self.tempo_misses = []
        self.live.end_panel.hide()
        self._shown_seq = None
        self.controls.pending_hint.setText("")
        self._show_waiting()

    def _show_waiting(self) -> None:
        v = self.live
        v.velocity.set_caption(f"set {self.display.set_number} · {self.display.metric_label}")
        v.velocity.set_value("–", theme.MUTED, footer="waiting for the first rep")
        v.velocity.set_background(None)
        v.velocity.set_border(None)
        self._refresh_tiles()

    def _refresh_tiles(self) -> None:
        d, v = self.display, self.live
        v.reps.set_caption(f"reps · set {d.set_number}")
        v.reps.set_value(str(d.n_reps))
        loss = d.loss_pct
        level = d.last.level if d.last is not None else GOOD
        v.loss.set_value(f"{loss:.1f}" if loss is not None else "–", theme.level_colour(level) if loss else theme.TEXT)
        best = d.best_velocity_m_s
        v.best.set_caption(f"best · {d.metric_label}")
        v.best.set_value(f"{best:.2f}" if best is not None else "–", theme.TEXT,
                         footer=f"rep {d.best_index}" if best is not None else "")
        thr = d.threshold_velocity_m_s
        v.stop_at.set_caption("stop line")
        v.stop_at.set_value(f"{thr:.2f}" if thr is not None else "–", theme.STOP if thr is not None else theme.TEXT,
                            footer=f"−{d.threshold_pct:g} % of best")
        v.bars.show_reps([r.velocity_m_s for r in d.reps], [r.level for r in d.reps], best, thr, d.threshold_pct,
                         tempo_marks=self.tempo_misses)

    def _on_rep(self, ev) -> None:
        action = self.display.apply(ev.payload)
        if action == "new_set":  # the first rep of a set after the last one ended
            self.overlay.dismiss()
            self.live.day_banner.hide()
            self.tempo_misses = []
            self.live.end_panel.hide()
            self._shown_seq = None
            self.controls.pending_hint.setText("")
        d = self.display
        last = d.last
        tile = self.live.velocity
        tile.set_caption(f"last rep · {d.metric_label} · set {d.set_number}")
        if d.alert == STOP:
            footer = f"STOP · rep {d.stop_index} crossed −{d.threshold_pct:g} %"
        elif last.level == WARNING:
            footer = f"rep {last.index} · close to the limit"
        elif last.index == d.best_index:
            footer = f"rep {last.index} · best so far"
        else:
            footer = f"rep {last.index}"
        rep = getattr(ev.payload, "rep", None)
        if rep is not None and rep.doubtful:
            footer = f"check rep {rep.index}: {rep.quality}"
        tile.set_value(f"{last.velocity_m_s:.2f}", theme.level_colour(last.level), footer=footer, token=ev)
        tile.set_background(theme.STOP_DARK if d.alert == STOP else None)
        tile.set_border(theme.WARNING if last.level == WARNING else (theme.STOP if d.alert == STOP else None))
        if self.isVisible():
            tile.repaint()  # the number first, now (about a millisecond); the rest on the next pass
        self._refresh_tiles()
        self._pending_latency = (ev, ev.emitted_s)
        log.info("rep %d: %.3f m/s %s, loss %s", last.index, last.velocity_m_s, d.metric_label,
                 "–" if last.loss_pct is None else f"{last.loss_pct:.1f} %")

    def _on_warning(self, ev) -> None:
        self.display.apply(ev.payload)
        self.warning_cues.append(ev.payload.index)
        if self.controls.warning_cue.isChecked():
            self.cues.play("warning")
            self.live.velocity.set_border(theme.WARNING, 10)

    def _on_stop(self, ev) -> None:
        first = self.display.apply(ev.payload) == "stop"
        if not first:
            return
        p = ev.payload
        self.stop_alerts.append(p.index)
        log.info("STOP at rep %d: velocity loss %.1f %% (limit %g %%)", p.index, p.velocity_loss_pct, p.threshold_pct)
        tile = self.live.velocity
        tile.set_background(theme.STOP_DARK)
        tile.set_border(theme.STOP, 10)
        tile.set_value(tile.value(), theme.TEXT, footer=f"STOP · rep {p.index} · −{p.velocity_loss_pct:.1f} %")
        if self.controls.stop_alert.isChecked():
            self.overlay.show_alert("STOP", f"−{p.velocity_loss_pct:.1f} % velocity loss · rep {p.index}")
            self.cues.play("stop")
            QApplication.alert(self, 3000)  # the task bar entry flashes too, if the window is behind others

    def _on_tempo_miss(self, ev) -> None:
        p = ev.payload  # a rep of the set on screen: its rep event came just before
        self.tempo_misses.append(p.index)
        log.info("tempo: rep %d too fast: %s", p.index, p.reason)
        self._refresh_tiles()
        tile = self.live.velocity
        tile.set_value(tile.value(), None, footer=f"rep {p.index} · TEMPO: {p.reason}", token=tile.token)
        if self.controls.tempo_cue.isChecked():
            self.cues.play("tempo")

    def _on_day_done(self, ev) -> None:
        p = ev.payload
        v = p.verdict
        self.day_alerts.append(v)
        log.info("done for the day with %s: %s", p.exercise, v.reason)
        if not self.controls.day_alert.isChecked():
            return
        self.live.day_banner.show_verdict(p.exercise, v)
        self.cues.play("day_done")
        QApplication.alert(self, 3000)

    def _on_set_ended(self, ev) -> None:
        action = self.display.apply(ev.payload)
        if action != "set_ended":
            return  # the screen was already cleared for the next set
        d = self.display
        s = self.controls.settings()
        self._set_infos[ev.set_seq] = SetInfo(d.set_number, s.athlete, s.exercise, s.load_kg, s.side,
                                              ev.payload.reason, when=datetime.now(),
                                              warning_margin_pct=s.warning_margin_pct)
        self._shown_seq = ev.set_seq
        r = ev.payload.result
        method = []
        tempo, day = getattr(ev.payload, "tempo", None), getattr(ev.payload, "day", None)
        if tempo is not None:
            method.append(f"tempo {tempo.tempo.label()}: {tempo.kept} of {tempo.judged} reps kept")
        if day is not None and day.basis == "warmup":
            method.append("warm-up")
        elif day is not None and day.ratio_pct is not None:
            method.append(f"{day.ratio_pct:.0f} % of the day's best" + (" · DONE FOR TODAY" if day.done else ""))
        self._set_infos[ev.set_seq] = replace(self._set_infos[ev.set_seq], method=" · ".join(method),
                                               tempo_marks=tuple(self.tempo_misses))
        best = d.best_velocity_m_s
        stop = f"stopped at rep {r.stop_rep}" if r.stop_rep else "limit not reached"
        reason = {"stillness": "bar still", "manual": "ended by hand", "velocity_loss": "ended at the stop",
                  "end_of_stream": "end of stream", "closed": "closed"}.get(ev.payload.reason, ev.payload.reason)
        loss = d.max_loss_pct
        self.live.end_panel.show_set(
            f"Set {d.set_number} done ({reason}): {len(r.reps)} reps · best {best:.2f} · "
            f"max loss {0.0 if loss is None else loss:.1f} % · {stop}" + "".join(f" · {m}" for m in method))
        self.live.velocity.set_value(self.live.velocity.value(), None,
                                     footer=f"set {d.set_number} done · {len(r.reps)} reps · Space for the next")
        self.controls.pending_hint.setText("")

    def _on_set_saved(self, ev) -> None:
        self._set_ids[ev.set_seq] = ev.payload
        self.history.mark_stale()

    def _on_lists(self, athletes, exercises) -> None:
        if exercises:
            self.controls.set_exercises(exercises)
        names = list(dict.fromkeys([self.controls.athlete.currentText(), *athletes]))
        self.controls.set_athletes([n for n in names if n])

    def _on_annotated(self, rpe, note: str) -> None:
        seq = self._shown_seq
        if seq is None:
            return
        info = self._set_infos.get(seq)
        if info is not None:
            self._set_infos[seq] = replace(info, rpe=rpe, note=note)
        if self.session is not None:
            self.session.annotate(seq, rpe, note)
        self.history.mark_stale()

    def _rpe_key(self, rpe: int) -> None:
        if self.display.phase == ENDED and self.live.end_panel.isVisible():
            self.live.end_panel.set_rpe(rpe)

    def summary_card(self) -> SetSummaryCard | None:
        d = self.display
        if d.result is None or not d.result.reps:
            return None
        info = self._set_infos.get(self._shown_seq) if self._shown_seq is not None else None
        if info is None:
            s = self.controls.settings()
            info = SetInfo(d.set_number, s.athlete, s.exercise, s.load_kg, s.side, d.end_reason)
        panel = self.live.end_panel
        info = replace(info, rpe=panel.rpe, note=panel.note.text().strip())
        return SetSummaryCard(d.result, info)

    def save_summary(self, path: str | None = None) -> str | None:
        """Save the last finished set as a PNG (rendered here, written on a background thread)."""
        card = self.summary_card()
        if card is None:
            self.show_message("no finished set to save yet")
            return None
        if not path:
            info = self._set_infos.get(self._shown_seq)
            stamp = (info.when if info and info.when else datetime.now()).strftime("%Y%m%d-%H%M%S")
            ex = (info.exercise if info else "set").replace(" ", "-")
            path = os.path.join(self.summary_dir, f"set-{stamp}-{ex}.png")
        image = card.render_image()
        card.deleteLater()
        self.saver.save(image, path)
        return path

    # ---- device --------------------------------------------------------------------------------
    def _on_status(self, ev) -> None:
        if not self._connected:
            self.banner.set_mode(StatusBanner.INFO, f"{str(ev.payload).capitalize()}…")

    def _on_demo_started(self, ev) -> None:
        self.demo_mode = True
        self.banner.set_right("DEMO transducer")

    def _on_device_connected(self, ev) -> None:
        e = ev.payload
        self._connected = True
        self._device_text = (f"demo transducer ({e.protocol} protocol, emulated on a pty)" if self.demo_mode
                             else f"{e.protocol} transducer on {e.port}")
        d = e.device or {}
        if "firmware_version" in d:  # a native device's HELLO: which unit, which firmware
            self._device_text += f" · device {d['device_id']} · firmware {d['firmware_version']}"
        self._lost = False
        again = "Reconnected" if e.reconnect else "Connected"
        self.banner.set_mode(StatusBanner.OK, f"● {again} · {self._device_text}")
        if self._demo_prompt is not None:
            self._demo_prompt.close()
        if self.port_picker is not None:
            self.port_picker.close()

    def _on_device_lost(self, ev) -> None:
        self._connected = False
        self._lost = True
        e = ev.payload
        self.banner.set_mode(StatusBanner.LOUD, "DEVICE LOST — check the cable",
                             f"{e.reason}. Reconnecting… the set in progress is kept.")
        log.warning("device lost on %s: %s", e.port, e.reason)

    def _on_device_unavailable(self, ev) -> None:
        e = ev.payload
        if self._connected:
            return  # a stale report about a port we are no longer using
        headline = UNAVAILABLE_HEADLINES.get(e.kind, "PORT PROBLEM")
        if getattr(self, "_lost", False):  # still lost: stay loud, say what the retries find
            self.banner.set_mode(StatusBanner.LOUD, "DEVICE LOST — check the cable",
                                 f"Reconnecting… ({e.reason}); the set in progress is kept.")
            return
        loud = e.kind in ("busy", "permission", "wrong_device", "error")
        self.banner.set_mode(StatusBanner.LOUD if loud else StatusBanner.INFO, headline, e.reason)

    def _on_no_device(self, ev) -> None:
        msg = str(ev.payload)
        first = msg.splitlines()[0] if msg else "no transducer found"
        self.banner.set_mode(StatusBanner.INFO, "No transducer found — plug it in (still looking)", first,
                             action="demo", action_text="Start the demo")
        if self.ask_demo and not self._demo_offered:
            self._demo_offered = True
            box = QMessageBox(QMessageBox.Question, "No transducer found",
                              "No transducer was found.\n\nRun the built-in demo transducer instead? "
                              "It goes through the same reader and analysis as real hardware.", parent=self)
            box.setDetailedText(msg)
            box.setStandardButtons(QMessageBox.Yes | QMessageBox.No)
            box.finished.connect(self._demo_answer)
            self._demo_prompt = box
            box.open()

    def _demo_answer(self, result: int) -> None:
        box, self._demo_prompt = self._demo_prompt, None
        if box is not None and box.standardButton(box.clickedButton()) == QMessageBox.Yes:
            self.start_demo()

    def start_demo(self) -> None:
        if self.session is not None:
            self.session.start_demo(DemoOptions())
            self.banner.set_mode(StatusBanner.INFO, "Starting the demo transducer…")

    def _on_choose_port(self, ev) -> None:
        """Several transducers answered: name each (port, protocol, device id, firmware) and let the
        person choose; nothing is opened until they do."""
        self._port_choices = list(ev.payload)
        self.banner.set_mode(StatusBanner.INFO, f"{len(self._port_choices)} transducers found — choose one",
                             "; ".join(r.label() for r in self._port_choices), action="choose",
                             action_text="Choose…")
        self._open_port_picker()

    def _open_port_picker(self) -> None:
        if not self._port_choices or (self.port_picker is not None and self.port_picker.isVisible()):
            return
        box = QInputDialog(self)
        box.setWindowTitle("Choose the transducer")
        box.setLabelText("Several transducers answered. Which one is on the bar?")
        box.setComboBoxItems([r.label() for r in self._port_choices])
        box.setComboBoxEditable(False)
        box.setOkButtonText("Use this one")
        box.textValueSelected.connect(self._port_chosen)
        self.port_picker = box
        box.open()

    def _port_chosen(self, label: str) -> None:
        chosen = next((r for r in self._port_choices if r.label() == label), None)
        if chosen is None or self.session is None:
            return
        self.session.open_port(chosen.port.device, chosen.protocol or "auto")
        self.banner.set_mode(StatusBanner.INFO, f"Opening {chosen.port.device}…")

    def _banner_action(self, action: str) -> None:
        if action == "demo":
            self.start_demo()
        elif action == "choose":
            self._open_port_picker()

    def _on_health(self, ev) -> None:
        h = ev.payload
        errors = h.frames_lost + h.checksum_errors + h.bad_frames + h.implausible
        text = f"{h.sample_rate_hz:,.0f} Hz · {errors} errors"
        if h.losses:
            text += f" · {h.losses} drop-outs"
        if self.demo_mode:
            text += " · DEMO"
        self.banner.set_right(text)
        self.health = h

    # ---- drawing --------------------------------------------------------------------------------
    def _on_frame(self) -> None:
        t0 = time.perf_counter()
        if self.first_paint_s is None and self.live.velocity.meter.n:
            self.first_paint_s = self.live.velocity.meter.last_end_s
            if self.on_first_paint is not None:
                self.on_first_paint()
        pending = self._pending_latency
        if pending is not None and self.live.velocity.painted_token is pending[0]:
            self.rep_latencies_s.append(self.live.velocity.meter.last_end_s - pending[1])
            self._pending_latency = None
        session = self.session
        if session is None or self.tabs.currentIndex() != 0 or not self.isVisible():
            return
        ring = session.trace
        written = ring.written
        if written == self._trace_written:
            return
        traces = self.live.traces
        newest = ring.latest(1)[0]
        if not self.redraw_every_frame and newest.size and traces.drawn_t_s is not None and \
                0.0 <= newest[0] - traces.drawn_t_s < traces.seconds_per_pixel():
            return  # the curves would move by less than a pixel: this frame changes nothing visible
        self._trace_written = written
        data = ring.latest()
        t = data[0]
        if t.size:
            k = int(np.searchsorted(t, t[-1] - TRACE_WINDOW_S))
            self.live.traces.show_window(t[k:], data[1, k:], data[2, k:])
        self.frame_meter.add(t0, time.perf_counter())

    def _on_storage_failed(self, ev) -> None:
        self.storage_banner.set_mode(StatusBanner.LOUD, "HISTORY NOT SAVING — reps are kept until it works again",
                                     str(ev.payload))
        self.storage_banner.show()
        log.warning("%s", ev.payload)

    def _on_storage_recovered(self, ev) -> None:
        self.storage_banner.hide()
        self.show_message(str(ev.payload), 15000)

    def _on_line_errors(self, ev) -> None:
        self.line_error_label.setText(f"line errors: {ev.payload.total}")

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        log.info("%s", text)
        self.statusBar().showMessage(text, timeout_ms)

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()
