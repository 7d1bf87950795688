"""The loop's Prefect deployments: refresh, monitor (→ retrain) and a max-age retrain on cron
schedules from settings, and the exchange pull after every bar when sources are configured,
served by one process (``cryptovol schedule``, ``prefect.serve``).

Scheduled runs take only the bar size as a parameter and read everything else (home, Redis,
webhook and its secret) from the environment the ``schedule`` command sets up: credentials
never pass through Prefect's database. A failed scheduled run sends a failure alert.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from prefect import flow

from cryptovol.settings import Settings

log = logging.getLogger(__name__)


def _settings(bar: str) -> Settings:
    settings = Settings(bar=bar)
    if not settings.redis_url:
        from cryptovol.redis_runtime import RedisUnavailable

        raise RedisUnavailable("no REDIS_URL in a scheduled run's environment: start the "
                               "schedules with `cryptovol schedule`")
    return settings


def _alert_failure(flow, flow_run, state) -> None:
    from flows.loop import alert_on_failure

    alert_on_failure(Settings(bar=flow_run.parameters.get("bar", "1d")))(flow, flow_run, state)


def _alert_recovery(flow, flow_run, state) -> None:
    from flows.loop import alert_on_recovery

    alert_on_recovery(Settings(bar=flow_run.parameters.get("bar", "1d")))(flow, flow_run, state)


@flow(name="scheduled-refresh", on_failure=[_alert_failure],
      on_completion=[_alert_recovery])
def scheduled_refresh(bar: str = "1d"):
    """Load the inbox's candle files and bring the stores up to date."""
    from flows.loop import refresh_flow

    settings = _settings(bar)
    return refresh_flow(settings, settings.redis_url).describe()


@flow(name="scheduled-monitor", on_failure=[_alert_failure],
      on_completion=[_alert_recovery])
def scheduled_monitor(bar: str = "1d", retrain: bool = True):
    """Drift + realized performance → policy → (retrain → gate → alert)."""
    from flows.loop import monitor_flow

    settings = _settings(bar)
    outcome = monitor_flow(settings, settings.redis_url, retrain)
    return outcome.monitor.describe()


@flow(name="scheduled-retrain", on_failure=[_alert_failure],
      on_completion=[_alert_recovery])
def scheduled_retrain(bar: str = "1d"):
    """Retrain when the champion is older than CRYPTOVOL_RETRAIN_MAX_AGE_DAYS (else nothing)."""
    from flows.loop import retrain_flow
    from training.registry import champion_version, configure

    settings = _settings(bar)
    champion = champion_version(configure(settings), settings.registered_model)
    if champion is not None:
        age = datetime.now(UTC) - datetime.fromtimestamp(champion.creation_timestamp / 1000, UTC)
        if age.days <= settings.retrain_max_age_days:
            message = (f"champion v{champion.version} is {age.days} days old "
                       f"(max {settings.retrain_max_age_days:g}): no retrain")
            log.info(message)
            return message
        trigger = f"champion trained {age.days} days ago (max {settings.retrain_max_age_days:g})"
    else:
        trigger = "no champion yet"
    return retrain_flow(settings, settings.redis_url, trigger).alert.title


@flow(name="scheduled-pull", on_failure=[_alert_failure],
      on_completion=[_alert_recovery])
def scheduled_pull(bar: str = "1d"):
    """Pull the exchange sources' closed candles into the stores; alert on silent pairs."""
    from flows.pull import pull_flow

    settings = _settings(bar)
    return pull_flow(settings, settings.redis_url).describe()


def pull_deployment(settings: Settings):
    """``pull-<bar>`` when a source of the bar exists: every ``CRYPTOVOL_PULL_INTERVAL_SECONDS``
    (default: one bar), ``CRYPTOVOL_PULL_DELAY_SECONDS`` after the bar grid (a few seconds
    after each close); one run at a time."""
    from prefect.schedules import Interval

    from feature_repo.connectors.sources import for_bar, load

    if not for_bar(load(settings.sources_path), settings.bar):
        return None
    anchor = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=settings.pull_delay_seconds)
    return scheduled_pull.to_deployment(
        name=f"pull-{settings.bar}", schedules=[Interval(settings.pull_interval, anchor_date=anchor)],
        parameters={"bar": settings.bar}, tags=["cryptovol", settings.bar], concurrency_limit=1)


def deployments(settings: Settings) -> list:
    """The deployments of ``settings.bar`` with their schedules: refresh, monitor, max-age
    retrain — and pull, when exchange sources of the bar are configured."""
    bar = settings.bar
    pull = pull_deployment(settings)
    return ([pull] if pull is not None else []) + [
        scheduled_refresh.to_deployment(name=f"refresh-{bar}", cron=settings.refresh_cron,
                                        parameters={"bar": bar}, tags=["cryptovol", bar]),
        scheduled_monitor.to_deployment(name=f"monitor-{bar}", cron=settings.monitor_cron,
                                        parameters={"bar": bar}, tags=["cryptovol", bar]),
        scheduled_retrain.to_deployment(name=f"retrain-{bar}", cron=settings.retrain_cron,
                                        parameters={"bar": bar}, tags=["cryptovol", bar]),
    ]
