"""Bybit kline exports: ``timestamp,open,high,low,close,volume[,turnover]``.

``timestamp`` is the bar's **open** time, as ISO text with a UTC offset
(``2024-03-01T00:00:00+00:00``) or as epoch ms; ``volume`` is in the base coin and ``turnover``
in the quote currency. The file carries no symbol: it comes from a ``symbol`` column if there
is one, else ``--symbol``, else the file name (``BTCUSDT_60_bybit.csv`` → BTC).

Rules: ``ts`` = open + bar (the bar inferred from the open times); rows may run newest first;
zero volume means "not recorded" (missing, counted).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import CandleError, LoadReport, finalize
from feature_repo.loaders.common import base_symbol, numeric, parse_times, symbol_from_filename


def _symbols(raw: pd.DataFrame, symbol: str | None, path: Path) -> pd.Series | str:
    if "symbol" in raw.columns:
        column = raw["symbol"].astype(str).map(base_symbol)
        if symbol and set(column) != {base_symbol(symbol)}:
            raise CandleError(f"{path}: --symbol {symbol} disagrees with the file's symbol column")
        return column
    name = symbol or symbol_from_filename(path)
    if not name:
        raise CandleError(f"{path}: Bybit export without a symbol; name the coin with --symbol")
    return base_symbol(name)


def parse_bybit(raw: pd.DataFrame, symbol: str | None, path: Path | str, first_line: int = 2
                ) -> tuple[pd.DataFrame, LoadReport]:
    path = Path(path)
    origin = str(path)
    raw = raw.reset_index(drop=True)
    opened = parse_times(raw["timestamp"], origin, "timestamp", first_line)
    symbols = _symbols(raw, symbol, path)
    bar = infer_bar(opened, symbols if isinstance(symbols, pd.Series) else None)
    step = pd.Timedelta(bar_delta(bar))
    num = {c: numeric(raw, c, origin, first_line) for c in ("open", "high", "low", "close")}
    volume = (numeric(raw, "volume", origin, first_line) if "volume" in raw
              else pd.Series(float("nan"), index=raw.index))
    turnover = (numeric(raw, "turnover", origin, first_line) if "turnover" in raw
                else pd.Series(float("nan"), index=raw.index))
    zero_volume = volume == 0
    candles = pd.DataFrame({
        "symbol": symbols, "ts": opened + step, **num,
        "volume": volume.mask(zero_volume), "quote_volume": turnover.mask(zero_volume),
        "market_cap": float("nan"), "source": "bybit",
    })
    kept, report = finalize(candles, {"zero_volume": zero_volume}, bar=step, origin=origin)
    report.bar = bar
    return kept, report
