"""Motion families built differently from the estimator's model, each with exact ground truth.

``vbt.simulate`` draws every phase as a Beta-shaped velocity profile, the same family the
estimator's whole-phase fit assumes; accuracy proven there alone is circular (issue 9). The
families here are built other ways, and the Beta model is kept as one family among them:

``forcevel``
    Physics: ``a = F(v, x)/m - g`` integrated (RK4, 0.1 ms) with a force-velocity relation
    ``F0 (1 - v/v0)``, a sticking region that dips the force over part of the range, a rate of force
    development from the bottom, and an effort that fades near lockout so the bar decelerates to
    rest (the top is where ``v`` returns to 0, found by interpolating the zero crossing). Fatigue
    lowers ``F0`` rep by rep.
``bounce``
    Touch-and-go: the descent reverses into the rise with an acceleration of 20-60 m/s^2 at the
    turning point and not one still instant at the bottom (bottom pause 0).
``jump``
    Loaded countermovement jumps: descent at 1-2 m/s, a reversal of tens of ms, push-off whose
    acceleration falls to exactly -g at take-off, flight at exactly -g to the apex (the apex ends the
    concentric phase), fall, landing absorption and a stand-up shorter than any minimum ROM.
``plateau``
    A fast rise to a long near-constant velocity, then braking steeper than -g.
``grinder``
    Near-maximal reps: 2-4 s at 0.05-0.35 m/s, a sticking point near 0.04 m/s, lockout creep,
    sometimes an isometric hold mid-rise (velocity exactly 0 for 0.3-0.5 s: the concentric phase
    is the whole rise and holds it), small up-and-down corrections of 2-10 mm before the rise.
``smooth``
    Random smooth positive profiles: shape-preserving splines through random points times random
    onset and arrival exponents; skews outside the Beta family and slow starts.
``beta``
    ``vbt.simulate.simulate_set`` itself.

Ground truth (science.md): a concentric phase runs from the bottom turning point (velocity
crossing zero upwards) to the top (velocity back at zero); MV = ROM / duration; PV the largest
velocity; MPV the mean velocity up to the first instant after PV where the acceleration is below -g
(the whole phase if never). For the jump the propulsive phase ends at take-off, where the applied
force vanishes and the acceleration reaches -g (it never goes below: the flight is exactly -g).
Eccentric duration: from where the descent starts to where it stops; bottom pause: from there to
the concentric start (0 for a bounce or a jump; corrections before a grind count as pause).

Every moving stretch is stored as dense knots (<= 0.1 ms apart) of position, velocity and
acceleration; positions between knots are cubic Hermite interpolants, so the sampled stream and
the truth come from the same trajectory. Phase ends lie on knots by construction (analytic
pieces) or by interpolation of the zero crossing within one 0.1 ms step (the ODE).

Public API
----------
``FAMILIES``, ``SENSOR_KINDS``
``simulate_family(family, seed, sensor_kind="csv") -> SimulatedSet``
``chronojump_text(sim) -> str``: a Chronojump-kind set as that raw format (integer mm per ms).
"""

from __future__ import annotations

from dataclasses import replace
from math import ceil, sqrt

import numpy as np
from numba import njit

from vbt.simulate import G, SensorSpec, SimulatedSet, TrueRep, simulate_set

FAMILIES = ("forcevel", "bounce", "jump", "plateau", "grinder", "smooth", "beta")
SENSOR_KINDS = ("csv", "chronojump", "fine")
DT_S = 1e-4  # knot spacing of every moving stretch
CHRONOJUMP_QUANTUM_M = 0.001
CHRONOJUMP_PERIOD_S = 0.001


# ---- a trajectory made of dense knots -------------------------------------------------------


