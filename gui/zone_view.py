"""The target zone on the dashboard: the big number's colour, its legend and the zone cue.

A rep's zone (``vbt.plan.ZoneCall``, carried by its rep event when the athlete's plan gives the
exercise a zone today) colours the big number: blue below the zone (too slow: the load is heavier
than the block asks), green in it, yellow above it (too fast: too light). The legend under the number
names the zone, its range and where it came from (the athlete's own profile, the general zones, or
set by hand), so nobody reads a general table as personal. Colour is never the only sign: the
footer says BELOW / IN / ABOVE ZONE with an arrow.
"""

from __future__ import annotations

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui import theme

BELOW_COLOUR = "#5b8cff"
IN_COLOUR = theme.GOOD
ABOVE_COLOUR = "#ffe14d"
ZONE_COLOURS = {"below": BELOW_COLOUR, "in": IN_COLOUR, "above": ABOVE_COLOUR}
ZONE_WORDS = {"below": "▼ BELOW ZONE", "in": "● IN ZONE", "above": "▲ ABOVE ZONE"}
#: The cue each answer plays (gui/sound.py CUES), when the zone cue is on.
ZONE_CUES = {"below": "zone_below", "in": "zone_in", "above": "zone_above"}


def zone_colour(call) -> str | None:
    """The big number's colour for a rep's zone call (None: no zone, keep the loss colours)."""
    return None if call is None else ZONE_COLOURS.get(call.where)


def zone_footer(footer: str, call) -> str:
    return footer if call is None else f"{ZONE_WORDS[call.where]} · {footer}"


class ZoneLegend(QWidget):
    """Three chips (below / in / above with their ranges; the rep's one lit) and the zone's source."""

    def __init__(self, parent=None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 2, 0, 0)
        outer.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(6)
        outer.addLayout(row)
        self.chips = {}
        for where in ("below", "in", "above"):
            chip = QLabel("")
            chip.setAlignment(Qt.AlignCenter)
            chip.setTextFormat(Qt.PlainText)
            self.chips[where] = chip
            row.addWidget(chip, 1)
        self.source = QLabel("")
        self.source.setTextFormat(Qt.PlainText)
        self.source.setWordWrap(True)
        self.source.setStyleSheet(f"color: {theme.MUTED}; font-size: 17px;")
        outer.addWidget(self.source)
        self.lit: str | None = None
        self.plan_line = ""
        self._target = None  # the plan's zone for the exercise, once the backend has read it
        self.hide()

    def show_plan(self, week, target) -> None:
        """Before any rep: where today falls in the athlete's plan (``vbt.plan.PlanWeek`` or None),
        the exercise's zone (``vbt.plan.ZoneTarget`` or None) and the block's velocity-loss limit.
        Nothing lit; hidden without a plan."""
        self.plan_line = ""
        self._target = target
        if week is None:
            self.lit = None
            self.hide()
            return
        if week.block is None:
            self.plan_line = f"plan: {week.why_none}"
        else:
            self.plan_line = (f"plan: {week.line()}, velocity-loss limit {week.block.velocity_loss_pct:g} % "
                              f"(in force unless \"Plan sets the limit\" is unticked)")
        if target is None:
            for chip in self.chips.values():
                chip.setText("")
                chip.setStyleSheet("background: transparent;")
            self.source.setText(self.plan_line)
            self.lit = None
            self.show()
            return
        self._paint(target, None, "mean")

    def show_call(self, call, metric: str = "mean") -> None:
        """Show a rep's zone. None (no plan, or a doubtful rep): the plan's zone unlit if one is
        known, else the legend hides."""
        if call is None:
            if self._target is not None:
                self._paint(self._target, None, metric)
            else:
                self.lit = None
                self.hide()
            return
        self._paint(call.target, call.where, metric)

    def _paint(self, t, lit: str | None, metric: str) -> None:
        texts = {"below": f"▼ below {t.low_m_s:.2f}", "in": f"● in {t.low_m_s:.2f}–{t.high_m_s:.2f}",
                 "above": f"▲ above {t.high_m_s:.2f}"}
        for where, chip in self.chips.items():
            colour = ZONE_COLOURS[where]
            if where == lit:
                style = (f"background: {colour}; color: {theme.BACKGROUND}; font-size: 22px; font-weight: 800; "
                         f"border-radius: 6px; padding: 4px;")
            else:
                style = (f"background: transparent; color: {colour}; font-size: 18px; font-weight: 600; "
                         f"border: 2px solid {colour}; border-radius: 6px; padding: 2px;")
            chip.setStyleSheet(style)
            chip.setText(texts[where])
        judged = "" if metric == "mean" else " · zones are mean velocity (MV)"
        self.source.setText(f"{t.block} week {t.week_in_block} of {t.block_weeks} · zone from the "
                            f"{t.source_text}{judged}")
        self.lit = lit
        self.show()

    @property
    def text(self) -> str:
        return " | ".join(c.text() for c in self.chips.values()) + " | " + self.source.text()
