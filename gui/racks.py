"""The weight room: several racks, each with its own transducer, athlete and exercise, in one window.

A rack is one transducer (a serial port, or an emulated device) with an athlete and an exercise.
Each rack is a whole single-rack dashboard (``gui.main_window.MainWindow``, embedded, not shown):
its own worker (``gui.session.DashboardBackend``: discovery retries, the reader, the tracker and the
history recorder, in a process of its own, see below), its own display state, recording into the
history with its athlete and exercise. The overview (:class:`RackWindow`) shows one tile per rack
(``gui.rack_tiles``); a click (or the rack's number key) opens that rack's dashboard full size,
exactly as ``vbt gui`` shows one rack, and "All racks" (Backspace) comes back.

A rack's cable pulled or its device gone changes only its tile ("DEVICE LOST", reconnecting); the
other racks' threads never wait on it. Racks are added (a port picker lists the transducers that
answer, and the emulated one) and removed while the others run.

Processes and threads: each rack's worker (reader, tracker, recorder, demo emulator) runs in a child
process of its own (``gui.rack_process.ProcessBackend``), so eight racks' threads do not share this
process's interpreter lock with the GUI thread; one receiving thread here passes every rack's events
to its own ``gui.worker.SessionBridge`` (queued signals, the same events as in ``vbt gui``). The
window, the tiles and every rack's widgets live on the GUI thread. The hidden racks' trace timers
are stopped and their trace is not shipped; only the rack opened full size gets and redraws its
traces. A rack's process that dies turns only its tile to "worker stopped". Every rack records into
the one SQLite history (WAL, busy timeouts: several writers wait for each other's commits).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QLabel, QMainWindow, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from gui import gc_thread, theme
from gui.main_window import MainWindow
from gui.rack_process import ProcessBackend
from gui.rack_tiles import (DEVICE_LOST, DEVICE_OK, DEVICE_PROBLEM, DEVICE_STARTING, DEVICE_STOPPED, DEVICE_WAITING,
                             RackGrid, TileState)
from gui.session import DemoOptions, LiveSettings
from gui.sound import CuePlayer
from gui.widgets import StatusBanner

log = logging.getLogger(__name__)

EMULATED = "emulated"  # the port of a rack whose transducer is the built-in emulator
DEMO_ATHLETES = ("Ana", "Ben", "Chloé", "Dan", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea",
                 "Max", "Nia", "Oli", "Pia", "Quin", "Rosa", "Sam", "Tea")
DEMO_EXERCISES = ("squat", "bench press", "deadlift", "squat")


@dataclass(frozen=True)
class RackSpec:
    """One rack: where its transducer is, who lifts and what.

    ``port`` is a device name or pyserial URL, ``"auto"`` (the one transducer that answers) or
    :data:`EMULATED` (the built-in emulated transducer, seeded by ``demo``).
    """

    port: str
    athlete: str
    exercise: str
    protocol: str = "auto"
    demo: DemoOptions | None = None
    settings: LiveSettings | None = None  # everything else about the set (default: LiveSettings())

    def live_settings(self) -> LiveSettings:
        from dataclasses import replace

        return replace(self.settings or LiveSettings(), athlete=self.athlete, exercise=self.exercise)


def demo_specs(n: int, first: int = 0) -> list[RackSpec]:
    """``n`` emulated racks for a demo: each its own seeded lifter, athlete and exercise."""
    return [RackSpec(EMULATED, DEMO_ATHLETES[(first + k) % len(DEMO_ATHLETES)],
                     DEMO_EXERCISES[(first + k) % len(DEMO_EXERCISES)], protocol="native",
                     demo=DemoOptions(protocol="native", seed=101 + first + k))
            for k in range(n)]


class Rack:
    """One rack: its spec, its (embedded, usually hidden) dashboard, and its tile's device state."""

    def __init__(self, name: str, spec: RackSpec, window: MainWindow):
        self.name = name
        self.spec = spec
        self.window = window
        self.device = DEVICE_STARTING
        self.device_text = "starting…"
        self.day_done = False

    @property
    def display(self):
        return self.window.display

    @property
    def session(self):
        return self.window.session

    def tile(self) -> TileState:
        s = self.window.controls.settings()
        return TileState.from_display(self.display, name=self.name, athlete=s.athlete, exercise=s.exercise,
                                      day_done=self.day_done, device=self.device, device_text=self.device_text)


