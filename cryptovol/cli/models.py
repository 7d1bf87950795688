"""``cryptovol train`` and ``cryptovol models ...``: walk-forward training and the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cryptovol.cli.console import console, err, fail, print_error
from cryptovol.cli.options import Bar, Home, Horizon, Horizons, Verbose

models_app = typer.Typer(help="List, promote and roll back model versions (each (bar, horizon) is "
                         "its own registered model).\n\nExample: `cryptovol models list`",
                         no_args_is_help=True)

FORECASTERS = ("lightgbm", "catboost", "gru", "persistence", "ewma", "har", "garch")


def training_table(summary) -> Table:
    """The walk-forward scores of every forecaster, the tests and the gate's decision."""
    m = summary.metrics
    table = Table(title=f"walk-forward evaluation ({int(m.get('rows_scored', 0)):,} test rows, "
                        "vol per bar; RMSE annualized)")
    for col in ("forecaster", "QLIKE", "MSE (var)", "RMSE", "R² (log)", "MZ slope", "MZ R²", "DM p"):
        table.add_column(col, justify="left" if col == "forecaster" else "right")
    for name in FORECASTERS:
        if f"{name}_qlike" not in m:
            continue
        dm = m.get(f"{name}_dm_pvalue")
        table.add_row(name, f"{m[f'{name}_qlike']:.4f}", f"{m[f'{name}_mse_var']:.2e}",
                      f"{m[f'{name}_rmse_vol_ann']:.3f}", f"{m[f'{name}_r2_log']:.3f}",
                      f"{m[f'{name}_mz_slope']:.2f}", f"{m[f'{name}_mz_r2']:.3f}",
                      "" if dm is None else f"{dm:.3g}")
    table.caption = (f"best model vs best baseline: {100 * m['gain_vs_best_baseline']:.1f}% QLIKE "
                     f"(walk-forward); gate, on the latest test block: {summary.gate}; "
                     f"version {summary.model_version} of {summary.model_name}, "
                     f"champion v{summary.champion_version}")
    for flag in summary.leakage_flags:
        err.print(f"[bold white on red] LEAKAGE AUDIT [/] {flag}")
    for prompt in summary.leakage_prompts:
        err.print(f"[bold black on yellow] LEAKAGE PROMPT [/] {prompt} — the direct checks passed "
                  "(see the report's leakage audit)")
    return table




