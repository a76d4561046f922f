"""Frozen configuration objects with units in their field names.

``validate()`` returns a list of problems a person can read, one per bad field; an empty
list means the configuration is usable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from vbt.fields import METRICS  # noqa: F401 - re-exported (vbt.config.METRICS is public)
from vbt.fields import load_problem, metric_problem, min_rom_problem, threshold_problem

METRIC_FIELDS = {
    "mean": "mean_velocity_m_s",
    "propulsive": "mean_propulsive_velocity_m_s",
    "peak": "peak_velocity_m_s",
}
METRIC_LABELS = {"mean": "MV", "propulsive": "MPV", "peak": "PV"}


# Upper limits of settings that size buffers (validated below, used by the tracker).
MAX_TOP_STILLNESS_S = 2.0
MAX_CONCENTRIC_S = 60.0


class ConfigError(ValueError):
    """A configuration value a person gave is unusable; the message says which and why."""


@dataclass(frozen=True)
class SegmentationConfig:
    """How the position stream is cut into repetitions.

    Attributes
    ----------
    min_rom_m
        Smallest concentric range of motion counted as a rep (15 cm default; set per exercise).
    direction_hysteresis_m
        Distance the bar must travel back from an extreme before a direction change counts.
        Lockout wobble and set-up wiggles smaller than this never split or make a rep. Left at
        its default (3 cm), it shrinks to half of a minimum ROM below 6 cm, so every minimum ROM
        in the stated range (2 cm–2 m) is usable.
    top_stillness_s, top_stillness_band_m
        A concentric phase is closed once the bar has risen no more than ``top_stillness_band_m``
        over the last ``top_stillness_s`` (or has come back down by the hysteresis). 0.5 mm: a
        grinder's lockout creep (5-15 mm/s) is part of the rep, not stillness (2 mm cut it: grinder
        MV median error 0.0074 -> 0.0032 m/s, docs/accuracy-history.md).
    min_mean_velocity_m_s
        Slower "reps" (a bar carried up over many seconds while setting up) are ignored.
    max_concentric_s
        Longest concentric phase considered a rep.
    set_end_stillness_s
        Stillness after the last rep that ends the set (Chronojump uses 3 s).
    cutoff_hz
        Zero-phase low-pass cut-off used for velocity and acceleration (10 Hz reference practice).
    grid_hz
        Rate of the uniform internal time grid every input is resampled onto.
    """

    min_rom_m: float = 0.15
    direction_hysteresis_m: float = 0.03
    top_stillness_s: float = 0.13
    top_stillness_band_m: float = 0.0005
    min_mean_velocity_m_s: float = 0.05
    max_concentric_s: float = 8.0
    set_end_stillness_s: float = 3.0
    cutoff_hz: float = 10.0
    grid_hz: float = 1000.0

    def __post_init__(self):
        default = type(self).__dataclass_fields__["direction_hysteresis_m"].default
        if self.direction_hysteresis_m == default and 0 < self.min_rom_m < 2 * default:
            object.__setattr__(self, "direction_hysteresis_m", max(0.005, self.min_rom_m / 2))

    def validate(self) -> list[str]:
        problems = []
        if min_rom_problem(self.min_rom_m):
            problems.append(min_rom_problem(self.min_rom_m))
        if not 0.005 <= self.direction_hysteresis_m < self.min_rom_m:
            problems.append(
                f"direction_hysteresis_m: {self.direction_hysteresis_m} m must be at least 5 mm "
                f"and smaller than min_rom_m ({self.min_rom_m} m)"
            )
        if not 0.02 <= self.top_stillness_s <= MAX_TOP_STILLNESS_S:
            problems.append(f"top_stillness_s: {self.top_stillness_s} s is outside 0.02–{MAX_TOP_STILLNESS_S:g} s")
        if not 0.0005 <= self.top_stillness_band_m <= 0.05:
            problems.append(f"top_stillness_band_m: {self.top_stillness_band_m} m is outside 0.5–50 mm")
        if not 0.0 <= self.min_mean_velocity_m_s <= 1.0:
            problems.append(f"min_mean_velocity_m_s: {self.min_mean_velocity_m_s} m/s is outside 0–1 m/s")
        if not 0.5 <= self.max_concentric_s <= MAX_CONCENTRIC_S:
            problems.append(f"max_concentric_s: {self.max_concentric_s} s is outside 0.5–{MAX_CONCENTRIC_S:g} s")
        if not 0.5 <= self.set_end_stillness_s <= 600.0:
            problems.append(f"set_end_stillness_s: {self.set_end_stillness_s} s is outside 0.5–600 s")
        if not 1.0 <= self.cutoff_hz <= 50.0:
            problems.append(f"cutoff_hz: {self.cutoff_hz} Hz is outside 1–50 Hz")
        if not 200.0 <= self.grid_hz <= 5000.0:
            problems.append(f"grid_hz: {self.grid_hz} Hz is outside 200–5000 Hz")
        return problems


@dataclass(frozen=True)
class StopRuleConfig:
    """The velocity-loss stop rule (science.md: Sánchez-Medina & González-Badillo 2011).

    A rep's loss is ``1 - V / max(V_1..V_i)`` in the chosen metric. The first rep whose loss
    exceeds ``velocity_loss_pct`` is the stop rep; rep 1 never triggers. ``warning_margin_pct``
    percentage points below the limit the set enters the warning state.
    """

    velocity_loss_pct: float = 10.0
    metric: str = "mean"
    warning_margin_pct: float = 3.0

    def validate(self) -> list[str]:
        problems = []
        problems += [p for p in (threshold_problem(self.velocity_loss_pct), metric_problem(self.metric)) if p]
        # A bad limit is the one problem to report; the margin below it follows from it.
        limit_ok = threshold_problem(self.velocity_loss_pct) is None
        if limit_ok and not 0.0 <= self.warning_margin_pct < self.velocity_loss_pct:
            problems.append(
                f"warning_margin_pct: {self.warning_margin_pct} must be at least 0 and below the "
                f"velocity-loss limit ({self.velocity_loss_pct} %)"
            )
        return problems


@dataclass(frozen=True)
class AnalysisConfig:
    """Everything the analysis needs: segmentation, stop rule, the moving mass (optional) and the
    bands and chains on the bar (``vbt.resistance.Accommodation``, optional: force and power then use
    the load at each height)."""

    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    stop_rule: StopRuleConfig = field(default_factory=StopRuleConfig)
    load_kg: float | None = None
    accommodation: object = None

    def validate(self) -> list[str]:
        problems = self.segmentation.validate() + self.stop_rule.validate()
        if load_problem(self.load_kg):
            problems.append(load_problem(self.load_kg))
        if self.accommodation is not None:
            problems += self.accommodation.validate()
        return problems

    def checked(self) -> "AnalysisConfig":
        """Return self, or raise ConfigError listing every problem."""
        problems = self.validate()
        if problems:
            raise ConfigError("; ".join(problems))
        return self


def field_names(cls) -> list[str]:
    return [f.name for f in fields(cls)]
