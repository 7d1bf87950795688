"""MLflow edge: track a training run, register the model, apply the promotion gate.

By default MLflow keeps its runs in SQLite and its artifacts in a folder, both under
``CRYPTOVOL_HOME/mlflow``; ``MLFLOW_TRACKING_URI`` points it at a server instead. Each bar size
has its own registered model (``Settings.registered_model``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from cryptovol.errors import writing
from cryptovol.settings import Settings
from training.aliases import CHALLENGER, CHAMPION, crown, version_by_alias
from training.client import configure
from training.gate import GateDecision
from training.package import VolForecaster
from training.promotion import GateContext, Judgement, judge, registry_lock
from training.pyfunc import log_package
from training.registry_reads import champion_oof, champion_version  # noqa: F401 - re-exported

log = logging.getLogger(__name__)


@dataclass
class TrainingRun:
    """Everything a training run produced, ready to be logged."""

    package: VolForecaster  # what is registered (training.pyfunc)
    family: str
    features: list[str]
    reference: pd.DataFrame  # training features, for drift checks
    oof: pd.DataFrame
    metrics: dict[str, float]
    params: dict[str, object]
    report: dict  # the JSON of every figure
    report_html: Path | None = None
    thresholds: dict | None = None  # regime cut points, spike rule, smearing scale
    gate: GateContext | None = None  # to judge the run again if the champion moves (promotion)


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    version: str
    run_id: str
    is_champion: bool
    champion_version: str | None
    decision: GateDecision


def log_and_register(run: TrainingRun, settings: Settings, tags: dict[str, str],
                     decision: GateDecision) -> RegisteredModel:
    """Log the run, register a version as ``challenger``, and crown it if the gate says so.

    The version is created in one call with all its tags, after every artifact is uploaded: a
    registry lost midway leaves a FAILED run, never a version without its model. Idempotent per
    ``tags["training_id"]``: a version an earlier attempt registered before the registry went
    away is completed (aliases), not registered twice (``training.pending``).
    """
    client = configure(settings)
    name = settings.registered_model
    target = (f"log(next-H per-bar realized vol / {tags['target_base']})" if tags.get("target_base")
              else "log next-H per-bar realized vol")
    version_tags = {**tags, "bar": settings.bar, "horizon": str(settings.horizon),
                    "family": run.family, "target": target, "gate": decision.as_tag()}
    existing = version_of_training(client, name, tags.get("training_id"))
    if existing is None:
        run_id, version = _log_run(client, run, settings, tags, decision, version_tags)
    else:
        run_id, version = existing.run_id, str(existing.version)
        log.info("version %s was registered for training %s already: completing it", version,
                 tags["training_id"])
    with registry_lock(settings):  # the champion read, the judgement and the alias moves: one step
        decision = _decision_now(client, settings, run, run_id, version, decision)
        _make_challenger(client, name, version, tags.get("trained_at"))
        if decision.promote:
            crown(client, name, version, "gate: " + "; ".join(decision.reasons))
            log.info("version %s is the new @%s (%s)", version, CHAMPION, decision.as_tag())
        else:
            log.info("version %s stays @%s: %s", version, CHALLENGER, decision.as_tag())
        current = champion_version(client, name)
    champion = str(current.version) if current else None
    return RegisteredModel(name, version, run_id, is_champion=champion == version,
                           champion_version=champion, decision=decision)


def _decision_now(client: MlflowClient, settings: Settings, run: TrainingRun, run_id: str,
                  version: str, decision: GateDecision) -> GateDecision:
    """``decision``, or the gate's decision against the current champion if it is no longer the
    one the run was judged against (``training.promotion``); the version's tags say which."""
    context = getattr(run, "gate", None)  # runs kept before the context existed have none
    current = champion_version(client, settings.registered_model)
    now = str(current.version) if current else None
    if context is None or now in (context.judged_against, version):
        return decision
    judged: Judgement = judge(settings, context, run.reference)
    log.info("the champion is v%s now (this run was judged against %s): judged again: %s", now,
             f"v{context.judged_against}" if context.judged_against else "no champion",
             judged.decision.as_tag())
    client.set_model_version_tag(settings.registered_model, version, "gate", judged.decision.as_tag())
    client.set_tag(run_id, "gate", judged.decision.as_tag())
    if judged.inputs.champion_qlike is not None:
        client.log_metric(run_id, "holdout_champion_qlike", judged.inputs.champion_qlike)
    return judged.decision


def _make_challenger(client: MlflowClient, name: str, version: str, trained_at: str | None) -> None:
    """``version`` becomes ``@challenger`` — unless the version there was trained after it (a
    kept run registered late must not displace a newer candidate)."""
    holder = version_by_alias(client, name, CHALLENGER)
    theirs = None
    if holder is not None:  # versions registered without the tag: their registration time
        theirs = holder.tags.get("trained_at") or pd.Timestamp(
            holder.creation_timestamp, unit="ms", tz="UTC").isoformat()
    if trained_at and theirs and str(holder.version) != version and theirs > trained_at:
        log.info("v%s stays @%s: it was trained after v%s (%s > %s)", holder.version, CHALLENGER,
                 version, theirs, trained_at)
        return
    client.set_registered_model_alias(name, CHALLENGER, version)


