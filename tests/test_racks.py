"""The weight room: several racks in one real window, each on its own emulated transducer on a real pty,
through the real reader, tracker and history recorder; one rack's cable pulled while the others lift."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from firmware_bridge.emulator import Emulator  # noqa: E402
from gui import theme  # noqa: E402
from gui.app import parse_rack  # noqa: E402
from gui.demo import scripted_sets  # noqa: E402
from gui.rack_tiles import DEVICE_LOST, DEVICE_OK, DEVICE_STOPPED  # noqa: E402
from gui.racks import EMULATED, RackSpec, RackWindow  # noqa: E402
from gui.session import LiveSettings  # noqa: E402
from gui.sound import CuePlayer  # noqa: E402
from vbt.store import Store  # noqa: E402

FAST = dict(rom_m=0.40, lead_in_s=0.5, eccentric_s=0.5, lockout_s=0.35)
SETTINGS = LiveSettings(set_end_stillness_s=1.2)


@pytest.fixture(autouse=True)
def _app_theme(qapp):
    theme.apply(qapp)


@pytest.fixture
def room(qtbot, tmp_path, emulator_dir):
    made = {"emulators": [], "windows": []}

    def emulator(sets, rest_s=8.0, seed=1):
        emu = Emulator("native", seed=seed, script=scripted_sets(sets, rest_s=rest_s, **FAST))
        emu.start()
        made["emulators"].append(emu)
        return emu

    def window():
        win = RackWindow(home=tmp_path / "home", cue_player=CuePlayer(fallback=lambda _n: None, player=()))
        win.resize(1280, 800)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        made["windows"].append(win)
        return win

    yield emulator, window
    for win in made["windows"]:
        win.close()
    for emu in made["emulators"]:
        emu.stop()


def reps_of(win):
    return [r.display.n_reps for r in win.racks]


def test_racks_count_their_own_reps_and_a_pulled_cable_disturbs_only_its_rack(qtbot, room, tmp_path):
    emulator, window = room
    a = emulator([[0.80, 0.79, 0.78, 0.77, 0.77, 0.76, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70]], seed=1)
    b = emulator([[0.60, 0.59, 0.58], [0.62, 0.60, 0.58]], rest_s=9.0, seed=2)
    c = emulator([[1.00, 0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.90, 0.89]], seed=3)
    win = window()
    for emu, who, what in ((a, "Ana", "squat"), (b, "Ben", "bench press"), (c, "Chloé", "deadlift")):
        win.add_rack(RackSpec(emu.port, who, what, protocol="native", settings=SETTINGS))
    # (the first start may compile the analysis kernels, in three workers at once)
    qtbot.waitUntil(lambda: all(r.device == DEVICE_OK for r in win.racks), timeout=120000)
    assert "3 racks" in win.summary.text()

    # B finishes its first set; then its cable is pulled while A and C are mid-set
    rack_a, rack_b, rack_c = win.racks
    qtbot.waitUntil(lambda: rack_b.display.phase == "ended", timeout=30000)
    assert rack_b.display.n_reps == 3
    before = (rack_a.display.n_reps, rack_c.display.n_reps)
    assert before[0] < 12 and before[1] < 12, "A and C must still be lifting when B's cable is pulled"
    b.unplug()
    qtbot.waitUntil(lambda: rack_b.device == DEVICE_LOST, timeout=5000)
    assert "check the cable" in rack_b.tile().device_text and "device problem" in win.summary.text()
    # the others keep counting while B is unplugged
    qtbot.waitUntil(lambda: rack_a.display.n_reps > before[0] and rack_c.display.n_reps > before[1], timeout=6000)
    assert rack_a.device == DEVICE_OK and rack_c.device == DEVICE_OK
    grab = win.grab()
    b.plug(power_cycle=False)  # the same cable back in: the same port path
    qtbot.waitUntil(lambda: rack_b.device == DEVICE_OK, timeout=10000)
    assert "reconnected" in rack_b.tile().device_text

    # every tile ends with its own rack's reps; B's second set came after the reconnect
    qtbot.waitUntil(lambda: rack_a.display.n_reps == 12 and rack_c.display.n_reps == 12, timeout=60000)
    qtbot.waitUntil(lambda: rack_b.display.set_number == 2 and rack_b.display.n_reps == 3, timeout=60000)
    # (each tile hears its rack's reps by a connection of its own, posted a moment after the view's)
    qtbot.waitUntil(lambda: [t.reps for t in win.grid.tiles] == [12, 3, 12], timeout=5000)
    tiles = win.grid.tiles
    assert [t.athlete for t in tiles] == ["Ana", "Ben", "Chloé"]
    assert tiles[0].velocity_text == f"{rack_a.display.last.velocity_m_s:.2f}"
    assert abs(rack_a.display.last.velocity_m_s - 0.70) < 0.03 and abs(rack_c.display.last.velocity_m_s - 0.89) < 0.03
    # every rep reached the screen: one latency per rep painted on each tile
    assert len(win.grid.rep_latencies_s["Rack 1"]) == 12 and len(win.grid.rep_latencies_s["Rack 3"]) == 12
    assert grab.width() > 0

    # the sets are in the history with their rack's athlete and exercise
    for rack in win.racks:
        rack.window.end_or_next_set()
    win.close()
    with Store.open(tmp_path / "home") as store:
        got = sorted((s.athlete, s.exercise, s.n_reps) for s in store.sets())
    assert got == [("Ana", "squat", 12), ("Ben", "bench press", 3), ("Ben", "bench press", 3),
                   ("Chloé", "deadlift", 12)]


def test_one_rack_full_size_and_back(qtbot, room):
    emulator, window = room
    a = emulator([[0.70, 0.68, 0.66, 0.64]], seed=4)
    win = window()
    win.add_rack(RackSpec(a.port, "Ana", "squat", protocol="native", settings=SETTINGS))
    win.add_rack(RackSpec(EMULATED, "Ben", "bench press", protocol="native"))
    rack = win.racks[0]
    qtbot.waitUntil(lambda: rack.display.n_reps >= 2, timeout=120000)
    assert win.stack.currentWidget() is win.overview
    assert not rack.window.isVisible() and not rack.window.frame_timer.isActive()

    # a click on the first tile opens that rack's own dashboard, full size
    centre = win.grid.tile_rect(0).center().toPoint()
    qtbot.mouseClick(win.grid, Qt.LeftButton, pos=centre)
    assert win.opened is rack and win.stack.currentWidget() is win.single
    assert rack.window.isVisible() and rack.window.frame_timer.isActive()
    assert "Ana" in win.rack_title.text() and "squat" in win.rack_title.text()
    qtbot.waitUntil(lambda: rack.window.live.traces.drawn_t_s is not None, timeout=3000)
    qtbot.waitUntil(lambda: rack.display.n_reps == 4, timeout=20000)
    assert float(rack.window.live.velocity.value()) == pytest.approx(rack.display.last.velocity_m_s, abs=0.005)
    assert rack.window.live.reps.value() == "4"

    # Backspace: back to every rack; the tile shows what the full view showed
    qtbot.keyClick(rack.window.live, Qt.Key_Backspace)
    assert win.stack.currentWidget() is win.overview and win.opened is None
    assert not rack.window.frame_timer.isActive()
    qtbot.waitUntil(lambda: win.grid.tiles[0].reps == 4, timeout=5000)
    # the number key opens a rack too
    qtbot.keyClick(win.grid, Qt.Key_2)
    assert win.opened is win.racks[1]
    win.show_overview()

    # a rack removed: its tile goes, the other keeps running
    win.remove_rack(win.racks[1])
    assert len(win.racks) == 1 and len(win.grid.tiles) == 1 and "1 rack" in win.summary.text()


def test_add_rack_dialog_lists_only_free_transducers(qtbot, room):
    emulator, window = room
    used = emulator([[0.7]], seed=5)
    free = emulator([[0.7]], seed=6)
    win = window()
    win.add_rack(RackSpec(used.port, "Ana", "squat", protocol="native", settings=SETTINGS))
    win.ask_add_rack()
    box = win.dialog
    qtbot.waitUntil(lambda: "answered" in box.status.text() or "no free" in box.status.text(), timeout=15000)
    ports = [box.port.itemData(i).port.device for i in range(1, box.port.count())]
    assert ports == [free.port]
    box.athlete.setCurrentText("  ")  # no name: refused with one line, nothing added
    box.buttons.button(QDialogButtonBox.Ok).click()
    assert "athlete" in box.problem.text() and len(win.racks) == 1
    box.athlete.setCurrentText("Dan")
    box.exercise.setCurrentText("deadlift")
    box.buttons.button(QDialogButtonBox.Ok).click()
    assert len(win.racks) == 2
    rack = win.racks[1]
    assert rack.spec.port == free.port and rack.window.controls.settings().athlete == "Dan"
    qtbot.waitUntil(lambda: rack.device == DEVICE_OK, timeout=60000)


def test_rack_option_parsing():
    spec = parse_rack("/dev/ttyACM0,Ana,front squat")
    assert (spec.port, spec.athlete, spec.exercise) == ("/dev/ttyACM0", "Ana", "front squat")
    assert parse_rack("/dev/ttyACM1").athlete == "default"
    with pytest.raises(ValueError, match="expected PORT"):
        parse_rack(",Ana")
    with pytest.raises(ValueError, match="expected PORT"):
        parse_rack("a,b,c,d")


def _open_files(pid: int) -> set[str]:
    names = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            names.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return names


def test_each_rack_runs_in_its_own_process_and_a_killed_one_stops_only_its_tile(qtbot, room, tmp_path):
    import signal

    emulator, window = room
    a = emulator([[0.80, 0.78, 0.76, 0.74, 0.72, 0.70], [0.79, 0.77, 0.75, 0.73]], rest_s=4.0, seed=11)
    b = emulator([[0.60, 0.58, 0.56], [0.61, 0.59, 0.57]], rest_s=30.0, seed=12)
    c = emulator([[0.95, 0.93, 0.91, 0.89, 0.87, 0.85, 0.83, 0.81, 0.79, 0.77]], seed=13)
    win = window()
    for emu, who, what in ((a, "Ana", "squat"), (b, "Ben", "bench press"), (c, "Chloé", "deadlift")):
        win.add_rack(RackSpec(emu.port, who, what, protocol="native", settings=SETTINGS))
    qtbot.waitUntil(lambda: all(r.device == DEVICE_OK for r in win.racks), timeout=120000)
    rack_a, rack_b, rack_c = win.racks

    # three worker processes, none of them this one; each has its own rack's port open, this one none
    pids = [r.session.pid for r in win.racks]
    assert len(set(pids)) == 3 and os.getpid() not in pids
    for rack, emu in zip(win.racks, (a, b, c)):
        with open(f"/proc/{rack.session.pid}/maps") as f:
            assert "libQt6" not in f.read(), "a rack's worker process must not load Qt"
        pty = os.path.realpath(emu.port)
        assert pty in _open_files(rack.session.pid)
        others = [r.session.pid for r in win.racks if r is not rack]
        assert all(pty not in _open_files(pid) for pid in others)

    # B's first set is recorded; then its worker process is killed during the rest
    qtbot.waitUntil(lambda: rack_b.display.phase == "ended" and bool(rack_b.window._set_ids), timeout=60000)
    assert rack_b.display.n_reps == 3
    before = (rack_a.display.n_reps, rack_c.display.n_reps)
    os.kill(rack_b.session.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "worker process ended" in rack_b.tile().device_text, timeout=5000)
    assert rack_b.device == DEVICE_STOPPED and "device problem" in win.summary.text()
    assert "RACK STOPPED" in rack_b.window.banner.label.text()
    assert rack_a.device == DEVICE_OK and rack_c.device == DEVICE_OK and rack_a.session.running
    # the other racks keep counting, to the end of their sets
    qtbot.waitUntil(lambda: rack_a.display.n_reps > before[0] or rack_a.display.set_number == 2, timeout=20000)
    qtbot.waitUntil(lambda: rack_a.display.set_number == 2 and rack_a.display.n_reps == 4
                    and rack_c.display.n_reps == 10, timeout=60000)
    # the tile hears the same rep as the rack's own view, by a connection of its own: the worker
    # thread posts the two a moment apart, and a loaded machine checked between them once (CI)
    qtbot.waitUntil(lambda: [t.reps for t in win.grid.tiles] == [4, 3, 10], timeout=5000)

    # the killed rack can be removed; every rack's sets are in the one history
    win.remove_rack(rack_b)
    for rack in win.racks:
        rack.window.end_or_next_set()
    win.close()
    with Store.open(tmp_path / "home") as store:
        got = sorted((s.athlete, s.exercise, s.n_reps) for s in store.sets())
    assert got == [("Ana", "squat", 4), ("Ana", "squat", 6), ("Ben", "bench press", 3), ("Chloé", "deadlift", 10)]


def test_on_a_cold_kernel_cache_the_first_rack_process_warms_the_kernels_before_the_others_start(
        tmp_path, monkeypatch):
    from gui.rack_process import _KernelGate

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-numba-cache"))  # nothing compiled there
    gate, spawned = _KernelGate(), []
    assert gate.enter(lambda warm: spawned.append(("A", warm)))
    assert not gate.enter(lambda warm: spawned.append(("B", warm)))
    assert not gate.enter(lambda warm: spawned.append(("C", warm)))
    assert spawned == [("A", True)]  # only the first compiles; the others wait for its "warm"
    gate.release()
    assert spawned == [("A", True), ("B", False), ("C", False)]
    assert gate.enter(lambda warm: spawned.append(("D", warm))) and spawned[-1] == ("D", False)


def test_on_a_warm_kernel_cache_every_rack_process_starts_at_once():
    from gui.rack_process import _KernelGate
    from vbt.compile_cache import probably_cold
    from vbt.tracker import warm_up

    warm_up()  # this worktree's cache is warm from here on
    if probably_cold():
        pytest.skip("numba keeps this cache where compile_cache.probably_cold does not look")
    gate, spawned = _KernelGate(), []
    for name in "AB":
        assert gate.enter(lambda warm, name=name: spawned.append((name, warm)))
    assert spawned == [("A", False), ("B", False)]


def test_a_rack_process_takes_its_dashboards_commands(qtbot, room, tmp_path):
    """configure (a load for the next set) and annotate (RPE and note of a finished set) go from the rack's
    dashboard to its worker process and into the history."""
    from dataclasses import replace

    emulator, window = room
    a = emulator([[0.70, 0.68, 0.66], [0.72, 0.70, 0.68, 0.66]], rest_s=6.0, seed=21)
    win = window()
    win.add_rack(RackSpec(a.port, "Ana", "squat", protocol="native", settings=SETTINGS))
    rack = win.racks[0]
    qtbot.waitUntil(lambda: rack.display.phase == "ended" and bool(rack.window._set_ids), timeout=120000)
    assert rack.display.n_reps == 3
    rack.session.annotate(1, 8.0, "grindy")  # what the set's end panel calls
    new = replace(rack.window.controls.settings(), load_kg=100.0)
    rack.window.controls.set_settings(new)
    rack.window._on_settings_changed(new)  # what the controls' settings_changed signal calls
    qtbot.waitUntil(lambda: rack.display.set_number == 2 and rack.display.n_reps == 4, timeout=60000)
    win.close()
    with Store.open(tmp_path / "home") as store:
        got = sorted((s.n_reps, s.load_kg, s.rpe, s.note) for s in store.sets())
    assert got == [(3, None, 8.0, "grindy"), (4, 100.0, None, None)]


def test_an_upside_down_transducer_on_a_rack_port_counts_its_reps_with_inverted(qtbot, room):
    """`vbt gui --rack PORT,... --inverted`: that rack's transducer hangs upside down (the emulator
    writes every rise as a descent); its dashboard has "Mounted upside down" ticked, its reader turns
    the readings round and the tile shows the lifter's reps. The emulated racks of --racks N stay upright."""
    import argparse

    from gui import commands
    from gui.app import rack_upside_down

    emulator, window = room
    emu = Emulator("native", seed=4, script=scripted_sets([[0.70, 0.69, 0.68]], rest_s=8.0, **FAST), inverted=True)
    emu.start()
    try:
        parser = argparse.ArgumentParser()
        commands.register(parser.add_subparsers())
        args = parser.parse_args(["gui", "--rack", f"{emu.port},Dee,squat", "--inverted"])
        demo_rack = RackSpec(EMULATED, "Eve", "squat")
        assert rack_upside_down(args, demo_rack) is demo_rack
        win = window()
        win.add_rack(rack_upside_down(args, RackSpec(emu.port, "Dee", "squat", protocol="native", settings=SETTINGS)))
        rack = win.racks[0]
        assert rack.window.controls.upside_down.isChecked()
        qtbot.waitUntil(lambda: rack.display.phase == "ended", timeout=60000)
        assert [round(r.velocity_m_s, 2) for r in rack.display.reps] == pytest.approx([0.70, 0.69, 0.68], abs=0.02)
        assert rack.display.stop_index is None
    finally:
        emu.stop()
