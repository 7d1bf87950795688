"""Champion vs shadow-scored challenger on realized outcomes, by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from monitoring.shadow import evidence, shadow_comparison

T0 = pd.Timestamp("2024-03-01", tz="UTC")


def _log(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["request_id", "logged_at", "symbol", "as_of", "model_version",
                                       "predicted_vol_per_bar", "role"])


def test_both_are_scored_on_the_rows_whose_outcome_is_known():
    day = pd.Timedelta(days=1)
    log = _log([
        ("a", T0, "BTC", T0, "1", 0.02, "champion"),
        ("a", T0, "BTC", T0, "2", 0.04, "challenger"),
        ("b", T0 + day, "BTC", T0 + day, "2", 0.05, "challenger"),
        ("c", T0 + 2 * day, "ETH", T0 + 2 * day, "2", 0.03, "challenger"),  # outcome unknown yet
    ])
    scored = pd.DataFrame({"symbol": ["BTC", "BTC"], "as_of": [T0, T0 + day],
                           "target_rv": [0.04, 0.04], "champion": [0.02, 0.04]})
    out = shadow_comparison(log, scored, champion_version="1")
    loss = lambda r, f: (r / f) ** 2 - math.log((r / f) ** 2) - 1  # noqa: E731
    assert out["challenger"] == "2" and out["rows"] == 2
    assert out["challenger_qlike"] == pytest.approx((loss(0.04, 0.04) + loss(0.04, 0.05)) / 2)
    assert out["champion_qlike"] == pytest.approx((loss(0.04, 0.02) + loss(0.04, 0.04)) / 2)
    assert evidence(out).startswith("live shadow scoring: challenger v2 QLIKE 0.0")
    assert "champion v1" in evidence(out) and "on 2 realized forecasts" in evidence(out)


def test_only_the_challenger_of_the_same_model_is_compared():
    """The h14 model's challenger v2 is not the h7 champion's challenger."""
    log = _log([("a", T0, "BTC", T0, "2", 0.04, "challenger")]).assign(
        model_name="crypto-vol-forecaster-1d-h14")
    scored = pd.DataFrame({"symbol": ["BTC"], "as_of": [T0], "target_rv": [0.04], "champion": [0.02]})
    assert shadow_comparison(log, scored, "1", "crypto-vol-forecaster-1d-h7") is None
    assert shadow_comparison(log, scored, "1", "crypto-vol-forecaster-1d-h14")["rows"] == 1


def test_nothing_shadow_scored_means_no_evidence():
    log = _log([("a", T0, "BTC", T0, "1", 0.02, "champion")])
    scored = pd.DataFrame({"symbol": ["BTC"], "as_of": [T0], "target_rv": [0.04], "champion": [0.02]})
    assert shadow_comparison(log, scored, "1") is None
    assert shadow_comparison(log.drop(columns="role"), scored, "1") is None
    early = _log([("a", T0, "BTC", T0 + pd.Timedelta(days=9), "2", 0.02, "challenger")])
    out = shadow_comparison(early, scored, "1")
    assert out == {"challenger": "2", "champion": "1", "rows": 0} and evidence(out) is None
