"""The leakage audit's direct evidence: checks a run computes on its own data.

A gain over the baselines that looks too good (``training.scoring``'s thresholds) is a prompt
to look, not proof: intraday models honestly beat HAR by 20%. What tells a leak from skill is
whether the run's inputs obey the time convention, checked directly:

- ``features_point_in_time``: at sampled timestamps t, the features recomputed from candles
  truncated at t (every coin: the cross-sectional features too) equal the training rows';
  a feature that read a bar after t differs.
- ``target_after_t``: at sampled rows, the target recomputed from the candles with plain numpy
  (not the transform that built it) is the realized vol of the H returns in (t, t+H] — and
  is not the trailing window's.
- ``purged_folds``: in every fold, no fitted row's target reaches past the start of the
  validation block and no training row's target past the start of the test block, on the
  rows actually used.

A run is held back when a check fails, or when a prompt fired and the checks could not all run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.folds import Fold

RTOL, ATOL = 1e-6, 1e-10
EVIDENCE = ("purged_folds", "features_point_in_time", "target_after_t")  # all needed to clear a prompt


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class LeakageAudit:
    checks: list[Check] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)  # threshold flags: reasons to look

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def complete(self) -> bool:
        """Every direct check ran (a home without candles cannot recompute features)."""
        return set(EVIDENCE) <= {c.name for c in self.checks}

    @property
    def suspected(self) -> bool:
        return bool(self.failed) or (bool(self.prompts) and not self.complete)

    @property
    def flags(self) -> list[str]:
        """What holds a run back, in words (empty: nothing does)."""
        out = [f"{c.name} failed: {c.detail}" for c in self.failed]
        if self.prompts and not self.complete:
            out += [f"{p} (the direct checks could not all run)" for p in self.prompts]
        return out

    def to_json(self) -> dict:
        return {"suspected": self.suspected, "prompts": self.prompts,
                "checks": [c.__dict__ for c in self.checks]}


def purged_folds(timestamps: pd.Series, folds: list[Fold], bar: pd.Timedelta, horizon: int) -> Check:
    """No training target (bars (t, t+H]) reaches into the targets of the block after it
    (bars after its first stamp s), in any fold: t + H bars <= s."""
    ts = pd.Series(timestamps)
    problems = []
    reach = bar * horizon
    for fold in folds:
        m = fold.masks(ts)
        last_fit, last_train = ts[m["fit"]].max(), ts[m["train"]].max()
        first_valid, first_test = ts[m["valid"]].min(), ts[m["test"]].min()
        if pd.notna(last_fit) and pd.notna(first_valid) and last_fit + reach > first_valid:
            problems.append(f"fold {fold.number}: a fitted target ends {last_fit + reach}, "
                            f"the validation block starts {first_valid}")
        if last_train + reach > first_test:
            problems.append(f"fold {fold.number}: a training target ends {last_train + reach}, "
                            f"the test block starts {first_test}")
    return Check("purged_folds", not problems,
                 "; ".join(problems) or f"{len(folds)} folds: every training target ends before "
                 "the block it is judged on")


def sample_times(timestamps: pd.Series, k: int, seed: int = 0) -> list[pd.Timestamp]:
    stamps = np.sort(pd.Series(timestamps).unique())
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(stamps), size=min(k, len(stamps)), replace=False)
    return [pd.Timestamp(stamps[i]) for i in sorted(picks)]


def features_point_in_time(frame: pd.DataFrame, candles: pd.DataFrame, features: list[str],
                           times: list[pd.Timestamp],
                           recompute: Callable[[pd.DataFrame, pd.Timestamp], pd.DataFrame]) -> Check:
    """``recompute(candles_up_to_t, t)`` returns the feature rows stamped t from the candles it
    is given; they must equal the training frame's rows at t (NaN where NaN)."""
    worst, compared, bad = 0.0, 0, []
    for t in times:
        fresh = recompute(candles[candles["ts"] <= t], t)
        fresh = fresh[fresh["event_timestamp"] == t].set_index("symbol")
        stored = frame[frame["event_timestamp"] == t].set_index("symbol")
        common = stored.index.intersection(fresh.index)
        a = stored.loc[common, features].to_numpy(dtype=float)
        b = fresh.loc[common, features].to_numpy(dtype=float)
        same = np.isclose(a, b, rtol=RTOL, atol=ATOL) | (np.isnan(a) & np.isnan(b))
        compared += same.size
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(a - b) / np.maximum(np.abs(b), ATOL)
        worst = max(worst, float(np.nanmax(np.where(same, 0.0, np.nan_to_num(rel, nan=np.inf)),
                                           initial=0.0)))
        if not same.all():
            rows, cols = np.where(~same)
            bad += [f"{common[r]} {features[c]} at {t}" for r, c in zip(rows[:3], cols[:3], strict=True)]
    return Check("features_point_in_time", not bad,
                 (f"{len(bad)}+ values differ from the candles truncated at t, e.g. "
                  + ", ".join(bad[:3])) if bad else
                 f"{compared:,} feature values at {len(times)} sampled times equal those "
                 f"recomputed from candles truncated at t (largest relative gap {worst:.1e})")


def target_after_t(frame: pd.DataFrame, candles: pd.DataFrame, bar: pd.Timedelta, horizon: int,
                   rows: int = 200, seed: int = 0) -> Check:
    """The target at sampled rows is sqrt(mean r²) of the H log returns after t."""
    closes = {s: g.set_index("ts")["close"].sort_index().asfreq(bar)
              for s, g in candles.groupby("symbol", observed=True)}
    sample = frame.sample(min(rows, len(frame)), random_state=seed)
    checked, wrong, trailing_equal = 0, [], 0
    for row in sample.itertuples():
        close = closes.get(row.symbol)
        if close is None:
            continue
        ahead = close[row.event_timestamp: row.event_timestamp + bar * horizon].to_numpy()
        behind = close[row.event_timestamp - bar * horizon: row.event_timestamp].to_numpy()
        if len(ahead) != horizon + 1 or np.isnan(ahead).any():
            continue
        future = np.sqrt(np.mean(np.diff(np.log(ahead)) ** 2))
        checked += 1
        if not np.isclose(row.target_rv, future, rtol=1e-9):
            wrong.append(f"{row.symbol} at {row.event_timestamp}")
        if len(behind) == horizon + 1 and not np.isnan(behind).any():
            trailing = np.sqrt(np.mean(np.diff(np.log(behind)) ** 2))
            trailing_equal += bool(np.isclose(row.target_rv, trailing, rtol=1e-9))
    passed = not wrong and checked > 0 and trailing_equal < max(1, checked // 10)
    if checked == 0:
        detail = "no sampled row had H complete bars after it"
    elif wrong:
        detail = f"{len(wrong)} of {checked} targets are not the vol of bars (t, t+H]: {', '.join(wrong[:3])}"
    else:
        detail = (f"{checked} sampled targets equal the realized vol of the {horizon} returns "
                  f"after t ({trailing_equal} equal the trailing window's)")
    return Check("target_after_t", passed, detail)
