"""Liquidity family: volume ratio, turnover, Amihud illiquidity, Corwin-Schultz spread."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.panel import Panel

CS_DENOM = 3 - 2 * math.sqrt(2)


def corwin_schultz(p: Panel) -> pd.Series:
    """Two-bar high-low spread estimator (Corwin & Schultz, 2012); negative estimates → 0."""
    h, lo = p.col("high"), p.col("low")
    h1, l1 = p.shift(h, 1), p.shift(lo, 1)
    beta = np.log(h / lo) ** 2 + np.log(h1 / l1) ** 2
    gamma = np.log(np.maximum(h, h1) / np.minimum(lo, l1)) ** 2
    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / CS_DENOM - np.sqrt(gamma / CS_DENOM)
    spread = 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha))
    return spread.clip(lower=0)


def liquidity_family(p: Panel, r: pd.Series, c: FeatureConfig) -> dict[str, pd.Series]:
    m = c.mid
    qv = p.col("quote_volume")
    illiquidity = r.abs() / (qv / 1e6)
    return {
        f"log_volume_ratio_{m}": np.log(qv / p.roll(qv, m)),
        "turnover": qv / p.col("market_cap"),
        f"log_amihud_{m}": np.log(p.roll(illiquidity, m)),
        f"corwin_schultz_{m}": p.roll(corwin_schultz(p), m),
    }
