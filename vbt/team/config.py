"""Where a rack's team server is configured: ``VBT_TEAM_URL``, else the user's config file.

The file (``team.json`` in ``$VBT_CONFIG_HOME``, else ``$XDG_CONFIG_HOME/vbt``, else ``~/.config/vbt``)
is readable by its owner only: the URL carries the rack's password, like ``~/.pgpass``. The URL is
never written into the history, and never logged or shown without :func:`vbt.team.db.redact`.
Importing this module does not load the database driver.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "VBT_TEAM_URL"
ENV_TRACES = "VBT_TEAM_TRACES"
FILENAME = "team.json"


def config_dir() -> Path:
    env = os.environ.get("VBT_CONFIG_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "vbt"
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "vbt"
    return Path.home() / ".config" / "vbt"


def config_path() -> Path:
    return config_dir() / FILENAME


@dataclass(frozen=True)
class TeamConfig:
    url: str | None
    traces: bool
    source: str  # "environment", the file's path, or "none"


def _read_file() -> dict:
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load() -> TeamConfig:
    """The team configuration in force (the environment wins over the file)."""
    data = _read_file()
    traces = data.get("traces", True) is not False
    env_traces = os.environ.get(ENV_TRACES)
    if env_traces is not None:
        traces = env_traces.strip().lower() not in ("0", "no", "false", "off")
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return TeamConfig(env, traces, "environment")
    url = data.get("url")
    if isinstance(url, str) and url.strip():
        return TeamConfig(url.strip(), traces, str(config_path()))
    return TeamConfig(None, traces, "none")


def save(url: str | None, *, traces: bool = True) -> Path:
    """Write the rack's team URL (None: forget it) into the config file, owner-only, atomically."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"url": url, "traces": bool(traces)}, f)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
