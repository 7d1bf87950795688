"""GARCH(1,1) conditional-volatility feature (``arch``), refitted on expanding windows.

For each symbol, parameters are fitted at refit points every ``refit_every`` bars on all
returns up to that point; between refits the fitted model filters the returns forward, and
the value stamped t is the one-bar-ahead conditional vol sigma(t+1 | returns <= t). Missing
returns count as 0 in the filter. Slow (one fit per symbol and refit), hence optional.
"""

from __future__ import annotations

import warnings

import numpy as np
from arch import arch_model

SCALE = 100.0  # arch prefers returns in percent


def garch_forecast(returns: np.ndarray, min_history: int, refit_every: int) -> np.ndarray:
    """One-bar-ahead GARCH(1,1) vol at each index, from returns up to it; NaN before min_history."""
    r = np.nan_to_num(returns, nan=0.0) * SCALE
    out = np.full(len(r), np.nan)
    for start in range(min_history, len(r), refit_every):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = arch_model(r[:start], mean="Zero", vol="GARCH", p=1, q=1).fit(disp="off")
        omega, alpha, beta = (fitted.params[k] for k in ("omega", "alpha[1]", "beta[1]"))
        sigma2 = fitted.conditional_volatility[-1] ** 2  # sigma²(start-1 | r <= start-2)
        # the value stamped t is sigma(t+1 | r <= t); the next refit overwrites its first value
        for t in range(start - 1, min(start + refit_every, len(r))):
            sigma2 = omega + alpha * r[t] ** 2 + beta * sigma2
            out[t] = np.sqrt(sigma2) / SCALE
    return out


def garch_family(p, r, c) -> dict:
    """``garch_vol`` for every symbol of a Panel (a loop over symbols: the feature is optional)."""
    import pandas as pd  # noqa: PLC0415

    values = np.full(len(r), np.nan)
    symbols = p.col("symbol").to_numpy()
    bounds = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        seg = r.to_numpy()[lo:hi]
        first = np.flatnonzero(~np.isnan(seg))
        if len(first) == 0:
            continue
        begin = lo + first[0]
        values[begin:hi] = garch_forecast(r.to_numpy()[begin:hi], min_history=max(100, 3 * c.long),
                                          refit_every=c.mid)
    return {"garch_vol": pd.Series(values, index=r.index)}
