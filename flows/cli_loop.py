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
