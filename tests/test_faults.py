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
    # Little fatigue (true losses stay ~5 points under the 10 % limit): these tests are about outages,
    # so no rep's true loss sits where the estimator's own error (issue 9) decides the stop.
    return simulate_set(seed, style="squat", sensor=SensorSpec(rate_hz=1000.0), n_reps=8, fatigue_per_rep=0.002,
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


# ---- a full disk, freed later ---------------------------------------------------------------------


def _free_the_disk(store):
    store.conn.execute("PRAGMA max_page_count = 1073741823")


@pytest.mark.parametrize("full_after_chunks", [0, 2, 5])
def test_disk_full_at_any_moment_then_freed_keeps_every_rep_and_sample(tmp_path, monkeypatch, full_after_chunks):
    from tests.conftest import full_disk
    from vbt.store import SetRecorder, Store, StoreError

    with Store.open(tmp_path):
        pass
    full_disk(monkeypatch, extra_pages=4 + 2 * full_after_chunks)
    errors, recovered = [], []
    rec = SetRecorder(tmp_path, trace_flush_interval_s=0.02, on_error=errors.append,
                      on_recovered=recovered.append, retry_max_s=0.1, pre_roll_s=0.0)
    rng = np.random.default_rng(full_after_chunks)
    n_samples, reps, failed_futures = 0, [], 0
    try:
        opened = rec.start_set(exercise="squat", load_kg=100)
        for k in range(16):
            t = (n_samples + np.arange(1000)) / 1000.0
            rec.add_trace(t, rng.normal(size=1000))  # incompressible: the file must grow
            n_samples += 1000
            if k % 3 == 2:
                reps.append(_rep(len(reps) + 1, 0.8 - 0.01 * len(reps)))
                try:
                    rec.add_rep(reps[-1]).result(10)
                except StoreError as exc:
                    assert "disk is full" in str(exc)
                    failed_futures += 1
            rec.flush(10)
        assert errors and rec.failing is not None  # the disk did fill up
        rec.submit(_free_the_disk).result(10)
        assert rec.flush(10)
        set_id = opened.result(10) if opened.exception() is None else None
        rec.end_set(None, "manual").result(10)
    finally:
        rec.stop()
    assert len(errors) == 1 and len(recovered) == 1  # one message each, not one per attempt
    with Store.open(tmp_path) as s:
        (record,) = s.sets()
        assert set_id in (None, record.id)
        assert record.n_reps == len(reps) and record.stop_reason == "manual"
        assert s.trace(record.id).n_samples == n_samples


# ---- damaged and read-only history files -------------------------------------------------------------


def _history_with_sets(home, n_sets=24):
    from vbt.store import Store

    rng = np.random.default_rng(5)
    with Store.open(home) as s:
        for k in range(n_sets):
            t = np.arange(3000) / 1000.0
            s.add_set([_rep(i, 0.8 - 0.02 * i) for i in range(1, 6)], exercise="squat", load_kg=60 + k,
                      started_at_unix_s=1_700_000_000 + 600 * k, trace=(t, rng.normal(size=3000)))
        return {r.id: [x.rep for x in s.reps(r.id)] for r in s.sets()}


def _damage(path, seed=1):
    """4 KB of random bytes over one page in the middle of the file."""
    data = bytearray(path.read_bytes())
    page = 4096
    start = (len(data) // 2 // page) * page
    data[start:start + page] = np.random.default_rng(seed).integers(0, 256, page, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_a_damaged_history_is_found_never_written_and_repaired(tmp_path, capsys):
    import hashlib

    from vbt import cli
    from vbt.store import SetRecorder, Store, StoreError, database_path

    home = tmp_path / "h"
    before = _history_with_sets(home)
    path = database_path(home)
    _damage(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with Store.open(home) as s:
        assert s.damaged is not None
        with pytest.raises(StoreError, match="damaged.*vbt history repair"):
            s.add_set([_rep(1, 0.5)], exercise="squat", load_kg=50)
        with pytest.raises(StoreError, match="damaged"):
            s.new_session("ana")
    with pytest.raises(StoreError, match="damaged"):
        SetRecorder(home)  # refused before any set starts
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # 0 writes into it
    # export, the way to back up: a clear error or a complete export, never *.tmp files left
    rc = cli.main(["export", "--csv", str(tmp_path / "exp"), "--traces", "--home", str(home)])
    assert not list((tmp_path / "exp").rglob("*.tmp"))
    capsys.readouterr()
    assert cli.main(["history", "repair", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "damaged original is kept" in out and "sets:" in out
    kept = [p for p in home.glob("history.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and hashlib.sha256(kept[0].read_bytes()).hexdigest() == digest
    with Store.open(home) as s:
        assert s.damaged is None and s.writable_problem() is None
        after = {r.id: [x.rep for x in s.reps(r.id)] for r in s.sets()}
        s.add_set([_rep(1, 0.5)], exercise="squat", load_kg=50)  # writable again
    assert len(after) >= len(before) - 2  # one damaged page costs at most a set or two
    for set_id, reps in after.items():
        if len(reps) == len(before[set_id]):
            assert reps == before[set_id]  # what was saved is exact
    assert rc in (0, 1)


def test_a_read_only_history_is_refused_before_the_set_starts(tmp_path):
    """A history on a read-only filesystem (a tmpfs remounted read-only, where the tests run as root,
    who may write any file), or a read-only file otherwise: one line, before any set starts."""
    import os
    import shutil
    import subprocess

    from vbt.store import SetRecorder, Store, StoreError

    home = tmp_path / "h"
    home.mkdir()
    mounted = False
    if os.geteuid() == 0:
        if shutil.which("mount") is None or subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(home)], capture_output=True).returncode:
            pytest.skip("running as root without the right to mount a tmpfs")
        mounted = True
    try:
        with Store.open(home):
            pass
        if mounted:
            assert subprocess.run(["mount", "-o", "remount,ro", str(home)], capture_output=True).returncode == 0
        else:
            os.chmod(home / "history.sqlite3", 0o444)
            os.chmod(home, 0o555)
        with pytest.raises(StoreError) as info:
            SetRecorder(home)
        message = str(info.value)
        assert "read-only" in message and "\n" not in message
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(home)], capture_output=True)
        else:
            os.chmod(home, 0o755)


# ---- bad input: one clear line, nothing changed ----------------------------------------------------


def _vbt(capsys, *argv):
    """Run a `vbt` subcommand in-process (its real parser), return (rc, out, err)."""
    from vbt_cli.main import build_parser

    argv = [str(a) for a in argv]
    args = build_parser(argv).parse_args(argv)
    rc = args.func(args)
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line(rc, err, match):
    assert rc != 0 and err.strip().count("\n") == 0 and "Traceback" not in err, err
    assert match in err, err


@pytest.mark.parametrize("argv, match", [
    (["profile", "squat", "--days", "nan"], "--days"),
    (["profile", "squat", "--days", "inf"], "--days"),
    (["profile", "squat", "--days", "1e7"], "--days"),
    (["rep", "delete", "99999999999999999999999"], "no rep 99999999999999999999999"),
    (["rep", "delete", "x1"], "not a whole number"),
    (["set", "99999999999999999999999", "--delete"], "no set"),
    (["set", "99999999999999999999999", "--rpe", "8"], "no set"),
    (["devices", "--timeout", "nan"], "--timeout"),
    (["devices", "--timeout", "0"], "--timeout"),
])
def test_bad_numbers_are_one_line(tmp_path, capsys, argv, match):
    from tests.conftest import db_dump
    from vbt.store import Store, database_path

    home = tmp_path / "h"
    with Store.open(home) as s:
        s.add_set([_rep(1, 0.8), _rep(2, 0.7)], exercise="squat", load_kg=100)
    before = db_dump(database_path(home))
    extra = ["--home", home] if argv[0] != "devices" else []
    _one_line(*_vbt(capsys, *argv, *extra)[::2], match)
    assert db_dump(database_path(home)) == before


def _mm_csv(path):
    sim = _set(2)
    lines = ["t_s,position_m"] + [f"{t:.4f},{x * 1000:.1f}" for t, x in zip(sim.t_s[::5], sim.position_m[::5])]
    path.write_text("\n".join(lines) + "\n")
    return sim


def test_a_recording_in_millimetres_is_refused_with_a_hint(tmp_path, capsys):
    from vbt.store import Store

    rec = tmp_path / "mm.csv"
    sim = _mm_csv(rec)
    _one_line(*_vbt(capsys, "analyze", rec)[::2], "--units mm")
    rc, out, _ = _vbt(capsys, "analyze", rec, "--units", "mm", "--json")
    import json

    assert rc == 0 and len(json.loads(out)["reps"]) == len(sim.truth)
    home = tmp_path / "h"
    _one_line(*_vbt(capsys, "import", rec, "--exercise", "squat", "--home", home)[::2], "--units mm")
    with Store.open(home) as s:
        assert s.sets() == []
    assert _vbt(capsys, "import", rec, "--exercise", "squat", "--units", "mm", "--home", home)[0] == 0
    with Store.open(home) as s:
        (record,) = s.sets()
        assert record.n_reps == len(sim.truth) and record.best_velocity_m_s < 2.0


def test_an_incomplete_export_imports_nothing_and_a_set_can_be_deleted_and_restored(tmp_path, capsys):
    from tests.conftest import db_dump
    from vbt.store import Store, database_path

    src, dst = tmp_path / "src", tmp_path / "dst"
    with Store.open(src) as s:
        for k in range(3):
            s.add_set([_rep(1, 0.8), _rep(2, 0.7)], exercise="squat", load_kg=100 + k,
                      started_at_unix_s=1_700_000_000 + 60 * k)
    assert _vbt(capsys, "export", "--csv", tmp_path / "exp", "--home", src)[0] == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in (tmp_path / "exp").iterdir():
        text = f.read_text(encoding="utf-8-sig")
        if f.name == "reps.csv":
            text = text.splitlines()[0] + "\n"  # only its header
        (broken / f.name).write_text(text, encoding="utf-8-sig")
    with Store.open(dst):
        pass
    before = db_dump(database_path(dst))
    _one_line(*_vbt(capsys, "import", broken, "--home", dst)[::2], "incomplete")
    assert db_dump(database_path(dst)) == before
    assert _vbt(capsys, "import", tmp_path / "exp", "--home", dst)[0] == 0
    with Store.open(dst) as s:
        ids = [r.id for r in s.sets()]
        assert len(ids) == 3 and all(r.n_reps == 2 for r in s.sets())
    rc, out, _ = _vbt(capsys, "set", ids[0], "--delete", "--home", dst)
    assert rc == 0 and "deleted set" in out
    with Store.open(dst) as s:
        assert [r.id for r in s.sets()] == ids[1:]
        assert s.profile_points("squat")[0].tolist() == [101.0, 102.0]  # out of profiles too
    assert _vbt(capsys, "set", ids[0], "--restore", "--home", dst)[0] == 0
    assert _vbt(capsys, "set", ids[0], "--delete", "--home", dst)[0] == 0
    assert _vbt(capsys, "import", tmp_path / "exp", "--home", dst)[0] == 0  # the deleted set comes back, whole
    with Store.open(dst) as s:
        assert len(s.sets()) == 3 and all(r.n_reps == 2 for r in s.sets())


# ---- cable pulls over a pty, both protocols -----------------------------------------------------------


@pytest.mark.slow  # about three minutes of real-time streaming
def test_cable_pulls_over_a_pty(tmp_path):
    """At least 50 seeded pulls of 0.2-5 s during reps, pauses and set ends: Chronojump in real time,
    native 5x faster than real time (no reboot) and in real time with a reboot behind each pull."""
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    from bench_faults import run_pulls

    plan = [("chronojump", 1.0, False, 10, 7000), ("native", 5.0, False, 36, 7100), ("native", 1.0, True, 4, 7200)]
    pulls = 0
    for protocol, speed, reboot, want, seed in plan:
        done = 0
        while done < want:
            run = run_pulls(protocol, seed, want - done, speed, str(tmp_path), reboot=reboot)
            seed += 1
            assert not run.problems, run.problems
            assert (run.false_stops, run.reps_lost, run.invented, run.early_ends) == (0, 0, 0, 0), \
                (protocol, speed, reboot, run.outages, [(e.type, getattr(e, "rep", None)) for e in run.events])
            assert run.pulls > 0
            done += run.pulls
        pulls += done
    assert pulls >= 50


# ---- fuzzed native frames with valid CRCs ------------------------------------------------------------


def test_fuzzed_frames_with_valid_crcs_never_move_the_bar():
    """A still bar's native stream with forged frames slipped in: every forged frame has a valid CRC but a
    time far ahead or behind, a count jump, or a random sequence number. None may move the bar."""
    from firmware_bridge import native as nat

    rng = np.random.default_rng(11)
    counts_per_m, period = 10000, 1000
    hello = nat.hello_frame(0, nat.PROTOCOL_VERSION, (1, 0, 0), 77, counts_per_m, period, 5, True)
    level = 12_000  # 1.2 m
    frames = nat.samples_frames(1, 5_000_000, np.full(20_000, level), period, 20)
    data, forged = [nat.encode_frame(hello)], 0
    for k, frame in enumerate(frames):
        data.append(nat.encode_frame(frame))
        if k % 7 == 3:
            kind = k % 3
            t = frame.clock_us + (int(rng.integers(5, 4000)) * 1_000_000 if kind == 0 else
                                    -int(rng.integers(1, 60)) * 1_000_000 if kind == 1 else 2 * period)
            jump = int(rng.integers(-20_000, 20_000)) if kind != 1 else int(rng.integers(-300, 300))
            seq = (frame.seq + 1) & 0xFFFF if kind != 2 else int(rng.integers(0, 1 << 16))
            fake = nat.samples_frame(seq, t % nat.U32, np.cumsum((level + jump, *rng.integers(-3, 4, 19))), period)
            data.append(nat.encode_frame(fake))
            forged += 1
    dec = nat.NativeDecoder()
    batches = [i for i in dec.feed(b"".join(data), 100.0) if hasattr(i, "position_m")]
    x = np.concatenate([b.position_m for b in batches])
    t = np.concatenate([b.t_s for b in batches])
    assert dec.stats.checksum_errors == 0 and forged > 100
    assert np.ptp(x) <= 0.005  # the bar never moved more than the slack the decoder allows
    assert np.all(np.diff(t) > 0) and t[-1] - t[0] < 21.0  # and time never leapt ahead
    assert dec.stats.implausible > 0.5 * forged
