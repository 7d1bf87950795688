"""Read candle files of any supported format into canonical candles plus a load report.

``read_paths`` takes files, folders (every ``*.csv`` / ``*.parquet`` inside) and globs; the
format of each file is detected from its header (or parquet columns) unless forced.
"""

from __future__ import annotations

import csv
import glob
import io
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from cryptovol.bars import expecting
from feature_repo.loaders.binance import KLINE_COLUMNS, parse_binance
from feature_repo.loaders.bybit import parse_bybit
from feature_repo.loaders.candles import CANDLE_COLUMNS, CandleError, LoadReport
from feature_repo.loaders.canonical import parse_canonical
from feature_repo.loaders.cdd import parse_cdd
from feature_repo.loaders.cmc import parse_cmc
from feature_repo.loaders.coingecko import parse_coingecko, parse_coingecko_history
from feature_repo.loaders.common import symbol_from_filename
from feature_repo.loaders.formats import FORMATS
from feature_repo.loaders.sniff import REPLACEMENT, Content, sniff

# the columns each format reads; bytes that are not UTF-8 elsewhere are only counted
USED_COLUMNS = {
    "cmc": {"symbol", "date", "high", "low", "open", "close", "volume", "marketcap"},
    "cdd": {"unix", "symbol", "open", "high", "low", "close", "tradecount"},
    "binance": set(KLINE_COLUMNS[:8]),
    "bybit": {"timestamp", "symbol", "open", "high", "low", "close", "volume", "turnover"},
    "coingecko": {"snapped_at", "price", "market_cap", "total_volume"},
    "coingecko-history": {"timestamp", "coinid", "price", "marketcap", "totalvolume"},
    "canonical": set(CANDLE_COLUMNS),
}
FILE_PATTERNS = ("*.csv", "*.tsv", "*.txt", "*.parquet", "*.gz", "*.bz2", "*.xz", "*.zip")


def detect_format(columns: list[str]) -> str | None:
    names = {str(c).strip().lower() for c in columns}
    if {"symbol", "date", "high", "low", "open", "close", "marketcap"} <= names:
        return "cmc"
    if {"unix", "symbol", "open", "close"} <= names:
        return "cdd"
    if {"open_time", "close_time"} <= names:
        return "binance"
    if {"snapped_at", "price"} <= names:
        return "coingecko"
    if {"timestamp", "coinid", "price"} <= names:
        return "coingecko-history"
    if {"ts", "close"} <= names:
        return "canonical"
    if {"timestamp", "open", "high", "low", "close"} <= names:
        return "bybit"
    try:  # a headerless Binance kline file starts with a number
        float(columns[0])
        return "binance" if len(columns) >= 8 else None
    except (ValueError, IndexError, TypeError):
        return None


def _used(fmt: str, column: str) -> bool:
    name = column.strip().lower()
    return name in USED_COLUMNS[fmt] or (fmt == "cdd" and name.startswith("volume"))


def _check_bytes(raw: pd.DataFrame, content: Content, fmt: str, path: Path, first_line: int
                 ) -> list[str]:
    """Bytes that are not UTF-8: an error in a column the format reads, a counted note elsewhere."""
    if content.bad_byte is None:
        return []
    unused: dict[str, int] = {}
    for col in raw.columns:
        hit = raw[col].astype("string").str.contains(REPLACEMENT, regex=False).fillna(False)
        if not hit.any():
            continue
        if _used(fmt, col):
            pos = int(hit.to_numpy().argmax())
            raise CandleError(f"{path}: line {first_line + pos}: field {col} has bytes that are not "
                              f"UTF-8 ({content.bad_byte}); re-save the file as UTF-8")
        unused[col] = int(hit.sum())
    if not unused:
        return []
    cols = ", ".join(f"{c} ({n:,} rows)" for c, n in unused.items())
    return [f"bytes that are not UTF-8 ({content.bad_byte}) in columns the platform does not "
            f"use: {cols}; read as U+FFFD"]


