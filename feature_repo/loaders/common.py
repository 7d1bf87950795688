"""Parsing helpers shared by the loaders: numbers and epochs with line-exact errors, tickers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from feature_repo.loaders.candles import CandleError

QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB")
NULLS = {"", "NULL", "null", "NaN", "nan", "None"}


def numeric(frame: pd.DataFrame, column: str, origin: str, first_line: int) -> pd.Series:
    """A column as float; empty/NULL become NaN, anything else unparsable is an error.

    ``first_line`` is the file line number of the frame's first row, so the error points at
    the exact line.
    """
    raw = frame[column]
    text = raw.astype("string").str.strip()
    values = pd.to_numeric(text.where(~text.isin(NULLS)), errors="coerce")
    bad = values.isna() & text.notna() & ~text.isin(NULLS)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        value = str(raw.iloc[pos])
        hint = ("; decimal commas are not read: export with a decimal point"
                if "," in value and value.replace(",", "").replace(".", "").strip().isdigit() else "")
        raise CandleError(f"{origin}: line {first_line + pos}: field {column}={value!r} "
                          f"is not a number{hint}")
    return values.astype(float)


def epoch_to_utc(values: pd.Series, origin: str, field: str, first_line: int
                 ) -> tuple[pd.Series, pd.Series]:
    """Epoch numbers in s, ms or µs (decided per value by magnitude) → UTC timestamps, units."""
    numbers = values if values.dtype.kind == "f" else None
    if numbers is None:
        numbers = numeric(pd.DataFrame({field: values}), field, origin, first_line)
    if numbers.isna().any():
        pos = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise CandleError(f"{origin}: line {first_line + pos}: field {field} is empty")
    unit = pd.Series(np.select([numbers >= 1e14, numbers >= 1e11], ["us", "ms"], "s"),
                     index=values.index)
    micros = numbers * np.select([unit == "us", unit == "ms"], [1.0, 1e3], 1e6)
    ts = pd.to_datetime(micros.round().astype("int64"), unit="us", utc=True)
    return ts, unit


def parse_times(values: pd.Series, origin: str, field: str, first_line: int) -> pd.Series:
    """Times as text or epoch numbers → UTC timestamps; errors name the line.

    Numbers are epochs in s, ms or µs (by magnitude). Text is ISO-like: a UTC offset
    (``+02:00``, ``Z``) is converted to UTC, a trailing `` UTC`` is accepted, and a time without
    an offset is taken as UTC.
    """
    text = values.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        return epoch_to_utc(numbers, origin, field, first_line)[0]
    text = text.str.replace(r"\s*UTC$", "", regex=True)
    try:
        ts = pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        ts = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    if ts.isna().any():
        pos = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise CandleError(f"{origin}: line {first_line + pos}: field {field}={values.iloc[pos]!r} "
                          "is not a timestamp")
    return ts


def units_note(unit: pd.Series, field: str) -> list[str]:
    counts = unit.value_counts()
    if len(counts) <= 1:
        return []
    parts = ", ".join(f"{n:,} in {u}" for u, n in counts.items())
    return [f"mixed timestamp units in {field}: {parts} (decided per row by magnitude)"]


def base_symbol(pair: str) -> str:
    """``BTC/USDT`` → ``BTC``; ``BTCUSDT`` → ``BTC``; ``btc`` → ``BTC``."""
    pair = pair.strip().upper()
    if "/" in pair or "-" in pair:
        return re.split(r"[/-]", pair)[0]
    for quote in QUOTES:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)]
    return pair


PROVIDERS = {"binance", "bybit", "coingecko", "coinbase", "kraken", "okx", "kucoin", "bitstamp",
             "cryptodatadownload", "cdd", "cmc", "coin"}


def symbol_from_filename(path: Path) -> str:
    """``BTCUSDT-1h-2024-01.csv`` → BTC; ``btc-usd-max.csv`` → BTC; ``Binance_ETHUSDT_1h`` → ETH;
    ``bybit_BTCUSDT_60.csv`` → BTC: the first part of the name that is not a provider's."""
    name = path.name.split(".")[0]
    parts = [p for p in re.split(r"[-_ .]", name) if p]
    for part in parts:
        if part.lower() not in PROVIDERS and not part.isdigit():
            return base_symbol(part)
    return base_symbol(parts[0]) if parts else ""
