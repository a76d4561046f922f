"""A training plan: blocks of weeks, each with a velocity-loss limit and a target velocity zone.

The method the tracker serves (science.md, training section) runs in four-week blocks, repeated:
activation, hypertrophy, strength, power. Each block here carries

- a **velocity-loss limit** for its sets (science.md: Pareja-Blanco 2017, squat — ~20 % kept
  strength and jump gains, ~40 % added hypertrophy but lost jump gains; power work ≤ 10 %,
  hypertrophy blocks 20–30 %), and
- a **target velocity zone**, as a band of %1RM. With the athlete's own load-velocity profile
  (:mod:`vbt.profile`) the band becomes velocities through the profile's line: the velocity at the
  band's heavy end is the zone's low end. Without a profile the block falls back to the general
  zones as commonly taught (science.md: mean velocity, Mann, from Bosco's strength continuum), which
  do not generalise across lifts and people — so every zone says which source it came from.
  A zone set by hand in the plan (per exercise) wins over both.

Default blocks (our choice; each %1RM band maps onto its general zone through the full-squat
velocities of Conceição 2016 quoted in science.md: 30 % 1.25, 50 % 0.99, 60 % 0.85, 70 % 0.72,
80 % 0.59, 90 % 0.46 m/s):

========== ====== ====== ========= ===================================
block      weeks  limit  %1RM      general zone (mean velocity)
========== ====== ====== ========= ===================================
activation 1–4    10 %   50–65 %   strength-speed 0.75–1.0 m/s
hypertrophy 5–8   25 %   65–80 %   accelerative strength 0.5–0.75 m/s
strength   9–12   20 %   80–95 %   absolute strength MVT–0.5 m/s
power      13–16  10 %   30–50 %   speed-strength 1.0–1.3 m/s
========== ====== ====== ========= ===================================

Pure: no store. :func:`zone_for` (the one call the share image and the dashboard need) reads the
plan and the profile from the history.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, replace

from vbt.fields import threshold_problem

#: The general zones (science.md: Mann, from Bosco's strength continuum), mean velocity in m/s.
#: ``None`` as the low end: the exercise's own 1RM velocity (its MVT).
GENERAL_ZONES = {
    "absolute strength": (None, 0.5),
    "accelerative strength": (0.5, 0.75),
    "strength-speed": (0.75, 1.0),
    "speed-strength": (1.0, 1.3),
    "starting strength": (1.3, 2.0),
}
GENERAL_SOURCE = "general zones (science.md: Mann)"
PROFILE_SOURCE = "athlete's own load-velocity profile"
PLAN_SOURCE = "zone set by hand in the plan"
#: The metric zones are written in (science.md: the zones are mean velocity).
ZONE_METRIC = "mean"
#: Zones in this range of velocities; the %1RM bands in this range.
MIN_ZONE_M_S, MAX_ZONE_M_S = 0.05, 3.0
MIN_PCT, MAX_PCT = 10.0, 110.0
MAX_WEEKS = 104
#: The answer ``classify`` gives.
BELOW, IN, ABOVE = "below", "in", "above"


class PlanError(ValueError):
    """A plan a person wrote is unusable; the message says why in one line."""


@dataclass(frozen=True)
class ZoneSpec:
    """An exercise's zone in a block, set by hand: a %1RM band, or velocities (m/s), or both."""

    pct_low: float | None = None
    pct_high: float | None = None
    low_m_s: float | None = None
    high_m_s: float | None = None


