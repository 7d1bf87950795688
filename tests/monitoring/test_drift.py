"""Evidently drift check: a shifted feature is flagged, an unchanged one is not."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import recent_window, run_drift, save


def frames(shift: float):
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 2000), "b": rng.normal(0, 1, 2000)})
    current = pd.DataFrame({"a": rng.normal(shift, 1, 300), "b": rng.normal(0, 1, 300)})
    return reference, current


def test_shifted_column_drifts_and_unchanged_one_does_not(tmp_path):
    snapshot, summary = run_drift(*frames(shift=2.0), columns=["a", "b"])
    assert summary.drifted_columns == 1 and summary.share == pytest.approx(0.5)
    assert summary.columns["a"]["score"] > summary.columns["a"]["threshold"]
    assert summary.columns["b"]["score"] < summary.columns["b"]["threshold"]
    saved = save(snapshot, summary, tmp_path, "drift_test")
    assert saved.html.read_text().lstrip().lower().startswith("<!doctype html")
    assert "metrics" in json.loads(saved.json.read_text())


def test_no_shift_no_drift():
    _, summary = run_drift(*frames(shift=0.0), columns=["a", "b"])
    assert summary.drifted_columns == 0 and not summary.dataset_drift


def test_recent_window_counts_days_back_from_the_newest_row():
    ts = pd.date_range("2024-01-01", periods=100, freq="D", tz="UTC")
    frame = pd.DataFrame({"event_timestamp": ts, "x": range(100)})
    window = recent_window(frame, days=30)
    assert len(window) == 30 and window["x"].min() == 70
