"""Prediction intervals by split-conformal calibration of log residuals.

The residual of a forecast is ``log(realized vol) - log(forecast)``. Its empirical quantiles on
held-out rows — the fold's validation block in the walk-forward, the out-of-fold rows for the
registered model — turn a point forecast ``v`` into ``[v x exp(q_lo), v x exp(q_hi)]``. Coins
differ (a stablecoin's de-pegs are far from its calm forecast): a coin with at least
``MIN_ROWS_PER_SYMBOL`` held-out residuals gets its own quantiles, the others the pooled ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LEVELS = (0.80, 0.95)
MIN_ROWS_PER_SYMBOL = 150


def level_name(level: float) -> str:
    return f"{round(level * 100):d}"


@dataclass(frozen=True)
class IntervalCalibration:
    """Per level: (low, high) log-residual quantiles, pooled and per coin."""

    pooled: dict[str, tuple[float, float]]
    per_symbol: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    rows: int = 0

    def bounds(self, symbols: pd.Series | np.ndarray, forecast: np.ndarray
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """level name → (low, high) arrays for each row's forecast."""
        symbols = np.asarray(symbols)
        out = {}
        for level, (lo, hi) in self.pooled.items():
            q_lo, q_hi = np.full(len(forecast), lo), np.full(len(forecast), hi)
            for symbol in set(symbols.tolist()) & set(self.per_symbol):
                rows = symbols == symbol
                q_lo[rows], q_hi[rows] = self.per_symbol[symbol][level]
            out[level] = (forecast * np.exp(q_lo), forecast * np.exp(q_hi))
        return out

    def to_json(self) -> dict:
        return {"pooled": self.pooled, "per_symbol": self.per_symbol, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict) -> IntervalCalibration:
        pair = lambda v: (float(v[0]), float(v[1]))  # noqa: E731
        return cls(pooled={k: pair(v) for k, v in data["pooled"].items()},
                   per_symbol={s: {k: pair(v) for k, v in levels.items()}
                               for s, levels in data.get("per_symbol", {}).items()},
                   rows=int(data.get("rows", 0)))


def _quantiles(residuals: np.ndarray, levels: tuple[float, ...]) -> dict[str, tuple[float, float]]:
    out = {}
    for level in levels:
        # the finite-sample conformal correction: the ceil((n+1)(1-a/2))/n quantile
        n = len(residuals)
        tail = (1 - level) / 2
        lo = np.quantile(residuals, max(0.0, np.floor((n + 1) * tail) / n), method="lower")
        hi = np.quantile(residuals, min(1.0, np.ceil((n + 1) * (1 - tail)) / n), method="higher")
        out[level_name(level)] = (float(lo), float(hi))
    return out


def calibrate(symbols: pd.Series, target: np.ndarray, forecast: np.ndarray,
              levels: tuple[float, ...] = LEVELS) -> IntervalCalibration | None:
    """Quantiles of the log residuals of held-out forecasts; None without 30 usable rows."""
    target, forecast = np.asarray(target, dtype=float), np.asarray(forecast, dtype=float)
    ok = (target > 0) & (forecast > 0) & np.isfinite(target) & np.isfinite(forecast)
    if ok.sum() < 30:
        return None
    residual = pd.Series(np.log(target[ok] / forecast[ok]), index=np.asarray(symbols)[ok])
    per_symbol = {str(s): _quantiles(r.to_numpy(), levels)
                  for s, r in residual.groupby(level=0) if len(r) >= MIN_ROWS_PER_SYMBOL}
    return IntervalCalibration(_quantiles(residual.to_numpy(), levels), per_symbol, int(ok.sum()))


def coverage(oof: pd.DataFrame, forecaster: str, by: list[str] | None = None) -> pd.DataFrame:
    """Share of realized vols inside each interval of ``forecaster`` (columns
    ``<forecaster>_lo<L>`` / ``_hi<L>`` of the OOF table), pooled or grouped ``by``."""
    levels = [level_name(v) for v in LEVELS if f"{forecaster}_lo{level_name(v)}" in oof.columns]
    rows = oof.dropna(subset=["target_rv", *[f"{forecaster}_lo{k}" for k in levels]])
    inside = pd.DataFrame({
        f"coverage_{k}": ((rows["target_rv"] >= rows[f"{forecaster}_lo{k}"])
                          & (rows["target_rv"] <= rows[f"{forecaster}_hi{k}"])).astype(float)
        for k in levels}, index=rows.index)
    if not by:
        return inside.mean().to_frame("pooled").T.assign(rows=len(rows))
    grouped = inside.groupby([rows[c] for c in by])
    return grouped.mean().assign(rows=grouped.size())
