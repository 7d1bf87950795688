"""Training stage, callable without Prefect: PIT training set → walk-forward evaluation of
LightGBM, CatBoost and the baselines → final model → MLflow registry through the gate."""

from __future__ import annotations

import hashlib
import logging
import subprocess
from dataclasses import dataclass

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd

from cryptovol import files
from cryptovol.settings import REPO_ROOT, Settings
from feature_repo import store as feast_store
from feature_repo.objects.feature_services import service_name
from feature_repo.offline_table import feature_table, target_table
from feature_repo.transforms.config import config_for, feature_names
from feature_repo.transforms.targets import spike_rule
from training.backtest import backtest
from training.champion import ChampionModel, live_forecasts
from training.classify import classification_scores, final_classifiers, regime_thresholds
from training.dataset import training_frame
from training.evaluate import walk_forward_evaluation
from training.explain import global_importance, shap_values
from training.folds import walk_forward
from training.gate import GateDecision, decide
from training.intervals import calibrate
from training.metrics import qlike
from training.models import CATBOOST_PARAMS, LGB_PARAMS, base_column, training_target
from training.package import VolForecaster
from training.registry import (
    RegisteredModel,
    TrainingRun,
    champion_oof,
    champion_version,
    configure,
    log_and_register,
)
from training.report import build_report, save_report
from training.scoring import per_symbol_metric_names, score, scored_rows

log = logging.getLogger(__name__)
MIN_COMMON_ROWS = 30  # fewer common holdout rows with the champion: not comparable


@dataclass(frozen=True)
class TrainSummary:
    model: RegisteredModel
    rows: int
    metrics: dict[str, float]
    leakage_flags: list[str]
    report: str


