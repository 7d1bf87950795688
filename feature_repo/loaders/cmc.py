"""CoinMarketCap / Kaggle daily exports (``coin_*.csv``), as bundled in ``data/demo``.

Columns ``Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap``; ``Date`` is the close of
the UTC day written as ``YYYY-MM-DD 23:59:59``; volume and market cap are in USD and 0 means
"not recorded".

Rules: ``ts`` is the bar close put on the day boundary (``23:59:59`` + 1 s = next 00:00 UTC);
``Volume`` is quote (USD) volume, base volume is unknown and left missing; zeros in volume or
market cap become missing and are counted as ``zero_volume`` / ``zero_market_cap``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from feature_repo.loaders.candles import CandleError, LoadReport, finalize, positive_or_missing

CMC_COLUMNS = ["Symbol", "Date", "High", "Low", "Open", "Close", "Volume", "Marketcap"]


def parse_cmc(raw: pd.DataFrame, origin: str = "<frame>") -> tuple[pd.DataFrame, LoadReport]:
    """CoinMarketCap rows → canonical candles plus a load report."""
    missing = [c for c in CMC_COLUMNS if c not in raw.columns]
    if missing:
        raise CandleError(f"{origin}: not a CoinMarketCap export, missing columns {missing}")
    stamp = pd.to_datetime(raw["Date"], format="%Y-%m-%d %H:%M:%S", utc=True, errors="coerce")
    bad = stamp.isna() | (stamp.dt.strftime("%H:%M:%S") != "23:59:59")
    if bad.any():
        row = int(bad.idxmax())
        raise CandleError(
            f"{origin}: row {row}: field Date={raw['Date'].iloc[row]!r} is not a day close "
            "'YYYY-MM-DD 23:59:59'"
        )
    quote_volume, zero_volume = positive_or_missing(raw["Volume"])
    market_cap, zero_cap = positive_or_missing(raw["Marketcap"])
    candles = pd.DataFrame({
        "symbol": raw["Symbol"].astype(str).str.upper(),
        "ts": stamp + pd.Timedelta(seconds=1),
        "open": raw["Open"].astype(float),
        "high": raw["High"].astype(float),
        "low": raw["Low"].astype(float),
        "close": raw["Close"].astype(float),
        "volume": float("nan"),
        "quote_volume": quote_volume,
        "market_cap": market_cap,
        "source": "coinmarketcap",
    })
    return finalize(candles, {"zero_volume": zero_volume, "zero_market_cap": zero_cap})


def load_cmc(path: Path) -> tuple[pd.DataFrame, LoadReport]:
    """Read a CoinMarketCap export saved as CSV (one coin) or parquet (many coins)."""
    path = Path(path)
    if not path.exists():
        raise CandleError(f"{path}: no such file")
    try:
        raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # pandas/pyarrow raise many types for unreadable files
        raise CandleError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
    return parse_cmc(raw, origin=str(path))