class DenseTimeline:
    """Position, velocity and acceleration at knots; cubic Hermite positions between them.

    ``position(t)`` and ``t_s`` are what ``SensorSpec.sample`` needs. ``phases`` lists
    ``(role, t0_s, t1_s)`` of every stretch appended, for plots and debugging.
    """

    def __init__(self, x0_m: float):
        self._t = [np.array([0.0])]
        self._x = [np.array([x0_m])]
        self._v = [np.array([0.0])]
        self._a = [np.array([0.0])]
        self.n_knots = 1
        self.t_s = 0.0
        self.x_m = x0_m
        self.v_m_s = 0.0
        self.phases: list[tuple[str, float, float]] = []
        self._arrays = None

    # building
    def append(self, t_rel, x_rel, v, a, role: str) -> tuple[int, int]:
        """Append a stretch given from its own start (t_rel[0] = 0, x_rel[0] = 0); returns the global
        knot indices of its first and last knot."""
        t_rel, x_rel, v, a = (np.asarray(z, dtype=np.float64) for z in (t_rel, x_rel, v, a))
        if abs(v[0] - self.v_m_s) > 1e-9:
            raise ValueError(f"velocity jumps from {self.v_m_s} to {v[0]} at {self.t_s} s ({role})")
        i0 = self.n_knots - 1
        self._t.append(self.t_s + t_rel[1:])
        self._x.append(self.x_m + x_rel[1:])
        self._v.append(v[1:])
        self._a.append(a[1:])
        self.n_knots += t_rel.size - 1
        self.phases.append((role, self.t_s, self.t_s + float(t_rel[-1])))
        self.t_s += float(t_rel[-1])
        self.x_m += float(x_rel[-1])
        self.v_m_s = float(v[-1])
        self._arrays = None
        return i0, self.n_knots - 1

    def hold(self, duration_s: float, role: str = "hold", wobble_m: float = 0.0, wobble_hz: float = 0.0):
        """Keep the bar still; a wobble dips at most ``wobble_m`` below the hold height."""
        if duration_s <= 0:
            return None
        if wobble_m <= 0:
            return self.append([0.0, duration_s], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], role)
        t = _grid(duration_s)
        tau = t / duration_s
        w = 2 * np.pi * wobble_hz
        env, denv = np.sin(np.pi * tau) ** 2, np.pi / duration_s * np.sin(2 * np.pi * tau)
        osc, dosc = 0.5 * (1 - np.cos(w * t)), 0.5 * w * np.sin(w * t)
        x = -wobble_m * env * osc
        v = -wobble_m * (denv * osc + env * dosc)
        return self.append(t, x, v, np.gradient(v, t, edge_order=2), role)

    def move(self, t_rel, v, role: str, displacement_m: float | None = None) -> tuple[int, int]:
        """Append a stretch from its velocity on a dense grid, scaled to ``displacement_m`` if given."""
        t_rel, v = np.asarray(t_rel, dtype=np.float64), np.asarray(v, dtype=np.float64)
        x = _cumtrapz(v, t_rel)
        if displacement_m is not None:
            v = v * (displacement_m / x[-1])
            x = x * (displacement_m / x[-1])
        return self.append(t_rel, x, v, np.gradient(v, t_rel, edge_order=2), role)

    def smooth_move(self, displacement_m: float, duration_s: float, role: str, p: float = 2.0, q: float = 2.0):
        t = _grid(duration_s)
        tau = t / duration_s
        return self.move(t, tau**p * (1 - tau) ** q, role, displacement_m)

    # reading
    def arrays(self):
        """All knots: (t, x, v, a)."""
        if self._arrays is None:
            self._arrays = tuple(np.concatenate(z) for z in (self._t, self._x, self._v, self._a))
        return self._arrays

    def knots(self, i0: int, i1: int):
        """Knots i0..i1 (inclusive) as (t, x, v, a), without joining the whole trajectory."""
        out, start = [[], [], [], []], 0
        for k in range(len(self._t)):
            n = self._t[k].size
            lo, hi = max(i0 - start, 0), min(i1 + 1 - start, n)
            if lo < hi:
                for z, arr in zip(out, (self._t, self._x, self._v, self._a)):
                    z.append(arr[k][lo:hi])
            start += n
        return tuple(np.concatenate(z) for z in out)

    def position(self, t) -> np.ndarray:
        T, X, V, _ = self.arrays()
        t = np.asarray(t, dtype=np.float64)
        i = np.clip(np.searchsorted(T, t, side="right") - 1, 0, T.size - 2)
        h = T[i + 1] - T[i]
        s = np.clip((t - T[i]) / h, 0.0, 1.0)
        s2, s3 = s * s, s * s * s
        return ((2 * s3 - 3 * s2 + 1) * X[i] + (s3 - 2 * s2 + s) * h * V[i]
                + (3 * s2 - 2 * s3) * X[i + 1] + (s3 - s2) * h * V[i + 1])

    def velocity(self, t) -> np.ndarray:
        T, X, V, _ = self.arrays()
        t = np.asarray(t, dtype=np.float64)
        i = np.clip(np.searchsorted(T, t, side="right") - 1, 0, T.size - 2)
        h = T[i + 1] - T[i]
        s = np.clip((t - T[i]) / h, 0.0, 1.0)
        s2 = s * s
        return ((6 * s2 - 6 * s) * X[i] / h + (3 * s2 - 4 * s + 1) * V[i]
                + (6 * s - 6 * s2) * X[i + 1] / h + (3 * s2 - 2 * s) * V[i + 1])


def _grid(duration_s: float, dt: float = DT_S) -> np.ndarray:
    return np.linspace(0.0, duration_s, max(3, int(ceil(duration_s / dt)) + 1))


def _cumtrapz(v, t):
    return np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * np.diff(t))))


def _pchip(xk, yk, x):
    """Shape-preserving cubic (Fritsch-Carlson): never below the smaller of two neighbouring points."""
    xk, yk = np.asarray(xk, float), np.asarray(yk, float)
    h = np.diff(xk)
    d = np.diff(yk) / h
    m = np.zeros(xk.size)
    for k in range(1, xk.size - 1):
        if d[k - 1] * d[k] > 0:
            w1, w2 = 2 * h[k] + h[k - 1], h[k] + 2 * h[k - 1]
            m[k] = (w1 + w2) / (w1 / d[k - 1] + w2 / d[k])
    if d.size == 1:
        m[:] = d[0]
    else:
        m[0] = _pchip_edge(h[0], h[1], d[0], d[1])
        m[-1] = _pchip_edge(h[-1], h[-2], d[-1], d[-2])
    i = np.clip(np.searchsorted(xk, x, side="right") - 1, 0, xk.size - 2)
    hh = h[i]
    s = (x - xk[i]) / hh
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * yk[i] + (s3 - 2 * s2 + s) * hh * m[i]
            + (3 * s2 - 2 * s3) * yk[i + 1] + (s3 - s2) * hh * m[i + 1])


def _trapz(v, t):
    return float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(t)))


def _pchip_edge(h0, h1, d0, d1):
    m = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if np.sign(m) != np.sign(d0):
        return 0.0
    if np.sign(d0) != np.sign(d1) and abs(m) > abs(3 * d0):
        return 3 * d0
    return m


def _random_body(rng, tau, n_points=(2, 6), spread=0.5):
    """A positive smooth random function of tau in [0, 1] (spline through random points)."""
    k = int(rng.integers(*n_points))
    xk = np.linspace(0.0, 1.0, k + 2)
    xk[1:-1] += rng.uniform(-0.3, 0.3, k) / (k + 1)  # points at least 0.4 of their even spacing apart
    yk = rng.lognormal(0.0, spread, xk.size)
    return _pchip(xk, yk, tau)


