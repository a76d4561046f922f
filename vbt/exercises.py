"""The exercise catalogue: default minimal velocity threshold (MVT) and minimum range of motion.

The MVT is the velocity of a one-repetition maximum; the load-velocity profile reaches the 1RM
where its line crosses it (science.md, "Load-velocity profile and 1RM"). Values taken from
science.md name their source there; values marked "own estimate" are ours, from the movement's
similarity to a measured one, and are shown as such wherever a 1RM is reported. Users override any
of them per exercise, and add their own exercises, in the store.

Minimum ROM is the smallest concentric displacement counted as a rep for the exercise (Chronojump
uses 20 cm for barbell lifts, OpenBarbell 15 cm; science.md). Short-stroke lifts get less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vbt.fields import DEFAULT_MIN_ROM_M, min_rom_problem

#: Default minimum ROM for an exercise nobody told us about (OpenBarbell's 15 cm).

_SOURCE_SCIENCE = "science.md"
_SOURCE_OWN = "own estimate"


@dataclass(frozen=True)
class Exercise:
    """One catalogue entry.

    Attributes
    ----------
    name
        Display name, unique ignoring case, spaces, hyphens and underscores.
    mvt_m_s
        Minimal velocity threshold: mean concentric velocity of a 1RM.
    min_rom_m
        Smallest concentric ROM counted as a rep.
    low_confidence
        1RM predictions for this lift are weak (squat and deadlift families: squat MVT varies 22 %
        day to day, Banyard 2017; deadlift 1RM underestimated, Lake 2017). Reported with a flag.
    mvt_source
        Where the MVT comes from: ``"science.md"``, ``"own estimate"`` or ``"user"``.
    builtin
        Shipped with the tracker (its values may still have been changed by the user).
    unilateral
        Done one side at a time (single-leg Romanian deadlift): its sets carry a side, left or
        right, and the side-to-side report (:mod:`vbt.sides`) compares them.
    """

    name: str
    mvt_m_s: float
    min_rom_m: float = DEFAULT_MIN_ROM_M
    low_confidence: bool = False
    mvt_source: str = "user"
    builtin: bool = False
    unilateral: bool = False

    @property
    def key(self) -> str:
        return exercise_key(self.name)

    def validate(self) -> list[str]:
        problems = []
        if not exercise_key(self.name):
            problems.append("name: an exercise needs a name")
        elif len(self.name) > 60:
            problems.append(f"name: {self.name[:20]!r}… is longer than 60 characters")
        if not (isinstance(self.mvt_m_s, (int, float)) and 0.05 <= self.mvt_m_s <= 1.5):
            problems.append(f"mvt_m_s: {self.mvt_m_s} m/s is outside 0.05–1.5 m/s")
        if min_rom_problem(self.min_rom_m, lowest_m=0.04):
            problems.append(min_rom_problem(self.min_rom_m, lowest_m=0.04))
        return problems


# name, MVT m/s, min ROM m, low confidence, MVT source.
# MVTs from science.md: bench 0.17, full squat 0.30, half squat 0.33, deadlift 0.15,
# hex-bar deadlift 0.25, leg press 0.21. The others are OUR OWN ESTIMATES (no figure in
# science.md): front squat as the back squat (same knee-dominant pattern, own guess 0.30);
# overhead press a little above the bench (own guess 0.19: both upper-body presses grind slowly);
# Romanian deadlift as the deadlift (own guess 0.15); single-leg Romanian deadlift a little higher
# (own guess 0.20: balance ends the set before the bar stops); hip thrust (own guess 0.25, short
# stroke). Min ROMs are our choices: about half of a typical lifter's stroke, never below 8 cm,
# so that set-up wiggles (< 3 cm hysteresis) never count.
# Lifts that move differently (issue 9): a loaded jump squat's concentric phase runs to the apex
# of the flight (0.4-1 m from the bottom); its MVT is our own placeholder (a jump has no 1RM: the
# profile's 1RM is flagged low-confidence). Olympic pulls (clean pull, snatch pull) travel
# 0.4-0.7 m fast from the floor; own MVT estimates, low confidence. Hip thrusts move the bar
# 15-25 cm, hence their 8 cm minimum. Touch-and-go bench is the bench press (the analysis places a
# bounce's turning point without assuming a still bottom).
BUILTIN_EXERCISES: tuple[Exercise, ...] = (
    # the back squat: MVT 0.30 "full squat" (science.md, MVT defaults; Conceição 2016 MPV at 100 % 1RM 0.33)
    Exercise("squat", 0.30, 0.20, True, _SOURCE_SCIENCE, True),
    Exercise("front squat", 0.30, 0.20, True, _SOURCE_OWN, True),
    Exercise("half squat", 0.33, 0.12, True, _SOURCE_SCIENCE, True),
    Exercise("bench press", 0.17, 0.15, False, _SOURCE_SCIENCE, True),  # MVT 0.17 (science.md, MVT defaults)
    Exercise("overhead press", 0.19, 0.20, False, _SOURCE_OWN, True),
    Exercise("deadlift", 0.15, 0.20, True, _SOURCE_SCIENCE, True),  # MVT 0.15 (science.md); 1RM low: Lake 2017
    Exercise("hex-bar deadlift", 0.25, 0.20, True, _SOURCE_SCIENCE, True),
    Exercise("Romanian deadlift", 0.15, 0.15, True, _SOURCE_OWN, True),
    # no published MVT (science.md has none): own estimate; one side at a time (left/right sets)
    Exercise("single-leg Romanian deadlift", 0.20, 0.10, True, _SOURCE_OWN, True, unilateral=True),
    Exercise("leg press", 0.21, 0.12, False, _SOURCE_SCIENCE, True),
    Exercise("hip thrust", 0.25, 0.08, False, _SOURCE_OWN, True),  # barbell hip thrust; no published MVT: own
    Exercise("jump squat", 0.50, 0.20, True, _SOURCE_OWN, True),  # loaded jump squat: no 1RM, placeholder MVT
    Exercise("clean pull", 0.30, 0.25, True, _SOURCE_OWN, True),
    Exercise("snatch pull", 0.35, 0.25, True, _SOURCE_OWN, True),
    # Live sets recorded before anyone said which lift they were; no profile is fitted to them.
    Exercise("unspecified", 0.30, DEFAULT_MIN_ROM_M, True, _SOURCE_OWN, True),
)
#: The exercise of a live set nobody named (`vbt set ID --exercise NAME` names it afterwards).
UNSPECIFIED = "unspecified"

# Other names people type for the built-in lifts (keys as exercise_key() makes them).
ALIASES: dict[str, str] = {
    "back squat": "squat",
    "full squat": "squat",
    "bench": "bench press",
    "ohp": "overhead press",
    "military press": "overhead press",
    "shoulder press": "overhead press",
    "press": "overhead press",
    "hex bar deadlift": "hex-bar deadlift",
    "trap bar deadlift": "hex-bar deadlift",
    "hexbar deadlift": "hex-bar deadlift",
    "trapbar deadlift": "hex-bar deadlift",
    "rdl": "Romanian deadlift",
    "sl rdl": "single-leg Romanian deadlift",
    "single leg rdl": "single-leg Romanian deadlift",
    "conventional deadlift": "deadlift",
    "barbell deadlift": "deadlift",
    "barbell back squat": "squat",
    "barbell squat": "squat",
    "barbell bench press": "bench press",
    "barbell hip thrust": "hip thrust",
    "hip thrusts": "hip thrust",
    "single leg romanian deadlift": "single-leg Romanian deadlift",
    "single leg deadlift": "single-leg Romanian deadlift",
    "barbell jump squat": "jump squat",
    "loaded jump squat": "jump squat",
    "loaded jump": "jump squat",
    "squat jump": "jump squat",
    "touch and go bench press": "bench press",
    "touch and go bench": "bench press",
    "tng bench": "bench press",
}

_SEPARATORS = re.compile(r"[\s_\-]+")


def exercise_key(name: str) -> str:
    """Comparison key: case, spaces, hyphens and underscores do not matter."""
    return _SEPARATORS.sub(" ", str(name)).strip().casefold()


def canonical_key(name: str) -> str:
    """Key of ``name`` after resolving a known alias."""
    key = exercise_key(name)
    alias = ALIASES.get(key)
    return exercise_key(alias) if alias else key


def find_exercise(name: str, exercises, *, by_prefix: bool = True) -> Exercise | None:
    """The entry of ``exercises`` that ``name`` means, or None.

    Exact key first, then a known alias, then (``by_prefix``) a unique entry whose name starts with
    ``name``'s words ("zercher" for "Zercher squat", "hex" for "hex-bar deadlift").
    """
    by_key = {e.key: e for e in exercises}
    key = exercise_key(name)
    found = by_key.get(key) or by_key.get(canonical_key(name))
    if found is None and key and by_prefix:
        starts = [k for k in by_key if k.startswith(key + " ")]
        if len(starts) == 1:
            found = by_key[starts[0]]
    return found
