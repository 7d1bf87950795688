"""Econometric baseline forecasts of the next-H-bar realized vol (per bar).

- persistence: the realized vol of the last H bars;
- EWMA (RiskMetrics, lambda 0.94): flat forecast sigma(t+1 | t);
- HAR-RV in logs (Corsi, 2009): OLS of log future vol on log daily / weekly / monthly vol,
  fitted per symbol on the training window; the forecast is sqrt(E[variance]) under lognormal
  errors, exp(mean + resid_var), the QLIKE-optimal level;
- GARCH(1,1) with Student-t errors (``arch``): fitted per symbol on the training window, then
  the mean of its 1..H-step variance forecasts from each test bar.
Everything fitted uses the training window only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from arch import arch_model

HAR_COLUMNS = ("har_rv_d", "har_rv_w", "har_rv_m")
GARCH_SCALE = 100.0


def ewma_vol(returns: np.ndarray, lam: float = 0.94) -> np.ndarray:
    """sigma(t+1 | r <= t) of the RiskMetrics recursion, started at r[0]²; NaN returns skipped."""
    out = np.full(len(returns), np.nan)
    var = np.nan
    for t, r in enumerate(returns):
        if not np.isnan(r):
            var = r * r if np.isnan(var) else lam * var + (1 - lam) * r * r
        out[t] = np.sqrt(var)
    return out


@dataclass(frozen=True)
class HarModel:
    params: np.ndarray  # const, d, w, m (in logs)
    resid_var: float

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = np.log(frame[list(HAR_COLUMNS)].to_numpy(dtype=float))
        log_vol = self.params[0] + x @ self.params[1:]
        return np.exp(log_vol + self.resid_var)  # sqrt(E[vol²]) of a lognormal


def fit_har(train: pd.DataFrame, target: str = "target_rv") -> HarModel:
    """OLS of log(target) on a constant and the logs of the HAR components."""
    cols = [target, *HAR_COLUMNS]
    data = train[cols].replace(0, np.nan).dropna()
    if len(data) < 10:
        raise ValueError(f"HAR needs at least 10 complete training rows, got {len(data)}")
    y = np.log(data[target].to_numpy(dtype=float))
    x = sm.add_constant(np.log(data[list(HAR_COLUMNS)].to_numpy(dtype=float)), has_constant="add")
    result = sm.OLS(y, x).fit()
    return HarModel(params=np.asarray(result.params), resid_var=float(result.mse_resid))


def garch_forecast(returns: pd.Series, train_end: pd.Timestamp, horizon: int) -> pd.Series:
    """Per-bar vol forecast for bars (t, t+H] at every t after ``train_end`` (params from <= it).

    ``returns`` is one symbol's log returns indexed by bar close time, on a regular grid
    (missing returns count as 0).
    """
    r = returns.fillna(0.0) * GARCH_SCALE
    last_train = int((r.index <= train_end).sum())  # returns the parameters may see
    if last_train < 100:
        raise ValueError(f"GARCH needs at least 100 training returns, got {last_train}")
    # GARCH(1,1)-t; when it does not converge, the simpler Gaussian GARCH(1,1) before giving up
    flags = []
    for dist in ("t", "normal"):
        model = arch_model(r.to_numpy(), mean="Zero", vol="GARCH", p=1, q=1, dist=dist)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = model.fit(last_obs=last_train, disp="off")
            if fitted.convergence_flag == 0:
                forecast = fitted.forecast(horizon=horizon, start=last_train, reindex=False)
                break
        flags.append(f"{dist}: flag {fitted.convergence_flag}")
    else:  # e.g. a pegged stablecoin: no usable GARCH fit
        raise ValueError(f"GARCH fit did not converge ({', '.join(flags)})")
    variance = forecast.variance.to_numpy()  # row i: forecasts made at bar last_train + i
    vol = np.sqrt(variance.mean(axis=1)) / GARCH_SCALE
    return pd.Series(vol, index=r.index[last_train:last_train + len(vol)])