def data_fingerprint(frame: pd.DataFrame) -> str:
    """Stable hash of a training frame's contents (lineage tag)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def final_model(family: str, frame: pd.DataFrame, features: list[str], iterations: list[int],
                params: dict | None = None):
    """Refit the chosen family on every row, with the median best iteration of the folds."""
    rounds = max(int(np.median(iterations)), 10)
    if family == "lightgbm":
        model = lgb.LGBMRegressor(**{**LGB_PARAMS, **(params or {}), "n_estimators": rounds})
    else:
        model = cb.CatBoostRegressor(**{**CATBOOST_PARAMS, **(params or {}), "iterations": rounds})
    y = training_target(frame, features)
    ok = np.isfinite(y.to_numpy())
    return model.fit(frame.loc[ok, features], y[ok])


def fitted_thresholds(frame: pd.DataFrame, horizon: int, scale: float) -> dict:
    """What the run fitted besides the trees, on all its training rows (logged with the model)."""
    return {
        "regime_cut_points": {s: list(cuts) for s, cuts in regime_thresholds(frame).items()},
        "regime_cut_points_unit": f"per-bar realized vol over the next {horizon} bars (terciles)",
        "spike_rule": spike_rule(horizon),
        "vol_scale": scale,
    }


def train_and_register(settings: Settings, redis_url: str, evidence: str | None = None) -> TrainSummary:
    """Evaluate walk-forward, refit, register as ``@challenger`` and crown through the gate.

    ``evidence``: live figures the gate's reasons cite (the monitor's shadow scoring of the
    previous challenger against the champion), recorded with its decision."""
    store = feast_store.open_store(settings, redis_url)
    feast_store.apply(store, settings)  # idempotent: the registry names this home's tables
    features = feature_names(settings)
    frame = training_frame(store, settings.bar, features, target_table(settings).read())
    returns = feature_table(settings).read(["symbol", "event_timestamp", "log_return"])
    folds = walk_forward(frame["event_timestamp"], settings.bar_delta, settings.horizon,
                         folds=settings.folds, test_fraction=settings.test_fraction,
                         embargo=settings.embargo)
    evaluation = walk_forward_evaluation(frame, returns, features, folds, pd.Timedelta(settings.bar_delta),
                                         settings.horizon, stale_window=config_for(settings).long,
                                         tune_trials=settings.tune_trials)
    scores = score(evaluation.oof, settings.horizon, np.sqrt(settings.bars_per_year))
    classification = classification_scores(evaluation.oof)
    family = scores.best_model
    # the final refit uses the parameters tuned on the latest (largest) training window
    model = final_model(family, frame, features, evaluation.iterations[family],
                        evaluation.params[family][-1])
    sample = frame.sample(min(len(frame), 5000), random_state=0)
    importance = global_importance(shap_values(model, sample, features))
    scale = float(np.median(evaluation.scales[family]))
    # the package: intervals calibrated on every out-of-fold residual of the family (held out
    # by construction), classifiers fitted on the training rows
    oof = evaluation.oof
    package = VolForecaster(
        model, features, scale, base_column(features),
        intervals=calibrate(oof["symbol"], oof["target_rv"].to_numpy(), oof[family].to_numpy()),
        classifiers=final_classifiers(frame, features, settings.horizon),
        meta={"family": family, "bar": settings.bar, "horizon": settings.horizon})

    # the gate compares on the latest test block: the rows both this run and the champion
    # forecast out of sample (the champion's own OOF forecasts, and its forecasts for the bars
    # after its training data — the regime a retrain answers — never in-sample predictions)
    last = evaluation.oof[(evaluation.oof["fold"] == folds[-1].number)
                          & scored_rows(evaluation.oof, [family, scores.best_baseline])]
    client = configure(settings)
    has_champion = champion_version(client, settings.registered_model) is not None
    theirs = champion_oof(client, settings.registered_model)
    if theirs is not None:  # its own OOF forecasts, then what it forecast after its training data
        live = live_forecasts(ChampionModel.load(settings), frame)
        theirs = theirs if live is None else pd.concat([theirs, live[~live.index.isin(theirs.index)]])
    champion_q = None
    if theirs is not None:
        common = last.join(theirs, on=["symbol", "event_timestamp"], how="inner")
        common = common[common["champion"] > 0]
        if len(common) >= MIN_COMMON_ROWS:
            last, champion_q = common, qlike(common["target_rv"], common["champion"])
    challenger_q = qlike(last["target_rv"], last[family])
    baseline_q = qlike(last["target_rv"], last[scores.best_baseline])
    decision = decide(challenger_q, baseline_q, champion_q, settings.promotion_margin,
                      scores.leakage_suspected, has_champion)
    if evidence:
        decision = GateDecision(decision.promote, [*decision.reasons, evidence])

    metrics = {**{k: v for k, v in scores.summary().items() if isinstance(v, float)},
               "challenger_qlike": float(scores.pooled.loc[family, "qlike"]),
               "holdout_qlike": challenger_q, "holdout_best_baseline_qlike": baseline_q,
               "holdout_rows": float(len(last))}
    if champion_q is not None:
        metrics["holdout_champion_qlike"] = champion_q
    for task, by_name in classification.items():
        for name, m in by_name.items():
            if not name.startswith("_"):
                metrics.update({f"{task}_{name}_macro_f1": m["macro_f1"], f"{task}_{name}_brier": m["brier"],
                                f"{task}_{name}_calibration_error": m["calibration_error"]})
    metrics.update(per_symbol_metric_names(scores, family))
    params = {"family": family, "bar": settings.bar, "horizon": settings.horizon,
              "folds": len(folds), "embargo": settings.embargo, "test_fraction": settings.test_fraction,
              "iterations": int(np.median(evaluation.iterations[family])),
              "features": len(features), "rows": len(frame), "vol_scale": scale,
              "tune_trials": settings.tune_trials,
              **{f"tuned_{k}": v for k, v in evaluation.params[family][-1].items()}}
    tags = {
        "feature_service": service_name(settings.bar), "feature_list": ",".join(features),
        "data_fingerprint": data_fingerprint(frame),
        "data_range": f"{frame['event_timestamp'].min()} .. {frame['event_timestamp'].max()}",
        # the newest bar the run could see: the monitor judges only what arrives after it
        "features_end": returns["event_timestamp"].max().isoformat(),
        "git_commit": git_commit(), "leakage_suspected": str(scores.leakage_suspected).lower(),
        "best_baseline": scores.best_baseline, "vol_scale": f"{scale:.6f}",
        "top_features": ",".join(importance.index[:5]),
        "target_base": base_column(features) or "",
    }
    meta = {"model": settings.registered_model, "bar": settings.bar, "horizon": settings.horizon,
            "folds": len(folds), "embargo": settings.embargo, "data_range": tags["data_range"],
            "fold_bounds": [{k: str(v) for k, v in f.__dict__.items()} for f in folds],
            "baseline_failures": evaluation.baseline_failures}
    strategies = list(dict.fromkeys([family, scores.best_baseline, "persistence"]))
    risk = backtest(evaluation.oof[scored_rows(evaluation.oof, strategies)], evaluation.next_returns,
                    strategies, settings.bars_per_year)
    for name, values in risk["summary"].items():
        metrics.update({f"backtest_{name}_{k}": v for k, v in values.items()})
    page, figures = build_report(evaluation.oof, scores, meta, decision.reasons,
                                 np.sqrt(settings.bars_per_year), classification, importance, risk)
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S")
    stem = f"evaluation_{settings.bar}_h{settings.horizon}_{stamp}"
    report_html, _ = save_report(settings.reports_dir, stem, page, figures)
    oof_path = settings.reports_dir / f"{stem}_oof.parquet"  # to recompute any metric independently
    files.write_parquet(evaluation.oof, oof_path)
    run = TrainingRun(package=package, family=family, features=features,
                      reference=frame[["symbol", "event_timestamp", *features]], oof=evaluation.oof,
                      metrics=metrics, params=params, report=figures, report_html=report_html,
                      thresholds=fitted_thresholds(frame, settings.horizon, scale))
    registered = log_and_register(run, settings, tags, decision)
    log.info("walk-forward on %d rows: %s QLIKE %.4f vs %s %.4f (gain %.1f%%, DM p=%.3g)", len(frame),
             family, scores.pooled.loc[family, "qlike"], scores.best_baseline,
             scores.pooled.loc[scores.best_baseline, "qlike"], 100 * scores.gain,
             scores.dm[family]["dm_pvalue"])
    return TrainSummary(model=registered, rows=len(frame), metrics=metrics,
                        leakage_flags=scores.leakage_flags, report=str(report_html))
