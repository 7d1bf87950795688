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
