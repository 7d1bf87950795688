"""Forecast-error metrics for volatility. Pure functions on arrays.

``realized`` and ``forecast`` are volatilities (standard deviations); the variance-based loss
(QLIKE) squares them. QLIKE is robust to noise in the realized proxy (Patton, 2011):
``mean(r²/f² − log(r²/f²) − 1)``, zero for a perfect forecast.
"""

from __future__ import annotations

import numpy as np


def _pair(realized, forecast) -> tuple[np.ndarray, np.ndarray]:
    r, f = np.asarray(realized, dtype=float), np.asarray(forecast, dtype=float)
    if r.shape != f.shape:
        raise ValueError(f"realized {r.shape} and forecast {f.shape} differ in shape")
    if not (np.all(r > 0) and np.all(f > 0)):
        raise ValueError("volatilities must be positive")
    return r, f


def qlike(realized, forecast) -> float:
    r, f = _pair(realized, forecast)
    ratio = r**2 / f**2
    return float(np.mean(ratio - np.log(ratio) - 1.0))


def mse_var(realized, forecast) -> float:
    r, f = _pair(realized, forecast)
    return float(np.mean((r**2 - f**2) ** 2))


def rmse(realized, forecast) -> float:
    r, f = _pair(realized, forecast)
    return float(np.sqrt(np.mean((r - f) ** 2)))


def mae(realized, forecast) -> float:
    r, f = _pair(realized, forecast)
    return float(np.mean(np.abs(r - f)))


def r2_log(realized, forecast) -> float:
    """Out-of-sample R² of log vol against the test mean."""
    r, f = _pair(realized, forecast)
    lr, lf = np.log(r), np.log(f)
    return float(1.0 - np.sum((lr - lf) ** 2) / np.sum((lr - lr.mean()) ** 2))


def vol_metrics(realized, forecast, annualize: float = 1.0) -> dict[str, float]:
    """The standard set; RMSE/MAE in annualized vol units when ``annualize`` = sqrt(bars/year)."""
    return {
        "qlike": qlike(realized, forecast),
        "mse_var": mse_var(realized, forecast),
        "rmse_vol_ann": rmse(realized, forecast) * annualize,
        "mae_vol_ann": mae(realized, forecast) * annualize,
        "r2_log": r2_log(realized, forecast),
    }


def qlike_losses(realized, forecast) -> np.ndarray:
    """Per-observation QLIKE losses (for Diebold-Mariano tests)."""
    r, f = _pair(realized, forecast)
    ratio = r**2 / f**2
    return ratio - np.log(ratio) - 1.0


def mincer_zarnowitz(realized, forecast) -> dict[str, float]:
    """OLS of realized variance on forecast variance: an unbiased forecast has intercept 0 and
    slope 1; R² measures how much of the realized variance it explains."""
    import statsmodels.api as sm  # noqa: PLC0415 - heavy import, only here

    r, f = _pair(realized, forecast)
    result = sm.OLS(r**2, sm.add_constant(f**2, has_constant="add")).fit()
    return {"mz_intercept": float(result.params[0]), "mz_slope": float(result.params[1]),
            "mz_r2": float(result.rsquared)}


def diebold_mariano(loss_a, loss_b, horizon: int = 1) -> dict[str, float]:
    """Diebold-Mariano test of equal predictive accuracy of forecasts a and b.

    d = loss_a - loss_b; the statistic is mean(d) over its HAC (Newey-West, H-1 lags, as the
    H-bar targets overlap) standard error; two-sided p-value from the normal distribution.
    A negative statistic means a has the smaller loss.
    """
    import statsmodels.api as sm  # noqa: PLC0415

    d = np.asarray(loss_a, dtype=float) - np.asarray(loss_b, dtype=float)
    if len(d) < 3:
        raise ValueError("Diebold-Mariano needs at least 3 loss differences")
    result = sm.OLS(d, np.ones_like(d)).fit(cov_type="HAC", cov_kwds={"maxlags": max(horizon - 1, 0)})
    return {"dm_stat": float(result.tvalues[0]), "dm_pvalue": float(result.pvalues[0]),
            "dm_mean_diff": float(d.mean())}
