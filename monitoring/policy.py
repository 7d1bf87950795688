"""The retrain policy: a pure function from what the monitor saw to a decision with its reasons.

Retrain when any of these holds, unless the last retrain is more recent than the cooldown:

- **drift**: the data-drift verdict failed on the last ``drift_checks`` consecutive checks
  (one drifted check is noise as often as not);
- **degradation**: the champion's recent QLIKE (forecasts whose horizon has passed) is worse
  than its evaluation-time QLIKE significantly (a one-sided Diebold–Mariano test at ``alpha``,
  ``monitoring.significance``) and by more than ``degradation`` (a share, e.g. 0.2 = 20% worse);
- **behind HAR**: on the same recent rows the champion's QLIKE is worse than HAR's
  significantly and by more than ``behind_har`` (a share);
- **age**: the champion was trained more than ``max_age`` ago.

Performance rules need at least ``min_scored`` scored forecasts; with fewer, they say so and do
not fire. Every rule that fires, or that was blocked, is in the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from monitoring.significance import LossTest, loss_test


@dataclass(frozen=True)
class PolicyConfig:
    drift_checks: int = 2
    degradation: float = 0.20
    behind_har: float = 0.05
    max_age: timedelta = timedelta(days=90)
    cooldown: timedelta = timedelta(days=7)
    min_scored: int = 30
    alpha: float = 0.05  # significance level of the performance tests


def config_from(settings) -> PolicyConfig:
    """The policy a :class:`~cryptovol.settings.Settings` asks for (``CRYPTOVOL_RETRAIN_*``)."""
    return PolicyConfig(
        drift_checks=settings.retrain_drift_checks, degradation=settings.retrain_degradation,
        behind_har=settings.retrain_behind_har,
        max_age=timedelta(days=settings.retrain_max_age_days),
        cooldown=timedelta(days=settings.retrain_cooldown_days),
        min_scored=settings.retrain_min_scored, alpha=settings.retrain_alpha)


@dataclass(frozen=True)
class Observation:
    """What the monitor knows at ``now`` about the champion of one bar size."""

    now: datetime
    trained_at: datetime  # end of the champion's training run
    drift_failed: Sequence[bool] = ()  # verdicts of the checks so far, oldest first
    recent_qlike: float | None = None  # champion, on forecasts whose horizon has passed
    har_qlike: float | None = None  # HAR on the same rows
    eval_qlike: float | None = None  # champion at evaluation time (walk-forward test rows)
    scored: int = 0  # forecasts behind recent_qlike
    last_retrain: datetime | None = None
    degraded: LossTest | None = None  # recent loss vs eval_qlike (None: too few closes)
    behind_har: LossTest | None = None  # recent loss vs HAR's on the same rows


@dataclass(frozen=True)
class Decision:
    retrain: bool
    reasons: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)  # drift, degradation, behind_har, age

    def as_text(self) -> str:
        verdict = "RETRAIN" if self.retrain else "KEEP"
        return f"{verdict}: " + "; ".join(self.reasons)


def _trailing_failures(verdicts: Sequence[bool]) -> int:
    count = 0
    for failed in reversed(verdicts):
        if not failed:
            break
        count += 1
    return count


def decide(obs: Observation, config: PolicyConfig = PolicyConfig()) -> Decision:
    """Whether to retrain now, and why. Pure."""
    triggers, reasons = [], []
    run = _trailing_failures(obs.drift_failed)
    if run >= config.drift_checks:
        triggers.append("drift")
        reasons.append(f"data drift on the last {run} checks (threshold {config.drift_checks})")
    elif obs.drift_failed:
        reasons.append(f"drift on {run} of the last checks in a row (needs {config.drift_checks})")
    if obs.recent_qlike is None or obs.scored < config.min_scored:
        reasons.append(f"{obs.scored} forecasts scored so far (needs {config.min_scored}): "
                       "performance not judged")
    else:
        for trigger, test, label in (("degradation", obs.degraded, "degraded vs evaluation"),
                                     ("behind_har", obs.behind_har, "behind HAR")):
            if trigger == "degradation" and not obs.eval_qlike:
                continue  # a champion without an evaluation QLIKE: nothing to compare with
            if test is None:
                reasons.append(f"{label}: too few bar closes to test")
            elif test.significant:
                triggers.append(trigger)
                reasons.append(f"{label}: {test.describe()}")
    age = obs.now - obs.trained_at
    if age > config.max_age:
        triggers.append("age")
        reasons.append(f"champion trained {age.days} days ago (max {config.max_age.days})")
    if not triggers:
        return Decision(False, reasons or ["no rule fired"], [])
    if obs.last_retrain is not None and obs.now - obs.last_retrain < config.cooldown:
        since = obs.now - obs.last_retrain
        return Decision(False, [*reasons, f"cooldown: last retrain {since.days} days ago "
                                           f"(min {config.cooldown.days})"], triggers)
    return Decision(True, reasons, triggers)


def performance_tests(rows: pd.DataFrame, forecast: str, horizon: int, eval_qlike: float | None,
                      config: PolicyConfig) -> tuple[LossTest | None, LossTest | None]:
    """The two performance rules' tests on the recent scored ``rows`` (symbol, as_of,
    target_rv, ``forecast``, har): against the evaluation-time QLIKE, and against HAR."""
    degraded = (loss_test(rows, forecast, eval_qlike, horizon, config.alpha, config.degradation,
                          "its evaluation") if eval_qlike else None)
    behind = loss_test(rows, forecast, "har", horizon, config.alpha, config.behind_har, "HAR")
    return degraded, behind
