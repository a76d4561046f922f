"""Where the history file lives."""

from __future__ import annotations

import os
from pathlib import Path

DB_FILENAME = "history.sqlite3"


def default_home() -> Path:
    """``$VBT_HOME``, else ``$XDG_DATA_HOME/vbt``, else ``~/.local/share/vbt`` (``%LOCALAPPDATA%\\vbt`` on Windows)."""
    env = os.environ.get("VBT_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return Path(xdg) / "vbt"
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "vbt"
    return Path.home() / ".local" / "share" / "vbt"


def database_path(home: str | os.PathLike | None = None) -> Path:
    """The history file inside ``home`` (default: :func:`default_home`)."""
    return Path(home if home is not None else default_home()) / DB_FILENAME

