"""The dashboard's Qt-free parts: ring buffer, display velocity, display state, auto-end, cues, demo scripts."""

import subprocess
import sys
import wave

import numpy as np
import pytest

from gui.demo import scripted_sets, true_stop_rep
from gui.ringbuffer import DisplayVelocity, RingBuffer
from gui.session import LiveSettings
from gui.sound import CuePlayer, write_cues
from gui.state import ENDED, GOOD, RUNNING, STOP, WAITING, WARNING, AutoEnd, SetDisplay, loss_level
from vbt.config import StopRuleConfig
from vbt.results import Rep, RepCompleted, RepRevised, SetEnded, StopSet, VelocityWarning
from vbt.stoprule import StopRule, apply_stop_rule


def test_ring_buffer_keeps_the_newest_rows_in_order_across_wraps():
    rb = RingBuffer(100, 2)
    rng = np.random.default_rng(1)
    t = np.arange(1000, dtype=float)
    i = 0
    while i < t.size:
        n = int(rng.integers(1, 37))
        rb.append(t[i:i + n], -t[i:i + n])
        i = min(i + n, t.size)
        got = rb.latest()
        want = t[max(0, i - 100):i]
        assert np.array_equal(got[0], want)
        assert np.array_equal(got[1], -want)
    assert len(rb) == 100 and rb.written == 1000
    assert np.array_equal(rb.since(950.0)[0], t[950:])
    rb.append(np.arange(500.0), np.zeros(500))  # longer than the capacity: the tail is kept
    assert np.array_equal(rb.latest()[0], np.arange(400.0, 500.0))


def test_display_velocity_does_not_depend_on_chunking_and_tracks_a_sine():
    t = np.arange(0.0, 3.0, 0.001)
    x = 0.4 * np.sin(2 * np.pi * 0.8 * t)
    whole = DisplayVelocity().feed(t, x)
    dv = DisplayVelocity()
    rng = np.random.default_rng(3)
    parts, i = [], 0
    while i < t.size:
        n = int(rng.integers(1, 60))
        parts.append(dv.feed(t[i:i + n], x[i:i + n]))
        i += n
    assert np.allclose(np.concatenate(parts), whole, atol=1e-12)
    true_v = 0.4 * 2 * np.pi * 0.8 * np.cos(2 * np.pi * 0.8 * (t - 0.025))  # ~25 ms of lag
    assert np.max(np.abs(whole[100:] - true_v[100:])) < 0.01


def _rep(i, v):
    return Rep(i, i * 2.0, i * 2.0 + 0.5, v, v, v * 1.5, 0.5, 0.2, 0.5)


def _events(velocities, threshold=10.0, margin=3.0):
    """What the tracker emits for these reps (the real stop rule)."""
    rule = StopRule(StopRuleConfig(threshold, "mean", margin))
    out = []
    for i, v in enumerate(velocities, start=1):
        verdict = rule.add(_rep(i, v))
        rep = _rep(i, v).with_loss(verdict.velocity_loss_pct)
        out.append(RepCompleted(rep, verdict.best_rep, i * 2.0))
        if verdict.stop:
            out.append(StopSet(i, verdict.velocity_loss_pct, threshold, i * 2.0))
        elif verdict.warning and rule.stop_rep is None:
            out.append(VelocityWarning(i, verdict.velocity_loss_pct, threshold, i * 2.0))
    return out


def test_loss_levels_match_the_rule_boundaries():
    assert loss_level(None, 10, 3) == GOOD
    assert loss_level(6.99, 10, 3) == GOOD
    assert loss_level(7.0, 10, 3) == WARNING
    assert loss_level(10.0, 10, 3) == WARNING  # over the limit means strictly greater
    assert loss_level(10.01, 10, 3) == STOP


def test_set_display_follows_a_set_best_threshold_alert_and_end():
    velocities = [0.80, 0.82, 0.79, 0.76, 0.72, 0.70]
    d = SetDisplay()
    actions = []
    for ev in _events(velocities):
        actions.append(d.apply(ev))
        if isinstance(ev, RepCompleted) and ev.rep.index == 3:
            assert d.best_velocity_m_s == pytest.approx(0.82)
            assert d.threshold_velocity_m_s == pytest.approx(0.82 * 0.9)
            assert d.alert == GOOD and d.phase == RUNNING
    assert actions.count("stop") == 1 and actions.count("warning") == 1
    assert d.stop_index == 5 == true_stop_rep(velocities)
    assert [r.level for r in d.reps] == [GOOD, GOOD, GOOD, WARNING, STOP, STOP]
    assert d.alert == STOP and d.loss_pct == pytest.approx(100 * (1 - 0.70 / 0.82))
    result = apply_stop_rule([r.rep for r in d.reps])
    assert d.apply(SetEnded(result, "stillness", 20.0)) == "set_ended"
    assert d.phase == ENDED and d.result is result
    # the first rep of the next set starts a new set: the best is reset
    assert d.apply(_events([0.5])[0]) == "new_set"
    assert d.set_number == 2 and d.n_reps == 1 and d.best_velocity_m_s == pytest.approx(0.5)
    assert d.stop_index is None and d.alert == GOOD


