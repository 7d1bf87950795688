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
        step = pd.Timedelta(bar)
        span = candles.groupby("symbol")["ts"].agg(["min", "max"])
        counts = ((span["max"] - span["min"]) // step + 1).astype(int).to_numpy() + pad
        total = int(counts.sum())
        symbols = np.repeat(span.index.to_numpy(), counts)
        starts = np.repeat(span["min"].dt.tz_convert(None).to_numpy() - pad * step, counts)
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        grid = pd.DataFrame({"symbol": symbols,
                             "ts": pd.DatetimeIndex(starts + offsets * step).tz_localize("UTC")})
        grid["ts"] = grid["ts"].astype(candles["ts"].dtype)
        frame = grid.merge(candles, on=["symbol", "ts"], how="left", indicator="observed")
        frame["observed"] = frame["observed"].eq("both")
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
        rolled = getattr(values.groupby(self.frame["symbol"], sort=False)
                         .rolling(window, min_periods=min_periods), how)()
        return rolled.reset_index(level=0, drop=True).sort_index()

    def shift(self, values: pd.Series, k: int = 1) -> pd.Series:
        assert abs(k) <= self.pad
        return values.shift(k)

    def ewm(self, values: pd.Series, **kwargs) -> pd.Series:
        """Exponentially weighted mean, restarted for each symbol (grouped, in Cython)."""
        out = values.groupby(self.frame["symbol"], sort=False).ewm(**kwargs).mean()
        return out.reset_index(level=0, drop=True).sort_index()

    def observed(self, table: pd.DataFrame) -> pd.DataFrame:
        """Keep the rows of real bars (drop padding and missing bars)."""
        return table[self.frame["observed"].to_numpy()].reset_index(drop=True)