def _bisect(f, lo, hi, iters=50):
    """Root of an increasing f between lo and hi > 0 (bisection in log space)."""
    lo, hi = np.log(lo), np.log(hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(np.exp(mid)) > 0:
            hi = mid
        else:
            lo = mid
    return float(np.exp(0.5 * (lo + hi)))


# ---- truth ---------------------------------------------------------------------------------


def _truth(tl: DenseTimeline, i0: int, i1: int, index: int, eccentric_s, pause_s, propulsive_end_s=None) -> TrueRep:
    t, x, v, a = tl.knots(i0, i1)
    start, end = float(t[0]), float(t[-1])
    rom = float(x[-1] - x[0])
    dur = end - start
    k = int(np.argmax(v))
    if 0 < k < v.size - 1:  # parabola through the three knots around the peak
        den = v[k - 1] - 2 * v[k] + v[k + 1]
        off = 0.5 * (v[k - 1] - v[k + 1]) / den if den < 0 else 0.0
        pv = float(v[k] - 0.25 * (v[k - 1] - v[k + 1]) * off)
        t_pv = float(t[k] + off * (t[k + 1] - t[k]))
    else:
        pv, t_pv = float(v[k]), float(t[k])
    if propulsive_end_s is None:
        below = np.nonzero(a[k:] < -G)[0]
        if below.size:
            j = k + int(below[0])
            if j > 0:
                f = (a[j - 1] + G) / (a[j - 1] - a[j])
                propulsive_end_s = float(t[j - 1] + f * (t[j] - t[j - 1]))
            else:
                propulsive_end_s = float(t[j])
    if propulsive_end_s is None or propulsive_end_s >= end:
        mpv = rom / dur
    else:
        mpv = float(tl.position(np.array([propulsive_end_s]))[0] - x[0]) / (propulsive_end_s - start)
    return TrueRep(index=index, concentric_start_s=start, concentric_end_s=end, mean_velocity_m_s=rom / dur,
                   mean_propulsive_velocity_m_s=mpv, peak_velocity_m_s=pv, rom_m=rom,
                   time_to_peak_velocity_s=t_pv - start, concentric_duration_s=dur,
                   eccentric_duration_s=eccentric_s, bottom_pause_s=pause_s)


# ---- pieces shared by the families -----------------------------------------------------------


def _fatigue(rng, n, v1, per_rep=(0.0, 0.05)):
    f, c = float(rng.uniform(*per_rep)), float(rng.uniform(1.0, 1.8))
    i = np.arange(n, dtype=float)
    v = v1 * np.clip(1.0 - f * i**c, 0.5, None) * (1.0 + rng.normal(0.0, 0.012, n))  # sets end by 50 % loss
    if n > 1 and rng.random() < 0.5:
        v[0] *= float(rng.uniform(0.93, 1.0))
    return v


def _setup(tl, rng):
    """Unrack and walk-out: a few centimetres up, then small wiggles (all under any minimum ROM)."""
    tl.smooth_move(float(rng.uniform(0.04, 0.08)), float(rng.uniform(0.4, 0.8)), "setup")
    tl.hold(float(rng.uniform(0.2, 0.6)), "setup")
    for _ in range(int(rng.integers(2, 5))):
        d = float(rng.uniform(0.005, 0.025))
        tl.smooth_move(-d, float(rng.uniform(0.15, 0.35)), "setup")
        tl.smooth_move(d, float(rng.uniform(0.15, 0.35)), "setup")
    tl.hold(float(rng.uniform(0.5, 1.5)), "setup")


def _rerack(tl, rng):
    for _ in range(int(rng.integers(1, 4))):
        d = float(rng.uniform(0.005, 0.02))
        tl.smooth_move(-d, float(rng.uniform(0.15, 0.35)), "rerack")
        tl.smooth_move(d, float(rng.uniform(0.15, 0.35)), "rerack")
    tl.smooth_move(0.03, 0.4, "rerack")
    tl.smooth_move(-0.09, 0.6, "rerack")


def _lockout(tl, rng, lo=0.3, hi=1.5):
    wob = float(rng.uniform(0.0, 0.012)) if rng.random() < 0.6 else 0.0
    tl.hold(float(rng.uniform(lo, hi)), "lockout", wobble_m=wob, wobble_hz=float(rng.uniform(2.0, 5.0)))


def _eccentric(tl, rng, depth_m, duration_s):
    """A descent from still to still with a random smooth shape."""
    t = _grid(duration_s)
    tau = t / duration_s
    shape = (_random_body(rng, tau, (1, 5), spread=0.2) * tau ** rng.uniform(1.2, 2.5)
             * (1 - tau) ** rng.uniform(1.0, 2.5))
    i0, i1 = tl.move(t, -shape, "eccentric", -depth_m)
    return duration_s


def _reversal_descent(tl, rng, depth_m, duration_s, slope_m_s2, role="eccentric"):
    """A descent from still whose velocity reaches 0 at the bottom with slope ``slope_m_s2`` (no stop)."""
    for _ in range(20):
        t = _grid(duration_s)
        tau = t / duration_s
        alpha = float(rng.uniform(1.3, 2.5))
        fade = alpha / float(rng.uniform(0.4, 0.9))  # descent speed peaks at 40-90 % of the way down
        w = tau**alpha * np.exp(fade * (1 - tau))
        rem = duration_s - t
        c = slice(None, None, 10)  # the solve runs on every 10th knot; the final scaling is exact

        def depth(vs, w=w[c], rem=rem[c], t=t[c]):
            return _trapz(vs * np.tanh(slope_m_s2 * rem / vs) * w, t)

        if depth(1e3) > depth_m * 1.02:
            vs = _bisect(lambda s: depth(s) - depth_m, 1e-3, 1e3)
            v = -vs * np.tanh(slope_m_s2 * rem / vs) * w
            x = _cumtrapz(v, t)
            v *= depth_m / -x[-1]  # exact displacement (a change of ~1e-10)
            tl.append(t, x * depth_m / -x[-1], v, np.gradient(v, t, edge_order=2), role)
            return duration_s
        duration_s *= 1.2
    raise RuntimeError("no descent reaches that depth with that reversal")


def _reversal_rise(tl, rng, rom_m, duration_s, slope_m_s2, role="concentric"):
    """A rise that starts with velocity 0 and slope ``slope_m_s2`` and ends still at the top."""
    for _ in range(20):
        t = _grid(duration_s)
        tau = t / duration_s
        body = _random_body(rng, tau, spread=0.15)
        beta = float(rng.uniform(1.0, 2.5))
        grow = beta / (1 - float(rng.uniform(0.15, 0.6)))  # velocity peaks at 15-60 % of the phase
        h = body / body[0] * np.exp(grow * tau) * (1 - tau) ** beta

        c = slice(None, None, 10)

        def rise(vs, h=h[c], t=t[c]):
            return _trapz(vs * np.tanh(slope_m_s2 * t / vs) * h, t)

        if rise(1e3) > rom_m * 1.02:
            vs = _bisect(lambda s: rise(s) - rom_m, 1e-3, 1e3)
            v = vs * np.tanh(slope_m_s2 * t / vs) * h
            x = _cumtrapz(v, t)
            v *= rom_m / x[-1]
            return tl.append(t, x * rom_m / x[-1], v, np.gradient(v, t, edge_order=2), role)
        duration_s *= 1.15
    raise RuntimeError("no rise reaches that ROM with that reversal")


# ---- forcevel: integrated physics -------------------------------------------------------------


@njit(cache=True)
def _fv_acc(t, x, v, f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w, rfd_s, a_min):
    rho = 1.0 - np.exp(-t / rfd_s)
    f_fv = f0 * (1.0 - v / v0) * (1.0 - stick_depth * np.exp(-((x - stick_x) / stick_w) ** 2))
    f_lift = g + (f_fv - g) * rho
    u = (x - (fade_x - fade_w)) / fade_w
    if u <= 0.0:
        phi = 0.0
    elif u >= 1.0:
        phi = 1.0
    else:
        phi = u * u * (3.0 - 2.0 * u)
    rem = top_x - x
    if v > 0.0 and rem > 1e-9:
        a_req = v * v / (2.0 * rem)
    else:
        a_req = g
    # braking harder than gravity needs the lifter to hold the bar back: up to 0.6 g of pull
    a_req = min(max(a_req, a_min), 1.6 * g)
    f = (1.0 - phi) * f_lift + phi * (g - a_req)
    if f < -0.6 * g:
        f = -0.6 * g
    return f - g


@njit(cache=True)
def _fv_rise(f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w, rfd_s, a_min, dt, max_steps,
             out_t, out_x, out_v, out_a):
    """RK4 from rest at x = 0 until the velocity returns to 0. Returns the knot count, or -1 when the
    bar stalls before the fading region (or never stops)."""
    t, x, v = 0.0, 0.0, 0.0
    out_t[0], out_x[0], out_v[0] = 0.0, 0.0, 0.0
    out_a[0] = _fv_acc(0.0, 0.0, 0.0, f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w, rfd_s, a_min)
    moved = False
    for n in range(1, max_steps):
        k1x, k1v = v, _fv_acc(t, x, v, f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w, rfd_s, a_min)
        k2x = v + 0.5 * dt * k1v
        k2v = _fv_acc(t + 0.5 * dt, x + 0.5 * dt * k1x, k2x, f0, v0, g, stick_depth, stick_x, stick_w, top_x,
                      fade_x, fade_w, rfd_s, a_min)
        k3x = v + 0.5 * dt * k2v
        k3v = _fv_acc(t + 0.5 * dt, x + 0.5 * dt * k2x, k3x, f0, v0, g, stick_depth, stick_x, stick_w, top_x,
                      fade_x, fade_w, rfd_s, a_min)
        k4x = v + dt * k3v
        k4v = _fv_acc(t + dt, x + dt * k3x, k4x, f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w,
                      rfd_s, a_min)
        xn = x + dt / 6.0 * (k1x + 2 * k2x + 2 * k3x + k4x)
        vn = v + dt / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v)
        tn = t + dt
        if vn > 1e-4:
            moved = True
        if moved and vn <= 0.0:
            if x < fade_x - fade_w:
                return -1
            # the zero crossing inside this step: Hermite cubic of v with end slopes a
            an = _fv_acc(tn, xn, vn, f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w, rfd_s, a_min)
            a0 = out_a[n - 1]
            lo, hi = 0.0, 1.0
            for _ in range(60):
                s = 0.5 * (lo + hi)
                vs = ((2 * s**3 - 3 * s**2 + 1) * v + (s**3 - 2 * s**2 + s) * dt * a0
                      + (3 * s**2 - 2 * s**3) * vn + (s**3 - s**2) * dt * an)
                if vs > 0.0:
                    lo = s
                else:
                    hi = s
            s = 0.5 * (lo + hi)
            h = s * dt
            # position at the crossing: the integral of the same cubic from 0 to s
            xs = x + dt * ((s**4 / 2 - s**3 + s) * v + (s**4 / 4 - 2 * s**3 / 3 + s**2 / 2) * dt * a0
                           + (s**3 - s**4 / 2) * vn + (s**4 / 4 - s**3 / 3) * dt * an)
            out_t[n], out_x[n], out_v[n] = t + h, xs, 0.0
            out_a[n] = a0  # past the crossing the law changes (the lifter holds); keep the braking
            return n + 1
        t, x, v = tn, xn, vn
        out_t[n], out_x[n], out_v[n] = t, x, v
        out_a[n] = _fv_acc(t, x, v, f0, v0, g, stick_depth, stick_x, stick_w, top_x, fade_x, fade_w, rfd_s, a_min)
    return -1