def test_set_display_next_set_ignores_the_late_end_of_the_cleared_set_and_defers_rule_changes():
    d = SetDisplay()
    for ev in _events([0.8, 0.7]):
        d.apply(ev)
    d.configure(threshold_pct=20.0, metric="peak")
    assert d.threshold_pct == 10.0  # mid-set: from the next set on, like the tracker
    d.new_set()
    assert d.threshold_pct == 20.0 and d.metric == "peak" and d.phase == WAITING and d.set_number == 2
    assert d.apply(SetEnded(apply_stop_rule([_rep(1, 0.8)]), "manual", 9.0)) is None
    assert d.phase == WAITING


def test_a_revised_first_rep_replaces_its_bar_and_the_best():
    """A first rep closed at a hold mid-rise (0.43 m/s) and revised once the bar went on (0.25):
    the dashboard shows one bar, at 0.25, as the best; the next rep is judged against it; a revision
    that arrives after the set was cleared changes nothing."""
    d = SetDisplay()
    first = _rep(1, 0.43)
    assert d.apply(RepCompleted(first, 1, 2.0)) == "rep"
    assert d.apply(RepRevised(_rep(1, 0.25), 1, 4.0, first)) == "rep"
    assert d.n_reps == 1 and d.set_number == 1 and d.best_velocity_m_s == pytest.approx(0.25)
    assert d.threshold_velocity_m_s == pytest.approx(0.225)
    d.new_set()
    assert d.apply(RepRevised(_rep(1, 0.2), 1, 5.0, first)) is None and d.n_reps == 0


def test_auto_end_is_off_by_default_and_separate_from_alerts():
    events = _events([0.80, 0.82, 0.79, 0.76, 0.72, 0.70, 0.69])
    off = AutoEnd()
    assert not any(off.on_event(e) for e in events)
    now = AutoEnd(enabled=True)
    ends = [e for e in events if now.on_event(e)]
    assert len(ends) == 1 and isinstance(ends[0], StopSet) and ends[0].index == 5
    grace = AutoEnd(enabled=True, grace_rep=True)
    ends = [e for e in events if grace.on_event(e)]
    assert len(ends) == 1 and isinstance(ends[0], RepCompleted) and ends[0].rep.index == 6


def test_live_settings_validate_field_by_field():
    assert LiveSettings().validate() == []
    problems = LiveSettings(load_kg=-5.0, side="middle", metric="fast", threshold_pct=80.0).validate()
    text = "; ".join(problems)
    for field in ("load_kg", "side", "metric", "velocity_loss_pct"):
        assert field in text
    cfg = LiveSettings(threshold_pct=20.0, metric="propulsive", load_kg=100.0,
                       set_end_stillness_s=2.0).analysis_config(min_rom_m=0.2)
    assert cfg.stop_rule.velocity_loss_pct == 20.0 and cfg.stop_rule.metric == "propulsive"
    assert cfg.segmentation.min_rom_m == 0.2 and cfg.segmentation.set_end_stillness_s == 2.0 and cfg.load_kg == 100.0


def test_cues_are_valid_wavs_and_mute_silences_them(tmp_path):
    paths = write_cues(tmp_path)
    for _name, path in paths.items():
        with wave.open(path) as w:
            assert w.getnchannels() == 1 and w.getframerate() == 22050 and w.getnframes() > 1000
    fallback = []
    player = CuePlayer(fallback=fallback.append, directory=str(tmp_path), player=())
    player.play("stop")
    player.muted = True
    player.play("warning")
    player.close()
    assert fallback == ["stop"] and player.played == ["stop"] and player.method == "system bell"


def test_cues_play_through_a_player_process_without_waiting(tmp_path):
    player = CuePlayer(fallback=lambda n: None, directory=str(tmp_path), player=("true",))
    player.prepare()
    player.close()  # joins the writer thread
    player.play("stop")  # a real child process ("true" stands in for paplay / aplay)
    player.play("warning")
    player.close()  # waits for them: no process left behind
    assert player.played == ["stop", "warning"] and player.method == "true"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "day_done.wav", "stop.wav", "tempo.wav", "warning.wav", "zone_above.wav", "zone_below.wav", "zone_in.wav"]


def test_scripted_sets_have_the_velocities_asked_for():
    script = scripted_sets([[0.8, 0.6], [0.5]])
    assert [(r.set_index, r.index) for r in script.reps] == [(1, 1), (1, 2), (2, 1)]
    assert [r.mean_velocity_m_s for r in script.reps] == pytest.approx([0.8, 0.6, 0.5])
    assert script.stop_reps == (2, None)


def test_gui_worker_modules_load_no_qt():
    code = ("import sys, gui, gui.commands, gui.state, gui.session, gui.ringbuffer, gui.sound, gui.demo; "
            "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'shiboken6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
