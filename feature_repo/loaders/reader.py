"""Read candle files of any supported format into canonical candles plus a load report.

``read_paths`` takes files, folders (every ``*.csv`` / ``*.parquet`` inside) and globs; the
format of each file is detected from its header (or parquet columns) unless forced.
"""

from __future__ import annotations

import csv
import glob
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from feature_repo.loaders.binance import KLINE_COLUMNS, parse_binance
from feature_repo.loaders.candles import CandleError, LoadReport
from feature_repo.loaders.canonical import parse_canonical
from feature_repo.loaders.cdd import parse_cdd
from feature_repo.loaders.cmc import parse_cmc
from feature_repo.loaders.coingecko import parse_coingecko
from feature_repo.loaders.common import symbol_from_filename

FORMATS = ("cmc", "cdd", "binance", "coingecko", "canonical")


def detect_format(columns: list[str]) -> str | None:
    names = {c.strip().lower() for c in columns}
    if {"symbol", "date", "high", "low", "open", "close", "marketcap"} <= names:
        return "cmc"
    if {"unix", "symbol", "open", "close"} <= names:
        return "cdd"
    if {"open_time", "close_time"} <= names:
        return "binance"
    if {"snapped_at", "price"} <= names:
        return "coingecko"
    if {"symbol", "ts", "close"} <= names:
        return "canonical"
    try:  # a headerless Binance kline file starts with a number
        float(columns[0])
        return "binance" if len(columns) >= 8 else None
    except (ValueError, IndexError):
        return None


def _csv_layout(path: Path) -> tuple[int, list[str]]:
    """Lines to skip (a leading URL line in CryptoDataDownload exports) and the header cells."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            first = next(reader)
            if first and first[0].lower().startswith(("http", "www.")):
                return 1, next(reader)
        except StopIteration:
            raise CandleError(f"{path}: empty file") from None
    return 0, first


def _read_raw(path: Path, fmt: str | None) -> tuple[pd.DataFrame, str, int]:
    """The file as strings, its format and the line number of its first data row."""
    if path.suffix == ".parquet":
        try:
            raw = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a broken file
            raise CandleError(f"{path}: cannot be read as parquet ({exc})") from exc
        fmt = fmt or detect_format(list(raw.columns))
        return raw, fmt, 1
    skip, header = _csv_layout(path)
    fmt = fmt or detect_format(header)
    headerless = fmt == "binance" and detect_format(header) == "binance" and "open_time" not in header
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skiprows=skip,
                          header=None if headerless else 0,
                          names=KLINE_COLUMNS[: len(header)] if headerless else None)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise CandleError(f"{path}: cannot be parsed as CSV ({exc})".replace("\n", " ")) from exc
    raw.columns = [c.strip() for c in raw.columns]
    return raw, fmt, skip + (1 if headerless else 2)


def read_file(path: Path, fmt: str | None = None, symbol: str | None = None
              ) -> tuple[pd.DataFrame, LoadReport]:
    path = Path(path)
    if not path.is_file():
        raise CandleError(f"{path}: no such file")
    if fmt is not None and fmt not in FORMATS:
        raise CandleError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    raw, fmt, first_line = _read_raw(path, fmt)
    if fmt is None:
        raise CandleError(f"{path}: unrecognised columns {list(raw.columns)[:12]}; "
                          f"use --format ({', '.join(FORMATS)})")
    if raw.empty:
        raise CandleError(f"{path}: no data rows")
    origin = str(path)
    parsers: dict[str, Callable[[], tuple[pd.DataFrame, LoadReport]]] = {
        "cmc": lambda: parse_cmc(raw, origin, first_line),
        "cdd": lambda: parse_cdd(raw, origin, first_line),
        "binance": lambda: parse_binance(raw, symbol or symbol_from_filename(path), origin, first_line),
        "coingecko": lambda: parse_coingecko(raw, symbol or symbol_from_filename(path), origin,
                                             first_line),
        "canonical": lambda: parse_canonical(raw, origin, first_line),
    }
    try:
        return parsers[fmt]()
    except KeyError as exc:  # a column the format needs is missing
        raise CandleError(f"{path}: {fmt} file without column {exc}") from exc
    except ValueError as exc:
        if isinstance(exc, CandleError):
            raise
        raise CandleError(f"{path}: {exc}") from exc


def expand_paths(items: list[str]) -> list[Path]:
    """Files, folders (their *.csv and *.parquet) and globs → the sorted list of files."""
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted([*path.glob("*.csv"), *path.glob("*.parquet")])
        elif path.exists():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(item))
        if not found:
            raise CandleError(f"{item}: no such file, folder or matching files")
        files.extend(found)
    return list(dict.fromkeys(files))


def read_paths(items: list[str], fmt: str | None = None, symbol: str | None = None,
               progress: Callable[[list[Path]], Iterable[Path]] | None = None,
               ) -> tuple[pd.DataFrame, LoadReport, list[LoadReport]]:
    """Read every file; returns all candles, the combined report and the per-file reports.

    ``progress`` wraps the list of files (e.g. a progress bar) while they are read.
    """
    frames, reports = [], []
    files = expand_paths(items)
    for path in progress(files) if progress else files:
        candles, report = read_file(path, fmt, symbol)
        frames.append(candles)
        reports.append(report)
    return pd.concat(frames, ignore_index=True), LoadReport.combine(reports), reports