def _fv_concentric(tl, rng, rom_m, f0, v0, stick, role="concentric"):
    depth, sx, sw = stick
    v_ss = v0 * max(1.0 - G / f0, 0.05)  # where F-v balances the weight: about the speed at the top
    # the lifter brakes to lockout at 0.5-1.6 g: light, fast reps brake harder than gravity
    fade_len = max(0.015, min(0.35 * rom_m, v_ss**2 / (2 * G * float(rng.uniform(0.5, 1.6)))))
    fade_w = 0.4 * fade_len
    max_steps = int(12.0 / DT_S)
    buf = [np.empty(max_steps) for _ in range(4)]
    for _ in range(30):
        n = _fv_rise(f0, v0, G, depth, sx * rom_m, sw * rom_m, rom_m, rom_m - fade_len, fade_w,
                     float(rng.uniform(0.03, 0.1)), 0.3, DT_S, max_steps, *buf)
        if n > 0:
            x, v = buf[1][:n], buf[2][:n]
            mid = (x > 0.1 * x[-1]) & (x < 0.8 * x[-1])
            if v[mid].min() >= 0.03:
                return tl.append(buf[0][:n], x, v, buf[3][:n], role)
        # stalled, or all but stalled, in the sticking region: a lighter sticking point
        depth *= 0.8
    raise RuntimeError("force-velocity rep never completes")


