"""Retest: a test against the same lifts weeks later (science.md: "a retest after four weeks").

A test is a session whose sets of an exercise are marked as a test (``vbt retest --mark``). A retest
compares it with a later session of the same exercise:

- **the same load, then and now**: at each load both sessions lifted (within 2.5 %), the fastest
  rep then and now, and the change. Changes smaller than the smallest change a good device can
  detect (0.01–0.02 m/s, T-Force, Martínez-Cava 2020; science.md) are said to be within noise.
- **the 1RM, then and now**: each session's own load-velocity profile (fastest rep per load,
  :func:`vbt.profile.fit_profile`, the exercise's MVT) with its interval. The change's uncertainty
  combines the two intervals' half-widths in quadrature (the two fits are independent), so a
  change inside it is not called a gain or a loss.

Which sessions: ``test_session`` and ``retest_session`` when given; else the latest test and the
latest session after it; and if the latest test is the latest session (the retest itself was
marked as a test), the test before it and that one.

A retest is **due** when an exercise's latest test is ``days`` (28) days old or more.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from vbt.dayrule import set_best
from vbt.profile import ProfileError, fit_profile

DEFAULT_RETEST_DAYS = 28
LOAD_TOLERANCE_PCT = 2.5
#: Smallest detectable change of mean velocity (T-Force, Martínez-Cava 2020: 0.01–0.02 m/s; science.md).
SMALLEST_CHANGE_M_S = 0.02


class RetestError(ValueError):
    """No retest can be made; the message says why in one line."""


@dataclass(frozen=True)
class SessionLifts:
    """One session's working sets of the exercise: fastest rep per load, and its profile (or why not)."""

    session_id: int
    date: str
    started_at_unix_s: float
    points: tuple[tuple[float | None, float], ...]  # (load kg, fastest rep m/s), by load
    profile: object = None  # LoadVelocityProfile or None
    profile_problem: str | None = None
    is_test: bool = False


@dataclass(frozen=True)
class LoadChange:
    load_kg: float | None
    then_m_s: float
    now_m_s: float

    @property
    def change_m_s(self) -> float:
        return self.now_m_s - self.then_m_s

    @property
    def change_pct(self) -> float:
        return 100.0 * self.change_m_s / self.then_m_s

    @property
    def beyond_noise(self) -> bool:
        return abs(self.change_m_s) > SMALLEST_CHANGE_M_S

    def line(self) -> str:
        at = "no load" if self.load_kg is None else f"{self.load_kg:g} kg"
        verdict = ("faster" if self.change_m_s > 0 else "slower") if self.beyond_noise else \
            f"within the smallest detectable change ({SMALLEST_CHANGE_M_S:g} m/s)"
        return (f"{at}: {self.then_m_s:.3f} → {self.now_m_s:.3f} m/s ({self.change_m_s:+.3f} m/s, "
                f"{self.change_pct:+.1f} %): {verdict}")

    def to_json(self) -> dict:
        return {"load_kg": self.load_kg, "then_m_s": self.then_m_s, "now_m_s": self.now_m_s,
                "change_m_s": self.change_m_s, "change_pct": self.change_pct, "beyond_noise": self.beyond_noise}