@dataclass(frozen=True)
class Block:
    """Weeks ``first_week``..``last_week`` of the plan's cycle (1-based, inclusive)."""

    name: str
    first_week: int
    last_week: int
    velocity_loss_pct: float
    pct_low: float
    pct_high: float
    general_zone: str
    zones: tuple[tuple[str, ZoneSpec], ...] = ()  # (exercise name, its zone), set by hand

    @property
    def weeks(self) -> int:
        return self.last_week - self.first_week + 1

    def zone_spec(self, exercise: str) -> ZoneSpec | None:
        key = (exercise or "").strip().casefold()
        return next((z for name, z in self.zones if name.strip().casefold() == key), None)

    def with_zone(self, exercise: str, spec: ZoneSpec | None) -> "Block":
        key = exercise.strip().casefold()
        kept = tuple((n, z) for n, z in self.zones if n.strip().casefold() != key)
        return replace(self, zones=kept + (((exercise.strip(), spec),) if spec is not None else ()))

    def to_json(self) -> dict:
        return {"name": self.name, "first_week": self.first_week, "last_week": self.last_week,
                "velocity_loss_pct": self.velocity_loss_pct, "pct_1rm": [self.pct_low, self.pct_high],
                "general_zone": self.general_zone, "general_m_s": list(GENERAL_ZONES[self.general_zone]),
                "zones": {n: {"pct_1rm": [z.pct_low, z.pct_high], "m_s": [z.low_m_s, z.high_m_s]}
                          for n, z in self.zones}}


DEFAULT_BLOCKS = (
    Block("activation", 1, 4, 10.0, 50.0, 65.0, "strength-speed"),
    Block("hypertrophy", 5, 8, 25.0, 65.0, 80.0, "accelerative strength"),
    Block("strength", 9, 12, 20.0, 80.0, 95.0, "absolute strength"),
    Block("power", 13, 16, 10.0, 30.0, 50.0, "speed-strength"),
)
#: A block named like a default one takes that one's limit, band and general zone unless given.
BLOCK_DEFAULTS = {b.name: b for b in DEFAULT_BLOCKS}


@dataclass(frozen=True)
class Plan:
    athlete: str
    start: _dt.date
    blocks: tuple[Block, ...] = DEFAULT_BLOCKS
    repeat: bool = True

    @property
    def cycle_weeks(self) -> int:
        return max((b.last_week for b in self.blocks), default=0)

    def block(self, name: str) -> Block:
        key = name.strip().casefold()
        for b in self.blocks:
            if b.name.casefold() == key:
                return b
        raise PlanError(f"the plan has no block {name!r} (blocks: {', '.join(b.name for b in self.blocks)})")

    def replace_block(self, name: str, new: Block | None) -> "Plan":
        key = name.strip().casefold()
        blocks = [b for b in self.blocks if b.name.casefold() != key]
        if new is not None:
            blocks.append(new)
        return replace(self, blocks=tuple(sorted(blocks, key=lambda b: (b.first_week, b.last_week))))

    def validate(self) -> list[str]:
        return plan_problems(self)

    def week(self, on: _dt.date) -> "PlanWeek":
        """Where ``on`` falls in the plan."""
        days = (on - self.start).days
        if days < 0:
            return PlanWeek(None, 0, 0, 0, f"the plan starts on {self.start.isoformat()}")
        week = days // 7 + 1
        cycle = self.cycle_weeks
        if cycle <= 0:
            return PlanWeek(None, week, 0, 0, "the plan has no blocks")
        n_cycle = (week - 1) // cycle + 1
        if n_cycle > 1 and not self.repeat:
            return PlanWeek(None, week, n_cycle, 0, f"the plan ended after week {cycle}")
        in_cycle = (week - 1) % cycle + 1
        for b in self.blocks:
            if b.first_week <= in_cycle <= b.last_week:
                return PlanWeek(b, week, n_cycle, in_cycle - b.first_week + 1, "")
        return PlanWeek(None, week, n_cycle, 0, f"week {in_cycle} of the cycle is in no block")

    def to_json(self) -> dict:
        return {"athlete": self.athlete, "start": self.start.isoformat(), "repeat": self.repeat,
                "cycle_weeks": self.cycle_weeks, "blocks": [b.to_json() for b in self.blocks]}


@dataclass(frozen=True)
class PlanWeek:
    """A date in the plan: its block (None between or outside blocks), the plan's week (1-based,
    counted from the start), the cycle (1-based) and the week in the block."""

    block: Block | None
    week: int
    cycle: int
    week_in_block: int
    why_none: str = ""

    def line(self) -> str:
        if self.block is None:
            return self.why_none
        again = f", cycle {self.cycle}" if self.cycle > 1 else ""
        return f"{self.block.name} week {self.week_in_block} of {self.block.weeks}{again}"


