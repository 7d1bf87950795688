"""Fail fast: every configured backend is checked before any long work starts.

A wrong ``MLFLOW_TRACKING_URI`` used to be found minutes into a training run (MLflow retries a
database it cannot reach for minutes, then the work is lost). :func:`preflight` asks each
configured backend one cheap question — PostgreSQL ``SELECT 1``, MLflow and Prefect ``/health``,
Redis ``PING`` — with a short timeout, and raises :class:`BackendUnavailable` with one line that
names the setting, its URL with the password masked, and the server's own reason. Backends left
unset are the embedded ones (SQLite, a private redis-server, an embedded Prefect API) and need
no check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cryptovol.errors import UserError

log = logging.getLogger(__name__)
POSTGRES_SCHEMES = ("postgresql", "postgres")


class BackendUnavailable(UserError, ConnectionError):
    """A configured backend does not answer; the message names the setting and masks secrets."""


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***`` (safe to log and print)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme.split("+")[0] in POSTGRES_SCHEMES


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as psycopg/libpq takes it (``postgresql://``)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql",) + tuple(parts)[1:])


@dataclass(frozen=True)
class Backend:
    setting: str  # the environment variable that configures it
    url: str
    kind: str  # postgresql | http | redis

    def describe(self) -> str:
        return f"{self.setting}={mask(self.url)}"


def configured(settings) -> list[Backend]:
    """The backends ``settings`` point at (the embedded ones are not listed)."""
    found: list[Backend] = []
    tracking = settings.mlflow_tracking_uri
    if tracking:
        scheme = urlsplit(tracking).scheme.split("+")[0]
        if scheme in POSTGRES_SCHEMES:
            found.append(Backend("MLFLOW_TRACKING_URI", tracking, "postgresql"))
        elif scheme in ("http", "https"):
            found.append(Backend("MLFLOW_TRACKING_URI", tracking.rstrip("/") + "/health", "http"))
    for setting, secret in (("CRYPTOVOL_DATABASE_URL", settings.database_url),
                            ("CRYPTOVOL_PREDICTION_LOG_URL", settings.prediction_log_url)):
        if secret is not None:
            found.append(Backend(setting, secret.get_secret_value(), "postgresql"))
    if settings.redis_url:
        found.append(Backend("REDIS_URL", settings.redis_url, "redis"))
    if settings.prefect_api_url:
        found.append(Backend("PREFECT_API_URL", settings.prefect_api_url.rstrip("/") + "/health",
                             "http"))
    return found


def problem(backend: Backend, timeout: float = 5.0) -> str | None:
    """Why ``backend`` cannot be used, in a few words from the server itself; None if it answers."""
    if backend.kind == "postgresql":
        return _postgres_problem(backend.url, timeout)
    if backend.kind == "redis":
        return _redis_problem(backend.url, timeout)
    return _http_problem(backend.url, timeout)


def _postgres_problem(url: str, timeout: float) -> str | None:
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return first_reason(str(exc))
    return None


def first_reason(message: str) -> str:
    """libpq's message without the connection preamble: 'database "x" does not exist'."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "FATAL:" in line:
            return line.split("FATAL:", 1)[1].strip()
    reason = lines[0] if lines else "no answer"
    # "connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused"
    return reason.rsplit("failed:", 1)[-1].strip() or reason


def _redis_problem(url: str, timeout: float) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout).ping()
    except redis.exceptions.AuthenticationError as exc:
        return f"authentication failed ({exc})"
    except (redis.exceptions.RedisError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def _http_problem(url: str, timeout: float) -> str | None:
    import httpx

    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if response.status_code != 200:
        return f"{url.rsplit('/', 1)[-1]} answered HTTP {response.status_code}"
    return None


HINTS = {
    "MLFLOW_TRACKING_URI": "start that MLflow server or database (`cryptovol stack up`), fix the "
                           "URI, or unset it for the embedded SQLite store",
    "CRYPTOVOL_DATABASE_URL": "create the database (`cryptovol stack up` does) or fix the URL",
    "CRYPTOVOL_PREDICTION_LOG_URL": "create the database or fix the URL (unset: parquet files)",
    "REDIS_URL": "start that Redis or fix the URL (unset: a private redis-server)",
    "PREFECT_API_URL": "start that Prefect server (`cryptovol stack up`), or unset it for an "
                       "embedded one",
}


def preflight(settings, timeout: float = 5.0) -> None:
    """Raise :class:`BackendUnavailable` for the first configured backend that does not answer."""
    for backend in configured(settings):
        reason = problem(backend, timeout)
        if reason is not None:
            secret = urlsplit(backend.url).password
            if secret:  # a library that echoes the URL back must not print its password
                reason = reason.replace(secret, "***")
            where = backend.describe().removesuffix("/health")
            raise BackendUnavailable(f"{where}: {reason} — {HINTS[backend.setting]}")
        log.debug("%s answers", backend.describe())
