"""The canonical schema itself (CSV or parquet): ``symbol, ts, open, high, low, close`` plus the
optional ``volume, quote_volume, market_cap, source``. ``ts`` is the bar close: ISO text (an
offset such as ``+02:00`` or ``Z`` is converted, naive times are UTC) or epoch s/ms/µs. A file
without a ``symbol`` column takes ``--symbol`` (which must agree with the column if there is one).
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import CandleError, LoadReport, finalize, positive_or_missing
from feature_repo.loaders.common import numeric, parse_times


def parse_canonical(raw: pd.DataFrame, origin: str = "<frame>", first_line: int = 2,
                    symbol: str | None = None) -> tuple[pd.DataFrame, LoadReport]:
    """``symbol`` names the coin of a file without a ``symbol`` column (``--symbol``)."""
    for needed in ("ts", "close"):
        if needed not in raw.columns:
            raise CandleError(f"{origin}: canonical candles need a {needed!r} column")
    raw = raw.reset_index(drop=True)
    if "symbol" not in raw.columns:
        if not symbol:
            raise CandleError(f"{origin}: canonical candles without a 'symbol' column; "
                              "name the coin with --symbol")
        raw = raw.assign(symbol=symbol)
    elif symbol:
        named = set(raw["symbol"].astype(str).str.strip().str.upper())
        if named != {symbol.strip().upper()}:
            raise CandleError(f"{origin}: --symbol {symbol} disagrees with the file's symbol column "
                              f"({', '.join(sorted(named)[:5])}); drop --symbol for this file")
    ts = parse_times(raw["ts"], origin, "ts", first_line)
    out = pd.DataFrame({"symbol": raw["symbol"].astype(str).str.strip().str.upper(), "ts": ts})
    for col in ("open", "high", "low", "close"):
        out[col] = numeric(raw, col, origin, first_line) if col in raw else float("nan")
    marked = {}
    for col in ("volume", "quote_volume", "market_cap"):
        values = (numeric(raw, col, origin, first_line) if col in raw
                  else pd.Series(float("nan"), index=raw.index))
        out[col], marked[f"zero_{col}"] = positive_or_missing(values)
    out["source"] = raw["source"].astype(str) if "source" in raw else "canonical"
    bar = infer_bar(out["ts"], out["symbol"])
    kept, report = finalize(out, marked, bar=pd.Timedelta(bar_delta(bar)), origin=origin)
    report.bar = bar
    return kept, report
