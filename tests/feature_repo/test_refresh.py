"""Incremental refresh: the recomputed rows equal a full rebuild; offline and online follow."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cryptovol.settings import Settings
from feature_repo import candle_store, jobs
from feature_repo import store as feast_store
from feature_repo.offline_table import feature_table, target_table
from feature_repo.refresh import lookback_bars, recompute
from feature_repo.transforms.config import FeatureConfig, feature_names
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import compute_targets

DAY = pd.Timedelta(days=1)


def _merged(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    keep = old.merge(new[["symbol", "event_timestamp"]], how="left", indicator=True)
    return (pd.concat([old[keep["_merge"].eq("left_only").to_numpy()], new])
            .sort_values(["symbol", "event_timestamp"], ignore_index=True))


@pytest.mark.parametrize("case", ["three new days", "a corrected close 200 days back"])
def test_recomputed_rows_merged_into_the_old_tables_equal_a_full_rebuild(demo_candles, case):
    config, horizon = FeatureConfig.for_bar("1d"), 7
    last = demo_candles["ts"].max()
    if case == "three new days":
        before = demo_candles[demo_candles["ts"] <= last - 3 * DAY]
        after = demo_candles
        since = last - 2 * DAY
    else:
        before = demo_candles
        since = last - 200 * DAY
        hit = (demo_candles["symbol"] == "ETH") & (demo_candles["ts"] == since)
        after = demo_candles.assign(close=demo_candles["close"].where(~hit, demo_candles["close"] * 1.3))
    fresh = recompute(after, since, config, horizon)
    assert fresh.features["event_timestamp"].min() == since
    assert fresh.features["symbol"].nunique() > 20  # every coin trading then (cross-section moved)
    features = _merged(compute_features(before, config), fresh.features)
    targets = _merged(compute_targets(before, "1d", horizon), fresh.targets)
    pd.testing.assert_frame_equal(features, compute_features(after, config), rtol=1e-6)
    pd.testing.assert_frame_equal(targets, compute_targets(after, "1d", horizon), rtol=1e-6)


def test_the_lookback_covers_the_longest_window_and_the_ewm_settling():
    daily, hourly = FeatureConfig.for_bar("1d"), FeatureConfig.for_bar("1h")
    assert lookback_bars(daily, 7) == 90 + 320
    assert lookback_bars(hourly, 24) == 90 * 24 + 320


@pytest.mark.integration
def test_refresh_from_the_inbox_updates_offline_and_online_stores(tmp_path, redis_url, demo_candles):
    settings = Settings(home=tmp_path / "home", redis_url=redis_url, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    last = demo_candles["ts"].max()
    demo_candles[demo_candles["ts"] < last].to_parquet(tmp_path / "history.parquet")
    demo_candles[demo_candles["ts"] == last].to_parquet(tmp_path / "newest_day.parquet")
    first = jobs.refresh(settings, redis_url, [str(tmp_path / "history.parquet")])
    assert first.rebuilt and len(first.online) == 23  # no table yet: a full build

    settings.inbox.mkdir()
    shutil.copy(tmp_path / "newest_day.parquet", settings.inbox / "newest_day.parquet")
    (settings.inbox / "notes.csv").write_text("hello\n1\n")
    (settings.inbox / "arriving.csv.part").write_text("ts,close\n")  # still being written
    result = jobs.refresh(settings, redis_url)
    assert (result.new_bars, result.updated_bars, result.rebuilt) == (23, 0, False)
    assert result.since == last and result.feature_rows == 23
    assert set(result.online.values()) == {last}
    assert list(result.failed) == ["notes.csv"] and "unrecognised columns" in result.failed["notes.csv"]
    assert [p.name for p in settings.inbox.iterdir() if p.is_file()] == ["arriving.csv.part"]
    assert len(list((settings.inbox / "loaded").glob("*-newest_day.parquet"))) == 1
    assert (next((settings.inbox / "failed").glob("*-notes.csv.error.txt")).read_text()
            .startswith(str(settings.inbox / "notes.csv")))

    # offline: the same tables a full rebuild from all candles gives
    rebuilt = Settings(home=tmp_path / "rebuilt", redis_url=redis_url, mlflow_tracking_uri=None)
    rebuilt.ensure_dirs()
    candle_store.store(rebuilt.home, "1d", demo_candles)
    jobs.build_features(rebuilt)
    offline = feature_table(settings).read()
    pd.testing.assert_frame_equal(offline, feature_table(rebuilt).read(), rtol=1e-6)
    pd.testing.assert_frame_equal(target_table(settings).read(), target_table(rebuilt).read(), rtol=1e-6)

    # online == offline for every symbol's newest bar
    store = feast_store.open_store(settings, redis_url)
    symbols = sorted(offline["symbol"].unique())
    online = feast_store.online_features(store, "vol_forecast_1d", symbols).set_index("symbol")
    newest = offline[offline["event_timestamp"] == last].set_index("symbol")
    assert (online["as_of"] == last).all()
    for name in feature_names(settings):
        pd.testing.assert_series_equal(online.loc[symbols, name].astype(float),
                                       newest.loc[symbols, name], rtol=1e-12, check_names=False)

    again = jobs.refresh(settings, redis_url)
    assert again.since is None and again.loaded == () and "nothing new" in again.describe()


@pytest.mark.integration
def test_bars_stored_by_a_refresh_that_was_killed_are_picked_up_by_the_next(tmp_path, redis_url,
                                                                           demo_candles):
    settings = Settings(home=tmp_path / "home", redis_url=redis_url, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    last = demo_candles["ts"].max()
    candle_store.store(settings.home, "1d", demo_candles[demo_candles["ts"] < last])
    jobs.refresh(settings, redis_url, rebuild=True)
    # as if killed after storing the candles, before the features: only the store has them
    candle_store.store(settings.home, "1d", demo_candles[demo_candles["ts"] == last])
    result = jobs.refresh(settings, redis_url)
    assert result.loaded == () and result.since == last and len(result.online) == 23
    assert feature_table(settings).read()["event_timestamp"].max() == last