class _Probe(QObject):
    """Discovery on a thread of its own (probing waits up to a second per port); the answer comes
    back as a queued signal."""

    done = Signal(object, object)  # reports, error text

    def start(self, skip: set[str]) -> None:
        def work():
            from firmware_bridge import discovery

            try:
                listed = [p for p in discovery.list_ports() if p.device not in skip]
                reports = discovery.discover(listed)
                self.done.emit([r for r in reports if r.is_transducer], None)
            except Exception as exc:  # noqa: BLE001 - a person sees the reason, the dialog stays usable
                self.done.emit([], str(exc))

        threading.Thread(target=work, name="vbt-rack-probe", daemon=True).start()


class AddRackDialog(QDialog):
    """Port (the transducers that answer, not already in a rack; or the emulated one), athlete and
    exercise of a new rack."""

    def __init__(self, parent, *, in_use: set[str], athletes: list[str], exercises: list[str]):
        super().__init__(parent)
        self.setWindowTitle("Add a rack")
        form = QFormLayout(self)
        self.port = QComboBox()
        self.port.addItem("emulated transducer (demo)", EMULATED)
        self.status = QLabel("looking for transducers…")
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        self.athlete = QComboBox()
        self.athlete.setEditable(True)
        self.athlete.addItems(athletes)
        self.athlete.setCurrentText("")
        self.athlete.lineEdit().setPlaceholderText("athlete's name")
        self.exercise = QComboBox()
        self.exercise.setEditable(True)
        self.exercise.addItems(exercises)
        form.addRow("Transducer", self.port)
        form.addRow("", self.status)
        form.addRow("Athlete", self.athlete)
        form.addRow("Exercise", self.exercise)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Add rack")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.problem = QLabel("")
        self.problem.setStyleSheet(f"color: {theme.STOP};")
        form.addRow(self.problem)
        form.addRow(self.buttons)
        self.reports: list = []
        self._probe = _Probe(self)
        self._probe.done.connect(self._found)
        self._probe.start(in_use)

    def _found(self, reports, error) -> None:
        self.reports = list(reports)
        for r in self.reports:
            self.port.addItem(r.label(), r)
        if error:
            self.status.setText(f"looking for transducers failed: {error}")
        elif self.reports:
            self.port.setCurrentIndex(1)
            self.status.setText(f"{len(self.reports)} free transducer(s) answered")
        else:
            self.status.setText("no free transducer answered (plug one in and add the rack again)")

    def spec(self) -> RackSpec:
        data = self.port.currentData()
        athlete, exercise = self.athlete.currentText().strip(), self.exercise.currentText().strip()
        if data == EMULATED:
            return RackSpec(EMULATED, athlete, exercise, protocol="native",
                            demo=DemoOptions(protocol="native", seed=200 + self.parent().rack_count()))
        return RackSpec(data.port.device, athlete, exercise, protocol=data.protocol or "auto")

    def _accept(self) -> None:
        problems = self.spec().live_settings().validate()
        if problems:
            self.problem.setText("; ".join(problems))
            return
        self.accept()


