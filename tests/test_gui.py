"""The dashboard end to end: a seeded, scripted emulator on a real pty, the real reader and tracker,
the real window on Qt's offscreen platform (pytest-qt)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from firmware_bridge.events import DeviceUnavailable  # noqa: E402
from gui import theme  # noqa: E402
from gui.demo import scripted_sets, seed_demo_history, true_stop_rep  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.session import DemoOptions, LiveSettings, SessionEvent  # noqa: E402
from gui.sound import CuePlayer  # noqa: E402
from gui.state import ENDED, STOP, WARNING  # noqa: E402
from gui.widgets import StatusBanner  # noqa: E402
from vbt.store import Store  # noqa: E402

# The set the alert test lifts: best 0.82 at rep 2, rep 4 in the warning band (7.3 % loss),
# rep 5 the first under 90 % of the best (12.2 % loss).
VELOCITIES = [0.80, 0.82, 0.79, 0.76, 0.72, 0.70]
FAST = dict(rom_m=0.40, lead_in_s=0.5, eccentric_s=0.5, lockout_s=0.35, rest_s=2.5)


@pytest.fixture(autouse=True)
def _app_theme(qapp):
    theme.apply(qapp)


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows = []

    def make(settings: LiveSettings = LiveSettings(set_end_stillness_s=1.2), **kwargs):
        ini = QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QSettings.IniFormat)
        kwargs.setdefault("home", tmp_path / "home")
        win = MainWindow(ini, cue_player=CuePlayer(fallback=lambda _n: None, player=()), **kwargs)
        win.controls.set_settings(settings)
        win.resize(1280, 800)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.close()  # stops the worker, the emulator, the reader and the recorder


def start_demo(win, velocities_per_set, protocol="native", **script_kwargs):
    script = scripted_sets(velocities_per_set, **{**FAST, **script_kwargs})
    win.start_session(demo=DemoOptions(protocol=protocol, seed=11, script=script))
    return script


def wait_reps(qtbot, win, n, timeout=12000):
    qtbot.waitUntil(lambda: win.display.n_reps >= n, timeout=timeout)


def test_reps_tiles_lines_and_the_stop_alert_at_the_right_rep(qtbot, make_window, tmp_path):
    win = make_window()
    start_demo(win, [VELOCITIES])
    qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.OK, timeout=8000)
    assert "Connected" in win.banner.text

    wait_reps(qtbot, win, 1)
    tile = win.live.velocity
    assert float(tile.value()) == pytest.approx(VELOCITIES[0], abs=0.01)
    assert tile.value_colour() == theme.GOOD.lower()
    assert win.live.reps.value() == "1"

    win.controls.load.setValue(100.0)  # the load typed in after the set began: corrected on the record
    assert "next set" in win.controls.pending_hint.text()
    wait_reps(qtbot, win, 3)
    bars = win.live.bars
    best = win.display.best_velocity_m_s
    assert best == pytest.approx(0.82, abs=0.01)
    assert bars.best_y == pytest.approx(best) and bars.best_line.isVisible()
    assert bars.stop_y == pytest.approx(0.9 * best) and bars.stop_line.isVisible()
    assert float(win.live.best.value()) == pytest.approx(best, abs=0.005)
    assert float(win.live.stop_at.value()) == pytest.approx(0.9 * best, abs=0.005)
    assert bars.heights.size == 3
    assert win.stop_alerts == [] and not win.overlay.isVisible()

    wait_reps(qtbot, win, 4)
    qtbot.waitUntil(lambda: win.warning_cues == [4], timeout=2000)
    assert win.display.last.level == WARNING and win.stop_alerts == [] and not win.overlay.isVisible()
    assert win.cues.played == ["warning"]

    wait_reps(qtbot, win, 5)
    qtbot.waitUntil(lambda: win.stop_alerts == [5], timeout=2000)
    assert true_stop_rep(VELOCITIES) == 5
    # the alert fires at the first rep under 90 % of the best so far, and not before
    shown = [r.velocity_m_s for r in win.display.reps]
    first_below = next(i for i, v in enumerate(shown, start=1) if i > 1 and v < 0.9 * max(shown[:i]))
    assert first_below == 5 == win.display.stop_index
    assert win.overlay.isVisible() and win.overlay.title == "STOP"
    assert "velocity loss" in win.overlay.detail and "rep 5" in win.overlay.detail
    assert win.cues.played == ["warning", "stop"]
    assert win.display.alert == STOP and win.live.loss.value_colour() == theme.STOP.lower()
    win.grab().save(str(tmp_path / "stop.png"))
    qtbot.waitUntil(lambda: win.overlay.flashes >= 2, timeout=2000)  # it flashes

    # the set ends after the configured stillness; RPE and note; the summary as a PNG
    qtbot.waitUntil(lambda: win.display.phase == ENDED, timeout=12000)
    assert win.display.n_reps == 6 and win.stop_alerts == [5]
    assert win.live.end_panel.isVisible()
    win.live.end_panel.set_rpe(8)
    win.live.end_panel.note.setText("felt heavy")
    win.live.end_panel.note.returnPressed.emit()
    with qtbot.waitSignal(win.saver.saved, timeout=5000) as saved:
        path = win.save_summary(str(tmp_path / "summary.png"))
    assert saved.args == [path]
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    win.grab().save(str(tmp_path / "live.png"))
    qtbot.waitUntil(lambda: 1 in win._set_ids, timeout=5000)  # durable in the history
    set_id = win._set_ids[1]
    win.close()
    with Store.open(tmp_path / "home") as store:
        rec = store.get_set(set_id)
        reps = store.reps(set_id)
    assert rec.n_reps == 6 and rec.stop_rep == 5 and rec.stop_reason == "stillness"
    assert rec.rpe == 8 and rec.note == "felt heavy" and rec.exercise == "squat" and rec.load_kg == 100.0
    assert [r.rep.mean_velocity_m_s for r in reps] == pytest.approx(VELOCITIES, abs=0.01)


def test_auto_end_at_the_stop_and_a_new_set_resets_the_best(qtbot, make_window):
    win = make_window(LiveSettings(set_end_stillness_s=1.2, auto_end=True))
    ended = []
    win.bridge.set_end.connect(lambda ev: ended.append(ev.payload))
    start_demo(win, [VELOCITIES[:5] + [0.60, 0.61]])
    qtbot.waitUntil(lambda: len(ended) == 1, timeout=15000)
    assert ended[0].reason == "velocity_loss" and len(ended[0].result.reps) == 5
    assert ended[0].result.stop_rep == 5
    # the two reps after the stop are a new set, measured against its own best
    qtbot.waitUntil(lambda: win.display.set_number == 2 and win.display.n_reps == 2, timeout=8000)
    assert win.display.best_velocity_m_s == pytest.approx(0.61, abs=0.01)
    assert win.display.stop_index is None and not win.overlay.isVisible()
    assert win.live.reps.value() == "2"


def test_device_lost_banner_when_the_pty_closes_and_back_on_reconnect(qtbot, make_window, tmp_path):
    win = make_window()
    start_demo(win, [VELOCITIES])
    qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.OK, timeout=8000)
    emulator = win.session.emulator
    emulator.unplug()
    qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.LOUD, timeout=4000)
    assert "DEVICE LOST" in win.banner.text
    assert win.banner.height() >= 100  # loud: a big banner, not a status line
    qtbot.waitUntil(lambda: win.tabs.geometry().top() >= win.banner.geometry().bottom(), timeout=2000)
    win.grab().save(str(tmp_path / "lost.png"))
    emulator.plug()
    qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.OK, timeout=5000)
    assert "Reconnected" in win.banner.text


def test_busy_port_and_other_port_problems_get_clear_messages(qtbot, make_window):
    from firmware_bridge.discovery import open_port
    from firmware_bridge.emulator import Emulator

    with Emulator("native", seed=1, link_dir=None, script=scripted_sets([[0.5]])) as emu:
        holder = open_port(emu.port)  # another program has the port open
        try:
            win = make_window(record=False)
            win.start_session(port=emu.port, protocol="native")
            qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.LOUD, timeout=8000)
            assert win.banner.text.startswith("PORT BUSY") and emu.port in win.banner.text
            win.close()
        finally:
            holder.close()
    # permission and wrong-device reports as the reader sends them (root cannot be denied a port here)
    win = make_window(record=False)
    for kind, headline in (("permission", "NO PERMISSION"), ("wrong_device", "WRONG DEVICE")):
        event = DeviceUnavailable("/dev/ttyACM0", kind, f"/dev/ttyACM0: {kind} details", 0.0)
        win.bridge.device_unavailable.emit(SessionEvent(event, 1, 0.0))
        qtbot.waitUntil(lambda headline=headline: win.banner.label.text() == headline, timeout=2000)
        assert win.banner.mode == StatusBanner.LOUD and "details" in win.banner.text
    assert "dialout" in __import__("firmware_bridge.discovery", fromlist=["x"]).PERMISSION_HINT


def test_no_transducer_offers_the_demo_in_a_dialog(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setenv("VBT_EMULATOR_DIR", str(tmp_path / "no-emulators"))  # no other emulator is found
    win = make_window(record=False)
    win.start_session(port="auto")
    qtbot.waitUntil(lambda: win._demo_prompt is not None and win._demo_prompt.isVisible(), timeout=15000)
    assert win.banner.mode == StatusBanner.INFO and "No transducer found" in win.banner.text
    win._demo_prompt.button(QMessageBox.Yes).click()
    qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.OK, timeout=8000)
    assert win.session.emulator is not None and win.demo_mode
    qtbot.waitUntil(lambda: "DEMO" in win.banner.right.text(), timeout=6000)


def test_history_tab_lists_sessions_and_shows_profile_and_trend(qtbot, make_window, tmp_path):
    home = tmp_path / "history"
    seed_demo_history(home, seed=3, sessions=6)
    win = make_window(home=home, record=False)
    win.tabs.setCurrentIndex(1)
    view = win.history
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 6, timeout=5000)
    qtbot.waitUntil(lambda: view.rep_table.rowCount() > 0, timeout=5000)  # newest session's last set
    assert view.trace_pos.xData is not None and view.trace_pos.xData.size > 1000
    assert len(view._regions) == view.rep_table.rowCount()
    view.exercise.setCurrentText("squat")
    view.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: "1RM" in view.profile_title.text(), timeout=5000)
    assert "LOW CONFIDENCE" in view.profile_title.text()  # squat 1RM is flagged
    assert view.profile_points.data.size == 4 and view.one_rm_interval.isVisible()
    win.grab().save(str(tmp_path / "history.png"))
    view.exercise.setCurrentText("bench press")
    qtbot.waitUntil(lambda: "bench press" in view.profile_title.text(), timeout=5000)
    assert "LOW CONFIDENCE" not in view.profile_title.text()
    view.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: "6 sessions" in view.trend_title.text(), timeout=5000)
    assert np.isfinite(view.trend_best.yData).all() and view.trend_best.yData.size == 6
    view.trend_load.setValue(55.0)  # bench at 55 kg, every session
    qtbot.waitUntil(lambda: "at 55 kg" in view.trend_title.text(), timeout=5000)
    assert view.trend_best.yData.size == 6 and np.all(view.trend_best.yData < 1.0)


def test_settings_and_window_state_are_remembered(qtbot, make_window, tmp_path):
    ini = str(tmp_path / "remember.ini")
    win = MainWindow(QSettings(ini, QSettings.IniFormat), home=tmp_path / "h", record=False,
                     cue_player=CuePlayer(player=()))
    qtbot.addWidget(win)
    win.controls.set_settings(LiveSettings(athlete="ana", exercise="bench press", load_kg=82.5, side="left",
                                           threshold_pct=20.0, metric="propulsive", auto_end=True, grace_rep=True))
    win.controls.sound.setChecked(False)
    win.show()
    win.resize(win.width(), 540)  # (the offscreen screen is 800 px wide: only the height can round-trip)
    win.close()
    again = MainWindow(QSettings(ini, QSettings.IniFormat), home=tmp_path / "h", record=False,
                       cue_player=CuePlayer(player=()))
    qtbot.addWidget(again)
    s = again.controls.settings()
    assert (s.athlete, s.exercise, s.load_kg, s.side, s.threshold_pct, s.metric, s.auto_end, s.grace_rep) == (
        "ana", "bench press", 82.5, "left", 20.0, "propulsive", True, True)
    assert not again.controls.sound.isChecked() and again.cues.muted
    assert again.height() == 540
    again.close()


def test_keyboard_shortcuts_mute_and_next_set(qtbot, make_window):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    win = make_window(record=False)
    keys = {name: sc.key() for name, sc in win.shortcuts.items()}
    assert keys["end_or_next"] == QKeySequence(Qt.Key_Space)
    assert keys["next"] == QKeySequence(Qt.Key_N) and keys["mute"] == QKeySequence(Qt.Key_M)
    assert keys["save"] == QKeySequence(QKeySequence.Save)
    # (the offscreen platform has no active window, so key presses are delivered as the shortcut would)
    assert not win.cues.muted
    win.shortcuts["mute"].activated.emit()
    assert win.cues.muted and win.controls.mute_button.isChecked()
    win.shortcuts["mute"].activated.emit()
    assert not win.cues.muted
    win.shortcuts["end_or_next"].activated.emit()  # no set running: get ready for the next (nothing shown yet)
    assert win.display.set_number == 1 and win.live.velocity.value() == "–"


def test_user_added_exercises_and_athletes_reach_the_set_controls(qtbot, make_window, tmp_path):
    home = tmp_path / "own"
    with Store.open(home) as store:
        store.add_exercise("zercher squat", 0.30, min_rom_m=0.2)
        store.athlete_id("ana", create=True)
    win = make_window(home=home)
    qtbot.waitUntil(lambda: win.controls.exercise.findText("zercher squat") >= 0, timeout=5000)
    assert win.controls.athlete.findText("ana") >= 0
    assert win.controls.settings().exercise == "squat"  # the choice in use is kept


def test_switching_tabs_dismisses_the_stop_alert(qtbot, make_window):
    """The alert flashes for seconds; whoever opens the history has seen it, and it must not cover it."""
    win = make_window()
    win.overlay.show_alert("STOP", "−12.0 % velocity loss · rep 5")
    qtbot.waitUntil(win.overlay.isVisible, timeout=1000)
    win.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not win.overlay.isVisible(), timeout=1000)


def test_several_transducers_get_a_picker_naming_each(qtbot, make_window, emulator_dir):
    """Two emulated transducers on real ptys answer discovery: the dashboard names both and
    opens the one chosen, instead of saying no transducer was found."""
    from firmware_bridge.emulator import Emulator

    with Emulator("native", seed=3) as native, Emulator("chronojump", seed=4) as cj:
        win = make_window(record=False)
        win.start_session(port="auto")
        qtbot.waitUntil(lambda: win.port_picker is not None and win.port_picker.isVisible(), timeout=20000)
        items = win.port_picker.comboBoxItems()
        assert len(items) == 2
        by_protocol = {("native" if "(native" in label else "chronojump"): label for label in items}
        assert set(by_protocol) == {"native", "chronojump"}
        assert native.port in by_protocol["native"] and cj.port in by_protocol["chronojump"]
        assert "device " in by_protocol["native"] and "firmware " in by_protocol["native"]
        assert "No transducer found" not in win.banner.text and "choose one" in win.banner.text
        win.port_picker.setTextValue(by_protocol["chronojump"])
        win.port_picker.accept()
        qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.OK, timeout=15000)
        assert win.session.live.reader.port == cj.port
        assert not win.port_picker.isVisible()


def test_a_full_disk_shows_one_banner_until_the_history_is_written_again(qtbot, make_window, monkeypatch):
    """The dashboard's recorder writes into a file SQLite may not grow (a real SQLITE_FULL): a banner
    says so once; when room comes back it goes and every rep of the set is in the history."""
    from tests.conftest import full_disk
    from vbt.store import Store

    win = make_window()
    with Store.open(win.home):
        pass
    full_disk(monkeypatch, extra_pages=1)
    failed, recovered = [], []
    win.bridge.storage_failed.connect(failed.append)
    win.bridge.storage_recovered.connect(recovered.append)
    start_demo(win, [[0.8, 0.78, 0.77]])
    qtbot.waitUntil(lambda: bool(failed), timeout=30000)
    assert win.storage_banner.isVisible() and "HISTORY NOT SAVING" in win.storage_banner.label.text()
    qtbot.waitUntil(lambda: len(win.display.reps) >= 3, timeout=30000)
    recorder = win.bridge.session.recorder
    recorder.submit(lambda s: s.conn.execute("PRAGMA max_page_count = 1073741823")).result(10)
    qtbot.waitUntil(lambda: bool(recovered), timeout=30000)
    assert not win.storage_banner.isVisible() and len(failed) == 1
    win.close()  # ends the set and drains the recorder
    with Store.open(win.home) as s:
        assert sum(r.n_reps for r in s.sets()) == 3


def test_a_cable_pulled_mid_rep_shows_check_rep_and_no_stop(qtbot, make_window):
    """The demo transducer's cable is pulled in the middle of the last rep's rise: that rep comes back as
    doubtful ("check rep 3" on the tile), is not the best, fires no STOP, and the set goes on. (Pulled earlier
    in the rise, the cut rep may also be dropped: allowed, and covered by tests/test_faults.py.)"""
    import time

    win = make_window()
    script = start_demo(win, [[0.8, 0.78, 0.70]])  # a cut-short rep 3 would read as a STOP
    reps, stops = [], []
    win.bridge.rep.connect(lambda ev: reps.append(ev.payload.rep))
    win.bridge.stop.connect(stops.append)
    qtbot.waitUntil(lambda: win.bridge.session is not None and win.bridge.session.emulator is not None,
                    timeout=30000)
    emu = win.bridge.session.emulator
    last = script.reps[2]
    assert emu.wait_script_time(last.concentric_start_s + 0.85 * (last.concentric_end_s - last.concentric_start_s),
                                timeout=60.0)
    emu.unplug()
    time.sleep(0.4)  # the cable stays out a moment (not a synchronisation)
    emu.plug(power_cycle=False)
    seen = []
    win.bridge.device_connected.connect(lambda ev: seen.append("connected"))
    win.bridge.set_end.connect(lambda ev: seen.append("set_ended"))
    try:
        qtbot.waitUntil(lambda: any(r.doubtful for r in reps), timeout=30000)
    except Exception as exc:
        raise AssertionError((seen, [(r.index, r.quality, r.concentric_start_s, r.concentric_end_s) for r in reps],
                              [(r.index, r.concentric_start_s, r.concentric_end_s) for r in script.reps])) from exc
    cut = next(r for r in reps if r.doubtful)
    assert cut.quality == "device lost during the rep"
    assert win.live.velocity.footer().startswith(f"check rep {cut.index}")
    assert [r.index for r in reps] == list(range(1, len(reps) + 1)) and not stops


def test_a_first_rep_held_mid_rise_is_one_bar_revised_on_screen(qtbot, make_window):
    """Fresh grinder seed 100016 played by the demo transducer (4x real time): the first pull holds
    still mid-way and goes on up. The tile first shows the rep closed at the hold, then the revised
    rep with a "revised" footer; one bar, the best at the true 0.25 m/s, and rep 2 is judged against it
    (8 % loss, not the false 47 %)."""
    from firmware_bridge.motion import MotionScript
    from vbt.motions import simulate_family

    sim = simulate_family("grinder", 100016, "fine")
    win = make_window(LiveSettings(set_end_stillness_s=4.0))
    revised = []
    win.bridge.rep_revised.connect(revised.append)
    win.start_session(demo=DemoOptions(protocol="native", seed=11, emulator_kwargs={"speed": 4.0},
                                       script=MotionScript.from_arrays(sim.t_s, sim.position_m)))
    qtbot.waitUntil(lambda: bool(revised), timeout=40000)
    d = win.display
    first = revised[0].payload.rep
    assert d.n_reps == 1 and d.set_number == 1 and d.reps[0].rep == first
    assert first.mean_velocity_m_s == pytest.approx(sim.truth[0].mean_velocity_m_s, rel=0.03)
    assert win.live.velocity.value() == f"{first.mean_velocity_m_s:.2f}"
    if first.doubtful:  # a fault during the rep on a loaded machine: shown, never the best (CI saw it once)
        assert d.best_velocity_m_s is None and win.live.velocity.footer().startswith("check rep 1: ")
        return
    assert d.best_velocity_m_s == pytest.approx(first.mean_velocity_m_s)
    assert "revised" in win.live.velocity.footer()
    wait_reps(qtbot, win, 2, timeout=40000)
    assert d.best_index == 1 and d.reps[1].loss_pct == pytest.approx(8.1, abs=1.5)
    assert d.stop_index is None


def test_a_set_whose_only_rep_is_doubtful_ends_with_a_panel_saying_so(qtbot, make_window):
    """A set whose every rep is doubtful has no best: its end panel says so (it raised in the Qt loop)."""
    from vbt.results import Rep, RepCompleted, SetEnded
    from vbt.stoprule import apply_stop_rule

    win = make_window()
    rep = Rep(index=1, concentric_start_s=1.0, concentric_end_s=1.8, mean_velocity_m_s=0.5,
              mean_propulsive_velocity_m_s=0.5, peak_velocity_m_s=0.9, rom_m=0.4, time_to_peak_velocity_s=0.3,
              concentric_duration_s=0.8, quality="device lost during the rep")
    win.bridge.rep.emit(SessionEvent(RepCompleted(rep, None, 2.0), 1, 0.0))
    win.bridge.set_end.emit(SessionEvent(SetEnded(apply_stop_rule([rep]), "manual", 5.0), 1, 0.0))
    assert win.display.best_velocity_m_s is None
    assert "best – (every rep doubtful)" in win.live.end_panel.summary.text()


def test_rep_bars_keep_the_lines_values_off_the_bars(qtbot):
    """A lifter reads every bar's value from two metres: the best and stop lines' values sit in a
    legend above the chart, not at the lines' right end (where "stop 0.84" covered bars 8 and 9 of
    a 9-rep set), and the tallest bars' values fit inside the chart (a short chart cut them off)."""
    from gui.widgets import RepBars

    bars = RepBars()
    qtbot.addWidget(bars)
    bars.resize(560, 160)
    bars.show()
    qtbot.waitExposed(bars)
    v = [0.93, 0.90, 0.87, 0.81, 0.74, 0.69, 0.65, 0.57, 0.51]
    bars.show_reps(v, ["good"] * 3 + ["stop"] * 6, 0.93, 0.84)
    qtbot.wait(50)
    assert "best 0.93" in bars.legend and "stop 0.84" in bars.legend
    view = bars.getPlotItem().getViewBox()
    texts = [item for item in view.addedItems if hasattr(item, "textItem") and item.isVisible()]
    assert len(texts) == len(v)  # the bars' values, nothing else on the chart
    inside = view.sceneBoundingRect()
    for i, a in enumerate(texts):
        ra = a.sceneBoundingRect()
        assert ra.top() >= inside.top() - 0.5, a.textItem.toPlainText()
        for b in texts[i + 1:]:
            assert not ra.intersects(b.sceneBoundingRect()), (a.textItem.toPlainText(), b.textItem.toPlainText())


