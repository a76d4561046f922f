"""Side to side: unilateral sets (left and right) compared at matched loads, the gap and its trend.

Unilateral loading exposes side-to-side gaps (science.md, training section). A session's left and
right sets are compared like with like, and the comparison says how (``basis``):

``"same_load"``
    Both sides lifted the same load (within ``load_tolerance_pct``, 2.5 %): each side's fastest rep
    at the heaviest such load.
``"profile"``
    The loads differ: each side's best set is carried to one common load (the mean of the two
    loads) along that side's own load-velocity profile, ``v + line(common) - line(load)``, so the
    measured sets are compared, not the lines.
``"none"``
    Neither is possible (one side missing, or a side without a profile when the loads differ).

The gap is ``100 * (faster - slower) / faster`` in percent of the faster side, with the slower side
named; the signed ``left_minus_right_pct`` (positive: left faster) is what the trend follows.

Pure: no store, no threads. :func:`side_report` reads the history through a ``Store``'s public API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vbt.dayrule import set_best

BASES = ("same_load", "profile", "none")
DEFAULT_LOAD_TOLERANCE_PCT = 2.5


@dataclass(frozen=True)
class SideSet:
    """One side's finished set, as the comparison needs it (best rep in the report's metric)."""

    side: str  # "left" | "right"
    load_kg: float | None
    best_m_s: float
    set_id: int | None = None


@dataclass(frozen=True)
class SideGap:
    """Left against right in one session (or at the rack, after the second side's set)."""

    basis: str  # one of BASES
    load_kg: float | None  # the load compared at
    left_m_s: float | None
    right_m_s: float | None
    left_load_kg: float | None  # the loads the compared sets were lifted with
    right_load_kg: float | None
    reason: str
    session_id: int | None = None
    date: str | None = None
    started_at_unix_s: float | None = None

    @property
    def compared(self) -> bool:
        return self.basis != "none" and self.left_m_s is not None and self.right_m_s is not None

    @property
    def left_minus_right_pct(self) -> float | None:
        """Signed gap: positive when the left side is faster, in percent of the faster side."""
        if not self.compared:
            return None
        faster = max(self.left_m_s, self.right_m_s)
        return 100.0 * (self.left_m_s - self.right_m_s) / faster if faster > 0 else None

    @property
    def gap_pct(self) -> float | None:
        signed = self.left_minus_right_pct
        return None if signed is None else abs(signed)

    @property
    def slower_side(self) -> str | None:
        signed = self.left_minus_right_pct
        if signed is None or signed == 0:
            return None
        return "right" if signed > 0 else "left"

    def line(self) -> str:
        """One line a person reads: "left 0.52 · right 0.47 m/s at 60 kg: right 9.6 % slower (same load)"."""
        if not self.compared:
            return self.reason
        how = "same load" if self.basis == "same_load" else "via each side's profile"
        at = "no load" if self.load_kg is None else f"{self.load_kg:g} kg"
        gap = (f"{self.slower_side} {self.gap_pct:.1f} % slower" if self.slower_side
               else "no gap")
        return f"left {self.left_m_s:.2f} · right {self.right_m_s:.2f} m/s at {at}: {gap} ({how})"

    def to_json(self) -> dict:
        return {"session_id": self.session_id, "date": self.date, "basis": self.basis, "load_kg": self.load_kg,
                "left_m_s": self.left_m_s, "right_m_s": self.right_m_s, "left_load_kg": self.left_load_kg,
                "right_load_kg": self.right_load_kg, "gap_pct": self.gap_pct, "slower_side": self.slower_side,
                "left_minus_right_pct": self.left_minus_right_pct, "reason": self.reason}


def _same_load(a: float | None, b: float | None, tolerance_pct: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance_pct / 100.0 * max(abs(a), abs(b))


def _line(profile, load_kg: float | None) -> float | None:
    if profile is None or load_kg is None:
        return None
    v = float(profile.velocity_at_load_m_s(load_kg))
    return v if math.isfinite(v) else None


def compare_sides(sets, left_profile=None, right_profile=None,
                  load_tolerance_pct: float = DEFAULT_LOAD_TOLERANCE_PCT) -> SideGap:
    """Compare the left and right sets of one session (:class:`SideSet`, any order).

    ``left_profile`` / ``right_profile``: each side's load-velocity profile
    (``vbt.profile.LoadVelocityProfile``, same metric as the sets) for when the loads differ.
    """
    left = [s for s in sets if s.side == "left" and s.best_m_s is not None]
    right = [s for s in sets if s.side == "right" and s.best_m_s is not None]
    if not left or not right:
        missing = "left" if not left else "right"
        return SideGap("none", None, None, None, None, None, f"no {missing}-side set to compare with")
    # Same load: the heaviest load both sides lifted, each side's fastest set there.
    pairs = [(lo, ro) for lo in left for ro in right if _same_load(lo.load_kg, ro.load_kg, load_tolerance_pct)]
    if pairs:
        heaviest = max((lo.load_kg or 0.0) for lo, _ in pairs)
        at = [(lo, ro) for lo, ro in pairs if (lo.load_kg or 0.0) == heaviest]
        lv = max(lo.best_m_s for lo, _ in at)
        rv = max(ro.best_m_s for _, ro in at)
        l_load = next(lo.load_kg for lo, _ in at if lo.best_m_s == lv)
        r_load = next(ro.load_kg for _, ro in at if ro.best_m_s == rv)
        return SideGap("same_load", l_load, lv, rv, l_load, r_load,
                       f"same load (±{load_tolerance_pct:g} %): each side's fastest rep")
    # Different loads: each side's best set (the heaviest one, fastest there) carried to the mean load.
    lo = max(left, key=lambda s: ((s.load_kg or 0.0), s.best_m_s))
    ro = max(right, key=lambda s: ((s.load_kg or 0.0), s.best_m_s))
    loads = ", ".join(f"{s.side} " + ("no load" if s.load_kg is None else f"{s.load_kg:g} kg") for s in (lo, ro))
    if lo.load_kg is None or ro.load_kg is None:
        return SideGap("none", None, None, None, lo.load_kg, ro.load_kg,
                       f"the loads differ ({loads}): not compared")
    common = 0.5 * (lo.load_kg + ro.load_kg)
    shifts = []
    for s, profile in ((lo, left_profile), (ro, right_profile)):
        a, b = _line(profile, common), _line(profile, s.load_kg)
        shifts.append(None if a is None or b is None else a - b)
    if None in shifts:
        which = ("neither side has a" if shifts == [None, None]
                 else f"the {'left' if shifts[0] is None else 'right'} side has no")
        return SideGap("none", None, None, None, lo.load_kg, ro.load_kg,
                       f"the loads differ ({loads}) and {which} load-velocity profile: "
                       f"lift the same load on both sides to compare")
    return SideGap("profile", common, lo.best_m_s + shifts[0], ro.best_m_s + shifts[1], lo.load_kg, ro.load_kg,
                   f"loads differ ({loads}): each side carried to {common:g} kg along its own profile")


@dataclass(frozen=True)
class SideTrend:
    """The gap over sessions: first and last, and the least-squares change per week (3+ sessions)."""

    n_sessions: int
    first_gap_pct: float | None
    last_gap_pct: float | None
    change_pct_per_week: float | None  # of the absolute gap; negative: closing

    def line(self) -> str:
        if self.n_sessions == 0:
            return "no session with both sides compared"
        if self.n_sessions == 1:
            return f"one session compared: gap {self.last_gap_pct:.1f} %"
        move = self.last_gap_pct - self.first_gap_pct
        word = "closing" if move < 0 else "widening" if move > 0 else "unchanged"
        text = (f"gap {self.first_gap_pct:.1f} % → {self.last_gap_pct:.1f} % over {self.n_sessions} sessions "
                f"({word})")
        if self.change_pct_per_week is not None:
            text += f", {self.change_pct_per_week:+.2f} % per week (least squares)"
        return text

    def to_json(self) -> dict:
        return {"n_sessions": self.n_sessions, "first_gap_pct": self.first_gap_pct,
                "last_gap_pct": self.last_gap_pct, "change_pct_per_week": self.change_pct_per_week}


def side_trend(gaps) -> SideTrend:
    """The trend of the compared gaps (:class:`SideGap` with ``started_at_unix_s``, oldest first)."""
    done = [g for g in gaps if g.compared]
    if not done:
        return SideTrend(0, None, None, None)
    slope = None
    if len(done) >= 3 and all(g.started_at_unix_s is not None for g in done):
        weeks = [g.started_at_unix_s / (7 * 86400.0) for g in done]
        mean_w = sum(weeks) / len(weeks)
        ys = [g.gap_pct for g in done]
        mean_y = sum(ys) / len(ys)
        sxx = sum((w - mean_w) ** 2 for w in weeks)
        if sxx > 0:
            slope = sum((w - mean_w) * (y - mean_y) for w, y in zip(weeks, ys)) / sxx
    return SideTrend(len(done), done[0].gap_pct, done[-1].gap_pct, slope)


@dataclass(frozen=True)
class SideReport:
    athlete: str
    exercise: str
    metric: str
    sessions: tuple[SideGap, ...]
    trend: SideTrend
    notes: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        out = [f"{self.exercise} ({self.athlete}): left against right, fastest rep in {self.metric} velocity"]
        for g in self.sessions:
            out.append(f"  {g.date}  session {g.session_id}: {g.line()}")
        out.append(f"  trend: {self.trend.line()}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def to_json(self) -> dict:
        return {"athlete": self.athlete, "exercise": self.exercise, "metric": self.metric,
                "sessions": [g.to_json() for g in self.sessions], "trend": self.trend.to_json(),
                "notes": list(self.notes)}


class SidesError(ValueError):
    """No side-to-side report can be made; the message says why in one line."""


def side_report(store, athlete: str, exercise: str, metric: str = "mean",
                load_tolerance_pct: float = DEFAULT_LOAD_TOLERANCE_PCT) -> SideReport:
    """Every session of ``athlete`` with left or right sets of ``exercise``, compared (oldest first).

    Profiles for different loads are each side's own, fitted from the sets up to that session
    (``Store.load_velocity_profile(..., side=...)``, its default window).
    """
    from vbt.profile import ProfileError
    from vbt.store.records import local_date

    ex = store.exercise(exercise)
    records = [r for r in store.sets(athlete=athlete, exercise=ex.name)
               if r.side in ("left", "right") and not r.in_progress and not r.warmup]
    if not records:
        hint = "" if ex.unilateral else f" ({ex.name} is not marked unilateral: record its sets with --side)"
        raise SidesError(f"{athlete} has no left or right {ex.name} sets in the history{hint}")
    by_session: dict[int, list] = {}
    for r in records:
        by_session.setdefault(r.session_id, []).append(r)
    gaps = []
    for session_id, recs in by_session.items():
        sets = []
        for r in recs:
            best = set_best([s.rep for s in store.reps(r.id, include_deleted=False)], metric)
            if best is not None:
                sets.append(SideSet(r.side, r.load_kg, best, r.id))
        profiles = {}
        if len({s.load_kg for s in sets}) > 1:
            until = max(r.started_at_unix_s for r in recs)
            for side in ("left", "right"):
                try:
                    profiles[side] = store.load_velocity_profile(ex.name, athlete=athlete, metric=metric,
                                                                 until_unix_s=until, side=side)
                except ProfileError:
                    profiles[side] = None
        gap = compare_sides(sets, profiles.get("left"), profiles.get("right"), load_tolerance_pct)
        started = min(r.started_at_unix_s for r in recs)
        gaps.append(SideGap(**{**gap.__dict__, "session_id": session_id, "date": local_date(started),
                               "started_at_unix_s": started}))
    gaps.sort(key=lambda g: g.started_at_unix_s)
    notes = []
    if not ex.unilateral:
        notes.append(f"{ex.name} is not marked unilateral in the catalogue; its left/right sets are compared anyway")
    return SideReport(athlete, ex.name, metric, tuple(gaps), side_trend(gaps), tuple(notes))
