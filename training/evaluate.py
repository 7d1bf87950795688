"""Walk-forward evaluation: every model and baseline forecasts the same test rows of each fold.

The result is the out-of-fold (OOF) table: one row per (symbol, t) in a test block, with the
fold, the realized target and one column per forecaster (per-bar vol over the next H bars).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from training.baselines import fit_har, garch_forecast
from training.calibration import SLOPE_BOUNDS, fit_level
from training.classify import classify_fold
from training.folds import Fold
from training.intervals import calibrate
from training.models import REGRESSORS, base_column, best_iteration, fit_regressor, vol_scale
from training.package import VolForecaster
from training.profiles import DEFAULT, TrainingProfile
from training.progress import Steps
from training.sequence import FAMILY as SEQUENCE_FAMILY
from training.sequence import SequenceConfig, fit_sequence
from training.tuning import tune

log = logging.getLogger(__name__)

BASELINES = ("persistence", "ewma", "har", "garch")
# a coin's own HAR needs this many non-overlapping target windows of training rows (50 x H):
# fitted on a month of hourly bars (ADA's first fold) the OLS on overlapping targets forecast
# 0.8 per bar where 0.01 was realized; the pooled HAR of every coin stands in below it
MIN_HAR_WINDOWS = 50


@dataclass
class Evaluation:
    oof: pd.DataFrame
    folds: list[Fold]
    iterations: dict[str, list[int]]  # model family -> best iteration per fold
    scales: dict[str, list[float]]  # model family -> smearing factor per fold
    params: dict[str, list[dict]]  # model family -> tuned parameters per fold ({} untuned)
    next_returns: pd.DataFrame  # symbol, event_timestamp, next_return (for the backtest)
    baseline_failures: list[dict] = field(default_factory=list)  # baseline, symbol, fold, reason

    @property
    def forecasters(self) -> list[str]:
        return [*self.iterations, *BASELINES]


def regular_returns(returns: pd.DataFrame, bar: pd.Timedelta) -> dict[str, pd.Series]:
    """Each symbol's log returns on its regular bar grid (missing bars as NaN)."""
    out = {}
    for symbol, g in returns.groupby("symbol"):
        series = g.set_index("event_timestamp")["log_return"].sort_index()
        out[symbol] = series.asfreq(bar)
    return out


def next_returns(returns: dict[str, pd.Series]) -> pd.DataFrame:
    """The log return of bar t+1 at each t (for the risk backtest)."""
    rows = [pd.DataFrame({"symbol": s, "event_timestamp": r.index, "next_return": r.shift(-1)})
            for s, r in returns.items()]
    return pd.concat(rows, ignore_index=True)


def persistence(returns: dict[str, pd.Series], horizon: int, stale_window: int) -> pd.DataFrame:
    """At each t: ``persistence``, the realized vol of the last H bars (all H returns needed),
    and ``stale``, the realized vol of a long window that ended H bars earlier — the sanity
    reference of the leakage audit."""
    rows = []
    for s, r in returns.items():
        r2 = r**2
        long = np.sqrt(r2.rolling(stale_window, min_periods=int(0.8 * stale_window)).mean())
        rows.append(pd.DataFrame({
            "symbol": s, "event_timestamp": r.index,
            "persistence": np.sqrt(r2.rolling(horizon, min_periods=horizon).mean()),
            "stale": long.shift(horizon)}))
    return pd.concat(rows, ignore_index=True)


def _baselines_for_fold(train: pd.DataFrame, test: pd.DataFrame, returns: dict[str, pd.Series],
                        fold: Fold, horizon: int, failures: list[dict], profile: TrainingProfile,
                        garch_start: dict[str, dict]) -> pd.DataFrame:
    """HAR and GARCH per coin; a fit that fails leaves that baseline's rows empty for that coin
    and fold only (recorded in ``failures`` with the reason), never anything else's.
    ``garch_start``: per coin, the previous fold's GARCH parameters (the fast profile's warm
    start; updated)."""
    out = test[["symbol", "event_timestamp"]].copy()
    out["har"] = np.nan
    out["garch"] = np.nan
    try:  # the panel HAR of every coin: the simpler variant for a coin with a short history
        pooled = fit_har(train)
    except ValueError:
        pooled = None
    for symbol, rows in test.groupby("symbol"):
        history = train[train["symbol"] == symbol]
        try:
            har = fit_har(history, min_rows=MIN_HAR_WINDOWS * horizon)
        except ValueError as exc:  # too little history for this coin in this fold
            har = pooled
            failures.append({"baseline": "har", "symbol": symbol, "fold": fold.number,
                             "reason": str(exc)[:200],
                             "fallback": "pooled HAR of every coin" if pooled else None})
        if har is not None:
            out.loc[rows.index, "har"] = har.predict(rows)
        series = returns[symbol][: fold.test_end]
        try:
            warm = garch_start.setdefault(symbol, {}) if profile.garch_closed_form else None
            garch = garch_forecast(series, fold.train_end, horizon,
                                   closed_form=profile.garch_closed_form, start=warm)
            out.loc[rows.index, "garch"] = rows["event_timestamp"].map(garch).to_numpy()
        except ValueError as exc:
            log.debug("fold %d %s: no GARCH (%s)", fold.number, symbol, exc)
            failures.append({"baseline": "garch", "symbol": symbol, "fold": fold.number,
                             "reason": str(exc)[:200]})
    return out


