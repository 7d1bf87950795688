"""Replay: the loop run over history as if it were live, to compare retrain policies.

A clock moves from ``start`` to ``end`` by ``step``. At each tick, with only what is visible at
the clock — feature rows of closed bars, targets whose H bars have all closed:

1. the champion in place serves a forecast for every bar that closed since the last tick;
2. the policy looks: ``policy`` runs the monitor (Evidently drift of the bars after the
   champion's training data against the end of its training window; realized QLIKE of its
   served forecasts next to HAR over the last 30 days) and the retrain policy
   (``monitoring.policy.decide``); ``drift-only`` and ``performance-only`` act on that rule's
   triggers alone (same cooldown); ``every-7d`` / ``every-30d`` (any ``every-<N>d``) retrain on
   the calendar; ``never`` never does;
3. a retrain (``training.quick``) is judged by the promotion gate (``training.gate.decide``) on
   the holdout rows both the challenger and the champion forecast out of sample.

The feature table is point-in-time and a refresh equals a rebuild (tested), so slicing it at the
clock is what refreshing at every tick would give. Every policy starts from the same champion
and serves the same rows; they are compared by the realized QLIKE of what they served.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from monitoring.drift import CALENDAR, run_drift, too_few
from monitoring.performance import baseline_forecasts, fit_har_per_symbol
from monitoring.policy import Observation, PolicyConfig, decide, performance_tests
from training.gate import decide as gate
from training.metrics import qlike
from training.quick import QuickModel, train_quick

POLICIES = ("policy", "drift-only", "performance-only", "every-7d", "every-30d", "never")
RULES = {"drift-only": {"drift"}, "performance-only": {"degradation", "behind_har"}}


def calendar_days(name: str) -> int | None:
    """N of an ``every-<N>d`` policy (None: another policy)."""
    if name.startswith("every-") and name.endswith("d") and name[6:-1].isdigit():
        return int(name[6:-1])
    return None


def known_policy(name: str) -> bool:
    return name in POLICIES or (calendar_days(name) or 0) > 0
HOLDOUT = pd.Timedelta(days=60)
MIN_COMMON = 200  # holdout rows both forecast out of sample, for the champion to be judged


@dataclass
class Live:
    """The champion in place during a replay."""

    version: int
    model: QuickModel
    trained_at: pd.Timestamp
    reference: pd.DataFrame  # the last 90 days of its training window (drift reference)
    har: dict  # per-coin HAR fitted on its training window
    eval_qlike: float | None
    verdicts: list[bool] = field(default_factory=list)


@dataclass
class PolicyRun:
    name: str
    served: list[pd.DataFrame] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # retrains with the gate's decision
    timeline: list[dict] = field(default_factory=list)  # per tick: drift share, QLIKE, decision
    compute_s: float = 0.0

    @property
    def retrains(self) -> int:
        return len(self.events)

    @property
    def promotions(self) -> int:
        return sum(e["promoted"] for e in self.events)


class Replay:
    def __init__(self, features: pd.DataFrame, targets: pd.DataFrame, names: list[str],
                 bar: pd.Timedelta, horizon: int, config: PolicyConfig, margin: float = 0.02,
                 drift_days: int = 90, drift_min_days: float = 7, window_days: float = 30):
        self.frame = features.merge(targets[["symbol", "event_timestamp", "target_rv", "target_log_rv"]],
                                    on=["symbol", "event_timestamp"], how="left")
        self.features, self.names = features, names
        self.drift_columns = [c for c in names if c not in CALENDAR]
        self.horizon = horizon * bar
        self.horizon_bars = horizon
        self.config, self.margin = config, margin
        self.drift_days, self.drift_min_days, self.window_days = drift_days, drift_min_days, window_days

    # ----- what is visible at the clock ------------------------------------------------------
    def known(self, clock: pd.Timestamp) -> pd.DataFrame:
        rows = self.frame[self.frame["event_timestamp"] + self.horizon <= clock]
        return rows[rows["target_rv"].notna()]

    def champion(self, clock: pd.Timestamp, version: int, live: Live | None = None) -> tuple[Live, dict]:
        """Retrain at ``clock``; the challenger as a ``Live`` and the gate's numbers."""
        known = self.known(clock)
        fit = train_quick(known, self.names, self.horizon, HOLDOUT, clock)
        window = known[known["event_timestamp"] <= known["event_timestamp"].max() - HOLDOUT]
        har = fit_har_per_symbol(window)
        holdout = fit.holdout.merge(self.features, on=["symbol", "event_timestamp"])
        holdout["har"] = baseline_forecasts(holdout, har)["har"].to_numpy()
        numbers = {"challenger_qlike": None, "har_qlike": None, "champion_qlike": None, "rows": 0}
        if live is not None:  # both out of sample: holdout rows after the champion's training data
            holdout = holdout[holdout["event_timestamp"] > live.model.trained_until].copy()
            holdout["champion"] = live.model.predict(holdout) if len(holdout) else []
        holdout = holdout[np.all(holdout[[c for c in ("challenger", "har", "champion")
                                          if c in holdout]].to_numpy(dtype=float) > 0, axis=1)]
        numbers["rows"] = len(holdout)
        if len(holdout) >= (MIN_COMMON if live is not None else 1):
            numbers = {"challenger_qlike": qlike(holdout["target_rv"], holdout["challenger"]),
                       "har_qlike": qlike(holdout["target_rv"], holdout["har"]),
                       "champion_qlike": qlike(holdout["target_rv"], holdout["champion"])
                       if live is not None else None, "rows": len(holdout)}
        reference = known[known["event_timestamp"] > clock - pd.Timedelta(days=self.drift_days)]
        challenger = Live(version, fit.model, clock, reference, fit_har_per_symbol(known),
                          numbers["challenger_qlike"])
        return challenger, numbers

    # ----- one policy ------------------------------------------------------------------------
    def run(self, name: str, first: Live, clocks: list[pd.Timestamp],
            tick: Callable[[], None] | None = None) -> PolicyRun:
        out, live, versions = PolicyRun(name), first, first.version
        last_retrain = first.trained_at
        previous = clocks[0]
        for clock in clocks[1:]:
            rows = self.features[(self.features["event_timestamp"] > previous)
                                 & (self.features["event_timestamp"] <= clock)]
            out.served.append(pd.DataFrame({"symbol": rows["symbol"].to_numpy(),
                                            "as_of": rows["event_timestamp"].to_numpy(),
                                            "version": live.version, "forecast": live.model.predict(rows)}))
            previous = clock
            started = time.perf_counter()
            retrain, reasons, point = False, [], {"clock": clock}
            if days := calendar_days(name):
                retrain = clock - last_retrain >= pd.Timedelta(days=days)
                reasons = [f"{days} days since the last retrain"] if retrain else []
            elif name == "policy" or name in RULES:
                decision, point = self._monitor(out, live, clock, last_retrain)
                retrain, reasons = decision.retrain, decision.reasons
                if name in RULES:  # that rule's triggers alone (the cooldown already applied)
                    retrain = retrain and bool(RULES[name] & set(decision.triggers))
            if retrain:
                versions += 1
                challenger, numbers = self.champion(clock, versions, live)
                if numbers["champion_qlike"] is None:
                    promote, verdict_text = False, (
                        f"KEEP CHAMPION: {numbers['rows']} holdout rows forecast out of sample by "
                        f"both (needs {MIN_COMMON})")
                else:
                    verdict = gate(numbers["challenger_qlike"], numbers["har_qlike"],
                                   numbers["champion_qlike"], self.margin, False, has_champion=True)
                    promote, verdict_text = verdict.promote, verdict.as_tag()
                out.events.append({"clock": clock, "version": versions, "promoted": promote,
                                   "why": "; ".join(reasons), "gate": verdict_text, **numbers})
                last_retrain = clock
                if promote:
                    live = challenger
            out.compute_s += time.perf_counter() - started
            out.timeline.append({**point, "clock": clock, "version": live.version, "retrain": retrain})
            if tick:
                tick()
        return out

    def _monitor(self, out: PolicyRun, live: Live, clock: pd.Timestamp, last_retrain):
        current = self.features[(self.features["event_timestamp"] > live.model.trained_until)
                                & (self.features["event_timestamp"] <= clock)]
        point = {"drift_share": np.nan}
        if len(current) and too_few(current, self.drift_min_days) is None:
            _, summary = run_drift(live.reference, current, self.drift_columns)
            live.verdicts.append(bool(summary.dataset_drift))
            point["drift_share"] = summary.share
        served = pd.concat(out.served, ignore_index=True)
        served = served[(served["version"] == live.version) & (served["as_of"] + self.horizon <= clock)
                        & (served["as_of"] > clock - self.horizon - pd.Timedelta(days=self.window_days))]
        scored = served.merge(self.frame, left_on=["symbol", "as_of"],
                              right_on=["symbol", "event_timestamp"])
        scored["har"] = baseline_forecasts(scored, live.har)["har"].to_numpy() if len(scored) else []
        scored = scored[(scored["forecast"] > 0) & (scored["har"] > 0) & (scored["target_rv"] > 0)]
        recent = qlike(scored["target_rv"], scored["forecast"]) if len(scored) else None
        har_q = qlike(scored["target_rv"], scored["har"]) if len(scored) else None
        degraded, behind = performance_tests(scored,
                                             "forecast", self.horizon_bars, live.eval_qlike,
                                             self.config)
        decision = decide(Observation(
            now=clock.to_pydatetime(), trained_at=live.trained_at.to_pydatetime(),
            drift_failed=live.verdicts, recent_qlike=recent, har_qlike=har_q,
            eval_qlike=live.eval_qlike, scored=len(scored),
            last_retrain=last_retrain.to_pydatetime(), degraded=degraded, behind_har=behind),
            self.config)
        point.update({"recent_qlike": recent, "har_qlike": har_q, "decision": decision.as_text()})
        return decision, point


def compare(runs: list[PolicyRun], targets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per policy: realized QLIKE of what it served (rows every policy served, target known),
    retrains, promotions, compute; and the scored rows (symbol, as_of, target_rv, one column per
    policy)."""
    merged = None
    for run in runs:
        served = pd.concat(run.served, ignore_index=True)[["symbol", "as_of", "forecast"]]
        served = served.rename(columns={"forecast": run.name})
        merged = served if merged is None else merged.merge(served, on=["symbol", "as_of"])
    realized = targets.rename(columns={"event_timestamp": "as_of"})[["symbol", "as_of", "target_rv"]]
    rows = merged.merge(realized, on=["symbol", "as_of"])
    rows = rows[np.all(rows[[r.name for r in runs] + ["target_rv"]].to_numpy(dtype=float) > 0, axis=1)]
    table = pd.DataFrame([{
        "policy": r.name, "realized_qlike": qlike(rows["target_rv"], rows[r.name]),
        "scored": len(rows), "retrains": r.retrains, "promotions": r.promotions,
        "compute_s": r.compute_s} for r in runs]).set_index("policy")
    return table, rows
