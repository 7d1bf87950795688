"""Operating commands: ``cryptovol ui`` (the dashboards) and ``cryptovol env``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cryptovol.cli.console import console, err
from cryptovol.cli.console import fail as _fail
from cryptovol.cli.options import Bar, Home


def env(home: Home = None) -> None:
    """Print the shell exports the stock `feast` CLI needs: eval "$(cryptovol env)".

    Example: `eval "$(cryptovol env)" && feast -c feature_repo feature-views list`
    """
    from cryptovol.cli.runtime import bootstrap
    from cryptovol.redis_runtime import running_platform_redis
    from feature_repo.store import feast_variables

    settings = bootstrap(check_backends=False, home=home)
    redis_url = settings.redis_url or running_platform_redis(settings)
    if redis_url is None:
        raise _fail("no Redis: set REDIS_URL, or keep `cryptovol serve` running in another shell")
    for key, value in feast_variables(settings, redis_url).items():
        print(f"export {key}='{value}'")


def ui(
    port: Annotated[int, typer.Option(help="HTTP port of the Evidently UI.")] = 8000,
    mlflow_port: Annotated[int, typer.Option(
        help="HTTP port of the MLflow UI (when the registry is the embedded SQLite one).")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    bar: Bar = None,
    home: Home = None,
) -> None:
    """Open the UIs until Ctrl-C: Evidently's monitoring dashboards and MLflow's runs and
    registry, with a link to Prefect's where a Prefect server runs.

    The links are printed once each UI answers. A registry that is an MLflow server
    (MLFLOW_TRACKING_URI=http...) is linked, not started again; Prefect's UI comes with its
    server only (`cryptovol stack up`, or `prefect server start` and PREFECT_API_URL).

    Example: `cryptovol ui --port 8000 --mlflow-port 5000`
    """
    import os
    import sys

    from cryptovol.cli.runtime import bootstrap, run_servers_until_interrupted
    from monitoring.workspace import ensure_project, workspace_dir

    settings = bootstrap(check_backends=False, home=home, bar=bar)
    bin_dir = Path(sys.executable).parent
    commands = [[str(bin_dir / "evidently"), "ui", "--workspace", str(workspace_dir(settings.home)),
                 "--host", host, "--port", str(port)]]
    links = [("Evidently (monitoring dashboards)", f"http://{host}:{port}")]
    tracking = settings.tracking_uri
    if tracking.startswith(("http://", "https://")):
        links.append(("MLflow (runs, registry)", tracking))
        started = []
    else:
        commands.append([str(bin_dir / "mlflow"), "ui", "--backend-store-uri", tracking,
                         "--host", host, "--port", str(mlflow_port)])
        links.append(("MLflow (runs, registry)", f"http://{host}:{mlflow_port}"))
        started = [links[-1][1]]
    prefect = (settings.prefect_api_url or "").removesuffix("/").removesuffix("/api")
    snapshots = ensure_project(settings.home, settings.bar)
    if not snapshots:
        err.print(f"note: no monitor run yet: the 'cryptovol {settings.bar}' dashboard stays empty "
                  "until `cryptovol monitor` has run", highlight=False)

    def announce() -> None:
        wait_for_http([links[0][1], *started], budget_s=180)
        for name, url in links:
            console.print(f"{name}: {url}", highlight=False)
        console.print(f"Prefect (flow runs, deployments): {prefect}" if prefect else
                      "Prefect: no server in this profile (each command starts Prefect's API for "
                      "its own run); `cryptovol stack up` runs one with its UI", highlight=False)
        console.print("Ctrl-C to stop", highlight=False)

    raise typer.Exit(run_servers_until_interrupted(commands, dict(os.environ), settings.home,
                                                   started=announce))


def wait_for_http(urls: list[str], budget_s: float) -> None:
    """Until every URL answers (any HTTP status); a :class:`UserError` after ``budget_s`` s."""
    import time

    import httpx

    from cryptovol.errors import UserError

    deadline = time.monotonic() + budget_s
    for url in urls:
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise UserError(f"{url} did not answer within {budget_s:.0f} s; its log is "
                                    "above") from None
                time.sleep(0.5)
