"""The dashboard's remembered settings: the set fields, the rule, the method, the alerts and the window's
place, kept in ``QSettings`` between runs; and what happens when a person edits them.

``SettingsMixin`` is part of :class:`gui.main_window.MainWindow` (it uses the window's ``qsettings``,
``controls``, ``display``, ``cues`` and ``session``).
"""

from __future__ import annotations

import logging
import os

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QSettings, QStandardPaths

from gui.session import LiveSettings
from gui.state import RUNNING

log = logging.getLogger(__name__)

ORGANIZATION = "vbt-tracker"
APPLICATION = "vbt"


def default_settings() -> QSettings:
    return QSettings(ORGANIZATION, APPLICATION)


def _bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


class SettingsMixin:
    """Loading, saving and applying the settings (mixed into ``MainWindow``)."""

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
            plan_limit=_bool(q.value("rule/plan_limit"), d.plan_limit),
            tempo=str(q.value("method/tempo", d.tempo) or ""),
            tempo_margin_s=num("method/tempo_margin_s", d.tempo_margin_s),
            warmup_below_kg=num("method/warmup_below_kg", 0.0) or None,
            day_floor_pct=num("method/day_floor_pct", d.day_floor_pct),
            upside_down=_bool(q.value("device/upside_down"), d.upside_down),
        )
        if s.validate():
            log.warning("stored settings ignored: %s", "; ".join(s.validate()))
            s = d
        self.controls.set_settings(s)
        self._applied = s
        self.controls.stop_alert.setChecked(_bool(q.value("alerts/stop"), True))
        self.controls.day_alert.setChecked(_bool(q.value("alerts/day"), True))
        self.controls.tempo_cue.setChecked(_bool(q.value("alerts/tempo"), True))
        self.controls.zone_cue.setChecked(_bool(q.value("alerts/zone"), False))
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
        q.setValue("rule/plan_limit", s.plan_limit)
        q.setValue("method/tempo", s.tempo)
        q.setValue("method/tempo_margin_s", s.tempo_margin_s)
        q.setValue("method/warmup_below_kg", s.warmup_below_kg or 0.0)
        q.setValue("method/day_floor_pct", s.day_floor_pct)
        q.setValue("device/upside_down", s.upside_down)
        q.setValue("alerts/day", self.controls.day_alert.isChecked())
        q.setValue("alerts/tempo", self.controls.tempo_cue.isChecked())
        q.setValue("alerts/zone", self.controls.zone_cue.isChecked())
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
        before, self._applied = self._applied, s
        self.display.configure(threshold_pct=s.threshold_pct, warning_margin_pct=s.warning_margin_pct, metric=s.metric)
        if self.session is not None:
            self.session.configure(s)
        running = self.display.phase == RUNNING
        turned = before is not None and before.upside_down != s.upside_down  # ends the set: no rule pending
        self.controls.pending_hint.setText("Rule changes apply from the next set." if running and not turned else "")
        self._refresh_tiles()

    def _on_alerts_changed(self) -> None:
        self.cues.muted = not self.controls.sound.isChecked() or self.controls.mute_button.isChecked()

    def set_muted(self, muted: bool) -> None:
        self._on_alerts_changed()
        self.controls.mute_button.setText("Muted  [M]" if muted else "Mute  [M]")
        self.show_message("sound muted" if muted else "sound on", 3000)

