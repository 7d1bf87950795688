"""Realized performance of the champion: its forecasts whose horizon has passed, scored by QLIKE
next to HAR and EWMA on the same rows. Pure functions on frames (the monitor fetches them).

- Forecasts come from the prediction log (what the service returned, one per symbol and bar
  close) or, where the log has none, are the champion's forecasts recomputed point-in-time from
  the offline features of each bar after its training data (what it would have served).
- The realized value is the target of the same row: the per-bar realized vol over the H bars
  after ``as_of``; a forecast is scored once all H bars have closed.
- HAR is fitted per coin on the champion's training window only (targets known at its end);
  EWMA is the RiskMetrics vol of the ``ewma_vol`` feature, flat over the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from training.baselines import HAR_COLUMNS, HarModel, fit_har
from training.metrics import qlike_losses

MODELS = ("champion", "har", "ewma")
MIN_HAR_ROWS = 60  # a coin with fewer training rows gets the pooled HAR


@dataclass(frozen=True)
class Performance:
    scored: int  # forecasts with a realized value
    qlike: dict[str, float]  # model -> pooled QLIKE on the scored rows (NaN if none)
    per_symbol: pd.DataFrame  # symbol, rows, champion, har, ewma (QLIKE)
    rolling: pd.DataFrame  # as_of + MODELS: QLIKE over the trailing ``window`` bar closes
    source: str  # "prediction log", "recomputed" or "none"
    scored_rows: pd.DataFrame  # symbol, as_of, target_rv + MODELS (per-bar vols)

    def describe(self) -> str:
        if not self.scored:
            return "no forecast scored yet (none whose horizon has passed)"
        q = self.qlike
        return (f"champion QLIKE {q['champion']:.4f} vs HAR {q['har']:.4f}, EWMA {q['ewma']:.4f} "
                f"on {self.scored:,} scored forecasts ({self.source})")


def fit_har_per_symbol(train: pd.DataFrame) -> dict[str, HarModel]:
    """HAR per coin on training rows (features + ``target_rv``); key ``""`` is the pooled fit."""
    models = {"": fit_har(train)}
    for symbol, rows in train.groupby("symbol"):
        if rows[["target_rv", *HAR_COLUMNS]].dropna().shape[0] >= MIN_HAR_ROWS:
            models[symbol] = fit_har(rows)
    return models


def baseline_forecasts(features: pd.DataFrame, har: dict[str, HarModel]) -> pd.DataFrame:
    """``symbol, as_of, har, ewma`` (per-bar vol forecasts) for feature rows."""
    out = pd.DataFrame({"symbol": features["symbol"].to_numpy(),
                        "as_of": features["event_timestamp"].to_numpy(),
                        "ewma": features["ewma_vol"].to_numpy(dtype=float)})
    values = np.full(len(features), np.nan)
    symbols = features["symbol"].to_numpy()
    for symbol in pd.unique(symbols):
        rows = symbols == symbol
        values[rows] = har.get(symbol, har[""]).predict(features[rows])
    out["har"] = values
    return out


def logged_forecasts(log: pd.DataFrame, version: str, name: str | None = None,
                     role: str | None = None) -> pd.DataFrame:
    """``symbol, as_of, champion`` from the prediction log rows of ``name`` v``version`` (and
    ``role``): the first forecast returned for each symbol and bar close. Versions are numbered
    per registered model — one per horizon — so the name is part of the selection: v3 of the
    h14 model is not v3 of the h7 one."""
    keep = log["model_version"].astype(str) == str(version)
    if name and "model_name" in log:
        keep &= log["model_name"].astype(str) == name
    if role and "role" in log:
        keep &= log["role"] == role
    rows = log[keep].sort_values("logged_at").drop_duplicates(["symbol", "as_of"], keep="first")
    return pd.DataFrame({"symbol": rows["symbol"].to_numpy(), "as_of": rows["as_of"].to_numpy(),
                         "champion": rows["predicted_vol_per_bar"].to_numpy(dtype=float)})


def evaluate(forecasts: pd.DataFrame, baselines: pd.DataFrame, targets: pd.DataFrame,
             source: str, window: int = 30) -> Performance:
    """Score ``forecasts`` (symbol, as_of, champion) with the baselines on the same rows.

    ``targets``: symbol, event_timestamp, target_rv. Only rows where every model has a positive
    forecast and the realized value is known count. ``window``: bar closes in the rolling QLIKE.
    """
    realized = targets.rename(columns={"event_timestamp": "as_of"})[["symbol", "as_of", "target_rv"]]
    rows = (forecasts.merge(baselines, on=["symbol", "as_of"], how="inner")
            .merge(realized, on=["symbol", "as_of"], how="inner"))
    positive = np.ones(len(rows), dtype=bool)
    for column in (*MODELS, "target_rv"):
        positive &= rows[column].to_numpy(dtype=float) > 0
    rows = rows[positive].sort_values(["as_of", "symbol"], ignore_index=True)
    if rows.empty:
        empty = pd.DataFrame(columns=["symbol", "rows", *MODELS])
        return Performance(0, dict.fromkeys(MODELS, float("nan")), empty,
                           pd.DataFrame(columns=["as_of", *MODELS]), source if source else "none",
                           rows)
    losses = pd.DataFrame({m: qlike_losses(rows["target_rv"], rows[m]) for m in MODELS})
    losses["symbol"], losses["as_of"] = rows["symbol"], rows["as_of"]
    per_symbol = losses.groupby("symbol")[list(MODELS)].mean()
    per_symbol.insert(0, "rows", losses.groupby("symbol").size())
    by_close = losses.groupby("as_of")[list(MODELS)].agg(["sum", "count"])
    rolling = pd.DataFrame({"as_of": by_close.index})
    for m in MODELS:  # pooled over the coins of the trailing window of bar closes
        total = by_close[(m, "sum")].rolling(window, min_periods=1).sum()
        count = by_close[(m, "count")].rolling(window, min_periods=1).sum()
        rolling[m] = (total / count).to_numpy()
    return Performance(scored=len(rows), qlike={m: float(losses[m].mean()) for m in MODELS},
                       per_symbol=per_symbol.reset_index(), rolling=rolling, source=source,
                       scored_rows=rows[["symbol", "as_of", "target_rv", *MODELS]])


def recent(performance_rows: pd.DataFrame, days: float) -> pd.DataFrame:
    """Scored rows whose bar closed within ``days`` of the newest one (the policy's window)."""
    if performance_rows.empty:
        return performance_rows
    newest = performance_rows["as_of"].max()
    return performance_rows[performance_rows["as_of"] > newest - pd.Timedelta(days=days)]
