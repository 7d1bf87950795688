"""Prefect flows of the living loop: refresh (new bars in), monitor, retrain.

Each flow only orchestrates: the work is in ``feature_repo``, ``monitoring`` and ``training``.
Steps that touch the disk or the network are Prefect tasks with retries and timeouts; a
retried refresh is safe (it picks up whatever the interrupted attempt left undone).
"""

from __future__ import annotations

from prefect import flow, task

from cryptovol.settings import Settings
from feature_repo import jobs as feature_jobs

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
    from serving.model import ChampionModel
    from training.registry import champion_reference, configure

    reference = champion_reference(settings)
    client = configure(settings)
    version = client.get_model_version(settings.registered_model, reference.version)
    metrics = client.get_run(version.run_id).data.metrics
    model = ChampionModel.load(settings, reference.version)
    return Champion(version=reference.version,
                    trained_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
                    features_end=reference.features_end, reference=reference.reference,
                    eval_qlike=metrics.get("challenger_qlike"), predict=model.predict_vol)


@flow(name="monitor")
def monitor_flow(settings: Settings):
    """Drift of the bars after the champion's training data, its realized QLIKE next to HAR and
    EWMA, and the retrain policy's decision (recorded in the monitoring log)."""
    from cryptovol.prediction_log import log_folder, read_predictions
    from monitoring import jobs as monitoring_jobs
    from monitoring.monitor import monitor

    champion = load_champion(settings)
    drift = monitoring_jobs.check_drift(settings, champion.reference, champion.features_end,
                                        label=f"champion_v{champion.version}")
    predictions = read_predictions(log_folder(settings.home, settings.bar))
    return monitor(settings, champion, drift, predictions)
