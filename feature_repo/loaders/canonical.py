"""The canonical schema itself (CSV or parquet): ``symbol, ts, open, high, low, close`` plus the
optional ``volume, quote_volume, market_cap, source``. ``ts`` is the bar close; naive times are UTC.
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import CandleError, LoadReport, finalize, positive_or_missing
from feature_repo.loaders.common import numeric


def parse_canonical(raw: pd.DataFrame, origin: str = "<frame>", first_line: int = 2
                    ) -> tuple[pd.DataFrame, LoadReport]:
    for needed in ("symbol", "ts", "close"):
        if needed not in raw.columns:
            raise CandleError(f"{origin}: canonical candles need a {needed!r} column")
    raw = raw.reset_index(drop=True)
    ts = pd.to_datetime(raw["ts"], utc=True, errors="coerce", format="mixed")
    if ts.isna().any():
        row = int(ts.isna().to_numpy().argmax())
        raise CandleError(f"{origin}: line {first_line + row}: field ts={raw['ts'].iloc[row]!r} "
                          "is not a timestamp")
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
