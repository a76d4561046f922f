"""What the live view shows about the set in progress, as plain data (no Qt).

:class:`SetDisplay` is fed the tracker's events (``vbt.results``) in order and answers what the
screen needs: the reps with their losses and colour levels, the best rep, the threshold velocity
line, the loss so far, the alert level, and whether the set is running or over. It never decides
the stop itself: the stop comes from the tracker's ``StopSet`` event (the same rule as the batch
path, ``vbt.stoprule``); the colour of a rep only says how far it is from the best.

:class:`AutoEnd` is the separate setting "end the set at the stop", with one optional grace rep.
Alerts and auto-ending are independent: either can be on without the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vbt.config import METRIC_LABELS
from vbt.results import Rep, RepCompleted, RepRevised, SetEnded, StopSet, VelocityWarning

# colour levels of a rep, by its loss against the best rep so far
GOOD, WARNING, STOP = "good", "warning", "stop"

# phases of the set as shown
WAITING, RUNNING, ENDED = "waiting", "running", "ended"


def loss_level(loss_pct: float | None, threshold_pct: float, warning_margin_pct: float) -> str:
    """``good`` / ``warning`` / ``stop`` for a rep's velocity loss (``None``: good, no reference yet).

    Matches ``vbt.stoprule``: over the limit is strictly greater; the warning band starts
    ``warning_margin_pct`` points below it.
    """
    if loss_pct is None or loss_pct != loss_pct:
        return GOOD
    if loss_pct > threshold_pct:
        return STOP
    if loss_pct >= threshold_pct - warning_margin_pct:
        return WARNING
    return GOOD


@dataclass(frozen=True)
class RepRow:
    """One rep as the view shows it."""

    index: int
    velocity_m_s: float
    loss_pct: float | None
    level: str
    rep: Rep


@dataclass
class SetDisplay:
    """Display state of the current set; feed it events with :meth:`apply`.

    ``set_number`` counts sets since the dashboard started (the first set is 1).
    """

    threshold_pct: float = 10.0
    warning_margin_pct: float = 3.0
    metric: str = "mean"
    set_number: int = 1
    phase: str = WAITING
    reps: list[RepRow] = field(default_factory=list)
    best_index: int | None = None
    stop_index: int | None = None
    stop_loss_pct: float | None = None
    warned: bool = False
    end_reason: str | None = None
    result: object = None  # the SetResult once the set has ended

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS.get(self.metric, self.metric)

    @property
    def n_reps(self) -> int:
        return len(self.reps)

    @property
    def last(self) -> RepRow | None:
        return self.reps[-1] if self.reps else None

    @property
    def best_velocity_m_s(self) -> float | None:
        if self.best_index is None:
            return None
        for r in self.reps:
            if r.index == self.best_index:
                return r.velocity_m_s
        return None

    @property
    def threshold_velocity_m_s(self) -> float | None:
        """The velocity under which a rep crosses the limit (the stop line)."""
        best = self.best_velocity_m_s
        return None if best is None else best * (1.0 - self.threshold_pct / 100.0)

    @property
    def loss_pct(self) -> float | None:
        """The loss of the newest rep against the best so far (what the rule compares)."""
        return self.last.loss_pct if self.last is not None else None

    @property
    def max_loss_pct(self) -> float | None:
        losses = [r.loss_pct for r in self.reps if r.loss_pct is not None]
        return max(losses) if losses else None

    @property
    def alert(self) -> str:
        """``stop`` once the rule has fired this set, ``warning`` when the last rep is in the band."""
        if self.stop_index is not None:
            return STOP
        if self.last is not None and self.last.level == WARNING:
            return WARNING
        return GOOD

    def configure(self, *, threshold_pct: float | None = None, warning_margin_pct: float | None = None,
                  metric: str | None = None) -> None:
        """New rule settings; they apply to the display from the next set, like the tracker's."""
        self._pending = dict(threshold_pct=threshold_pct, warning_margin_pct=warning_margin_pct, metric=metric)
        if self.phase == WAITING and not self.reps:
            self._take_pending()

    def _take_pending(self) -> None:
        pending = getattr(self, "_pending", None)
        if not pending:
            return
        for k, v in pending.items():
            if v is not None:
                setattr(self, k, v)
        self._pending = None

    def new_set(self) -> None:
        """Forget the set shown (next set, or the first rep of a new set): a new set resets the best."""
        if self.phase != WAITING or self.reps:
            self.set_number += 1
        self.phase = WAITING
        self.reps = []
        self.best_index = None
        self.stop_index = None
        self.stop_loss_pct = None
        self.warned = False
        self.end_reason = None
        self.result = None
        self._take_pending()

    def apply(self, event) -> str | None:
        """Update from one tracker event. Returns what the view must do about it, if anything:
        ``"new_set"`` (the display was reset first), ``"rep"`` (a rep revised too: its bar is
        replaced), ``"warning"``, ``"stop"``, ``"set_ended"``.
        """
        if isinstance(event, RepRevised):
            at = next((i for i, row in enumerate(self.reps) if row.index == event.rep.index), None)
            if at is None or self.phase != RUNNING:
                return None  # that rep is no longer on screen
            self.reps[at] = self._row(event.rep)
            self.best_index = event.best_rep
            return "rep"
        if isinstance(event, RepCompleted):
            started = None
            if self.phase == ENDED or (self.phase == WAITING and self.reps) or (event.rep.index == 1 and self.reps):
                self.new_set()
                started = "new_set"
            self.phase = RUNNING
            self.reps.append(self._row(event.rep))
            self.best_index = event.best_rep
            return started or "rep"
        if isinstance(event, VelocityWarning):
            self.warned = True
            return "warning"
        if isinstance(event, StopSet):
            if self.stop_index is None:
                self.stop_index = event.index
                self.stop_loss_pct = event.velocity_loss_pct
                return "stop"
            return None
        if isinstance(event, SetEnded):
            if self.phase == WAITING and not self.reps:
                return None  # nothing shown of this set (e.g. "next set" already cleared the display)
            self.phase = ENDED
            self.end_reason = event.reason
            self.result = event.result
            if event.result.reps:  # the tracker's final word (losses filled in, best and stop named)
                self.best_index = event.result.best_rep
                if event.result.stop_rep is not None and self.stop_index is None:
                    self.stop_index = event.result.stop_rep
            return "set_ended"
        return None

    def _row(self, rep: Rep) -> RepRow:
        v = rep.velocity(self.metric)
        loss = rep.velocity_loss_pct
        level = loss_level(loss, self.threshold_pct, self.warning_margin_pct) if rep.index > 1 else GOOD
        return RepRow(rep.index, float(v) if v is not None else float("nan"), loss, level, rep)


@dataclass
class AutoEnd:
    """End the set automatically at the stop rep, or after one grace rep (off by default).

    Feed it the same events; :meth:`should_end` says whether to end the set now.
    """

    enabled: bool = False
    grace_rep: bool = False
    _stop_index: int | None = None
    _fired: bool = False

    def reset(self) -> None:
        self._stop_index = None
        self._fired = False

    def on_event(self, event) -> bool:
        """True (once per set) when the set should be ended now because of this event."""
        if isinstance(event, SetEnded):
            self.reset()
            return False
        end = False
        if isinstance(event, StopSet) and self._stop_index is None:
            self._stop_index = event.index
            end = not self.grace_rep
        elif isinstance(event, RepCompleted) and self._stop_index is not None and self.grace_rep:
            end = event.rep.index > self._stop_index
        if end and self.enabled and not self._fired:
            self._fired = True
            return True
        return False
