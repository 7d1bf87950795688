"""Range-based estimators and technical indicators from OHLC. Close-only data gives NaN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.panel import Panel

LN2 = math.log(2.0)


def range_family(p: Panel, c: FeatureConfig) -> dict[str, pd.Series]:
    o, h, lo, cl = (p.col(k) for k in ("open", "high", "low", "close"))
    prev_close = p.shift(cl, 1)
    m = c.mid
    hl = np.log(h / lo)
    co = np.log(cl / o)
    rs_term = np.log(h / cl) * np.log(h / o) + np.log(lo / cl) * np.log(lo / o)
    out = {
        "range_pct": (h - lo) / cl,
        f"parkinson_{m}": np.sqrt(p.roll(hl**2, m) / (4 * LN2)),
        f"garman_klass_{m}": np.sqrt(p.roll(0.5 * hl**2 - (2 * LN2 - 1) * co**2, m).clip(lower=0)),
        f"rogers_satchell_{m}": np.sqrt(p.roll(rs_term, m).clip(lower=0)),
    }
    overnight = np.log(o / prev_close)
    k = 0.34 / (1.34 + (m + 1) / (m - 1))
    yz_var = p.roll(overnight, m, "var") + k * p.roll(co, m, "var") + (1 - k) * p.roll(rs_term, m)
    out[f"yang_zhang_{m}"] = np.sqrt(yz_var.clip(lower=0))

    true_range = pd.concat([h - lo, (h - prev_close).abs(), (lo - prev_close).abs()], axis=1).max(
        axis=1, skipna=False)
    out[f"atr_{c.atr}"] = p.roll(true_range, c.atr) / cl
    out[f"bollinger_width_{c.bollinger}"] = (4 * p.roll(cl, c.bollinger, "std")
                                             / p.roll(cl, c.bollinger))
    out.update(momentum(p, cl, c))
    return out


def momentum(p: Panel, close: pd.Series, c: FeatureConfig) -> dict[str, pd.Series]:
    change = close - p.shift(close, 1)
    n = c.rsi
    gain = p.ewm(change.clip(lower=0), alpha=1 / n, adjust=False, min_periods=n)
    loss = p.ewm((-change).clip(lower=0), alpha=1 / n, adjust=False, min_periods=n)
    rsi = 100 - 100 / (1 + gain / loss)
    rsi = rsi.where(loss > 0, 100.0).where(gain.notna() & loss.notna())
    fast, slow, sig = c.macd
    line = (p.ewm(close, span=fast, adjust=False, min_periods=fast)
            - p.ewm(close, span=slow, adjust=False, min_periods=slow))
    signal = p.ewm(line, span=sig, adjust=False, min_periods=sig)
    return {f"rsi_{n}": rsi, "macd": line / close, "macd_signal": signal / close,
            "macd_hist": (line - signal) / close}
