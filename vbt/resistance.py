"""Accommodating resistance: bands and chains on the bar (science.md, training section).

A band pulls the bar down harder the higher it is (it stretches); a chain adds mass as its links
leave the floor. The resistance then depends on the bar's height, which the transducer knows, so a
rep's force and power use the load at each height:

- the bar's own load ``m`` (plates and bar) still needs ``m (a + g)``;
- a band adds its tension ``T(h)`` (no inertia worth counting);
- a chain adds ``c(h) g`` for the links off the floor (their inertia is neglected).

``h`` is the height above the rep's bottom. Tension and chain mass change linearly with height:
a band's tension with its stretch (Hooke), a chain's mass with the links lifted.

A spec is **complete** when it fixes the resistance at every height of the rep: bands with both
tensions (top and bottom), or the top tension and the band's stiffness; chains with the mass added
at the top or the mass per metre. With only one band tension the force and power are
**approximate** (the band is taken as pulling that much all the way) and are shown as such.

Velocity metrics never depend on the load: only the force and power fields of a rep change.

Pure numpy; the filter is the analysis kernels' own, so with no bands or chains this gives exactly
the kernels' figures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from vbt.fields import ACCOMMODATION_FIELDS, accommodation_problems

G = 9.81


@dataclass(frozen=True)
class Accommodation:
    """Bands and chains on a set. Every field optional (None); units in the names."""

    band_top_n: float | None = None
    band_bottom_n: float | None = None
    band_n_per_m: float | None = None
    chain_top_kg: float | None = None
    chain_kg_per_m: float | None = None

    def validate(self) -> list[str]:
        return accommodation_problems(**asdict(self))

    @property
    def empty(self) -> bool:
        return all(v is None for v in asdict(self).values())

    @property
    def has_band(self) -> bool:
        return self.band_top_n is not None or self.band_bottom_n is not None

    @property
    def has_chain(self) -> bool:
        return self.chain_top_kg is not None or self.chain_kg_per_m is not None

    @property
    def approximate(self) -> bool:
        """True when the spec does not fix the band's tension at every height."""
        if not self.has_band:
            return False
        return not (self.band_top_n is not None and (self.band_bottom_n is not None or self.band_n_per_m is not None))

    def extra_force_n(self, h_m, rom_m: float):
        """Force the bands and chains add at height ``h_m`` above the rep's bottom (N), for a rep
        of range ``rom_m``. Scalar or array."""
        h = np.clip(np.asarray(h_m, dtype=np.float64), 0.0, max(rom_m, 0.0))
        share = h / rom_m if rom_m > 0 else np.zeros_like(h)
        out = np.zeros_like(h)
        top, bottom = self.band_top_n, self.band_bottom_n
        if top is not None and bottom is None and self.band_n_per_m is not None:
            bottom = max(0.0, top - self.band_n_per_m * rom_m)
        if top is not None and bottom is not None:
            out = out + bottom + (top - bottom) * share
        elif top is not None or bottom is not None:  # one tension only: approximate, constant
            out = out + (top if top is not None else bottom)
        if self.chain_kg_per_m is not None:
            out = out + self.chain_kg_per_m * h * G
        elif self.chain_top_kg is not None:
            out = out + self.chain_top_kg * share * G
        return out

    def describe(self) -> str:
        """One line a person reads: what is on the bar."""
        bits = []
        if self.has_band:
            if self.band_top_n is not None and self.band_bottom_n is not None:
                bits.append(f"bands {self.band_bottom_n:g} N at the bottom to {self.band_top_n:g} N at the top")
            elif self.band_top_n is not None and self.band_n_per_m is not None:
                bits.append(f"bands {self.band_top_n:g} N at the top, {self.band_n_per_m:g} N/m")
            else:
                one = self.band_top_n if self.band_top_n is not None else self.band_bottom_n
                where = "top" if self.band_top_n is not None else "bottom"
                bits.append(f"bands {one:g} N at the {where} (other end unknown)")
        if self.chain_kg_per_m is not None:
            bits.append(f"chains {self.chain_kg_per_m:g} kg per metre")
        elif self.chain_top_kg is not None:
            bits.append(f"chains +{self.chain_top_kg:g} kg at the top")
        line = ", ".join(bits) or "no bands or chains"
        if self.approximate:
            line += ": force and power approximate"
        return line

    def to_json(self) -> dict:
        return {**asdict(self), "approximate": self.approximate}


def from_fields(**values) -> Accommodation | None:
    """An Accommodation from set fields (None when none is given). Raises ValueError with one
    line when a value is unusable."""
    acc = Accommodation(**{k: values.get(k) for k in ACCOMMODATION_FIELDS})
    problems = acc.validate()
    if problems:
        raise ValueError("; ".join(problems))
    return None if acc.empty else acc


def rep_forces(filtered_m: np.ndarray, fs_hz: float, t0_s: float, t1_s: float, mean_velocity_m_s: float,
               rom_m: float, load_kg: float, acc: Accommodation):
    """Mean and peak force (N) and power (W) of one concentric phase with bands and chains.

    ``filtered_m``: the zero-phase filtered positions of the rep's window (the kernels' filter),
    ``t0_s``/``t1_s``: the phase's ends in seconds from the window's first sample. The bar's part
    follows the kernels exactly (mean force the weight, mean power m g MV, peaks from the filtered
    signal); the bands' and chains' part adds their force at each height: its time mean to the
    mean force, its work over the rise divided by the duration to the mean power, and at each
    sample to the peaks.
    """
    xf = filtered_m
    n = xf.size
    v = np.gradient(xf) * fs_hz if n > 1 else np.zeros(n)
    a = np.empty(n)
    if n > 2:
        a[1:-1] = (v[2:] - v[:-2]) * 0.5 * fs_hz
        a[0], a[-1] = a[1], a[-2]
    else:
        a[:] = 0.0
    j0 = max(0, int(math.ceil(t0_s * fs_hz)))
    j1 = min(n - 1, int(math.floor(t1_s * fs_hz)))
    if j1 <= j0:
        return None
    x0 = float(np.interp(t0_s * fs_hz, np.arange(n), xf))
    h = xf[j0:j1 + 1] - x0
    extra = acc.extra_force_n(h, rom_m)
    force = load_kg * (a[j0:j1 + 1] + G) + extra
    power = force * v[j0:j1 + 1]
    duration = t1_s - t0_s
    # work against bands and chains over the rise (their force is linear in height: exact)
    ends = acc.extra_force_n(np.array([0.0, rom_m]), rom_m)
    work = 0.5 * float(ends[0] + ends[1]) * rom_m if rom_m > 0 else 0.0
    mean_force = load_kg * G + float(extra.mean())
    mean_power = load_kg * G * mean_velocity_m_s + (work / duration if duration > 0 else 0.0)
    return mean_force, float(force.max()), mean_power, float(power.max())
