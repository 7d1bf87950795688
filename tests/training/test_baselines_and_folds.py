"""Walk-forward folds, baselines and forecast-comparison statistics against hand values."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from training.baselines import HAR_COLUMNS, ewma_vol, fit_har, garch_forecast
from training.folds import walk_forward
from training.metrics import diebold_mariano, mincer_zarnowitz, qlike_losses

DAY = timedelta(days=1)


def test_folds_expand_and_purge():
    ts = pd.Series(pd.date_range("2024-01-01", periods=200, freq="D", tz="UTC"))
    folds = walk_forward(ts, DAY, horizon=7, folds=4, test_fraction=0.4, embargo=2)
    assert [f.number for f in folds] == [1, 2, 3, 4]
    assert folds[0].test_start == ts.iloc[120] and folds[-1].test_end == ts.iloc[199]
    for a, b in zip(folds, folds[1:], strict=False):
        assert b.test_start == a.test_end + pd.Timedelta(days=1)  # consecutive blocks
        assert b.train_end > a.train_end  # expanding
    for f in folds:
        m = f.masks(ts)
        # purge (7 bars) + embargo (2): the last training target ends 2 bars before the test
        assert ts[m["train"]].max() + pd.Timedelta(days=9) == f.test_start
        assert ts[m["fit"]].max() + pd.Timedelta(days=7) == f.valid_start
        assert not (m["fit"] & m["valid"]).any() and not (m["train"] & m["test"]).any()


def test_ewma_recursion():
    r = np.array([0.1, np.nan, -0.2, 0.05])
    v1 = 0.01
    v2 = 0.94 * v1 + 0.06 * 0.04
    v3 = 0.94 * v2 + 0.06 * 0.0025
    np.testing.assert_allclose(ewma_vol(r), np.sqrt([v1, v1, v2, v3]))


def test_har_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: np.exp(rng.normal(-3, 0.5, 2000)) for c in HAR_COLUMNS})
    log_y = 0.1 + 0.3 * np.log(frame["har_rv_d"]) + 0.4 * np.log(frame["har_rv_w"]) \
        + 0.2 * np.log(frame["har_rv_m"]) + rng.normal(0, 0.1, 2000)
    frame["target_rv"] = np.exp(log_y)
    model = fit_har(frame)
    np.testing.assert_allclose(model.params, [0.1, 0.3, 0.4, 0.2], atol=0.02)
    assert model.resid_var == pytest.approx(0.01, rel=0.1)
    row = frame.head(1)
    expected = math.exp(model.params[0] + np.log(row[list(HAR_COLUMNS)].to_numpy()[0]) @ model.params[1:]
                        + model.resid_var)
    assert model.predict(row)[0] == pytest.approx(expected)


def test_garch_forecast_is_the_mean_h_step_variance_from_training_parameters():
    from arch import arch_model

    rng = np.random.default_rng(1)
    r = pd.Series(rng.standard_t(5, 600) * 0.02,
                  index=pd.date_range("2020-01-01", periods=600, freq="D", tz="UTC"))
    fc = garch_forecast(r, r.index[399], horizon=3)
    assert fc.index[0] == r.index[400] and len(fc) == 200
    x = r.to_numpy() * 100
    fit = arch_model(x, mean="Zero", vol="GARCH", p=1, q=1, dist="t").fit(last_obs=400, disp="off")
    o, a, b = fit.params["omega"], fit.params["alpha[1]"], fit.params["beta[1]"]
    s2 = o + a * x[399] ** 2 + b * fit.conditional_volatility[399] ** 2  # sigma²(400 | <= 399)
    h = [o + a * x[400] ** 2 + b * s2]  # made at bar 400: sigma²(401 | <= 400)
    for _ in range(2):  # multi-step: E[sigma²(t+k+1)] = omega + (alpha + beta) E[sigma²(t+k)]
        h.append(o + (a + b) * h[-1])
    assert fc.iloc[0] == pytest.approx(math.sqrt(np.mean(h)) / 100)


def test_the_closed_form_garch_path_equals_arch_and_warm_starts_carry_parameters():
    rng = np.random.default_rng(2)
    r = pd.Series(rng.standard_t(5, 3000) * 0.02,
                  index=pd.date_range("2020-01-01", periods=3000, freq="h", tz="UTC"))
    slow = garch_forecast(r, r.index[1999], horizon=24)
    start: dict = {}
    fast = garch_forecast(r, r.index[1999], horizon=24, closed_form=True, start=start)
    assert fast.index.equals(slow.index) and len(fast) == 1000
    np.testing.assert_allclose(fast.to_numpy(), slow.to_numpy(), rtol=1e-10)
    assert set(start) == {"t"} and len(start["t"]) == 4  # omega, alpha, beta, nu
    later = garch_forecast(r, r.index[2499], horizon=24, closed_form=True, start=start)
    np.testing.assert_allclose(later.to_numpy(),
                               garch_forecast(r, r.index[2499], horizon=24).to_numpy(), rtol=1e-4)


def test_har_clips_components_outside_the_fitted_range():
    rng = np.random.default_rng(3)
    n = 300
    comps = {c: np.exp(rng.normal(-4, 0.3, n)) for c in HAR_COLUMNS}
    train = pd.DataFrame({**comps, "target_rv": comps["har_rv_w"] * np.exp(rng.normal(0, 0.2, n))})
    model = fit_har(train)
    tiny = pd.DataFrame({c: [1e-12] for c in HAR_COLUMNS})  # a flat stretch of bars
    floor = pd.DataFrame({c: [train[c].min()] for c in HAR_COLUMNS})
    assert model.predict(tiny)[0] == pytest.approx(model.predict(floor)[0])
    assert 1e-3 < model.predict(tiny)[0] < 0.1


def test_mincer_zarnowitz_and_diebold_mariano():
    f = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    mz = mincer_zarnowitz(f, f)
    assert (mz["mz_intercept"], mz["mz_slope"], mz["mz_r2"]) == pytest.approx((0, 1, 1), abs=1e-9)
    mz2 = mincer_zarnowitz(np.sqrt(2) * f, f)  # realized variance = 2 x forecast variance
    assert mz2["mz_slope"] == pytest.approx(2.0)

    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([2.0, 2.0, 5.0, 4.0])
    d = a - b  # -1, 0, -2, 0: mean -0.75, with horizon 1 no lags: var = mean((d - mean)²)
    se = math.sqrt(np.mean((d - d.mean()) ** 2) / len(d))
    dm = diebold_mariano(a, b, horizon=1)
    assert dm["dm_stat"] == pytest.approx(d.mean() / se)
    assert dm["dm_pvalue"] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(d.mean() / se) / math.sqrt(2)))))
    np.testing.assert_allclose(qlike_losses([0.2], [0.1]), [4 - math.log(4) - 1])


def test_a_coin_with_a_short_history_gets_the_pooled_har_and_the_reason_is_recorded():
    from training.evaluate import _baselines_for_fold
    from training.folds import Fold
    from training.profiles import FAST

    rng = np.random.default_rng(4)
    days = pd.date_range("2023-01-01", periods=600, freq="D", tz="UTC")

    def coin(symbol: str, start: int) -> pd.DataFrame:
        n = len(days) - start
        comps = {c: np.exp(rng.normal(-3.5, 0.3, n)) for c in HAR_COLUMNS}
        return pd.DataFrame({"symbol": symbol, "event_timestamp": days[start:], **comps,
                             "target_rv": comps["har_rv_w"] * np.exp(rng.normal(0, 0.2, n))})

    frame = pd.concat([coin("OLD", 0), coin("NEW", 480)], ignore_index=True)  # NEW: 20 train rows
    fold = Fold(1, days[440], days[450], days[499], days[500], days[599])
    train = frame[frame["event_timestamp"] <= fold.train_end]
    test = frame[frame["event_timestamp"] >= fold.test_start]
    returns = {s: pd.Series(rng.normal(0, 0.03, len(days)), index=days) for s in ("OLD", "NEW")}
    failures: list[dict] = []
    out = _baselines_for_fold(train, test, returns, fold, horizon=7, failures=failures,
                              profile=FAST, garch_start={})
    assert out["har"].notna().all() and (out["har"] > 0).all()  # NEW forecast by the pooled HAR
    [har_note] = [f for f in failures if f["baseline"] == "har"]
    assert har_note["symbol"] == "NEW" and har_note["fallback"] == "pooled HAR of every coin"
    assert "at least 350 complete training rows" in har_note["reason"]  # 50 windows x H = 7
