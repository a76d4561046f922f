"""The plan's zone on the dashboard: the big number coloured below / in / above, the legend naming the
zone and its source, the optional zone cue. A scripted emulator on a real pty, the real reader and
tracker, the real window on Qt's offscreen platform, a real SQLite history holding the athlete's plan
and the sets her load-velocity profile comes from."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import datetime as dt  # noqa: E402
import pathlib  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from gui import theme  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.session import DemoOptions, LiveSettings  # noqa: E402
from gui.sound import CuePlayer  # noqa: E402
from gui.zone_view import ABOVE_COLOUR, BELOW_COLOUR, IN_COLOUR  # noqa: E402
from tests.test_method import _two_sets  # noqa: E402
from tests.test_plan import _profile_history  # noqa: E402
from vbt import plan as planning  # noqa: E402
from vbt.store import Store  # noqa: E402

SHOTS = os.environ.get("VBT_SHOTS")


@pytest.fixture(autouse=True)
def _app_theme(qapp):
    theme.apply(qapp)


def test_big_number_coloured_by_the_profile_zone_with_legend_and_cue(qtbot, tmp_path):
    home = tmp_path / "home"
    today = dt.date.today()
    # ana's squat profile from the three days before: v = 1.4 - 0.008 load, 1RM 137.5 kg; her plan
    # starts today, so this is the activation block: 50-65 %1RM -> 0.685-0.85 m/s through the profile
    _profile_history(home, today)
    with Store.open(home) as s:
        s.save_plan(planning.default_plan("ana", today))
    ini = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(ini, home=home, cue_player=CuePlayer(fallback=lambda _n: None, player=()))
    win.controls.set_settings(LiveSettings(athlete="ana", exercise="squat", load_kg=80.0, threshold_pct=40.0,
                                           plan_limit=False, set_end_stillness_s=2.5, band_top_n=400.0,
                                           band_bottom_n=100.0))
    win._on_settings_changed(win.controls.settings())  # as if typed: the display's stop line follows
    win.controls.zone_cue.setChecked(True)
    win.resize(1600, 900)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    shots = pathlib.Path(SHOTS) if SHOTS else tmp_path
    try:
        calls, plans, reps = [], [], []
        # every connection made before the session starts: none is added while the worker emits
        win.bridge.rep.connect(lambda ev: calls.append(ev.payload.zone))
        win.bridge.plan_changed.connect(lambda ev: plans.append((ev.payload.week, ev.payload.zone)))
        win.bridge.set_end.connect(lambda ev: reps.extend(ev.payload.result.reps))
        script = _two_sets([0.90, 0.76, 0.62], [0.76, 0.75], ecc_first_s=1.5, ecc_second_s=1.5)
        win.start_session(demo=DemoOptions(protocol="native", seed=3, script=script, emulator_kwargs={"speed": 2.0}))
        tile, legend = win.live.velocity, win.live.zone_legend
        qtbot.waitUntil(lambda: bool(plans), timeout=15000)  # before any rep: the plan's week, zone and limit
        week, target = plans[0]
        assert week.block.name == "activation" and target.source == "profile"
        assert legend.plan_line.startswith("plan: activation week 1 of 4, velocity-loss limit 10 %")
        expected = [("above", ABOVE_COLOUR), ("in", IN_COLOUR), ("below", BELOW_COLOUR)]
        for n, (where, colour) in enumerate(expected, start=1):
            qtbot.waitUntil(lambda n=n: len(calls) >= n, timeout=30000)
            qtbot.waitUntil(lambda n=n: win.display.n_reps >= n, timeout=5000)
            call = calls[n - 1]
            assert call.where == where and call.target.source == "profile"
            assert call.target.low_m_s == pytest.approx(0.685) and call.target.high_m_s == pytest.approx(0.85)
            assert tile.value_colour() == colour, (n, tile.value_colour())
            assert tile.footer().startswith({"above": "▲ ABOVE", "in": "● IN", "below": "▼ BELOW"}[where])
            assert legend.isVisible() and legend.lit == where
            assert "activation week 1 of 4 · zone from the athlete's own load-velocity profile (1RM 138 kg from 3 " \
                "loads, low confidence)" in legend.text
            if where == "in":
                win.grab().save(str(shots / "zone-in.png"))
        win.grab().save(str(shots / "zone-below.png"))
        assert [c for c in win.cues.played if c.startswith("zone_")] == ["zone_above", "zone_in", "zone_below"]
        assert "stop" not in win.cues.played  # 31 % loss stays under the 40 % limit
        # the bands typed in the Method box: force and power from the load at each height, stored with the set
        qtbot.waitUntil(lambda: len(reps) >= 3 and 1 in win._set_ids, timeout=20000)
        for r in reps[:3]:
            assert r.mean_power_w == pytest.approx((80.0 * 9.81 + 250.0) * r.mean_velocity_m_s, rel=1e-9)
        set_id = win._set_ids[1]
        qtbot.waitUntil(lambda: _stored_bands(home, set_id) is not None, timeout=5000)
        assert _stored_bands(home, set_id).describe() == "bands 100 N at the bottom to 400 N at the top"
    finally:
        win.close()


def test_the_plan_sets_the_limit_until_one_is_typed(qtbot, tmp_path):
    """With "Plan sets the limit" ticked (the default) the active block's velocity-loss limit is the
    one in force: in the box, on the display, and for the STOP; typing a limit takes over."""
    home = tmp_path / "home"
    today = dt.date.today()
    _profile_history(home, today)
    with Store.open(home) as s:
        s.save_plan(planning.default_plan("ana", today))  # activation block: 10 %
    ini = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(ini, home=home, cue_player=CuePlayer(fallback=lambda _n: None, player=()))
    win.controls.set_settings(LiveSettings(athlete="ana", exercise="squat", load_kg=80.0, threshold_pct=40.0,
                                           set_end_stillness_s=2.5))
    win._on_settings_changed(win.controls.settings())
    qtbot.addWidget(win)
    win.show()
    try:
        stops, plans = [], []
        win.bridge.stop.connect(lambda ev: stops.append(ev.payload))
        win.bridge.plan_changed.connect(lambda ev: plans.append(ev.payload.week))
        script = _two_sets([0.90, 0.76, 0.62], [0.76, 0.75], ecc_first_s=1.5, ecc_second_s=1.5)
        win.start_session(demo=DemoOptions(protocol="native", seed=3, script=script, emulator_kwargs={"speed": 2.0}))
        qtbot.waitUntil(lambda: bool(plans), timeout=15000)
        qtbot.waitUntil(lambda: win.controls.threshold.value() == 10.0, timeout=5000)
        assert win.controls.plan_limit.isChecked() and win._applied.threshold_pct == 10.0
        assert "in force unless" in win.live.zone_legend.plan_line
        qtbot.waitUntil(lambda: bool(stops), timeout=30000)  # 15.6 % at rep 2: over the plan's 10 %, under 40 %
        assert stops[0].index == 2
        win.controls.threshold.setValue(30.0)  # typed by hand: the plan no longer sets it
        assert not win.controls.plan_limit.isChecked() and win._applied.threshold_pct == 30.0
        n = len(plans)
        qtbot.waitUntil(lambda: len(plans) > n, timeout=5000)  # the backend read the plan again
        assert win.controls.threshold.value() == 30.0
    finally:
        win.close()


def _stored_bands(home, set_id):
    with Store.open(home) as s:
        return s.accommodation(set_id)


def test_bands_in_the_method_box_use_the_set_field_validators(qtbot, tmp_path):
    ini = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(ini, home=tmp_path / "home", cue_player=CuePlayer(fallback=lambda _n: None, player=()))
    qtbot.addWidget(win)
    win.show()
    try:
        c = win.controls
        messages = []
        win.statusBar().messageChanged.connect(lambda m: messages.append(m))
        c.resistance.band_top.setValue(300.0)
        assert win._applied.band_top_n == 300.0 and win._applied.accommodation().approximate
        before = win._applied
        c.resistance.band_bottom.setValue(500.0)  # a band pulling harder at the bottom: refused, one line
        assert messages and "pulls harder at the top" in messages[-1] and "\n" not in messages[-1]
        assert win._applied == before and c.resistance.band_bottom.value() == 0.0
        c.resistance.chain.setValue(20.0)
        assert win._applied.analysis_config().accommodation.chain_kg_per_m == 20.0
        assert c.resistance.band_top.minimum() == 0.0  # a negative tension cannot be typed
    finally:
        win.close()


def test_no_plan_keeps_the_loss_colours(qtbot, tmp_path):
    ini = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(ini, home=tmp_path / "home", cue_player=CuePlayer(fallback=lambda _n: None, player=()))
    win.controls.set_settings(LiveSettings(athlete="bo", exercise="squat", load_kg=80.0, set_end_stillness_s=2.5))
    win._applied = win.controls.settings()
    qtbot.addWidget(win)
    win.show()
    try:
        calls = []
        win.bridge.rep.connect(lambda ev: calls.append(ev.payload.zone))
        script = _two_sets([0.70, 0.69], [0.70], ecc_first_s=1.5, ecc_second_s=1.5)
        win.start_session(demo=DemoOptions(protocol="native", seed=3, script=script, emulator_kwargs={"speed": 2.0}))
        # each connection of a queued signal is its own event: wait for both, the window's and ours
        qtbot.waitUntil(lambda: win.display.n_reps >= 1 and len(calls) >= 1, timeout=30000)
        assert calls[0] is None and not win.live.zone_legend.isVisible()
        assert win.live.velocity.value_colour() == theme.GOOD and "ZONE" not in win.live.velocity.footer()
    finally:
        win.close()