def train(
    bar: Bar = None,
    horizons: Horizons = None,
    folds: Annotated[int | None, typer.Option(
        min=1, help="Walk-forward test blocks (env CRYPTOVOL_FOLDS; default 4).")] = None,
    embargo: Annotated[int | None, typer.Option(
        min=0, help="Extra bars between the purge and each test block (env CRYPTOVOL_EMBARGO).")] = None,
    tune_trials: Annotated[int | None, typer.Option(
        min=0, help="Optuna trials per model family and fold, on the inner validation block "
                    "(env CRYPTOVOL_TUNE_TRIALS; default 0: fixed parameters).")] = None,
    margin: Annotated[float | None, typer.Option(
        min=0, max=0.99, help="QLIKE margin a challenger needs over the champion to be promoted "
                              "(env CRYPTOVOL_PROMOTION_MARGIN; default 0.02).")] = None,
    profile: Annotated[str | None, typer.Option(
        help="Model settings: fast, or reference (the slower settings of earlier releases) "
             "(env CRYPTOVOL_TRAINING_PROFILE; default fast).")] = None,
    level_map: Annotated[str | None, typer.Option(
        help="Forecast level shipped: smearing, per-coin or slope; the report compares all "
             "three (env CRYPTOVOL_LEVEL_MAP; default smearing).")] = None,
    sequence_model: Annotated[bool | None, typer.Option(
        "--sequence-model/--no-sequence-model",
        help="Also evaluate the GRU challenger on the same folds (needs `make env EXTRAS=seq`; "
             "env CRYPTOVOL_SEQUENCE_MODEL).")] = None,
    home: Home = None,
    verbose: Verbose = False,
) -> None:
    """Build features from the candle store, evaluate walk-forward, register through the gate.

    Each horizon (``--horizon 7 --horizon 14``) is trained and registered as its own model,
    ``<name>-<bar>-h<H>``, with its own champion.

    Example: `cryptovol train --bar 1h --horizon 24 --horizon 72 --folds 3`
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging

    settings = bootstrap(home=home, bar=bar, folds=folds, embargo=embargo,
                         tune_trials=tune_trials, promotion_margin=margin,
                         training_profile=profile, level_map=level_map,
                         sequence_model=sequence_model)
    horizons = list(dict.fromkeys(horizons or [settings.horizon]))
    configure_logging(verbose, progress=True)
    from cryptovol.cli.runtime import flow_services
    from feature_repo import candle_store

    if settings.sequence_model:  # fail before any flow starts
        from training.sequence import require

        try:
            require()
        except ValueError as exc:
            raise fail(str(exc)) from None
    if candle_store.read_candles(settings.home, settings.bar).empty:  # fail before any flow starts
        raise fail(f"no {settings.bar} candles in {settings.home / 'candles'}: "
                   f"run `cryptovol ingest PATH --bar {settings.bar}` first")
    with flow_services(settings) as redis_url:
        from flows.pipeline import no_champion_note, training_pipeline_flow

        for horizon in horizons:
            if len(horizons) > 1:
                console.rule(f"horizon {horizon} x {settings.bar}")
            try:
                summary = training_pipeline_flow(settings.model_copy(update={"horizon": horizon}),
                                                 redis_url)
            except ValueError as exc:
                raise fail(str(exc)) from None
            console.print(training_table(summary))
            if summary.champion_version is None:
                err.print("[bold yellow]note:[/] ", end="")
                err.print(no_champion_note(summary), markup=False, highlight=False, soft_wrap=True)
            console.print(f"report: {summary.report}")


def _client(bar: str | None, home: Path | None, horizon: int | None = None):
    from cryptovol.cli.runtime import bootstrap
    from training.client import configure

    settings = bootstrap(home=home, bar=bar, horizon=horizon)
    return configure(settings), settings.registered_model


@models_app.command("list")
def list_models(bar: Bar = None, horizon: Annotated[int | None, typer.Option(
        help="Only this horizon's model (default: every horizon trained for the bar).")] = None,
        home: Home = None) -> None:
    """Every registered version of each (bar, horizon) model: aliases, key metrics, gate.

    Example: `cryptovol models list --horizon 7`
    """
    from cryptovol.cli.runtime import bootstrap
    from training.aliases import list_versions, registered_models
    from training.client import configure

    settings = bootstrap(home=home, bar=bar, horizon=horizon)
    client = configure(settings)
    names = ([settings.registered_model] if horizon is not None
             else registered_models(client, settings.model_name, settings.bar))
    tables = [(name, list_versions(client, name)) for name in names]
    if not any(rows for _, rows in tables):
        err.print(f"no versions of {' / '.join(names) or settings.model_name + '-' + settings.bar}"
                  " yet: run `cryptovol train`")
        raise typer.Exit(code=1)
    for name, rows in tables:
        console.print(_versions_table(name, rows))


def _versions_table(name: str, rows: list[dict]) -> Table:
    table = Table(title=name)
    for col in ("version", "aliases", "created", "family", "bar", "H", "QLIKE (walk-forward)",
                "gain vs baseline", "QLIKE (gate's block)", "leakage", "decision"):
        table.add_column(col)
    fmt = lambda v, f: "" if v is None else format(v, f)  # noqa: E731
    for r in rows:
        table.add_row(r["version"], r["aliases"], r["created"], r["family"], r["bar"], r["horizon"],
                      fmt(r["qlike"], ".4f"), fmt(r["gain"], ".1%"), fmt(r["holdout_qlike"], ".4f"),
                      r["leakage"], r["gate"])
    return table


@models_app.command("promote")
def promote(version: Annotated[str, typer.Argument(help="Version to make the champion.")],
            bar: Bar = None, horizon: Horizon = None, home: Home = None) -> None:
    """Make VERSION the champion by hand (recorded as a manual promotion).

    Example: `cryptovol models promote 3 --horizon 7`
    """
    from mlflow.exceptions import MlflowException

    from training.aliases import promote_manually

    client, name = _client(bar, home, horizon)
    try:
        promote_manually(client, name, version)
    except MlflowException as exc:
        print_error(f"{name} has no version {version} ({exc.message})")
        raise typer.Exit(code=1) from None
    console.print(f"{name} v{version} is now @champion (manual promotion recorded)")


@models_app.command("rollback")
def rollback_cmd(bar: Bar = None, horizon: Horizon = None, home: Home = None) -> None:
    """Give @champion back to the previous champion.

    Example: `cryptovol models rollback --horizon 7`
    """
    from training.aliases import rollback

    client, name = _client(bar, home, horizon)
    try:
        current, previous = rollback(client, name)
    except LookupError as exc:
        raise fail(str(exc)) from None
    console.print(f"{name}: @champion moved back from v{current} to v{previous}")


@models_app.command("resume")
def resume_cmd(home: Home = None) -> None:
    """Register the training runs kept when the registry went away mid-registration (under
    CRYPTOVOL_HOME/pending): each exactly once, through the gate decision it was trained with.

    Example: `cryptovol models resume`
    """
    from cryptovol.cli.runtime import bootstrap
    from training.pending import resume, waiting

    settings = bootstrap(home=home)
    if not waiting(settings):
        console.print(f"nothing to resume: no kept run in {settings.home / 'pending'}")
        return
    for registered in resume(settings):
        state = "now @champion" if registered.is_champion else (
            f"@challenger (champion v{registered.champion_version})")
        console.print(f"{registered.name} v{registered.version} registered from a kept run: {state}")
