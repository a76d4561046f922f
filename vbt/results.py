"""Results and live events: frozen dataclasses, units in field names.

A rep's JSON form (``Rep.to_json``) is the one `vbt analyze --json`, `vbt live --jsonl` and
`vbt history --json` share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from vbt.config import METRIC_FIELDS

# The fields of a rep in every JSON output, in this order.
REP_JSON_FIELDS = (
    "index",
    "concentric_start_s",
    "concentric_end_s",
    "mean_velocity_m_s",
    "mean_propulsive_velocity_m_s",
    "peak_velocity_m_s",
    "rom_m",
    "time_to_peak_velocity_s",
    "concentric_duration_s",
    "eccentric_duration_s",
    "eccentric_mean_velocity_m_s",
    "bottom_pause_s",
    "velocity_loss_pct",
    "mean_force_n",
    "peak_force_n",
    "mean_power_w",
    "peak_power_w",
    "quality",
)

#: ``Rep.quality`` of a rep measured on a clean signal; any other value says why the rep is doubtful.
QUALITY_OK = "ok"


def _clean(value):
    """JSON-safe number: NaN and infinities become None."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Rep:
    """One repetition's concentric phase and what preceded it.

    Times are seconds from the first sample of the stream. ``None`` where a value cannot be
    computed (no eccentric before a deadlift's first pull; force and power without a load).
    ``quality`` is ``"ok"``, or the reason the rep is doubtful, for a person ("device lost during
    the rep"): a doubtful rep is shown and stored but is never the set's best and never fires STOP.
    """

    index: int
    concentric_start_s: float
    concentric_end_s: float
    mean_velocity_m_s: float
    mean_propulsive_velocity_m_s: float
    peak_velocity_m_s: float
    rom_m: float
    time_to_peak_velocity_s: float
    concentric_duration_s: float
    eccentric_duration_s: float | None = None
    eccentric_mean_velocity_m_s: float | None = None
    bottom_pause_s: float | None = None
    velocity_loss_pct: float | None = None
    mean_force_n: float | None = None
    peak_force_n: float | None = None
    mean_power_w: float | None = None
    peak_power_w: float | None = None
    quality: str = QUALITY_OK

    @property
    def doubtful(self) -> bool:
        return self.quality != QUALITY_OK

    def velocity(self, metric: str) -> float:
        return getattr(self, METRIC_FIELDS[metric])

    def with_loss(self, velocity_loss_pct: float | None) -> "Rep":
        return replace(self, velocity_loss_pct=velocity_loss_pct)

    def to_json(self) -> dict:
        return {k: _clean(getattr(self, k)) for k in REP_JSON_FIELDS}


@dataclass(frozen=True)
class SetResult:
    """A set's reps with the stop rule applied."""

    reps: tuple[Rep, ...]
    best_rep: int | None
    stop_rep: int | None
    velocity_loss_threshold_pct: float
    metric: str
    duration_s: float = 0.0

    def to_json(self) -> dict:
        return {
            "reps": [r.to_json() for r in self.reps],
            "best_rep": self.best_rep,
            "stop_rep": self.stop_rep,
            "velocity_loss_threshold_pct": self.velocity_loss_threshold_pct,
            "metric": self.metric,
        }


# ---- live events -------------------------------------------------------------------------


@dataclass(frozen=True)
class RepCompleted:
    """A rep's concentric phase has closed. ``t_s`` is the stream time of the deciding sample."""

    rep: Rep
    best_rep: int
    t_s: float
    type: str = field(default="rep", init=False)
    zone: object = None  # vbt.plan.ZoneCall when the athlete's plan gives a zone for the exercise


@dataclass(frozen=True)
class VelocityWarning:
    """The set is within the warning margin of the velocity-loss limit."""

    index: int
    velocity_loss_pct: float
    threshold_pct: float
    t_s: float
    type: str = field(default="warning", init=False)


@dataclass(frozen=True)
class StopSet:
    """Rep ``index`` crossed the velocity-loss limit: the set should end here."""

    index: int
    velocity_loss_pct: float
    threshold_pct: float
    t_s: float
    type: str = field(default="stop", init=False)


@dataclass(frozen=True)
class SetEnded:
    """The set is over (stillness after the last rep, end of stream, or by hand)."""

    result: SetResult
    reason: str  # "stillness" | "end_of_stream" | "manual"
    t_s: float
    type: str = field(default="set_end", init=False)
    day: object = None  # vbt.dayrule.DayVerdict when a live session judges the day
    tempo: object = None  # vbt.tempo.TempoSummary when the set carried a tempo target
    accommodation: object = None  # vbt.resistance.Accommodation when the set carried bands or chains


@dataclass(frozen=True)
class DayDone:
    """The set just ended fell under the day's floor: done with this exercise for today."""

    verdict: object  # vbt.dayrule.DayVerdict
    athlete: str
    exercise: str
    t_s: float
    type: str = field(default="day_done", init=False)


@dataclass(frozen=True)
class TempoMiss:
    """Rep ``index`` came down (or left the bottom) faster than the set's tempo target allows."""

    index: int
    eccentric_s: float | None
    pause_s: float | None
    target_eccentric_s: float
    target_pause_s: float
    margin_s: float
    reason: str
    t_s: float
    type: str = field(default="tempo_miss", init=False)


def event_to_json(event) -> dict:
    """One JSON object per event, as `vbt live --jsonl` prints them."""
    if isinstance(event, RepCompleted):
        out = {"type": "rep", "t_s": event.t_s, "best_rep": event.best_rep, **event.rep.to_json()}
        if event.zone is not None:
            out["zone"] = event.zone.to_json()
        return out
    if isinstance(event, (VelocityWarning, StopSet)):
        return {
            "type": event.type,
            "index": event.index,
            "velocity_loss_pct": _clean(event.velocity_loss_pct),
            "threshold_pct": event.threshold_pct,
            "t_s": event.t_s,
        }
    if isinstance(event, SetEnded):
        out = {"type": "set_end", "reason": event.reason, "t_s": event.t_s, **event.result.to_json()}
        if event.day is not None:
            out["day"] = event.day.to_json()
        if event.tempo is not None:
            out["tempo"] = event.tempo.to_json()
        if event.accommodation is not None:
            out["accommodation"] = event.accommodation.to_json()
        return out
    if isinstance(event, DayDone):
        return {"type": "day_done", "t_s": event.t_s, "athlete": event.athlete, "exercise": event.exercise,
                **{k: _clean(v) if not isinstance(v, list) else v for k, v in event.verdict.to_json().items()}}
    if isinstance(event, TempoMiss):
        return {"type": "tempo_miss", "t_s": event.t_s, "index": event.index,
                "eccentric_s": _clean(event.eccentric_s), "pause_s": _clean(event.pause_s),
                "target_eccentric_s": event.target_eccentric_s, "target_pause_s": event.target_pause_s,
                "margin_s": event.margin_s, "reason": event.reason}
    raise TypeError(f"not an analysis event: {event!r}")
