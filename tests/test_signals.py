"""Signals as a person sends them: Ctrl-C (SIGINT) and `kill` (SIGTERM) end `vbt live` and the
dashboard cleanly, whether they were started in the foreground or in the background, where the
shell starts commands with SIGINT ignored (`cmd &`, nohup, CI runners). Each child here is given
its start disposition explicitly, so the test does not depend on how pytest itself was started."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def env_for(tmp_path, **extra):
    env = dict(os.environ, VBT_EMULATOR_DIR=str(tmp_path / "emu"), VBT_HOME=str(tmp_path / "home"), **extra)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def start(args, tmp_path, background, **env):
    """Start `vbt ARGS` as a shell would in the foreground (SIGINT default) or background (ignored)."""
    disposition = signal.SIG_IGN if background else signal.SIG_DFL

    def as_the_shell_does():
        signal.signal(signal.SIGINT, disposition)

    return subprocess.Popen([sys.executable, "-m", "vbt_cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env_for(tmp_path, **env),
                            preexec_fn=as_the_shell_does)


def finish(proc, signum):
    try:
        proc.send_signal(signum)
        return proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_live_demo_ends_cleanly(tmp_path, signum, background):
    proc = start(["live", "--demo", "--jsonl"], tmp_path, background)
    first = json.loads(proc.stdout.readline())
    assert first["type"] == "device" and first["event"] == "connected"
    out, err = finish(proc, signum)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert all(json.loads(line)["type"] in {"device", "rep", "warning", "stop", "set_end"}
               for line in out.splitlines())


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_dashboard_closes_cleanly(tmp_path, signum, background):
    """A real window (offscreen platform) on the demo transducer, recording into a history."""
    home = tmp_path / "history"
    proc = start(["gui", "--demo", "--home", str(home), "--settings", str(tmp_path / "s.ini")], tmp_path,
                 background, QT_QPA_PLATFORM="offscreen")
    deadline = time.monotonic() + 60
    while not any(home.glob("*.sqlite3")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the session is running
    assert proc.poll() is None, proc.communicate()[1]
    out, err = finish(proc, signum)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the compile's helper process in /proc")
def test_live_on_a_first_run_says_it_compiles_and_ends_at_once_when_stopped(tmp_path, signum):
    """A first run (numba's cache empty): `vbt live` says why nothing happens for ~20 s, and a person who
    stops it then is not kept waiting for the compile's helper process to finish its half."""
    proc = start(["live", "--demo", "--jsonl", "--no-record"], tmp_path, False,
                 NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    lines = []
    while not lines or not lines[-1].startswith("Preparing the analysis"):
        line = proc.stderr.readline()
        assert line, f"no first-run line: {lines}"
        lines.append(line)
    assert "a first run compiles it" in lines[-1]
    time.sleep(1.0)  # inside the compile
    out, err = finish(proc, signum)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    # it did not wait for the helper, whose half of the compile takes 10 s or more: still at work
    marker = str(tmp_path / "numba-cache")
    assert _processes_with(marker), "vbt live waited for the compile's helper before it ended"
    _wait_for_processes_with(marker)  # not into the next tests


def _processes_with(marker: str) -> list[str]:
    """The processes with ``marker`` in their environment (Linux's /proc)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read():
                    pids.append(pid)
        except OSError:
            continue
    return pids


def _wait_for_processes_with(marker: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
