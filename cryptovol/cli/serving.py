"""``cryptovol serve`` and ``cryptovol predict``: the champion over HTTP, and a client of it."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from cryptovol.cli.console import console
from cryptovol.cli.console import fail as _fail
from cryptovol.cli.options import Bar, Home, Verbose
from cryptovol.settings import REPO_ROOT


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
    CRYPTOVOL_CHAMPION_POLL_SECONDS, without a restart.

    Example: `cryptovol serve --port 3000 --schedule`
    """
    from cryptovol.cli.runtime import (
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
            here = f"http://{host}:{port}"
            client = ("" if here == settings.service_url
                      else f"CRYPTOVOL_SERVICE_URL={here} ")
            console.print(f"serving horizons {served} x {settings.bar} on {here} (Ctrl-C to stop); "
                          f"ask it from another shell: {client}cryptovol predict BTC ETH",
                          highlight=False)
            env = service_environment(settings, redis_url)
            with schedules_beside(settings, env, enabled=schedule):
                code = run_until_interrupted(cmd, env, REPO_ROOT)
    except RedisUnavailable as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code=code)


def predict(
    symbols: Annotated[list[str], typer.Argument(help="Tickers, e.g. BTC ETH.")],
    url: Annotated[str | None, typer.Option(
        help="Service URL (default: CRYPTOVOL_SERVICE_URL, else http://127.0.0.1:3000).",
        show_default=False)] = None,
    horizon: Annotated[int | None, typer.Option(
        min=1, help="Horizon in bars (default: the service's shortest).")] = None,
    explain: Annotated[bool, typer.Option(help="Show each forecast's top SHAP contributions.")] = False,
    api_key: Annotated[str | None, typer.Option(
        envvar="CRYPTOVOL_API_KEY", show_envvar=True,
        help="Key the service requires (Authorization: Bearer).")] = None,
) -> None:
    """Ask the running service for volatility forecasts: vol, intervals, regime, spike risk.

    Example: `cryptovol predict BTC ETH --url http://127.0.0.1:3000 --explain`
    """
    from cryptovol.settings import Settings
    from serving.client import PredictionError
    from serving.client import predict as call

    url = url or Settings().service_url

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
                   "spike (p vs cut)", "model"):
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
            _spike(p),
            f"v{p['model_version']}")
    return table


def _spike(p: dict) -> str:
    """The package's spike decision, with the probability and the cut that made it."""
    probability, cut = p.get("spike_probability"), p.get("spike_cut")
    if probability is None:
        return ""
    if p.get("spike") is None or cut is None:
        return f"p {probability:.0%}"
    return (f"SPIKE ({probability:.0%} >= {cut:.0%})" if p["spike"]
            else f"no ({probability:.0%} < {cut:.0%})")
