"""Operating commands: ``cryptovol ui`` (the dashboards) and ``cryptovol env``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cryptovol.cli.console import console, err
from cryptovol.cli.console import fail as _fail
from cryptovol.cli.options import Home


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
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    home: Home = None,
) -> None:
    """Open the monitoring dashboards (Evidently UI on the workspace) until Ctrl-C.

    Prefect's UI comes with its server: `prefect server start` (http://127.0.0.1:4200), then
    run the commands with PREFECT_API_URL=http://127.0.0.1:4200/api. MLflow's: `mlflow ui
    --backend-store-uri sqlite:///CRYPTOVOL_HOME/mlflow/mlflow.db`.

    Example: `cryptovol ui --port 8000`
    """
    import os
    import sys

    from cryptovol.cli.runtime import bootstrap, run_until_interrupted
    from monitoring.workspace import workspace_dir

    settings = bootstrap(check_backends=False, home=home)
    folder = workspace_dir(settings.home)
    if not folder.exists():
        err.print(f"note: {folder} is empty until `cryptovol monitor` has run", highlight=False)
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "evidently"), "ui", "--workspace", str(folder),
               "--host", host, "--port", str(port)]
    console.print(f"Evidently UI on http://{host}:{port} (project 'cryptovol {settings.bar}'); "
                  "Ctrl-C to stop", highlight=False)
    raise typer.Exit(run_until_interrupted(command, dict(os.environ), settings.home))
