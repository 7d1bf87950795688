"""The model package: everything that turns a row of features into the forecast a client gets.

:class:`VolForecaster` holds the regressor, its smearing scale and base feature, the interval
calibration, and the regime and spike classifiers with the coin cut points. Its :meth:`predict`
is the one code path from features to answer: the walk-forward evaluation calls it on each
fold's test block, the registry stores it as an MLflow pyfunc (``training.pyfunc``), the service
and the monitor load that pyfunc and call the same method. Nothing downstream re-implements
``scale x base x exp(prediction)``.

Saved as native model files (LightGBM text, CatBoost ``.cbm``) plus ``package.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import catboost as cb
import lightgbm as lgb
import numpy as np
import pandas as pd

from feature_repo.transforms.targets import REGIMES
from training.calibration import LevelCalibration
from training.explain import shap_values
from training.intervals import IntervalCalibration

PACKAGE_FORMAT = 1
REGIME_COLUMNS = [f"p_{name.lower()}" for name in REGIMES]


@dataclass(frozen=True)
class Classifiers:
    """Regime (3 classes, with each coin's cut points) and spike (binary) classifiers."""

    regime: object | None  # lgb.LGBMClassifier / lgb.Booster
    spike: object | None
    cut_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    spike_rule: str = ""
    spike_cut: float = 0.5  # p_spike at or above it flags a spike (chosen on validation, max F1)


def _proba(model, x: pd.DataFrame) -> np.ndarray:
    if isinstance(model, lgb.Booster):
        return np.asarray(model.predict(x), dtype=float)
    return np.asarray(model.predict_proba(x), dtype=float)


def _predict(model, x: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(x), dtype=float)


@dataclass(frozen=True)
class VolForecaster:
    regressor: object  # LightGBM or CatBoost, trained on log vol (relative to ``base``)
    features: list[str]
    scale: float = 1.0  # smearing factor (training.models.vol_scale)
    base: str | None = None  # feature the log vol is relative to
    intervals: IntervalCalibration | None = None
    classifiers: Classifiers | None = None
    meta: dict = field(default_factory=dict)  # family, bar, horizon: carried, not used to predict
    calibration: LevelCalibration | None = None  # replaces ``scale`` when set

    @property
    def symbols(self) -> list[str]:
        """The coins the package was fitted on (those with regime cut points)."""
        return sorted(self.classifiers.cut_points) if self.classifiers else []

    def log_vol(self, x: pd.DataFrame) -> np.ndarray:
        return _predict(self.regressor, x)

    def raw_vol(self, frame: pd.DataFrame, x: pd.DataFrame | None = None) -> np.ndarray:
        """The trees' forecast before any level map: ``base x exp(prediction)``."""
        vol = np.exp(self.log_vol(frame[self.features].astype("float64") if x is None else x))
        if self.base:  # the model forecasts vol relative to this feature's level
            level = frame[self.base].to_numpy(dtype=float)
            vol = vol * np.where(level > 0, level, np.nan)
        return vol

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: ``vol`` (per-bar realized vol over the next H bars), interval bounds
        ``vol_lo<L>``/``vol_hi<L>`` (L = 80, 95), ``p_low/p_medium/p_high``, ``p_spike`` and
        the decision ``spike`` (``p_spike >= spike_cut``) (NaN where the package has no
        classifier or the coin no cut points)."""
        x = frame[self.features].astype("float64")
        raw = self.raw_vol(frame, x)
        symbols = frame["symbol"].to_numpy() if "symbol" in frame else np.full(len(frame), "")
        vol = self.calibration.apply(symbols, raw) if self.calibration else self.scale * raw
        out = pd.DataFrame({"vol": vol}, index=frame.index)
        if self.intervals is not None:
            for level, (lo, hi) in self.intervals.bounds(symbols, vol).items():
                out[f"vol_lo{level}"], out[f"vol_hi{level}"] = lo, hi
        c = self.classifiers
        known = np.array([s in c.cut_points for s in symbols]) if c else np.zeros(len(frame), bool)
        if c is not None and c.regime is not None:
            proba = _proba(c.regime, x)
            for k, column in enumerate(REGIME_COLUMNS):
                # probabilities of a coin's own Low/Medium/High: meaningless without its cut points
                out[column] = np.where(known, proba[:, k], np.nan)
        if c is not None and c.spike is not None:
            proba = _proba(c.spike, x)
            out["p_spike"] = proba[:, 1] if proba.ndim == 2 else proba
            out["spike"] = out["p_spike"] >= c.spike_cut
        return out

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[list[dict]]:
        """Per row, the ``top`` features by |SHAP| on the forecast's log: value and contribution."""
        shap = shap_values(self.regressor, frame.astype({f: "float64" for f in self.features}),
                           self.features)
        out = []
        for index, row in shap.iterrows():
            order = row.abs().sort_values(ascending=False).index[:top]
            out.append([{"feature": f, "value": float(frame.at[index, f]),
                         "contribution": float(row[f])} for f in order])
        return out

    # ----- storage --------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        regressor = _save_model(self.regressor, folder / "regressor")
        c = self.classifiers
        spec = {
            "format": PACKAGE_FORMAT, "features": self.features, "scale": self.scale,
            "base": self.base, "regressor": regressor, "meta": self.meta,
            "intervals": self.intervals.to_json() if self.intervals else None,
            "calibration": self.calibration.to_json() if self.calibration else None,
            "classifiers": None if c is None else {
                "regime": _save_model(c.regime, folder / "regime") if c.regime else None,
                "spike": _save_model(c.spike, folder / "spike") if c.spike else None,
                "cut_points": {s: list(v) for s, v in c.cut_points.items()},
                "spike_rule": c.spike_rule, "spike_cut": c.spike_cut},
        }
        (folder / "package.json").write_text(json.dumps(spec, indent=2))
        return folder

    @classmethod
    def load(cls, folder: Path) -> VolForecaster:
        spec = json.loads((folder / "package.json").read_text())
        if spec.get("format") != PACKAGE_FORMAT:
            raise ValueError(f"{folder}: model package format {spec.get('format')!r}, "
                             f"this code reads {PACKAGE_FORMAT}")
        c = spec["classifiers"]
        classifiers = None if c is None else Classifiers(
            regime=_load_model(folder, c["regime"]) if c["regime"] else None,
            spike=_load_model(folder, c["spike"]) if c["spike"] else None,
            cut_points={s: (float(v[0]), float(v[1])) for s, v in c["cut_points"].items()},
            spike_rule=c.get("spike_rule", ""), spike_cut=float(c.get("spike_cut", 0.5)))
        return cls(regressor=_load_model(folder, spec["regressor"]), features=spec["features"],
                   scale=float(spec["scale"]), base=spec["base"],
                   intervals=IntervalCalibration.from_json(spec["intervals"])
                   if spec["intervals"] else None,
                   classifiers=classifiers, meta=spec.get("meta", {}),
                   calibration=LevelCalibration.from_json(spec["calibration"])
                   if spec.get("calibration") else None)


def _save_model(model, stem: Path) -> str:
    """Native file of a LightGBM / CatBoost model; returns its file name."""
    if isinstance(model, cb.CatBoost):
        path = stem.with_suffix(".cbm")
        model.save_model(str(path))
        kind = "catboost-classifier" if isinstance(model, cb.CatBoostClassifier) else "catboost"
    else:
        booster = model if isinstance(model, lgb.Booster) else model.booster_
        path = stem.with_suffix(".txt")
        booster.save_model(str(path))
        kind = "lightgbm"
    return f"{kind}:{path.name}"


def _load_model(folder: Path, ref: str):
    kind, name = ref.split(":", 1)
    if kind == "lightgbm":
        return lgb.Booster(model_file=str(folder / name))
    model = cb.CatBoostClassifier() if kind == "catboost-classifier" else cb.CatBoostRegressor()
    return model.load_model(str(folder / name))
