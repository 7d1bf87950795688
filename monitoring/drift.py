"""Evidently data-drift check of recent features against a model's training reference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

from cryptovol import files


@dataclass(frozen=True)
class DriftSummary:
    drifted_columns: int
    share: float
    columns: dict[str, dict[str, float | str]]  # column -> method, threshold, score
    html: Path | None = None
    json: Path | None = None

    @property
    def dataset_drift(self) -> bool:
        """Evidently's dataset-level verdict: at least half of the columns drifted."""
        return self.share >= 0.5


def recent_window(features: pd.DataFrame, days: int) -> pd.DataFrame:
    """Rows stamped within ``days`` of the newest timestamp."""
    newest = features["event_timestamp"].max()
    return features[features["event_timestamp"] > newest - pd.Timedelta(days=days)]


def run_drift(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]):
    """Run the Evidently report; returns the snapshot and its summary."""
    snapshot = Report([DataDriftPreset(columns=columns)]).run(
        current_data=current[columns], reference_data=reference[columns]
    )
    return snapshot, summarize(snapshot.dict())


def summarize(result: dict) -> DriftSummary:
    count, share, columns = 0, 0.0, {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            count, share = int(metric["value"]["count"]), float(metric["value"]["share"])
        elif config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {"method": config["method"],
                                         "threshold": config["threshold"],
                                         "score": float(metric["value"])}
    return DriftSummary(drifted_columns=count, share=share, columns=columns)


def save(snapshot, summary: DriftSummary, out_dir: Path, stem: str) -> DriftSummary:
    html, json_path = out_dir / f"{stem}.html", out_dir / f"{stem}.json"
    files.atomic_write(html, lambda tmp: snapshot.save_html(str(tmp)))
    files.atomic_write(json_path, lambda tmp: snapshot.save_json(str(tmp)))
    return DriftSummary(summary.drifted_columns, summary.share, summary.columns, html, json_path)
