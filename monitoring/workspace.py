"""The Evidently workspace: every monitoring run's snapshots, one project per bar size, with a
dashboard of the drift share and the champion's realized QLIKE (next to HAR and EWMA) over time.

Open it with ``cryptovol ui`` (``evidently ui --workspace CRYPTOVOL_HOME/evidently``).
The performance snapshot is an Evidently regression report (realized vs forecast per-bar vol of
the scored forecasts) plus the mean of each model's per-row QLIKE loss, which is what the
dashboard plots as "QLIKE".
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Regression, Report
from evidently.metrics import MeanValue
from evidently.presets import RegressionPreset

from cryptovol import files
from monitoring.drift import snapshot_time
from monitoring.performance import MODELS
from training.metrics import qlike_losses

log = logging.getLogger(__name__)
DRIFT = "evidently:metric_v2:DriftedColumnsCount"
MEAN = "evidently:metric_v2:MeanValue"


def workspace_dir(home: Path) -> Path:
    return home / "evidently"


def _project(workspace, bar: str):
    name = f"cryptovol {bar}"
    found = workspace.search_project(name)
    if found:
        return found[0]
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel, text_panel

    project = workspace.create_project(name, description=f"Monitoring of the @champion on {bar} bars")
    project.dashboard.add_panel(text_panel(
        title=f"cryptovol {bar}: drift and realized performance of the champion",
        description="Every `cryptovol monitor` run adds a point: the drift share once bars "
                    "after the champion's training data have arrived, the QLIKEs once served "
                    "forecasts' horizons have passed. Empty panels: no monitor run has judged "
                    "anything yet."))
    project.dashboard.add_panel(line_plot_panel(
        title="Share of drifted features (bars after the champion's training data)",
        values=[PanelMetric(legend="drift share", metric=DRIFT, metric_labels={"value_type": "share"})],
        size="half"))
    project.dashboard.add_panel(line_plot_panel(
        title="Realized QLIKE of scored forecasts (lower is better)",
        values=[PanelMetric(legend=m, metric=MEAN, metric_labels={"column": f"qlike_{m}"})
                for m in MODELS], size="half"))
    return project


def ensure_project(home: Path, bar: str) -> int:
    """The bar's project with its dashboard (created if missing, so a new workspace explains
    its empty panels); returns how many snapshots it holds."""
    from evidently.ui.workspace import Workspace

    workspace = Workspace(str(workspace_dir(home)))
    project = _project(workspace, bar)
    return len(workspace.list_runs(project.id))


def performance_snapshot(rows: pd.DataFrame, timestamp: datetime):
    """Regression report of realized vs champion forecast, plus mean QLIKE per model."""
    frame = rows.assign(**{f"qlike_{m}": qlike_losses(rows["target_rv"], rows[m]) for m in MODELS})
    frame = frame[["target_rv", *MODELS, *[f"qlike_{m}" for m in MODELS]]].astype(float)
    dataset = Dataset.from_pandas(frame, data_definition=DataDefinition(
        numerical_columns=list(frame.columns),
        regression=[Regression(target="target_rv", prediction="champion")]))
    report = Report([RegressionPreset(), *[MeanValue(column=f"qlike_{m}") for m in MODELS]])
    return report.run(current_data=dataset, timestamp=timestamp)


def record(home: Path, bar: str, timestamp: datetime, drift_snapshot=None,
           scored: pd.DataFrame | None = None, reports_dir: Path | None = None) -> Path | None:
    """Add this run's snapshots to the workspace; returns the regression report's HTML (if any).

    The workspace is a convenience: a failure here is logged, never fails the monitor."""
    try:
        from evidently.ui.workspace import Workspace

        workspace = Workspace(str(workspace_dir(home)))
        project = _project(workspace, bar)
        if drift_snapshot is not None:
            workspace.add_run(project.id, drift_snapshot, include_data=False)
        html = None
        if scored is not None and len(scored):
            snapshot = performance_snapshot(scored, snapshot_time(timestamp))
            workspace.add_run(project.id, snapshot, include_data=False)
            if reports_dir is not None:
                html = reports_dir / f"performance_{bar}_{timestamp:%Y%m%dT%H%M%S}.html"
                files.atomic_write(html, lambda tmp: snapshot.save_html(str(tmp)))
        return html
    except Exception as exc:  # noqa: BLE001 - the monitor's verdict stands without the workspace
        log.warning("evidently workspace not updated: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return None