@dataclass(frozen=True)
class Retest:
    athlete: str
    exercise: str
    metric: str
    test: SessionLifts
    now: SessionLifts
    loads: tuple[LoadChange, ...]

    @property
    def days_apart(self) -> float:
        return (self.now.started_at_unix_s - self.test.started_at_unix_s) / 86400.0

    @property
    def one_rm_change_kg(self) -> float | None:
        if self.test.profile is None or self.now.profile is None:
            return None
        return self.now.profile.one_rm_kg - self.test.profile.one_rm_kg

    @property
    def one_rm_change_uncertainty_kg(self) -> float | None:
        """Half-width of the change's interval: the two profiles' half-widths in quadrature."""
        if self.test.profile is None or self.now.profile is None:
            return None
        halves = [(p.one_rm_high_kg - p.one_rm_low_kg) / 2.0 for p in (self.test.profile, self.now.profile)]
        return math.hypot(*halves)

    def _one_rm_line(self, lifts: SessionLifts, when: str) -> str:
        p = lifts.profile
        if p is None:
            return f"  1RM {when}: not estimated ({lifts.profile_problem})"
        flag = " [LOW CONFIDENCE]" if p.low_confidence else ""
        return (f"  1RM {when}: {p.one_rm_kg:.1f} kg ({round(p.confidence * 100)} % {p.interval_method} "
                f"{p.one_rm_low_kg:.1f}–{p.one_rm_high_kg:.1f} kg, {p.n_points} loads){flag}")

    def lines(self) -> list[str]:
        out = [f"{self.exercise} ({self.athlete}): test {self.test.date} (session {self.test.session_id}) against "
               f"{self.now.date} (session {self.now.session_id}), {self.days_apart:.0f} days later; fastest rep in "
               f"{self.metric} velocity"]
        if self.loads:
            out.append("  same load, then → now:")
            out.extend(f"    {c.line()}" for c in self.loads)
        else:
            out.append("  no load lifted in both sessions (±2.5 %): no same-load comparison")
        out.append(self._one_rm_line(self.test, "then"))
        out.append(self._one_rm_line(self.now, "now"))
        change, unc = self.one_rm_change_kg, self.one_rm_change_uncertainty_kg
        if change is not None:
            verdict = ("within the uncertainty: no change shown" if abs(change) <= unc
                       else "a gain beyond the uncertainty" if change > 0 else "a loss beyond the uncertainty")
            out.append(f"  1RM change: {change:+.1f} kg ± {unc:.1f} kg: {verdict}")
        if self.days_apart < DEFAULT_RETEST_DAYS - 0.5:
            out.append(f"  note: {self.days_apart:.0f} days apart; the method retests after four weeks")
        return out

    def to_json(self) -> dict:
        def lifts(s: SessionLifts) -> dict:
            return {"session_id": s.session_id, "date": s.date, "is_test": s.is_test,
                    "points": [{"load_kg": lo, "velocity_m_s": v} for lo, v in s.points],
                    "profile": None if s.profile is None else s.profile.to_json(),
                    "profile_problem": s.profile_problem}

        return {"athlete": self.athlete, "exercise": self.exercise, "metric": self.metric,
                "days_apart": self.days_apart, "test": lifts(self.test), "now": lifts(self.now),
                "same_load": [c.to_json() for c in self.loads], "one_rm_change_kg": self.one_rm_change_kg,
                "one_rm_change_uncertainty_kg": self.one_rm_change_uncertainty_kg}


