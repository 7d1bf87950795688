"""Drift whose false-alarm rate is known: thresholds calibrated on the model's own history. Pure.

Evidently's drift tests ask "do these two samples come from one distribution?". For volatility
features the answer is almost always no — they are persistent, so any new month differs from
the last 90 days of training — and the check fired at every tick (issue 23). The question the
loop needs is another one: *is this window unusual for this model's own history?*

So the statistic stays Evidently's (its normed Wasserstein distance, the default of its drift
preset for numerical columns), and its threshold is calibrated per feature on the champion's
training history: the same statistic between pairs of past windows with the live check's
lengths — a reference of ``reference_days`` and, right after it, a current window of the live
one's length — which carries the features' persistence and autocorrelation. A live value's
p-value is its exceedance rate among those historical pairs, ``(1 + #{history >= live}) /
(1 + pairs)``; a feature drifts when its p-value is at most ``alpha / m`` (Bonferroni over the
``m`` judged features), and the dataset drifts when any feature does, so a whole check raises a
false alarm at most ``alpha`` of the time when the live window behaves like history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_PAIRS = 40  # fewer historical window pairs: thresholds cannot be calibrated


def statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently's normed Wasserstein distance between two samples (its drift preset's test)."""
    from evidently.legacy.calculations.stattests.wasserstein_distance_norm import (
        wasserstein_stat_test,
    )
    from evidently.legacy.core import ColumnType

    result = wasserstein_stat_test(pd.Series(reference, dtype=float), pd.Series(current, dtype=float),
                                   ColumnType.Numerical, None)
    return float(result.drift_score)


def window_pairs(times: pd.Series, reference: pd.Timedelta, current: pd.Timedelta,
                 step: pd.Timedelta) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """``(start, split, end)`` of past window pairs: reference ``[start, split)``, current
    ``[split, end)`` with the given lengths, one every ``step``, all inside ``times``."""
    first, last = pd.Timestamp(times.min()), pd.Timestamp(times.max())
    pairs, split = [], first + reference
    while split + current <= last + pd.Timedelta(microseconds=1):
        pairs.append((split - reference, split, split + current))
        split += step
    return pairs


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column].to_numpy(dtype=float)
    return values[np.isfinite(values)]


def calibrate(history: pd.DataFrame, features: list[str], reference: pd.Timedelta,
              current: pd.Timedelta, step: pd.Timedelta) -> dict[str, np.ndarray]:
    """Per feature, the statistic between every past window pair of ``history``
    (``event_timestamp`` + the features): the null distribution of the live check."""
    history = history.sort_values("event_timestamp")
    times = history["event_timestamp"]
    out: dict[str, list[float]] = {f: [] for f in features}
    for start, split, end in window_pairs(times, reference, current, step):
        before = history[(times >= start) & (times < split)]
        after = history[(times >= split) & (times < end)]
        for feature in features:
            ref, cur = _values(before, feature), _values(after, feature)
            if len(ref) > 1 and len(cur) > 1:
                out[feature].append(statistic(ref, cur))
    return {f: np.asarray(v) for f, v in out.items()}


@dataclass(frozen=True)
class FeatureVerdict:
    feature: str
    statistic: float  # the live check's normed Wasserstein distance
    threshold: float  # the historical value the live one must exceed (at alpha / m)
    percentile: float  # share of the historical pairs below the live value
    pvalue: float  # (1 + pairs at or above it) / (1 + pairs)
    drifted: bool


@dataclass(frozen=True)
class CalibratedDrift:
    verdicts: list[FeatureVerdict]
    alpha: float  # false-alarm rate of a whole check
    pairs: int  # historical window pairs behind each threshold (the smallest)

    @property
    def calibrated(self) -> bool:
        return self.pairs >= MIN_PAIRS and bool(self.verdicts)

    @property
    def drifted(self) -> bool:
        return self.calibrated and any(v.drifted for v in self.verdicts)

    def describe(self) -> str:
        if not self.calibrated:
            return (f"drift not judged: {self.pairs} historical window pairs to calibrate on "
                    f"(needs {MIN_PAIRS})")
        moved = [v for v in self.verdicts if v.drifted]
        if not moved:
            top = max(self.verdicts, key=lambda v: v.percentile)
            return (f"no feature unusual for its history (most: {top.feature} at the "
                    f"{top.percentile:.0%} percentile of {self.pairs} past window pairs; alarm "
                    f"at p <= {self.alpha:g}/{len(self.verdicts)})")
        names = ", ".join(f"{v.feature} (p={v.pvalue:.3g})" for v in moved[:5])
        return f"drift in {len(moved)} of {len(self.verdicts)} features unusual for their history: {names}"


def judge(reference: pd.DataFrame, current: pd.DataFrame, null: dict[str, np.ndarray],
          alpha: float = 0.05) -> CalibratedDrift:
    """The live check: each feature's statistic between ``reference`` and ``current`` against
    its calibrated ``null`` (:func:`calibrate`), Bonferroni over the features."""
    features = [f for f in null if len(null[f])]
    level = alpha / max(len(features), 1)
    verdicts = []
    for feature in features:
        history = np.sort(null[feature])
        value = statistic(_values(reference, feature), _values(current, feature))
        above = len(history) - np.searchsorted(history, value, side="left")
        pvalue = (1 + above) / (1 + len(history))
        threshold = float(np.quantile(history, 1 - level)) if len(history) else float("nan")
        verdicts.append(FeatureVerdict(feature, value, threshold,
                                       float(np.searchsorted(history, value) / len(history)),
                                       float(pvalue), bool(pvalue <= level)))
    pairs = min((len(null[f]) for f in features), default=0)
    return CalibratedDrift(verdicts, alpha, pairs)