def version_of_training(client: MlflowClient, name: str, training_id: str | None):
    """The version registered for ``training_id`` (None: none yet, or no id)."""
    if not training_id:
        return None
    found = client.search_model_versions(f"name = '{name}' and tags.training_id = '{training_id}'")
    return found[0] if found else None


def _log_run(client: MlflowClient, run: TrainingRun, settings: Settings, tags: dict[str, str],
             decision: GateDecision, version_tags: dict[str, str]) -> tuple[str, str]:
    _close_abandoned(client, settings, tags.get("training_id"))
    active = mlflow.start_run(run_name=f"{run.family}-{settings.bar}-h{settings.horizon}")
    try:
        mlflow.set_tags({**tags, "family": run.family, "gate": decision.as_tag()})
        mlflow.log_params(run.params)
        mlflow.log_metrics({k: v for k, v in run.metrics.items() if np.isfinite(v)})
        stored = settings.artifact_root if settings.mlflow_tracking_uri is None else None
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            with writing(folder):
                run.reference.to_parquet(folder / "reference.parquet", index=False)
                run.oof.to_parquet(folder / "oof_predictions.parquet", index=False)
                (folder / "report.json").write_text(json.dumps(run.report, indent=2, default=str))
                if run.thresholds is not None:
                    (folder / "thresholds.json").write_text(json.dumps(run.thresholds, indent=2))
            with writing(stored or folder):
                for path in folder.iterdir():
                    mlflow.log_artifact(str(path), artifact_path="data")
        with writing(stored or tempfile.gettempdir()):  # log_package writes a temporary copy first
            if run.report_html is not None:
                mlflow.log_artifact(str(run.report_html), artifact_path="report")
            info = log_package(run.package, run.reference.tail(5))
        registered = mlflow.register_model(info.model_uri, settings.registered_model,
                                           tags=version_tags)
    except BaseException:
        # the first error is the one to report: marking the run FAILED may fail too (the server
        # is gone), and then the next attempt for this training marks it (_close_abandoned)
        with contextlib.suppress(Exception):
            mlflow.end_run("FAILED")
        raise
    mlflow.end_run()
    return active.info.run_id, str(registered.version)


def _close_abandoned(client: MlflowClient, settings: Settings, training_id: str | None) -> None:
    """Mark FAILED the runs an earlier attempt of ``training_id`` left RUNNING."""
    if not training_id:
        return
    experiment = client.get_experiment_by_name(settings.experiment_name)
    for stale in client.search_runs([experiment.experiment_id],
                                    f"tags.training_id = '{training_id}' and "
                                    "attributes.status = 'RUNNING'"):
        client.set_terminated(stale.info.run_id, "FAILED")
        log.info("run %s of an earlier attempt marked FAILED", stale.info.run_id)


@dataclass(frozen=True)
class ChampionReference:
    version: str
    reference: pd.DataFrame  # the training-window features it was fitted on
    features_end: pd.Timestamp  # the newest bar its training run could see


def champion_reference(settings: Settings) -> ChampionReference:
    """The champion's version, training features, and the end of what its run could see."""
    client = configure(settings)
    champion = champion_version(client, settings.registered_model)
    if champion is None:
        raise LookupError(f"no @{CHAMPION} version of {settings.registered_model}: train a model first")
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(champion.run_id, "data/reference.parquet", tmp)
        reference = pd.read_parquet(path)
    # versions trained before the tag existed: the reference's end is the best we know
    end = champion.tags.get("features_end")
    features_end = pd.Timestamp(end) if end else reference["event_timestamp"].max()
    return ChampionReference(str(champion.version), reference, features_end)


MONITORING_EXPERIMENT_SUFFIX = "-monitoring"


def log_monitor_run(settings: Settings, record: dict) -> str:
    """Record a monitoring run (figures as metrics, the decision and its reasons as tags) in the
    experiment ``<experiment>-monitoring``; returns the run id."""
    import math

    mlflow.set_tracking_uri(settings.tracking_uri)
    name = settings.experiment_name + MONITORING_EXPERIMENT_SUFFIX
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        local = settings.mlflow_tracking_uri is None
        experiment_id = mlflow.create_experiment(
            name, artifact_location=settings.artifact_root.as_uri() if local else None)
    else:
        experiment_id = experiment.experiment_id
    client = MlflowClient(settings.tracking_uri)
    run = client.create_run(experiment_id, run_name=f"monitor-{settings.bar}",
                            tags={"bar": settings.bar, "champion_version": str(record["champion"]),
                                  "decision": record["decision"][:5000],
                                  "retrain": str(record["retrain"]).lower(),
                                  "triggers": ",".join(record["triggers"])})
    figures = {"drift_share": record["drift_share"], "drifted_columns": record["drifted_columns"],
               "scored": record["scored"], "recent_scored": record["recent_scored"],
               **{f"recent_qlike_{k}": v for k, v in record["recent_qlike"].items()},
               **{f"shadow_{k}": v for k, v in (record.get("shadow") or {}).items()
                  if k in ("rows", "challenger_qlike", "champion_qlike")}}
    for key, value in figures.items():
        if value is not None and math.isfinite(float(value)):
            client.log_metric(run.info.run_id, key, float(value))
    client.set_terminated(run.info.run_id)
    return run.info.run_id
