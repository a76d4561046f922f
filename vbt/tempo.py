"""Tempo targets: a controlled eccentric and a bottom pause, the concentric as fast as possible.

A set may carry a target (e.g. three-second eccentrics, one-second pause: ``3:1``). Each rep's
measured eccentric duration and bottom pause (``Rep.eccentric_duration_s``, ``Rep.bottom_pause_s``)
are compared with it; a rep that is faster than the target by more than the margin missed the
tempo. Slower is never a miss (the concentric is the part that is done fast). A rep with no
eccentric before it (a deadlift's first pull) is not judged.

Pure: no store, no threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_ECCENTRIC_S, MAX_ECCENTRIC_S = 0.5, 10.0
MAX_PAUSE_S = 10.0
MAX_MARGIN_S = 5.0
DEFAULT_MARGIN_S = 0.5


class TempoError(ValueError):
    """A tempo a person typed is unusable; the message says why in one line."""


@dataclass(frozen=True)
class Tempo:
    """Target eccentric and pause durations (s) and the margin a rep may be faster by (s)."""

    eccentric_s: float
    pause_s: float = 0.0
    margin_s: float = DEFAULT_MARGIN_S

    def validate(self) -> list[str]:
        problems = []
        e, p, m = self.eccentric_s, self.pause_s, self.margin_s
        if not (isinstance(e, (int, float)) and math.isfinite(e) and MIN_ECCENTRIC_S <= e <= MAX_ECCENTRIC_S):
            problems.append(f"tempo: an eccentric of {e!r} s is outside {MIN_ECCENTRIC_S:g}–{MAX_ECCENTRIC_S:g} s")
        if not (isinstance(p, (int, float)) and math.isfinite(p) and 0.0 <= p <= MAX_PAUSE_S):
            problems.append(f"tempo: a pause of {p!r} s is outside 0–{MAX_PAUSE_S:g} s")
        if not (isinstance(m, (int, float)) and math.isfinite(m) and 0.0 <= m <= MAX_MARGIN_S):
            problems.append(f"tempo-margin: {m!r} s is outside 0–{MAX_MARGIN_S:g} s")
        return problems

    def label(self) -> str:
        return f"{self.eccentric_s:g}:{self.pause_s:g}"

    def to_json(self) -> dict:
        return {"eccentric_s": self.eccentric_s, "pause_s": self.pause_s, "margin_s": self.margin_s}


def parse_tempo(text: str, margin_s: float = DEFAULT_MARGIN_S) -> Tempo:
    """``"3:1"`` (eccentric 3 s, pause 1 s), ``"3"`` (no pause) or ``"3-1-X"`` (X: concentric as fast
    as possible). Raises :class:`TempoError` with one readable line."""
    raw = (text or "").strip().lower()
    parts = [p.strip() for p in raw.replace("-", ":").replace("/", ":").split(":")]
    if parts and parts[-1] in ("x", "fast") and len(parts) == 3:
        parts = parts[:2]
    if not raw or not 1 <= len(parts) <= 2:
        raise TempoError(f"tempo {text!r}: write eccentric:pause in seconds, e.g. 3:1")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise TempoError(f"tempo {text!r}: write eccentric:pause in seconds, e.g. 3:1") from None
    tempo = Tempo(values[0], values[1] if len(values) == 2 else 0.0, margin_s)
    problems = tempo.validate()
    if problems:
        raise TempoError("; ".join(problems))
    return tempo


@dataclass(frozen=True)
class RepTempo:
    """One rep against the target. ``kept`` None: not judged (no eccentric measured)."""

    index: int
    kept: bool | None
    eccentric_s: float | None
    pause_s: float | None
    short_eccentric_s: float  # how much faster than the target (0 when not)
    short_pause_s: float

    def reason(self, tempo: Tempo) -> str:
        if self.kept is None:
            return "no eccentric measured"
        bits = []
        if self.short_eccentric_s > tempo.margin_s:
            bits.append(f"eccentric {self.eccentric_s:.1f} s (target {tempo.eccentric_s:g} s)")
        if self.short_pause_s > tempo.margin_s:
            bits.append(f"pause {0.0 if self.pause_s is None else self.pause_s:.1f} s (target {tempo.pause_s:g} s)")
        return "; ".join(bits) if bits else "kept"


def check_rep(rep, tempo: Tempo) -> RepTempo:
    ecc = rep.eccentric_duration_s
    pause = rep.bottom_pause_s
    if ecc is None or not math.isfinite(ecc):
        return RepTempo(rep.index, None, None, pause, 0.0, 0.0)
    short_e = max(0.0, tempo.eccentric_s - ecc)
    p = 0.0 if pause is None or not math.isfinite(pause) else pause
    short_p = max(0.0, tempo.pause_s - p) if tempo.pause_s > 0 else 0.0
    kept = short_e <= tempo.margin_s and short_p <= tempo.margin_s
    return RepTempo(rep.index, kept, ecc, pause, short_e, short_p)


@dataclass(frozen=True)
class TempoSummary:
    tempo: Tempo
    reps: tuple[RepTempo, ...]

    @property
    def kept(self) -> int:
        return sum(1 for r in self.reps if r.kept)

    @property
    def judged(self) -> int:
        return sum(1 for r in self.reps if r.kept is not None)

    @property
    def missed(self) -> tuple[int, ...]:
        return tuple(r.index for r in self.reps if r.kept is False)

    def line(self) -> str:
        return f"tempo {self.tempo.label()}: {self.kept} of {self.judged} reps kept"

    def to_json(self) -> dict:
        return {**self.tempo.to_json(), "kept": self.kept, "judged": self.judged, "missed": list(self.missed)}


def summarise(reps, tempo: Tempo) -> TempoSummary:
    return TempoSummary(tempo, tuple(check_rep(r, tempo) for r in reps))
