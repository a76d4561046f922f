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
    "ACCOMMODATION_FIELDS", "band_top_n_problem", "band_bottom_n_problem", "band_n_per_m_problem",
    "chain_top_kg_problem", "chain_kg_per_m_problem", "accommodation_problems",
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


#: Bands and chains on a set (accommodating resistance, vbt.resistance): field -> how a person names it.
ACCOMMODATION_FIELDS = {
    "band_top_n": "band tension at the top",
    "band_bottom_n": "band tension at the bottom",
    "band_n_per_m": "band stiffness",
    "chain_top_kg": "chain mass at the top",
    "chain_kg_per_m": "chain mass per metre",
}
MAX_BAND_N = 5000.0  # ~500 kg of pull: beyond any band a gym has
MAX_CHAIN_KG = 500.0
MAX_BAND_N_PER_M = 20000.0


def _non_negative(field: str, value, unit: str, most: float) -> str | None:
    if value is None:
        return None
    if not _is_number(value):
        return f"{field}: {value!r} is not a number"
    if value < 0:
        return f"{field}: the {ACCOMMODATION_FIELDS[field]} cannot be negative ({value:g} {unit})"
    if value > most:
        return f"{field}: the {ACCOMMODATION_FIELDS[field]} of {value:g} {unit} is beyond {most:g} {unit}"
    return None


def band_top_n_problem(value) -> str | None:
    """A band's tension at the top of the rep (N), optional."""
    return _non_negative("band_top_n", value, "N", MAX_BAND_N)


def band_bottom_n_problem(value) -> str | None:
    """A band's tension at the bottom of the rep (N), optional."""
    return _non_negative("band_bottom_n", value, "N", MAX_BAND_N)


def band_n_per_m_problem(value) -> str | None:
    """A band's stiffness (N per metre of stretch), optional: with the top tension it gives the bottom."""
    return _non_negative("band_n_per_m", value, "N/m", MAX_BAND_N_PER_M)


def chain_top_kg_problem(value) -> str | None:
    """Chain mass off the floor at the top of the rep beyond the bottom (kg), optional."""
    return _non_negative("chain_top_kg", value, "kg", MAX_CHAIN_KG)


def chain_kg_per_m_problem(value) -> str | None:
    """Chain mass lifted off the floor per metre the bar rises (kg/m), optional."""
    return _non_negative("chain_kg_per_m", value, "kg/m", MAX_CHAIN_KG)


def accommodation_problems(*, band_top_n=None, band_bottom_n=None, band_n_per_m=None, chain_top_kg=None,
                           chain_kg_per_m=None) -> list[str]:
    """Problems with a set's bands and chains, one line each (each field's own validator, then how
    they combine)."""
    found = [p for p in (band_top_n_problem(band_top_n), band_bottom_n_problem(band_bottom_n),
                         band_n_per_m_problem(band_n_per_m), chain_top_kg_problem(chain_top_kg),
                         chain_kg_per_m_problem(chain_kg_per_m)) if p]
    if found:
        return found
    if band_bottom_n is not None and band_n_per_m is not None:
        found.append("band_n_per_m: give the band's bottom tension or its stiffness, not both")
    elif band_top_n is not None and band_bottom_n is not None and band_bottom_n > band_top_n:
        found.append(f"band_bottom_n: a band pulls harder at the top than at the bottom "
                     f"({band_bottom_n:g} N at the bottom, {band_top_n:g} N at the top)")
    if chain_top_kg is not None and chain_kg_per_m is not None:
        found.append("chain_kg_per_m: give the chain mass at the top or per metre, not both")
    return found


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
