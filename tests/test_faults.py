"""When the gym goes wrong (issue 10): outages inside a set, doubtful reps, line errors.

The tracker-level pulls cut real simulated sets at seeded random moments (during reps, pauses and
the end of the set); the pty pulls (``test_cable_pulls_over_a_pty``) do it with the real reader.
"""

from __future__ import annotations

import numpy as np
import pytest

from vbt.config import AnalysisConfig, StopRuleConfig
from vbt.results import Rep
from vbt.simulate import SensorSpec, simulate_set
from vbt.stoprule import StopRule, apply_stop_rule
from vbt.tracker import LiveTracker


def _rep(index, mv, quality="ok"):
    return Rep(index=index, concentric_start_s=2.0 * index, concentric_end_s=2.0 * index + 0.6,
               mean_velocity_m_s=mv, mean_propulsive_velocity_m_s=mv, peak_velocity_m_s=1.5 * mv, rom_m=0.5,
               time_to_peak_velocity_s=0.2, concentric_duration_s=0.6, quality=quality)


# ---- the stop rule and doubtful reps --------------------------------------------------------------


def test_a_doubtful_rep_is_never_best_never_warns_never_stops():
    reps = [_rep(1, 0.8), _rep(2, 0.95, "device lost during the rep"), _rep(3, 0.5, "3 line errors during the rep"),
            _rep(4, 0.78), _rep(5, 0.70)]
    result = apply_stop_rule(reps, StopRuleConfig(velocity_loss_pct=10))
    assert result.best_rep == 1  # not the faster doubtful rep 2
    assert result.stop_rep == 5  # not the slow doubtful rep 3
    assert result.reps[2].velocity_loss_pct == pytest.approx(37.5)  # shown against the best
    rule = StopRule(StopRuleConfig(velocity_loss_pct=10))
    verdicts = [rule.add(r) for r in reps]
    assert [v.stop for v in verdicts] == [False, False, False, False, True]
    assert not verdicts[2].warning and verdicts[1].best_rep == 1
    first = StopRule().add(_rep(1, 0.5, "device lost during the rep"))
    assert first.best_rep is None and first.velocity_loss_pct is None and not first.stop


def test_quality_is_in_the_rep_json():
    assert _rep(1, 0.5).to_json()["quality"] == "ok"
    assert _rep(1, 0.5, "device lost during the rep").to_json()["quality"] == "device lost during the rep"


# ---- outages inside the tracker ---------------------------------------------------------------------


def _set(seed):
    return simulate_set(seed, style="squat", sensor=SensorSpec(rate_hz=1000.0), n_reps=8, fatigue_per_rep=0.004,
                        setup=False, rerack=False, partial_rep_after=None)


def _run_with_outage(sim, lost_s, back_s, absolute: bool):
    """Feed a set in 50 ms chunks with no samples from ``lost_s`` to ``back_s``. ``absolute``: the
    positions after the gap are the true ones (a native device that did not reboot); otherwise they
    restart from where the link was lost (Chronojump: relative counts, re-based by the reader)."""
    t, x = sim.t_s, sim.position_m
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=True)
    events = []
    before = t < lost_s
    after = t >= back_s
    x_after = x if absolute else x - (x[after][0] - x[before][-1])
    for lo in np.arange(t[0], t[-1] + 0.05, 0.05):
        sel = (t >= lo) & (t < lo + 0.05)
        if lo <= lost_s < lo + 0.05:
            part = sel & before
            events += tracker.feed(t[part], x[part])
            tracker.device_lost(lost_s + 0.01)
            continue
        if lost_s < lo + 0.05 and lo < back_s:
            sel = sel & after
        xs = np.where(after, x_after, x)
        if sel.any():
            events += tracker.feed(t[sel], xs[sel])
    events += tracker.finish()
    return events


def _judge(sim, events, lost_s, back_s):
    """(false stops, completed reps lost, invented reps, doubtful reps, sets ended early)."""
    reps = [e.rep for e in events if e.type == "rep"]
    stops = [e for e in events if e.type == "stop"]
    ends = [e for e in events if e.type == "set_end"]
    t0 = sim.t_s[0]
    truth = [(r.concentric_start_s - t0, r.concentric_end_s - t0) for r in sim.truth]
    clear = [(a, b) for a, b in truth if b < lost_s - t0 - 0.15 or a > back_s - t0 + 0.15]
    ok = [r for r in reps if not r.doubtful]
    lost = sum(1 for a, b in clear if not any(abs(r.concentric_end_s - b) < 0.25 for r in ok))
    invented = sum(1 for r in ok if not any(abs(r.concentric_end_s - b) < 0.25 for a, b in truth))
    invented += max(0, len(reps) - len(truth))
    false_stops = len(stops) if sim.true_stop_rep(10.0) is None else 0
    early = sum(1 for e in ends if e.reason != "end_of_stream")
    return false_stops, lost, invented, sum(r.doubtful for r in reps), early, [r.index for r in reps]


def test_outages_never_stop_never_lose_never_invent():
    """60 seeded pulls of 0.2-5 s, anywhere in a set (reps, pauses, the end), both position kinds."""
    rng = np.random.default_rng(10)
    totals = np.zeros(5, int)
    for k in range(60):
        sim = _set(100 + k)
        t0, t1 = sim.t_s[0], sim.t_s[-1]
        lost = float(rng.uniform(t0 + 1.0, t1 - 1.0))
        back = min(lost + float(rng.uniform(0.2, 5.0)), t1 - 0.2)
        events = _run_with_outage(sim, lost, back, absolute=bool(k % 2))
        false_stops, lost_reps, invented, doubtful, early, indices = _judge(sim, events, lost, back)
        assert indices == list(range(1, len(indices) + 1)), (k, indices)  # numbering goes on
        assert (false_stops, lost_reps, invented, early) == (0, 0, 0, 0), (k, lost, back, indices)
        totals += (false_stops, lost_reps, invented, doubtful, early)
    assert totals[3] > 0  # some pulls did land in reps


def test_a_rep_cut_by_an_outage_is_doubtful_not_a_short_rep():
    sim = _set(7)
    first = sim.truth[2]
    lost = first.concentric_start_s + 0.4 * first.concentric_duration_s  # mid-rise
    events = _run_with_outage(sim, lost, lost + 1.0, absolute=False)
    reps = [e.rep for e in events if e.type == "rep"]
    cut = [r for r in reps if r.doubtful]
    assert cut and all(r.quality == "device lost during the rep" for r in cut)
    end = [e for e in events if e.type == "set_end"][-1]
    assert end.result.best_rep not in {r.index for r in cut}
    assert not [e for e in events if e.type == "stop"]


def test_line_errors_make_the_rep_around_them_doubtful():
    sim = _set(3)
    rep = sim.truth[1]
    tracker = LiveTracker(AnalysisConfig())
    t, x = sim.t_s, sim.position_m
    mid = t < rep.concentric_start_s + 0.2
    events = tracker.feed(t[mid], x[mid])
    tracker.line_errors(rep.concentric_start_s + 0.2, 4)
    events += tracker.feed(t[~mid], x[~mid]) + tracker.finish()
    reps = [e.rep for e in events if e.type == "rep"]
    assert [r.quality for r in reps if r.doubtful] == ["4 line errors during the rep"]
    assert len(reps) == len(sim.truth)
