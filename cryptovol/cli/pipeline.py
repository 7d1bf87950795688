"""``cryptovol pipeline``: every stage once, from candles to a registered model."""

from __future__ import annotations

from rich.table import Table

from cryptovol.cli.console import console, err
from cryptovol.cli.models import training_table
from cryptovol.cli.options import Bar, Home, Horizon, Verbose


def pipeline(bar: Bar = None, horizon: Horizon = None, home: Home = None,
             verbose: Verbose = False) -> None:
    """Run every stage once: features → Feast (Redis) → train + register → drift report.

    Works on the candle store; on a first daily run it seeds it with the bundled demo data.

    Example: `cryptovol pipeline --bar 1h --horizon 24`
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home, bar=bar, horizon=horizon)
    configure_logging(verbose, progress=True)
    from cryptovol.cli.runtime import flow_services

    with flow_services(settings) as redis_url:
        from flows.pipeline import pipeline_flow

        summary = pipeline_flow(settings, redis_url)
    t = summary.training
    console.print(training_table(t))
    table = Table(title="cryptovol pipeline", show_header=False)
    rows = [
        ("candles", f"{t.candles:,} bars, {t.symbols} symbols ({settings.bar})"),
        ("features", f"{t.feature_rows:,} rows; {t.online_symbols} symbols online"),
        ("model", f"{t.model_name} v{t.model_version} (champion: v{t.champion_version})"),
        ("evaluation", t.report),
    ]
    if summary.drift is not None:
        rows.append(("drift", summary.drift))
    if summary.drift_report is not None:
        rows.append(("drift report", summary.drift_report))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    for note in summary.notes:
        err.print("[bold yellow]note:[/] ", end="")
        err.print(note, markup=False, highlight=False, soft_wrap=True)
