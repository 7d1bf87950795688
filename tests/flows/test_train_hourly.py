"""`cryptovol ingest` + `cryptovol train --bar 1h --horizon 24` as a user runs them, on hourly
candles simulated from a GARCH(1,1) process (two coins, 150 days): the whole walk-forward,
the report and the hourly registry entry, in about a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from benchmarks.simulate import simulate_candles
from cryptovol.settings import Settings
from tests.flows.processes import SLOW
from training.evaluate import BASELINES
from training.models import REGRESSORS

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).parent / "cryptovol")
HORIZON = 24
EMBARGO = 6


def _run(args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=900 * SLOW)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert "Traceback" not in out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def hourly_run(tmp_path_factory, redis_url):
    home = tmp_path_factory.mktemp("hourly")
    candles = home / "simulated_1h.parquet"
    simulate_candles(symbols=2, years=150 / 365, bar="1h", seed=3).to_parquet(candles)
    env = {k: v for k, v in os.environ.items() if k not in {"MLFLOW_TRACKING_URI", "PREFECT_API_URL"}}
    env.update({"CRYPTOVOL_HOME": str(home), "REDIS_URL": redis_url, "COLUMNS": "200"})
    ingested = _run(["ingest", str(candles)], env)
    trained = _run(["train", "--bar", "1h", "--horizon", str(HORIZON), "--embargo", str(EMBARGO)], env)
    report = json.loads(next((home / "reports").glob(f"evaluation_1h_h{HORIZON}_*.json")).read_text())
    return home, ingested, trained, report


def test_hourly_train_registers_a_champion_of_its_own_model_name(hourly_run):
    _, ingested, trained, _ = hourly_run
    assert "7,200 new" in ingested
    assert "version 1 of crypto-vol-forecaster-1h-h24, champion v1" in " ".join(trained.split())


def test_hourly_walk_forward_purges_a_day_plus_the_embargo_and_scores_every_forecaster(hourly_run):
    _, _, _, report = hourly_run
    meta = report["meta"]
    assert (meta["bar"], meta["horizon"], meta["folds"], meta["embargo"]) == ("1h", HORIZON, 4, EMBARGO)
    for fold in meta["fold_bounds"]:
        gap = pd.Timestamp(fold["test_start"]) - pd.Timestamp(fold["train_end"])
        assert gap == pd.Timedelta(hours=HORIZON + EMBARGO)  # purge of H bars, then the embargo
    assert set(report["pooled"]) == {*REGRESSORS, *BASELINES}
    assert report["rows_scored"] > 2500  # 4 blocks x ~15 days x 24 h x 2 coins
    # the data *is* a GARCH(1,1): the GARCH baseline must be the best one, and no model may
    # look too good to be true (the leakage audit passes)
    assert report["best_baseline"] == "garch"
    assert report["leakage_flags"] == []
    audit = report["meta"]["leakage_audit"]  # the direct evidence, computed on this run's data
    assert not audit["suspected"]
    assert [(c["name"], c["passed"]) for c in audit["checks"]] == [
        ("purged_folds", True), ("features_point_in_time", True), ("target_after_t", True)]
    assert sorted(report["per_symbol_qlike"]) == ["BTC", "C001"]


def _champion(home: Path):
    """The MLflow client of the run's home and its champion version."""
    settings = Settings(home=home, bar="1h", horizon=HORIZON, mlflow_tracking_uri=None)
    client = mlflow.MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
    return client, client.get_model_version_by_alias(settings.registered_model, "champion")


def test_hourly_run_logs_out_of_fold_forecasts_to_mlflow(hourly_run):
    home, _, _, _ = hourly_run
    client, version = _champion(home)
    assert version.tags["feature_service"] == "vol_forecast_1h"
    path = client.download_artifacts(version.run_id, "data/oof_predictions.parquet", str(home))
    oof = pd.read_parquet(path)
    assert {*REGRESSORS, *BASELINES, "target_rv", "fold"} <= set(oof.columns)
    assert oof["fold"].nunique() == 4 and oof["symbol"].nunique() == 2
    assert (oof[list(REGRESSORS)] > 0).all().all()
    local = next((home / "reports").glob(f"evaluation_1h_h{HORIZON}_*_oof.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(local), oof)  # the copy beside the report


def test_hourly_run_logs_the_fitted_thresholds(hourly_run):
    home, _, _, _ = hourly_run
    client, version = _champion(home)
    path = client.download_artifacts(version.run_id, "data/thresholds.json", str(home))
    thresholds = json.loads(Path(path).read_text())
    cuts = thresholds["regime_cut_points"]
    assert sorted(cuts) == ["BTC", "C001"]
    assert all(0 < low < high < 0.1 for low, high in cuts.values())  # per-bar hourly vols
    assert "24-bar" in thresholds["spike_rule"] and thresholds["vol_scale"] > 0
