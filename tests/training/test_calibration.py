"""Level calibration: the QLIKE-fitted map on log vol recovers a known mis-scaling."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibration import LevelCalibration, fit_level
from training.metrics import mincer_zarnowitz, qlike


def synthetic(rows: int = 6000, seed: int = 0):
    """True per-bar vol sigma; the raw forecast over-spreads it (log raw = 1.25 log sigma + c)
    and sits 30% high on coin B; realized = sigma x lognormal noise with E[noise²] = 1."""
    rng = np.random.default_rng(seed)
    symbols = np.where(np.arange(rows) % 2, "A", "B")
    log_sigma = rng.normal(-4.0, 0.5, rows)
    raw = np.exp(1.25 * (log_sigma + 4.0) - 4.0 + np.where(symbols == "B", np.log(1.3), 0.0))
    s = 0.3
    realized = np.exp(log_sigma + rng.normal(-s**2, s, rows))  # E[realized²] = sigma²
    return symbols, realized, raw


def test_the_fitted_slope_undoes_the_over_spread_and_each_coin_gets_its_level():
    symbols, realized, raw = synthetic()
    cal = fit_level(symbols, realized, raw, horizon=1, slope_bounds=(0.5, 1.5))
    assert cal.slope == pytest.approx(0.8, abs=0.03)  # 1 / 1.25
    # B's forecasts sit 30% high: its intercept is lower by ~log(1.3) x slope
    assert cal.per_coin["A"] - cal.per_coin["B"] == pytest.approx(0.8 * np.log(1.3), abs=0.05)
    fixed = cal.apply(symbols, raw)
    assert qlike(realized, fixed) < qlike(realized, raw) - 0.05
    assert mincer_zarnowitz(realized, fixed)["mz_slope"] == pytest.approx(1.0, abs=0.1)


def test_a_coin_with_few_windows_is_shrunk_to_the_pooled_level():
    symbols, realized, raw = synthetic()
    symbols = symbols.copy()
    symbols[:20] = "C"  # 20 rows of a new coin, horizon 10: 2 windows -> weight 2/32
    cal = fit_level(symbols, realized, raw * np.where(symbols == "C", 3.0, 1.0), horizon=10)
    own_gap = abs(cal.per_coin["C"] - cal.intercept)
    assert own_gap < 0.1 * 0.8 * np.log(3.0)


def test_round_trip_and_unknown_coins_use_the_pooled_intercept():
    cal = LevelCalibration(slope=0.9, intercept=0.1, per_coin={"A": 0.2})
    again = LevelCalibration.from_json(cal.to_json())
    out = again.apply(np.array(["A", "Z"]), np.array([0.01, 0.01]))
    np.testing.assert_allclose(out, np.exp([0.2 + 0.9 * np.log(0.01), 0.1 + 0.9 * np.log(0.01)]))


def test_too_few_rows_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 20 held-out rows"):
        fit_level(np.array(["A"] * 5), np.ones(5), np.ones(5), horizon=1)
