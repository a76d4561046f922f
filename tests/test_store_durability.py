"""kill -9 mid-set: every rep reported committed survives, the trace loses at most the last second,
and the next start recovers the set and marks it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vbt.config import StopRuleConfig
from vbt.stoprule import apply_stop_rule
from vbt.store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# The recording process: a device streaming 1 kHz samples in 20 ms chunks, a rep every 1.5 s.
# It prints what it handed to the recorder ("trace <last t>") and what the recorder reported
# durable ("committed <index>") -- the parent kills it at an arbitrary moment.
CHILD = r"""
import sys, time
import numpy as np
from vbt.results import Rep
from vbt.store import SetRecorder

rec = SetRecorder(sys.argv[1], trace_flush_interval_s=0.25)
rec.start_set(exercise="squat", load_kg=100, athlete="kill", metric="mean", threshold_pct=20).result(30)
print("started", flush=True)
next_t, n_chunks, rep_no = 0.0, 0, 0
start = time.monotonic()
while True:
    t = next_t + np.arange(20) / 1000.0
    rec.add_trace(t, 0.25 * (1 - np.cos(2 * np.pi * t / 0.5)))
    next_t = round(float(t[-1]) + 0.001, 6)
    print(f"trace {float(t[-1])!r}", flush=True)
    n_chunks += 1
    if n_chunks % 75 == 0:
        rep_no += 1
        mv = 0.80 - 0.02 * rep_no
        rep = Rep(index=rep_no, concentric_start_s=next_t - 0.25, concentric_end_s=next_t,
                  mean_velocity_m_s=mv, mean_propulsive_velocity_m_s=mv + 0.03, peak_velocity_m_s=mv * 1.6,
                  rom_m=0.5, time_to_peak_velocity_s=0.1, concentric_duration_s=0.25)
        rec.add_rep(rep).result(30)
        print(f"committed {rep_no}", flush=True)
    # pace like a real device: 20 samples per 20 ms of wall time
    delay = start + n_chunks * 0.02 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.strip())
    lines.put(None)


# Killed just after a rep's commit, and 1.2 s after it (when only the trace journal, not a rep
# commit, can have saved the recent trace).
@pytest.mark.parametrize("reps_before_kill, chunks_after", [(2, 3), (3, 60)])
def test_kill_9_mid_set_loses_no_committed_rep(tmp_path, reps_before_kill, chunks_after):
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(repo))
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    committed: list[int] = []
    fed = [None]  # last stream time handed to the recorder

    def take(timeout_s: float) -> str | None:
        line = lines.get(timeout=timeout_s)
        if line is not None and line.startswith("committed"):
            committed.append(int(line.split()[1]))
        elif line is not None and line.startswith("trace"):
            fed[0] = float(line.split()[1])
        return line

    deadline = time.monotonic() + 60
    try:
        while len(committed) < reps_before_kill:
            line = take(max(0.1, deadline - time.monotonic()))
            assert line is not None, f"recorder process died: {proc.stderr.read()}"
        for _ in range(chunks_after):
            assert take(10) is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    reader.join(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    while take(10) is not None:  # everything the process printed before it died
        pass
    last_fed_t = fed[0]
    assert proc.returncode == -signal.SIGKILL
    assert committed == list(range(1, len(committed) + 1))

    with Store.open(tmp_path) as store:  # the next start
        (record,) = store.sets(athlete="kill")
        assert record.recovered and record.stop_reason == "interrupted" and not record.in_progress
        stored = [r.rep.index for r in store.reps(record.id)]
        assert set(committed) <= set(stored), f"lost reps: reported {committed}, stored {stored}"
        assert stored == list(range(1, len(stored) + 1))
        assert record.best_rep == 1
        trace = store.trace(record.id)
        assert trace.n_samples > 0 and trace.t_s[0] == 0.0
        assert np.allclose(np.diff(trace.t_s), 0.001)  # stitched in order, no gap, no duplicate
        assert trace.t_s[-1] >= last_fed_t - 1.0, (trace.t_s[-1], last_fed_t)
        assert store.conn.execute("SELECT COUNT(*) FROM trace_chunks WHERE set_id = ?", (record.id,)).fetchone()[0] == 1
        # the recovered set's losses, best and stop rep are the stop rule applied to its stored reps
        kept = tuple(r.rep for r in store.reps(record.id))
        expected = apply_stop_rule(kept, StopRuleConfig(velocity_loss_pct=20))
        assert kept == expected.reps and record.stop_rep == expected.stop_rep
    with Store.open(tmp_path) as store:  # recovered once, not again
        assert store.recover_interrupted() == []
        assert len(store.sets()) == 1
