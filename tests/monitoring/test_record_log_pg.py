"""The monitoring log in PostgreSQL (production): records of each bar in order, shared by every
process that points at the same database."""

from __future__ import annotations

import pytest

from cryptovol.settings import Settings
from monitoring import record_log

pytestmark = pytest.mark.integration


def test_records_round_trip_per_bar_in_order(tmp_path):
    import pgserver

    server = pgserver.get_server(str(tmp_path / "pg"), cleanup_mode="stop")
    try:
        daily = Settings(home=tmp_path / "home", database_url=server.get_uri(), bar="1d")
        hourly = Settings(home=tmp_path / "home", database_url=server.get_uri(), bar="1h")
        assert record_log.history(daily) == []
        record_log.append(daily, {"run": 1, "drift": {"share": 0.25}, "at": "2024-01-01"})
        record_log.append(hourly, {"run": "h1"})
        record_log.append(daily, {"run": 2, "drift": {"share": 0.5}})
        assert [r["run"] for r in record_log.history(daily)] == [1, 2]
        assert record_log.history(daily)[0]["drift"] == {"share": 0.25}
        assert record_log.history(hourly) == [{"run": "h1"}]
        assert not (tmp_path / "home" / "monitoring").exists()  # nothing went to a file
        assert record_log.where(daily).endswith("table cryptovol_monitoring")
    finally:
        server.cleanup()


def test_embedded_log_is_a_jsonl_file(tmp_path):
    s = Settings(home=tmp_path / "home", bar="1d")
    record_log.append(s, {"run": 1})
    assert record_log.history(s) == [{"run": 1}]
    assert record_log.where(s) == str(tmp_path / "home" / "monitoring" / "monitor_1d.jsonl")
