"""Budgeted hyper-parameter tuning (Optuna, TPE, seeded) inside a fold's training window only:
each trial fits on the fold's ``fit`` rows and is scored on its inner validation block."""

from __future__ import annotations

import logging

import numpy as np
import optuna
import pandas as pd

from training.models import fit_regressor, training_target
from training.profiles import DEFAULT, TrainingProfile

log = logging.getLogger(__name__)


def _space(kind: str, trial: optuna.Trial) -> dict:
    if kind == "lightgbm":
        return {
            "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 20, 200, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }
    return {
        "depth": trial.suggest_int("depth", 4, 8),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 1.0, 10.0, log=True),
    }


def tune(kind: str, fit: pd.DataFrame, valid: pd.DataFrame, features: list[str], trials: int,
         seed: int = 0, profile: TrainingProfile = DEFAULT) -> dict:
    """The parameters with the lowest validation RMSE of log vol after ``trials`` fits."""
    if trials <= 0:
        return {}

    def objective(trial: optuna.Trial) -> float:
        model = fit_regressor(kind, fit, valid, features, _space(kind, trial), profile)
        y = training_target(valid, features)
        ok = np.isfinite(y.to_numpy())
        error = y.to_numpy()[ok] - np.asarray(model.predict(valid.loc[ok, features]), dtype=float)
        return float(np.sqrt(np.mean(error**2)))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    log.info("tuned %s in %d trials: validation RMSE %.4f with %s", kind, trials, study.best_value,
             study.best_params)
    return dict(study.best_params)
