"""Cross-sectional family: the market, co-movement with BTC, market-cap rank.

Everything at t uses only bars closing at or before t, across coins: cross-sectional
aggregates are grouped by timestamp (vectorized), then aligned back to each coin's rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.panel import Panel

MARKET_LEADER = "BTC"


def market_return(p: Panel, r: pd.Series) -> pd.Series:
    """Cap-weighted mean log return at each t (weights: previous bar's cap); equal-weighted
    where no coin has a cap. Returned aligned to the panel's rows."""
    ts = p.col("ts")
    weight = p.shift(p.col("market_cap"), 1).where(r.notna())
    valid = r.notna()
    frame = pd.DataFrame({"ts": ts, "rw": (r * weight).where(weight.notna() & valid),
                          "w": weight.where(valid), "r": r})
    g = frame.groupby("ts")
    weighted = g["rw"].sum(min_count=1) / g["w"].sum(min_count=1)
    market = weighted.fillna(g["r"].mean())
    return ts.map(market)


def cross_section_family(p: Panel, r: pd.Series, c: FeatureConfig) -> dict[str, pd.Series]:
    m = c.mid
    ts = p.col("ts")
    market = market_return(p, r)
    leader = r[p.col("symbol").eq(MARKET_LEADER) & r.notna()]
    b = ts.map(pd.Series(leader.to_numpy(), index=ts[leader.index].to_numpy()))
    both = r.notna() & b.notna()
    rr, bb = r.where(both), b.where(both)
    mean_r, mean_b = p.roll(rr, m), p.roll(bb, m)
    cov = p.roll(rr * bb, m) - mean_r * mean_b
    var_b = p.roll(bb**2, m) - mean_b**2
    var_r = p.roll(rr**2, m) - mean_r**2
    market_rv = np.sqrt(p.roll(market.where(r.notna()) ** 2, m))
    rank = p.col("market_cap").groupby(ts).rank(ascending=False, method="min")
    return {
        "market_return": market,
        f"corr_btc_{m}": (cov / np.sqrt(var_r * var_b)).clip(-1, 1),
        f"beta_btc_{m}": cov / var_b,
        f"vol_minus_market_{m}": np.sqrt(p.roll(r**2, m)) - market_rv,
        "mcap_rank": rank,
    }
