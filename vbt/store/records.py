"""What the history hands out: frozen records of athletes, sessions, sets, reps and traces."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from vbt.results import Rep


@dataclass(frozen=True)
class Athlete:
    id: int
    name: str


@dataclass(frozen=True)
class SessionSummary:
    """One row of the history list."""

    id: int
    uid: str
    athlete: str
    started_at_unix_s: float
    ended_at_unix_s: float | None
    n_sets: int
    n_reps: int
    exercises: tuple[str, ...]
    note: str | None

    @property
    def date(self) -> str:
        return local_date(self.started_at_unix_s)


@dataclass(frozen=True)
class SetRecord:
    """A stored set. ``n_reps`` counts kept reps; ``best_velocity_m_s`` is in the set's own metric."""

    id: int
    uid: str
    session_id: int
    athlete: str
    exercise: str
    load_kg: float | None
    side: str
    metric: str
    velocity_loss_threshold_pct: float
    best_rep: int | None
    stop_rep: int | None
    stop_reason: str | None
    rpe: float | None
    note: str | None
    started_at_unix_s: float
    ended_at_unix_s: float | None
    duration_s: float | None
    recovered: bool
    source: str | None
    n_reps: int
    n_deleted_reps: int
    best_velocity_m_s: float | None
    last_velocity_loss_pct: float | None
    # the training method (vbt.dayrule, vbt.tempo): None where the set was not judged
    warmup: bool = False
    day_done: bool | None = None
    day_basis: str | None = None
    day_ratio_pct: float | None = None
    day_reference_m_s: float | None = None
    day_best_m_s: float | None = None
    day_floor_pct: float | None = None
    tempo_eccentric_s: float | None = None
    tempo_pause_s: float | None = None
    tempo_margin_s: float | None = None
    tempo_kept: int | None = None
    tempo_judged: int | None = None
    is_test: bool = False  # a test a retest is compared with (vbt.retest)

    @property
    def in_progress(self) -> bool:
        return self.ended_at_unix_s is None

    def day_line(self) -> str | None:
        """The day rule's verdict in a few words (None: not judged)."""
        if self.day_basis is None or self.day_basis == "warmup":
            return None
        if self.day_basis == "first":
            return "sets the day's best"
        if self.day_basis == "none" or self.day_ratio_pct is None:
            return "day rule: no like-for-like comparison"
        how = "same load" if self.day_basis == "same_load" else "profile"
        head = "DONE FOR TODAY" if self.day_done else "day"
        return f"{head}: {self.day_ratio_pct:.0f} % of {self.day_reference_m_s:.2f} m/s ({how})"

    def tempo_line(self) -> str | None:
        if self.tempo_eccentric_s is None:
            return None
        return (f"tempo {self.tempo_eccentric_s:g}:{self.tempo_pause_s or 0:g} kept "
                f"{self.tempo_kept}/{self.tempo_judged}")

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "uid": self.uid,
            "session_id": self.session_id,
            "athlete": self.athlete,
            "exercise": self.exercise,
            "load_kg": self.load_kg,
            "side": self.side,
            "metric": self.metric,
            "velocity_loss_threshold_pct": self.velocity_loss_threshold_pct,
            "best_rep": self.best_rep,
            "stop_rep": self.stop_rep,
            "stop_reason": self.stop_reason,
            "rpe": self.rpe,
            "note": self.note,
            "started_at": iso_local(self.started_at_unix_s),
            "started_unix_s": self.started_at_unix_s,
            "ended_at": iso_local(self.ended_at_unix_s),
            "ended_unix_s": self.ended_at_unix_s,
            "duration_s": self.duration_s,
            "recovered": self.recovered,
            "source": self.source,
            "n_reps": self.n_reps,
            "n_deleted_reps": self.n_deleted_reps,
            "warmup": self.warmup,
            "test": self.is_test,
            "day": None if self.day_basis is None else {
                "done": self.day_done, "basis": self.day_basis, "ratio_pct": self.day_ratio_pct,
                "reference_m_s": self.day_reference_m_s, "day_best_m_s": self.day_best_m_s,
                "floor_pct": self.day_floor_pct},
            "tempo": None if self.tempo_eccentric_s is None else {
                "eccentric_s": self.tempo_eccentric_s, "pause_s": self.tempo_pause_s,
                "margin_s": self.tempo_margin_s, "kept": self.tempo_kept, "judged": self.tempo_judged},
        }


@dataclass(frozen=True)
class StoredRep:
    """A rep as stored: the :class:`Rep`, its row id, its recorded order and its deleted flag.

    A deleted rep keeps its metrics; it is left out of the stop rule (its ``velocity_loss_pct`` is
    None) and out of profiles and trends, and can be restored.
    """

    id: int
    set_id: int
    recorded_index: int
    deleted: bool
    rep: Rep

    def to_json(self) -> dict:
        return {**self.rep.to_json(), "rep_id": self.id, "recorded_index": self.recorded_index, "deleted": self.deleted}


@dataclass(frozen=True)
class Trace:
    """A set's raw position trace in the stream's time base (the same as its reps' times)."""

    t_s: np.ndarray
    position_m: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.t_s.size)


@dataclass(frozen=True)
class SetDetail:
    set: SetRecord
    reps: tuple[StoredRep, ...]
    trace: Trace


@dataclass(frozen=True)
class TrendPoint:
    """One session's numbers for one exercise (a point of a trend plot)."""

    session_id: int
    date: str  # local calendar date, YYYY-MM-DD
    started_at_unix_s: float
    n_sets: int
    n_reps: int
    volume_kg: float  # sum of load x kept reps
    top_load_kg: float | None
    best_velocity_m_s: float | None  # fastest kept rep of the session, in the trend's metric
    best_velocity_load_kg: float | None  # the load it was lifted with
    best_velocity_at_load_m_s: float | None  # fastest at the requested load (None if not asked/not done)


# ---- clock and identities ----------------------------------------------------------------------


def _now() -> float:
    return time.time()


def iso_local(unix_s: float | None) -> str | None:
    """Local time with its UTC offset, to the second (for people; the exact value travels as unix_s)."""
    if unix_s is None:
        return None
    return datetime.fromtimestamp(unix_s).astimezone().isoformat(timespec="seconds")


def local_date(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).strftime("%Y-%m-%d")


def _new_uid() -> str:
    return uuid.uuid4().hex