def default_plan(athlete: str, start: _dt.date) -> Plan:
    return Plan(athlete, start)


# ---- validation -----------------------------------------------------------------------------


def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def zone_problems(where: str, spec: ZoneSpec) -> list[str]:
    """A zone set by hand: each end in range, low below high."""
    problems = []
    for lo, hi, unit, least, most in ((spec.pct_low, spec.pct_high, "%1RM", MIN_PCT, MAX_PCT),
                                      (spec.low_m_s, spec.high_m_s, "m/s", MIN_ZONE_M_S, MAX_ZONE_M_S)):
        if lo is None and hi is None:
            continue
        if lo is None or hi is None:
            problems.append(f"zone {where}: give both ends ({unit})")
        elif not (_num(lo) and _num(hi) and least <= lo <= most and least <= hi <= most):
            problems.append(f"zone {where}: {lo:g}–{hi:g} {unit} is outside {least:g}–{most:g} {unit}")
        elif lo >= hi:
            problems.append(f"zone {where}: the low end {lo:g} {unit} is not below the high end {hi:g} {unit}")
    return problems


def plan_problems(plan: Plan) -> list[str]:
    """Everything wrong with a plan, one readable line each (empty: usable)."""
    problems = []
    if not plan.blocks:
        problems.append("the plan has no blocks")
    seen = set()
    for b in plan.blocks:
        name = b.name.strip()
        if not name:
            problems.append("a block has no name")
        elif name.casefold() in seen:
            problems.append(f"two blocks are named {name!r}")
        seen.add(name.casefold())
        if not (isinstance(b.first_week, int) and isinstance(b.last_week, int)
                and 1 <= b.first_week <= b.last_week <= MAX_WEEKS):
            problems.append(f"block {name}: weeks {b.first_week}–{b.last_week} are not 1 ≤ first ≤ last ≤ {MAX_WEEKS}")
        limit = threshold_problem(b.velocity_loss_pct)
        if limit:
            problems.append(f"block {name}: {limit.split(': ', 1)[1]}")
        problems += zone_problems(f"{name}", ZoneSpec(pct_low=b.pct_low, pct_high=b.pct_high))
        if b.general_zone not in GENERAL_ZONES:
            problems.append(f"block {name}: no general zone {b.general_zone!r} (one of {', '.join(GENERAL_ZONES)})")
        for exercise, spec in b.zones:
            problems += zone_problems(f"{name}/{exercise}", spec)
    ordered = sorted(plan.blocks, key=lambda b: (b.first_week, b.last_week))
    for a, b in zip(ordered, ordered[1:]):
        if b.first_week <= a.last_week:
            problems.append(f"blocks {a.name} (weeks {a.first_week}–{a.last_week}) and {b.name} "
                            f"(weeks {b.first_week}–{b.last_week}) overlap")
    return problems


def checked(plan: Plan) -> Plan:
    problems = plan_problems(plan)
    if problems:
        raise PlanError("; ".join(problems))
    return plan


# ---- what a person types ----------------------------------------------------------------------


def parse_date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise PlanError(f"{text!r} is not a date like 2026-01-05") from None


def parse_range(text: str, what: str) -> tuple[float, float]:
    """``"0.5-0.75"`` -> (0.5, 0.75); the order is kept, so min > max is caught by validation."""
    raw = (text or "").strip().replace("–", "-").rstrip("%").replace("m/s", "").strip()
    lo, sep, hi = raw.partition("-")
    try:
        if not sep:
            raise ValueError
        return float(lo), float(hi.rstrip("%").strip())
    except ValueError:
        raise PlanError(f"{what} {text!r}: write LOW-HIGH, e.g. 0.5-0.75") from None


