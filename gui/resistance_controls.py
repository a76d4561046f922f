"""Bands and chains in the dashboard's Method box: three spin boxes (0 shows "none").

The values are the set fields of ``vbt.fields`` (band tension at the top and at the bottom, N; chain
mass lifted per metre, kg/m), checked by the same validators as the command line and the store; a
spin box cannot go below 0, and a band that pulls harder at the bottom than at the top is refused
with one line like any other setting. They are not kept between runs: bands left on from
yesterday's session would quietly change today's force and power.
"""

from __future__ import annotations

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtWidgets import QDoubleSpinBox


def _spin(suffix: str, most: float, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, most)
    box.setDecimals(0)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setSpecialValueText("none")
    return box


class ResistanceControls:
    """The three spin boxes; ``rows()`` for a QFormLayout, ``values()`` / ``set_values()`` as set fields."""

    def __init__(self):
        self.band_top = _spin(" N", 5000.0, 50.0)
        self.band_top.setToolTip("Band tension at the top of the rep (N). With the bottom's, force and power use "
                                 "the load at each height; alone, they are approximate.")
        self.band_bottom = _spin(" N", 5000.0, 50.0)
        self.band_bottom.setToolTip("Band tension at the bottom of the rep (N).")
        self.chain = _spin(" kg/m", 500.0, 5.0)
        self.chain.setToolTip("Chain mass lifted off the floor per metre the bar rises (kg/m).")

    def rows(self):
        return (("Bands at top", self.band_top), ("Bands at bottom", self.band_bottom),
                ("Chains", self.chain))

    def boxes(self):
        return (self.band_top, self.band_bottom, self.chain)

    def values(self) -> dict:
        return {"band_top_n": self.band_top.value() or None, "band_bottom_n": self.band_bottom.value() or None,
                "chain_kg_per_m": self.chain.value() or None}

    def set_values(self, s) -> None:
        self.band_top.setValue(s.band_top_n or 0.0)
        self.band_bottom.setValue(s.band_bottom_n or 0.0)
        self.chain.setValue(s.chain_kg_per_m or 0.0)
