"""Prefect flows run for real (temporary Prefect API via prefect_test_harness)."""

from __future__ import annotations

import pandas as pd
import pytest
from prefect.testing.utilities import prefect_test_harness

from feature_repo.settings import DEMO_DATA
from flows.pipeline import features_flow, ingest_flow

pytestmark = pytest.mark.integration


def test_ingest_and_feature_flows_write_the_offline_tables(settings):
    with prefect_test_harness():
        ingested = ingest_flow(settings, [str(DEMO_DATA)])
        again = ingest_flow(settings, [str(DEMO_DATA)])  # same file twice: nothing changes
        built = features_flow(settings)
    assert (ingested.stored.inserted, ingested.symbols) == (37066, 23)
    assert (again.stored.inserted, again.stored.updated, again.stored.unchanged) == (0, 0, 37066)
    assert built.candles == built.feature_rows == 37066 and built.symbols == 23
    features = pd.read_parquet(settings.features_path)
    targets = pd.read_parquet(settings.targets_path)
    assert len(features) == built.feature_rows and len(targets) == built.target_rows
    # every target row has a feature row at the same (symbol, t)
    keys = ["symbol", "event_timestamp"]
    assert len(targets.merge(features[keys], on=keys)) == len(targets)
