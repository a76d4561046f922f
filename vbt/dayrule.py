"""Done for the day: a set whose best rep falls under a share of the day's best effort.

The method behind the tracker (science.md, training section): when velocity drops below 90 % of the
day's best effort, the athlete is done with that exercise for today. The day's best is the fastest
rep of the day, in the same metric as the stop rule. Loads differ between sets, so a set is compared
like with like, and the verdict says which comparison was used (``basis``):

``"same_load"``
    An earlier working set today was at this load (within ``load_tolerance_pct``): the reference is
    the fastest rep of those sets.
``"profile"``
    No earlier set at this load, but the athlete has a load-velocity profile: the reference is
    today's best effort carried to this load along the profile's line. Today's best effort is the
    earlier working set that beat the line by the most (``v - line(load)``); the reference is
    ``line(this load)`` plus that margin. A slower set that a heavier load explains does not fire.
``"none"``
    Neither is possible: the rule says so and does not fire.
``"first"``
    The first working set of the exercise today: it sets the day's best.
``"warmup"``
    A warm-up set (flagged, or lighter than ``warmup_below_kg``): never defines the day's best and
    is never judged.

Pure: no store, no threads. One :class:`DayRule` per athlete and exercise; :class:`DayBook` keeps
them for a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vbt.fields import METRICS

BASES = ("same_load", "profile", "none", "first", "warmup")


@dataclass(frozen=True)
class DayRuleConfig:
    """``floor_pct``: a set whose best is under this share of the reference is the day's end (90 %)."""

    floor_pct: float = 90.0
    load_tolerance_pct: float = 2.5
    warmup_below_kg: float | None = None
    metric: str = "mean"

    def validate(self) -> list[str]:
        problems = []
        if not (isinstance(self.floor_pct, (int, float)) and math.isfinite(self.floor_pct)
                and 50.0 <= self.floor_pct < 100.0):
            problems.append(f"day_floor_pct: {self.floor_pct!r} is outside 50–99.9 % of the day's best")
        if not (math.isfinite(self.load_tolerance_pct) and 0.0 <= self.load_tolerance_pct <= 20.0):
            problems.append(f"load_tolerance_pct: {self.load_tolerance_pct!r} is outside 0–20 %")
        if self.warmup_below_kg is not None and not (math.isfinite(self.warmup_below_kg)
                                                     and 0.0 < self.warmup_below_kg < 2000.0):
            problems.append(f"warmup_below_kg: {self.warmup_below_kg!r} must be a load above 0 kg")
        if self.metric not in METRICS:
            problems.append(f"metric: {self.metric!r} is not one of {', '.join(METRICS)}")
        return problems