def _build_forcevel(tl, rng):
    n = int(rng.integers(3, 13))
    rom = float(rng.uniform(0.3, 0.7))
    ratio1 = float(rng.uniform(1.25, 3.0))  # F0 / (m g) of the first rep: heavy ... light
    v0 = float(rng.uniform(1.5, 3.5))
    loss = _fatigue(rng, n, 1.0, (0.0, 0.04))
    stick = (float(rng.uniform(0.0, 0.35)), float(rng.uniform(0.25, 0.6)), float(rng.uniform(0.06, 0.15)))
    paused = rng.random() < 0.4
    if rng.random() < 0.85:
        _setup(tl, rng)
    truth = []
    for k in range(n):
        f0 = G * max(1.08, 1.0 + (ratio1 - 1.0) * loss[k])
        ecc = _eccentric(tl, rng, rom * float(rng.uniform(0.98, 1.02)), float(rng.uniform(0.6, 2.2)))
        pause = float(rng.uniform(0.4, 1.2)) if paused else float(rng.choice([0.0, rng.uniform(0.0, 0.15)]))
        tl.hold(pause, "bottom")
        i0, i1 = _fv_concentric(tl, rng, rom * float(rng.uniform(0.98, 1.02)), f0, v0, stick)
        truth.append(_truth(tl, i0, i1, k + 1, ecc, pause))
        _lockout(tl, rng)
        rom = truth[-1].rom_m
    if rng.random() < 0.85:
        _rerack(tl, rng)
    return truth


# ---- the other families ------------------------------------------------------------------------


def _build_bounce(tl, rng):
    n = int(rng.integers(3, 13))
    rom = float(rng.uniform(0.25, 0.65))
    mv = _fatigue(rng, n, float(rng.uniform(0.35, 1.3)))
    slope = float(rng.uniform(20.0, 60.0))
    if rng.random() < 0.85:
        _setup(tl, rng)
    truth = []
    for k in range(n):
        r = rom * float(rng.uniform(0.98, 1.02))
        a_bottom = float(np.clip(slope * rng.uniform(0.85, 1.15), 20.0, 60.0))
        ecc = _reversal_descent(tl, rng, r, float(rng.uniform(0.5, 1.6)), a_bottom)
        i0, i1 = _reversal_rise(tl, rng, r * float(rng.uniform(0.99, 1.01)), r / mv[k], a_bottom)
        truth.append(_truth(tl, i0, i1, k + 1, ecc, 0.0))
        _lockout(tl, rng, 0.2, 1.2)
    if rng.random() < 0.85:
        _rerack(tl, rng)
    return truth


def _jump_pushoff(tl, slope, k, length_m):
    """Acceleration (A + g)(1 - s)^k - g: A at the bottom, exactly -g at take-off; analytic."""
    c = (slope + G) / (k + 2) - G / 2
    dur = sqrt(length_m / c)
    t = _grid(dur)
    s = t / dur
    v = dur * ((slope + G) * (1 - (1 - s) ** (k + 1)) / (k + 1) - G * s)
    x = dur**2 * ((slope + G) * (s - (1 - (1 - s) ** (k + 2)) / (k + 2)) / (k + 1) - G * s**2 / 2)
    a = (slope + G) * (1 - s) ** k - G
    return tl.append(t, x, v, a, "concentric")


def _ballistic(tl, v_up, until_v, role):
    """Free flight at exactly -g from velocity v_up until velocity until_v."""
    dur = (v_up - until_v) / G
    t = _grid(dur, 2e-4)  # a cubic Hermite of a parabola is exact, any spacing
    return tl.append(t, v_up * t - G * t**2 / 2, v_up - G * t, np.full(t.size, -G), role)


