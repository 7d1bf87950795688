"""Prefect flows: thin wrappers around the stages in feature_repo, training and monitoring.

Each stage is its own flow so it can be run, scheduled and retried alone; ``pipeline_flow``
runs them in order as subflows. Without ``PREFECT_API_URL`` Prefect runs them against a
temporary local API (its database under ``CRYPTOVOL_HOME/prefect``); no server to install.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow

from cryptovol.settings import Settings
from feature_repo import ingest as feature_ingest
from feature_repo import jobs as feature_jobs
from monitoring import jobs as monitoring_jobs
from training import jobs as training_jobs
from training.registry import champion_reference


@flow(name="ingest")
def ingest_flow(settings: Settings, paths: list[str], fmt: str | None = None,
                symbol: str | None = None, bar: str | None = None) -> feature_ingest.IngestResult:
    return feature_ingest.ingest(settings, paths, fmt, symbol, bar)


@flow(name="seed-demo")
def seed_demo_flow(settings: Settings) -> feature_ingest.IngestResult | None:
    return feature_ingest.seed_demo(settings)


@flow(name="build-features")
def features_flow(settings: Settings) -> feature_jobs.FeaturesResult:
    return feature_jobs.build_features(settings)


@flow(name="materialize")
def materialize_flow(settings: Settings, redis_url: str) -> dict:
    return feature_jobs.apply_and_materialize(settings, redis_url)


@flow(name="train")
def train_flow(settings: Settings, redis_url: str) -> training_jobs.TrainSummary:
    return training_jobs.train_and_register(settings, redis_url)


@flow(name="drift-check")
def drift_flow(settings: Settings):
    champion = champion_reference(settings)
    return monitoring_jobs.check_drift(settings, champion.reference, champion.features_end,
                                       label=f"champion_v{champion.version}")


@dataclass(frozen=True)
class TrainingSummary:
    candles: int
    symbols: int
    feature_rows: int
    online_symbols: int
    model_name: str
    model_version: str
    champion_version: str | None
    gate: str
    metrics: dict[str, float]
    leakage_flags: list[str]
    report: str
    leakage_prompts: tuple[str, ...] = ()


@flow(name="training")
def training_pipeline_flow(settings: Settings, redis_url: str) -> TrainingSummary:
    """Features from the candle store → Feast apply + materialize → walk-forward train + register."""
    built = features_flow(settings)
    online = materialize_flow(settings, redis_url)
    trained = train_flow(settings, redis_url)
    return TrainingSummary(
        candles=built.candles, symbols=built.symbols, feature_rows=built.feature_rows,
        online_symbols=len(online), model_name=trained.model.name,
        model_version=trained.model.version, champion_version=trained.model.champion_version,
        gate=trained.model.decision.as_tag(), metrics=trained.metrics,
        leakage_flags=trained.leakage_flags, report=trained.report,
        leakage_prompts=trained.leakage_prompts)


@dataclass(frozen=True)
class PipelineSummary:
    training: TrainingSummary
    drift: str | None  # the drift check's verdict in words (None: skipped)
    drift_report: str | None
    notes: tuple[str, ...] = ()


def no_champion_note(t: TrainingSummary) -> str:
    """Why nothing is served yet after a training run, and what the user can do. Pure."""
    why = "; ".join(t.leakage_flags) or t.gate
    return (f"no @champion: {t.model_name} v{t.model_version} stays @challenger ({why}). "
            f"Read the report {t.report}; if you trust the model, promote it by hand: "
            f"`cryptovol models promote {t.model_version}`. The drift check needs a champion "
            "and was skipped.")


@flow(name="pipeline")
def pipeline_flow(settings: Settings, redis_url: str) -> PipelineSummary:
    """(Seed the demo) → features → Feast apply + materialize → train + register → drift report.

    When the gate holds the first model back (e.g. the leakage audit flags it) there is no
    champion to judge drift against: the drift stage is skipped with a note saying what to do.
    """
    seed_demo_flow(settings)
    trained = training_pipeline_flow(settings, redis_url)
    if trained.champion_version is None:
        return PipelineSummary(training=trained, drift=None, drift_report=None,
                               notes=(no_champion_note(trained),))
    drift = drift_flow(settings)
    return PipelineSummary(training=trained, drift=drift.describe(),
                           drift_report=str(drift.html) if drift.html else None)