@dataclass(frozen=True)
class DayVerdict:
    """What the rule says about one set. Velocities in the rule's metric."""

    done: bool
    basis: str  # one of BASES
    set_best_m_s: float | None
    reference_m_s: float | None  # the velocity the set is held to (None: no comparison)
    ratio_pct: float | None  # set best / reference, in percent
    day_best_m_s: float | None  # fastest working rep of the day so far (before this set)
    day_best_load_kg: float | None
    floor_pct: float
    load_kg: float | None
    metric: str
    set_number: int  # working sets of this exercise today, this one included (0 for a warm-up)
    trend_m_s: tuple[float, ...] = ()  # each working set's best today, in order, this one included
    reason: str = ""

    def to_json(self) -> dict:
        return {
            "done": self.done,
            "basis": self.basis,
            "set_best_m_s": self.set_best_m_s,
            "reference_m_s": self.reference_m_s,
            "ratio_pct": self.ratio_pct,
            "day_best_m_s": self.day_best_m_s,
            "day_best_load_kg": self.day_best_load_kg,
            "floor_pct": self.floor_pct,
            "load_kg": self.load_kg,
            "metric": self.metric,
            "set_number": self.set_number,
            "trend_m_s": list(self.trend_m_s),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _WorkingSet:
    load_kg: float | None
    best_m_s: float


def set_best(reps, metric: str) -> float | None:
    """Fastest clean rep of a set in ``metric`` (None when no rep has a finite velocity)."""
    best = None
    for rep in reps:
        if getattr(rep, "doubtful", False):
            continue
        v = rep.velocity(metric)
        if v is None or not math.isfinite(v):
            continue
        if best is None or v > best:
            best = v
    return best


def _same_load(a: float | None, b: float | None, tolerance_pct: float) -> bool:
    if a is None or b is None:
        return a is None and b is None  # no load given twice: the same (bodyweight, unloaded bar)
    return abs(a - b) <= tolerance_pct / 100.0 * max(abs(a), abs(b))


@dataclass
class DayRule:
    """The rule for one athlete and exercise on one day. Feed sets in order with :meth:`add_set`.

    ``profile``: the athlete's load-velocity profile for the exercise in the rule's metric
    (``vbt.profile.LoadVelocityProfile``), or None.
    """

    config: DayRuleConfig = field(default_factory=DayRuleConfig)
    profile: object = None
    working: list = field(default_factory=list)
    done_fired: bool = False

    def is_warmup(self, load_kg: float | None, warmup: bool) -> bool:
        below = self.config.warmup_below_kg
        return bool(warmup) or (below is not None and load_kg is not None and load_kg < below)

    def _line(self, load_kg: float) -> float | None:
        p = self.profile
        if p is None or load_kg is None or getattr(p, "metric", self.config.metric) != self.config.metric:
            return None
        v = float(p.velocity_at_load_m_s(load_kg))
        return v if math.isfinite(v) else None

    def judge(self, best_m_s: float | None, load_kg: float | None, warmup: bool = False) -> DayVerdict:
        """The verdict for a set with this best rep and load, without adding it to the day."""
        c = self.config
        trend = tuple(w.best_m_s for w in self.working)
        day = max(self.working, key=lambda w: w.best_m_s) if self.working else None
        common = dict(set_best_m_s=best_m_s, day_best_m_s=day.best_m_s if day else None,
                      day_best_load_kg=day.load_kg if day else None, floor_pct=c.floor_pct, load_kg=load_kg,
                      metric=c.metric)
        if self.is_warmup(load_kg, warmup):
            why = "flagged as a warm-up" if warmup else f"lighter than the warm-up limit {c.warmup_below_kg:g} kg"
            return DayVerdict(False, "warmup", reference_m_s=None, ratio_pct=None, set_number=0, trend_m_s=trend,
                              reason=f"warm-up set ({why}): not judged, never the day's best", **common)
        n = len(self.working) + 1
        trend = trend + ((best_m_s,) if best_m_s is not None else ())
        if best_m_s is None:
            return DayVerdict(False, "none", reference_m_s=None, ratio_pct=None, set_number=n, trend_m_s=trend,
                              reason="no rep with a velocity in this set", **common)
        if day is None:
            return DayVerdict(False, "first", reference_m_s=None, ratio_pct=None, set_number=n, trend_m_s=trend,
                              reason="first working set today: it sets the day's best", **common)
        same = [w.best_m_s for w in self.working if _same_load(w.load_kg, load_kg, c.load_tolerance_pct)]
        if same:
            basis, ref = "same_load", max(same)
            at = "no load" if load_kg is None else f"{load_kg:g} kg"
            how = f"today's best at {at} (±{c.load_tolerance_pct:g} %)"
        else:
            here = self._line(load_kg)
            margins = [w.best_m_s - self._line(w.load_kg) for w in self.working if self._line(w.load_kg) is not None]
            if here is None or not margins:
                at = "no load" if load_kg is None else f"{load_kg:g} kg"
                why = ("no load-velocity profile" if self.profile is None
                       else "the profile cannot be used at these loads")
                return DayVerdict(False, "none", reference_m_s=None, ratio_pct=None, set_number=n, trend_m_s=trend,
                                  reason=f"no earlier set at {at} today and {why}: not compared", **common)
            basis, ref = "profile", here + max(margins)
            how = f"today's best effort carried to {load_kg:g} kg along the load-velocity profile"
        if not ref > 0:
            return DayVerdict(False, "none", reference_m_s=ref, ratio_pct=None, set_number=n, trend_m_s=trend,
                              reason="the reference velocity is not above zero: not compared", **common)
        ratio = 100.0 * best_m_s / ref
        done = ratio < c.floor_pct
        verdict = "done for today" if done else "keep going"
        return DayVerdict(done, basis, reference_m_s=ref, ratio_pct=ratio, set_number=n, trend_m_s=trend,
                          reason=f"best {best_m_s:.3f} m/s is {ratio:.1f} % of {ref:.3f} m/s, {how}: {verdict} "
                                 f"(floor {c.floor_pct:g} %)", **common)

    def add_set(self, reps, load_kg: float | None, warmup: bool = False) -> DayVerdict:
        """Judge a finished set (its reps, in any order) and add it to the day."""
        return self.add_best(set_best(reps, self.config.metric), load_kg, warmup)

    def add_best(self, best_m_s: float | None, load_kg: float | None, warmup: bool = False) -> DayVerdict:
        verdict = self.judge(best_m_s, load_kg, warmup)
        if verdict.basis != "warmup" and best_m_s is not None:
            self.working.append(_WorkingSet(load_kg, float(best_m_s)))
        if verdict.done:
            self.done_fired = True
        return verdict


class DayBook:
    """Day rules by athlete and exercise (names compared without case), for one day.

    A unilateral set (side ``"left"`` or ``"right"``) has a rule of its own per side: the weaker side
    is never held to the stronger side's best (``vbt.sides`` compares the two).

    ``profile_for(athlete, exercise, metric)`` returns a profile or None; it is asked once per
    athlete and exercise, the first time one of their sets ends. ``earlier_sets(athlete, exercise)``
    returns today's sets already finished before this book existed as ``(best_m_s, load_kg,
    warmup)`` tuples (a restarted program keeps the day's best). For a side's rule both are also
    given ``side=``.
    """

    def __init__(self, config: DayRuleConfig = DayRuleConfig(), profile_for=None, earlier_sets=None):
        self.config = config
        self.profile_for = profile_for
        self.earlier_sets = earlier_sets
        self.rules: dict[tuple[str, str], DayRule] = {}

    def rule(self, athlete: str, exercise: str, side: str = "both") -> DayRule:
        one_side = side in ("left", "right")
        key = ((athlete or "").strip().casefold(), (exercise or "").strip().casefold()) + ((side,) if one_side else ())
        by_side = {"side": side} if one_side else {}
        rule = self.rules.get(key)
        if rule is None:
            profile = None
            if self.profile_for is not None:
                try:
                    profile = self.profile_for(athlete, exercise, self.config.metric, **by_side)
                except Exception:  # noqa: BLE001 - no profile: the rule says "none" where it needs one
                    profile = None
            rule = DayRule(self.config, profile)
            if self.earlier_sets is not None:
                try:
                    earlier = list(self.earlier_sets(athlete, exercise, **by_side))
                except Exception:  # noqa: BLE001 - no history: the day starts now
                    earlier = []
                for best, load, warm in earlier:
                    rule.add_best(best, load, warm)
            self.rules[key] = rule
        return rule

    def add_set(self, athlete: str, exercise: str, reps, load_kg: float | None, warmup: bool = False,
                side: str = "both") -> DayVerdict:
        return self.rule(athlete, exercise, side).add_set(reps, load_kg, warmup)
