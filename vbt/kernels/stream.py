"""The live stream: monotone resampling onto a uniform grid and turning-point detection, resumable."""

from __future__ import annotations


from .jit import njit

# ---- resampler ------------------------------------------------------------------------------
# Monotone cubic Hermite interpolation (slopes as in PCHIP: harmonic mean of the neighbouring
# secants, zero at a local extreme), so a 50 Hz stream keeps its curvature without overshoot
# and a per-tick encoder's long still gaps stay flat. One input sample of delay.
# state: [n_seen, tb, xb, tc, xc, mb, next_k, origin_t, dt]
RS_N, RS_TB, RS_XB, RS_T, RS_X, RS_MB, RS_K, RS_ORIGIN, RS_DT = range(9)
RESAMPLE_STATE_SIZE = 9


@njit(cache=True)
def _pchip_slope(h1, d1, h2, d2):
    if d1 * d2 <= 0.0:
        return 0.0
    w1 = 2.0 * h2 + h1
    w2 = h2 + 2.0 * h1
    return (w1 + w2) / (w1 / d1 + w2 / d2)


@njit(cache=True)
def _emit_hermite(state, mc, out, n_out):
    """Emit grid points in (tb, tc] on the cubic between (tb, xb, mb) and (tc, xc, mc)."""
    tb = state[RS_TB]
    xb = state[RS_XB]
    tc = state[RS_T]
    xc = state[RS_X]
    mb = state[RS_MB]
    h = tc - tb
    k = state[RS_K]
    dt = state[RS_DT]
    g = state[RS_ORIGIN] + k * dt
    while g <= tc:
        s = (g - tb) / h
        s2 = s * s
        s3 = s2 * s
        out[n_out] = ((2 * s3 - 3 * s2 + 1) * xb + (s3 - 2 * s2 + s) * h * mb
                      + (-2 * s3 + 3 * s2) * xc + (s3 - s2) * h * mc)
        n_out += 1
        k += 1.0
        g = state[RS_ORIGIN] + k * dt
    state[RS_K] = k
    return n_out


@njit(cache=True)
def resample_stream(t, x, state, out):
    """Append the grid samples ``origin + k*dt`` that the new samples complete; return how many.

    ``out`` must hold at least ``(t[-1] - state[RS_TB]) / dt + 2`` values. Samples whose time
    does not increase are skipped.
    """
    n_out = 0
    for i in range(t.shape[0]):
        td = t[i]
        xd = x[i]
        n_seen = state[RS_N]
        if n_seen == 0.0:
            state[RS_ORIGIN] = td
            state[RS_T] = td
            state[RS_X] = xd
            out[n_out] = xd
            n_out += 1
            state[RS_K] = 1.0
            state[RS_N] = 1.0
            continue
        if td <= state[RS_T]:
            continue
        if n_seen == 1.0:
            state[RS_TB] = state[RS_T]
            state[RS_XB] = state[RS_X]
            state[RS_T] = td
            state[RS_X] = xd
            state[RS_MB] = (xd - state[RS_XB]) / (td - state[RS_TB])
            state[RS_N] = 2.0
            continue
        h1 = state[RS_T] - state[RS_TB]
        d1 = (state[RS_X] - state[RS_XB]) / h1
        h2 = td - state[RS_T]
        d2 = (xd - state[RS_X]) / h2
        mc = _pchip_slope(h1, d1, h2, d2)
        n_out = _emit_hermite(state, mc, out, n_out)
        state[RS_MB] = mc
        state[RS_TB] = state[RS_T]
        state[RS_XB] = state[RS_X]
        state[RS_T] = td
        state[RS_X] = xd
    return n_out


@njit(cache=True)
def resample_flush(state, out):
    """End of stream: emit the grid samples of the last interval (end slope: its secant)."""
    if state[RS_N] < 2.0:
        return 0
    mc = (state[RS_X] - state[RS_XB]) / (state[RS_T] - state[RS_TB])
    n = _emit_hermite(state, mc, out, 0)
    state[RS_N] = 0.0 - 1.0  # flushed: no further samples expected
    return n


# ---- detector -------------------------------------------------------------------------------
# state slots
DS_MODE, DS_EXT, DS_EXT_I, DS_BOT_I, DS_BOT, DS_PREV_TOP_I, DS_PREV_TOP_X, DS_EMITTED, \
    DS_MOVE_ANCH, DS_MOVE_I, DS_IMIN, DS_IMIN_I, DS_IMAX, DS_IMAX_I, DS_STILL_SENT, DS_N, DS_UP_I, \
    DS_EMIT_X, DS_EMIT_I, DS_REOPENED = range(20)
