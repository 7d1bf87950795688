"""``cryptovol refresh`` (and the other commands of the living loop)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.console import console, err

Home = Annotated[Path | None, typer.Option(help="Output folder (env CRYPTOVOL_HOME; default ./.cryptovol).")]
Bar = Annotated[str | None, typer.Option(help="Bar size, e.g. 1d or 1h (env CRYPTOVOL_BAR).")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging and tracebacks.")]


def refresh(
    paths: Annotated[list[str] | None, typer.Argument(
        help="Candle files, folders or globs (default: the files waiting in CRYPTOVOL_HOME/inbox).")] = None,
    rebuild: Annotated[bool, typer.Option(
        help="Rebuild every feature row and re-materialize the online store.")] = False,
    bar: Bar = None,
    home: Home = None,
    verbose: Verbose = False,
) -> None:
    """Bring new bars in: upsert candles, recompute only the rows they change, update Redis.

    Files dropped into CRYPTOVOL_HOME/inbox are loaded and moved to inbox/loaded (or
    inbox/failed, with the reason). A running `cryptovol serve` answers from the new bars at once.
    """
    from flows.runtime import bootstrap, configure_logging, flow_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    if paths:  # a wrong path is one line now, before any server starts
        from feature_repo.loaders.reader import expand_paths

        expand_paths(paths)
    with flow_services(settings) as redis_url:
        from flows.loop import refresh_flow

        result = refresh_flow(settings, redis_url, paths or None, rebuild)
    for name, reason in result.failed.items():
        err.print(f"[yellow]unreadable:[/] {name} → {settings.inbox / 'failed'}: ", end="")
        err.print(reason, markup=False, highlight=False, soft_wrap=True)
    console.print(f"refresh ({settings.bar}): {result.describe()}", highlight=False)


def monitor(
    retrain: Annotated[bool, typer.Option(
        help="Run the retrain flow when the policy decides so (--no-retrain: only report).")] = True,
    bar: Bar = None, home: Home = None, verbose: Verbose = False,
) -> None:
    """Check the champion: data drift since its training data, realized QLIKE next to HAR and
    EWMA, the retrain policy's decision (recorded in CRYPTOVOL_HOME/monitoring) — and retrain,
    gate and alert when the policy says so."""
    from rich.table import Table

    from flows.runtime import bootstrap, configure_logging, flow_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    with flow_services(settings) as redis_url:
        from flows.loop import monitor_flow

        outcome = monitor_flow(settings, redis_url, retrain)
    result = outcome.monitor
    table = Table(title=f"cryptovol monitor ({settings.bar}, champion v{result.champion})",
                  show_header=False)
    table.add_row("drift", result.drift.describe())
    if result.drift.html:
        table.add_row("drift report", str(result.drift.html))
    table.add_row("performance", result.performance.describe())
    if result.recent_scored:
        q = result.recent_qlike
        table.add_row(f"last {settings.monitor_window_days:g} days",
                      f"champion {q['champion']:.4f}, HAR {q['har']:.4f}, EWMA {q['ewma']:.4f} "
                      f"on {result.recent_scored:,} forecasts")
    table.add_row("decision", result.decision.as_text())
    if outcome.retrain is not None:
        table.add_row("retrain", outcome.retrain.alert.title)
        table.add_row("gate", outcome.retrain.gate)
    console.print(table)


def retrain(
    reason: Annotated[str, typer.Option(help="Why (recorded and sent in the alert).")] = "manual",
    bar: Bar = None, home: Home = None, verbose: Verbose = False,
) -> None:
    """Retrain now: walk-forward train → gate → promote or keep → alert (to the configured channels)."""
    from flows.runtime import bootstrap, configure_logging, flow_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    with flow_services(settings) as redis_url:
        from flows.loop import retrain_flow

        outcome = retrain_flow(settings, redis_url, reason)
    console.print(outcome.alert.text, markup=False, highlight=False)


def schedule(bar: Bar = None, home: Home = None, verbose: Verbose = False) -> None:
    """Serve the loop's Prefect deployments until Ctrl-C: refresh, monitor (→ retrain) and a
    max-age retrain, on the cron schedules of CRYPTOVOL_REFRESH_CRON / _MONITOR_CRON / _RETRAIN_CRON,
    and the exchange pull after every bar when sources of the bar exist (`cryptovol sources`).

    With PREFECT_API_URL pointing at `prefect server start`, they show in the Prefect UI.
    """
    import os

    from flows.runtime import bootstrap, configure_logging, flow_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    with flow_services(settings, scheduling=True) as redis_url:
        # what scheduled runs (subprocesses of the runner) read: never a Prefect parameter
        os.environ.update({"CRYPTOVOL_HOME": str(settings.home), "CRYPTOVOL_BAR": settings.bar,
                           "REDIS_URL": redis_url})
        from prefect import serve

        from flows.schedules import deployments

        served = deployments(settings)
        every = settings.pull_interval.total_seconds()
        pull = (f"pull every {every:g} s (+{settings.pull_delay_seconds:g} s), "
                if any(d.name.startswith("pull-") for d in served) else "")
        console.print(f"schedules for {settings.bar}: {pull}refresh '{settings.refresh_cron}', monitor "
                      f"'{settings.monitor_cron}', max-age retrain '{settings.retrain_cron}' (UTC); "
                      "Ctrl-C to stop", highlight=False)
        serve(*served, print_starting_message=False)


def replay(
    start: Annotated[str, typer.Option(help="First clock tick (date).")] = "2019-01-01",
    end: Annotated[str, typer.Option(help="Last clock tick (date).")] = "2021-07-07",
    step: Annotated[str, typer.Option(help="Time between ticks, e.g. 7d.")] = "7d",
    policies: Annotated[str, typer.Option(
        help="Comma-separated: policy (drift/performance/age rules), every-30d, never.")]
    = "policy,every-30d,never",
    bar: Bar = None, home: Home = None, verbose: Verbose = False,
) -> None:
    """Run the loop over stored history as if it were live and compare retrain policies by the
    realized QLIKE of what they would have served (HTML timeline under reports/)."""
    import pandas as pd
    from rich.progress import Progress
    from rich.table import Table

    from flows.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    from monitoring.replay_report import run_replay

    try:
        begin, finish = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
        every = pd.Timedelta(step)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with Progress(console=err, transient=True) as bar_:
        def progress(total: int):
            task = bar_.add_task("replaying", total=total)
            return lambda: bar_.advance(task)

        result = run_replay(settings, begin, finish, every, [p.strip() for p in policies.split(",")],
                            progress)
    table = Table(title=f"replay {settings.bar} {start} → {end}, every {step} "
                        f"({result.seconds / 60:.1f} min)")
    for column in ("policy", "realized QLIKE", "scored", "retrains", "promotions", "compute (s)"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for name, row in result.table.iterrows():
        table.add_row(name, f"{row['realized_qlike']:.4f}", f"{int(row['scored']):,}",
                      str(int(row["retrains"])), str(int(row["promotions"])), f"{row['compute_s']:.0f}")
    console.print(table)
    console.print(f"report: {result.html}")


def ui(
    port: Annotated[int, typer.Option(help="HTTP port of the Evidently UI.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    home: Home = None,
) -> None:
    """Open the monitoring dashboards (Evidently UI on the workspace) until Ctrl-C.

    Prefect's UI comes with its server: `prefect server start` (http://127.0.0.1:4200), then
    run the commands with PREFECT_API_URL=http://127.0.0.1:4200/api. MLflow's: `mlflow ui
    --backend-store-uri sqlite:///CRYPTOVOL_HOME/mlflow/mlflow.db`.
    """
    import os
    import sys

    from flows.runtime import bootstrap, run_until_interrupted
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
