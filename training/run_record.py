"""What a training run records in MLflow: flat metrics, parameters and lineage tags. Pure."""

from __future__ import annotations

import hashlib
import subprocess

import numpy as np
import pandas as pd

from cryptovol.settings import REPO_ROOT, Settings
from feature_repo.objects.feature_services import service_name
from training.gate import GateInputs
from training.leakage import LeakageAudit
from training.scoring import Scores, per_symbol_metric_names


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


def run_metrics(scores: Scores, family: str, gate: GateInputs, classification: dict,
                risk: dict) -> dict[str, float]:
    """Pooled and per-coin scores, the gate's figures, classification and backtest summaries."""
    metrics = {**{k: v for k, v in scores.summary().items() if isinstance(v, float)},
               "challenger_qlike": float(scores.pooled.loc[family, "qlike"]),
               "holdout_qlike": gate.challenger_qlike,
               "holdout_best_baseline_qlike": gate.best_baseline_qlike,
               "holdout_rows": float(gate.rows)}
    if gate.champion_qlike is not None:
        metrics["holdout_champion_qlike"] = gate.champion_qlike
    for task, by_name in classification.items():
        for name, m in by_name.items():
            if name.startswith("_"):
                continue
            metrics.update({f"{task}_{name}_macro_f1": m["macro_f1"], f"{task}_{name}_brier": m["brier"],
                            f"{task}_{name}_calibration_error": m["calibration_error"]})
            metrics.update({f"{task}_{name}_{k}": m[k] for k in ("f1", "precision", "recall") if k in m})
    metrics.update(per_symbol_metric_names(scores, family))
    for name, values in risk["summary"].items():
        metrics.update({f"backtest_{name}_{k}": v for k, v in values.items()})
    return metrics


def run_params(settings: Settings, family: str, folds: int, iterations: list[int], rows: int,
               features: int, scale: float, tuned: dict) -> dict[str, object]:
    return {"family": family, "bar": settings.bar, "horizon": settings.horizon, "folds": folds,
            "embargo": settings.embargo, "test_fraction": settings.test_fraction,
            "iterations": int(np.median(iterations)), "features": features, "rows": rows,
            "vol_scale": scale, "tune_trials": settings.tune_trials,
            "training_profile": settings.training_profile,
            **{f"tuned_{k}": v for k, v in tuned.items()}}


def run_tags(settings: Settings, frame: pd.DataFrame, features: list[str], features_end: pd.Timestamp,
             scores: Scores, audit: LeakageAudit, scale: float, top_features: list[str],
             base: str | None) -> dict[str, str]:
    return {
        "feature_service": service_name(settings.bar), "feature_list": ",".join(features),
        "data_fingerprint": data_fingerprint(frame),
        "data_range": f"{frame['event_timestamp'].min()} .. {frame['event_timestamp'].max()}",
        # the newest bar the run could see: the monitor judges only what arrives after it
        "features_end": features_end.isoformat(),
        "git_commit": git_commit(), "leakage_suspected": str(audit.suspected).lower(),
        "best_baseline": scores.best_baseline, "vol_scale": f"{scale:.6f}",
        "top_features": ",".join(top_features[:5]), "target_base": base or "",
        "training_profile": settings.training_profile,
    }
