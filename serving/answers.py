"""Turn the model package's output rows into the service's answers. Pure: no I/O."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from feature_repo.transforms.targets import REGIMES
from training.champion import ChampionModel
from training.intervals import LEVELS, level_name
from training.package import REGIME_COLUMNS


def _finite(value) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def feature_age_bars(as_of: pd.Timestamp, now: datetime, bar_seconds: float) -> float:
    return max(0.0, (pd.Timestamp(now) - as_of).total_seconds() / bar_seconds)


def with_freshness(answer: dict, age: float, stale: bool, explanation: list[dict] | None) -> dict:
    """A cached answer completed with what depends on the clock and the request."""
    return {**answer, "feature_age_bars": round(age, 4), "stale": stale, "explanation": explanation}


def forecast(model: ChampionModel, row: dict, out: pd.Series) -> dict:
    """The answer for one coin: annualized vol, intervals, regime and spike, provenance."""
    annualize = model.annualize
    intervals = [{"level": level, "low": float(out[f"vol_lo{level_name(level)}"]) * annualize,
                  "high": float(out[f"vol_hi{level_name(level)}"]) * annualize}
                 for level in LEVELS if f"vol_lo{level_name(level)}" in out.index]
    classifiers = model.forecaster.classifiers
    regime = None
    if REGIME_COLUMNS[0] in out.index:
        probabilities = {name: _finite(out[c]) for name, c in zip(REGIMES, REGIME_COLUMNS, strict=True)}
        cuts = classifiers.cut_points.get(row["symbol"]) if classifiers else None
        known = {k: v for k, v in probabilities.items() if v is not None}
        regime = {"most_likely": max(known, key=known.get) if known else None,
                  "probabilities": probabilities,
                  "cut_points": [c * annualize for c in cuts] if cuts else None}
    return {
        "symbol": row["symbol"], "as_of": row["as_of"].to_pydatetime(),
        "bar": model.bar,
        "horizon_bars": model.horizon,
        "predicted_vol": float(out["vol"]) * annualize, "predicted_vol_per_bar": float(out["vol"]),
        "intervals": intervals, "regime": regime,
        "spike_probability": _finite(out["p_spike"]) if "p_spike" in out.index else None,
        "spike": bool(out["spike"]) if "spike" in out.index and _finite(out["p_spike"]) is not None
        else None,
        "spike_cut": classifiers.spike_cut if classifiers and "p_spike" in out.index else None,
        "spike_rule": classifiers.spike_rule if classifiers and "p_spike" in out.index else None,
        "model_name": model.name, "model_version": model.version,
    }
