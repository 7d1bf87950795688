"""Training + MLflow registry on a temporary SQLite store (real MLflow, no server)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from feature_repo.settings import Settings
from serving.model import ChampionModel
from training.registry import CHAMPION, champion_reference, configure, log_and_register
from training.train import train_regressor

pytestmark = pytest.mark.integration
FEATURE_NAMES = Settings().feature_names  # the daily catalog


def synthetic_frame(days: int = 300, symbols: tuple[str, ...] = ("AAA", "BBB")) -> pd.DataFrame:
    """A learnable frame: next-week log vol = log har_rv_w (last week's vol) plus noise."""
    rng = np.random.default_rng(7)
    ts = pd.date_range("2022-01-01", periods=days, freq="D", tz="UTC")
    rows = []
    for sym in symbols:
        frame = pd.DataFrame({name: rng.uniform(0.01, 0.1, days) for name in FEATURE_NAMES})
        frame["symbol"], frame["event_timestamp"] = sym, ts
        frame["target_rv"] = frame["har_rv_w"] * np.exp(rng.normal(0, 0.1, days))
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    out["target_log_rv"] = np.log(out["target_rv"])
    return out


@pytest.fixture
def trained():
    return train_regressor(synthetic_frame(), FEATURE_NAMES, timedelta(days=1), horizon=7,
                           test_fraction=0.2, bars_per_year=365,
                           rv_windows=Settings().feature_config.rv_windows())


def test_training_scores_the_model_and_persistence_on_the_same_test_rows(trained):
    m = trained.metrics
    assert trained.params["rows_test"] == len(trained.test_predictions) == 2 * 60
    assert trained.reference["event_timestamp"].max() <= trained.split.train_end
    # the target is rv_7 times noise: the model should learn it about as well as persistence
    assert m["test_qlike"] < 0.1 and m["test_persistence_qlike"] < 0.1
    assert m["test_r2_log"] > 0.5


def test_first_version_becomes_champion_later_ones_do_not(tmp_path, trained):
    settings = Settings(home=tmp_path, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    first = log_and_register(trained, settings, {"feature_service": "vol_forecast_1d"})
    second = log_and_register(trained, settings, {"feature_service": "vol_forecast_1d"})
    assert (first.version, first.is_champion) == ("1", True)
    assert (second.version, second.is_champion, second.champion_version) == ("2", False, "1")

    client = configure(settings)
    champion = client.get_model_version_by_alias(settings.model_name, CHAMPION)
    assert str(champion.version) == "1"
    assert champion.tags["horizon"] == "7" and champion.tags["feature_service"] == "vol_forecast_1d"
    run = client.get_run(champion.run_id)
    assert run.data.metrics["test_qlike"] == pytest.approx(trained.metrics["test_qlike"])
    assert (tmp_path / "mlflow" / "artifacts").is_dir()

    version, reference = champion_reference(settings)
    assert version == "1" and len(reference) == len(trained.reference)

    model = ChampionModel.load(settings)
    assert model.version == "1" and model.features == FEATURE_NAMES
    assert model.feature_service == "vol_forecast_1d"
    vols = model.predict_vol(trained.reference.head(3))
    np.testing.assert_allclose(vols, np.exp(trained.model.predict(trained.reference[FEATURE_NAMES].head(3))))
    assert model.annualize == pytest.approx(np.sqrt(365))