def _build_jump(tl, rng):
    n = int(rng.integers(3, 9))
    while True:  # an athlete whose first jump has MV 1.5-2.7 m/s over 0.25-0.6 s
        depth = float(rng.uniform(0.25, 0.45))
        ext = float(rng.uniform(0.03, 0.07))  # ankles: take-off above standing height
        k = float(rng.uniform(0.6, 1.6))
        slope1 = float(rng.uniform(22.0, 60.0))
        c = (slope1 + G) / (k + 2) - G / 2
        push_s = sqrt((depth + ext) / c)
        v_to = push_s * ((slope1 + G) / (k + 1) - G)
        dur = push_s + v_to / G
        if 1.5 <= (depth + ext + v_to**2 / (2 * G)) / dur <= 2.7 and 0.25 <= dur <= 0.6:
            break
    loss = _fatigue(rng, n, 1.0, (0.0, 0.04))
    truth = []
    for i in range(n):
        slope = slope1 * loss[i]
        d = depth * float(rng.uniform(0.96, 1.04))
        ecc = _reversal_descent(tl, rng, d, d / float(rng.uniform(0.7, 1.25)), slope)  # peaks 1-2 m/s
        i0, _ = _jump_pushoff(tl, slope, k, d + ext)
        takeoff = tl.t_s
        v_to = tl.v_m_s
        _, i1 = _ballistic(tl, v_to, 0.0, "concentric")
        truth.append(_truth(tl, i0, i1, i + 1, ecc, 0.0, propulsive_end_s=takeoff))
        _ballistic(tl, 0.0, -v_to, "fall")
        absorb = min(float(rng.uniform(0.1, 0.2)), ext + 0.11)
        beta = float(rng.uniform(1.5, 3.0))
        dur = absorb * (beta + 1) / v_to
        t = _grid(dur)
        v = -v_to * (1 - t / dur) ** beta
        tl.append(t, -absorb * (1 - (1 - t / dur) ** (beta + 1)), v, np.gradient(v, t, edge_order=2), "landing")
        tl.hold(float(rng.uniform(0.1, 0.4)), "landing")
        tl.smooth_move(absorb - ext, float(rng.uniform(0.5, 1.0)), "stand")  # under any minimum ROM
        tl.hold(float(rng.uniform(1.0, 3.0)), "rest")
    return truth


def _build_plateau(tl, rng):
    n = int(rng.integers(3, 13))
    rom = float(rng.uniform(0.45, 0.8))
    mv = _fatigue(rng, n, float(rng.uniform(0.3, 0.9)))
    paused = rng.random() < 0.5
    if rng.random() < 0.85:
        _setup(tl, rng)
    truth = []
    for k in range(n):
        r = rom * float(rng.uniform(0.98, 1.02))
        ecc = _eccentric(tl, rng, r, float(rng.uniform(0.7, 2.2)))
        pause = float(rng.uniform(0.3, 1.0)) if paused else float(rng.uniform(0.0, 0.1))
        tl.hold(pause, "bottom")
        dur = r / mv[k]
        rise_s = float(rng.uniform(0.06, 0.2)) * min(1.0, dur)
        a_brake = float(rng.uniform(12.0, 25.0))  # peak deceleration, m/s^2
        vp, brake_s = mv[k], 0.0
        for _ in range(30):  # plateau speed and braking time that together give the ROM
            brake_s = vp * np.pi / (2 * a_brake)
            vp = r / (dur - (rise_s + brake_s) / 2)
        flat_s = dur - rise_s - brake_s
        t = _grid(dur)
        v = np.where(t < rise_s, 0.5 * (1 - np.cos(np.pi * np.minimum(t / rise_s, 1))), 1.0)
        v = np.where(t > rise_s + flat_s, 0.5 * (1 + np.cos(np.pi * np.clip((t - rise_s - flat_s) / brake_s, 0, 1))), v)
        ripple = float(rng.uniform(0.0, 0.04)) * np.sin(2 * np.pi * float(rng.uniform(1.0, 4.0)) * t
                                                        + rng.uniform(0, 6.3))
        drift = float(rng.uniform(-0.08, 0.08)) * (t / dur - 0.5)
        v = v * (1 + (ripple + drift) * np.sin(np.pi * t / dur) ** 2)
        i0, i1 = tl.move(t, v, "concentric", r)
        truth.append(_truth(tl, i0, i1, k + 1, ecc, pause))
        _lockout(tl, rng)
    if rng.random() < 0.85:
        _rerack(tl, rng)
    return truth


def _corrections(tl, rng):
    """Small up-and-down (or down-and-up) adjustments of 2-10 mm at the bottom before the rise."""
    for _ in range(int(rng.integers(1, 4))):
        d = float(rng.uniform(0.002, 0.010)) * (1 if rng.random() < 0.5 else -1)
        tl.smooth_move(d, float(rng.uniform(0.1, 0.3)), "correction")
        tl.hold(float(rng.uniform(0.0, 0.15)), "correction")
        tl.smooth_move(-d, float(rng.uniform(0.1, 0.3)), "correction")
        tl.hold(float(rng.uniform(0.05, 0.3)), "correction")


