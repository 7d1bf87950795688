"""CryptoDataDownload exports (``Binance_BTCUSDT_1h.csv``): ``unix,date,symbol,open,high,low,close,
Volume <BASE>,Volume <QUOTE>[,tradecount]``, optionally below a first line with the site's URL.

Rules (each counted in the load report):
- rows run newest first; ``unix`` is the bar's **open** time, so ``ts`` = open + bar;
- ``unix`` is trusted over ``date``; seconds, ms or µs are decided per row by magnitude
  (spliced exports mix them); rows whose ``date`` disagrees with ``unix`` are counted in a note;
- the newest row of each symbol is the candle still open at export time: ``partial_bar``;
- duplicated bars (overlapping exports) keep the full-precision copy: the one whose ``unix``
  is in ms/µs and that has a trade count; the others are ``duplicate_bar``;
- zero volume means "not recorded": base and quote volume become missing (``zero_volume``).
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import CandleError, LoadReport, finalize
from feature_repo.loaders.common import base_symbol, epoch_to_utc, numeric, units_note

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %I-%p", "%Y-%m-%d")


def _parse_dates(text: pd.Series) -> pd.Series:
    """The ``date`` column (only checked against ``unix``): CDD's formats, else ISO with offset."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for fmt in (*DATE_FORMATS, "ISO8601"):
        todo = out.isna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(text[todo], format=fmt, utc=True, errors="coerce")
    return out


def parse_cdd(raw: pd.DataFrame, origin: str = "<frame>", first_line: int = 2
              ) -> tuple[pd.DataFrame, LoadReport]:
    cols = list(raw.columns)
    base_col = next((c for c in cols if c.lower().startswith("volume ") and c[7:].upper() != "USDT"
                      and c[7:].upper() not in ("USD", "BUSD", "USDC")), None)
    quote_col = next((c for c in cols if c.lower().startswith("volume ") and c != base_col), None)
    for needed in ("unix", "symbol", "open", "high", "low", "close"):
        if needed not in cols:
            raise CandleError(f"{origin}: not a CryptoDataDownload export, no column {needed!r}")
    raw = raw.reset_index(drop=True)
    opened, unit = epoch_to_utc(raw["unix"], origin, "unix", first_line)
    symbols = raw["symbol"].astype(str).map(base_symbol)
    bar = infer_bar(opened, symbols)
    step = pd.Timedelta(bar_delta(bar))
    prices = {c: numeric(raw, c, origin, first_line) for c in ("open", "high", "low", "close")}
    nan = pd.Series(float("nan"), index=raw.index)
    volume = numeric(raw, base_col, origin, first_line) if base_col else nan
    quote = numeric(raw, quote_col, origin, first_line) if quote_col else nan
    zero_volume = (volume == 0) | (volume.isna() & (quote == 0))
    candles = pd.DataFrame({
        "symbol": symbols, "ts": opened + step, **prices,
        "volume": volume.mask(zero_volume), "quote_volume": quote.mask(zero_volume),
        "market_cap": float("nan"), "source": "cryptodatadownload",
    })
    has_count = raw["tradecount"].notna() if "tradecount" in cols else pd.Series(False, index=raw.index)
    priority = (unit != "s").astype(int) * 2 + has_count.astype(int)
    partial = opened.eq(opened.groupby(symbols).transform("max"))

    notes = units_note(unit, "unix")
    if "date" in cols:
        dated = _parse_dates(raw["date"].astype(str).str.strip())
        off = dated.notna() & (dated != opened)
        if off.any():
            hours = ((dated[off] - opened[off]).abs() / pd.Timedelta(hours=1)).round().astype(int)
            notes.append(f"{int(off.sum())} rows have a date that disagrees with unix "
                         f"(by {', '.join(f'{h} h' for h in sorted(hours.unique()))}); unix trusted")
    kept, report = finalize(candles, {"zero_volume": zero_volume}, bar=step, priority=priority,
                            partial=partial, origin=origin)
    report.notes, report.bar = notes + report.notes, bar
    return kept, report