class RackWindow(QMainWindow):
    """The rack overview (a tile per rack) and one rack full size; see the module docstring.

    Parameters
    ----------
    home, record
        The history every rack records into (None: the default history).
    cue_player
        Sound cues, shared by the racks (tests pass one with no player).
    processes
        Each rack's worker in a child process of its own (the default); False: on threads of this
        process, as ``vbt gui`` runs one rack (the benchmark's comparison).
    """

    def __init__(self, *, home=None, record: bool = True, cue_player: CuePlayer | None = None,
                 processes: bool = True):
        super().__init__()
        gc_thread.keep_on_gui_thread()  # worker threads must not destroy Qt objects (gui/gc_thread.py)
        self.home = home
        self.record = record
        self.processes = processes
        self.setWindowTitle("VBT tracker — racks")
        self.cues = cue_player or CuePlayer(fallback=lambda _name: QApplication.beep())
        self.racks: list[Rack] = []
        self._settings_dir = tempfile.TemporaryDirectory(prefix="vbt-racks-")
        self._opened: Rack | None = None
        self._numbered = 0

        self.stack = QStackedWidget()
        overview = QWidget()
        col = QVBoxLayout(overview)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        bar = QHBoxLayout()
        bar.setContentsMargins(12, 8, 12, 0)
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-size: 22px; font-weight: 700;")
        bar.addWidget(self.summary, 1)
        hint = QLabel("click a rack (or its number) to open it")
        hint.setStyleSheet(f"color: {theme.MUTED};")
        bar.addWidget(hint)
        self.add_button = QPushButton("Add rack…")
        self.add_button.clicked.connect(self.ask_add_rack)
        bar.addWidget(self.add_button)
        col.addLayout(bar)
        self.grid = RackGrid()
        self.grid.opened.connect(lambda i: self.open_rack(i))
        col.addWidget(self.grid, 1)
        self.stack.addWidget(overview)
        self.overview = overview

        single = QWidget()
        scol = QVBoxLayout(single)
        scol.setContentsMargins(0, 0, 0, 0)
        scol.setSpacing(0)
        head = QHBoxLayout()
        head.setContentsMargins(8, 6, 8, 6)
        self.back_button = QPushButton("◀ All racks  [Backspace]")
        self.back_button.clicked.connect(self.show_overview)
        head.addWidget(self.back_button)
        self.rack_title = QLabel("")
        self.rack_title.setStyleSheet("font-size: 20px; font-weight: 700;")
        head.addWidget(self.rack_title, 1)
        self.remove_button = QPushButton("Remove this rack")
        self.remove_button.clicked.connect(lambda: self._opened is not None and self.remove_rack(self._opened))
        head.addWidget(self.remove_button)
        scol.addLayout(head)
        self.rack_stack = QStackedWidget()  # every rack's dashboard; the opened one is current
        scol.addWidget(self.rack_stack, 1)
        self.stack.addWidget(single)
        self.single = single
        self.setCentralWidget(self.stack)
        self.dialog: AddRackDialog | None = None

        def key(seq, slot, widget):
            sc = QShortcut(QKeySequence(seq), widget)
            sc.setContext(Qt.WidgetWithChildrenShortcut)  # only while that page is shown
            sc.activated.connect(slot)
            return sc

        self.shortcuts = {"back": key(Qt.Key_Backspace, self.show_overview, single),
                          "add": key("Ctrl+N", self.ask_add_rack, overview)}
        for i in range(1, 10):
            self.shortcuts[f"open{i}"] = key(str(i), lambda i=i: self.open_rack(i - 1), overview)
        fs = QShortcut(QKeySequence(Qt.Key_F11), self)
        fs.activated.connect(lambda: self.showNormal() if self.isFullScreen() else self.showFullScreen())
        self.shortcuts["fullscreen"] = fs
        self.resize(1600, 900)
        self._refresh_summary()

    # ---- racks -------------------------------------------------------------------------------
    def rack_count(self) -> int:
        return len(self.racks)

    def add_rack(self, spec: RackSpec, reader_options: dict | None = None) -> Rack:
        """Start a rack: its dashboard and worker (the worker opens the port or starts the emulator)."""
        problems = spec.live_settings().validate()
        if problems:
            raise ValueError("; ".join(problems))
        self._numbered += 1
        name = f"Rack {self._numbered}"
        ini = QSettings(os.path.join(self._settings_dir.name, f"rack-{self._numbered}.ini"), QSettings.IniFormat)
        win = MainWindow(ini, home=self.home, record=self.record, ask_demo=False, cue_player=self.cues)
        win.setWindowFlags(Qt.Widget)
        win.lazy_when_hidden = True
        win.shortcuts["fullscreen"].setEnabled(False)  # F11 is the rack window's
        win.frame_timer.stop()  # traces are drawn only for the rack opened full size
        win.controls.set_settings(spec.live_settings())
        win._applied = spec.live_settings()
        win._on_settings_changed(spec.live_settings())  # the display's rule and the set fields
        self.rack_stack.addWidget(win)
        rack = Rack(name, spec, win)
        self.racks.append(rack)
        self._wire(rack)
        self.grid.set_tiles([r.tile() for r in self.racks])
        if self.processes:
            win.bridge.backend_factory = ProcessBackend
        if spec.port == EMULATED:
            win.start_session(demo=spec.demo or DemoOptions(), reader_options=reader_options)
        else:
            win.start_session(port=spec.port, protocol=spec.protocol, reader_options=reader_options)
        self._refresh_summary()
        log.info("%s: %s, %s on %s", name, spec.athlete, spec.exercise, spec.port)
        return rack

    def remove_rack(self, rack: Rack) -> None:
        """Stop a rack (its set in progress is recorded) and take its tile away."""
        if rack not in self.racks:
            return
        if self._opened is rack:
            self.show_overview()
        self.racks.remove(rack)
        rack.window.shutdown()
        self.rack_stack.removeWidget(rack.window)
        rack.window.deleteLater()
        self.grid.set_tiles([r.tile() for r in self.racks])
        self._refresh_summary()

    def _wire(self, rack: Rack) -> None:
        b = rack.window.bridge
        b.rep.connect(lambda ev, r=rack: self._update(r, rep_emitted_s=ev.emitted_s))
        for sig in (b.rep_revised, b.stop, b.set_end, b.warning, b.tempo_miss):
            sig.connect(lambda _ev, r=rack: self._update(r))
        b.day_done.connect(lambda _ev, r=rack: self._day_done(r))
        b.device_connected.connect(lambda ev, r=rack: self._device(r, DEVICE_OK, ev))
        b.device_lost.connect(lambda ev, r=rack: self._device(r, DEVICE_LOST, ev))
        b.device_unavailable.connect(lambda ev, r=rack: self._device(r, DEVICE_PROBLEM, ev))
        b.no_device.connect(lambda ev, r=rack: self._device(r, DEVICE_WAITING, ev))
        b.choose_port.connect(lambda ev, r=rack: self._device(r, DEVICE_WAITING, ev))
        b.status.connect(lambda ev, r=rack: self._device(r, None, ev))
        b.worker_lost.connect(lambda ev, r=rack: self._worker_lost(r, ev))
        rack.window.controls.settings_changed.connect(lambda _s, r=rack: self._settings_changed(r))
        rack.window.controls.next_set_clicked.connect(lambda r=rack: self._update(r))
        rack.window.controls.end_set_clicked.connect(lambda r=rack: self._update(r))

    def _index(self, rack: Rack) -> int:
        try:
            return self.racks.index(rack)
        except ValueError:
            return -1

    def _update(self, rack: Rack, rep_emitted_s: float | None = None) -> None:
        i = self._index(rack)
        if i >= 0:
            self.grid.set_tile(i, rack.tile(), rep_emitted_s=rep_emitted_s)
            self._refresh_summary()

    def _day_done(self, rack: Rack) -> None:
        rack.day_done = True
        self._update(rack)

    def _settings_changed(self, rack: Rack) -> None:
        rack.day_done = False  # a new athlete or exercise starts its own day
        self._update(rack)

    def _device(self, rack: Rack, state: str | None, ev) -> None:
        if state is None:  # what the worker is doing, until the transducer answers
            if rack.device == DEVICE_OK or rack.device == DEVICE_LOST:
                return
            rack.device_text = f"{ev.payload.text}…"
        elif state == DEVICE_OK:
            e = ev.payload
            where = "emulated transducer" if rack.spec.port == EMULATED else f"{e.protocol} on {e.port}"
            rack.device_text = f"● {'reconnected' if e.reconnect else 'connected'} · {where}"
        elif state == DEVICE_LOST:
            rack.device_text = "check the cable · reconnecting · the set is kept"
        elif state == DEVICE_PROBLEM:
            if rack.device == DEVICE_OK:
                return  # a stale report about a port no longer used
            if rack.device == DEVICE_LOST:
                state = DEVICE_LOST  # still lost: stay loud
            else:
                rack.device_text = f"{ev.payload.reason}"
        elif state == DEVICE_WAITING:
            rack.device_text = ("several transducers — open the rack to choose" if ev.type == "choose_port"
                                else "no transducer found — still looking")
        if state is not None:
            rack.device = state
        self._update(rack)

    def _worker_lost(self, rack: Rack, ev) -> None:
        """The rack's worker process ended on its own: this rack records and counts nothing more."""
        rack.device = DEVICE_STOPPED
        rack.device_text = "rack stopped: its worker process ended · remove the rack and add it again"
        rack.window.banner.set_mode(StatusBanner.LOUD, "RACK STOPPED — its worker process ended",
                                    f"{ev.payload.message}. Remove this rack and add it again.")
        self._update(rack)

    def _refresh_summary(self) -> None:
        n = len(self.racks)
        lifting = sum(1 for r in self.racks if r.display.phase == "running")
        stops = sum(1 for r in self.racks if r.display.alert == "stop")
        lost = sum(1 for r in self.racks if r.device in (DEVICE_LOST, DEVICE_PROBLEM, DEVICE_STOPPED))
        parts = [f"{n} rack{'s' if n != 1 else ''}", f"{lifting} lifting"]
        if stops:
            parts.append(f"{stops} STOP")
        if lost:
            parts.append(f"{lost} device problem{'s' if lost != 1 else ''}")
        self.summary.setText(" · ".join(parts))

    # ---- pages -------------------------------------------------------------------------------
    def open_rack(self, i: int) -> None:
        """Show rack ``i`` full size (its whole dashboard: big number, traces, controls, history)."""
        if not 0 <= i < len(self.racks):
            return
        rack = self.racks[i]
        if self._opened is not None and self._opened is not rack:
            self._opened.window.frame_timer.stop()
            self._ship_trace(self._opened, False)
        self._opened = rack
        self._ship_trace(rack, True)
        if rack.display.phase == "ended":
            rack.window.overlay.dismiss()  # a STOP alert raised while the rack was a tile: its set is over
        s = rack.window.controls.settings()
        self.rack_title.setText(f"{rack.name} · {s.athlete} · {s.exercise}")
        self.rack_stack.setCurrentWidget(rack.window)
        self.stack.setCurrentWidget(self.single)
        rack.window._trace_written = -1  # draw the traces now, not only when new samples come
        rack.window.frame_timer.start()
        rack.window.live.setFocus()

    def show_overview(self) -> None:
        if self._opened is not None:
            self._opened.window.frame_timer.stop()
            self._ship_trace(self._opened, False)
            self._opened.window.overlay.dismiss()
            self._opened = None
        self.stack.setCurrentWidget(self.overview)
        self.grid.set_tiles([r.tile() for r in self.racks])  # settings edited in the rack's view, too
        self._refresh_summary()

    @staticmethod
    def _ship_trace(rack: Rack, on: bool) -> None:
        """Only the rack opened full size gets its rolling trace from its worker process."""
        ship = getattr(rack.session, "ship_trace", None)
        if ship is not None:
            ship(on)

    @property
    def opened(self) -> Rack | None:
        return self._opened

    def ask_add_rack(self) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            return
        in_use = {r.spec.port for r in self.racks}
        athletes = list(dict.fromkeys(r.window.controls.settings().athlete for r in self.racks))
        exercises = list(dict.fromkeys(["squat", "bench press", "deadlift",
                                        *(r.window.controls.settings().exercise for r in self.racks)]))
        box = AddRackDialog(self, in_use=in_use, athletes=athletes, exercises=exercises)
        box.accepted.connect(lambda: self._added(box))
        self.dialog = box
        box.open()

    def _added(self, box: AddRackDialog) -> None:
        try:
            self.add_rack(box.spec())
        except ValueError as exc:
            self.statusBar().showMessage(str(exc), 8000)

    # ---- lifetime ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every rack (sets in progress are recorded); idempotent."""
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        if self.dialog is not None:
            self.dialog.close()
        for rack in self.racks:
            rack.window.shutdown()
        self.cues.close()
        self._settings_dir.cleanup()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

