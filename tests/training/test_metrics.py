"""Volatility metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from training.metrics import mae, mse_var, qlike, r2_log, rmse, vol_metrics


def test_qlike_is_zero_for_a_perfect_forecast_and_matches_hand_value():
    assert qlike([0.1, 0.2], [0.1, 0.2]) == pytest.approx(0.0)
    # r=0.2, f=0.1: ratio 4 -> 4 - ln 4 - 1 ; r=0.1, f=0.2: ratio 0.25 -> 0.25 - ln 0.25 - 1
    expected = ((4 - math.log(4) - 1) + (0.25 - math.log(0.25) - 1)) / 2
    assert qlike([0.2, 0.1], [0.1, 0.2]) == pytest.approx(expected)


def test_qlike_punishes_under_prediction_more_than_over_prediction():
    assert qlike([0.2], [0.1]) > qlike([0.1], [0.2])


def test_error_metrics_match_hand_values():
    r, f = [0.1, 0.3], [0.2, 0.2]
    assert rmse(r, f) == pytest.approx(0.1)
    assert mae(r, f) == pytest.approx(0.1)
    assert mse_var(r, f) == pytest.approx(((0.01 - 0.04) ** 2 + (0.09 - 0.04) ** 2) / 2)
    assert r2_log(r, f) == pytest.approx(
        1 - ((math.log(0.1) - math.log(0.2)) ** 2 + (math.log(0.3) - math.log(0.2)) ** 2)
        / ((math.log(0.1) - math.log(0.3)) ** 2 / 2)
    )
    m = vol_metrics(r, f, annualize=10.0)
    assert m["rmse_vol_ann"] == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [([0.1], [0.0]), ([-0.1], [0.1]), ([0.1, 0.2], [0.1])])
def test_invalid_inputs_are_rejected(bad):
    with pytest.raises(ValueError):
        qlike(*bad)
