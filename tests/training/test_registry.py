"""The MLflow registry on a temporary SQLite store (real MLflow, no server): challenger and
champion aliases through the gate, manual promotion, rollback, and the served model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptovol.settings import Settings
from training.aliases import (
    CHALLENGER,
    CHAMPION,
    champion_history,
    list_versions,
    promote_manually,
    rollback,
)
from training.champion import ChampionModel
from training.classify import final_classifiers
from training.gate import decide
from training.intervals import calibrate
from training.metrics import qlike
from training.models import fit_regressor
from training.package import VolForecaster
from training.registry import TrainingRun, champion_oof, configure, log_and_register

pytestmark = pytest.mark.integration
FEATURES = ["har_rv_d", "ewma_vol", "noise"]


def synthetic_frame(rows: int = 600, seed: int = 7) -> pd.DataFrame:
    """Next-week vol = the EWMA vol x lognormal noise: learnable from ewma_vol."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "symbol": "AAA",
        "event_timestamp": pd.date_range("2022-01-01", periods=rows, freq="D", tz="UTC"),
        "har_rv_d": rng.uniform(0.01, 0.1, rows), "ewma_vol": rng.uniform(0.01, 0.1, rows),
        "noise": rng.normal(size=rows),
    })
    frame["target_rv"] = frame["ewma_vol"] * np.exp(rng.normal(0, 0.1, rows))
    frame["target_log_rv"] = np.log(frame["target_rv"])
    frame["target_spike"] = (frame["target_rv"] > 1.1 * frame["ewma_vol"]).astype(float)
    return frame


def make_run(frame: pd.DataFrame, target_noise: float, seed: int) -> TrainingRun:
    """A LightGBM fitted on a target blurred by ``target_noise`` (more noise: a worse model)."""
    rng = np.random.default_rng(seed)
    train = frame.iloc[:400].copy()
    train["target_log_rv"] = train["target_log_rv"] + rng.normal(0, target_noise, len(train))
    model = fit_regressor("lightgbm", train.iloc[:300], train.iloc[300:], FEATURES)
    point = VolForecaster(model, FEATURES, 1.0, "ewma_vol")
    valid = train.iloc[300:]
    package = VolForecaster(model, FEATURES, 1.0, "ewma_vol",
                            calibrate(valid["symbol"], valid["target_rv"], point.predict(valid)["vol"]),
                            final_classifiers(train, FEATURES, horizon=7))
    holdout = frame.iloc[450:]
    oof = holdout[["symbol", "event_timestamp", "target_rv"]].assign(
        lightgbm=package.predict(holdout)["vol"])  # out-of-sample forecasts of the holdout
    return TrainingRun(package=package, family="lightgbm", features=FEATURES,
                       reference=train[["symbol", "event_timestamp", *FEATURES]], oof=oof,
                       metrics={"challenger_qlike": 0.1}, params={"family": "lightgbm"},
                       report={"note": "test"})


def register_through_gate(run: TrainingRun, settings: Settings, holdout: pd.DataFrame):
    client = configure(settings)
    name = settings.registered_model
    challenger_q = qlike(holdout["target_rv"], run.oof["lightgbm"])
    theirs = champion_oof(client, name)  # the champion's own out-of-sample forecasts
    has_champion = theirs is not None
    champion_q = None
    if theirs is not None:
        joined = holdout.join(theirs, on=["symbol", "event_timestamp"])
        champion_q = qlike(joined["target_rv"], joined["champion"])
    decision = decide(challenger_q, best_baseline_qlike=1.0, champion_qlike=champion_q,
                      margin=0.02, has_champion=has_champion)
    tags = {"feature_service": "vol_forecast_1d", "vol_scale": "1.0", "target_base": "ewma_vol"}
    return log_and_register(run, settings, tags, decision)


def test_gate_aliases_manual_promotion_and_rollback(tmp_path):
    settings = Settings(home=tmp_path, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    frame = synthetic_frame()
    holdout = frame.iloc[450:]
    good, bad, better = make_run(frame, 0.3, 1), make_run(frame, 3.0, 2), make_run(frame, 0.0, 3)

    first = register_through_gate(good, settings, holdout)
    assert (first.version, first.is_champion) == ("1", True)  # bootstrap: nothing to serve yet

    worse = register_through_gate(bad, settings, holdout)
    assert (worse.version, worse.is_champion, worse.champion_version) == ("2", False, "1")
    assert "does not beat the champion" in worse.decision.as_tag()

    best = register_through_gate(better, settings, holdout)
    assert (best.version, best.is_champion) == ("3", True)
    assert best.decision.promote and "beats the champion's" in best.decision.as_tag()

    client = configure(settings)
    name = settings.registered_model
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == "3"
    assert champion_history(client, name) == ["1", "3"]
    v2 = client.get_model_version(name, "2")
    assert v2.tags["gate"].startswith("KEEP CHAMPION")

    promote_manually(client, name, "2")
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "2"
    assert "manual by" in client.get_model_version(name, "2").tags["promoted"]
    # the listing says a person overrode the gate, not the gate's stale "KEEP CHAMPION"
    manual = {row["version"]: row for row in list_versions(client, name)}["2"]["gate"]
    assert manual.startswith("PROMOTED BY HAND") and "the gate had said: KEEP CHAMPION" in manual
    assert rollback(client, name) == ("2", "3")
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "3"
    listed = {row["version"]: row for row in list_versions(client, name)}
    assert [listed[v]["aliases"] for v in ("3", "2", "1")] == ["challenger,champion", "", ""]
    assert listed["2"]["gate"].startswith("ROLLED BACK") and "KEEP CHAMPION" in listed["2"]["gate"]
    assert listed["3"]["gate"].startswith("PROMOTE")

    served = ChampionModel.load(settings)
    assert served.version == "3" and served.features == FEATURES
    assert served.base == "ewma_vol"  # the model forecasts vol relative to the EWMA vol
    # the registered pyfunc answers exactly what the package answered at evaluation
    rows = holdout.head(20)
    evaluated = better.package.predict(rows)
    pd.testing.assert_frame_equal(served.predict(rows), evaluated)
    pd.testing.assert_frame_equal(
        served.model.predict(rows[["symbol", *FEATURES]]).set_axis(rows.index), evaluated)
    assert list(evaluated.columns) == ["vol", "vol_lo80", "vol_hi80", "vol_lo95", "vol_hi95",
                                       "p_low", "p_medium", "p_high", "p_spike", "spike"]
    ordered = evaluated[["vol_lo95", "vol_lo80", "vol", "vol_hi80", "vol_hi95"]].to_numpy()
    assert (ordered[:, 1:] > ordered[:, :-1]).all()
    np.testing.assert_allclose(evaluated[["p_low", "p_medium", "p_high"]].sum(axis=1), 1.0)
    assert evaluated["p_spike"].between(0, 1).all()
    assert rollback(client, name) == ("3", "1")
    with pytest.raises(LookupError, match="no previous champion"):
        rollback(client, name)
