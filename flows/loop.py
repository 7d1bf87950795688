"""Prefect flows of the living loop: refresh (new bars in), monitor, retrain.

Each flow only orchestrates: the work is in ``feature_repo``, ``monitoring`` and ``training``.
Steps that touch the disk or the network are Prefect tasks with retries and timeouts; a
retried refresh is safe (it picks up whatever the interrupted attempt left undone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import flow, task

from cryptovol.alerts import Alert
from cryptovol.settings import Settings
from feature_repo import jobs as feature_jobs

log = logging.getLogger(__name__)
REFRESH_TIMEOUT_S = 3600


def transient(task, task_run, state) -> bool:
    """Retry only what may pass by itself (a server away, a busy disk), not a user's error."""
    from cryptovol.errors import UserError

    error = state.result(raise_on_failure=False)
    return not isinstance(error, UserError | LookupError | ValueError)


@task(name="refresh-stores", retries=2, retry_delay_seconds=10, timeout_seconds=REFRESH_TIMEOUT_S,
      retry_condition_fn=transient)
def refresh_stores(settings: Settings, redis_url: str, paths: list[str] | None,
                   rebuild: bool) -> feature_jobs.RefreshResult:
    return feature_jobs.refresh(settings, redis_url, paths, rebuild)


@flow(name="refresh")
def refresh_flow(settings: Settings, redis_url: str, paths: list[str] | None = None,
                 rebuild: bool = False) -> feature_jobs.RefreshResult:
    """New candle files (given, or waiting in the inbox) → candle store → features → Redis."""
    return refresh_stores(settings, redis_url, paths, rebuild)


@task(name="champion", retries=2, retry_delay_seconds=5, timeout_seconds=600,
      retry_condition_fn=transient)
def load_champion(settings: Settings):
    """The champion's identity, training reference and a point-in-time predictor (MLflow)."""
    from datetime import UTC, datetime

    from monitoring.monitor import Champion
    from training.champion import ChampionModel
    from training.registry import champion_reference, configure

    reference = champion_reference(settings)
    client = configure(settings)
    version = client.get_model_version(settings.registered_model, reference.version)
    metrics = client.get_run(version.run_id).data.metrics
    model = ChampionModel.load(settings, reference.version)
    return Champion(version=reference.version,
                    trained_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
                    features_end=reference.features_end, reference=reference.reference,
                    eval_qlike=metrics.get("challenger_qlike"), predict=model.predict_vol,
                    name=settings.registered_model)


@flow(name="monitor")
def monitor_flow(settings: Settings, redis_url: str, retrain: bool = True) -> LoopOutcome:
    """Drift of the bars after the champion's training data, its realized QLIKE next to HAR and
    EWMA, and the retrain policy's decision (recorded in the monitoring log); a decision to
    retrain runs the retrain flow (unless ``retrain`` is False)."""
    from cryptovol.prediction_log import sink_for
    from monitoring import jobs as monitoring_jobs
    from monitoring.monitor import monitor

    champion = load_champion(settings)
    drift = monitoring_jobs.check_drift(settings, champion.reference, champion.features_end,
                                        label=f"champion_v{champion.version}")
    predictions = sink_for(settings).read(settings.bar)
    checked = monitor(settings, champion, drift, predictions)
    record_decision(settings, checked.record)
    retrained = None
    if checked.decision.retrain and retrain:
        trigger = "; ".join(checked.decision.reasons)
        retrained = retrain_flow(settings, redis_url, trigger, checked.record)
    return LoopOutcome(monitor=checked, retrain=retrained)


@task(name="record-decision", retries=2, retry_delay_seconds=5, timeout_seconds=120)
def record_decision(settings: Settings, record: dict) -> str:
    """The monitoring run and the policy's decision, in MLflow (the monitoring log has it too)."""
    from training.registry import log_monitor_run

    return log_monitor_run(settings, record)


@dataclass(frozen=True)
class RetrainOutcome:
    version: str
    promoted: bool
    serving: str | None
    gate: str
    report: str
    alert: Alert


@dataclass(frozen=True)
class LoopOutcome:
    monitor: object  # monitoring.monitor.MonitorResult
    retrain: RetrainOutcome | None


@task(name="train-and-gate", timeout_seconds=4 * 3600)
def train_and_gate(settings: Settings, redis_url: str, evidence: str | None = None):
    from training import jobs as training_jobs

    return training_jobs.train_and_register(settings, redis_url, evidence)


@flow(name="retrain")
def retrain_flow(settings: Settings, redis_url: str, trigger: str,
                 monitor_record: dict | None = None) -> RetrainOutcome:
    """Train → gate → promote or keep → alert, and record the retrain (monitoring log, MLflow)."""
    from cryptovol.alerts import send_configured
    from monitoring.alerting import retrain_alert
    from monitoring.monitor import append_record
    from training.registry import configure

    trained = train_and_gate(settings, redis_url, (monitor_record or {}).get("shadow_evidence"))
    registered = trained.model
    reports = {"evaluation report": trained.report,
               "drift report": (monitor_record or {}).get("drift_report", "")}
    alert = retrain_alert(monitor_record, trigger, settings.bar, registered.name, registered.version,
                          registered.decision.as_tag(), registered.is_champion,
                          registered.champion_version, trained.metrics, reports)
    send_configured(settings, alert)
    append_record(settings, {
        "kind": "retrain", "at": datetime.now(UTC).isoformat(), "bar": settings.bar,
        "trigger": trigger, "version": registered.version, "promoted": registered.is_champion,
        "serving": registered.champion_version, "gate": registered.decision.as_tag()})
    client = configure(settings)
    client.set_tag(registered.run_id, "retrain_trigger", trigger[:5000])
    if monitor_record is not None:
        client.set_tag(registered.run_id, "monitor_decision", monitor_record["decision"][:5000])
    return RetrainOutcome(registered.version, registered.is_champion, registered.champion_version,
                          registered.decision.as_tag(), trained.report, alert)


def alert_on_failure(settings: Settings):
    """A Prefect ``on_failure`` hook that alerts (the settings are captured, not serialized:
    the webhook URL and secret never pass through Prefect)."""

    def hook(flow, flow_run, state) -> None:
        from datetime import timedelta

        from cryptovol import alert_groups
        from cryptovol.alerts import send_configured
        from cryptovol.errors import describe
        from monitoring.alerting import failure_alert

        error = state.result(raise_on_failure=False)
        message = (describe(error) if isinstance(error, BaseException) else None) or str(state.message)
        verdict = alert_groups.record(settings.home, f"failure:{flow.name}:{settings.bar}:{message}",
                                      datetime.now(UTC),
                                      timedelta(hours=settings.alert_repeat_hours))
        if not verdict.send:  # the same cause as an alert already sent: counted, not re-sent
            log.info("flow %s (%s) failed again (%d times since the alert of %s): %s", flow.name,
                     settings.bar, verdict.grouped, verdict.first[:16], message)
            return
        send_configured(settings, failure_alert(flow.name, settings.bar, message,
                                                repeated=verdict.grouped, since=verdict.first))

    return hook


def alert_on_recovery(settings: Settings):
    """A Prefect ``on_completion`` hook: a flow whose failures were alerted succeeds again."""

    def hook(flow, flow_run, state) -> None:
        from cryptovol import alert_groups
        from cryptovol.alerts import send_configured
        from monitoring.alerting import recovery_alert

        closed = alert_groups.resolve(settings.home, f"failure:{flow.name}:{settings.bar}:")
        if closed:
            send_configured(settings, recovery_alert(flow.name, settings.bar, closed))

    return hook