@pytest.mark.parametrize("protocol", ["native", "chronojump"])
def test_a_transducer_mounted_upside_down_shows_the_reps_with_inverted(qtbot, make_window, protocol):
    """`vbt gui --demo --inverted`: the demo transducer mounted upside down writes every rise as a
    descent; --inverted ticks "Mounted upside down", the reader turns the readings round, and the
    dashboard shows the lifter's reps and the STOP at the right rep, through the real pty and reader."""
    import argparse

    from gui import commands
    from gui.app import upside_down_demo

    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["gui", "--demo", "--inverted"])
    script = scripted_sets([VELOCITIES], **FAST)
    demo = upside_down_demo(args, DemoOptions(protocol=protocol, seed=11, script=script))
    assert demo.emulator_kwargs == {"inverted": True}
    assert upside_down_demo(parser.parse_args(["gui", "--demo"]), demo) is demo
    win = make_window(LiveSettings(set_end_stillness_s=1.2, upside_down=True))
    win.start_session(demo=demo)
    wait_reps(qtbot, win, 5)
    qtbot.waitUntil(lambda: win.stop_alerts == [5], timeout=2000)
    assert [r.velocity_m_s for r in win.display.reps][:5] == pytest.approx(VELOCITIES[:5], abs=0.01)


def test_ticking_upside_down_opens_the_transducer_again_the_other_way_up(qtbot, make_window, tmp_path):
    """The switch in the window, for a lifter who did not start with --inverted: unticked, an
    upside-down transducer's descents would be the reps; ticked, the same device is opened again
    the other way up and the reps are the lifter's. The choice is kept for the next start."""
    script = scripted_sets([VELOCITIES], **{**FAST, "lead_in_s": 3.0})
    win = make_window()
    assert not win.controls.upside_down.isChecked()
    win.start_session(demo=DemoOptions(protocol="native", seed=11, script=script, emulator_kwargs={"inverted": True}))
    qtbot.waitUntil(lambda: win.banner.mode == StatusBanner.OK, timeout=8000)
    win.controls.upside_down.setChecked(True)  # before the first rep (the lead-in is 3 s)
    qtbot.waitUntil(lambda: win.session.settings.upside_down and win.session.live is not None
                    and win.session.live.reader.inverted, timeout=8000)
    wait_reps(qtbot, win, 5)
    assert [r.velocity_m_s for r in win.display.reps][:5] == pytest.approx(VELOCITIES[:5], abs=0.01)
    # the STOP is an event of its own, posted just after rep 5's (a loaded machine ran the check between them)
    qtbot.waitUntil(lambda: win.stop_alerts == [5], timeout=2000)
    assert win.display.n_reps == 5
    win._save_settings()
    assert win.qsettings.value("device/upside_down") in (True, "true")
