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