DETECT_STATE_SIZE = 20
MODE_INIT, MODE_DOWN, MODE_UP = 0.0, 1.0, 2.0
EV_REP, EV_STILL, EV_REVISE = 1.0, 2.0, 3.0
STALL_SHARE = 0.1  # a rise this share of the last rep's range (at least the hysteresis) below its top is stalled
# A first rise closed by stillness is reopened when, soon after that close and without coming back
# down, the bar rises on by this share of the rise closed (at least twice the hysteresis): the lifter
# held still mid-rise (a sticking point in a grind, a paused pull), it was one rep.
REOPEN_SHARE = 0.25
# "Risen no more than the band over the look-back" also asks it of the level now (a line through the
# last STILL_MEAN_SHARE of the look-back's samples) against the mean of as many centred on the sample a
# look-back ago, not only of two single samples: on a 0.5 mm encoder with
# 0.1 mm of noise two samples can differ by a count either way, so a grind's lockout creep (2-6 mm/s,
# 0.8 mm over the 0.13 s) read as risen by under 0.5 mm and closed the rep 40-190 ms before its top;
# the end fit, whose window ends at the close, then ended it there (grinder tuning seeds 3, 32, 58 at
# "fine": MV +4 to +6 %, wrong stop rep). Both levels are unbiased where the bar moves steadily, so a
# bar that eases into its top or is already coming down closes when it did: a plain trailing mean lags
# ~7 ms behind a moving bar and held closes back, and the end fits, whose windows end at the close,
# moved by 2-27 ms either way on the other families.
STILL_MEAN_SHARE = 0.25
# event row: [kind, bottom_i, top_i, confirm_i, prev_top_i]
EVENT_WIDTH = 5


@njit(cache=True)
def detect_init(state):
    state[:] = 0.0
    state[DS_MODE] = MODE_INIT
    state[DS_PREV_TOP_I] = -1.0
    state[DS_STILL_SENT] = 1.0  # nothing to end before the first movement


@njit(cache=True)
def _enter_rise(state, bottom, bottom_i, xi, i):
    """The bar has come up ``hysteresis`` from its lowest point: a rise starts there."""
    state[DS_MODE] = MODE_UP
    state[DS_BOT_I] = bottom_i
    state[DS_BOT] = bottom
    state[DS_EXT] = xi
    state[DS_EXT_I] = i
    state[DS_UP_I] = i
    state[DS_EMITTED] = 0.0
    state[DS_REOPENED] = 0.0


