"""What the native stack runs, and where: databases, ports, commands, health checks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cryptovol.settings import Settings
from cryptovol.stack.health import deployments_ok, http_ok, redis_ok, stream_ok


class StackSettings(BaseSettings):
    """``CRYPTOVOL_STACK_*``: the stack's PostgreSQL server, database names, host and ports."""

    model_config = SettingsConfigDict(env_prefix="CRYPTOVOL_STACK_", extra="ignore")

    postgres: SecretStr = Field(
        default=SecretStr("postgresql://postgres@127.0.0.1:5432/postgres"),
        description="A PostgreSQL URL with the right to create databases (a credential).")
    database_prefix: str = Field(
        default="cryptovol", pattern=r"^[a-z][a-z0-9_]{0,40}$",
        description="Databases <prefix> (platform), <prefix>_mlflow and <prefix>_prefect.")
    host: str = Field(default="127.0.0.1", description="Interface every server binds.")
    redis_port: int = Field(default=6380, description="Port of the stack's Redis (unless "
                            "REDIS_URL names one of yours).")
    mlflow_port: int = Field(default=5000, description="Port of the MLflow server (and its UI).")
    prefect_port: int = Field(default=4200, description="Port of the Prefect server (and its UI).")
    service_port: int = Field(default=3000, description="Port of the Bento service.")
    ui_port: int = Field(default=8000, description="Port of the Evidently UI.")
    start_timeout: float = Field(default=300.0, gt=0,
                                 description="Seconds each component may take to become healthy.")
    pipeline_timeout: float = Field(default=3600.0, gt=0,
                                    description="Seconds the first pipeline may take.")


def database_url(admin: str, name: str, scheme: str = "postgresql") -> str:
    """``admin`` (any database of the server) pointed at database ``name``."""
    parts = urlsplit(admin)
    return urlunsplit((scheme, parts.netloc, f"/{name}", parts.query, ""))


@dataclass(frozen=True)
class Component:
    name: str
    command: list[str]
    url: str  # what a person opens (or connects to)
    health: Callable[[], str | None]  # None when healthy, else why not
    env: dict[str, str] = field(default_factory=dict)  # not secret: written to the config file
    port: int | None = None  # the port it binds (None: it binds none)


@dataclass(frozen=True)
class Stack:
    settings: Settings
    stack: StackSettings

    # ----- places ------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.settings.home / "stack"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def env_file(self) -> Path:
        """The clients' environment (``set -a; . stack.env; set +a``); mode 0600: credentials."""
        return self.folder / "stack.env"

    # ----- databases ---------------------------------------------------------------------------
    @property
    def databases(self) -> dict[str, str]:
        prefix = self.stack.database_prefix
        return {"platform": prefix, "mlflow": f"{prefix}_mlflow", "prefect": f"{prefix}_prefect"}

    def db_url(self, role: str, scheme: str = "postgresql") -> str:
        return database_url(self.stack.postgres.get_secret_value(), self.databases[role], scheme)

    # ----- the clients' view -------------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        return self.settings.redis_url or f"redis://{self.stack.host}:{self.stack.redis_port}/0"

    @property
    def owns_redis(self) -> bool:
        return not self.settings.redis_url

    def _http(self, port: int) -> str:
        return f"http://{self.stack.host}:{port}"

    def client_environment(self) -> dict[str, str]:
        """What every cryptovol command needs to run against the stack."""
        return {
            "CRYPTOVOL_HOME": str(self.settings.home),
            "CRYPTOVOL_BAR": self.settings.bar,
            "CRYPTOVOL_DATABASE_URL": self.db_url("platform"),
            "MLFLOW_TRACKING_URI": self._http(self.stack.mlflow_port),
            "PREFECT_API_URL": self._http(self.stack.prefect_port) + "/api",
            "REDIS_URL": self.redis_url,
            "CRYPTOVOL_SERVICE_URL": self._http(self.stack.service_port),
        }

    def server_environment(self) -> dict[str, str]:
        """The clients' environment plus what the servers read (credentials: never in a file
        but ``stack.env``)."""
        return {
            **self.client_environment(),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self.db_url("prefect", "postgresql+asyncpg"),
            "CRYPTOVOL_STACK_MLFLOW_BACKEND": self.db_url("mlflow", "postgresql+psycopg"),
        }

    # ----- the components, in start order -------------------------------------------------------
    def components(self) -> list[Component]:
        s, home, py = self.stack, self.settings.home, sys.executable
        cli = str(Path(py).parent / "cryptovol")
        found: list[Component] = []
        if self.owns_redis:
            binary = _redis_binary()
            found.append(Component(
                "redis", [binary, "--bind", s.host, "--port", str(s.redis_port), "--dir",
                          str(self.folder / "redis"), "--appendonly", "yes", "--save", "60 1"],
                self.redis_url, partial(redis_ok, self.redis_url), port=s.redis_port))
        mlflow = self._http(s.mlflow_port)
        found.append(Component(
            "mlflow", ["/bin/sh", "-c", f'exec "{py}" -m mlflow server --host {s.host} --port '
                       f'{s.mlflow_port} --workers 1 --backend-store-uri "$CRYPTOVOL_STACK_MLFLOW_BACKEND" '
                       f'--artifacts-destination "{home / "mlflow" / "server-artifacts"}"'],
            mlflow, partial(http_ok, mlflow + "/health"), port=s.mlflow_port))
        prefect = self._http(s.prefect_port)
        found.append(Component(
            "prefect", [py, "-m", "prefect", "server", "start", "--host", s.host,
                        "--port", str(s.prefect_port)],
            prefect, partial(http_ok, prefect + "/api/health"),
            env={"PREFECT_HOME": str(self.folder / "prefect"), "PREFECT_UI_ENABLED": "true",
                 "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}, port=s.prefect_port))
        streaming, pulling = _sources(self.settings)
        found.append(Component(
            "scheduler", [cli, "schedule"], prefect + "/deployments",
            partial(deployments_ok, prefect + "/api", self.settings.bar, pulling)))
        if streaming:  # the exchange sources' real-time path (`cryptovol sources`)
            from cryptovol.backends import mask

            found.append(Component(
                "streamer", [cli, "stream"], f"{mask(self.redis_url)} stream cryptovol:bars:"
                f"{self.settings.bar}", partial(stream_ok, self.redis_url, self.settings.bar)))
        service = self._http(s.service_port)
        found.append(Component(
            "service", [cli, "serve", "--host", s.host, "--port", str(s.service_port)],
            service, partial(http_ok, service + "/readyz"), port=s.service_port))
        ui = self._http(s.ui_port)
        found.append(Component(
            "ui", [cli, "ui", "--host", s.host, "--port", str(s.ui_port)], ui, partial(http_ok, ui + "/"),
            port=s.ui_port))
        return found


def _sources(settings: Settings) -> tuple[bool, bool]:
    """(a source of the bar streams, a source of the bar exists): the stack runs the streamer
    and expects the pull deployment accordingly. (The sources file is read without importing
    the connectors: the stack's module stays free of the feature layer.)"""
    import yaml

    try:
        body = yaml.safe_load(settings.sources_path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False, False
    mine = [s for s in (body.get("sources") or []) if isinstance(s, dict) and s.get("bar") == settings.bar]
    return any(s.get("stream", True) for s in mine), bool(mine)


def _redis_binary() -> str:
    from cryptovol.redis_runtime import find_redis_server

    return find_redis_server()

