"""Binance kline files (data.binance.vision style): ``open_time,open,high,low,close,volume,
close_time,quote_volume,trades,taker_buy_volume,taker_buy_quote_volume,ignore``, with or without a
header; times in ms (older files) or µs (2025 on), decided per row by magnitude.

Rules: ``ts`` = open time + bar (the bar inferred from the open times); the symbol comes from
the file name (``BTCUSDT-1h-2024-01.csv`` → BTC) unless given; zero volume → missing, counted.
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import LoadReport, finalize
from feature_repo.loaders.common import epoch_to_utc, numeric, units_note

KLINE_COLUMNS = ["open_time", "open", "high", "low", "close", "volume", "close_time",
                 "quote_volume", "trades", "taker_buy_volume", "taker_buy_quote_volume", "ignore"]


def parse_binance(raw: pd.DataFrame, symbol: str, origin: str = "<frame>", first_line: int = 1
                  ) -> tuple[pd.DataFrame, LoadReport]:
    raw = raw.reset_index(drop=True)
    opened, unit = epoch_to_utc(raw["open_time"], origin, "open_time", first_line)
    bar = infer_bar(opened)
    step = pd.Timedelta(bar_delta(bar))
    num = {c: numeric(raw, c, origin, first_line)
           for c in ("open", "high", "low", "close", "volume", "quote_volume")}
    zero_volume = num["volume"] == 0
    candles = pd.DataFrame({
        "symbol": symbol, "ts": opened + step,
        "open": num["open"], "high": num["high"], "low": num["low"], "close": num["close"],
        "volume": num["volume"].mask(zero_volume), "quote_volume": num["quote_volume"].mask(zero_volume),
        "market_cap": float("nan"), "source": "binance",
    })
    kept, report = finalize(candles, {"zero_volume": zero_volume}, bar=step, origin=origin)
    report.notes, report.bar = units_note(unit, "open_time") + report.notes, bar
    return kept, report
