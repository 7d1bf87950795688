"""The performance rules' loss-differential test, by hand and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitoring.significance import MIN_CLOSES, dm_hln, loss_test


def test_the_statistic_by_hand():
    d = np.array([1.0, 2, 3, 4, 5])  # mean 3; deviations -2..2: gamma0 = 10/5, gamma1 = 4/5
    # H = 1: variance of the mean 2/5; HLN factor (5 + 1 - 2)/5 = 0.8 -> 3 / sqrt(0.4) x sqrt(0.8)
    stat, p = dm_hln(d, 1)
    assert stat == pytest.approx(3 * math.sqrt(2))
    assert p == pytest.approx(stats.t.sf(3 * math.sqrt(2), df=4))
    # H = 2: (2 + 2 x 0.8)/5 = 0.72; HLN (5 + 1 - 4 + 2/5)/5 = 0.48 -> 3 x sqrt(0.48 / 0.72)
    assert dm_hln(d, 2)[0] == pytest.approx(3 * math.sqrt(0.48 / 0.72))
    assert dm_hln(np.full(6, 0.1), 1) == (np.inf, 0.0)  # no variance: the sign decides
    assert dm_hln(np.full(6, -0.1), 1)[1] == 1.0


def test_coins_that_close_together_are_one_observation():
    t = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC")
    rows = pd.DataFrame({"symbol": ["BTC", "ETH"] * 6, "as_of": np.repeat(t, 2),
                         "target_rv": 0.02, "champion": [0.01, 0.03] * 6, "har": 0.02})
    test = loss_test(rows, "champion", "har", horizon=1, alpha=0.05, margin=0.05, against="HAR")
    loss = lambda f: (0.02 / f) ** 2 - math.log((0.02 / f) ** 2) - 1  # noqa: E731
    assert test.closes == 6  # 12 forecasts, 6 bar closes
    assert test.champion_qlike == pytest.approx((loss(0.01) + loss(0.03)) / 2)
    assert test.reference_qlike == pytest.approx(0.0)
    assert test.significant and test.pvalue == 0.0  # the same loss at every close
    assert loss_test(rows.head(2 * (MIN_CLOSES - 1)), "champion", "har", 1, 0.05, 0.05, "HAR") is None
    fixed = loss_test(rows, "champion", 5.0, 1, 0.05, 0.2, "its evaluation")
    assert fixed.reference_qlike == 5.0 and not fixed.significant  # better than 5.0


def _overlapping(rng, n: int, horizon: int, shift: float) -> np.ndarray:
    """A loss differential of H-step forecasts under the null (shift 0): MA(H - 1) noise."""
    return shift + np.convolve(rng.normal(size=n + horizon - 1), np.ones(horizon) / horizon, "valid")


@pytest.mark.parametrize(("closes", "horizon", "most"), [(90, 7, 0.08), (60, 1, 0.07), (720, 24, 0.07)])
def test_the_false_alarm_rate_is_close_to_the_chosen_one(closes, horizon, most):
    """Equal forecasts, overlapping horizons: the one-sided 5% test fires on about 5% of
    windows (HLN-corrected DM; the uncorrected HAC t fired on 12-16%)."""
    rng = np.random.default_rng(42)
    fired = [dm_hln(_overlapping(rng, closes, horizon, 0.0), horizon)[1] < 0.05 for _ in range(1500)]
    assert 0.02 < np.mean(fired) <= most


def test_a_real_difference_is_found():
    rng = np.random.default_rng(7)
    found = [dm_hln(_overlapping(rng, 60, 7, 0.5), 7)[1] < 0.05 for _ in range(300)]
    assert np.mean(found) > 0.8
