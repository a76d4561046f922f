"""Everything PostgreSQL-specific about the team store, apart from its DDL (:mod:`vbt.team.schema`).

The counterpart of :mod:`vbt.store.db` for the server: connecting by URL (with the password never
shown: :func:`redact`), the dialect's spellings (:class:`PgDialect`), and :class:`PortableConnection`,
which runs the store's portable SQL (``?`` parameters, as :mod:`vbt.store.queries` writes it) on a
psycopg 3 connection.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.adapt import Loader

from vbt.store.errors import StoreError

#: The errors a team connection raises.
DatabaseError = psycopg.Error

#: How long a connection attempt may take before the server counts as unreachable.
CONNECT_TIMEOUT_S = 3


class TeamError(StoreError):
    """The team server cannot do what was asked; one line a person can act on (no password in it)."""


class PgDialect:
    """SQL spellings that differ from SQLite's (see :class:`vbt.store.db.SqliteDialect`)."""

    no_limit = None  # LIMIT NULL: no limit
    begin_write = "BEGIN"

    @staticmethod
    def greatest(a: str, b: str) -> str:
        return f"GREATEST({a}, {b})"

    @staticmethod
    def least(a: str, b: str) -> str:
        return f"LEAST({a}, {b})"

    @staticmethod
    def distinct_list(expr: str) -> str:
        return f"string_agg(DISTINCT CAST({expr} AS text), ',')"


DIALECT = PgDialect()


# ---- URLs and their passwords --------------------------------------------------------------------


def check_url(url: str) -> str:
    """The URL if it names a PostgreSQL server, else :class:`TeamError` (the password not repeated)."""
    url = str(url).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not (parts.hostname or "host=" in parts.query):
        raise TeamError(f"{redact(url)!r} is not a team server URL like postgresql://USER:PASSWORD@HOST:5432/DB")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise TeamError(f"{redact(url)!r}: the port is not a number") from None
    return url


def redact(url: str) -> str:
    """The URL with its password (in the address or as ``password=``) replaced by ``***``."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unreadable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        auth, host = netloc.rsplit("@", 1)
        if ":" in auth:
            auth = auth.split(":", 1)[0] + ":***"
        netloc = f"{auth}@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secrets_of(url: str) -> list[str]:
    """The password(s) a URL carries (to scrub them from any message)."""
    out = []
    try:
        parts = urlsplit(str(url))
        if parts.password:
            out.append(parts.password)
        out += re.findall(r"(?i)password=([^&]+)", parts.query)
    except ValueError:
        pass
    return [s for s in out if s]


def scrub(message: str, url: str) -> str:
    """A message with every password of ``url`` replaced by ``***``."""
    for secret in secrets_of(url):
        message = message.replace(secret, "***")
    return message


def explain(exc: BaseException, url: str) -> str:
    """One line for a person from a driver error, naming the server without its password."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    where = redact(url)
    low = msg.lower()
    if "password authentication failed" in low:
        text = "the server refused the user name or password"
    elif "connection refused" in low:
        text = "connection refused (is the server running, and is the port right?)"
    elif "timeout" in low or "timed out" in low:
        text = "the server did not answer in time"
    elif "does not exist" in low and "database" in low:
        text = "that database does not exist on the server"
    elif "permission denied" in low or "row-level security" in low:
        text = f"not allowed for this user: {msg}"
    else:
        text = msg
    return scrub(f"team server {where}: {text}", url)


# ---- connections -----------------------------------------------------------------------------------


class _NumberLoader(Loader):
    """numeric (what SUM of integers gives) as int when whole, else float: never Decimal."""

    def load(self, data):
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


def connect(url: str, *, autocommit: bool = True, timeout_s: float = CONNECT_TIMEOUT_S,
            application_name: str = "vbt") -> psycopg.Connection:
    """A connection to the team server; :class:`TeamError` with one line when it cannot be made."""
    url = check_url(url)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=max(1, int(round(timeout_s))),
                               application_name=application_name)
    except psycopg.Error as exc:
        raise TeamError(explain(exc, url)) from None
    conn.adapters.register_loader("numeric", _NumberLoader)
    return conn


def _translate(sql: str) -> str:
    """Portable SQL (``?`` parameters) in psycopg's spelling (``%s``; a literal ``%`` doubled),
    leaving quoted text alone."""
    out, quote = [], None
    for ch in sql:
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


class PortableConnection:
    """A psycopg connection that runs the store's portable SQL (``conn.execute(sql, params)`` with
    ``?`` parameters returns a cursor to iterate or fetch from)."""

    def __init__(self, conn: psycopg.Connection):
        self.raw = conn
        self._sql: dict[str, str] = {}

    def execute(self, sql: str, params=()):
        text = self._sql.get(sql)
        if text is None:
            text = self._sql[sql] = _translate(sql)
        return self.raw.execute(text, tuple(params))

    def close(self) -> None:
        self.raw.close()
