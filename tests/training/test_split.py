"""The holdout split purges the H bars whose targets would reach into the test block."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from training.split import holdout_split


def test_purge_keeps_training_targets_out_of_the_test_block():
    ts = pd.Series(pd.date_range("2024-01-01", periods=100, freq="D", tz="UTC"))
    split = holdout_split(ts, test_fraction=0.2, bar=timedelta(days=1), horizon=7)
    assert split.test_start == pd.Timestamp("2024-03-21", tz="UTC")  # 81st day
    assert split.train_end == split.test_start - pd.Timedelta(days=7)
    train, test = split.masks(ts)
    assert test.sum() == 20 and train.sum() == 74  # days 1..74; 75..80 purged
    # the last training target covers bars up to test_start; test targets start after it
    assert ts[train].max() + pd.Timedelta(days=7) <= split.test_start


def test_too_few_timestamps_is_an_error():
    with pytest.raises(ValueError, match="at least 10"):
        holdout_split(pd.Series(pd.date_range("2024-01-01", periods=5, tz="UTC")), 0.2,
                      timedelta(days=1), 1)