def _drop_repeated_headers(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Header lines repeated inside the data (concatenated exports) are skipped and counted."""
    names = [str(c).strip().lower() for c in raw.columns]
    if raw.empty or any(n.startswith("unnamed") for n in names):
        return raw, []
    cells = raw.astype("string").apply(lambda col: col.str.strip().str.lower())
    repeated = (cells == pd.Series(names, index=raw.columns)).all(axis=1)
    if not repeated.any():
        return raw, []
    return raw[~repeated], [f"{int(repeated.sum())} repeated header lines skipped"]


def _read_raw(path: Path, fmt: str | None) -> tuple[pd.DataFrame, str | None, int, list[str]]:
    """The file as strings, its format, the line number of its first data row, and notes."""
    content = sniff(path)
    if content.parquet is not None:
        try:
            raw = pd.read_parquet(io.BytesIO(content.parquet))
        except Exception as exc:  # pyarrow raises many types for a broken file
            raise CandleError(f"{path}: cannot be read as parquet ({exc})") from exc
        return raw, fmt or detect_format(list(raw.columns)), 1, content.notes
    if path.suffix.lower() == ".parquet":
        raise CandleError(f"{path}: cannot be read as parquet (no PAR1 magic bytes: truncated, "
                          "or not parquet at all)")
    lines = content.text.splitlines()
    skip = 1 if lines and lines[0].lower().startswith(("http", "www.")) else 0
    header = next(csv.reader([lines[skip] if len(lines) > skip else ""], delimiter=content.delimiter),
                  [])
    header = [h.strip() for h in header]
    detected = detect_format(header)
    fmt = fmt or detected
    headerless = fmt == "binance" and detected == "binance" and "open_time" not in header
    try:
        raw = pd.read_csv(io.StringIO(content.text), sep=content.delimiter, dtype=str,
                          keep_default_na=False, skiprows=skip, header=None if headerless else 0,
                          names=KLINE_COLUMNS[: len(header)] if headerless else None)
    except (pd.errors.ParserError, ValueError) as exc:
        raise CandleError(f"{path}: cannot be parsed as CSV ({exc})".replace("\n", " ")) from exc
    raw.columns = [str(c).strip() for c in raw.columns]
    notes = list(content.notes)
    if fmt is None:
        hint = (f" (split on {content.delimiter!r})" if len(header) > 1
                else " (one column: is the delimiter one of , ; TAB |?)")
        raise CandleError(f"{path}: unrecognised columns {header[:12]}{hint}; "
                          f"use --format ({', '.join(FORMATS)})")
    raw, repeated = _drop_repeated_headers(raw)
    first_line = skip + (1 if headerless else 2)
    notes += repeated + _check_bytes(raw, content, fmt, path, first_line)
    return raw, fmt, first_line, notes


def read_file(path: Path, fmt: str | None = None, symbol: str | None = None,
              bar: str | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """One file → canonical candles + its load report. ``bar``: the bar size expected, used
    when the file holds a single bar per symbol (nothing to infer it from)."""
    path = Path(path)
    if not path.is_file():
        raise CandleError(f"{path}: no such file")
    if fmt is not None and fmt not in FORMATS:
        raise CandleError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    raw, fmt, first_line, notes = _read_raw(path, fmt)
    if fmt is None:
        raise CandleError(f"{path}: unrecognised columns {list(raw.columns)[:12]}; "
                          f"use --format ({', '.join(FORMATS)})")
    if raw.empty:
        raise CandleError(f"{path}: no data rows")
    origin = str(path)

    def named() -> str:
        return symbol or symbol_from_filename(path)

    parsers: dict[str, Callable[[], tuple[pd.DataFrame, LoadReport]]] = {
        "cmc": lambda: parse_cmc(raw, origin, first_line),
        "cdd": lambda: parse_cdd(raw, origin, first_line),
        "binance": lambda: parse_binance(raw, named(), origin, first_line),
        "bybit": lambda: parse_bybit(raw, symbol, path, first_line),
        "coingecko": lambda: parse_coingecko(raw, named(), origin, first_line),
        "coingecko-history": lambda: parse_coingecko_history(raw, symbol, origin, first_line),
        "canonical": lambda: parse_canonical(raw, origin, first_line, symbol),
    }
    try:
        with expecting(bar):
            candles, report = parsers[fmt]()
    except KeyError as exc:  # a column the format needs is missing
        raise CandleError(f"{path}: {fmt} file without column {exc}") from exc
    except ValueError as exc:
        if isinstance(exc, CandleError):
            raise
        raise CandleError(f"{path}: {exc}") from exc
    report.notes = notes + report.notes
    return candles, report


def expand_paths(items: list[str]) -> list[Path]:
    """Files, folders (their candle files, see ``FILE_PATTERNS``) and globs → the sorted files."""
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted({f for pattern in FILE_PATTERNS for f in path.glob(pattern)})
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
               on_error: Callable[[Path, CandleError], None] | None = None,
               bar: str | None = None) -> tuple[pd.DataFrame, LoadReport, list[LoadReport]]:
    """Read every file; returns all candles, the combined report and the per-file reports.

    ``progress`` wraps the list of files (e.g. a progress bar) while they are read. A file
    that cannot be read raises :class:`CandleError`, or with ``on_error`` is passed to it and
    skipped (no readable file at all: CandleError).
    """
    frames, reports = [], []
    files = expand_paths(items)
    for path in progress(files) if progress else files:
        try:
            candles, report = read_file(path, fmt, symbol, bar)
        except CandleError as exc:
            if on_error is None:
                raise
            on_error(path, exc)
            continue
        frames.append(candles)
        reports.append(report)
    if not frames:
        raise CandleError("none of the files could be read")
    return pd.concat(frames, ignore_index=True), LoadReport.combine(reports), reports
