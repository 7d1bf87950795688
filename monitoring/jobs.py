"""Monitoring stage, callable without Prefect: drift of recent features vs a training reference."""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from cryptovol.settings import Settings
from feature_repo.offline_table import feature_table
from monitoring.drift import (
    CALENDAR,
    DriftSummary,
    drift_windows,
    nothing_new,
    run_drift,
    save,
    too_few,
)

log = logging.getLogger(__name__)


def check_drift(settings: Settings, reference: pd.DataFrame, features_end: pd.Timestamp,
                label: str) -> DriftSummary:
    """Evidently report of the bars after ``features_end`` against the end of ``reference``.

    ``reference`` is the training-window feature frame of the model in production and
    ``features_end`` the newest bar its training run saw (the flow fetches both from the
    registry); ``label`` names the report files. Nothing new since: a summary that says so.
    """
    features = feature_table(settings).read()
    reference, current = drift_windows(reference, features, features_end, settings.drift_window_days)
    if current.empty:
        log.info("drift: no bar after the champion's training data (%s): nothing to judge",
                 features_end)
        return nothing_new(features_end)
    if waiting := too_few(current, settings.drift_min_days):
        log.info("drift: %s", waiting)
        return nothing_new(features_end, waiting)
    trained_on = [c for c in reference.columns if c not in ("symbol", "event_timestamp", *CALENDAR)]
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
    summary = replace(summary, current_rows=len(current), since=features_end)
    summary = save(snapshot, summary, settings.reports_dir, f"drift_{settings.bar}_{label}")
    log.info("drift: %d of %d features drifted (share %.2f) -> %s", summary.drifted_columns,
             len(columns), summary.share, summary.html)
    return summary
