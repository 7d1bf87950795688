"""CoinMarketCap / Kaggle daily exports (``coin_*.csv``), as bundled in ``data/demo``.

Columns ``[SNo,]Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap``; ``Date`` is the close
of the UTC day written as ``YYYY-MM-DD 23:59:59``; volume and market cap are in USD and 0 means
"not recorded".

Rules: ``ts`` is the bar close put on the day boundary (``23:59:59`` + 1 s = next 00:00 UTC);
``Volume`` is quote (USD) volume, base volume is unknown and left missing; zeros in volume or
market cap become missing and are counted as ``zero_volume`` / ``zero_market_cap``.
"""

from __future__ import annotations

import pandas as pd

from feature_repo.loaders.candles import CandleError, LoadReport, finalize, positive_or_missing
from feature_repo.loaders.common import numeric

COLUMNS = ["Symbol", "Date", "High", "Low", "Open", "Close", "Volume", "Marketcap"]
DAY = pd.Timedelta(days=1)


def _dates(text: pd.Series) -> pd.Series:
    """``YYYY-MM-DD 23:59:59`` in UTC; a written offset (``+02:00``, ``Z``) is converted to UTC."""
    text = text.astype(str).str.strip()
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(text, utc=True, errors="coerce", format="mixed")


def parse_cmc(raw: pd.DataFrame, origin: str = "<frame>", first_line: int = 2
              ) -> tuple[pd.DataFrame, LoadReport]:
    """CoinMarketCap rows → canonical candles plus a load report."""
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise CandleError(f"{origin}: not a CoinMarketCap export, missing columns {missing}")
    raw = raw.reset_index(drop=True)
    stamp = _dates(raw["Date"])
    bad = stamp.isna() | (stamp.dt.strftime("%H:%M:%S") != "23:59:59")
    if bad.any():
        row = int(bad.idxmax())
        raise CandleError(f"{origin}: line {first_line + row}: field Date={raw['Date'].iloc[row]!r} "
                          "is not a day close 'YYYY-MM-DD 23:59:59' (UTC)")
    num = {c: numeric(raw, c, origin, first_line) for c in COLUMNS[2:]}
    quote_volume, zero_volume = positive_or_missing(num["Volume"])
    market_cap, zero_cap = positive_or_missing(num["Marketcap"])
    candles = pd.DataFrame({
        "symbol": raw["Symbol"].astype(str).str.strip().str.upper(),
        "ts": stamp + pd.Timedelta(seconds=1),
        "open": num["Open"], "high": num["High"], "low": num["Low"], "close": num["Close"],
        "volume": float("nan"), "quote_volume": quote_volume, "market_cap": market_cap,
        "source": "coinmarketcap",
    })
    kept, report = finalize(candles, {"zero_volume": zero_volume, "zero_market_cap": zero_cap},
                            bar=DAY, origin=origin)
    report.bar = "1d"
    return kept, report
