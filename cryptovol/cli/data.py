"""``cryptovol ingest`` and ``cryptovol data ...``: candles into the store, and what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import track
from rich.table import Table

from cryptovol.cli.console import console, err, fail
from cryptovol.cli.options import Bar, Home, Verbose
from feature_repo.loaders.formats import FORMATS

data_app = typer.Typer(help="Inspect the candle store and the feature catalog.\n\n"
                       "Example: `cryptovol data report --bar 1h`", no_args_is_help=True)

QUARANTINE_COLUMNS = {"q_missing_price": "no price", "q_non_finite_price": "non-finite",
                      "q_non_positive_price": "price<=0", "q_ohlc_inconsistent": "OHLC",
                      "q_future_bar": "future", "q_ancient_bar": "before 2009",
                      "q_partial_bar": "partial", "q_duplicate_bar": "duplicate",
                      "q_bad_print": "bad print"}


def _fmt_ts(value) -> str:
    return "" if value is None or str(value) == "NaT" else str(value)[:16].replace("T", " ")


def print_load_report(result) -> None:
    report = result.report
    table = Table(title=f"load report ({report.bar or '?'} bars read)")
    for col in ("file", "symbol", "read", "kept", "quarantined (reasons)", "zero vol", "missing",
                "bar closes"):
        table.add_column(col, justify="right" if col in ("read", "kept", "zero vol", "missing") else "left")
    for _, row in report.per_symbol.iterrows():
        reasons = ", ".join(f"{int(row[c]):,} {label}" for c, label in QUARANTINE_COLUMNS.items()
                            if row.get(c, 0))
        if row.get("duplicate_conflicts", 0):
            reasons += f"; {int(row['duplicate_conflicts']):,} duplicated bars disagree"
        table.add_row(Path(row["origin"]).name, row["symbol"], f"{row['read']:,}", f"{row['kept']:,}",
                      f"{row['quarantined']:,}" + (f" ({reasons})" if reasons else ""),
                      f"{row.get('zero_volume', 0):,}", f"{row.get('missing_bars', 0):,}",
                      f"{_fmt_ts(row.get('first'))} → {_fmt_ts(row.get('last'))}")
    console.print(table)
    totals = report.totals()
    balanced = "yes" if report.balanced else "NO"
    console.print(f"read {totals['read']:,} = kept {totals['kept']:,} + quarantined "
                  f"{totals['quarantined']:,}: {balanced}")
    for note in report.notes:
        console.print(f"note: {note}")
    if len(report.gaps):
        shown = report.gaps.head(20)
        console.print(f"{len(report.gaps)} gaps ({int(report.gaps['missing_bars'].sum())} missing bars):")
        for _, gap in shown.iterrows():
            console.print(f"  {gap['symbol']}: {gap['missing_bars']} bar(s) missing after "
                          f"{_fmt_ts(gap['after'])}")
        if len(report.gaps) > len(shown):
            console.print(f"  ... and {len(report.gaps) - len(shown)} more")
    if result.resampled:
        r = result.resampled
        console.print(f"resampled to {result.bar}: {r['coarse_bars']:,} bars "
                      f"({r['kept_incomplete']} with a missing fine bar kept, "
                      f"{r['dropped_incomplete']} incomplete dropped)")
    s = result.stored
    console.print(f"candle store ({result.bar}): {s.inserted:,} new, {s.updated:,} updated, "
                  f"{s.unchanged:,} unchanged; {s.total:,} bars in all")
    if result.saved:
        console.print(f"report saved: {result.saved}")


def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs of candle files.")],
    fmt: Annotated[str | None, typer.Option(
        "--format", show_default=False,
        help=f"Force the format: {', '.join(FORMATS)} (default: detected from the header).")] = None,
    symbol: Annotated[str | None, typer.Option(help="Ticker for files that do not name it.")] = None,
    bar: Annotated[str | None, typer.Option(help="Store at this bar size, resampling if coarser "
                                            "(default: the files' own bar).")] = None,
    home: Home = None,
    verbose: Verbose = False,
) -> None:
    """Load candle files into the candle store, with a load report (read = kept + quarantined).

    Example: `cryptovol ingest ../shared/data/hourly/ --bar 1h`
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging
    from feature_repo.loaders.candles import CandleError

    settings = bootstrap(home=home)
    configure_logging(verbose)
    from feature_repo.ingest import ingest as run_ingest

    def progress(files):
        return track(files, description="reading", console=err, transient=True,
                     disable=len(files) < 2)

    try:
        result = run_ingest(settings, paths, fmt, symbol, bar, progress)
    except (CandleError, ValueError) as exc:
        raise fail(str(exc)) from None
    print_load_report(result)


@data_app.command("report")
def report(
    bar: Bar = None,
    home: Home = None,
) -> None:
    """Coverage of the candle store per symbol: range, bars, gaps, quarantined rows.

    Example: `cryptovol data report --bar 1h`
    """
    import pandas as pd

    from cryptovol.bars import bar_delta
    from cryptovol.cli.runtime import bootstrap
    from feature_repo import candle_store

    settings = bootstrap(check_backends=False, home=home, bar=bar)
    bar = settings.bar  # the option, else CRYPTOVOL_BAR, else 1d
    candles = candle_store.read_candles(settings.home, bar)
    if candles.empty:
        raise fail(f"no {bar} candles in {settings.home / 'candles'}: run `cryptovol ingest PATH` first")
    quarantine = candle_store.read_quarantine(settings.home, bar)
    table = Table(title=f"candle store: {bar} bars in {settings.home / 'candles'}")
    for col in ("symbol", "first close", "last close", "bars", "missing bars", "gaps", "quarantined"):
        table.add_column(col, justify="left" if col == "symbol" else "right")
    cover = candle_store.coverage(candles, quarantine, pd.Timedelta(bar_delta(bar)))
    for _, row in cover.iterrows():
        table.add_row(row["symbol"], _fmt_ts(row["first"]), _fmt_ts(row["last"]), f"{row['bars']:,}",
                      f"{row['missing_bars']:,}", f"{row['gaps']:,}", f"{row['quarantined']:,}")
    console.print(table)


@data_app.command("features")
def features(
    bar: Bar = None,
    garch: Annotated[bool, typer.Option(help="Include the optional GARCH feature.")] = False,
) -> None:
    """The feature catalog for a bar size: every feature with its one-line description.

    Example: `cryptovol data features --bar 1h --garch`
    """
    from cryptovol.settings import Settings
    from feature_repo.transforms.config import FeatureConfig, catalog

    bar = bar or Settings().bar  # the option, else CRYPTOVOL_BAR, else 1d

    config = FeatureConfig.for_bar(bar, garch=garch)
    table = Table(title=f"{len(catalog(config))} features on {bar} bars (vols per bar)")
    table.add_column("feature")
    table.add_column("description")
    for name, text in catalog(config).items():
        table.add_row(name, text)
    console.print(table)
