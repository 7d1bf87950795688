"""The prediction log in a real PostgreSQL (a private server from the pgserver wheel)."""

from __future__ import annotations

import pandas as pd
import pytest

from cryptovol.prediction_log import PredictionLog, sink_for
from cryptovol.prediction_log_pg import PostgresSink
from cryptovol.settings import Settings
from tests.cryptovol.test_prediction_log import _rows

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres(tmp_path):
    import pgserver

    folder = tmp_path / "pg"
    server = pgserver.get_server(str(folder), cleanup_mode="stop")
    yield folder, server
    server.cleanup()


def test_rows_land_once_and_survive_the_database_going_away(postgres, tmp_path):
    import pgserver

    folder, server = postgres
    url = server.get_uri()
    settings = Settings(home=tmp_path / "home", prediction_log_url=url)
    sink = sink_for(settings)
    assert isinstance(sink, PostgresSink) and "postgres:@" not in repr(sink)
    plog = PredictionLog(sink, flush_seconds=3600)
    plog.record(_rows(3, "a"))
    assert plog.flush() is not None
    sink.write(pd.DataFrame(_rows(3, "a")))  # a retried flush: nothing twice
    logged = sink.read("1d")
    assert len(logged) == 3 and logged["request_id"].tolist() == ["a"] * 3
    assert logged["as_of"].iloc[0] == pd.Timestamp("2021-07-07", tz="UTC")
    assert logged["predicted_vol_per_bar"].round(2).tolist() == [0.01, 0.02, 0.03]

    server.cleanup()  # the database goes away: the service keeps its rows
    plog.record(_rows(2, "b", version="2"))
    assert plog.flush() is None
    restarted = pgserver.get_server(str(folder), cleanup_mode="stop")
    try:
        plog.sink = PostgresSink(restarted.get_uri())
        plog.close()
        logged = plog.sink.read("1d")
        assert logged["request_id"].tolist() == ["a"] * 3 + ["b"] * 2
        assert logged["model_version"].tolist() == ["1"] * 3 + ["2"] * 2
        assert plog.sink.read("1h").empty
    finally:
        restarted.cleanup()
