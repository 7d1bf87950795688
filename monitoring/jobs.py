"""Monitoring stage, callable without Prefect: drift of recent features vs a training reference."""

from __future__ import annotations

import logging

import pandas as pd

from feature_repo.settings import Settings
from monitoring.drift import DriftSummary, recent_window, run_drift, save

log = logging.getLogger(__name__)


def check_drift(settings: Settings, reference: pd.DataFrame, label: str) -> DriftSummary:
    """Evidently report of the latest ``drift_window_days`` of features against ``reference``.

    ``reference`` is the training-window feature frame of the model in production (the flow
    fetches it from the registry); ``label`` names the report files.
    """
    current = recent_window(pd.read_parquet(settings.features_path), settings.drift_window_days)
    columns = [c for c in reference.columns if c not in ("symbol", "event_timestamp")]
    snapshot, summary = run_drift(reference, current, columns)
    summary = save(snapshot, summary, settings.reports_dir, f"drift_{settings.bar}_{label}")
    log.info("drift: %d of %d features drifted (share %.2f) -> %s", summary.drifted_columns,
             len(columns), summary.share, summary.html)
    return summary
