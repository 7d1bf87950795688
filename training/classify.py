"""Volatility regime (Low / Medium / High) and spike classifiers, and their metrics.

Regime cut points are the terciles of each coin's next-H realized vol *in the training window*
(fitted there, applied to the test block). The baseline classifier buckets the HAR forecast
with the same cut points (regime) or compares it with the spike threshold (spike).
"""

from __future__ import annotations

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import (
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from feature_repo.transforms.targets import regime, spike_rule
from training.package import Classifiers
from training.profiles import DEFAULT, TrainingProfile

MIN_ROWS_FOR_THRESHOLDS = 30


def regime_thresholds(train: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per coin, the 1/3 and 2/3 quantiles of the training targets."""
    out = {}
    for symbol, g in train.groupby("symbol"):
        values = g["target_rv"].dropna()
        if len(values) >= MIN_ROWS_FOR_THRESHOLDS:
            low, high = values.quantile([1 / 3, 2 / 3])
            if low < high:
                out[symbol] = (float(low), float(high))
    return out


def regime_labels(frame: pd.DataFrame, values: pd.Series,
                  thresholds: dict[str, tuple[float, float]]) -> np.ndarray:
    """Class 0/1/2 of ``values`` with each row's coin thresholds (NaN for unknown coins)."""
    out = np.full(len(frame), np.nan)
    for symbol, cuts in thresholds.items():
        rows = (frame["symbol"] == symbol).to_numpy()
        out[rows] = regime(values.to_numpy()[rows], cuts)
    return out


def fit_classifier(kind: str, x_fit, y_fit, x_valid, y_valid, classes: int,
                   profile: TrainingProfile = DEFAULT):
    if kind == "lightgbm":
        objective = "multiclass" if classes > 2 else "binary"
        model = lgb.LGBMClassifier(**{**profile.lightgbm, "objective": objective})
        model.fit(x_fit, y_fit, eval_X=(x_valid,), eval_y=(y_valid,),
                  callbacks=[lgb.early_stopping(profile.early_stopping_rounds, verbose=False)])
        return model
    params = {**profile.catboost, "loss_function": "MultiClass" if classes > 2 else "Logloss"}
    model = cb.CatBoostClassifier(**params)
    model.fit(x_fit, y_fit, eval_set=(x_valid, y_valid),
              early_stopping_rounds=profile.early_stopping_rounds)
    return model


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of binary probabilities (equal-width bins)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return float(error)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Mean predicted vs observed frequency per probability bin (for the reliability diagram)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = [(float(p[which == b].mean()), float(y[which == b].mean()), int((which == b).sum()))
            for b in range(bins) if (which == b).any()]
    return {"predicted": [r[0] for r in rows], "observed": [r[1] for r in rows],
            "count": [r[2] for r in rows]}


def classification_metrics(y: np.ndarray, proba: np.ndarray, cut: np.ndarray | None = None) -> dict:
    """Macro-F1, per-class one-vs-rest ROC-AUC, Brier score, calibration error, confusion matrix;
    for a binary task also the positive class's F1, precision and recall.

    ``proba`` has one column per class (binary: two columns). Brier and calibration are over
    the one-vs-rest probabilities of every class (mean). The decision is the most likely class,
    or for a binary task with ``cut`` (per row: the threshold chosen on validation) ``p1 >= cut``.
    """
    y = y.astype(int)
    classes = proba.shape[1]
    predicted = proba.argmax(axis=1)
    if classes == 2 and cut is not None:
        predicted = (proba[:, 1] >= cut).astype(int)
    aucs, briers, eces = [], [], []
    for k in range(classes):
        hit = (y == k).astype(int)
        aucs.append(float(roc_auc_score(hit, proba[:, k])) if 0 < hit.sum() < len(hit) else float("nan"))
        briers.append(float(brier_score_loss(hit, proba[:, k])))
        eces.append(calibration_error(hit, proba[:, k]))
    return {
        "macro_f1": float(f1_score(y, predicted, average="macro", labels=list(range(classes)))),
        "roc_auc": aucs, "brier": float(np.mean(briers)), "calibration_error": float(np.mean(eces)),
        "confusion": confusion_matrix(y, predicted, labels=list(range(classes))).tolist(),
        **({} if classes != 2 else {
            "f1": float(f1_score(y, predicted, zero_division=0)),
            "precision": float(precision_score(y, predicted, zero_division=0)),
            "recall": float(recall_score(y, predicted, zero_division=0))}),
    }


CLASSIFIERS = ("lightgbm", "catboost")
REGIME_CLASSES = 3


def f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut that maximizes F1 of the positive class on (y, p): the spike
    decision rule, chosen on a validation block (a fixed 0.5 on a ~7% class flags too little).
    0.5 when there is no positive to learn from."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if y.sum() == 0 or y.sum() == len(y):
        return 0.5
    order = np.argsort(-p, kind="stable")
    ps, hits = p[order], y[order]
    tp = np.cumsum(hits)
    k = np.arange(1, len(ps) + 1)
    f1 = 2 * tp / (k + y.sum())
    last_of_tie = np.r_[ps[1:] != ps[:-1], True]  # a cut can only fall between distinct values
    best = int(np.argmax(np.where(last_of_tie, f1, -1.0)))
    return float(ps[best])


def thinned(frame: pd.DataFrame, stride: int) -> pd.DataFrame:
    """Every ``stride``-th bar of ``frame`` (by timestamp, every coin at those bars)."""
    if stride <= 1:
        return frame
    bar_number = frame["event_timestamp"].rank(method="dense").astype(int)
    return frame[(bar_number % stride).to_numpy() == 0]


def classify_fold(fit: pd.DataFrame, valid: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame,
                  features: list[str], har: np.ndarray, profile: TrainingProfile = DEFAULT,
                  horizon: int = 1) -> pd.DataFrame:
    """Regime and spike probabilities for a fold's test rows: the profile's model families and
    the HAR-bucket baseline. Columns ``regime``/``spike`` hold the truth (NaN where unknown);
    ``spike_<family>_cut`` the spike decision threshold chosen on the validation block."""
    cuts = regime_thresholds(train)
    out = pd.DataFrame(index=test.index)
    out["regime"] = regime_labels(test, test["target_rv"], cuts)
    out["spike"] = test["target_spike"].to_numpy()
    har_regime = regime_labels(test, pd.Series(har, index=test.index), cuts)
    fit = thinned(fit, profile.classifier_stride(horizon))
    for task, classes, y_of in (
        ("regime", REGIME_CLASSES, lambda f: regime_labels(f, f["target_rv"], cuts)),
        ("spike", 2, lambda f: f["target_spike"].to_numpy()),
    ):
        y_fit, y_valid = y_of(fit), y_of(valid)
        ok_fit, ok_valid = ~np.isnan(y_fit), ~np.isnan(y_valid)
        if len(np.unique(y_fit[ok_fit])) < classes or len(np.unique(y_valid[ok_valid])) < classes:
            continue  # a class is missing from this fold's training data
        for kind in profile.classifier_families:
            x_valid = valid.loc[ok_valid, features]
            model = fit_classifier(kind, fit.loc[ok_fit, features], y_fit[ok_fit].astype(int),
                                   x_valid, y_valid[ok_valid].astype(int), classes, profile)
            proba = model.predict_proba(test[features])
            for k in range(classes):
                out[f"{task}_{kind}_p{k}"] = proba[:, k]
            if task == "spike":
                out[f"spike_{kind}_cut"] = f1_threshold(y_valid[ok_valid],
                                                        model.predict_proba(x_valid)[:, 1])
    # the baseline: the HAR forecast bucketed with the same cut points / compared with the
    # spike threshold, as hard probabilities
    for k in range(REGIME_CLASSES):
        out[f"regime_har_p{k}"] = np.where(np.isnan(har_regime), np.nan, (har_regime == k).astype(float))
    spike_har = (har > test["spike_threshold"].to_numpy()).astype(float)
    spike_har[np.isnan(har) | test["spike_threshold"].isna().to_numpy()] = np.nan
    out["spike_har_p1"], out["spike_har_p0"] = spike_har, 1 - spike_har
    return out


def classification_scores(oof: pd.DataFrame) -> dict[str, dict[str, dict]]:
    """task -> forecaster -> metrics, on the rows where the truth and every forecaster exist."""
    out: dict[str, dict[str, dict]] = {}
    for task, classes in (("regime", REGIME_CLASSES), ("spike", 2)):
        names = [n for n in (*CLASSIFIERS, "har") if f"{task}_{n}_p0" in oof.columns]
        columns = [f"{task}_{n}_p{k}" for n in names for k in range(classes)]
        rows = oof[task].notna() & oof[columns].notna().all(axis=1)
        if rows.sum() < 10 or len(names) < 2:
            continue
        data = oof[rows]
        out[task] = {n: classification_metrics(
            data[task].to_numpy(), data[[f"{task}_{n}_p{k}" for k in range(classes)]].to_numpy(),
            data[f"{task}_{n}_cut"].to_numpy() if f"{task}_{n}_cut" in data else None)
            for n in names}
        out[task]["_rows"] = {"count": int(rows.sum())}
    return out


def final_classifiers(frame: pd.DataFrame, features: list[str], horizon: int,
                      profile: TrainingProfile = DEFAULT):
    """The registered model's regime and spike classifiers (LightGBM), fitted on the training
    rows with early stopping on their most recent fifth, where the spike decision threshold is
    chosen too; regime cut points from every row."""
    cuts = regime_thresholds(frame)
    cut = 0.5
    profile = profile.sized(len(frame))
    frame = thinned(frame, profile.classifier_stride(horizon)).sort_values("event_timestamp")
    late = frame["event_timestamp"] > frame["event_timestamp"].quantile(0.8)
    models = {}
    for task, classes, y in (("regime", REGIME_CLASSES, regime_labels(frame, frame["target_rv"], cuts)),
                             ("spike", 2, frame["target_spike"].to_numpy(dtype=float))):
        ok = ~np.isnan(y)
        fit, valid = ok & ~late.to_numpy(), ok & late.to_numpy()
        if len(np.unique(y[fit])) < classes or len(np.unique(y[valid])) < classes:
            models[task] = None  # a class never occurs: no classifier rather than a lopsided one
            continue
        models[task] = fit_classifier("lightgbm", frame.loc[fit, features], y[fit].astype(int),
                                      frame.loc[valid, features], y[valid].astype(int), classes,
                                      profile)
        if task == "spike":  # the decision threshold, on the same most recent fifth
            cut = f1_threshold(y[valid], models[task].predict_proba(frame.loc[valid, features])[:, 1])
    return Classifiers(regime=models["regime"], spike=models["spike"], cut_points=cuts,
                       spike_rule=spike_rule(horizon), spike_cut=cut)
