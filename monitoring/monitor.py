"""One monitoring run for a bar size: drift + realized performance → the policy's decision, recorded.

The flow hands in what lives elsewhere (the champion's identity, its training reference, a
``predict`` function for point-in-time recomputation, the prediction log); this module reads the
offline tables, scores, decides and appends the run to the monitoring log
(``monitoring.record_log``: ``CRYPTOVOL_HOME/monitoring/monitor_<bar>.jsonl``, or a table of the
platform database), whose earlier records give the policy its
history: the drift verdicts against the current champion, and the last retrain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from cryptovol.settings import Settings
from feature_repo.offline_table import feature_table, target_table
from monitoring import record_log, workspace
from monitoring.drift import DriftSummary
from monitoring.performance import (
    Performance,
    baseline_forecasts,
    evaluate,
    fit_har_per_symbol,
    logged_forecasts,
    recent,
)
from monitoring.policy import Decision, Observation, config_from, decide, performance_tests
from monitoring.shadow import evidence, shadow_comparison
from training.metrics import qlike

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Champion:
    """What the monitor needs to know about the model in production."""

    version: str
    trained_at: datetime
    features_end: pd.Timestamp
    reference: pd.DataFrame  # its training-window features
    eval_qlike: float | None  # its walk-forward QLIKE at evaluation
    predict: Callable[[pd.DataFrame], np.ndarray]  # feature rows -> per-bar vol forecasts
    name: str = ""  # its registered model (one per bar and horizon); "": any in the log


@dataclass(frozen=True)
class MonitorResult:
    bar: str
    champion: str
    drift: DriftSummary
    performance: Performance
    recent_qlike: dict[str, float]
    recent_scored: int
    decision: Decision
    record: dict

    def describe(self) -> str:
        return (f"{self.bar} champion v{self.champion}: drift: {self.drift.describe()}; "
                f"performance: {self.performance.describe()}; decision: {self.decision.as_text()}"
                + (f"; {self.record['shadow_evidence']}" if self.record.get("shadow_evidence") else ""))


def history(settings: Settings) -> list[dict]:
    """Earlier monitoring records, oldest first (``monitoring.record_log``)."""
    return record_log.history(settings)


def append_record(settings: Settings, record: dict) -> None:
    """One record per run: a locked, fsynced JSON line, or a row of the platform database."""
    record_log.append(settings, record)


def champion_forecasts(settings: Settings, champion: Champion, after: pd.DataFrame,
                       predictions: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The champion's forecasts for the bars after its training data: what the prediction log
    says it served, and for the bars the log does not cover (before the service ran, or no
    request), its forecasts recomputed point-in-time from the offline features."""
    logged = (logged_forecasts(predictions, champion.version, champion.name) if len(predictions)
              else pd.DataFrame(columns=["symbol", "as_of", "champion"]))
    recomputed = pd.DataFrame({"symbol": after["symbol"].to_numpy(),
                               "as_of": after["event_timestamp"].to_numpy(),
                               "champion": champion.predict(after) if len(after) else []})
    keys = pd.MultiIndex.from_frame(logged[["symbol", "as_of"]])
    missing = ~pd.MultiIndex.from_frame(recomputed[["symbol", "as_of"]]).isin(keys)
    forecasts = pd.concat([logged, recomputed[missing]], ignore_index=True)
    parts = [f"{n:,} {what}" for n, what in ((len(logged), "from the prediction log"),
                                             (int(missing.sum()), "recomputed")) if n]
    return forecasts, " + ".join(parts) or "none"


def score_champion(settings: Settings, champion: Champion, predictions: pd.DataFrame,
                   features: pd.DataFrame, targets: pd.DataFrame) -> Performance:
    """Realized performance of ``champion`` on the bars after its training data."""
    after = features[features["event_timestamp"] > champion.features_end]
    forecasts, source = champion_forecasts(settings, champion, after, predictions)
    known = champion.features_end - settings.horizon * pd.Timedelta(settings.bar_delta)
    train = champion.reference.merge(
        targets.loc[targets["event_timestamp"] <= known, ["symbol", "event_timestamp", "target_rv"]],
        on=["symbol", "event_timestamp"], how="inner")
    baselines = baseline_forecasts(after, fit_har_per_symbol(train))
    return evaluate(forecasts, baselines, targets, source)


def monitor(settings: Settings, champion: Champion, drift: DriftSummary,
            predictions: pd.DataFrame, now: datetime | None = None) -> MonitorResult:
    """Score the champion, ask the policy, and append the run to the monitoring log."""
    now = now or datetime.now(UTC)
    features = feature_table(settings).read()
    targets = target_table(settings).read()
    performance = score_champion(settings, champion, predictions, features, targets)
    window = recent(performance.scored_rows, settings.monitor_window_days)
    recent_q = {m: float(qlike_of(window, m)) for m in ("champion", "har", "ewma")}
    earlier = history(settings)
    verdicts = [r["drift_failed"] for r in earlier
                if r.get("champion") == champion.version and r.get("drift_failed") is not None]
    if drift.judged:
        verdicts.append(bool(drift.dataset_drift))
    retrains = [r["at"] for r in earlier if r.get("kind") == "retrain"]
    config = config_from(settings)
    degraded, behind_har = performance_tests(window, "champion", settings.horizon,
                                             champion.eval_qlike, config)
    observation = Observation(
        now=now, trained_at=champion.trained_at, drift_failed=verdicts,
        recent_qlike=recent_q["champion"] if len(window) else None,
        har_qlike=recent_q["har"] if len(window) else None, eval_qlike=champion.eval_qlike,
        scored=len(window),
        last_retrain=datetime.fromisoformat(retrains[-1]) if retrains else None,
        degraded=degraded, behind_har=behind_har)
    decision = decide(observation, config)
    performance_html = workspace.record(settings.home, settings.bar, now, drift.snapshot,
                                        performance.scored_rows, settings.reports_dir)
    top = sorted(drift.columns.items(), key=lambda kv: kv[1]["score"])[:5]
    record = {
        "kind": "monitor", "at": now.isoformat(), "bar": settings.bar, "champion": champion.version,
        "drift_judged": drift.judged, "drift_failed": bool(drift.dataset_drift) if drift.judged else None,
        "drift_share": drift.share, "drifted_columns": drift.drifted_columns,
        "drift_top": {name: v["score"] for name, v in top}, "drift_report": str(drift.html or ""),
        "scored": performance.scored, "source": performance.source,
        "qlike": performance.qlike, "recent_qlike": recent_q, "recent_scored": len(window),
        "eval_qlike": champion.eval_qlike, "decision": decision.as_text(),
        "performance_tests": {name: asdict(test) if test else None for name, test in
                              (("degradation", degraded), ("behind_har", behind_har))},
        "performance_report": str(performance_html or ""),
        "retrain": decision.retrain, "triggers": decision.triggers,
        "shadow": shadow_comparison(predictions, performance.scored_rows, champion.version,
                                    champion.name),
    }
    record["shadow_evidence"] = evidence(record["shadow"])
    append_record(settings, record)
    result = MonitorResult(settings.bar, champion.version, drift, performance, recent_q,
                           len(window), decision, record)
    log.info("monitor: %s", result.describe())
    return result


def qlike_of(rows: pd.DataFrame, model: str) -> float:
    return qlike(rows["target_rv"], rows[model]) if len(rows) else float("nan")
