"""``cryptovol``: the command line of the platform."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cryptovol.settings import REPO_ROOT
from flows.cli_data import data_app, ingest
from flows.cli_loop import monitor, refresh, replay, retrain, schedule, ui
from flows.cli_models import models_app, train, training_table
from flows.cli_sources import pull, sources_app, stream
from flows.cli_stack import stack_app
from flows.console import console, err, print_error
from flows.console import fail as _fail

app = typer.Typer(help="cryptovol: crypto volatility forecasting, from candles to a served model.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

app.command()(ingest)
app.command()(refresh)
app.command()(monitor)
app.command()(retrain)
app.command()(schedule)
app.command()(replay)
app.command()(ui)
app.add_typer(data_app, name="data")
app.command()(train)
app.add_typer(models_app, name="models")
app.add_typer(stack_app, name="stack")
app.add_typer(sources_app, name="sources")
app.command()(pull)
app.command()(stream)

Bar = Annotated[str | None, typer.Option(help="Bar size to model, e.g. 1d or 1h (env CRYPTOVOL_BAR).")]
Horizon = Annotated[int | None, typer.Option(help="Forecast horizon in bars (env CRYPTOVOL_HORIZON).")]
Home = Annotated[Path | None, typer.Option(help="Output folder (env CRYPTOVOL_HOME; default ./.cryptovol).")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]


@app.command()
def pipeline(bar: Bar = None, horizon: Horizon = None, home: Home = None,
             verbose: Verbose = False) -> None:
    """Run every stage once: features → Feast (Redis) → train + register → drift report.

    Works on the candle store; on a first daily run it seeds it with the bundled demo data.
    """
    from flows.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home, bar=bar, horizon=horizon)
    configure_logging(verbose)
    from flows.runtime import flow_services

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


@app.command()
def drift(home: Home = None, verbose: Verbose = False) -> None:
    """Evidently drift check: the bars after the champion's training data vs the end of its
    training window (nothing new since: says so)."""
    from flows.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home)
    configure_logging(verbose)
    from cryptovol.prefect_api import prefect_api

    with prefect_api(settings.prefect_api_url, settings.home / "prefect",
                     settings.prefect_startup_timeout):
        from flows.pipeline import drift_flow

        summary = drift_flow(settings)
    console.print(summary.describe() + (f"; report: {summary.html}" if summary.html else ""))


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="HTTP port.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    schedule: Annotated[bool, typer.Option(
        help="Run the loop's schedules beside the service (as `cryptovol schedule`).")] = False,
    horizons: Annotated[list[int] | None, typer.Option(
        "--horizon", min=1, help="Horizon to serve; repeat for several (default: every horizon "
                                 "of the bar with a @champion; env CRYPTOVOL_SERVE_HORIZONS).")] = None,
    bar: Bar = None,
    home: Home = None,
    verbose: Verbose = False,
) -> None:
    """Serve the champion model over HTTP (BentoML) until Ctrl-C: POST /predict.

    The service follows @champion: a promotion or rollback is served within
    CRYPTOVOL_CHAMPION_POLL_SECONDS, without a restart."""
    from flows.runtime import (
        bootstrap,
        configure_logging,
        run_until_interrupted,
        schedules_beside,
        service_environment,
    )

    settings = bootstrap(home=home, bar=bar, serve_horizons=horizons)
    configure_logging(verbose)
    from cryptovol.redis_runtime import RedisUnavailable, online_redis
    from training.champion import served_horizons

    try:
        served = served_horizons(settings)
    except LookupError as exc:
        raise _fail(str(exc)) from None
    try:
        with online_redis(settings) as redis_url:
            cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:VolatilityService",
                   "--host", host, "--port", str(port), "--working-dir", str(REPO_ROOT)]
            console.print(f"serving horizons {served} x {settings.bar} on http://{host}:{port}"
                          "  (Ctrl-C to stop)")
            env = service_environment(settings, redis_url)
            with schedules_beside(settings, env, enabled=schedule):
                code = run_until_interrupted(cmd, env, REPO_ROOT)
    except RedisUnavailable as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code=code)


@app.command()
def predict(
    symbols: Annotated[list[str], typer.Argument(help="Tickers, e.g. BTC ETH.")],
    url: Annotated[str, typer.Option(help="Service URL.")] = "http://127.0.0.1:3000",
    horizon: Annotated[int | None, typer.Option(
        min=1, help="Horizon in bars (default: the service's shortest).")] = None,
    explain: Annotated[bool, typer.Option(help="Show each forecast's top SHAP contributions.")] = False,
    api_key: Annotated[str | None, typer.Option(
        envvar="CRYPTOVOL_API_KEY", show_envvar=True,
        help="Key the service requires (Authorization: Bearer).")] = None,
) -> None:
    """Ask the running service for volatility forecasts: vol, intervals, regime, spike risk."""
    from serving.client import PredictionError
    from serving.client import predict as call

    try:
        predictions = call(symbols, url=url, horizon=horizon, api_key=api_key, explain=explain)
    except PredictionError as exc:
        raise _fail(str(exc)) from None
    console.print(forecast_table(predictions, url))
    for p in predictions if explain else []:
        parts = ", ".join(f"{c['feature']} {c['contribution']:+.3f}" for c in p["explanation"] or [])
        console.print(f"{p['symbol']}: {parts}  (SHAP on log vol)")


def forecast_table(predictions: list[dict], url: str) -> Table:
    table = Table(title=f"forecasts from {url}")
    for column in ("symbol", "as_of", "horizon", "vol (annualized)", "80% interval", "regime",
                   "spike", "model"):
        table.add_column(column)
    for p in predictions:
        as_of = p["as_of"].replace("T", " ").replace("+00:00", "Z")
        interval = next((i for i in p.get("intervals", []) if i["level"] == 0.8), None)
        regime = p.get("regime") or {}
        likely = regime.get("most_likely")
        table.add_row(
            p["symbol"], as_of + (" (stale)" if p.get("stale") else ""),
            f"{p['horizon_bars']} x {p['bar']}", f"{p['predicted_vol']:.1%}",
            f"{interval['low']:.0%} - {interval['high']:.0%}" if interval else "",
            f"{likely} {regime['probabilities'][likely]:.0%}" if likely else "",
            "" if p.get("spike_probability") is None else f"{p['spike_probability']:.0%}",
            f"v{p['model_version']}")
    return table


@app.command()
def env(home: Home = None) -> None:
    """Print the shell exports the stock `feast` CLI needs: eval "$(cryptovol env)"."""
    from cryptovol.redis_runtime import running_platform_redis
    from feature_repo.store import feast_variables
    from flows.runtime import bootstrap

    settings = bootstrap(check_backends=False, home=home)
    redis_url = settings.redis_url or running_platform_redis(settings)
    if redis_url is None:
        raise _fail("no Redis: set REDIS_URL, or keep `cryptovol serve` running in another shell")
    for key, value in feast_variables(settings, redis_url).items():
        print(f"export {key}='{value}'")


def _verbose(argv: list[str]) -> bool:
    return "--verbose" in argv or "-v" in argv or os.environ.get("CRYPTOVOL_VERBOSE", "") == "1"


def main(argv: list[str] | None = None) -> None:
    """Run a command; a user error is one line, a traceback only with --verbose.

    The ``cryptovol`` executable is :func:`flows.entry.main`, which runs long commands under a
    supervisor that calls this in a child process.
    """
    import click

    from cryptovol.errors import describe

    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)  # SIGTERM unwinds like Ctrl-C: servers stopped
    # explicitly: a process started in the background inherits SIGINT *ignored*
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = app(args=argv, prog_name="cryptovol", standalone_mode=False)
    except click.exceptions.Abort as exc:
        if not isinstance(exc.__cause__, KeyboardInterrupt):
            print_error("aborted")
            sys.exit(1)
        _stopped(exc.__cause__)
    except click.exceptions.ClickException as exc:  # usage errors: click's own message
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:  # outside a command's own code (start-up, clean-up)
        _stopped(exc)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        message = describe(exc)
        if _verbose(argv):
            traceback.print_exc()
        if message is None:
            message = (f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                       " (a bug: run again with --verbose for the traceback and report it)")
        if type(exc).__name__ == "TerminationSignal":  # Prefect's SIGTERM inside a flow
            _stopped(Terminated())
        print_error(message)
        sys.exit(1)
    if code == 130:  # Typer turns an interrupt inside a command into exit code 130
        _stopped(KeyboardInterrupt())
    sys.exit(code or 0)


_received: list[int] = []


def _stopped(exc: KeyboardInterrupt) -> None:
    # Prefect answers SIGTERM inside a flow with its own TerminationSignal
    term = (isinstance(exc, Terminated) or type(exc).__name__ == "TerminationSignal"
            or signal.SIGTERM in _received)
    print_error(f"stopped{' by SIGTERM' if term else ''}; files already stored are complete "
                "(every write is atomic)")
    # the servers are stopped (their `finally` blocks ran); skip library exit hooks that may
    # wait on them
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(143 if term else 130)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that the same clean-up runs."""


def _terminate(signum, frame) -> None:
    _received.append(signum)
    raise Terminated


if __name__ == "__main__":
    main()
