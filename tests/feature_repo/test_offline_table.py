"""The parted offline table: later parts replace rows by key, compaction keeps the rows."""

from __future__ import annotations

import pandas as pd
import pytest

from cryptovol.files import StoreError
from feature_repo import offline_table
from feature_repo.offline_table import OfflineTable


def rows(symbols: list[str], days: list[str], value: float) -> pd.DataFrame:
    return pd.DataFrame({
        "symbol": symbols,
        "event_timestamp": pd.to_datetime(days, utc=True),
        "x": value,
    })


def test_an_appended_part_replaces_rows_with_the_same_key_and_adds_new_ones(tmp_path):
    table = OfflineTable(tmp_path / "t")
    table.replace(rows(["A", "A", "B"], ["2024-01-01", "2024-01-02", "2024-01-01"], 1.0))
    table.append(rows(["A", "A"], ["2024-01-02", "2024-01-03"], 2.0))
    got = table.read()
    assert list(got.columns) == ["symbol", "event_timestamp", "x"]
    assert list(zip(got["symbol"], got["event_timestamp"].dt.day, got["x"], strict=True)) == [
        ("A", 1, 1.0), ("A", 2, 2.0), ("A", 3, 2.0), ("B", 1, 1.0)]
    assert len(table.parts()) == 2
    assert table.read(["x"])["x"].tolist() == [1.0, 2.0, 2.0, 1.0]


def test_replace_drops_older_parts_and_compaction_keeps_the_current_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(offline_table, "MAX_PARTS", 3)
    table = OfflineTable(tmp_path / "t")
    table.replace(rows(["A"], ["2024-01-01"], 0.0))
    for day in range(2, 5):  # base + 3 parts exceeds MAX_PARTS: one base again
        table.append(rows(["A", "A"], ["2024-01-01", f"2024-01-0{day}"], float(day)))
    assert len(table.parts()) == 1 and "base" in table.parts()[0].name
    got = table.read()
    assert got["event_timestamp"].dt.day.tolist() == [1, 2, 3, 4]
    assert got["x"].tolist() == [4.0, 2.0, 3.0, 4.0]  # day 1 rewritten by each append
    table.replace(rows(["B"], ["2024-02-01"], 9.0))
    assert table.read()["symbol"].tolist() == ["B"] and len(table.parts()) == 1


def test_a_writers_temporary_is_invisible_and_a_missing_table_says_how_to_build_it(tmp_path):
    table = OfflineTable(tmp_path / "t")
    with pytest.raises(StoreError, match="no table here yet.*cryptovol pipeline"):
        table.read()
    table.replace(rows(["A"], ["2024-01-01"], 1.0))
    (table.folder / ".20990101-part.parquet.x1y2.tmp").write_bytes(b"PAR1 half written")
    assert table.read()["x"].tolist() == [1.0]


def test_a_damaged_part_is_named(tmp_path):
    table = OfflineTable(tmp_path / "t")
    table.replace(rows(["A"], ["2024-01-01"], 1.0))
    bad = table.append(rows(["A"], ["2024-01-02"], 1.0))
    bad.write_bytes(b"not parquet")
    with pytest.raises(StoreError, match=f"{bad.name}: not a readable parquet file"):
        table.read()
