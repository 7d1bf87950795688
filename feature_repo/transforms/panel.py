"""A regular bar grid of many symbols, laid out so rolling windows are one vectorized call.

Each symbol's bars are reindexed to every bar between its first and last (missing bars become
NaN rows) and the symbols are stacked with ``pad`` NaN rows between them. A trailing window of
at most ``pad`` bars therefore never reaches into another symbol, so plain (ungrouped) pandas
rolling, shifting and cumulative operations give per-symbol results without a Python loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Panel:
    frame: pd.DataFrame  # padded grid: symbol, ts, candle columns, observed (bool)
    pad: int

    @classmethod
    def build(cls, candles: pd.DataFrame, bar: pd.Timedelta, pad: int) -> Panel:
        """Scatter the candles onto the padded grid (positions computed, no join)."""
        step = pd.Timedelta(bar)
        symbol = candles["symbol"].astype("category")
        ts = candles["ts"]
        span = ts.groupby(symbol, observed=True).agg(["min", "max"])
        counts = ((span["max"] - span["min"]) // step + 1).astype(np.int64).to_numpy() + pad
        first_row = np.cumsum(counts) - counts  # grid row of each symbol's first (padding) row
        total = int(counts.sum())
        code = symbol.cat.codes.to_numpy()
        order = span.index.get_indexer(symbol.cat.categories)  # category code -> span row
        k = order[code]
        micros = ts.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(np.int64)
        first_us = span["min"].dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(np.int64)
        offset = (micros - first_us[k]) // (step // pd.Timedelta(microseconds=1))
        position = first_row[k] + pad + offset

        names = np.repeat(span.index.to_numpy(), counts)
        starts = np.repeat(span["min"].dt.tz_convert(None).to_numpy() - pad * step, counts)
        within = np.arange(total) - np.repeat(first_row, counts)
        frame = pd.DataFrame({
            "symbol": pd.Categorical(names, categories=list(span.index)),
            "ts": pd.DatetimeIndex(starts + within * step).tz_localize("UTC").astype(ts.dtype),
        })
        for col in ("open", "high", "low", "close", "volume", "quote_volume", "market_cap"):
            values = np.full(total, np.nan)
            values[position] = candles[col].to_numpy(dtype="float64")
            frame[col] = values
        observed = np.zeros(total, dtype=bool)
        observed[position] = True
        frame["observed"] = observed
        return cls(frame=frame, pad=pad)

    def col(self, name: str) -> pd.Series:
        return self.frame[name]

    def roll(self, values: pd.Series, window: int, how: str = "mean", full: bool = False) -> pd.Series:
        """Trailing window over bars; needs 80% of the window observed (all of it if ``full``)."""
        assert window <= self.pad, f"window {window} longer than the padding {self.pad}"
        min_periods = window if full else max(2, math.ceil(0.8 * window))
        return getattr(values.rolling(window, min_periods=min(min_periods, window)), how)()

    def roll_grouped(self, values: pd.Series, window: int, how: str) -> pd.Series:
        """As :meth:`roll`, but restarted per symbol (grouped rolling, in Cython).

        For statistics whose running state pandas does not reset across the NaN padding
        (skew, kurtosis), so one symbol's values cannot move another's last digits.
        """
        min_periods = max(2, math.ceil(0.8 * window))
        rolled = getattr(values.groupby(self.frame["symbol"], sort=False, observed=True)
                         .rolling(window, min_periods=min_periods), how)()
        return rolled.reset_index(level=0, drop=True).sort_index()

    def shift(self, values: pd.Series, k: int = 1) -> pd.Series:
        assert abs(k) <= self.pad
        return values.shift(k)

    def ewm(self, values: pd.Series, **kwargs) -> pd.Series:
        """Exponentially weighted mean, restarted for each symbol (grouped, in Cython)."""
        out = values.groupby(self.frame["symbol"], sort=False, observed=True).ewm(**kwargs).mean()
        return out.reset_index(level=0, drop=True).sort_index()

    def observed(self, table: pd.DataFrame) -> pd.DataFrame:
        """Keep the rows of real bars (drop padding and missing bars)."""
        return table[self.frame["observed"].to_numpy()].reset_index(drop=True)

    def observed_values(self, values: pd.Series) -> np.ndarray:
        """A column's values at real bars as float64, with +-inf turned into NaN."""
        out = values.to_numpy(dtype="float64")[self.frame["observed"].to_numpy()]
        out[~np.isfinite(out)] = np.nan
        return out
