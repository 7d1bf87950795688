"""Training stage, callable without Prefect: PIT training set → LightGBM → MLflow registry."""

from __future__ import annotations

import hashlib
import logging
import subprocess
from dataclasses import dataclass

import pandas as pd

from feature_repo import store as feast_store
from feature_repo.objects.feature_services import service_name
from feature_repo.settings import REPO_ROOT, Settings
from training.dataset import training_frame
from training.registry import RegisteredModel, log_and_register
from training.train import train_regressor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSummary:
    model: RegisteredModel
    rows: int
    metrics: dict[str, float]


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


def train_and_register(settings: Settings, redis_url: str) -> TrainSummary:
    store = feast_store.open_store(settings, redis_url)
    features = settings.feature_names
    frame = training_frame(store, settings.bar, features, pd.read_parquet(settings.targets_path))
    result = train_regressor(frame, features, settings.bar_delta, settings.horizon,
                             settings.test_fraction, settings.bars_per_year,
                             settings.feature_config.rv_windows())
    tags = {
        "feature_service": service_name(settings.bar),
        "data_fingerprint": data_fingerprint(frame),
        "data_range": f"{frame['event_timestamp'].min()} .. {frame['event_timestamp'].max()}",
        "git_commit": git_commit(),
    }
    registered = log_and_register(result, settings, tags)
    log.info("trained on %d rows: test QLIKE %.4f (persistence %.4f)", len(frame),
             result.metrics["test_qlike"], result.metrics["test_persistence_qlike"])
    return TrainSummary(model=registered, rows=len(frame), metrics=result.metrics)