def _grind(tl, rng, rom_m, duration_s, hold_s):
    """Velocity through control points: a push, a sticking point near 0.04 m/s (or a still hold),
    a second push, lockout creep. The hold, if any, is inside the phase."""
    mv = rom_m / duration_s
    ts = float(rng.uniform(0.3, 0.6))
    tc = float(rng.uniform(0.8, 0.9))
    stick = 0.0 if hold_s > 0 else float(rng.uniform(0.025, 0.06)) / mv
    pts = [(0.0, 0.0), (ts * rng.uniform(0.3, 0.7), rng.uniform(1.0, 2.0)), (ts, stick),
           (ts + (tc - ts) * rng.uniform(0.3, 0.7), rng.uniform(1.0, 2.0)), (tc, rng.uniform(0.15, 0.4)),
           (tc + (1 - tc) * 0.5, rng.uniform(0.04, 0.12)), (1.0, 0.0)]
    xk, yk = np.array(pts, dtype=float).T
    t = _grid(duration_s)
    v = np.maximum(_pchip(xk, yk, t / duration_s), 0.0)
    x = _cumtrapz(v, t)
    v *= rom_m / x[-1]
    x *= rom_m / x[-1]
    a = np.gradient(v, t, edge_order=2)
    if hold_s <= 0:
        return tl.append(t, x, v, a, "concentric")
    j = int(np.argmin(np.abs(t / duration_s - ts)))
    v[j], a[j] = 0.0, 0.0
    i0, _ = tl.append(t[:j + 1], x[:j + 1], v[:j + 1], a[:j + 1], "concentric")
    tl.hold(hold_s, "concentric hold")
    _, i1 = tl.append(t[j:] - t[j], x[j:] - x[j], v[j:], a[j:], "concentric")
    return i0, i1


def _build_grinder(tl, rng):
    n = int(rng.integers(3, 7))
    floor = rng.random() < 0.35  # deadlift-like: first pull from the floor, no eccentric before it
    rom = float(rng.uniform(0.25, 0.5))
    mv = np.clip(_fatigue(rng, n, rom / float(rng.uniform(1.8, 2.6)), (0.02, 0.08)), 0.05, 0.35)  # 2-4 s
    if not floor and rng.random() < 0.85:
        _setup(tl, rng)
    truth = []
    for k in range(n):
        r = rom * float(rng.uniform(0.98, 1.02))
        ecc = pause = None
        if k > 0 or not floor:
            ecc = _eccentric(tl, rng, r, float(rng.uniform(1.0, 2.5)))
            t_bottom = tl.t_s
            tl.hold(float(rng.uniform(0.1, 0.4)), "bottom")
            if rng.random() < 0.6:
                _corrections(tl, rng)
            pause = tl.t_s - t_bottom
        elif rng.random() < 0.6:
            _corrections(tl, rng)
        dur = float(np.clip(r / mv[k], 1.0, 6.0))
        hold = float(rng.uniform(0.3, 0.5)) if rng.random() < 0.35 else 0.0
        i0, i1 = _grind(tl, rng, r, dur - hold, hold)
        truth.append(_truth(tl, i0, i1, k + 1, ecc, pause))
        _lockout(tl, rng, 0.5, 2.0)
    if floor:
        tl.smooth_move(-rom, float(rng.uniform(0.8, 1.5)), "eccentric")
    elif rng.random() < 0.85:
        _rerack(tl, rng)
    return truth


def _build_smooth(tl, rng):
    n = int(rng.integers(3, 13))
    rom = float(rng.uniform(0.25, 0.7))
    mv = _fatigue(rng, n, float(rng.uniform(0.25, 1.3)))
    paused = rng.random() < 0.4
    if rng.random() < 0.85:
        _setup(tl, rng)
    truth = []
    for k in range(n):
        r = rom * float(rng.uniform(0.98, 1.02))
        ecc = _eccentric(tl, rng, r, float(rng.uniform(0.6, 2.5)))
        pause = float(rng.uniform(0.4, 1.2)) if paused else float(rng.choice([0.0, rng.uniform(0.0, 0.15)]))
        tl.hold(pause, "bottom")
        dur = r / mv[k]
        t = _grid(dur)
        tau = t / dur
        body = _random_body(rng, tau, (2, 7), 0.5)
        onset = float(rng.uniform(1.0, 2.5))  # finite force: no infinite acceleration at the start
        if rng.random() < 0.4:  # slow start: a long lead-in at 15-40 % of the speed that follows
            lead, low = float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.15, 0.4))
            body *= low + (1 - low) / (1 + np.exp(-(tau - lead) / 0.03))
            onset = min(onset, 1.3)
        v = body * tau**onset * (1 - tau) ** rng.uniform(0.8, 2.5)
        i0, i1 = tl.move(t, v, "concentric", r)
        truth.append(_truth(tl, i0, i1, k + 1, ecc, pause))
        _lockout(tl, rng)
    if rng.random() < 0.85:
        _rerack(tl, rng)
    return truth


_BUILDERS = {"forcevel": _build_forcevel, "bounce": _build_bounce, "jump": _build_jump, "plateau": _build_plateau,
             "grinder": _build_grinder, "smooth": _build_smooth}


# ---- sensors and the public API -----------------------------------------------------------------


def sensor_for(kind: str, rng: np.random.Generator) -> SensorSpec:
    """'csv': 100 Hz-1 kHz, 0.2-1 mm, small noise, even or jittered; 'chronojump': 1 kHz, 1 mm, no noise;
    'fine': 1 kHz, 0.1-0.5 mm (the sensors issue 9's tightest MV targets are stated for), noise and
    jitter as 'csv'."""
    if kind == "chronojump":
        return SensorSpec(rate_hz=1000.0, quantum_m=CHRONOJUMP_QUANTUM_M)
    if kind not in ("csv", "fine"):
        raise ValueError(f"sensor kind must be one of {SENSOR_KINDS}")
    fine = kind == "fine"
    return SensorSpec(
        rate_hz=1000.0 if fine else float(np.exp(rng.uniform(np.log(100.0), np.log(1000.0)))),
        jitter=float(rng.uniform(0.0, 0.3)) if rng.random() < 0.5 else 0.0,
        quantum_m=float(rng.uniform(0.0001, 0.0005) if fine else rng.uniform(0.0002, 0.001)),
        noise_m=float(rng.uniform(0.0, 0.0002)),
    )


