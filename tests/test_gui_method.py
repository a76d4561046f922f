"""The training method in the dashboard: done for the day (banner, chime, stored), a tempo miss
(soft cue, mark on its bar, count in the summary), RPE with one key press. A scripted emulator on a
real pty, the real reader and tracker, the real window on Qt's offscreen platform, a real SQLite file."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pathlib  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from gui import theme  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.session import DemoOptions, LiveSettings  # noqa: E402
from gui.sound import CuePlayer  # noqa: E402
from gui.state import ENDED  # noqa: E402
from tests.test_method import _two_sets  # noqa: E402
from vbt.store import Store  # noqa: E402

# Screenshots go to the test's directory; VBT_SHOTS=DIR keeps them (docs/ holds the ones we looked at).
SHOTS = os.environ.get("VBT_SHOTS")


@pytest.fixture(autouse=True)
def _app_theme(qapp):
    theme.apply(qapp)


@pytest.fixture
def window(qtbot, tmp_path):
    ini = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(ini, home=tmp_path / "home", cue_player=CuePlayer(fallback=lambda _n: None, player=()))
    win.controls.set_settings(LiveSettings(athlete="ana", exercise="squat", load_kg=100.0, set_end_stillness_s=2.5,
                                           tempo="1.2:0", tempo_margin_s=0.3))
    win._applied = win.controls.settings()
    win.resize(1600, 900)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_day_done_banner_tempo_mark_and_rpe_key(qtbot, window, tmp_path):
    win = window
    shots = pathlib.Path(SHOTS) if SHOTS else tmp_path
    days, ended = [], []
    win.bridge.day_done.connect(lambda ev: days.append(ev.payload))
    win.bridge.set_end.connect(lambda ev: ended.append(ev.payload))
    # set 1 at 100 kg: eccentrics 1.5 s (tempo kept); set 2 at 100 kg, ~83 % of set 1: rep 2 comes down in 0.6 s
    script = _two_sets([0.70, 0.69, 0.68], [0.58, 0.57, 0.56], ecc_first_s=1.5, ecc_second_s=[1.5, 0.6, 1.5],
                       rest_s=6.0)
    win.start_session(demo=DemoOptions(protocol="native", seed=11, script=script, emulator_kwargs={"speed": 2.0}))

    qtbot.waitUntil(lambda: len(ended) == 1, timeout=30000)
    assert ended[0].day.basis == "first" and ended[0].tempo.kept == 3
    assert not win.live.day_banner.isVisible() and win.tempo_misses == []
    assert "tempo 1.2:0: 3 of 3 reps kept" in win.live.end_panel.summary.text()
    win.activateWindow()
    qtbot.keyClick(win, Qt.Key_7)  # RPE 7: one key press at the rack
    assert win.live.end_panel.rpe == 7

    qtbot.waitUntil(lambda: win.display.n_reps >= 2 and win.display.set_number == 2, timeout=20000)
    qtbot.waitUntil(lambda: win.tempo_misses == [2], timeout=3000)
    assert win.live.bars.tempo_marks == (2,)
    assert win.live.bars._tempo_labels[1].isVisible() and not win.live.bars._tempo_labels[0].isVisible()
    assert "TEMPO" in win.live.velocity.footer() and "target 1.2 s" in win.live.velocity.footer()
    assert "tempo" in win.cues.played
    win.grab().save(str(shots / "tempo-mark.png"))
    qtbot.waitUntil(lambda: win.display.n_reps == 3, timeout=10000)

    qtbot.waitUntil(lambda: len(days) == 1, timeout=15000)
    (done,) = days
    assert done.exercise == "squat" and done.athlete == "ana"
    v = done.verdict
    assert v.done and v.basis == "same_load" and v.ratio_pct == pytest.approx(100 * 0.58 / 0.70, abs=1.5)
    banner = win.live.day_banner
    assert banner.isVisible() and "DONE FOR TODAY · squat" in banner.text
    assert "day's best 0.70 m/s at 100 kg" in banner.text and "0.70 → 0.58" in banner.text
    assert not win.overlay.isVisible()  # not the set's STOP: no stop in this set
    assert win.cues.played.count("day_done") == 1 and "stop" not in win.cues.played
    qtbot.waitUntil(lambda: win.display.phase == ENDED, timeout=5000)
    text = win.live.end_panel.summary.text()
    assert "tempo 1.2:0: 2 of 3 reps kept" in text and "DONE FOR TODAY" in text
    qtbot.keyClick(win, Qt.Key_0)  # RPE 10
    assert win.live.end_panel.rpe == 10
    win.grab().save(str(shots / "day-done.png"))
    card = win.summary_card()
    assert "2 of 3 reps kept" in card.info.method and card.bars.tempo_marks == (2,)
    card.deleteLater()

    qtbot.waitUntil(lambda: 1 in win._set_ids and 2 in win._set_ids, timeout=5000)
    ids = win._set_ids[1], win._set_ids[2]
    qtbot.waitUntil(lambda: _stored(tmp_path, ids[1]).rpe == 10, timeout=5000)
    win.history.mark_stale()
    win.close()
    first, second = _stored(tmp_path, ids[0]), _stored(tmp_path, ids[1])
    assert first.rpe == 7 and first.day_basis == "first" and first.tempo_line() == "tempo 1.2:0 kept 3/3"
    assert second.day_done and second.day_basis == "same_load" and second.tempo_kept == 2
    assert second.day_line().startswith("DONE FOR TODAY: 8")


def _stored(tmp_path, set_id):
    with Store.open(tmp_path / "home") as store:
        return store.get_set(set_id)


def test_bad_tempo_in_the_dashboard_is_one_line_and_changes_nothing(qtbot, window):
    win = window
    before = win.controls.settings()
    messages = []
    win.statusBar().messageChanged.connect(lambda m: messages.append(m))
    for bad in ("0", "60"):
        win.controls.tempo.setText(bad)
        win.controls.tempo.editingFinished.emit()
        assert messages and "tempo" in messages[-1] and "\n" not in messages[-1]
        assert win.controls.tempo.text() == "1.2:0" and win.controls.settings() == before
