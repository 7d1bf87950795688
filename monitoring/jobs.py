"""Monitoring stage, callable without Prefect: drift of recent features vs a training reference."""

from __future__ import annotations

import logging

import pandas as pd

from cryptovol import files
from cryptovol.settings import Settings
from monitoring.drift import DriftSummary, recent_window, run_drift, save

log = logging.getLogger(__name__)


def check_drift(settings: Settings, reference: pd.DataFrame, label: str) -> DriftSummary:
    """Evidently report of the latest ``drift_window_days`` of features against ``reference``.

    ``reference`` is the training-window feature frame of the model in production (the flow
    fetches it from the registry); ``label`` names the report files.
    """
    current = recent_window(files.read_parquet(settings.features_path), settings.drift_window_days)
    trained_on = [c for c in reference.columns if c not in ("symbol", "event_timestamp")]
    columns = [c for c in trained_on if c in current.columns]
    if missing := sorted(set(trained_on) - set(columns)):
        # the feature set changed since the model was trained: compare what both have
        log.warning("drift: %d features of the reference are no longer built: %s",
                    len(missing), ", ".join(missing))
    empty = [c for c in columns if reference[c].isna().all() or current[c].isna().all()]
    if empty:  # e.g. turnover without market caps: nothing to compare
        log.info("drift: skipping %d features without values: %s", len(empty), ", ".join(empty))
        columns = [c for c in columns if c not in empty]
    if not columns:
        raise LookupError("the reference and the current features share no column with values")
    snapshot, summary = run_drift(reference, current, columns)
    summary = save(snapshot, summary, settings.reports_dir, f"drift_{settings.bar}_{label}")
    log.info("drift: %d of %d features drifted (share %.2f) -> %s", summary.drifted_columns,
             len(columns), summary.share, summary.html)
    return summary
