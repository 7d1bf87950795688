"""The leakage audit's direct checks catch real leaks and pass honest data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from feature_repo.transforms.config import FeatureConfig
from feature_repo.transforms.features import compute_features
from feature_repo.transforms.targets import compute_targets
from training.folds import Fold, walk_forward
from training.leakage import (
    LeakageAudit,
    features_point_in_time,
    purged_folds,
    sample_times,
    target_after_t,
)

DAY = pd.Timedelta(days=1)


def candles(days: int = 400, coins: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2022-01-02", periods=days, freq="D", tz="UTC")
    parts = []
    for i in range(coins):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, days)))
        open_ = np.r_[close[0], close[:-1]]
        parts.append(pd.DataFrame({
            "symbol": f"C{i}", "ts": ts, "open": open_, "close": close,
            "high": np.maximum(open_, close) * 1.01, "low": np.minimum(open_, close) * 0.99,
            "volume": rng.uniform(1e3, 1e4, days), "quote_volume": np.nan,
            "market_cap": close * 1e6, "source": "test"}))
    return pd.concat(parts, ignore_index=True)


def training_frame(c: pd.DataFrame, horizon: int = 7):
    config = FeatureConfig.for_bar("1d")
    features = compute_features(c, config)
    targets = compute_targets(c, "1d", horizon)
    frame = targets.merge(features, on=["symbol", "event_timestamp"])
    names = [x for x in features.columns if x not in ("symbol", "event_timestamp")]
    return frame, names, config


def test_honest_features_and_targets_pass():
    c = candles()
    frame, names, config = training_frame(c)
    times = sample_times(frame["event_timestamp"], 3)
    check = features_point_in_time(frame, c, names, times, lambda upto, t: compute_features(upto, config))
    assert check.passed, check.detail
    assert "equal those recomputed" in check.detail
    target = target_after_t(frame, c, DAY, 7, rows=50)
    assert target.passed and "50 sampled targets" in target.detail


def test_a_feature_that_reads_the_next_bar_is_caught():
    c = candles()
    frame, names, config = training_frame(c)
    # the leak: rv_14 replaced by the next 7 bars' vol (what a target would be)
    frame = frame.assign(rv_14=frame["target_rv"])
    check = features_point_in_time(frame, c, names, sample_times(frame["event_timestamp"], 2),
                                   lambda upto, t: compute_features(upto, config))
    assert not check.passed and "rv_14" in check.detail


def test_a_target_over_the_trailing_window_is_caught():
    c = candles()
    frame, _, _ = training_frame(c)
    leaky = frame.assign(target_rv=frame["har_rv_w"])  # the trailing week: overlaps the features
    check = target_after_t(leaky, c, DAY, 7, rows=50)
    assert not check.passed and "not the vol of bars (t, t+H]" in check.detail


def test_folds_from_walk_forward_are_purged_and_an_unpurged_fold_is_caught():
    ts = pd.Series(pd.date_range("2024-01-01", periods=300, freq="D", tz="UTC"))
    folds = walk_forward(ts, timedelta(days=1), horizon=7, folds=3)
    assert purged_folds(ts, folds, DAY, 7).passed
    f = folds[0]
    unpurged = Fold(1, f.fit_end, f.valid_start, f.test_start - DAY, f.test_start, f.test_end)
    bad = purged_folds(ts, [unpurged], DAY, 7)
    assert not bad.passed and "training target ends" in bad.detail


def test_a_prompt_holds_a_run_back_unless_every_direct_check_ran_and_passed():
    from training.leakage import Check

    prompt = ["catboost beats garch by 21% QLIKE (> 15%)"]
    assert LeakageAudit(prompts=prompt).suspected  # nothing checked: the threshold decides
    ts = pd.Series(pd.date_range("2024-01-01", periods=300, freq="D", tz="UTC"))
    passed = purged_folds(ts, walk_forward(ts, timedelta(days=1), 7, folds=2), DAY, 7)
    partial = LeakageAudit(checks=[passed], prompts=prompt)  # no candles: features unchecked
    assert partial.suspected and "could not all run" in partial.flags[0]
    evidence = [passed, Check("features_point_in_time", True, "ok"), Check("target_after_t", True, "ok")]
    audit = LeakageAudit(checks=evidence, prompts=prompt)
    assert not audit.suspected and audit.flags == []
    failing = LeakageAudit(checks=[*evidence[:2], Check("target_after_t", False, "3 of 200")])
    assert failing.suspected and failing.flags == ["target_after_t failed: 3 of 200"]
