"""The training method's cards on the live view: the side-to-side gap after the second side's set,
the retest reminder, and the Share button of the set on screen.

:class:`MethodCards` attaches itself to a :class:`gui.main_window.MainWindow` (one line there): it
adds its widgets to the live view and the set's end panel and listens to the window's bridge. All on
the GUI thread; the history reads (which retests are due; each side's profile when the two sides
lifted different loads) run on short-lived threads and come back through queued signals, so nothing
here waits on the disk.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

from gui import _pyside_fix  # noqa: F401  (must run before any Qt call; see its docstring)
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui import theme
from gui.share_card import SIDE  # the side-to-side gap: teal, neither the STOP red nor the day's violet
from vbt.dayrule import set_best
from vbt.share import ShareSet
from vbt.sides import SideSet, compare_sides

log = logging.getLogger(__name__)

SIDE_DARK = "#0b3430"
RETEST = "#ffd166"
RETEST_DARK = "#3a2f10"


class SideGapBanner(QWidget):
    """LEFT vs RIGHT: the gap between the two sides, shown when the second side's set ends; it stays
    until the next set starts."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet(f"SideGapBanner {{ background: {SIDE_DARK}; border: 6px solid {SIDE}; }}"
                           f"SideGapBanner QLabel {{ background: transparent; color: #ffffff; }}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 8, 22, 10)
        lay.setSpacing(2)
        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 44px; font-weight: 800;")
        self.detail = QLabel("")
        self.detail.setStyleSheet("font-size: 24px; font-weight: 600;")
        for label in (self.title, self.detail):
            label.setTextFormat(Qt.PlainText)
            label.setWordWrap(True)
            lay.addWidget(label)
        self.gap = None
        self.hide()

    def show_gap(self, exercise: str, gap) -> None:
        self.gap = gap
        if gap.compared:
            other = "left" if gap.slower_side == "right" else "right"
            who = (f"{gap.slower_side.upper()} SIDE {gap.gap_pct:.1f} % SLOWER than {other}" if gap.slower_side
                   else "LEFT = RIGHT: no gap")
            self.title.setText(who)
            how = "same load" if gap.basis == "same_load" else "each side carried along its own profile"
            at = "no load" if gap.load_kg is None else f"{gap.load_kg:g} kg"
            self.detail.setText(f"{exercise} · best rep left {gap.left_m_s:.2f} m/s · right {gap.right_m_s:.2f} m/s "
                                f"at {at} ({how})")
        else:
            self.title.setText("LEFT vs RIGHT: not compared")
            self.detail.setText(f"{exercise} · {gap.reason}")
        self.show()

    @property
    def text(self) -> str:
        return " — ".join(x.text() for x in (self.title, self.detail))


