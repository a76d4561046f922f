"""The dashboard window: status banner, Live and History tabs, alerts, shortcuts, remembered settings.

Threads: the window and every widget live on the GUI thread. The worker (``gui.session``) reports
through ``gui.worker.SessionBridge``'s queued signals; slots only update the display state
(``gui.state.SetDisplay``) and the widgets, never wait. The rolling traces are redrawn by one
~60 FPS timer from the worker's ring buffer, and only while the Live tab is visible.

This module lays the window out, wires the signals, the shortcuts and the worker; the window's
other parts live in modules of their own, mixed into :class:`MainWindow`:
``gui.window_settings`` (remembered settings), ``gui.set_flow`` (the set's events on screen, ending a
set), ``gui.summary_saving`` (the PNG summary), ``gui.device_status`` (the banners' device and
history text, the port picker, the demo offer) and ``gui.trace_frames`` (the frame timer and the
benchmarks' instrumentation).
"""

from __future__ import annotations

import logging
import time

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMessageBox,
                               QTabWidget, QVBoxLayout, QWidget)

from gui import gc_thread, theme
from gui.device_status import DeviceStatusMixin
from gui.history_view import HistoryView
from gui.live_view import ControlsPanel, LiveView
from gui.method_cards import MethodCards
from gui.session import DemoOptions
from gui.set_flow import SetFlowMixin
from gui.sound import CuePlayer
from gui.state import SetDisplay
from gui.summary import ImageSaver, SetInfo
from gui.summary_saving import SummarySavingMixin
from gui.trace_frames import FRAME_INTERVAL_MS, TraceFramesMixin
from gui.widgets import AlertOverlay, PaintMeter, StatusBanner
from gui.window_settings import SettingsMixin, default_settings
from gui.worker import SessionBridge

log = logging.getLogger(__name__)

READ_INTERVAL_S = 0.010


class MainWindow(SettingsMixin, SetFlowMixin, SummarySavingMixin, DeviceStatusMixin,
                 TraceFramesMixin, QMainWindow):
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
        gc_thread.keep_on_gui_thread()  # worker threads must not destroy Qt objects (gui/gc_thread.py)
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
        # True: while hidden, the rep bars and small tiles are not redrawn on every event, only when
        # shown again (the rack overview keeps one hidden window per rack; see gui.racks)
        self.lazy_when_hidden = False
        self._tiles_stale = False

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
        self.method_cards = MethodCards(self)  # side gap, retest reminder, Share (gui/method_cards.py)
        if self.record:
            self.history.load_lists()  # athletes and exercises (user-added ones too) for the set controls
            self.method_cards.check_retests(self.controls.settings().athlete)

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
        b.rep.connect(self._on_rep)
        b.rep_revised.connect(self._on_rep)
        b.warning.connect(self._on_warning)
        b.stop.connect(self._on_stop)
        b.set_end.connect(self._on_set_end)
        b.day_done.connect(self._on_day_done)
        b.tempo_miss.connect(self._on_tempo_miss)
        b.plan_changed.connect(self._on_plan_changed)
        b.set_saved.connect(self._on_set_saved)
        b.device_connected.connect(self._on_device_connected)
        b.device_lost.connect(self._on_device_lost)
        b.device_unavailable.connect(self._on_device_unavailable)
        b.no_device.connect(self._on_no_device)
        b.choose_port.connect(self._on_choose_port)
        b.health.connect(self._on_health)
        b.status.connect(self._on_status)
        b.error.connect(lambda ev: self.show_message(ev.payload.message, 15000))
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

    def _on_plan_changed(self, ev) -> None:
        """Today's week of the athlete's plan and the exercise's zone: the legend shows them, and with
        "Plan sets the limit" ticked the block's velocity-loss limit goes into force."""
        self.controls.apply_plan_limit(ev.payload.week)
        self.live.zone_legend.show_plan(ev.payload.week, ev.payload.zone)

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
        if self._tiles_stale:
            self._refresh_tiles()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.overlay.resize_to_parent()

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        log.info("%s", text)
        self.statusBar().showMessage(text, timeout_ms)

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()