def sensor_from_text(text: str) -> SensorSpec:
    """One fixed sensor from "HZ,MM,NOISE_MM": its rate, its step in mm (0: unquantised) and its white
    noise's sd in mm, e.g. "50,1,0.1" (the benchmarks' ``--sensor``). ValueError, with what is
    wrong, for anything else."""
    try:
        hz, mm, noise_mm = (float(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"a sensor is three numbers, rate in Hz, step in mm and noise in mm, "
                         f"e.g. 100,1,0 (got {text!r})") from None
    if not (np.isfinite(hz) and hz > 0.0 and np.isfinite(mm) and mm >= 0.0 and np.isfinite(noise_mm)
            and noise_mm >= 0.0):
        raise ValueError(f"a sensor's rate must be above 0, its step and noise 0 or more (got {text!r})")
    return SensorSpec(rate_hz=hz, quantum_m=mm / 1e3, noise_m=noise_mm / 1e3)


def simulate_family(family: str, seed: int, sensor_kind: str = "csv", vibration_m: float = 0.0) -> SimulatedSet:
    """One seeded set of ``family`` sampled by a ``sensor_kind`` sensor: one of SENSOR_KINDS, or one
    fixed sensor as :func:`sensor_from_text` reads it ("2000,0.1,0.05"). The motion depends on
    (family, seed) only: the same seed gives the same lift under any sensor.

    ``vibration_m`` > 0 adds a cable vibration of that amplitude at 20-60 Hz (drawn from the seed)
    to the sensor, before its steps: a robustness check, not part of the families' figures."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}")
    fam_id = FAMILIES.index(family)
    if sensor_kind in SENSOR_KINDS:
        sensor_rng = np.random.default_rng([int(seed), fam_id, 1000 + SENSOR_KINDS.index(sensor_kind)])
        sensor = sensor_for(sensor_kind, sensor_rng)
    else:
        try:
            sensor = sensor_from_text(sensor_kind)
        except ValueError as e:
            raise ValueError(f"sensor kind must be one of {SENSOR_KINDS} or a sensor: {e}") from None
        sensor_rng = np.random.default_rng([int(seed), fam_id, 999])
    if vibration_m > 0:
        hz = float(np.random.default_rng([int(seed), fam_id, 2000]).uniform(20.0, 60.0))
        sensor = replace(sensor, vibration_m=float(vibration_m), vibration_hz=hz)
    if family == "beta":
        sim = simulate_set(int(seed), sensor=sensor)
        if sensor_kind == "chronojump":
            sim = _as_chronojump(sim)
        return sim
    rng = np.random.default_rng([int(seed), fam_id])
    tl = DenseTimeline(x0_m=1.0)
    tl.hold(float(rng.uniform(0.8, 2.0)), "rest")
    truth = _BUILDERS[family](tl, rng)
    tl.hold(float(rng.uniform(0.5, 1.5)), "rest")
    t, x = sensor.sample(tl, sensor_rng)
    sim = SimulatedSet(t, x, tuple(truth), tl, sensor, None, int(seed), tl.position(t))
    return _as_chronojump(sim) if sensor_kind == "chronojump" else sim


def _as_chronojump(sim: SimulatedSet) -> SimulatedSet:
    """Times exactly k ms, positions exactly what reading the raw file gives back (plus the first)."""
    t = np.arange(sim.t_s.size, dtype=np.float64) * CHRONOJUMP_PERIOD_S
    counts = chronojump_counts(sim.position_m)
    x = sim.position_m[0] + np.cumsum(counts).astype(np.float64) * CHRONOJUMP_QUANTUM_M
    sim.t_s, sim.position_m = t, x
    sim.true_position_m = sim.timeline.position(t)
    return sim


def chronojump_counts(position_m: np.ndarray) -> np.ndarray:
    """Integer millimetres moved in each millisecond (the first sample moves 0)."""
    mm = np.round(np.asarray(position_m) / CHRONOJUMP_QUANTUM_M).astype(np.int64)
    return np.concatenate(([0], np.diff(mm)))


def chronojump_text(sim: SimulatedSet) -> str:
    """A Chronojump-kind set in Chronojump's raw signal format, as ``vbt.io`` reads it."""
    if sim.t_s.size > 1 and abs(np.median(np.diff(sim.t_s)) - CHRONOJUMP_PERIOD_S) > 1e-9:
        raise ValueError("not a 1 kHz set: simulate it with sensor_kind='chronojump'")
    return ", ".join(str(int(c)) for c in chronojump_counts(sim.position_m))


def warped_times(t_s: np.ndarray, rng: np.random.Generator, pct: float, pieces: int = 40) -> np.ndarray:
    """``t_s`` with its spacing scaled by a factor within +-``pct`` % that changes at ``pieces``
    random samples: the same motion at a new sampling phase, as a live byte clock stamps it."""
    d = np.diff(t_s)
    scale = np.ones(d.size)
    cuts = np.sort(rng.integers(0, d.size, pieces))
    for a, b in zip(cuts[:-1], cuts[1:]):
        scale[a:b] = 1.0 + rng.uniform(-pct, pct) / 100.0
    return np.concatenate([t_s[:1], t_s[0] + np.cumsum(d * scale)])
