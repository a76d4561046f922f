"""Cue sounds without QtMultimedia (not part of PySide6-Essentials). No Qt in this module.

What we chose and why
---------------------
The cues are short WAV files synthesised here with the standard library (``wave``): a loud,
two-tone alarm for the stop and a single soft tone for the warning. They are played by whatever
the platform already has, started as a child process so the GUI thread never waits:

* Linux: ``paplay`` (PulseAudio / PipeWire), ``pw-play`` (PipeWire), ``aplay`` (ALSA);
* macOS: ``afplay``;
* Windows: ``winsound.PlaySound`` with ``SND_ASYNC`` (stdlib, no process).

When none of them exists, the caller's ``fallback`` is used (the GUI passes
``QApplication.beep``, the system bell). The visible flash never depends on any of this.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Callable

log = logging.getLogger(__name__)

RATE_HZ = 22050
PLAYERS = (("paplay",), ("pw-play",), ("aplay", "-q"), ("afplay",))


def _tone_frames(segments, volume: float) -> bytes:
    """16-bit mono PCM for ``segments`` of (frequency_hz or 0 for silence, duration_s)."""
    out = bytearray()
    for freq, dur in segments:
        n = int(RATE_HZ * dur)
        ramp = max(1, int(RATE_HZ * 0.005))  # 5 ms fade in and out: no clicks
        for i in range(n):
            env = min(1.0, i / ramp, (n - 1 - i) / ramp)
            s = volume * env * math.sin(2.0 * math.pi * freq * i / RATE_HZ) if freq else 0.0
            out += struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767))
    return bytes(out)


CUES = {
    # stop: three high-low pairs, loud and unmistakable over gym noise
    "stop": ([(1320, 0.14), (990, 0.14)] * 3, 0.9),
    # warning: one soft, low, short tone
    "warning": ([(660, 0.12)], 0.35),
    # done for the day: a slow falling three-note chime, nothing like the stop alarm's high-low pairs
    "day_done": ([(784, 0.28), (0, 0.06), (659, 0.28), (0, 0.06), (523, 0.6)], 0.75),
    # a rep that missed its tempo: a soft double tick
    "tempo": ([(1760, 0.04), (0, 0.06), (1760, 0.04)], 0.3),
    # the optional zone cue after each rep: low below the zone, a soft mid pair in it, high above it
    "zone_below": ([(392, 0.12)], 0.4),
    "zone_in": ([(880, 0.05), (0, 0.04), (880, 0.05)], 0.3),
    "zone_above": ([(1568, 0.12)], 0.4),
}


def write_cues(directory: str | os.PathLike) -> dict[str, str]:
    """Write every cue as ``<name>.wav`` in ``directory`` (kept if already there); returns their paths."""
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for name, (segments, volume) in CUES.items():
        path = os.path.join(directory, f"{name}.wav")
        if not os.path.exists(path):
            tmp = path + f".{os.getpid()}.tmp"
            with wave.open(tmp, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE_HZ)
                w.writeframes(_tone_frames(segments, volume))
            os.replace(tmp, path)
        paths[name] = path
    return paths


def find_player() -> tuple[str, ...] | None:
    """The command line of the first available player, or None."""
    for cmd in PLAYERS:
        exe = shutil.which(cmd[0])
        if exe:
            return (exe, *cmd[1:])
    return None


class CuePlayer:
    """Plays the cues without blocking; mute is a flag the GUI toggles.

    Parameters
    ----------
    fallback
        Called (with the cue name) when there is no way to play a file.
    directory
        Where the WAV files go (default: a per-user cache directory in the temp dir).
    player
        Force a player command (tests); ``()`` forces the fallback.
    """

    def __init__(self, fallback: Callable[[str], None] | None = None, directory: str | None = None,
                 player: tuple[str, ...] | None = None):
        self.fallback = fallback
        self.muted = False
        uid = os.getuid() if hasattr(os, "getuid") else 0
        self.directory = directory or os.path.join(tempfile.gettempdir(), f"vbt-cues-{uid}")
        self._paths: dict[str, str] | None = None
        self._player = find_player() if player is None else (player or None)
        self._children: list[subprocess.Popen] = []
        self._preparing: threading.Thread | None = None
        self.played: list[str] = []  # what was asked to play (for tests and the log)

    def prepare(self) -> None:
        """Write the WAV files on a background thread now, so the first cue never waits for them."""
        if self._paths is not None or self._preparing is not None:
            return
        if sys.platform != "win32" and not self._player:
            return

        def work():
            try:
                self._paths = write_cues(self.directory)
            except OSError as exc:
                log.warning("cannot write the cue sounds to %s: %s", self.directory, exc)

        self._preparing = threading.Thread(target=work, name="vbt-cue-writer", daemon=True)
        self._preparing.start()

    @property
    def method(self) -> str:
        if sys.platform == "win32":
            return "winsound"
        if self._player:
            return os.path.basename(self._player[0])
        return "system bell"

    def _reap(self) -> None:
        self._children = [p for p in self._children if p.poll() is None]

    def play(self, name: str) -> None:
        if self.muted:
            return
        self.played.append(name)
        self._reap()
        if sys.platform != "win32" and not self._player:
            if self.fallback is not None:
                self.fallback(name)
            return
        if self._paths is None:
            self.prepare()
            log.info("the %s cue is not ready yet: system bell instead", name)
            if self.fallback is not None:
                self.fallback(name)
            return
        try:
            path = self._paths[name]
            if sys.platform == "win32":
                import winsound

                winsound.PlaySound(path, winsound.SND_FILENAME | winsound.SND_ASYNC)
            else:
                self._children.append(subprocess.Popen([*self._player, path], stdin=subprocess.DEVNULL,
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            return
        except (OSError, KeyError) as exc:
            log.warning("cannot play the %s cue: %s", name, exc)
        if self.fallback is not None:
            self.fallback(name)

    def close(self) -> None:
        """Wait briefly for cues still playing (they last under a second), then stop them."""
        if self._preparing is not None:
            self._preparing.join(5.0)
        for p in self._children:
            try:
                p.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._children = []
