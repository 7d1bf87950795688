"""Resample canonical candles to a coarser bar (e.g. 1h → 1d). Pure function.

A coarse bar is labelled by its close time (the ceiling of its fine bars' close times) and
aggregates open = first, high = max, low = min, close = last, volumes = sum of the recorded
ones, market cap = last. A coarse bar needs at least ``min_coverage`` of its fine bars; the
others (typically the still-open newest one, or a day with an exchange outage) are dropped
and counted.
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta


def resample(candles: pd.DataFrame, from_bar: str, to_bar: str, min_coverage: float = 0.9
             ) -> tuple[pd.DataFrame, dict[str, int]]:
    fine, coarse = pd.Timedelta(bar_delta(from_bar)), pd.Timedelta(bar_delta(to_bar))
    if coarse <= fine or coarse % fine:
        raise ValueError(f"cannot resample {from_bar} bars to {to_bar}: not a coarser multiple")
    ordered = candles.sort_values(["symbol", "ts"])
    bucket = ordered["ts"].dt.ceil(coarse)
    g = ordered.groupby(["symbol", bucket], sort=True)
    out = g.agg(open=("open", "first"), high=("high", "max"), low=("low", "min"),
                close=("close", "last"), market_cap=("market_cap", "last"),
                source=("source", "first"), n=("close", "size"))
    out["volume"] = g["volume"].sum(min_count=1)
    out["quote_volume"] = g["quote_volume"].sum(min_count=1)
    out = out.reset_index().rename(columns={"ts": "ts"})
    complete = out["n"] >= min_coverage * (coarse / fine)
    stats = {"coarse_bars": int(complete.sum()), "dropped_incomplete": int((~complete).sum()),
             "kept_incomplete": int((complete & (out["n"] < coarse / fine)).sum())}
    cols = ["symbol", "ts", "open", "high", "low", "close", "volume", "quote_volume", "market_cap",
            "source"]
    return out.loc[complete, cols].reset_index(drop=True), stats
