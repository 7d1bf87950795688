"""Time-based splits with a purge, so no training target overlaps the test period.

A target stamped t covers bars (t, t+H]; a training row is only kept when t + H bars is
before the first test timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd


@dataclass(frozen=True)
class TimeSplit:
    train_end: pd.Timestamp  # last training timestamp (inclusive)
    test_start: pd.Timestamp  # first test timestamp (inclusive)

    def masks(self, ts: pd.Series) -> tuple[pd.Series, pd.Series]:
        return ts <= self.train_end, ts >= self.test_start


def holdout_split(ts: pd.Series, test_fraction: float, bar: timedelta, horizon: int) -> TimeSplit:
    """Last ``test_fraction`` of distinct timestamps is the test block; purge H bars before it."""
    stamps = pd.Series(ts.unique()).sort_values(ignore_index=True)
    if len(stamps) < 10:
        raise ValueError(f"need at least 10 distinct timestamps to split, got {len(stamps)}")
    test_start = stamps.iloc[int(len(stamps) * (1.0 - test_fraction))]
    return TimeSplit(train_end=test_start - bar * horizon, test_start=test_start)
