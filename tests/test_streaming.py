"""Streaming equals batch: the live tracker gives identical reps however the stream is chunked."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from vbt.analysis import analyze
from vbt.config import AnalysisConfig, SegmentationConfig
from vbt.results import RepCompleted, SetEnded, StopSet
from vbt.simulate import SensorSpec, simulate_set
import vbt.tracker as tracker_module
from vbt.tracker import LiveTracker

SIM = simulate_set(11, style="squat", sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001, noise_m=0.0002),
                   n_reps=6, fatigue_per_rep=0.04)
BATCH = analyze(SIM.t_s, SIM.position_m, AnalysisConfig(load_kg=80.0))


def _stream(chunk_sizes, sim=SIM, config=AnalysisConfig(load_kg=80.0)):
    tracker = LiveTracker(config, auto_end_sets=False)
    events, i, k = [], 0, 0
    while i < sim.t_s.size:
        n = chunk_sizes[k % len(chunk_sizes)]
        events += tracker.feed(sim.t_s[i:i + n], sim.position_m[i:i + n])
        i += n
        k += 1
    events += tracker.finish()
    return events


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=12))
def test_any_chunking_gives_the_batch_reps_exactly(chunk_sizes):
    events = _stream(chunk_sizes)
    (end,) = [e for e in events if isinstance(e, SetEnded)]
    assert end.result.reps == BATCH.reps
    assert end.result.stop_rep == BATCH.stop_rep
    assert [e.rep for e in events if isinstance(e, RepCompleted)] == list(BATCH.reps)


def test_single_samples_and_uneven_sensor_match_batch():
    sim = simulate_set(5, style="bench", sensor=SensorSpec(rate_hz=120.0, jitter=0.3, quantum_m=0.002), n_reps=4)
    batch = analyze(sim.t_s, sim.position_m)
    events = _stream([1], sim, AnalysisConfig())
    assert [e.rep for e in events if isinstance(e, RepCompleted)] == list(batch.reps)


def test_live_events_arrive_in_order_with_stop_after_its_rep():
    events = _stream([10])
    kinds = [e.type for e in events]
    assert kinds[-1] == "set_end"
    stops = [e for e in events if isinstance(e, StopSet)]
    assert len(stops) == (1 if BATCH.stop_rep else 0)
    if stops:
        i = events.index(stops[0])
        assert isinstance(events[i - 1], RepCompleted) and events[i - 1].rep.index == stops[0].index


def test_sets_split_on_stillness_in_live_mode_and_best_resets():
    from vbt.simulate import simulate_session

    sim = simulate_session(4, n_sets=2, rest_s=8.0, sensor=SensorSpec(rate_hz=500.0), style="squat")
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=True)
    events = []
    for i in range(0, sim.t_s.size, 50):
        events += tracker.feed(sim.t_s[i:i + 50], sim.position_m[i:i + 50])
    events += tracker.finish()
    ends = [e for e in events if isinstance(e, SetEnded) and e.result.reps]
    assert len(ends) == 2
    truth_counts = []
    idx = [r.index for r in sim.truth]
    for _k, v in enumerate(idx):
        if v == 1:
            truth_counts.append(0)
        truth_counts[-1] += 1
    assert [len(e.result.reps) for e in ends] == truth_counts
    assert ends[0].reason == "stillness"
    assert all(e.result.reps[0].velocity_loss_pct == 0.0 for e in ends)  # each set's rep 1 is its own best


def test_advance_closes_a_set_without_new_samples():
    sim = simulate_set(2, style="deadlift", sensor=SensorSpec(rate_hz=1000.0), n_reps=3, rerack=False)
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=True)
    cut = np.searchsorted(sim.t_s, sim.truth[-1].concentric_end_s + 1.0)  # stream stops 1 s after the last rep
    events = tracker.feed(sim.t_s[:cut], sim.position_m[:cut])
    assert not any(isinstance(e, SetEnded) for e in events)
    later = tracker.advance(sim.t_s[cut - 1] + 5.0)  # heartbeats only: the bar stays where it was
    (end,) = [e for e in later if isinstance(e, SetEnded)]
    assert end.reason == "stillness" and len(end.result.reps) == 3


def test_first_pull_after_a_long_rest_on_the_floor_counts():
    """Deadlift sets 30 s apart: the bar's lowest point lies far before the rep's analysis window."""
    from vbt.simulate import simulate_session

    sim = simulate_session(3, n_sets=3, rest_s=30.0, style="deadlift")
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=True)
    events = []
    for i in range(0, sim.t_s.size, 10):
        events += tracker.feed(sim.t_s[i:i + 10], sim.position_m[i:i + 10])
    events += tracker.finish()
    got = [e.rep for e in events if isinstance(e, RepCompleted)]
    assert len(got) == len(sim.truth)
    for rep, true in zip(got, sim.truth):
        assert abs(rep.concentric_start_s - true.concentric_start_s) < 0.03
        assert abs(rep.mean_velocity_m_s - true.mean_velocity_m_s) < 0.03


def test_stillness_settings_changed_after_start_take_full_effect():
    """A tracker built with defaults, then told (before any rep) to wait 1.5 s of stillness at the
    top, closes each rep no sooner than that: its look-back is not capped by the start-up settings."""
    from vbt.config import SegmentationConfig

    sim = simulate_set(12, style="squat", sensor=SensorSpec(rate_hz=1000.0), n_reps=2)
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=False)
    tracker.set_config(AnalysisConfig(segmentation=SegmentationConfig(top_stillness_s=1.5)))
    events = tracker.feed(sim.t_s, sim.position_m) + tracker.finish()
    reps = [e for e in events if isinstance(e, RepCompleted)]
    assert len(reps) == 2
    for ev, true in zip(reps, sim.truth):
        # closed by stillness 1.5 s after the top, or earlier only by the bar coming back down
        assert ev.t_s - true.concentric_end_s > 0.3


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=6))
def test_encoder_step_first_seen_mid_set_is_chunking_independent(chunk_sizes):
    """The fit window widens with the encoder step of the rep's window. A stream whose step
    changes mid-set (6 mm steps until the third rep's rise, 3 mm after) must still give every
    chunking the batch reps."""
    sim = simulate_set(31, style="squat", sensor=SensorSpec(rate_hz=200.0, quantum_m=0.003), n_reps=4)
    x = sim.position_m.copy()
    t3 = sim.truth[2].concentric_start_s + 0.1
    x[sim.t_s < t3] = np.round(x[sim.t_s < t3] / 0.006) * 0.006  # 6 mm steps before that
    coarse = type(sim)(**{**sim.__dict__, "position_m": x})
    batch = analyze(coarse.t_s, coarse.position_m)
    assert len(batch.reps) == 4
    events = _stream(chunk_sizes, coarse, AnalysisConfig())
    assert [e.rep for e in events if isinstance(e, RepCompleted)] == list(batch.reps)


def test_encoder_step_and_sample_interval_estimates():
    tracker = LiveTracker()
    tracker.feed(np.array([0.0, 0.001, 0.002]), np.array([0.0, 0.0, 0.003]))
    tracker.feed(np.array([0.004, 1.0, 1.001]), np.array([0.009, 0.009, 0.010]))  # a long silence
    step, dt = tracker._raw_stats(0.0, 0.0015)
    assert step == np.inf and np.isnan(dt)  # too few samples
    assert tracker._raw_stats(0.0, 0.0045) == (0.003, pytest.approx(0.004 / 3))
    assert tracker._raw_stats(0.0, 2.0) == (pytest.approx(0.001), pytest.approx((0.004 + 0.025 + 0.001) / 5))
    # samples older than the longest window are let go (memory stays bounded), the window's are kept
    t = np.arange(0.0, 200.0, 0.001) + 1.1
    for i in range(0, t.size, 997):
        tracker.feed(t[i:i + 997], np.zeros(t[i:i + 997].size))
    kept = tracker._raw_t[:tracker._raw_n]
    assert kept[-1] == t[-1] and kept[0] <= t[-1] - tracker_module.MAX_WINDOW_S
    assert tracker._raw_t.size <= 4 * (tracker_module.MAX_WINDOW_S + 1.0) * 1000


def _first_pull_with_a_hold(hold_s: float, fs: float = 1000.0, second_hold_s: float = 0.0):
    """A quick first pull to 0.30 m, still for ``hold_s``, on up to 0.50 m (still for ``second_hold_s``
    at 0.39 m on the way), then one more rep."""
    def ramp(x0, x1, dur):
        u = np.arange(int(dur * fs)) / (dur * fs)
        return x0 + (x1 - x0) * (1 - np.cos(np.pi * u)) / 2

    def flat(x, dur):
        return np.full(int(dur * fs), x)

    on_up = [ramp(0.3, 0.39, 0.2), flat(0.39, second_hold_s), ramp(0.39, 0.5, 0.2)] if second_hold_s else \
        [ramp(0.3, 0.5, 0.4)]
    x = np.concatenate([flat(0, 1.0), ramp(0, 0.3, 0.5), flat(0.3, hold_s), *on_up, flat(0.5, 0.6),
                        ramp(0.5, 0.0, 0.8), flat(0, 0.3), ramp(0, 0.5, 0.7), flat(0.5, 0.6), ramp(0.5, 0, 0.8),
                        flat(0, 5)])
    return np.arange(x.size) / fs, x


@pytest.mark.parametrize("chunk", [1, 10, 997])
def test_a_first_pull_held_mid_way_is_revised_unless_its_set_ended_during_the_hold(chunk):
    """Held 0.5 s mid-way: rep 1 at the hold (0.6 m/s), then one revision for the whole rise (0.5 m
    in 1.4 s), whatever the chunking. Held 1.6 s with a 1 s set-end stillness: the set ends during
    the hold with its one rep, and the rest of that rise is not counted again in the next set, even
    when it holds a second time on the way up (and the next set ends during that hold too)."""
    def run(hold_s, still_s, second_hold_s=0.0):
        t, x = _first_pull_with_a_hold(hold_s, second_hold_s=second_hold_s)
        tracker = LiveTracker(AnalysisConfig(segmentation=SegmentationConfig(set_end_stillness_s=still_s)))
        events = []
        for i in range(0, t.size, chunk):
            events += tracker.feed(t[i:i + chunk], x[i:i + chunk])
        events += tracker.finish()
        return [(e.type, e.rep.index, round(e.rep.mean_velocity_m_s, 2)) if hasattr(e, "rep") else (e.type,)
                for e in events if e.type != "set_end" or e.result.reps]

    assert run(0.5, 3.0) == [("rep", 1, 0.6), ("rep_revised", 1, 0.36), ("rep", 2, 0.71), ("set_end",)]
    assert run(1.6, 1.0) == [("rep", 1, 0.6), ("set_end",), ("rep", 1, 0.71), ("set_end",)]
    assert run(1.6, 1.0, second_hold_s=1.2) == [("rep", 1, 0.6), ("set_end",), ("rep", 1, 0.71), ("set_end",)]


def _on_threads(monkeypatch):
    """Names of the threads analyze_rep ran on (the real kernel, spied on)."""
    import threading

    from vbt import kernels as K

    names, real = [], K.analyze_rep

    def spy(*args):
        names.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(K, "analyze_rep", spy)
    return names


@pytest.mark.parametrize("family", ["forcevel", "bounce", "jump", "grinder", "smooth"])
def test_reps_analysed_on_threads_are_the_one_by_one_reps(family, monkeypatch):
    """A whole recording's rises are analysed side by side (`analyze(..., workers=N)`, `vbt analyze`
    on one file): every number, the quality and the stop rep are those of one thread."""
    from vbt.motions import simulate_family

    config = AnalysisConfig(load_kg=80.0)
    for seed in range(7, 40):  # the first set with enough rises for the threads to take them
        sim = simulate_family(family, seed, "csv")
        one = analyze(sim.t_s, sim.position_m, config)
        if len(one.reps) >= 2 * tracker_module.PARALLEL_MIN_RISES:
            break
    threads = _on_threads(monkeypatch)
    for workers in (2, 3):
        assert analyze(sim.t_s, sim.position_m, config, workers=workers) == one
    assert sum(name.startswith("rep") for name in threads) >= 2 * len(one.reps)  # the threads did the work


def test_a_set_ended_inside_a_chunk_with_a_new_load_is_analysed_with_it(monkeypatch):
    """Rises precomputed on threads with the settings they had when the chunk came in are analysed
    again when a set that ends inside the chunk brings in new settings (a load set for the next set):
    the threaded tracker's events equal the one-by-one tracker's, forces from the new load."""
    from vbt.simulate import simulate_session

    sim = simulate_session(4, n_sets=3, rest_s=8.0, sensor=SensorSpec(rate_hz=500.0), style="squat")
    first_rep_end = int(np.searchsorted(sim.t_s, sim.truth[0].concentric_end_s + 0.5))

    def run(workers):
        tracker = LiveTracker(AnalysisConfig(load_kg=60.0), auto_end_sets=True, rep_workers=workers)
        events = tracker.feed(sim.t_s[:first_rep_end], sim.position_m[:first_rep_end])
        tracker.set_config(AnalysisConfig(load_kg=100.0))  # from the next set on
        events += tracker.feed(sim.t_s[first_rep_end:], sim.position_m[first_rep_end:])
        return events + tracker.finish()

    one = run(1)
    threads = _on_threads(monkeypatch)
    assert run(2) == one
    assert any(name.startswith("rep") for name in threads)
    ends = [e for e in one if isinstance(e, SetEnded) and e.result.reps]
    assert len(ends) == 3
    force = [e.result.reps[0].mean_force_n for e in ends]
    assert force[1] > force[0] * 1.4  # 100 kg against 60 kg


def test_a_first_chunk_longer_than_the_buffer_is_kept_and_the_stream_goes_on_as_in_small_chunks():
    """A whole recording fed at once becomes the tracker's buffer without a copy; chunks fed after it
    (which drop its old history and grow the buffer) give the reps a stream of small chunks gives."""
    from vbt.simulate import simulate_session

    sess = simulate_session(3, n_sets=3, rest_s=25.0, style="squat",
                            sensor=SensorSpec(rate_hz=1000.0, quantum_m=0.001, noise_m=0.0002))
    n = sess.t_s.size
    first = int(0.7 * n)
    assert first > 60 * 1000  # longer than the buffer the tracker starts with

    def reps(chunks):
        tracker = LiveTracker(AnalysisConfig())
        events, i = [], 0
        for c in chunks:
            events += tracker.feed(sess.t_s[i:i + c], sess.position_m[i:i + c])
            i += c
        events += tracker.finish()
        return [e.rep for e in events if isinstance(e, RepCompleted)]

    small = reps([250] * (n // 250 + 1))
    assert len(small) >= 10
    assert reps([first] + [250] * ((n - first) // 250 + 1)) == small
