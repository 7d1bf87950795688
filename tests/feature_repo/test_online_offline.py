"""Feast against a real Redis: online values equal the offline rows; the PIT join is exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptovol.settings import Settings
from feature_repo import ingest, jobs
from feature_repo import store as feast_store
from feature_repo.offline_table import feature_table
from feature_repo.transforms.config import feature_names

pytestmark = pytest.mark.integration
FEATURE_NAMES = feature_names(Settings())  # the daily catalog
SERVICE = "vol_forecast_1d"


@pytest.fixture(scope="module")
def materialized(tmp_path_factory, redis_url):
    settings = Settings(home=tmp_path_factory.mktemp("home"), redis_url=redis_url,
                        mlflow_tracking_uri=None)
    ingest.seed_demo(settings)
    jobs.build_features(settings)
    latest = jobs.apply_and_materialize(settings, redis_url)
    store = feast_store.open_store(settings, redis_url)
    return settings, store, latest, feature_table(settings).read()


def test_online_features_equal_the_offline_row_of_each_symbols_latest_bar(materialized):
    _, store, latest, offline = materialized
    assert len(latest) == 23
    symbols = sorted(latest)
    online = feast_store.online_features(store, SERVICE, symbols).set_index("symbol")
    newest = offline.loc[offline.groupby("symbol")["event_timestamp"].idxmax()].set_index("symbol")
    for sym in symbols:
        assert online.loc[sym, "as_of"] == newest.loc[sym, "event_timestamp"] == latest[sym]
        for name in FEATURE_NAMES:
            want, got = newest.loc[sym, name], online.loc[sym, name]
            if pd.isna(want):
                assert got is None or pd.isna(got), (sym, name)
            else:
                assert got == pytest.approx(want, rel=1e-12), (sym, name)


def test_unknown_symbol_has_no_as_of(materialized):
    _, store, _, _ = materialized
    online = feast_store.online_features(store, SERVICE, ["BTC", "NOT_A_COIN"]).set_index("symbol")
    assert pd.notna(online.loc["BTC", "as_of"]) and pd.isna(online.loc["NOT_A_COIN", "as_of"])
    assert online.loc["NOT_A_COIN", FEATURE_NAMES].isna().all()


def test_historical_join_takes_the_last_row_at_or_before_each_timestamp(materialized):
    _, store, _, offline = materialized
    btc = offline[offline["symbol"] == "BTC"].set_index("event_timestamp")
    stamps = pd.to_datetime(["2018-01-05", "2020-03-12", "2021-07-07"], utc=True)
    entity = pd.DataFrame({
        "symbol": "BTC",
        # exactly at a bar close, and 23 h after it (the next bar has not closed yet)
        "event_timestamp": list(stamps) + list(stamps[:2] + pd.Timedelta(hours=23)),
    }).astype({"event_timestamp": "datetime64[us, UTC]"})
    joined = feast_store.historical_features(store, "1d", entity).sort_values("event_timestamp")
    for _, row in joined.iterrows():
        bar = row["event_timestamp"].floor("D")
        np.testing.assert_allclose(row[FEATURE_NAMES].astype(float).to_numpy(),
                                   btc.loc[bar, FEATURE_NAMES].astype(float).to_numpy())


def test_a_view_being_materialized_keeps_serving_its_last_values(materialized):
    """A materialize marks the view MATERIALIZING in the registry; a service opening the store
    meanwhile must still read the last values (feast refuses them unless told otherwise)."""
    from feast.feature_server import _update_fv_state
    from feast.feature_view import FeatureViewState

    settings, store, latest, _ = materialized
    _update_fv_state(store, ["vol_features_1d"], FeatureViewState.MATERIALIZING)
    try:
        fresh = feast_store.open_store(settings, settings.redis_url)
        state = fresh.registry.get_feature_view("vol_features_1d", fresh.project).state
        assert state == FeatureViewState.MATERIALIZING
        online = feast_store.online_features(fresh, SERVICE, ["BTC"])
        assert online.loc[0, "as_of"] == latest["BTC"]
        strict = feast_store.open_store(settings, settings.redis_url)
        strict.registry.serve_features_while_materializing = False  # feast's default
        with pytest.raises(ValueError, match="MATERIALIZING' and cannot serve features"):
            feast_store.online_features(strict, SERVICE, ["BTC"])
    finally:
        _update_fv_state(store, ["vol_features_1d"], FeatureViewState.AVAILABLE_ONLINE)


def test_a_reader_never_sees_a_partial_registry_while_feast_apply_rewrites_it(materialized):
    """Feast rewrites registry.db in place; a service refreshing its cache mid-apply then lost
    the feature service (500s). The registry store writes it atomically (without it this test
    saw an empty registry in most of ~400 reads)."""
    import threading

    from feast.protos.feast.core.Registry_pb2 import Registry

    from feature_repo.registry_store import AtomicFileRegistryStore

    settings, store, _, _ = materialized
    assert isinstance(store.registry._registry_store, AtomicFileRegistryStore)
    path = settings.home / "feast" / "registry.db"
    done, seen = threading.Event(), []

    def read() -> None:
        while not done.is_set():
            proto = Registry.FromString(path.read_bytes())
            seen.append({s.spec.name for s in proto.feature_services})

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(15):
            feast_store.apply(feast_store.open_store(settings, settings.redis_url), settings)
    finally:
        done.set()
        reader.join()
    assert len(seen) > 15 and all(names == {SERVICE} for names in seen)
