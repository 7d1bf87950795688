"""CoinGecko-style close-only series: ``snapped_at,price,market_cap,total_volume``.

Rules: ``ts`` = ``snapped_at`` (a snapshot taken at the bar boundary is that bar's close);
open/high/low are left missing, never faked, so OHLC features come out missing; a snapshot off
the bar grid (the export-time one at the end) is ``partial_bar``; zero market cap or volume
means "not recorded". The symbol comes from the file name (``btc-usd-max.csv`` → BTC) unless given.
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import CandleError, LoadReport, finalize, positive_or_missing
from feature_repo.loaders.common import numeric


def parse_coingecko(raw: pd.DataFrame, symbol: str, origin: str = "<frame>", first_line: int = 2
                    ) -> tuple[pd.DataFrame, LoadReport]:
    raw = raw.reset_index(drop=True)
    text = raw["snapped_at"].astype(str).str.replace(" UTC", "", regex=False).str.strip()
    ts = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    if ts.isna().any():
        row = int(ts.isna().to_numpy().argmax())
        raise CandleError(f"{origin}: line {first_line + row}: field snapped_at="
                          f"{raw['snapped_at'].iloc[row]!r} is not a timestamp")
    bar = infer_bar(ts)
    step = pd.Timedelta(bar_delta(bar))
    off_grid = (ts - ts.dt.floor(step)) != pd.Timedelta(0)
    market_cap, zero_cap = positive_or_missing(numeric(raw, "market_cap", origin, first_line))
    volume, zero_volume = positive_or_missing(numeric(raw, "total_volume", origin, first_line))
    candles = pd.DataFrame({
        "symbol": symbol, "ts": ts, "open": float("nan"), "high": float("nan"), "low": float("nan"),
        "close": numeric(raw, "price", origin, first_line), "volume": float("nan"),
        "quote_volume": volume, "market_cap": market_cap, "source": "coingecko",
    })
    kept, report = finalize(candles, {"zero_volume": zero_volume, "zero_market_cap": zero_cap},
                            bar=step, partial=off_grid, origin=origin)
    report.bar = bar
    report.notes = ["close-only series: open/high/low missing, OHLC features will be missing"]
    return kept, report
