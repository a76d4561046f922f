"""A private PostgreSQL server in a directory of its own (tests, benchmarks, trying a team out).

``initdb`` and ``pg_ctl`` refuse to run as root; when this process is root they run as the
``postgres`` user (``runuser -u postgres --``), which owns the directory. The server listens on
127.0.0.1 at a free port and on a unix socket in the directory, with password authentication over
TCP; its superuser's URL is :attr:`LocalServer.admin_url`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ADMIN_USER = "vbt_admin"
DATABASE = "vbt_team"


class ServerUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed (or cannot run here)."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: ``pg_config --bindir``, else the newest
    ``/usr/lib/postgresql/*/bin``; raises :class:`ServerUnavailable` when there is none."""
    candidates = []
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path: str) -> tuple:
        part = Path(path).parent.name
        return tuple(int(p) for p in part.split(".") if p.isdigit())

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for found in (Path(p).parent for p in (shutil.which("initdb"),) if p):
        candidates.append(found)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ServerUnavailable("PostgreSQL's server programs (initdb, pg_ctl) are not installed "
                            "(Debian: apt-get install postgresql)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """One private PostgreSQL cluster: :meth:`start` creates and starts it, :meth:`stop` stops it
    (it can be started again on the same port: a server outage), :meth:`destroy` removes it.

    Parameters
    ----------
    fsync
        Off by default: a test server need not survive a power cut (the sync's own durability is on
        the rack's side); on for a benchmark that wants realistic commit times.
    """

    def __init__(self, *, fsync: bool = False, max_connections: int = 200):
        self.bindir = find_bindir()
        self.fsync = fsync
        self.max_connections = int(max_connections)
        self.as_user = None
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                raise ServerUnavailable("running as root and `runuser` is missing: cannot start PostgreSQL as a "
                                        "non-root user")
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root and there is no `postgres` user to run PostgreSQL "
                                        "(Debian: apt-get install postgresql)") from None
            self.as_user = "postgres"
        # Not under pytest's tmp_path: its parents are private to root, and the server's user must reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="vbt-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.password = os.urandom(12).hex()
        self.running = False
        if self.as_user:
            shutil.chown(self.dir, user=self.as_user)
            os.chmod(self.dir, 0o700)

    # ---- URLs ------------------------------------------------------------------------------------

    def url(self, user: str = ADMIN_USER, password: str | None = None, database: str = DATABASE,
            port: int | None = None) -> str:
        password = self.password if password is None and user == ADMIN_USER else password
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port if port is None else port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url()

    # ---- running the server's programs -------------------------------------------------------------

    def _run(self, args: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ServerUnavailable(f"{args[0]} failed ({out.returncode}): {out.stderr.strip()[-1500:]} {log}")
        return out

    def start(self) -> "LocalServer":
        if not self.data.exists():
            pwfile = self.dir / "pw"
            pwfile.write_text(self.password + "\n")
            if self.as_user:
                shutil.chown(pwfile, user=self.as_user)
            try:
                self._run(["initdb", "-D", str(self.data), "-U", ADMIN_USER, f"--pwfile={pwfile}", "-E", "UTF8",
                           "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256"])
            finally:
                pwfile.unlink()
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   f"-c fsync={'on' if self.fsync else 'off'} -c max_connections={self.max_connections}")
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"])
        self.running = True
        self._ensure_database()
        return self

    def _ensure_database(self) -> None:
        out = self._run(["psql", "-h", str(self.dir), "-p", str(self.port), "-U", ADMIN_USER, "-d", "postgres",
                         "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"])
        if out.stdout.strip() != "1":
            self._run(["createdb", "-h", str(self.dir), "-p", str(self.port), "-U", ADMIN_USER, DATABASE])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode`` "immediate" is a crash: no shutdown checkpoint)."""
        if self.running:
            self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])
            self.running = False

    def destroy(self) -> None:
        try:
            self.stop()
        except (ServerUnavailable, subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise ServerUnavailable(f"the server on port {self.port} did not come up")

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.destroy()
