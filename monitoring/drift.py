"""Evidently data-drift check of the bars that arrived after a model's training against the end
of its training window: two windows that never overlap. No new bar means nothing to judge."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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
    failed: bool | None = None  # Evidently's test "share of drifted columns < 0.5" failed
    current_rows: int = 0  # feature rows judged (stamped after the training data)
    since: pd.Timestamp | None = None  # the end of the model's training data
    waiting: str | None = None  # why nothing was judged although new bars arrived
    snapshot: object | None = field(default=None, repr=False, compare=False)  # Evidently's

    @property
    def judged(self) -> bool:
        return self.current_rows > 0

    @property
    def dataset_drift(self) -> bool:
        """The dataset-level verdict: Evidently's test, else at least half the columns drifted."""
        return self.failed if self.failed is not None else self.share >= 0.5

    def describe(self) -> str:
        if not self.judged and self.waiting:
            return f"not judged yet: {self.waiting}"
        if not self.judged:
            return (f"nothing to judge: no bar after the champion's training data "
                    f"(ends {self.since:%Y-%m-%d %H:%M})")
        verdict = "DRIFT" if self.dataset_drift else "no drift"
        return (f"{verdict}: {self.drifted_columns} of {len(self.columns)} features drifted "
                f"({self.share:.0%}) on {self.current_rows:,} rows since {self.since:%Y-%m-%d %H:%M}")


def nothing_new(since: pd.Timestamp, waiting: str | None = None) -> DriftSummary:
    return DriftSummary(drifted_columns=0, share=0.0, columns={}, current_rows=0, since=since,
                        waiting=waiting)


# deterministic functions of the clock: they always "drift" between two time windows
CALENDAR = ("dow_sin", "dow_cos", "hour_sin", "hour_cos")


def too_few(current: pd.DataFrame, min_days: float) -> str | None:
    """Why ``current`` is too short a window to judge (None: long enough). Pure.

    A drift test on a day or two of bars compares one market moment (every coin at the same
    few closes) with three months: it flags nearly everything. Wait for ``min_days``."""
    span = current["event_timestamp"].max() - current["event_timestamp"].min()
    closes = current["event_timestamp"].nunique()
    if span < pd.Timedelta(days=min_days) - pd.Timedelta(microseconds=1) or closes < 2:
        return (f"{closes} bar close(s) ({len(current):,} rows) since the champion's training "
                f"data; the check waits for {min_days:g} days of new bars")
    return None


def drift_windows(reference: pd.DataFrame, features: pd.DataFrame, features_end: pd.Timestamp,
                  days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The end of the training window and what arrived after it. Pure.

    Reference: the last ``days`` of the model's training rows. Current: the feature rows
    stamped after ``features_end``, the newest bar the training run could see. They never
    overlap; the current window is empty when nothing new has arrived.
    """
    reference = recent_window(reference, days)
    current = features[features["event_timestamp"] > features_end]
    return reference, current


def recent_window(features: pd.DataFrame, days: int) -> pd.DataFrame:
    """Rows stamped within ``days`` of the newest timestamp."""
    newest = features["event_timestamp"].max()
    return features[features["event_timestamp"] > newest - pd.Timedelta(days=days)]


def run_drift(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]):
    """Run the Evidently report; returns the snapshot and its summary."""
    snapshot = Report([DataDriftPreset(columns=columns)], include_tests=True).run(
        current_data=current[columns], reference_data=reference[columns],
        timestamp=snapshot_time(datetime.now(UTC)))
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
    failed = None
    for test in result.get("tests", []):
        if str(test.get("name", "")).startswith("Share of Drifted Columns"):
            failed = str(test.get("status", "")).endswith("FAIL")
    return DriftSummary(drifted_columns=count, share=share, columns=columns, failed=failed)


def save(snapshot, summary: DriftSummary, out_dir: Path, stem: str) -> DriftSummary:
    html, json_path = out_dir / f"{stem}.html", out_dir / f"{stem}.json"
    files.atomic_write(html, lambda tmp: snapshot.save_html(str(tmp)))
    files.atomic_write(json_path, lambda tmp: snapshot.save_json(str(tmp)))
    return replace(summary, html=html, json=json_path, snapshot=snapshot)


def snapshot_time(moment: datetime) -> datetime:
    """The time a snapshot is stamped with: naive UTC, as Evidently's own default. The Evidently
    UI sorts a project's snapshots by it, and one aware among naive ones fails that sort (the
    project page then answers HTTP 500)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