def level_maps(model, features: list[str], valid: pd.DataFrame, horizon: int
               ) -> tuple[VolForecaster, dict[str, VolForecaster]]:
    """The trees without any level map, and with each of ``LEVEL_MAPS`` fitted on the
    validation block (``training.calibration``)."""
    raw = VolForecaster(model, features, 1.0, base_column(features))
    maps = {"smearing": replace(raw, scale=vol_scale(model, valid, features))}
    raw_valid = raw.raw_vol(valid)
    for name, bounds in SLOPE_BOUNDS.items():
        maps[name] = replace(raw, calibration=fit_level(
            valid["symbol"].to_numpy(), valid["target_rv"].to_numpy(), raw_valid, horizon,
            slope_bounds=bounds))
    return raw, maps


def _level(forecaster: VolForecaster, symbols: np.ndarray, raw: np.ndarray) -> np.ndarray:
    c = forecaster.calibration
    return c.apply(symbols, raw) if c else forecaster.scale * raw


def walk_forward_evaluation(
    frame: pd.DataFrame, returns: pd.DataFrame, features: list[str], folds: list[Fold],
    bar: pd.Timedelta, horizon: int, stale_window: int, steps: Steps | None = None,
    tune_trials: int = 0, profile: TrainingProfile = DEFAULT, level_map: str = "smearing",
    sequence: SequenceConfig | None = None,
) -> Evaluation:
    """Fit every model family and baseline on each fold's training window; forecast its test
    block. ``sequence``: also the GRU challenger (``training.sequence``) with these settings."""
    frame = frame.sort_values(["event_timestamp", "symbol"], ignore_index=True)
    profile = profile.sized(len(frame))
    series = regular_returns(returns, bar)
    persist = persistence(series, horizon, stale_window)
    families = [*REGRESSORS, *([SEQUENCE_FAMILY] if sequence else [])]
    parts, iterations, scales = [], {k: [] for k in families}, {k: [] for k in families}
    tuned: dict[str, list[dict]] = {k: [] for k in families}
    failures: list[dict] = []
    garch_start: dict[str, dict] = {}
    steps = steps or Steps("walk-forward", 0)
    for fold in folds:
        m = fold.masks(frame["event_timestamp"])
        fit, valid = frame[m["fit"]], frame[m["valid"]]
        train, test = frame[m["train"]], frame[m["test"]]
        predictions = test[["symbol", "event_timestamp", "target_rv"]].assign(fold=fold.number)
        for kind in families:
            if kind == SEQUENCE_FAMILY:  # the windows read every row before t: the whole frame
                params, model = {}, fit_sequence(frame, fit, valid, features, sequence)
            else:
                params = tune(kind, fit, valid, features, tune_trials, seed=fold.number, profile=profile)
                model = fit_regressor(kind, fit, valid, features, params, profile)
            tuned[kind].append(params)
            raw, maps = level_maps(model, features, valid, horizon)
            point = maps[level_map]
            # intervals calibrated on the validation block: held out from the fit, before the test
            intervals = calibrate(valid["symbol"], valid["target_rv"].to_numpy(),
                                  point.predict(valid)["vol"].to_numpy())
            forecast = replace(point, intervals=intervals).predict(test)
            predictions[kind] = forecast["vol"].to_numpy()
            raw_test = raw.raw_vol(test)
            predictions[f"{kind}_raw"] = raw_test  # before any level map
            for name, other in maps.items():  # every map's forecast, for the report's comparison
                predictions[f"{kind}_level_{name}"] = _level(other, test["symbol"].to_numpy(), raw_test)
            for column in forecast.columns.drop("vol"):  # vol_lo80 -> lightgbm_lo80
                predictions[f"{kind}_{column.removeprefix('vol_')}"] = forecast[column].to_numpy()
            iterations[kind].append(best_iteration(model))
            scales[kind].append(point.calibration.scale if point.calibration else point.scale)
            steps.step(f"fold {fold.number} of {len(folds)}: {kind}")
        predictions["ewma"] = test["ewma_vol"].to_numpy()
        base = _baselines_for_fold(train, test, series, fold, horizon, failures, profile,
                                   garch_start)
        predictions[["har", "garch"]] = base[["har", "garch"]].to_numpy()
        steps.step(f"fold {fold.number} of {len(folds)}: baselines")
        classes = classify_fold(fit, valid, train, test, features, predictions["har"].to_numpy(),
                                profile, horizon)
        steps.step(f"fold {fold.number} of {len(folds)}: regime and spike classifiers")
        parts.append(pd.concat([predictions, classes], axis=1))
        log.info("fold %d: fit %d, valid %d, test %d rows (%s .. %s)", fold.number, len(fit),
                 len(valid), len(test), fold.test_start.date(), fold.test_end.date())
    oof = pd.concat(parts, ignore_index=True).merge(persist, on=["symbol", "event_timestamp"],
                                                    how="left")
    cols = ["symbol", "event_timestamp", "fold", "target_rv", *families, *BASELINES, "stale"]
    cols += [c for c in oof.columns if c not in cols]  # regime / spike truth and probabilities
    return Evaluation(oof=oof[cols], folds=folds, iterations=iterations, scales=scales, params=tuned,
                      next_returns=next_returns(series), baseline_failures=failures)