class RetestCard(QWidget):
    """A retest is due: which exercise, when the test was, and how to mark the retest."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet(f"RetestCard {{ background: {RETEST_DARK}; border: 3px solid {RETEST}; "
                           f"border-radius: 8px; }}"
                           f"RetestCard QLabel {{ background: transparent; color: {theme.TEXT}; }}")
        row = QHBoxLayout(self)
        row.setContentsMargins(18, 8, 12, 8)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title = QLabel("")
        self.title.setStyleSheet(f"font-size: 28px; font-weight: 800; color: {RETEST};")
        self.detail = QLabel("")
        self.detail.setStyleSheet("font-size: 19px;")
        for label in (self.title, self.detail):
            label.setTextFormat(Qt.PlainText)
            label.setWordWrap(True)
            texts.addWidget(label)
        row.addLayout(texts, 1)
        self.later = QPushButton("Later")
        self.later.setFocusPolicy(Qt.NoFocus)
        self.later.clicked.connect(self.hide)
        row.addWidget(self.later, 0, Qt.AlignVCenter)
        self.due: list = []
        self.hide()

    def show_due(self, due: list) -> None:
        self.due = list(due)
        if not due:
            self.hide()
            return
        first = due[0]
        more = f" (and {len(due) - 1} more)" if len(due) > 1 else ""
        self.title.setText(f"RETEST DUE · {first.exercise}{more}")
        test_day = datetime.fromtimestamp(first.test_unix_s).strftime("%a %d %b")
        self.detail.setText(f"{first.athlete}'s test was on {test_day} (session {first.test_session}), "
                            f"{first.days_since_test} days ago. Lift the test's loads again; then "
                            f"`vbt retest --exercise \"{first.exercise}\"` compares them.")
        self.show()

    @property
    def text(self) -> str:
        return " — ".join(x.text() for x in (self.title, self.detail))


class MethodCards(QObject):
    """The side gap, the retest reminder and the Share button, attached to ``window``."""

    retests_found = Signal(object, object)  # athlete, list of vbt.retest.RetestDue (from the reading thread)
    marked = Signal(str)  # what marking a test did, one line (from the writing thread)
    profiles_found = Signal(object)  # (set_seq, exercise, the two SideSets, left profile, right profile)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        live = window.live
        self.side_banner = SideGapBanner()
        self.retest_card = RetestCard()
        lay = live.layout()
        at = lay.indexOf(live.day_banner) + 1
        lay.insertWidget(at, self.side_banner, 0)
        lay.insertWidget(at + 1, self.retest_card, 0)
        panel = live.end_panel
        self.share_button = QPushButton("Share")
        self.share_button.setToolTip("write one image of this set for a phone (1080 px) and copy it to the clipboard")
        self.share_button.setFocusPolicy(Qt.NoFocus)
        self.share_button.clicked.connect(self.share)
        row = next(lay_ for lay_ in _layouts(panel) if lay_.indexOf(panel.save) >= 0)
        row.insertWidget(row.indexOf(panel.save) + 1, self.share_button)
        self.test_button = QPushButton("Test set")
        self.test_button.setCheckable(True)
        self.test_button.setToolTip("mark this set as a test: a retest four weeks on is compared with it")
        self.test_button.setFocusPolicy(Qt.NoFocus)
        self.test_button.clicked.connect(self.mark_test)
        row.insertWidget(row.indexOf(self.share_button) + 1, self.test_button)
        self.sets: list[tuple] = []  # (athlete, exercise, SideSet, when) of this run's finished sets
        self.gaps: list = []  # SideGaps shown (tests, log)
        self._ended: dict[int, object] = {}  # set_seq -> the set_end payload
        self._gap_of: dict[int, object] = {}  # set_seq -> the side gap its end showed
        self._retest_athlete = None
        self.shared: list[str] = []  # paths of the share images written
        b = window.bridge
        b.set_end.connect(self._on_set_end)
        b.rep.connect(self._on_rep)
        window.controls.settings_changed.connect(lambda s: self.check_retests(s.athlete))
        self.retests_found.connect(self._on_retests, Qt.QueuedConnection)
        self.marked.connect(window.show_message, Qt.QueuedConnection)
        self.profiles_found.connect(self._on_profiles, Qt.QueuedConnection)
        self.tests_marked: list[tuple[int, bool]] = []  # (set id, test) written (tests, log)

    # ---- sides ---------------------------------------------------------------------------------
    def _on_set_end(self, ev) -> None:
        w = self.window
        info = w._set_infos.get(ev.set_seq)
        if info is None:
            return
        self._ended[ev.set_seq] = ev.payload
        result = ev.payload.result
        best = set_best(result.reps, result.metric)
        if best is None or info.side not in ("left", "right"):
            return
        day = getattr(ev.payload, "day", None)
        if day is not None and day.basis == "warmup":
            return
        key = ((info.athlete or "").casefold(), (info.exercise or "").casefold())
        this = SideSet(info.side, info.load_kg, best, w._set_ids.get(ev.set_seq))
        other = [s for k, s, when in self.sets if k == key and s.side != info.side
                 and when.date() == datetime.now().date()]
        self.sets.append((key, this, datetime.now()))
        if not other:
            return  # the first side: the gap comes when the other side's set ends
        pair = [other[-1], this]
        gap = compare_sides(pair)
        if gap.basis == "none" and gap.left_load_kg is not None and gap.right_load_kg is not None:
            # different loads: each side's own profile is read from the history on a short-lived thread
            self._show_gap(ev.set_seq, info.exercise, gap)
            self._profiles_for(ev.set_seq, info.athlete, info.exercise, result.metric, pair)
            return
        self._show_gap(ev.set_seq, info.exercise, gap)

    def _show_gap(self, seq: int, exercise: str, gap) -> None:
        self.gaps.append(gap)
        self._gap_of[seq] = gap
        log.info("sides, %s: %s", exercise, gap.line())
        self.side_banner.show_gap(exercise, gap)

    def _profiles_for(self, seq: int, athlete: str, exercise: str, metric: str, pair) -> None:
        home = self.window.home

        def work():
            from vbt.profile import ProfileError
            from vbt.store import Store, StoreError

            profiles = {}
            try:
                with Store.open(home, recover=False) as store:
                    for side in ("left", "right"):
                        try:
                            profiles[side] = store.load_velocity_profile(exercise, athlete=athlete, metric=metric,
                                                                         side=side)
                        except (ProfileError, StoreError):
                            profiles[side] = None
            except StoreError:
                pass
            except Exception:  # noqa: BLE001 - a banner must never break the dashboard
                log.exception("side profiles failed")
            self.profiles_found.emit((seq, exercise, pair, profiles.get("left"), profiles.get("right")))

        threading.Thread(target=work, name="vbt-side-profiles", daemon=True).start()

    def _on_profiles(self, found) -> None:
        seq, exercise, pair, left, right = found
        if self._gap_of.get(seq) is not (self.gaps[-1] if self.gaps else None):
            return  # another gap has been shown since
        gap = compare_sides(pair, left, right)
        if gap.basis == "profile":
            self._show_gap(seq, exercise, gap)

    def _on_rep(self, _ev) -> None:
        if self.window.display.n_reps == 1:  # a new set has begun: the gap was read
            self.side_banner.hide()
            self.test_button.setChecked(False)

    # ---- marking a test ------------------------------------------------------------------------
    def mark_test(self, test: bool | None = None) -> bool:
        """Mark (or unmark) the set on screen as a test, on a short-lived writing thread."""
        w = self.window
        test = self.test_button.isChecked() if test is None else bool(test)
        self.test_button.setChecked(test)
        set_id = w._set_ids.get(w._shown_seq) if w._shown_seq is not None else None
        if set_id is None:
            self.test_button.setChecked(False)
            w.show_message("no saved set on screen to mark as a test yet")
            return False
        home = w.home

        def work():
            from vbt.store import Store, StoreError

            try:
                with Store.open(home, recover=False) as store:
                    store.mark_test(set_id=set_id, test=test)
                self.tests_marked.append((set_id, test))
                self.marked.emit(f"set {set_id} {'marked as a test' if test else 'no longer a test'}")
            except StoreError as exc:
                self.marked.emit(f"could not mark set {set_id}: {exc}")

        threading.Thread(target=work, name="vbt-mark-test", daemon=True).start()
        return True

    # ---- retests -------------------------------------------------------------------------------
    def check_retests(self, athlete: str) -> None:
        """Ask the history, on a short-lived thread, which of ``athlete``'s retests are due."""
        if not athlete or athlete == self._retest_athlete:
            return
        self._retest_athlete = athlete
        home = self.window.home

        def work():
            from vbt.retest import due_retests
            from vbt.store import Store, StoreError

            try:
                with Store.open(home, recover=False) as store:
                    due = due_retests(store, athlete=athlete)
            except StoreError:
                due = []  # no such athlete yet, or no readable history: nothing is due
            except Exception:  # noqa: BLE001 - a reminder must never break the dashboard
                log.exception("retest check failed")
                due = []
            self.retests_found.emit(athlete, due)

        threading.Thread(target=work, name="vbt-retest-check", daemon=True).start()

    def _on_retests(self, athlete, due) -> None:
        if athlete != self._retest_athlete:
            return  # the athlete changed meanwhile
        self.retest_card.show_due(due)

    # ---- share ---------------------------------------------------------------------------------
    def share_set(self) -> ShareSet | None:
        """The set on screen as the share card shows it (None before the first set ends)."""
        w = self.window
        d = w.display
        seq = w._shown_seq
        if seq is None or d.result is None or not d.result.reps:
            return None
        info = w._set_infos.get(seq)
        payload = self._ended.get(seq)
        r = d.result
        tempo = getattr(payload, "tempo", None)
        day = getattr(payload, "day", None)
        panel = w.live.end_panel
        note = panel.note.text().strip() or None
        day_line = None
        if day is not None and day.basis not in ("warmup", "first", "none") and day.ratio_pct is not None:
            how = "same load" if day.basis == "same_load" else "profile"
            day_line = (f"{'DONE FOR TODAY' if day.done else 'day'}: {day.ratio_pct:.0f} % of "
                        f"{day.reference_m_s:.2f} m/s ({how})")
        elif day is not None and day.basis == "first":
            day_line = "sets the day's best"
        return ShareSet(
            athlete=info.athlete, exercise=info.exercise,
            when_unix_s=(info.when or datetime.now()).timestamp(), load_kg=info.load_kg, side=info.side,
            metric=r.metric, threshold_pct=r.velocity_loss_threshold_pct,
            velocities_m_s=tuple(rep.velocity(r.metric) for rep in r.reps),
            losses_pct=tuple(rep.velocity_loss_pct for rep in r.reps), doubtful=tuple(rep.doubtful for rep in r.reps),
            best_rep=r.best_rep, stop_rep=r.stop_rep, tempo_marks=tuple(info.tempo_marks),
            tempo_line=None if tempo is None else f"tempo {tempo.tempo.label()} kept {tempo.kept}/{tempo.judged}",
            day_done=bool(day is not None and day.done), day_line=day_line,
            warmup=bool(day is not None and day.basis == "warmup"), rpe=panel.rpe, note=note,
            set_id=w._set_ids.get(seq), set_number=info.set_number, warning_margin_pct=info.warning_margin_pct,
            side_line=self._gap_of[seq].line() if seq in self._gap_of else None)

    def share(self, path: str | None = None) -> str | None:
        """Write the set on screen as the phone image (rendered here, written on the saver's thread)
        and put it on the clipboard."""
        from gui.share_card import render_share

        w = self.window
        s = self.share_set()
        if s is None:
            w.show_message("no finished set to share yet")
            return None
        image = render_share([s])
        if not path:
            stamp = datetime.fromtimestamp(s.when_unix_s).strftime("%Y%m%d-%H%M%S")
            path = os.path.join(w.summary_dir, f"share-{stamp}-{s.exercise.replace(' ', '-')}.png")
        QApplication.clipboard().setImage(image)
        w.saver.save(image, path)
        self.shared.append(path)
        w.show_message(f"share image on the clipboard; writing {path}")
        return path


def _layouts(widget):
    """Every layout inside a widget's own layout (depth first)."""
    stack = [widget.layout()]
    while stack:
        lay = stack.pop()
        if lay is None:
            continue
        yield lay
        for i in range(lay.count()):
            child = lay.itemAt(i).layout()
            if child is not None:
                stack.append(child)
