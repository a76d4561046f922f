"""Results and live events: frozen dataclasses, units in field names.

A rep's JSON form (``Rep.to_json``) is the one `vbt analyze --json`, `vbt live --jsonl` and
`vbt history --json` share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

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
#
# One class per event and one name, its ``type``: the tracker creates it, the live session passes
# it on, ``vbt live --jsonl`` prints ``to_json()`` and the dashboard emits it on the Qt signal of
# the same name (``gui.worker.SessionBridge``). Times are the input's time base (a live session's
# stream time) from birth. The device events (``firmware_bridge.events``) and the dashboard's own
# (``gui.session``) follow the same pattern.

FLATTEN = {"json": "flatten"}  # field metadata: its ``to_json()`` keys go into the event's object
OPTIONAL = {"json": "optional"}  # field metadata: left out of the JSON object while None
HIDDEN = {"json": "hidden"}  # field metadata: not part of the JSON object


def _jsonable(value):
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return _clean(value)


class Event:
    """Mixin of every event dataclass: ``type`` (a class attribute) is its one name, ``t_s`` its
    time; ``to_json()`` is built from its fields: ``{"type", "t_s", other fields in order}``,
    a field marked ``FLATTEN`` contributing its own JSON keys, ``OPTIONAL`` ones left out while
    None, ``HIDDEN`` ones never."""

    type: ClassVar[str]

    def to_json(self) -> dict:
        out = {"type": self.type, "t_s": self.t_s}
        for f in fields(self):
            how = f.metadata.get("json")
            value = getattr(self, f.name)
            if f.name == "t_s" or how == "hidden" or (how == "optional" and value is None):
                continue
            if how == "flatten":
                out.update({k: _jsonable(v) for k, v in value.to_json().items()})
            else:
                out[f.name] = _jsonable(value)
        return out


@dataclass(frozen=True)
class RepCompleted(Event):
    """A rep's concentric phase has closed. ``t_s`` is the time of the deciding sample."""

    rep: Rep = field(metadata=FLATTEN)
    best_rep: int
    t_s: float
    zone: object = field(default=None, metadata=OPTIONAL)  # vbt.plan.ZoneCall when the plan gives a zone
    type: ClassVar[str] = "rep"


@dataclass(frozen=True)
class RepRevised(Event):
    """The set's first rep, closed when the bar held still mid-rise, went on up without coming down:
    it was one rep, and ``rep`` (same index) replaces the one reported. ``previous`` is that one.
    Only a set's first rep is ever revised (later reps wait longer at a stall below the last top),
    so no stop or warning can have been based on the rep replaced."""

    rep: Rep = field(metadata=FLATTEN)
    best_rep: int
    t_s: float
    previous: Rep = field(default=None, metadata=HIDDEN)
    zone: object = field(default=None, metadata=OPTIONAL)  # vbt.plan.ZoneCall when the plan gives a zone
    type: ClassVar[str] = "rep_revised"


@dataclass(frozen=True)
class _VelocityLoss(Event):
    """Rep ``index`` lost ``velocity_loss_pct`` against the set's best (limit ``threshold_pct``)."""

    index: int
    velocity_loss_pct: float
    threshold_pct: float
    t_s: float


@dataclass(frozen=True)
class VelocityWarning(_VelocityLoss):
    """The set is within the warning margin of the velocity-loss limit."""

    type: ClassVar[str] = "warning"


@dataclass(frozen=True)
class StopSet(_VelocityLoss):
    """Rep ``index`` crossed the velocity-loss limit: the set should end here."""

    type: ClassVar[str] = "stop"


@dataclass(frozen=True)
class SetEnded(Event):
    """The set is over (stillness after the last rep, end of stream, or by hand)."""

    result: SetResult = field(metadata=FLATTEN)
    reason: str  # "stillness" | "end_of_stream" | "manual" | "device_lost" | "closed"
    t_s: float
    day: object = field(default=None, metadata=OPTIONAL)  # vbt.dayrule.DayVerdict when the day is judged
    tempo: object = field(default=None, metadata=OPTIONAL)  # vbt.tempo.TempoSummary with a tempo target
    accommodation: object = field(default=None, metadata=OPTIONAL)  # vbt.resistance.Accommodation: bands, chains
    type: ClassVar[str] = "set_end"


@dataclass(frozen=True)
class DayDone(Event):
    """The set just ended fell under the day's floor: done with this exercise for today."""

    verdict: object = field(metadata=FLATTEN)  # vbt.dayrule.DayVerdict
    athlete: str
    exercise: str
    t_s: float
    type: ClassVar[str] = "day_done"


@dataclass(frozen=True)
class TempoMiss(Event):
    """Rep ``index`` came down (or left the bottom) faster than the set's tempo target allows."""

    index: int
    eccentric_s: float | None
    pause_s: float | None
    target_eccentric_s: float
    target_pause_s: float
    margin_s: float
    reason: str
    t_s: float
    type: ClassVar[str] = "tempo_miss"
