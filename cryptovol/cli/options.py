"""The options every command group shares, each defined once with one help text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Home = Annotated[Path | None, typer.Option(
    help="Folder of every output and store (env CRYPTOVOL_HOME; default ./.cryptovol).",
    show_default=False)]
Bar = Annotated[str | None, typer.Option(
    help="Bar size, e.g. 1d or 1h (env CRYPTOVOL_BAR; default 1d).", show_default=False)]
Horizon = Annotated[int | None, typer.Option(
    min=1, help="Forecast horizon in bars (env CRYPTOVOL_HORIZON; default 7).", show_default=False)]
Horizons = Annotated[list[int] | None, typer.Option(
    "--horizon", min=1, show_default=False,
    help="Forecast horizon in bars; repeat it for several, each its own registered model "
         "(env CRYPTOVOL_HORIZON; default 7).")]
Verbose = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Debug logging, and tracebacks with errors.")]
