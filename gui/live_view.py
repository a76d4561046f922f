"""The live tab: the big number, the tiles, the rep bars, the rolling traces, the set controls and
the end-of-set panel. Widgets only; the main window decides what they show."""

from __future__ import annotations

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.session import LiveSettings
from gui.widgets import DayDoneBanner, RepBars, TracePlots, ValueTile
from gui.resistance_controls import ResistanceControls
from gui.zone_view import ZoneLegend
from vbt.config import METRIC_LABELS, METRICS
from vbt.exercises import BUILTIN_EXERCISES
from vbt.fields import SIDES


class LiveView(QWidget):
    """Tiles on top (velocity of the last rep, reps, loss, best, stop line), plots below."""

    def __init__(self, parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.day_banner = DayDoneBanner()
        outer.addWidget(self.day_banner, 0)
        grid = QGridLayout()
        outer.addLayout(grid, 1)
        grid.setContentsMargins(8, 8, 8, 8)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(8)
        self.velocity = ValueTile("last rep · MV", "–", unit="m/s", value_share=0.9)
        self.reps = ValueTile("reps", "0")
        self.loss = ValueTile("velocity loss", "–", unit="%")
        self.best = ValueTile("best", "–", unit="m/s")
        self.stop_at = ValueTile("stop below", "–", unit="m/s")
        small = QGridLayout()
        small.setSpacing(8)
        small.addWidget(self.reps, 0, 0)
        small.addWidget(self.loss, 0, 1)
        small.addWidget(self.best, 1, 0)
        small.addWidget(self.stop_at, 1, 1)
        self.bars = RepBars()
        self.traces = TracePlots()
        self.zone_legend = ZoneLegend()  # under the big number, when the athlete's plan gives a zone
        big = QVBoxLayout()
        big.setSpacing(4)
        big.addWidget(self.velocity, 1)
        big.addWidget(self.zone_legend, 0)
        grid.addLayout(big, 0, 0)
        grid.addLayout(small, 0, 1)
        grid.addWidget(self.bars, 1, 0)
        grid.addWidget(self.traces, 1, 1)
        self.end_panel = SetEndPanel()
        grid.addWidget(self.end_panel, 2, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(0, 5)
        grid.setRowStretch(1, 4)
        grid.setRowStretch(2, 0)
        self.end_panel.hide()


class SetEndPanel(QWidget):
    """After a set: what happened, RPE 1–10, a note, and "save as PNG"."""

    annotated = Signal(object, str)  # rpe (int or None), note
    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"SetEndPanel {{ background: {theme.PANEL}; border-top: 2px solid {theme.ACCENT}; }}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 6, 12, 8)
        outer.setSpacing(6)
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-size: 22px; font-weight: 700;")
        self.summary.setTextFormat(Qt.PlainText)
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        lay = QHBoxLayout()
        lay.setSpacing(6)
        outer.addLayout(lay)
        lay.addWidget(QLabel("RPE"))
        self.rpe_group = QButtonGroup(self)
        self.rpe_group.setExclusive(False)
        self.rpe_buttons = []
        for i in range(1, 11):
            b = QPushButton(str(i))
            b.setCheckable(True)
            b.setProperty("kind", "rpe")
            b.setFocusPolicy(Qt.NoFocus)
            self.rpe_group.addButton(b, i)
            self.rpe_buttons.append(b)
            lay.addWidget(b)
        self.rpe_group.idClicked.connect(self._rpe_clicked)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (Enter to keep)")
        self.note.setMinimumWidth(120)
        self.note.returnPressed.connect(self._note_done)
        lay.addWidget(self.note, 1)
        self.save = QPushButton("Save PNG")
        self.save.setFocusPolicy(Qt.NoFocus)
        self.save.clicked.connect(self.save_requested)
        lay.addWidget(self.save)
        self.rpe: int | None = None

    def show_set(self, text: str) -> None:
        self.summary.setText(text)
        self.rpe = None
        for b in self.rpe_buttons:
            b.setChecked(False)
        self.note.clear()
        self.show()

    def _rpe_clicked(self, rpe: int) -> None:
        if self.rpe == rpe:  # clicking the chosen value again clears it
            self.rpe = None
        else:
            self.rpe = rpe
        for b in self.rpe_buttons:
            b.setChecked(self.rpe is not None and self.rpe_group.id(b) == self.rpe)
        self.annotated.emit(self.rpe, self.note.text().strip())

    def _note_done(self) -> None:
        self.annotated.emit(self.rpe, self.note.text().strip())
        self.note.clearFocus()

    def set_rpe(self, rpe: int) -> None:
        """Choose an RPE as a click would (keyboard, tests)."""
        self._rpe_clicked(rpe)


class ControlsPanel(QScrollArea):
    """Set controls (athlete, exercise, load, side, rule) and alert options, with the action buttons."""

    settings_changed = Signal(object)  # LiveSettings
    alerts_changed = Signal()
    end_set_clicked = Signal()
    next_set_clicked = Signal()
    mute_toggled = Signal(bool)
    save_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.setSpacing(10)

        buttons = QGridLayout()
        self.end_button = QPushButton("End set  [Space]")
        self.end_button.setProperty("kind", "primary")
        self.next_button = QPushButton("Next set  [N]")
        self.mute_button = QPushButton("Mute  [M]")
        self.mute_button.setCheckable(True)
        self.save_button = QPushButton("Save PNG  [Ctrl+S]")
        for b in (self.end_button, self.next_button, self.mute_button, self.save_button):
            b.setFocusPolicy(Qt.NoFocus)
            b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        buttons.addWidget(self.end_button, 0, 0, 1, 2)
        buttons.addWidget(self.next_button, 1, 0)
        buttons.addWidget(self.mute_button, 1, 1)
        buttons.addWidget(self.save_button, 2, 0, 1, 2)
        outer.addLayout(buttons)
        self.end_button.clicked.connect(self.end_set_clicked)
        self.next_button.clicked.connect(self.next_set_clicked)
        self.mute_button.toggled.connect(self.mute_toggled)
        self.save_button.clicked.connect(self.save_clicked)

        box = QGroupBox("Set")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignRight)
        self.athlete = QComboBox()
        self.athlete.setEditable(True)
        self.athlete.setInsertPolicy(QComboBox.InsertAtTop)
        self.exercise = QComboBox()
        self.exercise.setEditable(False)
        for e in BUILTIN_EXERCISES:
            self.exercise.addItem(e.name)
        self.load = QDoubleSpinBox()
        self.load.setRange(0.0, 1000.0)
        self.load.setDecimals(1)
        self.load.setSingleStep(2.5)
        self.load.setSuffix(" kg")
        self.load.setSpecialValueText("no load")
        self.side = QComboBox()
        self.side.addItems(list(SIDES))
        for combo in (self.athlete, self.exercise, self.side):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        form.addRow("Athlete", self.athlete)
        form.addRow("Exercise", self.exercise)
        form.addRow("Load", self.load)
        form.addRow("Side", self.side)
        outer.addWidget(box)

        box = QGroupBox("Stop rule")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignRight)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(1.0, 60.0)
        self.threshold.setDecimals(0)
        self.threshold.setSingleStep(5.0)
        self.threshold.setSuffix(" %")
        self.metric_box = QComboBox()
        for m in METRICS:
            self.metric_box.addItem(METRIC_LABELS[m], m)
        self.stillness = QDoubleSpinBox()
        self.stillness.setRange(0.5, 60.0)
        self.stillness.setDecimals(1)
        self.stillness.setSingleStep(0.5)
        self.stillness.setSuffix(" s")
        form.addRow("Velocity loss", self.threshold)
        self.plan_limit = QCheckBox("Plan sets the limit")
        self.plan_limit.setToolTip("When the athlete has a training plan, its block's velocity-loss limit is the "
                                   "one in force; changing the limit by hand takes over")
        form.addRow(self.plan_limit)
        form.addRow("Metric", self.metric_box)
        form.addRow("End after still", self.stillness)
        self.auto_end = QCheckBox("End the set at the stop")
        self.grace = QCheckBox("…after one grace rep")
        form.addRow(self.auto_end)
        form.addRow(self.grace)
        self.pending_hint = QLabel("")
        self.pending_hint.setWordWrap(True)
        self.pending_hint.setStyleSheet(f"color: {theme.WARNING}; font-size: 14px;")
        form.addRow(self.pending_hint)
        outer.addWidget(box)

        box = QGroupBox("Method")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignRight)
        self.tempo = QLineEdit()
        self.tempo.setPlaceholderText("ecc:pause s, e.g. 3:1")
        self.tempo.setToolTip("Tempo target: eccentric and bottom pause in seconds; the concentric as fast as "
                              "possible. Empty: no target.")
        self.tempo_margin = QDoubleSpinBox()
        self.tempo_margin.setRange(0.0, 5.0)
        self.tempo_margin.setDecimals(1)
        self.tempo_margin.setSingleStep(0.1)
        self.tempo_margin.setSuffix(" s")
        self.warmup = QCheckBox("Warm-up set (never the day's best)")
        self.warmup_below = QDoubleSpinBox()
        self.warmup_below.setRange(0.0, 1000.0)
        self.warmup_below.setDecimals(1)
        self.warmup_below.setSingleStep(2.5)
        self.warmup_below.setSuffix(" kg")
        self.warmup_below.setSpecialValueText("off")
        self.day_floor = QDoubleSpinBox()
        self.day_floor.setRange(50.0, 99.0)
        self.day_floor.setDecimals(0)
        self.day_floor.setSuffix(" %")
        form.addRow("Tempo", self.tempo)
        form.addRow("Tempo margin", self.tempo_margin)
        form.addRow(self.warmup)
        form.addRow("Warm-up below", self.warmup_below)
        form.addRow("Done under", self.day_floor)
        self.resistance = ResistanceControls()  # bands and chains
        for label, spin in self.resistance.rows():
            form.addRow(label, spin)
        outer.addWidget(box)

        box = QGroupBox("Alerts")
        v = QVBoxLayout(box)
        self.stop_alert = QCheckBox("Flash and alarm at the stop")
        self.warning_cue = QCheckBox("Soft cue when close to the limit")
        self.day_alert = QCheckBox("Banner and chime when done for the day")
        self.tempo_cue = QCheckBox("Soft cue when a rep misses its tempo")
        self.zone_cue = QCheckBox("Zone cue: a tone for below / in / above")
        self.sound = QCheckBox("Sound")
        for c in (self.stop_alert, self.warning_cue, self.day_alert, self.tempo_cue, self.zone_cue, self.sound):
            v.addWidget(c)
        self.sound_method = QLabel("")
        self.sound_method.setProperty("role", "caption")
        self.sound_method.setWordWrap(True)
        v.addWidget(self.sound_method)
        outer.addWidget(box)

        box = QGroupBox("Transducer")
        v = QVBoxLayout(box)
        self.upside_down = QCheckBox("Mounted upside down")
        self.upside_down.setToolTip("The cable shortens as the bar rises (the transducer above the bar): its "
                                    "readings are turned round. Changing it ends the set in progress.")
        v.addWidget(self.upside_down)
        outer.addWidget(box)
        outer.addStretch(1)
        self.setWidget(body)
        self.setFixedWidth(max(350, body.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 6))

        self.set_settings(LiveSettings())
        for w in (self.exercise, self.side, self.metric_box):
            w.currentIndexChanged.connect(self._changed)
        self.athlete.currentTextChanged.connect(self._changed)
        for w in (self.load, self.threshold, self.stillness, self.tempo_margin, self.warmup_below, self.day_floor,
                  *self.resistance.boxes()):
            w.valueChanged.connect(self._changed)
        for w in (self.auto_end, self.grace, self.warmup, self.plan_limit, self.upside_down):
            w.toggled.connect(self._changed)
        self.threshold.valueChanged.connect(self._limit_by_hand)
        self.tempo.editingFinished.connect(self._changed)
        self.auto_end.toggled.connect(self.grace.setEnabled)
        for w in (self.stop_alert, self.warning_cue, self.day_alert, self.tempo_cue, self.zone_cue, self.sound):
            w.toggled.connect(self.alerts_changed)
        self._silent = False

    def set_exercises(self, names: list[str]) -> None:
        current = self.exercise.currentText()
        self._silent = True
        self.exercise.clear()
        self.exercise.addItems(names)
        i = self.exercise.findText(current)
        if i < 0 and current:
            self.exercise.addItem(current)
            i = self.exercise.count() - 1
        self.exercise.setCurrentIndex(max(0, i))
        self._silent = False

    def set_athletes(self, names: list[str]) -> None:
        current = self.athlete.currentText()
        self._silent = True
        self.athlete.clear()
        self.athlete.addItems(names)
        self.athlete.setCurrentText(current)
        self._silent = False

    def set_settings(self, s: LiveSettings) -> None:
        self._silent = True
        self.athlete.setCurrentText(s.athlete)
        i = self.exercise.findText(s.exercise, Qt.MatchFixedString)
        if i < 0:
            self.exercise.addItem(s.exercise)
            i = self.exercise.count() - 1
        self.exercise.setCurrentIndex(i)
        self.load.setValue(s.load_kg or 0.0)
        self.side.setCurrentText(s.side)
        self.threshold.setValue(s.threshold_pct)
        self.plan_limit.setChecked(s.plan_limit)
        self.metric_box.setCurrentIndex(max(0, self.metric_box.findData(s.metric)))
        self.stillness.setValue(s.set_end_stillness_s)
        self.auto_end.setChecked(s.auto_end)
        self.grace.setChecked(s.grace_rep)
        self.grace.setEnabled(s.auto_end)
        self.tempo.setText(s.tempo)
        self.tempo_margin.setValue(s.tempo_margin_s)
        self.warmup.setChecked(s.warmup)
        self.warmup_below.setValue(s.warmup_below_kg or 0.0)
        self.day_floor.setValue(s.day_floor_pct)
        self.resistance.set_values(s)
        self.upside_down.setChecked(s.upside_down)
        self._warning_margin = s.warning_margin_pct
        self._silent = False

    def settings(self) -> LiveSettings:
        return LiveSettings(
            athlete=self.athlete.currentText().strip() or "default",
            exercise=self.exercise.currentText(),
            load_kg=self.load.value() or None,
            side=self.side.currentText(),
            threshold_pct=float(self.threshold.value()),
            metric=self.metric_box.currentData(),
            warning_margin_pct=min(getattr(self, "_warning_margin", 3.0), float(self.threshold.value()) / 2),
            set_end_stillness_s=float(self.stillness.value()),
            auto_end=self.auto_end.isChecked(),
            grace_rep=self.grace.isChecked(),
            plan_limit=self.plan_limit.isChecked(),
            tempo=self.tempo.text().strip(),
            tempo_margin_s=float(self.tempo_margin.value()),
            warmup=self.warmup.isChecked(),
            warmup_below_kg=self.warmup_below.value() or None,
            day_floor_pct=float(self.day_floor.value()),
            **self.resistance.values(),
            upside_down=self.upside_down.isChecked(),
        )

    def _changed(self, *_) -> None:
        if not getattr(self, "_silent", False):
            self.settings_changed.emit(self.settings())

    def apply_plan_limit(self, week) -> bool:
        """The athlete's plan for today (``vbt.plan.PlanWeek`` or None): with "Plan sets the limit"
        ticked and a block in force, its velocity-loss limit goes into the box (and so into force, as
        any change of the box). True when that changed the box."""
        block = getattr(week, "block", None)
        if block is None or not self.plan_limit.isChecked() or self.threshold.value() == block.velocity_loss_pct:
            return False
        self._from_plan = True
        try:
            self.threshold.setValue(block.velocity_loss_pct)
        finally:
            self._from_plan = False
        return True

    def _limit_by_hand(self, *_) -> None:
        """A limit typed in the box takes over from the plan's."""
        if not getattr(self, "_silent", False) and not getattr(self, "_from_plan", False):
            self.plan_limit.setChecked(False)
