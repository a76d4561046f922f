"""Saving the last finished set as a PNG summary card (Ctrl+S, the Save buttons).

``SummarySavingMixin`` is part of :class:`gui.main_window.MainWindow`: the card is rendered on the
GUI thread and written by ``gui.summary.ImageSaver`` on a background thread.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime

from gui.summary import SetInfo, SetSummaryCard


class SummarySavingMixin:
    """The set summary card of the set on screen, and saving it (mixed into ``MainWindow``)."""

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

