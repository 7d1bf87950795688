"""Evidently drift check: a shifted feature is flagged, an unchanged one is not."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import drift_windows, recent_window, run_drift, save


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


def _daily(n: int, shift_from: int | None = None, scale: float = 3.0) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    ts = pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC")
    vol = rng.lognormal(-3, 0.2, n)
    if shift_from is not None:
        vol[shift_from:] *= scale
    return pd.DataFrame({"symbol": "BTC", "event_timestamp": ts, "rv": vol,
                         "ret": rng.normal(0, 0.02, n)})


def test_drift_windows_never_overlap():
    features = _daily(120)
    reference = features.iloc[:100]
    end = features["event_timestamp"].iloc[99]
    ref, current = drift_windows(reference, features, end, days=30)
    assert ref["event_timestamp"].min() == features["event_timestamp"].iloc[70]
    assert ref["event_timestamp"].max() == end < current["event_timestamp"].min()
    assert len(ref) == 30 and len(current) == 20
    _, none = drift_windows(reference, features, features["event_timestamp"].iloc[-1], days=30)
    assert none.empty


def test_check_drift_says_nothing_new_and_flags_a_regime_change(settings):
    from feature_repo.offline_table import feature_table
    from monitoring.jobs import check_drift

    calm = _daily(160)
    feature_table(settings).replace(calm)
    end = calm["event_timestamp"].iloc[-1]
    idle = check_drift(settings, calm, end, label="t")
    assert not idle.judged and idle.html is None
    assert idle.describe() == "nothing to judge: no bar after the champion's training data " \
                              "(ends 2024-06-08 00:00)"
    # 60 new days in which vol is three times higher
    moved = _daily(220, shift_from=160)
    feature_table(settings).replace(moved)
    summary = check_drift(settings, calm, end, label="t")
    assert summary.judged and summary.current_rows == 60
    assert summary.columns["rv"]["score"] < summary.columns["rv"]["threshold"]  # K-S p-value
    assert summary.dataset_drift and summary.failed is True
    assert summary.describe().startswith("DRIFT: ") and "on 60 rows since 2024-06-08" in summary.describe()
    assert summary.html.exists()


def test_a_few_new_bars_wait_instead_of_being_judged():
    from monitoring.drift import too_few

    stamps = pd.date_range("2024-01-01", periods=8, freq="D", tz="UTC")
    rows = pd.DataFrame({"event_timestamp": stamps.repeat(3)})  # 3 coins
    assert too_few(rows.head(3), 7) == ("1 bar close(s) (3 rows) since the champion's training "
                                        "data; the check waits for 7 days of new bars")
    assert too_few(rows.head(21), 7) is not None  # 7 closes span 6 days
    assert too_few(rows, 7) is None  # 8 closes span 7 days