def parse_blocks(specs: list[str]) -> tuple[Block, ...]:
    """``NAME:FIRST-LAST`` (weeks of the cycle) or ``NAME:N`` (N weeks after the block before),
    optionally ``@PCT`` (its velocity-loss limit). A name of a default block takes that block's
    limit, %1RM band and general zone; any other name the strength block's until edited."""
    blocks, after = [], 0
    for spec in specs:
        name, sep, rest = spec.partition(":")
        name = name.strip()
        if not sep or not name:
            raise PlanError(f"block {spec!r}: write NAME:FIRST-LAST or NAME:WEEKS, e.g. strength:9-12")
        weeks, at, limit = rest.partition("@")
        try:
            if "-" in weeks:
                first, last = (int(w) for w in weeks.split("-", 1))
            else:
                first, last = after + 1, after + int(weeks)
        except ValueError:
            raise PlanError(f"block {spec!r}: weeks must be whole numbers, e.g. strength:9-12") from None
        base = BLOCK_DEFAULTS.get(name.casefold(), BLOCK_DEFAULTS["strength"])
        block = Block(name, first, last, base.velocity_loss_pct, base.pct_low, base.pct_high, base.general_zone)
        if at:
            try:
                block = replace(block, velocity_loss_pct=float(limit.strip().rstrip("%")))
            except ValueError:
                raise PlanError(f"block {spec!r}: the limit after @ must be a number, e.g. strength:9-12@20") from None
        blocks.append(block)
        after = last
    return tuple(blocks)


# ---- zones --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneTarget:
    """The target zone of one exercise on one day, in mean velocity, and where it came from."""

    block: str
    week_in_block: int
    block_weeks: int
    low_m_s: float
    high_m_s: float
    source: str  # "profile" | "general" | "plan"
    source_text: str  # for a person: which profile, which table
    pct_low: float | None = None
    pct_high: float | None = None
    general_zone: str | None = None

    def classify(self, velocity_m_s) -> str | None:
        if velocity_m_s is None or not math.isfinite(velocity_m_s):
            return None
        if velocity_m_s < self.low_m_s:
            return BELOW
        return ABOVE if velocity_m_s > self.high_m_s else IN

    def label(self) -> str:
        band = f" ({self.pct_low:g}–{self.pct_high:g} %1RM)" if self.source == "profile" else ""
        name = f" {self.general_zone}" if self.source == "general" and self.general_zone else ""
        return f"{self.block} zone{name} {self.low_m_s:.2f}–{self.high_m_s:.2f} m/s{band}"

    def verdict(self, velocity_m_s) -> str | None:
        """``"in the hypertrophy zone 0.55–0.72 m/s"`` (None without a velocity)."""
        where = self.classify(velocity_m_s)
        if where is None:
            return None
        return f"{where} {self.label()}" if where != IN else f"in {self.label()}"

    def to_json(self) -> dict:
        return {"block": self.block, "week_in_block": self.week_in_block, "block_weeks": self.block_weeks,
                "low_m_s": self.low_m_s, "high_m_s": self.high_m_s, "source": self.source,
                "source_text": self.source_text, "pct_1rm": [self.pct_low, self.pct_high],
                "general_zone": self.general_zone}


@dataclass(frozen=True)
class ZoneCall:
    """One rep against its zone: ``where`` is "below", "in" or "above"."""

    target: ZoneTarget
    where: str
    velocity_m_s: float

    def line(self) -> str:
        return f"{self.where} {self.target.label()}, from the {self.target.source_text}"

    def to_json(self) -> dict:
        return {"where": self.where, "velocity_m_s": self.velocity_m_s, **self.target.to_json()}


def call_rep(target: ZoneTarget | None, rep) -> ZoneCall | None:
    """A rep's mean velocity against the target (None without a target, or a doubtful rep)."""
    if target is None or getattr(rep, "doubtful", False):
        return None
    v = rep.mean_velocity_m_s
    where = target.classify(v)
    return None if where is None else ZoneCall(target, where, float(v))


