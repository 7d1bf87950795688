"""The pull flow: exchanges → landing tables → the refresh path → health → alerts.

Orchestration only: the work is in ``feature_repo.connectors`` (pull, hand-off, health) and
``feature_repo.jobs.refresh`` (checks, quarantine, features, online store); the alert's content
in ``monitoring.alerting``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from prefect import flow, task

from cryptovol.alerts import Alert
from cryptovol.settings import Settings
from feature_repo import jobs as feature_jobs
from feature_repo.connectors import freshness
from feature_repo.connectors.pull import SourcePull
from flows.loop import REFRESH_TIMEOUT_S, transient


@dataclass(frozen=True)
class PullOutcome:
    pulls: list[SourcePull]
    refresh: feature_jobs.RefreshResult | None
    health: list[freshness.PairHealth]
    alerts: list[Alert]

    def describe(self) -> str:
        lines = [p.describe() for p in self.pulls]
        if self.refresh is not None:
            lines.append(f"refresh ({self.refresh.describe()})")
        silent = [f"{h.source} {h.pair}" for h in self.health if h.silent]
        lines.append(f"silent: {', '.join(silent)}" if silent else "every pair current")
        return "\n".join(lines)


@task(name="pull-source", timeout_seconds=3600)
def pull_task(settings: Settings, source) -> SourcePull:
    """One source's pairs, page by page (requests retried inside; a killed run resumes)."""
    from feature_repo.connectors.pull import pull_source

    return pull_source(settings, source)


@task(name="refresh-from-sources", retries=2, retry_delay_seconds=10,
      timeout_seconds=REFRESH_TIMEOUT_S, retry_condition_fn=transient)
def refresh_task(settings: Settings, redis_url: str, sources) -> feature_jobs.RefreshResult | None:
    """The primary sources' new and restated bars → candle store → features → online store."""
    from feature_repo.connectors.pull import handoff

    frames = handoff(settings, sources)
    return feature_jobs.refresh(settings, redis_url, incoming=frames) if frames else None


def watch_health(settings: Settings, pulls: list[SourcePull]) -> tuple[list, list[Alert]]:
    """Each pair's lag; an alert when pairs turn silent or deliver again (state kept between runs)."""
    from cryptovol.alerts import send_configured
    from monitoring.alerting import source_alert

    health, alerts = [], []
    now = pd.Timestamp.now(tz="UTC")
    for pull in pulls:
        assessed = freshness.assess(pull.source, {p.pair: p.newest for p in pull.pairs}, pull.cutoff,
                                    pd.Timedelta(settings.bar_delta), settings.source_silent_bars,
                                    {p.pair: p.error for p in pull.pairs if p.error})
        previous = freshness.read_state(settings.home, pull.source, pull.bar).get("silent", {})
        state, went, back = freshness.transitions(previous, assessed, now)
        if went or back:
            alert = source_alert(pull.source, pull.exchange, pull.bar, [h.as_dict() for h in went],
                                 [h.as_dict() for h in back], settings.source_silent_bars)
            send_configured(settings, alert)
            alerts.append(alert)
        freshness.write_state(settings.home, pull.source, pull.bar, state, assessed)
        health += assessed
    return health, alerts


def pull_sources(settings: Settings, redis_url: str, names: list[str] | None = None,
                 pull=pull_task.fn, refresh=refresh_task.fn) -> PullOutcome:
    """Pull the sources of ``settings.bar`` (only ``names`` if given), refresh the stores from
    the primary ones, and alert on pairs that stopped (or resumed) delivering.

    The steps run as given: plain functions (``cryptovol pull`` by hand: no Prefect API to
    start), or Prefect tasks with their retries and timeouts (:func:`pull_flow`)."""
    from feature_repo.connectors.sources import for_bar, load

    sources = for_bar(load(settings.sources_path), settings.bar, names)
    if not sources:
        from feature_repo.connectors.sources import SourceError

        raise SourceError(f"no {settings.bar} source in {settings.sources_path}: add one with "
                          f"`cryptovol sources add EXCHANGE --pairs BTC/USDT --bar {settings.bar}`")
    pulls = [pull(settings, source) for source in sources]
    refreshed = refresh(settings, redis_url, sources)
    health, alerts = watch_health(settings, pulls)
    return PullOutcome(pulls, refreshed, health, alerts)


@flow(name="pull")
def pull_flow(settings: Settings, redis_url: str, names: list[str] | None = None) -> PullOutcome:
    """:func:`pull_sources` with its steps as Prefect tasks (the scheduled pull)."""
    return pull_sources(settings, redis_url, names, pull=pull_task, refresh=refresh_task)
