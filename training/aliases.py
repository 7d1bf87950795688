"""The ``champion`` / ``challenger`` aliases: promotion (gated or by hand), rollback, listing.

The order in which versions were champion is kept in the registered model's tag
``champion_history`` (comma-separated versions), so a rollback knows where to go back to.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

CHAMPION, CHALLENGER = "champion", "challenger"
HISTORY_TAG = "champion_history"


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def champion_history(client: MlflowClient, name: str) -> list[str]:
    tags = client.get_registered_model(name).tags
    return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]


def crown(client: MlflowClient, name: str, version: str, how: str) -> None:
    """Make ``version`` the champion and record how (``gate: ...`` or ``manual by ...``)."""
    client.set_registered_model_alias(name, CHAMPION, version)
    history = [v for v in champion_history(client, name) if v != version] + [version]
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    client.set_model_version_tag(name, version, "promoted", f"{stamp} {how}")


def promote_manually(client: MlflowClient, name: str, version: str) -> str:
    client.get_model_version(name, version)  # raises if it does not exist
    crown(client, name, version, f"manual by {getpass.getuser()}")
    return version


def rollback(client: MlflowClient, name: str) -> tuple[str, str]:
    """Give the alias back to the previous champion; returns (from, to)."""
    history = champion_history(client, name)
    if len(history) < 2:
        raise LookupError(f"{name} has no previous champion to roll back to")
    current, previous = history[-1], history[-2]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history[:-1]))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    client.set_model_version_tag(name, current, "rolled_back", f"{stamp} by {getpass.getuser()}")
    return current, previous


def list_versions(client: MlflowClient, name: str) -> list[dict]:
    """Every version, newest first, with its aliases and key metrics."""
    rows = []
    by_version: dict[str, list[str]] = {}  # search results carry no aliases (MLflow 3): ask the model
    try:
        model = client.get_registered_model(name)
    except MlflowException:  # never registered
        return []
    for alias, version in model.aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    for v in client.search_model_versions(f"name = '{name}'"):
        metrics = client.get_run(v.run_id).data.metrics if v.run_id else {}
        rows.append({
            "version": str(v.version), "aliases": ",".join(sorted(by_version.get(str(v.version), []))),
            "created": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).strftime("%Y-%m-%d %H:%M"),
            "family": v.tags.get("family", ""), "bar": v.tags.get("bar", ""),
            "horizon": v.tags.get("horizon", ""),
            "qlike": metrics.get("challenger_qlike"), "gain": metrics.get("gain_vs_best_baseline"),
            "holdout_qlike": metrics.get("holdout_qlike"), "gate": _decision(v.tags),
            "leakage": v.tags.get("leakage_suspected", ""),
        })
    return sorted(rows, key=lambda r: int(r["version"]), reverse=True)


def registered_horizons(client: MlflowClient, model_name: str, bar: str) -> dict[int, str]:
    """horizon → name of the registered (bar, horizon) models of ``bar``, shortest first."""
    prefix = f"{model_name}-{bar}-h"
    found = client.search_registered_models(f"name LIKE '{prefix}%'")
    horizons = sorted(int(m.name[len(prefix):]) for m in found if m.name[len(prefix):].isdigit())
    return {h: f"{prefix}{h}" for h in horizons}


def registered_models(client: MlflowClient, model_name: str, bar: str) -> list[str]:
    """The registered (bar, horizon) models of ``bar``, shortest horizon first."""
    return list(registered_horizons(client, model_name, bar).values())


def _decision(tags: dict[str, str]) -> str:
    """What decided the version's place: the gate, or a person after it (a manual promotion
    or a rollback overrides the gate's advice, and the listing says so)."""
    gate = tags.get("gate", "")
    promoted = tags.get("promoted", "")
    if "manual" in promoted:
        gate = f"PROMOTED BY HAND ({promoted}); the gate had said: {gate}"
    if "rolled_back" in tags:
        gate = f"ROLLED BACK ({tags['rolled_back']}); {gate}"
    return gate