def zone_target(plan: Plan, exercise: str, on: _dt.date, profile=None, mvt_m_s: float | None = None
                ) -> ZoneTarget | None:
    """The zone for ``exercise`` on ``on`` (None outside every block).

    ``profile``: the athlete's load-velocity profile of the exercise in mean velocity
    (:class:`vbt.profile.LoadVelocityProfile`) or None; ``mvt_m_s`` the exercise's 1RM velocity,
    the low end of the general "absolute strength" zone (0.3 m/s, the full squat's, when unknown).
    """
    where = plan.week(on)
    b = where.block
    if b is None:
        return None
    common = dict(block=b.name, week_in_block=where.week_in_block, block_weeks=b.weeks)
    spec = b.zone_spec(exercise) or ZoneSpec()
    if spec.low_m_s is not None and spec.high_m_s is not None:
        return ZoneTarget(low_m_s=spec.low_m_s, high_m_s=spec.high_m_s, source="plan", source_text=PLAN_SOURCE,
                          **common)
    pct_low = spec.pct_low if spec.pct_low is not None else b.pct_low
    pct_high = spec.pct_high if spec.pct_high is not None else b.pct_high
    if profile is not None and getattr(profile, "metric", ZONE_METRIC) == ZONE_METRIC:
        one_rm = profile.one_rm_kg
        fast = float(profile.velocity_at_load_m_s(one_rm * pct_low / 100.0))
        slow = float(profile.velocity_at_load_m_s(one_rm * pct_high / 100.0))
        if one_rm > 0 and math.isfinite(fast) and math.isfinite(slow) and 0 < slow < fast:
            flag = ", low confidence" if getattr(profile, "low_confidence", False) else ""
            text = f"{PROFILE_SOURCE} (1RM {one_rm:.0f} kg from {profile.n_points} loads{flag})"
            return ZoneTarget(low_m_s=slow, high_m_s=fast, source="profile", source_text=text, pct_low=pct_low,
                              pct_high=pct_high, **common)
    low, high = GENERAL_ZONES[b.general_zone]
    if low is None:
        low = mvt_m_s if mvt_m_s is not None and 0 < mvt_m_s < high else 0.3
    why = "no load-velocity profile yet" if profile is None else "the profile cannot give this band"
    return ZoneTarget(low_m_s=low, high_m_s=high, source="general", source_text=f"{GENERAL_SOURCE}; {why}",
                      pct_low=pct_low, pct_high=pct_high, general_zone=b.general_zone, **common)


def zone_for(athlete: str, exercise: str, load_kg: float | None, velocity_m_s: float | None,
             date: _dt.date | None = None, *, store=None) -> tuple[str, str] | None:
    """The zone of a rep (or a set's best), for anything that shows it: ``(zone, source)``, e.g.
    ``("in hypertrophy zone 0.55–0.72 m/s (65–80 %1RM)", "athlete's own load-velocity profile (1RM 140 kg from 3
    loads)")``, or None when the athlete has no plan or ``date`` is in no block.

    ``velocity_m_s`` is the mean velocity (zones are written in it); None gives the zone without a
    verdict. ``load_kg`` is not needed by the zone itself (it is a velocity band); it is accepted so
    that callers pass what they have. ``store``: an open :class:`vbt.store.Store` (else the default
    history is opened and closed).
    """
    del load_kg
    date = date or _dt.date.today()
    own = store is None
    if own:
        from vbt.store import Store

        store = Store.open()
    try:
        target = store.zone_target(athlete, exercise, date)
    finally:
        if own:
            store.close()
    if target is None:
        return None
    verdict = target.verdict(velocity_m_s) if velocity_m_s is not None else target.label()
    return verdict, target.source_text


__all__ = [
    "ABOVE", "BELOW", "BLOCK_DEFAULTS", "Block", "DEFAULT_BLOCKS", "GENERAL_SOURCE", "GENERAL_ZONES", "IN",
    "PLAN_SOURCE", "PROFILE_SOURCE", "Plan", "PlanError", "PlanWeek", "ZoneCall", "ZoneSpec", "ZoneTarget",
    "call_rep", "checked",
    "default_plan", "parse_blocks", "parse_date", "parse_range", "plan_problems", "zone_for", "zone_problems",
    "zone_target",
]
