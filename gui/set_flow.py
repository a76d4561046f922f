"""The set as the live view tells it: reps, warnings, the stop, tempo misses, the day's verdict, the
end of the set with its RPE and note; Space / N to end a set or clear the screen for the next.

``SetFlowMixin`` is part of :class:`gui.main_window.MainWindow`: each ``_on_*`` slot receives one
worker event (``gui.session.SessionEvent``) on the GUI thread, feeds ``gui.state.SetDisplay`` and
updates the widgets; nothing here waits.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtWidgets import QApplication

from gui import theme
from gui.state import ENDED, GOOD, RUNNING, STOP, WARNING
from gui.summary import SetInfo
from gui.zone_view import ZONE_CUES, zone_colour, zone_footer

log = logging.getLogger(__name__)


class SetFlowMixin:
    """The set's events on screen and the keys that end a set (mixed into ``MainWindow``)."""

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
        self._clear_last_set()
        self._show_waiting()

    def _clear_last_set(self) -> None:
        """Off the screen: the last set's alert, day banner, tempo marks, end panel and rule hint."""
        self.overlay.dismiss()
        self.live.day_banner.hide()
        self.tempo_misses = []
        self.live.end_panel.hide()
        self._shown_seq = None
        self.controls.pending_hint.setText("")

    def _show_waiting(self) -> None:
        v = self.live
        v.velocity.set_caption(f"set {self.display.set_number} · {self.display.metric_label}")
        v.velocity.set_value("–", theme.MUTED, footer="waiting for the first rep")
        v.velocity.set_background(None)
        v.velocity.set_border(None)
        self._refresh_tiles()

    def _refresh_tiles(self) -> None:
        if self.lazy_when_hidden and not self.isVisible():
            self._tiles_stale = True  # drawn when the window is shown (the rack overview's hidden racks)
            return
        self._tiles_stale = False
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
        if action is None:  # a revision of a rep no longer on screen
            return
        if action == "new_set":  # the first rep of a set after the last one ended
            self._clear_last_set()
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
        if ev.type == "rep_revised":
            footer = f"rep {last.index} · revised: one rep with its hold"
        if rep is not None and rep.doubtful:
            footer = f"check rep {rep.index}: {rep.quality}"
        call = getattr(ev.payload, "zone", None)  # the rep against the plan's zone (gui/zone_view.py)
        tile.set_value(f"{last.velocity_m_s:.2f}", zone_colour(call) or theme.level_colour(last.level),
                       footer=zone_footer(footer, call), token=ev)
        self.live.zone_legend.show_call(call, d.metric)
        if call is not None and self.controls.zone_cue.isChecked():
            self.cues.play(ZONE_CUES[call.where])
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

    def _on_set_end(self, ev) -> None:
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
            f"Set {d.set_number} done ({reason}): {len(r.reps)} reps · "
            f"best {'– (every rep doubtful)' if best is None else f'{best:.2f}'} · "
            f"max loss {0.0 if loss is None else loss:.1f} % · {stop}" + "".join(f" · {m}" for m in method))
        self.live.velocity.set_value(self.live.velocity.value(), None,
                                     footer=f"set {d.set_number} done · {len(r.reps)} reps · Space for the next")
        self.controls.pending_hint.setText("")

    def _on_set_saved(self, ev) -> None:
        self._set_ids[ev.set_seq] = ev.payload.set_id
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

