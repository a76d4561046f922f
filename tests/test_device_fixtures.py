"""Recorded device byte streams (fixtures/device) replayed: off line in random chunks, and live on a pty."""

import json
import pathlib
import time

import numpy as np
import pytest

from firmware_bridge.emulator import Emulator
from firmware_bridge.live import LiveSession
from firmware_bridge.recorded import decode
from vbt.config import AnalysisConfig
from vbt.tracker import LiveTracker

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "device"
NAMES = sorted(p.name[: -len(".expected.json")] for p in FIXTURES.glob("*.expected.json"))


def load(name):
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return (FIXTURES / expected["file"]).read_bytes(), expected


def test_fixtures_are_present():
    assert set(NAMES) >= {"chronojump_squat", "native_bench_noisy", "chronojump_deadlift_inverted"}


def assert_same_reps(reps, expected_result, tol_m_s):
    assert [r["index"] for r in reps] == [r["index"] for r in expected_result["reps"]]
    for got, want in zip(reps, expected_result["reps"]):
        for key in ("mean_velocity_m_s", "mean_propulsive_velocity_m_s", "rom_m"):
            assert got[key] == pytest.approx(want[key], abs=tol_m_s), (got["index"], key)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_to_its_expected_result_in_any_chunking(name):
    data, exp = load(name)
    t, x, dec = decode(data, exp["protocol"], **exp["decode"])
    assert t.size == exp["samples"]
    stats = dec.stats.snapshot()
    assert {k: stats.get(k) for k in exp["decoder_stats"]} == exp["decoder_stats"]
    # The live tracker fed in random chunks gives the expected set.
    rng = np.random.default_rng(len(name))
    tracker = LiveTracker(AnalysisConfig(), auto_end_sets=False)
    events, i = [], 0
    while i < t.size:
        n = int(rng.integers(1, 400))
        events += tracker.feed(t[i:i + n], x[i:i + n])
        i += n
    events += tracker.finish()
    result = next(e for e in events if e.type == "set_end").result.to_json()
    assert result["stop_rep"] == exp["result"]["stop_rep"] == exp["truth"]["stop_rep"]
    assert_same_reps(result["reps"], exp["result"], 1e-6)
    # And the expected result is the truth, within the product's accuracy target.
    for got, true in zip(result["reps"], exp["truth"]["reps"]):
        assert got["mean_velocity_m_s"] == pytest.approx(true["mean_velocity_m_s"], abs=0.01)


def test_noisy_native_fixture_counts_its_faults():
    _, exp = load("native_bench_noisy")
    s = exp["decoder_stats"]
    assert s["checksum_errors"] > 0 and s["frames_lost"] > 0 and s["bad_frames"] > 0
    assert s.get("internal_errors", 0) == 0


@pytest.mark.slow  # a recording replayed in real time over a pty
def test_fixture_replayed_live_through_a_pty(tmp_path):
    """The recorded bytes written to a pty in real time, read by the real reader and tracker."""
    data, exp = load("chronojump_squat")
    events = []
    with Emulator("chronojump", replay_bytes=data, replay_bytes_per_s=exp["replay_bytes_per_s"],
                  link_dir=str(tmp_path)) as emu:
        session = LiveSession(emu.port, "chronojump", AnalysisConfig(), forward_samples=False,
                              forward_health=False).start()
        try:
            deadline = time.monotonic() + len(data) / exp["replay_bytes_per_s"] + 10
            while time.monotonic() < deadline:
                try:
                    ev = session.events.get(timeout=0.2)
                except Exception:  # queue.Empty
                    if emu.finished:
                        break
                    continue
                events.append(ev)
        finally:
            session.stop(finish=True)
        while not session.events.empty():
            events.append(session.events.get_nowait())
    ends = [e for e in events if e.type == "set_end"]
    assert len(ends) == 1
    result = ends[0].result.to_json()
    assert result["stop_rep"] == exp["result"]["stop_rep"]
    assert_same_reps(result["reps"], exp["result"], 0.005)
    buttons = [e for e in events if e.type == "button"]
    assert [b.pressed for b in buttons] == [True, False]
