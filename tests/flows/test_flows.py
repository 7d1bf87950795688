"""Prefect flows run for real (temporary Prefect API via prefect_test_harness)."""

from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness

from cryptovol.settings import DEMO_DATA
from feature_repo.offline_table import feature_table, target_table
from feature_repo.transforms.config import feature_names
from flows.pipeline import features_flow, ingest_flow
from tests.flows.processes import SLOW

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def prefect_api():
    """One temporary Prefect API for the module (it takes seconds to start)."""
    with prefect_test_harness(server_startup_timeout=int(180 * SLOW)):
        yield


def test_ingest_and_feature_flows_write_the_offline_tables(settings):
    ingested = ingest_flow(settings, [str(DEMO_DATA)])
    again = ingest_flow(settings, [str(DEMO_DATA)])  # same file twice: nothing changes
    built = features_flow(settings)
    assert (ingested.stored.inserted, ingested.symbols) == (37066, 23)
    assert (again.stored.inserted, again.stored.updated, again.stored.unchanged) == (0, 0, 37066)
    assert built.candles == built.feature_rows == 37066 and built.symbols == 23
    features = feature_table(settings).read()
    targets = target_table(settings).read()
    assert len(features) == built.feature_rows and len(targets) == built.target_rows
    # every target row has a feature row at the same (symbol, t)
    keys = ["symbol", "event_timestamp"]
    assert len(targets.merge(features[keys], on=keys)) == len(targets)


def test_hourly_candles_flow_through_ingest_and_features(tmp_path):
    from cryptovol.settings import Settings
    from tests.conftest import DATA

    settings = Settings(home=tmp_path, bar="1h", horizon=24, redis_url=None)
    ingested = ingest_flow(settings, [str(DATA / "cdd_btcusdt_1h_excerpt.csv")])
    built = features_flow(settings)
    assert ingested.bar == "1h" and ingested.stored.inserted == 120
    features = feature_table(settings).read()
    assert len(features) == built.feature_rows == 120
    assert len(feature_names(settings)) == 40 and "hour_sin" in features.columns
    assert features.columns.tolist()[2:] == feature_names(settings)


def test_pipeline_without_a_champion_skips_drift_and_says_what_to_do(settings, monkeypatch):
    """The leakage audit held the first model back: no champion, so no drift check — and the
    summary says why and how to promote by hand, instead of failing on a missing champion."""
    import flows.pipeline as pipeline

    held_back = pipeline.TrainingSummary(
        candles=100, symbols=2, feature_rows=100, online_symbols=2, model_name="crypto-vol-forecaster-15m",
        model_version="1", champion_version=None, gate="HOLD: leakage audit", metrics={},
        leakage_flags=["model beats the best baseline by 21.0% QLIKE (> 15%)"], report="/r/eval.html")
    monkeypatch.setattr(pipeline, "seed_demo_flow", lambda s: None)
    monkeypatch.setattr(pipeline, "training_pipeline_flow", lambda s, url: held_back)

    def no_drift(s):
        raise AssertionError("the drift check needs a champion")

    monkeypatch.setattr(pipeline, "drift_flow", no_drift)
    summary = pipeline.pipeline_flow(settings, "redis://127.0.0.1:1/0")
    assert summary.drift_report is None and summary.drift is None
    (note,) = summary.notes
    assert "crypto-vol-forecaster-15m v1 stays @challenger" in note
    assert "21.0% QLIKE" in note and "/r/eval.html" in note
    assert "`cryptovol models promote 1`" in note and "drift check needs a champion" in note
