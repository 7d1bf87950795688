"""Training stage, callable without Prefect: PIT training set → walk-forward evaluation of
LightGBM, CatBoost and the baselines → leakage audit → final package → gate → MLflow registry.

:func:`train_and_register` runs the named steps below in order; each is a plain function of
what the previous ones returned, so a test or a notebook can run any of them alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cryptovol import files
from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo import store as feast_store
from feature_repo.offline_table import feature_table, target_table
from feature_repo.refresh import lookback_bars
from feature_repo.transforms.config import config_for, feature_names
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import spike_rule
from training import leakage, sequence
from training.backtest import backtest
from training.calibration import SLOPE_BOUNDS, fit_level
from training.classify import classification_scores, final_classifiers, regime_thresholds
from training.dataset import training_frame
from training.evaluate import Evaluation, walk_forward_evaluation
from training.explain import global_importance, shap_values
from training.folds import Fold, walk_forward
from training.intervals import calibrate
from training.level_report import level_comparison
from training.models import REGRESSORS, base_column, regressor, training_target
from training.package import VolForecaster
from training.pending import register_kept, resume_before_training
from training.profiles import DEFAULT, TrainingProfile, profile
from training.progress import Steps
from training.promotion import GateContext, Judgement, judge
from training.registry import RegisteredModel, TrainingRun
from training.report import build_report, save_report
from training.run_record import run_metrics, run_params, run_tags
from training.scoring import Scores, score, scored_rows

log = logging.getLogger(__name__)
AUDIT_TIMES = 4  # sampled timestamps whose features are recomputed from truncated candles


@dataclass(frozen=True)
class TrainSummary:
    model: RegisteredModel
    rows: int
    metrics: dict[str, float]
    leakage_flags: list[str]  # what held the run back (empty: the audit's checks passed)
    report: str
    leakage_prompts: tuple[str, ...] = ()  # threshold prompts the direct checks answered


@dataclass(frozen=True)
class TrainingData:
    frame: pd.DataFrame  # one row per (symbol, t) with a target: features joined PIT by Feast
    returns: pd.DataFrame  # symbol, event_timestamp, log_return of every feature row
    features: list[str]
    folds: list[Fold]


def load_training_data(settings: Settings, redis_url: str) -> TrainingData:
    store = feast_store.open_store(settings, redis_url)
    feast_store.apply(store, settings)  # idempotent: the registry names this home's tables
    features = feature_names(settings)
    frame = training_frame(store, settings.bar, features, target_table(settings).read())
    returns = feature_table(settings).read(["symbol", "event_timestamp", "log_return"])
    folds = walk_forward(frame["event_timestamp"], settings.bar_delta, settings.horizon,
                         folds=settings.folds, test_fraction=settings.test_fraction,
                         embargo=settings.embargo)
    return TrainingData(frame, returns, features, folds)


def evaluate(data: TrainingData, settings: Settings, prof: TrainingProfile,
             steps: Steps | None = None) -> tuple[Evaluation, Scores, dict]:
    """Walk-forward of every model and baseline on the same folds; scores; classification."""
    if settings.sequence_model:
        sequence.require()
    evaluation = walk_forward_evaluation(
        data.frame, data.returns, data.features, data.folds, pd.Timedelta(settings.bar_delta),
        settings.horizon, stale_window=config_for(settings).long, tune_trials=settings.tune_trials,
        profile=prof, level_map=settings.level_map, steps=steps,
        sequence=sequence.SequenceConfig.for_bar(settings.bar) if settings.sequence_model else None)
    scores = score(evaluation.oof, settings.horizon, np.sqrt(settings.bars_per_year))
    return evaluation, scores, classification_scores(evaluation.oof)


def audit_leakage(data: TrainingData, settings: Settings, prompts: list[str]) -> leakage.LeakageAudit:
    """The direct checks (``training.leakage``) on this run's own candles, features and folds."""
    bar = pd.Timedelta(settings.bar_delta)
    audit = leakage.LeakageAudit(prompts=list(prompts))
    audit.checks.append(leakage.purged_folds(data.frame["event_timestamp"], data.folds, bar,
                                             settings.horizon))
    candles = candle_store.read_candles(settings.home, settings.bar)
    if candles.empty:
        return audit
    config = config_for(settings)
    reach = lookback_bars(config, settings.horizon) * bar

    def recompute(upto: pd.DataFrame, t: pd.Timestamp) -> pd.DataFrame:
        return compute_features(upto if config.garch else upto[upto["ts"] > t - reach], config)

    tested = data.frame[data.frame["event_timestamp"] >= data.folds[0].test_start]
    times = leakage.sample_times(tested["event_timestamp"], AUDIT_TIMES)
    audit.checks.append(leakage.features_point_in_time(data.frame, candles, data.features, times,
                                                       recompute))
    audit.checks.append(leakage.target_after_t(tested, candles, bar, settings.horizon))
    return audit


