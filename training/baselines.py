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
    low: np.ndarray | None = None  # per component, the smallest / largest log value fitted on
    high: np.ndarray | None = None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Components outside the range seen in fitting are clipped to it (a zero or tiny
        realized vol — a flat stretch of bars — would otherwise send the linear model in logs
        to forecasts of 1e-13 or 40 per bar)."""
        with np.errstate(divide="ignore"):
            x = np.log(frame[list(HAR_COLUMNS)].to_numpy(dtype=float))
        if self.low is not None:
            x = np.clip(x, self.low, self.high)
        log_vol = self.params[0] + x @ self.params[1:]
        return np.exp(log_vol + self.resid_var)  # sqrt(E[vol²]) of a lognormal


def fit_har(train: pd.DataFrame, target: str = "target_rv", min_rows: int = 10) -> HarModel:
    """OLS of log(target) on a constant and the logs of the HAR components."""
    cols = [target, *HAR_COLUMNS]
    data = train[cols].replace(0, np.nan).dropna()
    if len(data) < min_rows:
        raise ValueError(f"HAR needs at least {min_rows} complete training rows, got {len(data)}")
    y = np.log(data[target].to_numpy(dtype=float))
    logs = np.log(data[list(HAR_COLUMNS)].to_numpy(dtype=float))
    result = sm.OLS(y, sm.add_constant(logs, has_constant="add")).fit()
    return HarModel(params=np.asarray(result.params), resid_var=float(result.mse_resid),
                    low=logs.min(axis=0), high=logs.max(axis=0))


def _mean_variance_path(params: np.ndarray, r: np.ndarray, sigma2: np.ndarray, horizon: int
                        ) -> np.ndarray:
    """Mean of the 1..H-step GARCH(1,1) variance forecasts made at every bar, in closed form.

    One step: s1 = omega + alpha r_t² + beta sigma²_t; h steps: omega (1 + phi + ... +
    phi^(h-2)) + phi^(h-1) s1 with phi = alpha + beta (E[z²] = 1 for both error laws) — the
    recursion ``arch``'s analytic forecast runs bar by bar, as two constants per horizon."""
    omega, alpha, beta = params[:3]
    phi = alpha + beta
    powers = phi ** np.arange(horizon)  # phi^(h-1) for h = 1..H
    partial = np.concatenate([[0.0], np.cumsum(powers[:-1])])  # 1 + phi + ... + phi^(h-2)
    s1 = omega + alpha * r**2 + beta * sigma2
    return omega * partial.mean() + powers.mean() * s1


def garch_forecast(returns: pd.Series, train_end: pd.Timestamp, horizon: int,
                   closed_form: bool = False, start: dict | None = None) -> pd.Series:
    """Per-bar vol forecast for bars (t, t+H] at every t after ``train_end`` (params from <= it).

    ``returns`` is one symbol's log returns indexed by bar close time, on a regular grid
    (missing returns count as 0). ``closed_form``: the multi-step forecasts from the fitted
    parameters and the filtered variance in two vector operations instead of ``arch``'s
    per-bar forecast (the same numbers). ``start``: a dict per coin that carries each error
    law's fitted parameters to the next fold's fit as starting values (warm start); updated.
    """
    r = returns.fillna(0.0) * GARCH_SCALE
    last_train = int((r.index <= train_end).sum())  # returns the parameters may see
    if last_train < 100:
        raise ValueError(f"GARCH needs at least 100 training returns, got {last_train}")
    # GARCH(1,1)-t; when it does not converge, the simpler Gaussian GARCH(1,1) before giving up
    flags = []
    for dist in ("t", "normal"):
        model = arch_model(r.to_numpy(), mean="Zero", vol="GARCH", p=1, q=1, dist=dist)
        warm = None if start is None else start.get(dist)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = model.fit(last_obs=last_train, disp="off", starting_values=warm)
            if fitted.convergence_flag == 0:
                break
        flags.append(f"{dist}: flag {fitted.convergence_flag}")
    else:  # e.g. a pegged stablecoin: no usable GARCH fit
        raise ValueError(f"GARCH fit did not converge ({', '.join(flags)})")
    if start is not None:
        start[dist] = np.asarray(fitted.params)
    if closed_form:
        values = r.to_numpy()
        sigma2 = model.fix(fitted.params).conditional_volatility ** 2
        variance = _mean_variance_path(np.asarray(fitted.params), values[last_train:],
                                       sigma2[last_train:], horizon)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forecast = fitted.forecast(horizon=horizon, start=last_train, reindex=False)
        variance = forecast.variance.to_numpy().mean(axis=1)  # row i: made at bar last_train + i
    vol = np.sqrt(variance) / GARCH_SCALE
    return pd.Series(vol, index=r.index[last_train:last_train + len(vol)])
