"""``cryptovol refresh`` (and the other commands of the living loop)."""

from __future__ import annotations

from typing import Annotated

import typer

from cryptovol.cli.console import console, err
from cryptovol.cli.options import Bar, Home, Verbose


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
    Runs in this process; with PREFECT_API_URL set, as a flow of that server.

    Example: `cryptovol refresh new_bars.parquet` (or drop the files into CRYPTOVOL_HOME/inbox
    and run `cryptovol refresh`)
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging, online_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    if paths:  # a wrong path is one line now, before any server starts
        from feature_repo.loaders.reader import expand_paths

        expand_paths(paths)
    with online_services(settings) as redis_url:
        if settings.prefect_api_url:  # a configured server shows the run
            from flows.loop import refresh_flow

            result = refresh_flow(settings, redis_url, paths or None, rebuild)
        else:
            from feature_repo.jobs import refresh as run_refresh

            result = run_refresh(settings, redis_url, paths or None, rebuild)
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
    gate and alert when the policy says so.

    Example: `cryptovol monitor --no-retrain`
    """
    from rich.table import Table

    from cryptovol.cli.runtime import bootstrap, configure_logging, flow_services

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


def drift(home: Home = None, verbose: Verbose = False) -> None:
    """Evidently drift check: the bars after the champion's training data vs the end of its
    training window (nothing new since: says so).

    Example: `cryptovol drift --bar 1h`
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home)
    configure_logging(verbose)
    from cryptovol.prefect_api import prefect_api

    with prefect_api(settings.prefect_api_url, settings.home / "prefect",
                     settings.prefect_startup_timeout):
        from flows.pipeline import drift_flow

        summary = drift_flow(settings)
    console.print(summary.describe() + (f"; report: {summary.html}" if summary.html else ""))


def retrain(
    reason: Annotated[str, typer.Option(help="Why (recorded and sent in the alert).")] = "manual",
    bar: Bar = None, home: Home = None, verbose: Verbose = False,
) -> None:
    """Retrain now: walk-forward train → gate → promote or keep → alert (to the configured channels).

    Example: `cryptovol retrain --reason "new listing data"`
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging, flow_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose, progress=True)
    with flow_services(settings) as redis_url:
        from flows.loop import retrain_flow

        outcome = retrain_flow(settings, redis_url, reason)
    console.print(outcome.alert.text, markup=False, highlight=False)


def schedule(bar: Bar = None, home: Home = None, verbose: Verbose = False) -> None:
    """Serve the loop's Prefect deployments until Ctrl-C: refresh, monitor (→ retrain) and a
    max-age retrain, on the cron schedules of CRYPTOVOL_REFRESH_CRON / _MONITOR_CRON / _RETRAIN_CRON,
    and the exchange pull after every bar when sources of the bar exist (`cryptovol sources`).

    With PREFECT_API_URL pointing at `prefect server start`, they show in the Prefect UI.

    Example: `CRYPTOVOL_MONITOR_CRON='0 * * * *' cryptovol schedule --bar 1h`
    """
    import os

    from cryptovol.cli.runtime import bootstrap, configure_logging, flow_services

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
    start: Annotated[str | None, typer.Option(
        help="First clock tick, a date (default: two years before --end, and at least 180 days "
             "after the first stored bar).", show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        help="Last clock tick, a date (default: the newest stored bar).", show_default=False)] = None,
    step: Annotated[str, typer.Option(help="Time between ticks, e.g. 7d.")] = "7d",
    policies: Annotated[str, typer.Option(
        help="Comma-separated: policy (drift/performance/age rules), drift-only, "
             "performance-only, every-<N>d (e.g. every-7d, every-30d), never.")]
    = "policy,every-30d,never",
    bar: Bar = None, home: Home = None, verbose: Verbose = False,
) -> None:
    """Run the loop over stored history as if it were live and compare retrain policies by the
    realized QLIKE of what they would have served (HTML timeline under reports/).

    Example: `cryptovol replay --start 2020-01-01 --end 2021-06-30 --step 14d --policies policy,never`
    """
    import pandas as pd
    from rich.progress import Progress
    from rich.table import Table

    from cryptovol.cli.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    from monitoring.replay_report import run_replay

    try:
        begin, finish = (None if value is None else pd.Timestamp(value, tz="UTC")
                         for value in (start, end))
        every = pd.Timedelta(step)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with Progress(console=err, transient=True) as bar_:
        def progress(total: int):
            task = bar_.add_task("replaying", total=total)
            return lambda: bar_.advance(task)

        result = run_replay(settings, begin, finish, every, [p.strip() for p in policies.split(",")],
                            progress)
    table = Table(title=f"replay {settings.bar} {result.start:%Y-%m-%d} → {result.end:%Y-%m-%d}, "
                        f"every {step} ({result.seconds / 60:.1f} min)")
    for column in ("policy", "realized QLIKE", "scored", "retrains", "promotions", "compute (s)"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for name, row in result.table.iterrows():
        table.add_row(name, f"{row['realized_qlike']:.4f}", f"{int(row['scored']):,}",
                      str(int(row["retrains"])), str(int(row["promotions"])), f"{row['compute_s']:.0f}")
    console.print(table)
    console.print(f"report: {result.html}")
