"""Point-in-time features: a value stamped t uses only bars whose close is <= t.

Pure functions on canonical candles (see ``feature_repo.loaders.candles``). The candles are
laid on a padded bar grid (:class:`Panel`) so rolling windows count bars, not rows, a missing
bar leaves missing values instead of a return spanning two bars, and every family is computed
for all symbols at once with vectorized pandas/numpy operations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptovol.bars import bar_delta
from feature_repo.transforms.config import FeatureConfig, catalog
from feature_repo.transforms.cross_section import cross_section_family
from feature_repo.transforms.garch import garch_family
from feature_repo.transforms.liquidity import liquidity_family
from feature_repo.transforms.panel import Panel
from feature_repo.transforms.ranges import range_family
from feature_repo.transforms.returns_vol import returns_family, volatility_family


def log_returns(p: Panel) -> pd.Series:
    """Log close-to-close return per bar (missing when either bar is missing)."""
    close = p.col("close")
    return np.log(close / p.shift(close, 1))


def calendar_family(p: Panel, c: FeatureConfig) -> dict[str, pd.Series]:
    ts = p.col("ts")
    # the day a bar belongs to: its close minus a hair (a daily bar closing 00:00 is the day before)
    day = (ts - pd.Timedelta(microseconds=1)).dt.dayofweek
    out = {"dow_sin": np.sin(2 * np.pi * day / 7), "dow_cos": np.cos(2 * np.pi * day / 7)}
    if c.intraday:
        hour = ts.dt.hour + ts.dt.minute / 60
        out["hour_sin"] = np.sin(2 * np.pi * hour / 24)
        out["hour_cos"] = np.cos(2 * np.pi * hour / 24)
    return out


def compute_features(candles: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    """Feature table: ``symbol, event_timestamp`` + the catalog's features, one row per bar."""
    step = pd.Timedelta(bar_delta(config.bar))
    p = Panel.build(candles, step, pad=config.max_window)
    names = list(catalog(config))
    column = {name: i for i, name in enumerate(names)}
    mask = p.col("observed").to_numpy()
    # one preallocated block (column-major, as pandas stores it): each family writes its
    # columns and is freed before the next is computed, so memory stays near the output size
    values = np.empty((int(mask.sum()), len(names)), dtype="float64", order="F")
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0), 0/0 -> inf/NaN -> NaN
        r = log_returns(p)
        families = [
            lambda: returns_family(p, r, config), lambda: volatility_family(p, r, config),
            lambda: range_family(p, config), lambda: liquidity_family(p, r, config),
            lambda: cross_section_family(p, r, config), lambda: calendar_family(p, config),
        ]
        if config.garch:
            families.append(lambda: garch_family(p, r, config))
        for build in families:
            for name, series in build().items():
                values[:, column[name]] = p.observed_values(series)
    table = pd.DataFrame(values, columns=names, copy=False)
    table.insert(0, "event_timestamp", p.col("ts")[mask].reset_index(drop=True))
    table.insert(0, "symbol", p.col("symbol").to_numpy()[mask].astype(object))
    return table
