"""Physical constants and numbers as a person reads them (one definition each).

``G`` is standard gravity as the analysis uses it (force and power of a rep: m * (a + G)).
``fmt`` writes a number with a format spec and its unit, or a dash when the number is missing (None
or NaN): every table and line the command line and the dashboard print goes through it.
``add_reading_options`` gives ``vbt analyze`` and ``vbt import`` the same ``--units``, ``--rate`` and ``--inverted``.
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


POSITION_UNITS = ("m", "cm", "mm", "in")  # vbt.io.UNITS' keys (inches only when said)


def add_reading_options(parser) -> None:
    """``--units``, ``--rate`` and ``--inverted``, as every command that reads a recording file takes them."""
    parser.add_argument("--units", choices=POSITION_UNITS, default=None,
                        help="position units of CSV recordings (default: the header's, as in position_mm or "
                             "position_in, else judged from the values' range in m, cm or mm; a Chronojump file "
                             "is always mm)")
    parser.add_argument("--rate", type=float, default=None, metavar="HZ",
                        help="sampling rate of a CSV that numbers its samples (a sample or frame column) or "
                             "holds positions alone; a file with times needs none")
    parser.add_argument("--inverted", action="store_true",
                        help="the transducer was mounted upside down (the cable shortens as the bar rises): "
                             "negate the positions")
