"""The model package: conformal intervals that cover what they claim, and a save/load round
trip that answers exactly what the evaluated object answered (LightGBM and CatBoost)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.intervals import calibrate, coverage
from training.models import fit_regressor
from training.package import VolForecaster

FEATURES = ["ewma_vol", "noise"]


def noisy(rows: int, sigma: dict[str, float], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    symbols = np.array(list(sigma))[rng.integers(0, len(sigma), rows)]
    frame = pd.DataFrame({"symbol": symbols, "ewma_vol": rng.uniform(0.01, 0.1, rows),
                          "noise": rng.normal(size=rows)})
    scale = np.array([sigma[s] for s in symbols])
    frame["target_rv"] = frame["ewma_vol"] * np.exp(rng.normal(0, 1, rows) * scale)
    frame["target_log_rv"] = np.log(frame["target_rv"])
    return frame


def test_conformal_intervals_cover_the_nominal_share_per_coin():
    sigma = {"CALM": 0.1, "WILD": 0.6}
    past, future = noisy(6000, sigma, 1), noisy(20000, sigma, 2)
    intervals = calibrate(past["symbol"], past["target_rv"], past["ewma_vol"])
    assert set(intervals.per_symbol) == {"CALM", "WILD"}
    (lo, hi) = intervals.per_symbol["WILD"]["80"]
    assert hi - lo == pytest.approx(2 * 1.2816 * 0.6, rel=0.1)  # the normal's 80% width
    bounds = intervals.bounds(future["symbol"], future["ewma_vol"].to_numpy())
    for level in ("80", "95"):
        future[f"m_lo{level}"], future[f"m_hi{level}"] = bounds[level]
    future["fold"] = 1
    per_coin = coverage(future, "m", ["symbol"])
    assert per_coin.loc["CALM", "coverage_80"] == pytest.approx(0.80, abs=0.02)
    assert per_coin.loc["WILD", "coverage_80"] == pytest.approx(0.80, abs=0.02)
    assert per_coin.loc["WILD", "coverage_95"] == pytest.approx(0.95, abs=0.01)
    # pooled quantiles would over-cover the calm coin and under-cover the wild one
    width = {k: hi - lo for k, (lo, hi) in
             [("pooled", intervals.pooled["80"])] + [(s, intervals.per_symbol[s]["80"]) for s in sigma]}
    assert width["CALM"] < width["pooled"] < width["WILD"]


def test_a_coin_with_few_rows_gets_the_pooled_interval():
    past = noisy(400, {"A": 0.3, "B": 0.3}, 3)
    past.loc[past.index[:30], "symbol"] = "RARE"
    intervals = calibrate(past["symbol"], past["target_rv"], past["ewma_vol"])
    assert "RARE" not in intervals.per_symbol
    lo, hi = intervals.bounds(np.array(["RARE"]), np.array([0.05]))["80"]
    assert (lo[0], hi[0]) == pytest.approx((0.05 * np.exp(intervals.pooled["80"][0]),
                                            0.05 * np.exp(intervals.pooled["80"][1])))
    assert calibrate(past["symbol"][:20], past["target_rv"][:20], past["ewma_vol"][:20]) is None


@pytest.mark.parametrize("family", ["lightgbm", "catboost"])
def test_saved_package_answers_what_the_evaluated_one_did(tmp_path, family):
    frame = noisy(1500, {"A": 0.2, "B": 0.4}, 4)
    model = fit_regressor(family, frame.iloc[:900], frame.iloc[900:1200], FEATURES)
    point = VolForecaster(model, FEATURES, 1.05, "ewma_vol")
    valid = frame.iloc[900:1200]
    package = VolForecaster(model, FEATURES, 1.05, "ewma_vol",
                            calibrate(valid["symbol"], valid["target_rv"], point.predict(valid)["vol"]),
                            meta={"family": family})
    test = frame.iloc[1200:]
    loaded = VolForecaster.load(package.save(tmp_path / "package"))
    pd.testing.assert_frame_equal(loaded.predict(test), package.predict(test))
    assert loaded.meta == {"family": family}
    np.testing.assert_allclose(package.predict(test)["vol"],
                               1.05 * test["ewma_vol"] * np.exp(model.predict(test[FEATURES])))
    top = loaded.explain(test.head(2), top=2)
    assert [len(row) for row in top] == [2, 2]
    assert {c["feature"] for c in top[0]} == set(FEATURES)


def test_a_level_map_travels_with_the_saved_package(tmp_path):
    from training.calibration import LevelCalibration

    frame = noisy(1500, {"A": 0.2, "B": 0.4}, 4)
    model = fit_regressor("lightgbm", frame.iloc[:900], frame.iloc[900:1200], FEATURES)
    level = LevelCalibration(slope=0.9, intercept=0.05, per_coin={"A": 0.1})
    package = VolForecaster(model, FEATURES, 1.0, "ewma_vol", calibration=level)
    test = frame.iloc[1200:]
    raw = test["ewma_vol"].to_numpy() * np.exp(model.predict(test[FEATURES]))
    own = np.where(test["symbol"] == "A", 0.1, 0.05)
    np.testing.assert_allclose(package.predict(test)["vol"], np.exp(own + 0.9 * np.log(raw)))
    loaded = VolForecaster.load(package.save(tmp_path / "package"))
    pd.testing.assert_frame_equal(loaded.predict(test), package.predict(test))
