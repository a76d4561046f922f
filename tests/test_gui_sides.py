"""The dashboard's method cards: the side-to-side gap when the second side's set ends, the retest
reminder, and the Share button. A scripted emulator on a real pty, the real reader and tracker, the
real window on Qt's offscreen platform, a real SQLite file; screenshots looked at (VBT_SHOTS=DIR keeps
them; docs/ holds the ones we looked at)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pathlib  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from gui import theme  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.session import DemoOptions, LiveSettings  # noqa: E402
from gui.sound import CuePlayer  # noqa: E402
from gui.state import ENDED  # noqa: E402
from tests.test_method import _two_sets  # noqa: E402
from vbt.results import Rep  # noqa: E402
from vbt.store import Store  # noqa: E402

SHOTS = os.environ.get("VBT_SHOTS")


@pytest.fixture(autouse=True)
def _app_theme(qapp):
    theme.apply(qapp)


def _window(qtbot, tmp_path, settings: LiveSettings):
    ini = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(ini, home=tmp_path / "home", cue_player=CuePlayer(fallback=lambda _n: None, player=()))
    win.controls.set_settings(settings)
    win._applied = win.controls.settings()
    win.summary_dir = str(tmp_path / "pictures")
    win.resize(1600, 900)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_side_gap_banner_after_the_second_side_and_share(qtbot, tmp_path):
    shots = pathlib.Path(SHOTS) if SHOTS else tmp_path
    win = _window(qtbot, tmp_path, LiveSettings(athlete="ana", exercise="single-leg Romanian deadlift", load_kg=60.0,
                                                side="left", set_end_stillness_s=2.5))
    ended, days = [], []
    win.bridge.set_end.connect(lambda ev: ended.append(ev.payload))
    win.bridge.day_done.connect(lambda ev: days.append(ev.payload))
    # left at 60 kg: best 0.70 m/s; then right at 60 kg: best 0.62 m/s (11.4 % slower)
    script = _two_sets([0.70, 0.69, 0.68], [0.62, 0.61, 0.60], ecc_first_s=1.5, ecc_second_s=1.5, rest_s=7.0)
    win.start_session(demo=DemoOptions(protocol="native", seed=11, script=script, emulator_kwargs={"speed": 2.0}))
    cards = win.method_cards

    qtbot.waitUntil(lambda: len(ended) == 1, timeout=30000)
    assert not cards.side_banner.isVisible() and cards.gaps == []  # one side only: nothing to compare yet
    win.controls.side.setCurrentText("right")  # the lifter turns round
    qtbot.waitUntil(lambda: win.session.settings.side == "right", timeout=3000)

    qtbot.waitUntil(lambda: len(ended) == 2, timeout=30000)
    (gap,) = cards.gaps
    assert gap.basis == "same_load" and gap.load_kg == 60.0 and gap.slower_side == "right"
    assert gap.gap_pct == pytest.approx(100 * (0.70 - 0.62) / 0.70, abs=1.5)
    banner = cards.side_banner
    assert banner.isVisible() and banner.text.startswith("RIGHT SIDE 1") and "% SLOWER than left" in banner.text
    assert "single-leg Romanian deadlift · best rep left 0.70 m/s · right 0.62 m/s at 60 kg (same load)" in banner.text
    # the right side is judged against its own day, not against the left side's best
    assert days == [] and ended[1].day.basis == "first"
    qtbot.waitUntil(lambda: win.display.phase == ENDED, timeout=5000)
    win.live.end_panel.set_rpe(8)
    win.grab().save(str(shots / "side-gap.png"))

    # Share: the set on screen as the phone image, on the clipboard and in the pictures folder
    path = cards.share()
    win.saver.join()
    image = QImage(path)
    assert image.width() == 1080 and image.height() >= 1350
    assert pathlib.Path(path).name.startswith("share-") and "single-leg" in path
    s = cards.share_set()
    assert s.side == "right" and s.rpe == 8 and s.day_line == "sets the day's best" and s.n_reps == 3
    assert s.side_line == gap.line() and "right" in s.side_line and "% slower (same load)" in s.side_line
    if SHOTS:
        image.save(str(shots / "share-from-dashboard.png"))
    qtbot.waitUntil(lambda: 1 in win._set_ids and 2 in win._set_ids, timeout=5000)
    cards.test_button.click()  # this set is a test: a retest in four weeks is compared with it
    qtbot.waitUntil(lambda: cards.tests_marked == [(win._set_ids[2], True)], timeout=10000)
    win.close()
    with Store.open(tmp_path / "home") as store:
        records = [store.get_set(win._set_ids[k]) for k in (1, 2)]
    assert [r.side for r in records] == ["left", "right"] and [r.is_test for r in records] == [False, True]


def test_side_gap_at_different_loads_along_each_sides_profile(qtbot, tmp_path):
    """Left at 60 kg, right at 65 kg: the banner first says why it cannot compare at once, then each
    side's profile (read from last week's sets on a thread) carries both to 62.5 kg."""
    import time

    week_ago = time.time() - 7 * 86400.0
    with Store.open(tmp_path / "home") as store:  # last week: left v = 1.30 - 0.010 load, right 10 % slower
        for k, (side, load) in enumerate([("left", 50.0), ("left", 70.0), ("right", 50.0), ("right", 70.0)]):
            v = (1.30 - 0.010 * load) * (0.9 if side == "right" else 1.0)
            store.add_set([_rep(1, v)], exercise="single-leg RDL", athlete="ana", load_kg=load, side=side,
                          started_at_unix_s=week_ago + 300 * k)
    win = _window(qtbot, tmp_path, LiveSettings(athlete="ana", exercise="single-leg Romanian deadlift", load_kg=60.0,
                                                side="left", set_end_stillness_s=2.5))
    ended = []
    win.bridge.set_end.connect(lambda ev: ended.append(ev.payload))
    # left 60 kg at 0.70 (its line), right 65 kg at 0.585 (its line: 0.9 x 0.65)
    script = _two_sets([0.70, 0.69], [0.585, 0.58], ecc_first_s=1.5, ecc_second_s=1.5, rest_s=7.0)
    win.start_session(demo=DemoOptions(protocol="native", seed=12, script=script, emulator_kwargs={"speed": 2.0}))
    cards = win.method_cards
    qtbot.waitUntil(lambda: len(ended) == 1, timeout=30000)
    win.controls.side.setCurrentText("right")
    win.controls.load.setValue(65.0)
    qtbot.waitUntil(lambda: win.session.settings.load_kg == 65.0 and win.session.settings.side == "right",
                    timeout=3000)
    qtbot.waitUntil(lambda: len(cards.gaps) == 2, timeout=40000)
    first, gap = cards.gaps
    assert first.basis == "none" and "load-velocity profile: lift the same load" in first.reason
    assert gap.basis == "profile" and gap.load_kg == 62.5 and (gap.left_load_kg, gap.right_load_kg) == (60.0, 65.0)
    assert gap.left_m_s == pytest.approx(1.30 - 0.625, abs=0.015)
    assert gap.right_m_s == pytest.approx(0.9 * (1.30 - 0.625), abs=0.015)
    assert gap.slower_side == "right" and gap.gap_pct == pytest.approx(10.0, abs=2.0)
    assert "each side carried along its own profile" in cards.side_banner.text
    win.close()


def _rep(i, v):
    return Rep(index=i, concentric_start_s=4.0 * i, concentric_end_s=4.0 * i + 0.5, mean_velocity_m_s=v,
               mean_propulsive_velocity_m_s=v, peak_velocity_m_s=v * 1.5, rom_m=0.45, time_to_peak_velocity_s=0.2,
               concentric_duration_s=0.45 / v)


def test_retest_card_when_a_test_is_four_weeks_old(qtbot, tmp_path):
    import time

    shots = pathlib.Path(SHOTS) if SHOTS else tmp_path
    test_day = time.time() - 30 * 86400.0
    with Store.open(tmp_path / "home") as store:
        ids = [store.add_set([_rep(1, v)], exercise="squat", athlete="ana", load_kg=load,
                             started_at_unix_s=test_day + 300 * k)
               for k, (load, v) in enumerate(((60.0, 0.92), (100.0, 0.60), (140.0, 0.28)))]
        session = store.get_set(ids[0]).session_id
        store.mark_test(session_id=session)
        # another athlete's test of yesterday is not due, and not hers
        store.add_set([_rep(1, 0.6)], exercise="bench press", athlete="ben", load_kg=60.0,
                      started_at_unix_s=time.time() - 86400.0)
    win = _window(qtbot, tmp_path, LiveSettings(athlete="ana", exercise="squat", load_kg=100.0))
    card = win.method_cards.retest_card
    win.method_cards._retest_athlete = None
    win.method_cards.check_retests("ana")
    qtbot.waitUntil(lambda: card.isVisible(), timeout=10000)
    assert card.text.startswith("RETEST DUE · squat — ana's test was on")
    assert f"(session {session}), 30 days ago" in card.text and 'vbt retest --exercise "squat"' in card.text
    win.grab().save(str(shots / "retest-card.png"))
    win.controls.athlete.setEditText("ben")  # someone else at the rack: no reminder for them
    win.method_cards.check_retests("ben")
    qtbot.waitUntil(lambda: not card.isVisible(), timeout=10000)
    win.method_cards.check_retests("ana")
    qtbot.waitUntil(lambda: card.isVisible(), timeout=10000)
    card.later.click()
    assert not card.isVisible()
    win.close()
