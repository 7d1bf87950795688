"""`cryptovol ui` as an on-call person opens it: before any monitor run the dashboard says why it
is empty; after a monitor run that judged drift and scored forecasts, every page and panel of
the Evidently UI answers (its dashboard data was an HTTP 500 when one snapshot was stamped with
a UTC offset and the other without), and the MLflow link works."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest

from cryptovol.redis_runtime import free_port
from feature_repo.offline_table import feature_table
from monitoring.jobs import check_drift
from monitoring.monitor import Champion, monitor
from monitoring.workspace import workspace_dir
from tests.flows.processes import CLI, SLOW, clean_env, processes_of

pytestmark = pytest.mark.integration


def _open_ui(home: Path, log: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """`cryptovol ui` until it has printed its links; returns the process and the links."""
    port, mlflow_port = free_port(), free_port()
    proc = subprocess.Popen([CLI, "ui", "--port", str(port), "--mlflow-port", str(mlflow_port)],
                            env=clean_env(home), stdout=log.open("w"),
                            stderr=log.with_suffix(".err").open("w"))
    deadline = time.monotonic() + 240 * SLOW
    while "Ctrl-C to stop" not in log.read_text():
        assert proc.poll() is None, log.read_text() + log.with_suffix(".err").read_text()[-3000:]
        assert time.monotonic() < deadline, f"no links printed:\n{log.read_text()}"
        time.sleep(0.5)
    links = dict(line.split(": ", 1) for line in log.read_text().splitlines() if ": http" in line)
    return proc, links


def _close(proc: subprocess.Popen, home: Path, log: Path) -> str:
    """Ctrl-C; every UI stops with the command. Returns what it printed on stderr."""
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60 * SLOW) == 0
    deadline = time.monotonic() + 30 * SLOW
    while processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes_of(home), "a UI outlived `cryptovol ui`"
    return log.with_suffix(".err").read_text()


def _dashboard_data(url: str, project: Path) -> httpx.Response:
    """What the project page asks for its panels: every series of the dashboard."""
    dashboard = json.loads((project / "dashboard.json").read_text())
    filters = [{k: value[k] for k in ("tags", "metadata", "metric", "metric_labels")}
               for panel in dashboard["panels"] for value in panel["values"]]
    return httpx.post(f"{url}/api/v2/snapshots/{project.name}/data_series_batch",
                      json={"series_filter": filters}, timeout=30)


def test_the_dashboards_before_and_after_a_monitor_run(built, tmp_path):
    home = built.home
    log = tmp_path / "ui.log"
    proc, links = _open_ui(home, log)
    try:
        evidently, mlflow = links["Evidently (monitoring dashboards)"], links["MLflow (runs, registry)"]
        assert httpx.get(mlflow, timeout=30).status_code == 200
        [project] = [p for p in workspace_dir(home).iterdir() if p.is_dir()]
        answer = httpx.get(f"{evidently}/api/projects/{project.name}/info", timeout=30)
        assert answer.status_code == 200 and answer.json()["name"] == "cryptovol 1d"
        panels = json.loads((project / "dashboard.json").read_text())["panels"]
        assert "Empty panels: no monitor run has judged anything yet" in panels[0]["subtitle"]
        assert "no monitor run yet" in log.with_suffix(".err").read_text()

        # a monitor run that judges drift and scores forecasts, while the UI runs
        features = feature_table(built).read()
        end = pd.Timestamp("2021-03-31", tz="UTC")
        reference = features[(features["event_timestamp"] <= end)
                             & (features["event_timestamp"] > end - pd.Timedelta(days=400))]
        champion = Champion(version="3", trained_at=datetime(2021, 4, 1, tzinfo=UTC),
                            features_end=end, reference=reference, eval_qlike=0.2,
                            predict=lambda rows: 1.1 * rows["ewma_vol"].to_numpy(dtype=float))
        drift = check_drift(built, reference, end, "dashboard")
        assert drift.judged
        monitor(built, champion, drift, pd.DataFrame(), now=datetime(2021, 7, 8, tzinfo=UTC))

        assert httpx.get(f"{evidently}/api/projects/{project.name}/reload", timeout=30).status_code == 200
        for path in ("", f"/projects/{project.name}", f"/api/projects/{project.name}/snapshots",
                     f"/api/v2/dashboards/{project.name}"):
            assert httpx.get(f"{evidently}{path}", timeout=30).status_code == 200, path
        data = _dashboard_data(evidently, project)
        assert data.status_code == 201, data.text[:300]
        assert len(data.json()["sources"]) == 2  # the drift and the performance snapshot
    finally:
        _close(proc, home, log)