def _same_load(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= LOAD_TOLERANCE_PCT / 100.0 * max(abs(a), abs(b))


def _lifts(store, ex, records, metric: str) -> SessionLifts:
    from vbt.store.records import local_date

    best_at: dict = {}
    for r in records:
        best = set_best([s.rep for s in store.reps(r.id, include_deleted=False)], metric)
        if best is None:
            continue
        key = None if r.load_kg is None else round(r.load_kg, 2)
        best_at[key] = max(best, best_at.get(key, best))
    points = tuple(sorted(best_at.items(), key=lambda kv: (kv[0] is None, kv[0] or 0.0)))
    loaded = [(lo, v) for lo, v in points if lo is not None]
    profile, problem = None, None
    try:
        profile = fit_profile([lo for lo, _ in loaded], [v for _, v in loaded], ex.mvt_m_s, metric=metric,
                              low_confidence=ex.low_confidence, exercise=ex.name)
    except ProfileError as exc:
        problem = str(exc)
    started = min(r.started_at_unix_s for r in records)
    return SessionLifts(records[0].session_id, local_date(started), started, points, profile, problem,
                        any(r.is_test for r in records))


def _by_session(records) -> dict[int, list]:
    out: dict[int, list] = {}
    for r in records:
        out.setdefault(r.session_id, []).append(r)
    return out


def retest(store, athlete: str, exercise: str, *, metric: str = "mean", test_session: int | None = None,
           retest_session: int | None = None) -> Retest:
    """The retest of ``athlete``'s ``exercise`` (see the module's docstring for which sessions)."""
    ex = store.exercise(exercise)
    store.athlete_id(athlete)  # UnknownAthleteError for a wrong name
    records = [r for r in store.sets(athlete=athlete, exercise=ex.name) if not r.in_progress and not r.warmup]
    sessions = _by_session(records)
    order = sorted(sessions, key=lambda sid: min(r.started_at_unix_s for r in sessions[sid]))
    tests = [sid for sid in order if any(r.is_test for r in sessions[sid])]
    if test_session is not None:
        if test_session not in sessions:
            raise RetestError(f"session {test_session} has no {ex.name} sets of {athlete}")
        test = test_session
    elif not tests:
        raise RetestError(f"{athlete} has no {ex.name} test to retest: mark one first with "
                          f"`vbt retest --mark session:ID --exercise {_quoted(ex.name)}`")
    else:
        test = tests[-1]
        if retest_session is None and order[-1] == test:
            if len(tests) < 2:
                due = sessions[test][0].started_at_unix_s + DEFAULT_RETEST_DAYS * 86400.0
                from vbt.store.records import local_date

                raise RetestError(f"no {ex.name} session after the test of {local_date(min(r.started_at_unix_s for r in sessions[test]))} "  # noqa: E501
                                  f"(session {test}) yet: the retest is due on {local_date(due)}")
            test = tests[-2]
    if retest_session is None:
        later = [sid for sid in order if order.index(sid) > order.index(test)]
        if not later:
            raise RetestError(f"no {ex.name} session after session {test} to compare with")
        retest_session = later[-1]
    elif retest_session not in sessions:
        raise RetestError(f"session {retest_session} has no {ex.name} sets of {athlete}")
    if retest_session == test:
        raise RetestError("the test and the retest are the same session")
    then = _lifts(store, ex, sessions[test], metric)
    now = _lifts(store, ex, sessions[retest_session], metric)
    changes = []
    for load, v_then in then.points:
        match = [v for lo, v in now.points if _same_load(lo, load)]
        if match:
            changes.append(LoadChange(load, v_then, max(match)))
    return Retest(athlete, ex.name, metric, then, now, tuple(changes))


@dataclass(frozen=True)
class RetestDue:
    athlete: str
    exercise: str
    test_session: int
    test_unix_s: float
    due_unix_s: float
    now_unix_s: float

    @property
    def days_since_test(self) -> int:
        return int((self.now_unix_s - self.test_unix_s) // 86400)

    def line(self) -> str:
        from vbt.store.records import local_date

        return (f"retest due: {self.exercise} ({self.athlete}), test on {local_date(self.test_unix_s)} "
                f"(session {self.test_session}), {self.days_since_test} days ago; "
                f"due since {local_date(self.due_unix_s)}")

    def to_json(self) -> dict:
        from vbt.store.records import local_date

        return {"athlete": self.athlete, "exercise": self.exercise, "test_session": self.test_session,
                "test_date": local_date(self.test_unix_s), "due_date": local_date(self.due_unix_s),
                "days_since_test": self.days_since_test}


def due_retests(store, *, athlete: str | None = None, days: int = DEFAULT_RETEST_DAYS,
                now_unix_s: float | None = None) -> list[RetestDue]:
    """Exercises whose latest test is ``days`` days old or more (a later test is the retest)."""
    if not 1 <= days <= 365:
        raise RetestError(f"--days {days} is outside 1–365")
    now = time.time() if now_unix_s is None else now_unix_s
    tests = [r for r in store.sets(athlete=athlete) if r.is_test and not r.in_progress]
    latest: dict = {}
    for r in tests:
        key = (r.athlete, r.exercise)
        if key not in latest or r.started_at_unix_s > latest[key].started_at_unix_s:
            latest[key] = r
    out = []
    for (who, exercise), last in sorted(latest.items()):
        began = min(r.started_at_unix_s for r in tests if r.session_id == last.session_id
                    and r.exercise == exercise)  # the test's first set
        due = began + days * 86400.0
        if now >= due:
            out.append(RetestDue(who, exercise, last.session_id, began, due, now))
    return out


def _quoted(name: str) -> str:
    return name if name.replace("-", "").isalnum() else f'"{name}"'
