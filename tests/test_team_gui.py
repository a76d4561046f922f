"""The history view on the team server (`vbt gui --team`): every athlete from every rack, read through
the same view, on Qt's offscreen platform with a real PostgreSQL."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")
if not os.environ.get("CI"):
    pytest.importorskip("psycopg")

from PySide6.QtCore import Qt  # noqa: E402

from gui.history_view import HistoryView  # noqa: E402
from tests.team_helpers import add_sets, new_team  # noqa: E402
from vbt.store import Store  # noqa: E402
from vbt.team.sync import SyncWorker  # noqa: E402


def test_history_view_shows_every_racks_athletes_from_the_team_server(qtbot, pg_server, tmp_path):
    team = new_team(pg_server)
    for name, url, athlete in (("a", team.rack1_url, "ana"), ("b", team.rack2_url, "ben")):
        with Store(tmp_path / name / "history.sqlite3") as rack:
            add_sets(rack, 2, athlete=athlete, trace_s=1.0)
            worker = SyncWorker(url, path=rack.path)
            try:
                assert worker.sync_once() == 2
            finally:
                worker._close()
    view = HistoryView(home=tmp_path / "coach-home")
    qtbot.addWidget(view)
    view.use_team(team.coach_url)
    view.show()
    qtbot.waitUntil(lambda: view.tree.topLevelItemCount() == 2, timeout=15000)
    texts = [view.tree.topLevelItem(i).text(0) for i in range(2)]
    assert any("ana" in t for t in texts) and any("ben" in t for t in texts)
    assert all("2 sets · 6 reps" in t for t in texts)
    qtbot.waitUntil(lambda: view.tree.topLevelItem(0).childCount() == 2, timeout=15000)  # the newest's sets
    assert view.tree.topLevelItem(0).child(0).data(0, Qt.UserRole) is not None
    assert not (tmp_path / "coach-home" / "history.sqlite3").exists()  # nothing local was opened
    view.loader.close()
