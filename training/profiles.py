"""Training profiles: named sets of model settings for the walk-forward and the final refit.

- ``reference``: the settings every evaluation used before the speed work (LightGBM at learning
  rate 0.03 and 255 histogram bins, CatBoost at 0.05 with 254 borders, 50 early-stopping
  rounds, regime and spike classifiers of both families, GARCH forecasts from ``arch`` bar by
  bar). Kept so that ``benchmarks/train.py`` can measure a speed-up and its cost in accuracy
  in one run, and so that anyone can reproduce an old figure.
- ``fast`` (the default): what large pooled intraday panels need — coarser histograms, a
  higher learning rate with early stopping on the validation block choosing the number of
  trees, LightGBM-only classifiers (the family the registered package ships; CatBoost's
  multi-class fit was most of the old run time) fitted on every (H // 8)-th bar (hourly H = 24:
  every 3rd; daily H = 7: every bar), GARCH fitted warm-started from the previous
  fold's parameters and forecast in closed form (the same numbers as ``arch``'s analytic
  forecast, without a Python loop per test bar).

On a training frame of fewer than 60,000 rows (the daily demo: 40k) ``fast`` keeps the
reference settings of the trees themselves (see ``small_data_rows``) and its other changes.

``CRYPTOVOL_TRAINING_PROFILE`` selects one; ``cryptovol train --profile`` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class TrainingProfile:
    name: str
    lightgbm: dict = field(hash=False)  # LGBMRegressor / LGBMClassifier settings
    catboost: dict = field(hash=False)  # CatBoostRegressor / CatBoostClassifier settings
    early_stopping_rounds: int = 50
    classifier_families: tuple[str, ...] = ("lightgbm", "catboost")  # evaluated per fold
    garch_closed_form: bool = False  # closed-form multi-step forecasts, warm-started fits
    # classifiers fit every k-th bar, k = H // this (None: every bar): consecutive rows' H-bar
    # targets share H-1 of their H returns, so near-duplicate labels add time, not information
    classifier_rows_per_window: int | None = None
    # below this many training rows the trees keep the reference settings (learning rates,
    # bins, leaves, patience): such fits take seconds, and on the 40k-row daily demo the fast
    # ones cost 1.5% QLIKE (LightGBM 0.6954 -> 0.7058) while the 82k-row hourly Binance set
    # gained 0.8% with them (CatBoost 0.3505 -> 0.3477)
    small_data_rows: int | None = None

    def sized(self, rows: int) -> TrainingProfile:
        """The profile for a training frame of ``rows`` rows (decided once per run, so that
        the final refit uses the settings its folds' tree counts were found with)."""
        if self.small_data_rows is None or rows >= self.small_data_rows:
            return self
        return replace(self, lightgbm=REFERENCE.lightgbm, catboost=REFERENCE.catboost,
                       early_stopping_rounds=REFERENCE.early_stopping_rounds)

    def classifier_stride(self, horizon: int) -> int:
        per = self.classifier_rows_per_window
        return 1 if per is None else max(1, horizon // per)


REFERENCE = TrainingProfile(
    name="reference",
    lightgbm={"objective": "regression", "learning_rate": 0.03, "num_leaves": 31,
              "min_child_samples": 50, "subsample": 0.8, "subsample_freq": 1,
              "colsample_bytree": 0.8, "reg_lambda": 1.0, "n_estimators": 1000, "verbose": -1,
              "n_jobs": 2},
    catboost={"loss_function": "RMSE", "learning_rate": 0.05, "depth": 6, "iterations": 1000,
              "l2_leaf_reg": 3.0, "thread_count": 2, "verbose": False,
              "allow_writing_files": False},
)

FAST = TrainingProfile(
    name="fast",
    lightgbm={**REFERENCE.lightgbm, "learning_rate": 0.08, "max_bin": 63,
              "min_child_samples": 100},
    catboost={**REFERENCE.catboost, "learning_rate": 0.12, "border_count": 64},
    early_stopping_rounds=30,
    classifier_families=("lightgbm",),
    garch_closed_form=True,
    classifier_rows_per_window=8,
    small_data_rows=60_000,
)

PROFILES = {p.name: p for p in (FAST, REFERENCE)}
DEFAULT = FAST


def profile(name: str) -> TrainingProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown training profile {name!r}; use one of "
                         f"{', '.join(PROFILES)}") from None