@njit(cache=True)
def detect_stream(x, first_index, state, ring, events, hysteresis, min_rom, band, n_still, still_share, n_set_end,
                  n_hold, slow_per_sample, n_reopen):
    """Run the turning-point state machine over grid samples ``x`` (global index of ``x[0]`` is
    ``first_index``). Writes event rows into ``events`` and returns their count.

    EV_REP rows: a rise of at least ``min_rom`` from a bottom that has topped out, either by
    coming back down ``hysteresis`` or by rising no more than ``band`` over the last ``n_still``
    samples (two single samples, and the level now against a look-back ago: STILL_MEAN_SHARE), or
    ``still_share`` of the rise's duration when that is longer (a bar creeping into
    lockout is not still yet). ``ring`` keeps the last samples across calls; the look-back is
    capped at its length. A rise that stalls well below the previous rep's top (more than STALL_SHARE
    of that rep's range, at least ``hysteresis``) is a lifter stuck at a sticking point, not a
    lockout: it closes after ``n_hold`` still samples, or when it comes back down. So does a first
    rise with no top before it (a pull from the floor) that has risen slower than
    ``slow_per_sample`` per sample on average since it became a rise (a grind).
    EV_REVISE rows: a first rise (no top before it) that was closed by stillness has risen on, within
    ``n_reopen`` samples of that close and without coming down, by REOPEN_SHARE of the rise closed (at
    least twice the hysteresis): the rep it gave is to be replaced by this longer rise, closed by the
    same rules. Same columns as EV_REP.
    EV_STILL rows: the bar has not moved ``hysteresis`` for ``n_set_end`` samples.
    """
    n_ev = 0
    n_ring = ring.shape[0]
    n_mean = max(1, min(int(STILL_MEAN_SHARE * n_still), n_ring // 4))
    for j in range(x.shape[0]):
        i = float(first_index + j)
        xi = x[j]
        gi = first_index + j
        lag = n_still
        if state[DS_MODE] == MODE_UP:
            lag = max(n_still, still_share * (i - state[DS_UP_I]))
            if state[DS_PREV_TOP_I] >= 0.0:
                margin = max(hysteresis, STALL_SHARE * (state[DS_PREV_TOP_X] - state[DS_BOT]))
                if state[DS_EXT] < state[DS_PREV_TOP_X] - margin:
                    lag = max(lag, n_hold)
            elif state[DS_EXT] - state[DS_BOT] - hysteresis < slow_per_sample * (i - state[DS_UP_I]):
                # a slow first rise from the floor (a grind): no top to compare with
                lag = max(lag, n_hold)
        lag_i = min(int(lag), n_ring - 1 - n_mean // 2)
        ring[gi % n_ring] = xi
        if state[DS_N] == 0.0:
            state[DS_IMIN] = xi
            state[DS_IMAX] = xi
            state[DS_IMIN_I] = i
            state[DS_IMAX_I] = i
            state[DS_MOVE_ANCH] = xi
            state[DS_MOVE_I] = i
        state[DS_N] += 1.0
        # stillness for set end
        if abs(xi - state[DS_MOVE_ANCH]) > hysteresis:
            state[DS_MOVE_ANCH] = xi
            state[DS_MOVE_I] = i
            state[DS_STILL_SENT] = 0.0
        elif state[DS_STILL_SENT] == 0.0 and i - state[DS_MOVE_I] >= n_set_end:
            events[n_ev, 0] = EV_STILL
            events[n_ev, 1] = -1.0
            events[n_ev, 2] = -1.0
            events[n_ev, 3] = i
            events[n_ev, 4] = -1.0
            n_ev += 1
            state[DS_STILL_SENT] = 1.0

        mode = state[DS_MODE]
        if mode == MODE_INIT:
            if xi < state[DS_IMIN]:
                state[DS_IMIN] = xi
                state[DS_IMIN_I] = i
            if xi > state[DS_IMAX]:
                state[DS_IMAX] = xi
                state[DS_IMAX_I] = i
            if xi > state[DS_IMIN] + hysteresis:
                _enter_rise(state, state[DS_IMIN], state[DS_IMIN_I], xi, i)
            elif xi < state[DS_IMAX] - hysteresis:
                state[DS_MODE] = MODE_DOWN
                state[DS_PREV_TOP_I] = state[DS_IMAX_I]
                state[DS_PREV_TOP_X] = state[DS_IMAX]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
        elif mode == MODE_DOWN:
            if xi < state[DS_EXT]:
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            elif xi > state[DS_EXT] + hysteresis:
                _enter_rise(state, state[DS_EXT], state[DS_EXT_I], xi, i)
        else:  # MODE_UP
            if xi > state[DS_EXT]:
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            rise = state[DS_EXT] - state[DS_BOT]
            if state[DS_EMITTED] == 1.0 and state[DS_PREV_TOP_I] < 0.0 and i - state[DS_EMIT_I] <= n_reopen \
                    and xi - state[DS_EMIT_X] > max(2.0 * hysteresis,
                                                    REOPEN_SHARE * (state[DS_EMIT_X] - state[DS_BOT])):
                state[DS_EMITTED] = 0.0  # a first rise held still mid-way and went on: one rep, revised
                state[DS_REOPENED] = 1.0
            if xi < state[DS_EXT] - hysteresis:
                if state[DS_EMITTED] == 0.0 and rise >= min_rom:
                    n_ev = _emit_rise(state, events, n_ev, i)
                state[DS_MODE] = MODE_DOWN
                state[DS_PREV_TOP_I] = state[DS_EXT_I]
                state[DS_PREV_TOP_X] = state[DS_EXT]
                state[DS_EXT] = xi
                state[DS_EXT_I] = i
            elif state[DS_EMITTED] == 0.0 and rise >= min_rom and i - state[DS_UP_I] >= lag_i \
                    and xi - ring[(gi - lag_i) % n_ring] <= band and _risen(ring, gi, lag_i, n_mean, xi) <= band:
                n_ev = _emit_rise(state, events, n_ev, i)
    return n_ev


@njit(cache=True)
def _risen(ring, gi, lag, m, xi):
    """How far the bar has risen over the last ``lag`` samples (global index ``gi`` now, ``xi`` its
    sample, already in ``ring``): the level now, from a straight line fitted to the last ``m``
    samples (a mean would lag behind a bar already coming down), less the mean of the ``m`` centred
    on the sample a lag ago; the single samples where the look-back is too short for two such runs
    apart or the recording too short for the older one."""
    n_ring = ring.shape[0]
    if gi < lag:
        return 0.0
    h = m // 2
    if lag < 2 * m or gi < lag + h:
        return xi - ring[(gi - lag) % n_ring]
    now = 0.0
    before = 0.0
    for k in range(m):
        now += ring[(gi - k) % n_ring]
        before += ring[(gi - lag - h + k) % n_ring]
    now /= m
    kc = 0.5 * (m - 1)  # the mean age of the last m samples, in samples
    sxy = 0.0
    sxx = 0.0
    for k in range(m):
        sxy += (k - kc) * (ring[(gi - k) % n_ring] - now)
        sxx += (k - kc) * (k - kc)
    return now - kc * sxy / sxx - before / m


@njit(cache=True)
def _emit_rise(state, events, n_ev, i):
    """Write the open rise's EV_REP row (EV_REVISE if it was reopened) and mark it emitted."""
    events[n_ev, 0] = EV_REVISE if state[DS_REOPENED] == 1.0 else EV_REP
    events[n_ev, 1] = state[DS_BOT_I]
    events[n_ev, 2] = state[DS_EXT_I]
    events[n_ev, 3] = i
    events[n_ev, 4] = state[DS_PREV_TOP_I]
    state[DS_EMITTED] = 1.0
    state[DS_REOPENED] = 0.0
    state[DS_EMIT_X] = state[DS_EXT]
    state[DS_EMIT_I] = i
    return n_ev + 1


@njit(cache=True)
def pending_rep(state, min_rom):
    """At the end of a stream: is a rise of at least min_rom still open (not yet emitted)?"""
    return state[DS_MODE] == MODE_UP and state[DS_EMITTED] == 0.0 and state[DS_EXT] - state[DS_BOT] >= min_rom
