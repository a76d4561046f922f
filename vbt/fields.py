"""The fields a person sets for a set, and the one validator of each (used by the CLI, the GUI and the store).

Each ``*_problem`` function returns one readable line, or None when the value is good; the line names
the field the way a person knows it ("load", "side") so every caller reports the same words.
:func:`check_set_fields` gathers them for a whole set.
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT_MIN_ROM_M", "MAX_LOAD_KG", "METRICS", "SIDES", "check_set_fields", "load_problem", "metric_problem",
    "min_rom_problem", "note_problem", "rpe_problem", "side_problem", "threshold_problem", "as_options",
]

SIDES = ("both", "left", "right")
#: The velocity a set is judged by (``vbt.config.METRIC_FIELDS`` names the Rep field of each).
METRICS = ("mean", "propulsive", "peak")
#: Smallest concentric ROM counted as a rep, unless the exercise says otherwise.
DEFAULT_MIN_ROM_M = 0.15
MAX_LOAD_KG = 1000.0
MAX_NOTE_CHARS = 2000


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_problem(load_kg) -> str | None:
    """A load is optional (None); when given it is above 0 and at most 1000 kg."""
    if load_kg is None:
        return None
    if not _is_number(load_kg) or not 0.0 < load_kg <= MAX_LOAD_KG:
        return f"load_kg: {load_kg} kg is impossible (must be above 0 and at most {MAX_LOAD_KG:g} kg)"
    return None


def side_problem(side) -> str | None:
    return None if side in SIDES else f"side: {side!r} is not one of {', '.join(SIDES)}"


def metric_problem(metric) -> str | None:
    return None if metric in METRICS else f"metric: {metric!r} is not one of {', '.join(METRICS)}"


def threshold_problem(threshold_pct) -> str | None:
    if not _is_number(threshold_pct) or not 1.0 <= threshold_pct <= 60.0:
        return f"velocity_loss_pct: the velocity-loss threshold {threshold_pct} % is outside 1–60 %"
    return None


def rpe_problem(rpe) -> str | None:
    if rpe is None:
        return None
    if not _is_number(rpe) or not 1.0 <= rpe <= 10.0:
        return f"RPE: {rpe} is outside 1–10"
    return None


def note_problem(note) -> str | None:
    if note is not None and len(str(note)) > MAX_NOTE_CHARS:
        return f"note: longer than {MAX_NOTE_CHARS} characters"
    return None


def min_rom_problem(min_rom_m, lowest_m: float = 0.02) -> str | None:
    """``lowest_m``: an exercise's own minimum ROM starts at 4 cm; the segmentation accepts 2 cm."""
    if not _is_number(min_rom_m) or not lowest_m <= min_rom_m <= 2.0:
        return f"min_rom_m: {min_rom_m} m is outside {lowest_m:g}–2 m"
    return None


def check_set_fields(*, load_kg=None, side="both", metric="mean", threshold_pct=10.0, rpe=None,
                     note=None) -> list[str]:
    """Problems with a set's fields, one readable line each (empty list: all good)."""
    found = (load_problem(load_kg), side_problem(side), metric_problem(metric),
             threshold_problem(threshold_pct), rpe_problem(rpe), note_problem(note))
    return [p for p in found if p]


def as_options(problems: list[str], options: dict[str, str]) -> str:
    """Problems ("field: what is wrong") joined into one line, each field named as the command-line
    option the person typed (``options``: field name -> option, e.g. {"load_kg": "--load-kg"})."""
    named = []
    for problem in problems:
        field, sep, rest = problem.partition(": ")
        named.append(f"{options[field]}{sep}{rest}" if sep and field in options else problem)
    return "; ".join(named)
