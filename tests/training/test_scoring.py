"""Scoring the OOF table: common sample, best baseline, gain, and the leakage audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.metrics import qlike
from training.scoring import score


def oof(model_noise: float, persistence_noise: float, seed: int = 0, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    target = np.exp(rng.normal(-3, 0.4, rows))
    noisy = lambda s: target * np.exp(rng.normal(0, s, rows))  # noqa: E731
    return pd.DataFrame({
        "symbol": np.where(np.arange(rows) % 2, "AAA", "BBB"),
        "event_timestamp": pd.date_range("2024-01-01", periods=rows // 2, freq="D", tz="UTC").repeat(2),
        "fold": np.repeat([1, 2], rows // 2), "target_rv": target,
        "lightgbm": noisy(model_noise), "catboost": noisy(model_noise + 0.1),
        "persistence": noisy(persistence_noise), "ewma": noisy(0.5), "har": noisy(0.4),
        "garch": noisy(0.6), "stale": noisy(0.5),
    })


def test_best_forecasters_gain_and_dm():
    s = score(oof(model_noise=0.38, persistence_noise=0.45), horizon=1, annualize=1.0)
    assert s.best_baseline == "har" and s.best_model == "lightgbm"
    data = oof(0.38, 0.45)
    expected = 1 - qlike(data["target_rv"], data["lightgbm"]) / qlike(data["target_rv"], data["har"])
    assert s.gain == pytest.approx(expected)
    assert s.rows_scored == 400 and not s.leakage_suspected
    assert set(s.per_symbol.index) == {"AAA", "BBB"} and list(s.per_fold.index) == [1, 2]
    assert 0 <= s.dm["lightgbm"]["dm_pvalue"] <= 1


def test_too_good_to_be_true_is_flagged():
    s = score(oof(model_noise=0.05, persistence_noise=0.45), horizon=1, annualize=1.0)
    assert s.leakage_suspected and "check that no target overlaps" in s.leakage_flags[0]
    s2 = score(oof(model_noise=0.38, persistence_noise=0.02), horizon=1, annualize=1.0)
    assert any("persistence beats a stale" in f for f in s2.leakage_flags)


def test_a_baseline_that_failed_on_a_coin_and_fold_loses_only_its_own_rows():
    """GARCH did not converge for BBB in fold 2: the models are still scored on every row, GARCH
    on the others, and the gain is measured on the rows the best baseline covers."""
    full = oof(0.38, 0.7, seed=5)  # HAR the clear best baseline
    data = full.copy()
    failed = (data["symbol"] == "BBB") & (data["fold"] == 2)
    data.loc[failed, "garch"] = np.nan
    s = score(data, horizon=1, annualize=1.0)
    reference = score(full, horizon=1, annualize=1.0)
    assert s.rows_scored == 400 == reference.rows_scored
    for model in ("lightgbm", "catboost"):  # judged on exactly the same rows as before
        assert s.pooled.loc[model, "qlike"] == pytest.approx(reference.pooled.loc[model, "qlike"])
        assert s.pooled.loc[model, "rows"] == 400
        assert s.per_fold.loc[2, model] == pytest.approx(reference.per_fold.loc[2, model])
    kept = data[~failed]
    assert s.pooled.loc["garch", "rows"] == 300
    assert s.pooled.loc["garch", "qlike"] == pytest.approx(qlike(kept["target_rv"], kept["garch"]))
    assert s.missing.to_dict("records") == [
        {"forecaster": "garch", "symbol": "BBB", "fold": 2, "rows": 100}]
    assert s.per_symbol_metrics.loc[("BBB", "lightgbm"), "rows"] == 200
    assert s.per_symbol_metrics.loc[("BBB", "garch"), "rows"] == 100
    assert s.best_baseline == reference.best_baseline == "har"
    assert s.gain == pytest.approx(reference.gain)
    assert "garch_rows" in s.summary() and "lightgbm_rows" not in s.summary()


def test_per_coin_metrics_match_each_coins_own_computation():
    from training.metrics import diebold_mariano, qlike_losses, rmse
    from training.scoring import per_symbol_metric_names

    data = oof(0.38, 0.45, seed=3)
    s = score(data, horizon=2, annualize=10.0)
    aaa = data[data["symbol"] == "AAA"]
    row = s.per_symbol_metrics.loc[("AAA", "lightgbm")]
    assert row["rows"] == 200
    assert row["qlike"] == pytest.approx(qlike(aaa["target_rv"], aaa["lightgbm"]))
    assert row["rmse_vol_ann"] == pytest.approx(10.0 * rmse(aaa["target_rv"], aaa["lightgbm"]))
    dm = diebold_mariano(qlike_losses(aaa["target_rv"], aaa["lightgbm"]),
                         qlike_losses(aaa["target_rv"], aaa["har"]), horizon=2)
    assert row["dm_stat"] == pytest.approx(dm["dm_stat"])
    assert np.isnan(s.per_symbol_metrics.loc[("AAA", "har"), "dm_stat"])  # baselines get no test
    logged = per_symbol_metric_names(s, "lightgbm")
    assert logged["qlike_AAA_lightgbm"] == pytest.approx(row["qlike"])
    assert "qlike_BBB_har" in logged and not any(k.endswith("_garch") for k in logged)