def final_model(family: str, frame: pd.DataFrame, features: list[str], iterations: list[int],
                params: dict | None = None, profile: TrainingProfile = DEFAULT):
    """Refit the chosen family on every row, with the median best iteration of the folds (and
    the settings the walk-forward used on this frame: ``TrainingProfile.sized``)."""
    profile = profile.sized(len(frame))
    model = regressor(family, profile, params, rounds=max(int(np.median(iterations)), 10))
    y = training_target(frame, features)
    ok = np.isfinite(y.to_numpy())
    return model.fit(frame.loc[ok, features], y[ok])


def build_package(data: TrainingData, evaluation: Evaluation, family: str, settings: Settings,
                  prof: TrainingProfile) -> VolForecaster:
    """The registered package: the family refitted on every row with the folds' settings; its
    level map (``CRYPTOVOL_LEVEL_MAP``: the folds' median smearing factor, or a map fitted on
    every out-of-fold raw forecast) and intervals fitted on the out-of-fold forecasts of the
    family (held out by construction); classifiers on the training rows."""
    model = final_model(family, data.frame, data.features, evaluation.iterations[family],
                        evaluation.params[family][-1], prof)  # tuned on the largest window
    oof = evaluation.oof
    symbols, realized = oof["symbol"].to_numpy(), oof["target_rv"].to_numpy()
    calibration, scale, forecast = None, float(np.median(evaluation.scales[family])), oof[family]
    if settings.level_map != "smearing":
        raw = oof[f"{family}_raw"].to_numpy()
        calibration = fit_level(symbols, realized, raw, settings.horizon,
                                slope_bounds=SLOPE_BOUNDS[settings.level_map])
        forecast, scale = calibration.apply(symbols, raw), calibration.scale
    return VolForecaster(
        model, data.features, scale, base_column(data.features),
        intervals=calibrate(oof["symbol"], realized, np.asarray(forecast, dtype=float)),
        classifiers=final_classifiers(data.frame, data.features, settings.horizon, prof),
        meta={"family": family, "bar": settings.bar, "horizon": settings.horizon},
        calibration=calibration)


def servable_family(scores: Scores) -> tuple[str, str | None]:
    """The family to register — the best servable one — and, when a sequence model scored
    better, the note that says why it is not the one registered."""
    servable = [m for m in REGRESSORS if m in scores.pooled.index]
    family = min(servable, key=lambda m: float(scores.pooled.loc[m, "qlike"]))
    if scores.best_model == family:
        return family, None
    return family, (f"{scores.best_model} had the best QLIKE "
                    f"({float(scores.pooled.loc[scores.best_model, 'qlike']):.4f} vs {family}'s "
                    f"{float(scores.pooled.loc[family, 'qlike']):.4f}) but sequence models are not "
                    f"servable yet (the online store holds each coin's newest row, not its last "
                    f"bars): {family} is registered")


def gate_step(settings: Settings, data: TrainingData, evaluation: Evaluation, scores: Scores,
              audit: leakage.LeakageAudit, notes: list[str], family: str
              ) -> tuple[Judgement, GateContext]:
    """The gate compares on the latest test block: the rows both this run and the champion
    forecast out of sample (the champion's own OOF forecasts, and its forecasts for the bars
    after its training data — the regime a retrain answers — never in-sample predictions).
    The context goes with the run: registration judges it again if the champion moves
    (``training.promotion``)."""
    oof = evaluation.oof
    last = oof[(oof["fold"] == data.folds[-1].number) & scored_rows(oof, [family, scores.best_baseline])]
    holdout = last[["symbol", "event_timestamp", "target_rv", *dict.fromkeys([family, scores.best_baseline])]]
    context = GateContext(holdout.reset_index(drop=True), family, scores.best_baseline,
                          settings.promotion_margin, audit.suspected,
                          [*(audit.flags if audit.suspected else []), *notes])
    judged = judge(settings, context, data.frame)
    return judged, replace(context, judged_against=judged.champion)


def fitted_thresholds(frame: pd.DataFrame, horizon: int, package: VolForecaster) -> dict:
    """What the run fitted besides the trees, on all its training rows (logged with the model)."""
    c = package.classifiers
    return {
        "regime_cut_points": {s: list(cuts) for s, cuts in regime_thresholds(frame).items()},
        "regime_cut_points_unit": f"per-bar realized vol over the next {horizon} bars (terciles)",
        "spike_rule": spike_rule(horizon), "spike_cut": c.spike_cut if c else None,
        "vol_scale": package.scale,
        "level_calibration": package.calibration.to_json() if package.calibration else None,
    }


