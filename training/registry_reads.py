"""Reads of the registry the gate needs: the champion's version and its out-of-fold forecasts."""

from __future__ import annotations

import tempfile

import pandas as pd
from mlflow import MlflowClient

from training.aliases import CHAMPION, version_by_alias


def champion_version(client: MlflowClient, name: str):
    return version_by_alias(client, name, CHAMPION)


def champion_oof(client: MlflowClient, name: str) -> pd.Series | None:
    """The champion's own out-of-fold forecasts (indexed by symbol, event_timestamp), so that a
    challenger is compared with it out of sample on their common test rows; None if there is no
    champion or it has no OOF artifact."""
    champion = champion_version(client, name)
    if champion is None:
        return None
    family = champion.tags.get("family")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(champion.run_id, "data/oof_predictions.parquet", tmp)
        except Exception:  # noqa: BLE001 - MLflow raises several types for a missing artifact
            return None
        oof = pd.read_parquet(path)
    if family not in oof.columns:
        return None
    return oof.set_index(["symbol", "event_timestamp"])[family].rename("champion")
