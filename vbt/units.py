"""Physical constants and numbers as a person reads them (one definition each).

``G`` is standard gravity as the analysis uses it (force and power of a rep: m * (a + G)).
``fmt`` writes a number with a format spec and its unit, or a dash when the number is missing (None
or NaN): every table and line the command line and the dashboard print goes through it.
"""

from __future__ import annotations

G = 9.81  # m/s²
MISSING = "–"  # what a missing number reads as


def fmt(value, spec: str = ".2f", unit: str = "", missing: str = MISSING) -> str:
    """``value`` formatted with ``spec`` followed by ``unit`` (written as given, space included), or
    ``missing`` for None and NaN."""
    if value is None or value != value:
        return missing
    return f"{value:{spec}}{unit}"