def train_and_register(settings: Settings, redis_url: str, evidence: str | None = None) -> TrainSummary:
    """Evaluate walk-forward, audit, refit, register as ``@challenger`` and crown through the gate.

    ``evidence``: live figures the gate's reasons cite (the monitor's shadow scoring of the
    previous challenger against the champion), recorded with its decision."""
    resume_before_training(settings)  # a run of this model kept earlier is registered first
    prof = profile(settings.training_profile)
    data = load_training_data(settings, redis_url)
    steps = Steps.for_training(f"training {settings.registered_model}", len(data.folds),
                               len(REGRESSORS) + int(settings.sequence_model))
    evaluation, scores, classification = evaluate(data, settings, prof, steps)
    audit = audit_leakage(data, settings, scores.leakage_flags)
    steps.step("leakage audit")
    family, not_served = servable_family(scores)
    package = build_package(data, evaluation, family, settings, prof)
    steps.step("final refit")
    sample = data.frame.sample(min(len(data.frame), 5000), random_state=0)
    importance = global_importance(shap_values(package.regressor, sample, data.features))
    judged, context = gate_step(settings, data, evaluation, scores, audit,
                                [n for n in (evidence, not_served) if n], family)
    decision, inputs = judged.decision, judged.inputs

    strategies = list(dict.fromkeys([family, scores.best_baseline, "persistence"]))
    risk = backtest(evaluation.oof[scored_rows(evaluation.oof, strategies)], evaluation.next_returns,
                    strategies, settings.bars_per_year)
    metrics = {**run_metrics(scores, family, inputs, classification, risk),
               "leakage_suspected": float(audit.suspected)}
    params = run_params(settings, family, len(data.folds), evaluation.iterations[family],
                        len(data.frame), len(data.features), package.scale,
                        evaluation.params[family][-1])
    tags = run_tags(settings, data.frame, data.features, data.returns["event_timestamp"].max(),
                    scores, audit, package.scale, list(importance.index), base_column(data.features))
    meta = {"model": settings.registered_model, "bar": settings.bar, "horizon": settings.horizon,
            "folds": len(data.folds), "embargo": settings.embargo, "data_range": tags["data_range"],
            "fold_bounds": [{k: str(v) for k, v in f.__dict__.items()} for f in data.folds],
            "baseline_failures": evaluation.baseline_failures, "profile": prof.name,
            "leakage_audit": audit.to_json()}
    levels = level_comparison(evaluation.oof, family, scores.best_baseline, evaluation.next_returns,
                              settings.bars_per_year)
    metrics.update({f"level_{label.split('(')[1].rstrip(')')}_{k}": float(v)
                    for label, row in levels.iterrows() if label.startswith(family)
                    for k, v in row.items() if k != "rows"})
    meta["level_map"] = settings.level_map
    page, figures = build_report(evaluation.oof, scores, meta, decision.reasons,
                                 np.sqrt(settings.bars_per_year), classification, importance, risk,
                                 levels)
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S")
    stem = f"evaluation_{settings.bar}_h{settings.horizon}_{stamp}"
    report_html, _ = save_report(settings.reports_dir, stem, page, figures)
    files.write_parquet(evaluation.oof, settings.reports_dir / f"{stem}_oof.parquet")  # to re-check
    steps.step("report")
    run = TrainingRun(package=package, family=family, features=data.features,
                      reference=data.frame[["symbol", "event_timestamp", *data.features]],
                      oof=evaluation.oof, metrics=metrics, params=params, report=figures,
                      report_html=report_html,
                      thresholds=fitted_thresholds(data.frame, settings.horizon, package),
                      gate=context)
    registered = register_kept(settings, run, tags, decision)
    steps.step("registration")
    log.info("walk-forward on %d rows: %s QLIKE %.4f vs %s %.4f (gain %.1f%%, DM p=%.3g)",
             len(data.frame), scores.best_model, scores.pooled.loc[scores.best_model, "qlike"],
             scores.best_baseline, scores.pooled.loc[scores.best_baseline, "qlike"],
             100 * scores.gain, scores.dm[scores.best_model]["dm_pvalue"])
    return TrainSummary(model=registered, rows=len(data.frame), metrics=metrics,
                        leakage_flags=audit.flags, report=str(report_html),
                        leakage_prompts=tuple(audit.prompts) if not audit.suspected else ())
