"""Walk-forward folds: expanding training windows, purged and embargoed, with an inner
validation block for early stopping and tuning. Pure functions on timestamps.

A target stamped t covers bars (t, t+H]. A training row at t is kept for a test block that
starts at s only if t + H bars <= s - embargo bars, so no training target overlaps the test
block (the purge) and a further gap protects against serial correlation (the embargo). The
inner validation block is the last part of the training window, purged from the rows fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Fold:
    number: int
    fit_end: pd.Timestamp  # last timestamp the model is fitted on
    valid_start: pd.Timestamp  # inner validation block: early stopping / tuning
    train_end: pd.Timestamp  # last training timestamp (fit + validation)
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def masks(self, ts: pd.Series) -> dict[str, np.ndarray]:
        ts = pd.Series(ts)
        return {
            "fit": (ts <= self.fit_end).to_numpy(),
            "valid": ((ts >= self.valid_start) & (ts <= self.train_end)).to_numpy(),
            "train": (ts <= self.train_end).to_numpy(),
            "test": ((ts >= self.test_start) & (ts <= self.test_end)).to_numpy(),
        }


def walk_forward(timestamps: pd.Series, bar: timedelta, horizon: int, folds: int = 4,
                 test_fraction: float = 0.4, valid_fraction: float = 0.15, embargo: int = 0
                 ) -> list[Fold]:
    """``folds`` consecutive test blocks over the last ``test_fraction`` of the timestamps."""
    stamps = pd.Series(pd.Series(timestamps).unique()).sort_values(ignore_index=True)
    n = len(stamps)
    first_test = int(n * (1 - test_fraction))
    if first_test < 10 or n - first_test < folds:
        raise ValueError(f"{n} timestamps are too few for {folds} folds")
    bounds = np.linspace(first_test, n, folds + 1).astype(int)
    gap = pd.Timedelta(bar) * (horizon + embargo)
    out = []
    for k in range(folds):
        test_start, test_end = stamps.iloc[bounds[k]], stamps.iloc[bounds[k + 1] - 1]
        train_end = test_start - gap
        train = stamps[stamps <= train_end]
        valid_start = train.iloc[int(len(train) * (1 - valid_fraction))]
        fit_end = valid_start - pd.Timedelta(bar) * horizon
        out.append(Fold(k + 1, fit_end, valid_start, train_end, test_start, test_end))
    return out
