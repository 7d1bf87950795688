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


def test_a_table_from_before_shadow_scoring_is_migrated(postgres):
    """The role column joins the key: a challenger's forecast of a request's coin no longer
    collides with the answer's row (ON CONFLICT would have dropped it)."""
    import psycopg

    _, server = postgres
    url = server.get_uri()
    with psycopg.connect(url) as conn:  # the table as issue 9 created it, with an old row
        conn.execute("""CREATE TABLE cryptovol_predictions (
            request_id text NOT NULL, logged_at timestamptz NOT NULL, symbol text NOT NULL,
            as_of timestamptz, bar text NOT NULL, horizon integer NOT NULL, model_name text NOT NULL,
            model_version text NOT NULL, predicted_vol_per_bar double precision,
            predicted_vol double precision, PRIMARY KEY (request_id, symbol))""")
        conn.execute("INSERT INTO cryptovol_predictions VALUES ('old', now(), 'BTC', now(), '1d', 7, "
                     "'m', '1', 0.01, 0.2)")
    sink = PostgresSink(url)
    answer = _rows(2, "a")
    shadow = [{**row, "model_version": "2", "role": "challenger"} for row in answer]
    sink.write(pd.DataFrame(answer))
    sink.write(pd.DataFrame(shadow))
    logged = sink.read("1d")
    assert len(logged) == 5
    assert logged.groupby("role")["request_id"].apply(sorted).to_dict() == {
        "champion": ["a", "a", "old"], "challenger": ["a", "a"]}
    assert PostgresSink(url).read("1d").equals(logged)  # a second connection: DDL idempotent
