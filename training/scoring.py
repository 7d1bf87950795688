"""Score the out-of-fold forecasts: pooled and per-coin metrics, tests against the best
baseline, and the leakage audit. Pure functions on the OOF table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.evaluate import BASELINES
from training.metrics import diebold_mariano, mincer_zarnowitz, qlike_losses, vol_metrics
from training.models import models_in

# the leakage audit's prompts (docs/architecture.md: a gain that looks too good is a bug until proven
# otherwise); the proof either way is the direct evidence of ``training.leakage``
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
    missing: pd.DataFrame | None = None  # forecaster, symbol, fold, rows: scored rows it lacks

    @property
    def leakage_suspected(self) -> bool:
        """A threshold prompt fired: a reason to look (``training.leakage`` decides)."""
        return bool(self.leakage_flags)

    def summary(self) -> dict[str, float | str]:
        out = {"best_model": self.best_model, "best_baseline": self.best_baseline,
               "gain_vs_best_baseline": self.gain, "rows_scored": float(self.rows_scored),
               "rows_total": float(self.rows_total),
               "leakage_prompts": float(len(self.leakage_flags))}
        for name, row in self.pooled.iterrows():
            for metric, value in row.items():
                if metric != "rows" or value != self.rows_scored:  # rows: only when short
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
    """Every metric per coin and forecaster (each on its own forecast rows: the models' are all
    of ``data``), plus each model's Diebold-Mariano test against the best baseline on that coin's
    own loss series over their common rows (HAC, H-1 lags)."""
    rows = []
    for symbol, g in data.groupby("symbol"):
        g = g.sort_values("event_timestamp")
        for name in forecasters:
            own = g[valid(g, name)]
            if len(own) < MIN_ROWS_PER_SYMBOL:
                continue
            row = {"symbol": symbol, "forecaster": name, "rows": len(own),
                   **vol_metrics(own["target_rv"], own[name], annualize),
                   **mincer_zarnowitz(own["target_rv"], own[name])}
            common = own[valid(own, baseline)]
            if name in models and len(common) >= MIN_ROWS_PER_SYMBOL:
                dm = diebold_mariano(qlike_losses(common["target_rv"], common[name]),
                                     qlike_losses(common["target_rv"], common[baseline]), horizon)
                row.update(dm_stat=dm["dm_stat"], dm_pvalue=dm["dm_pvalue"])
            rows.append(row)
    return pd.DataFrame(rows).set_index(["symbol", "forecaster"])


def valid(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    return (values > 0) & np.isfinite(values)


def missing_rows(data: pd.DataFrame, forecasters: list[str]) -> pd.DataFrame:
    """Per forecaster, coin and fold: the scored rows it has no forecast for (a baseline that
    could not be fitted there). Empty when every forecaster covers every row."""
    parts = []
    for name in forecasters:
        lost = data[~valid(data, name)]
        if len(lost):
            parts.append(lost.groupby(["symbol", "fold"]).size().rename("rows").reset_index()
                         .assign(forecaster=name))
    if not parts:
        return pd.DataFrame(columns=["forecaster", "symbol", "fold", "rows"])
    return pd.concat(parts, ignore_index=True)[["forecaster", "symbol", "fold", "rows"]]


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
    """Score the models on every test row where all of them forecast, each baseline on those of
    them it has a forecast for: a baseline that failed to fit on a coin/fold (GARCH that did not
    converge) loses its own rows only, never the models'. Baselines are ranked on the rows all of
    them cover; a model's gain and Diebold-Mariano test against the best baseline use the rows
    both cover."""
    models = models_in(oof)
    forecasters = [*models, *BASELINES]
    mask = scored_rows(oof, models)
    data = oof[mask]
    if data.empty:
        raise ValueError("no test row has every forecast: too little history for the folds")

    def metrics(name: str) -> dict:
        own = data[valid(data, name)]
        if own.empty:
            return {"rows": 0}
        return {"rows": len(own), **vol_metrics(own["target_rv"], own[name], annualize),
                **mincer_zarnowitz(own["target_rv"], own[name])}

    pooled = pd.DataFrame({name: metrics(name) for name in forecasters}).T

    def qlike_by(g: pd.DataFrame) -> pd.Series:
        return pd.Series({n: float(np.mean(qlike_losses(g.loc[valid(g, n), "target_rv"],
                                                        g.loc[valid(g, n), n])))
                          if valid(g, n).any() else np.nan for n in forecasters})

    per_symbol = data.groupby("symbol").apply(qlike_by, include_groups=False)
    per_fold = data.groupby("fold").apply(qlike_by, include_groups=False)
    every_baseline = data[scored_rows(data, list(BASELINES))]
    ranking = every_baseline if len(every_baseline) else data
    baseline_q = {b: float(np.mean(qlike_losses(ranking.loc[valid(ranking, b), "target_rv"],
                                                 ranking.loc[valid(ranking, b), b])))
                  for b in BASELINES if valid(ranking, b).any()}
    best_baseline = min(baseline_q, key=baseline_q.get)
    best_model = str(pooled.loc[models, "qlike"].astype(float).idxmin())
    common = data[valid(data, best_baseline)]
    gain = 1.0 - (float(np.mean(qlike_losses(common["target_rv"], common[best_model])))
                  / float(np.mean(qlike_losses(common["target_rv"], common[best_baseline]))))
    dm = {m: panel_dm(common, m, best_baseline, horizon) for m in models}

    flags = []
    if gain > MAX_PLAUSIBLE_GAIN:
        flags.append(f"{best_model} beats {best_baseline} by {gain:.0%} QLIKE "
                     f"(> {MAX_PLAUSIBLE_GAIN:.0%}): check that no target overlaps its features")
    both = data[valid(data, "stale") & valid(data, "persistence")]
    if len(both):
        persistence_gain = 1.0 - (float(np.mean(qlike_losses(both["target_rv"], both["persistence"])))
                                  / float(np.mean(qlike_losses(both["target_rv"], both["stale"]))))
        if persistence_gain > MAX_PERSISTENCE_GAIN:
            flags.append(f"persistence beats a stale long-window vol by {persistence_gain:.0%} "
                         f"QLIKE (> {MAX_PERSISTENCE_GAIN:.0%}): the target may overlap the recent "
                         "returns")
    detail = symbol_metrics(data, forecasters, models, best_baseline, horizon, annualize)
    return Scores(pooled=pooled, per_symbol=per_symbol, per_fold=per_fold, best_model=best_model,
                  best_baseline=best_baseline, gain=float(gain), dm=dm, rows_scored=int(mask.sum()),
                  rows_total=len(oof), leakage_flags=flags, per_symbol_metrics=detail,
                  missing=missing_rows(data, forecasters))
