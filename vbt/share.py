"""What a shared summary says about a set: the numbers a coach texts, with no Qt.

:class:`ShareSet` is filled from the history (:func:`share_sets`) or by the dashboard from the set on
screen; ``gui.share_card`` paints one or several of them into a 1080-pixel-wide PNG.

``zone`` is the training plan's velocity zone of the set's best rep and where the zone came from
(``vbt.plan.zone_for``, issue 13 item 4), when the athlete has a plan; the card prints it when given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vbt.config import METRIC_LABELS


@dataclass(frozen=True)
class ShareSet:
    athlete: str
    exercise: str
    when_unix_s: float
    load_kg: float | None
    side: str
    metric: str
    threshold_pct: float
    velocities_m_s: tuple[float | None, ...]  # kept reps, in the set's metric
    losses_pct: tuple[float | None, ...]
    doubtful: tuple[bool, ...] = ()
    best_rep: int | None = None
    stop_rep: int | None = None
    tempo_marks: tuple[int, ...] = ()  # reps that missed the tempo
    tempo_line: str | None = None  # "tempo 3:1 kept 4/5"
    day_done: bool = False
    day_line: str | None = None
    warmup: bool = False
    zone: str | None = None
    side_line: str | None = None  # left against right, when this set was the second side's
    rpe: float | None = None
    note: str | None = None
    set_id: int | None = None
    set_number: int | None = None
    warning_margin_pct: float = 3.0

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS.get(self.metric, self.metric)

    @property
    def best_m_s(self) -> float | None:
        if self.best_rep and 0 < self.best_rep <= len(self.velocities_m_s):
            return self.velocities_m_s[self.best_rep - 1]
        finite = [v for v in self.velocities_m_s if v is not None and math.isfinite(v)]
        return max(finite) if finite else None

    @property
    def stop_below_m_s(self) -> float | None:
        best = self.best_m_s
        return None if best is None else best * (1.0 - self.threshold_pct / 100.0)

    @property
    def max_loss_pct(self) -> float | None:
        finite = [x for x in self.losses_pct if x is not None and math.isfinite(x)]
        return max(finite) if finite else None

    @property
    def n_reps(self) -> int:
        return len(self.velocities_m_s)

    def level(self, i: int) -> str:
        """"good" / "warning" / "stop" for rep ``i`` (1-based), as the dashboard colours it."""
        loss = self.losses_pct[i - 1] if i - 1 < len(self.losses_pct) else None
        if i == 1 or loss is None or not math.isfinite(loss):
            return "good"
        if loss >= self.threshold_pct:
            return "stop"
        if loss >= self.threshold_pct - self.warning_margin_pct:
            return "warning"
        return "good"

    def verdicts(self) -> list[tuple[str, str]]:
        """(kind, words) for the set's outcome: ``stop``, ``day`` (done for today), ``done``."""
        out = []
        if self.stop_rep:
            out.append(("stop", f"STOP at rep {self.stop_rep}"))
        if self.day_done:
            out.append(("day", "DONE FOR TODAY"))
        if not out:
            out.append(("done", "limit not reached"))
        return out

    def load_words(self) -> str:
        load = "no load" if self.load_kg is None else f"{self.load_kg:g} kg"
        return load + ("" if self.side == "both" else f" · {self.side} side")


def share_sets(store, kind: str, number: int) -> list[ShareSet]:
    """The sets of ``kind`` ("set" or "session") ``number`` from the history, as the card shows them.
    Raises the store's NotFoundError (one line) for a wrong id."""
    from vbt.store import NotFoundError

    if kind == "set":
        record = store.get_set(number)  # NotFoundError for a wrong id; a deleted set is shared alone
        session = [r for r in store.sets(session_id=record.session_id)
                   if r.started_at_unix_s <= record.started_at_unix_s and r.id != number]
        shared = _with_side_lines([_from_record(store, r, k) for k, r in enumerate([*session, record], start=1)])
        return shared[-1:]
    records = store.sets(session_id=number)
    if not records:
        if store.conn.execute("SELECT 1 FROM sessions WHERE id = ?", (number,)).fetchone() is None:
            raise NotFoundError(f"no session {number} in the history")
        raise NotFoundError(f"session {number} has no sets to share")
    return _with_side_lines([_from_record(store, r, k) for k, r in enumerate(records, start=1)])


def _with_side_lines(sets: list[ShareSet]) -> list[ShareSet]:
    """Each second side's set carries the gap to the other side's set before it (same exercise)."""
    from dataclasses import replace

    from vbt.sides import SideSet, compare_sides

    out = []
    for k, s in enumerate(sets):
        before = [p for p in sets[:k] if p.exercise == s.exercise and p.side in ("left", "right")
                  and s.side in ("left", "right") and p.side != s.side and p.best_m_s is not None and not p.warmup]
        if before and s.best_m_s is not None and not s.warmup:
            p = before[-1]
            gap = compare_sides([SideSet(p.side, p.load_kg, p.best_m_s), SideSet(s.side, s.load_kg, s.best_m_s)])
            s = replace(s, side_line=gap.line())
        out.append(s)
    return out


def _from_record(store, record, number: int) -> ShareSet:
    from vbt.tempo import Tempo, summarise

    reps = [s.rep for s in store.reps(record.id, include_deleted=False)]
    marks: tuple[int, ...] = ()
    if record.tempo_eccentric_s is not None:
        tempo = Tempo(record.tempo_eccentric_s, record.tempo_pause_s or 0.0, record.tempo_margin_s or 0.0)
        marks = tuple(summarise(reps, tempo).missed)
    day_line = record.day_line()
    return ShareSet(
        athlete=record.athlete, exercise=record.exercise, when_unix_s=record.started_at_unix_s,
        load_kg=record.load_kg, side=record.side, metric=record.metric,
        threshold_pct=record.velocity_loss_threshold_pct,
        velocities_m_s=tuple(r.velocity(record.metric) for r in reps),
        losses_pct=tuple(r.velocity_loss_pct for r in reps), doubtful=tuple(r.doubtful for r in reps),
        best_rep=record.best_rep, stop_rep=record.stop_rep, tempo_marks=marks, tempo_line=record.tempo_line(),
        day_done=bool(record.day_done), day_line=day_line, warmup=record.warmup, rpe=record.rpe,
        note=record.note, set_id=record.id, set_number=number, zone=_zone(store, record, reps))


def _zone(store, record, reps) -> str | None:
    """The plan's zone of the set's fastest clean rep (zones are mean velocity) and where the zone came
    from (``vbt.plan.zone_for``); None when the athlete has no plan or the day is in no block."""
    import datetime

    from vbt.plan import zone_for

    mvs = [r.mean_velocity_m_s for r in reps if not r.doubtful and r.mean_velocity_m_s is not None
           and math.isfinite(r.mean_velocity_m_s)]
    found = zone_for(record.athlete, record.exercise, record.load_kg, max(mvs) if mvs else None,
                     datetime.date.fromtimestamp(record.started_at_unix_s), store=store)
    return None if found is None else f"best rep {found[0]} · from the {found[1]}"
