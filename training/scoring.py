"""Score the out-of-fold forecasts: pooled and per-coin metrics, tests against the best
baseline, and the leakage audit. Pure functions on the OOF table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.evaluate import BASELINES
from training.metrics import diebold_mariano, mincer_zarnowitz, qlike_losses, vol_metrics
from training.models import REGRESSORS

# the leakage audit's red flags (DESIGN.md: a gain that looks too good is a bug until proven otherwise)
MAX_PLAUSIBLE_GAIN = 0.15  # model vs best baseline, QLIKE
MAX_PERSISTENCE_GAIN = 0.50  # persistence vs the stale long-window vol, QLIKE


@dataclass
class Scores:
    pooled: pd.DataFrame  # forecaster x metric
    per_symbol: pd.DataFrame  # symbol x forecaster (QLIKE)
    per_fold: pd.DataFrame  # fold x forecaster (QLIKE)
    best_model: str
    best_baseline: str
    gain: float  # 1 - QLIKE(best model) / QLIKE(best baseline)
    dm: dict[str, dict[str, float]]  # model -> Diebold-Mariano vs best baseline
    rows_scored: int
    rows_total: int
    leakage_flags: list[str] = field(default_factory=list)
    per_symbol_metrics: pd.DataFrame | None = None  # (symbol, forecaster) x metric, with DM vs baseline

    @property
    def leakage_suspected(self) -> bool:
        return bool(self.leakage_flags)

    def summary(self) -> dict[str, float | str]:
        out = {"best_model": self.best_model, "best_baseline": self.best_baseline,
               "gain_vs_best_baseline": self.gain, "rows_scored": float(self.rows_scored),
               "rows_total": float(self.rows_total),
               "leakage_suspected": float(self.leakage_suspected)}
        for name, row in self.pooled.iterrows():
            for metric, value in row.items():
                out[f"{name}_{metric}"] = float(value)
        for name, test in self.dm.items():
            out[f"{name}_dm_stat"] = test["dm_stat"]
            out[f"{name}_dm_pvalue"] = test["dm_pvalue"]
        return out


def scored_rows(oof: pd.DataFrame, forecasters: list[str]) -> pd.Series:
    """Rows where the target and every forecast exist and are positive: one common sample."""
    values = oof[["target_rv", *forecasters]]
    return (values > 0).all(axis=1) & np.isfinite(values).all(axis=1)


def panel_dm(oof: pd.DataFrame, a: str, b: str, horizon: int) -> dict[str, float]:
    """Diebold-Mariano on the cross-sectional mean QLIKE difference per timestamp."""
    d = pd.Series(qlike_losses(oof["target_rv"], oof[a]) - qlike_losses(oof["target_rv"], oof[b]),
                  index=oof.index)
    by_time = d.groupby(oof["event_timestamp"]).mean().sort_index()
    return diebold_mariano(by_time.to_numpy(), np.zeros(len(by_time)), horizon)


MIN_ROWS_PER_SYMBOL = 10  # fewer test rows for a coin: no per-coin regression or test


def symbol_metrics(data: pd.DataFrame, forecasters: list[str], models: list[str], baseline: str,
                   horizon: int, annualize: float) -> pd.DataFrame:
    """Every metric per coin and forecaster, plus each model's Diebold-Mariano test against the
    best baseline on that coin's own loss series (HAC, H-1 lags)."""
    rows = []
    for symbol, g in data.groupby("symbol"):
        g = g.sort_values("event_timestamp")
        if len(g) < MIN_ROWS_PER_SYMBOL:
            continue
        base_losses = qlike_losses(g["target_rv"], g[baseline])
        for name in forecasters:
            row = {"symbol": symbol, "forecaster": name, "rows": len(g),
                   **vol_metrics(g["target_rv"], g[name], annualize),
                   **mincer_zarnowitz(g["target_rv"], g[name])}
            if name in models:
                dm = diebold_mariano(qlike_losses(g["target_rv"], g[name]), base_losses, horizon)
                row.update(dm_stat=dm["dm_stat"], dm_pvalue=dm["dm_pvalue"])
            rows.append(row)
    return pd.DataFrame(rows).set_index(["symbol", "forecaster"])


LOGGED_PER_SYMBOL = ("qlike", "mse_var", "rmse_vol_ann", "mae_vol_ann", "r2_log", "mz_slope", "mz_r2",
                     "dm_pvalue")


def per_symbol_metric_names(scores: Scores, family: str) -> dict[str, float]:
    """Flat ``<metric>_<symbol>_<forecaster>`` metrics of the family and the best baseline (MLflow)."""
    out = {}
    if scores.per_symbol_metrics is None:
        return out
    for (symbol, name), row in scores.per_symbol_metrics.iterrows():
        if name not in (family, scores.best_baseline):
            continue
        safe = re.sub(r"[^\w.\-/ ]", "_", str(symbol))
        out.update({f"{metric}_{safe}_{name}": float(row[metric]) for metric in LOGGED_PER_SYMBOL
                    if metric in row and pd.notna(row[metric])})
    return out


def score(oof: pd.DataFrame, horizon: int, annualize: float) -> Scores:
    forecasters = [*REGRESSORS, *BASELINES]
    mask = scored_rows(oof, [*forecasters, "stale"])
    data = oof[mask]
    if data.empty:
        raise ValueError("no test row has every forecast: too little history for the folds")
    pooled = pd.DataFrame({
        name: {**vol_metrics(data["target_rv"], data[name], annualize),
               **mincer_zarnowitz(data["target_rv"], data[name])}
        for name in forecasters
    }).T
    qlike = lambda g: pd.Series({n: float(np.mean(qlike_losses(g["target_rv"], g[n])))  # noqa: E731
                                 for n in forecasters})
    per_symbol = data.groupby("symbol").apply(qlike, include_groups=False)
    per_fold = data.groupby("fold").apply(qlike, include_groups=False)
    best_baseline = str(pooled.loc[list(BASELINES), "qlike"].idxmin())
    best_model = str(pooled.loc[list(REGRESSORS), "qlike"].idxmin())
    gain = 1.0 - pooled.loc[best_model, "qlike"] / pooled.loc[best_baseline, "qlike"]
    dm = {m: panel_dm(data, m, best_baseline, horizon) for m in REGRESSORS}

    flags = []
    if gain > MAX_PLAUSIBLE_GAIN:
        flags.append(f"{best_model} beats {best_baseline} by {gain:.0%} QLIKE "
                     f"(> {MAX_PLAUSIBLE_GAIN:.0%}): check that no target overlaps its features")
    stale_q = float(np.mean(qlike_losses(data["target_rv"], data["stale"])))
    persistence_gain = 1.0 - pooled.loc["persistence", "qlike"] / stale_q
    if persistence_gain > MAX_PERSISTENCE_GAIN:
        flags.append(f"persistence beats a stale long-window vol by {persistence_gain:.0%} QLIKE "
                     f"(> {MAX_PERSISTENCE_GAIN:.0%}): the target may overlap the recent returns")
    detail = symbol_metrics(data, forecasters, list(REGRESSORS), best_baseline, horizon, annualize)
    return Scores(pooled=pooled, per_symbol=per_symbol, per_fold=per_fold, best_model=best_model,
                  best_baseline=best_baseline, gain=float(gain), dm=dm, rows_scored=int(mask.sum()),
                  rows_total=len(oof), leakage_flags=flags, per_symbol_metrics=detail)
