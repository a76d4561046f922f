"""The velocity-loss stop rule.

``VL_i = 1 - V_i / max(V_1..V_i)`` against the fastest rep so far in the current set, in one
metric throughout (science.md: Sánchez-Medina & González-Badillo 2011; Pareja-Blanco et al. 2017).
The first rep whose loss exceeds the limit is the stop rep; rep 1 never triggers.
A doubtful rep (``Rep.quality`` not "ok": its ends could not be placed with confidence, or the
device was lost or the line was noisy during it) gets its loss against the best so far, but is
never the best and never warns or stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from vbt.config import StopRuleConfig
from vbt.results import Rep, SetResult


@dataclass(frozen=True)
class RepVerdict:
    """What the rule says after one more rep."""

    velocity_loss_pct: float | None
    best_rep: int | None
    stop: bool  # this rep is the stop rep (first crossing in the set)
    warning: bool  # within the warning margin of the limit, not yet over it


class StopRule:
    """Incremental stop rule for one set: feed reps in order, get a verdict per rep."""

    def __init__(self, config: StopRuleConfig = StopRuleConfig()):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._best_velocity = None
        self._best_index = None
        self.stop_rep: int | None = None

    @property
    def best_rep(self) -> int | None:
        return self._best_index

    def add(self, rep: Rep) -> RepVerdict:
        v = rep.velocity(self.config.metric)
        if v is None or not v == v:  # None or NaN: no verdict possible for this rep
            return RepVerdict(None, self._best_index or rep.index, False, False)
        if rep.doubtful:
            return self._doubtful(v)
        if self._best_velocity is None or v > self._best_velocity:
            self._best_velocity = v
            self._best_index = rep.index
        loss_pct = 100.0 * (1.0 - v / self._best_velocity) if self._best_velocity > 0 else 0.0
        limit = self.config.velocity_loss_pct
        over = loss_pct > limit and rep.index > 1
        stop = over and self.stop_rep is None
        if stop:
            self.stop_rep = rep.index
        warning = (not over) and loss_pct >= limit - self.config.warning_margin_pct and rep.index > 1
        return RepVerdict(loss_pct, self._best_index, stop, warning)

    def _doubtful(self, v: float) -> RepVerdict:
        """A doubtful rep is measured against the best so far and changes nothing."""
        best = self._best_velocity
        loss_pct = 100.0 * (1.0 - v / best) if best else None
        return RepVerdict(loss_pct, self._best_index, False, False)


def apply_stop_rule(reps, config: StopRuleConfig = StopRuleConfig(), duration_s: float = 0.0) -> SetResult:
    """Renumber ``reps`` from 1, fill in each rep's loss, and name the best and stop reps.

    Used by the batch path and whenever a set's reps change (a rep deleted or restored).
    """
    rule = StopRule(config)
    out = []
    for i, rep in enumerate(reps, start=1):
        rep = Rep(**{**rep.__dict__, "index": i})
        verdict = rule.add(rep)
        out.append(rep.with_loss(verdict.velocity_loss_pct))
    return SetResult(
        reps=tuple(out),
        best_rep=rule.best_rep,
        stop_rep=rule.stop_rep,
        velocity_loss_threshold_pct=config.velocity_loss_pct,
        metric=config.metric,
        duration_s=duration_s,
    )
