"""`cryptovol schedule` against a Prefect server: the three deployments are listed with their crons."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pandas as pd
import pytest

from cryptovol.alerts import read_alerts
from cryptovol.prefect_api import start_server
from cryptovol.processes import terminate
from tests.flows.processes import CLI, SLOW, clean_env, processes_of

pytestmark = pytest.mark.integration


def _deployments(api: str) -> dict[str, dict]:
    response = httpx.post(f"{api}/deployments/filter", json={}, timeout=10)
    response.raise_for_status()
    return {d["name"]: d for d in response.json()}


def _scheduled_runs(api: str, deployment: dict) -> list[dict]:
    """The SCHEDULED runs the server's scheduler service has created for ``deployment``."""
    body = {"deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
    response = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def _run_now(api: str, deployment: dict, budget_s: float) -> str:
    """Start a run of ``deployment`` and wait for its final state; returns the state type."""
    run = httpx.post(f"{api}/deployments/{deployment['id']}/create_flow_run", json={}, timeout=10)
    run.raise_for_status()
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{api}/flow_runs/{run.json()['id']}", timeout=10).json()["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(2)
    return "TIMEOUT"


def test_schedule_serves_refresh_monitor_and_retrain_deployments_until_ctrl_c(tmp_path):
    # the server `cryptovol schedule` starts when PREFECT_API_URL is unset: one that schedules
    server, api = start_server(tmp_path / "prefect-server", timeout=180 * SLOW, scheduling=True)
    home = tmp_path / "home"
    env = {**clean_env(home), "PREFECT_API_URL": api, "CRYPTOVOL_MONITOR_CRON": "15 1 * * *"}
    log = (tmp_path / "schedule.log").open("w")
    proc = subprocess.Popen([CLI, "schedule"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, found = time.monotonic() + 300 * SLOW, {}
        while time.monotonic() < deadline and len(found) < 3:
            assert proc.poll() is None, (tmp_path / "schedule.log").read_text()
            found = _deployments(api)
            time.sleep(2)
        crons = {name: [s["schedule"].get("cron") for s in d["schedules"]] for name, d in found.items()}
        assert crons == {"refresh-1d": ["*/15 * * * *"], "monitor-1d": ["15 1 * * *"],
                         "retrain-1d": ["0 3 * * 0"]}
        # the server's scheduler service turns each cron into upcoming runs (what makes the
        # schedules fire; broken by SQLAlchemy 2.1 under Prefect 3.8, hence the pin)
        deadline, upcoming = time.monotonic() + 240 * SLOW, []
        while time.monotonic() < deadline and not upcoming:
            upcoming = _scheduled_runs(api, found["refresh-1d"])
            time.sleep(3)
        assert upcoming, "the Prefect server scheduled no run of refresh-1d"
        minutes = {pd.Timestamp(run["expected_start_time"]).minute for run in upcoming}
        assert minutes <= {0, 15, 30, 45}, minutes
        # a scheduled run executes in the runner's subprocess with the home's environment;
        # in an empty home the refresh fails, and the failure is alerted
        assert _run_now(api, found["refresh-1d"], 300 * SLOW) == "FAILED"
        alerts, _ = read_alerts(home / "alerts.jsonl")
        assert [a["title"] for a in alerts] == ["scheduled flow scheduled-refresh (1d) failed"]
        assert alerts[0]["fields"]["error"].startswith("no 1d candles in")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60 * SLOW) in (0, 130)
    finally:
        if proc.poll() is None:
            proc.kill()
        terminate(server, grace=5.0, group=True)
        log.close()
    assert not processes_of(home), "a process of the schedule outlived it"
