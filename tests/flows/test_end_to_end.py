"""The whole loop as a user runs it: `cryptovol pipeline` (twice), `cryptovol serve`, HTTP calls.

The first pipeline is the session's demo world (tests/worlds.py); this module works on a copy
of its home. Both pipelines and the service use the platform's own embedded redis-server under
CRYPTOVOL_HOME (the `make run` default), so the online store also has to survive restarts
through its RDB snapshot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from cryptovol.prediction_log import read_predictions
from cryptovol.redis_runtime import free_port
from cryptovol.settings import REPO_ROOT
from tests.flows.processes import SLOW, embedded_redis_user, wait_ready, wait_until_gone
from tests.worlds import PLUMBING, copy_home

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).parent / "cryptovol")
ISSUED: list[str] = []  # request ids of the forecasts the service returned


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "MLFLOW_TRACKING_URI", "PREFECT_API_URL"}}
    return {**env, "CRYPTOVOL_HOME": str(home), "COLUMNS": "200", **extra}


def _pipeline(env: dict[str, str]) -> str:
    out = subprocess.run([CLI, "pipeline"], env=env, capture_output=True, text=True, timeout=900 * SLOW)
    assert out.returncode == 0, f"pipeline failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def service(tmp_path_factory, redis_url, demo_world):
    home = copy_home(demo_world.home, tmp_path_factory.mktemp("e2e") / "home", redis_url)
    first = demo_world.stdout
    assert "crypto-vol-forecaster-1d-h7 v1 (champion: v1)" in first
    assert "23 symbols online" in first
    assert "View at" not in first  # the embedded Prefect API has no UI: no dead links
    second = _pipeline(_env(home, **PLUMBING))  # re-run in the same home
    assert "crypto-vol-forecaster-1d-h7 v2 (champion: v1)" in second
    # the champion saw every demo bar: nothing new to judge, and no report that says otherwise
    assert "nothing to judge: no bar after the champion's training data (ends 2021-07-07 00:00)" in second
    assert not list((home / "reports").glob("drift_*.html"))

    # the service joins an embedded redis-server another command started (as a `train` that
    # runs while `serve` starts), and that command exits once the service is up: issue 22
    holder, redis_url = embedded_redis_user(home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (home / "serve.log").open("w")  # a file, not a pipe nobody drains (it would block)
    proc = subprocess.Popen([CLI, "serve", "--schedule", "--port", str(port)],  # as `make run`
                            # schedules that do not fire during the test (the refresh
                            # would take the inbox file the refresh test drops)
                            env=_env(home, CRYPTOVOL_CHAMPION_POLL_SECONDS="2",
                                     CRYPTOVOL_REFRESH_CRON="0 0 1 1 *",
                                     CRYPTOVOL_MONITOR_CRON="0 0 1 1 *",
                                     CRYPTOVOL_RETRAIN_CRON="0 0 1 1 *"),
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    wait_ready(url, proc, home / "serve.log")
    holder.kill()
    holder.wait(timeout=30 * SLOW)
    yield url, home
    proc.send_signal(signal.SIGINT)  # what Ctrl-C does
    assert proc.wait(timeout=60 * SLOW) == 0
    log.close()
    # every forecast the service returned is in the prediction log, written on the clean stop
    logged = read_predictions(home / "predictions" / "1d")
    assert ISSUED and set(ISSUED) <= set(logged["request_id"])
    assert set(logged["model_version"]) == {"1", "2"} and set(logged["symbol"]) >= {"BTC", "ETH"}
    with pytest.raises(httpx.ConnectError):  # no worker left serving the port
        httpx.get(f"{url}/readyz", timeout=2)
    assert not list((home / "redis").glob("server.json")), "embedded redis left running"
    assert "schedules for 1d: refresh '0 0 1 1 *'" in (home / "schedule.log").read_text()
    left = wait_until_gone(home, timeout=60)
    assert not left, f"left running after Ctrl-C: {left}"


def test_the_store_stays_when_the_command_that_started_it_exits(service):
    """The service joined a redis-server started by a command that then exited (SIGKILL):
    the store is kept for the service, which answers every request."""
    url, home = service
    assert "using the home's redis-server at" in (home / "serve.log").read_text()
    time.sleep(1.0)  # several of the keeper's checks since the other user left
    statuses = [httpx.post(f"{url}/predict", json={"symbols": ["BTC"]}, timeout=30).status_code
                for _ in range(100)]
    assert statuses == [200] * 100
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200


def test_predict_returns_positive_annualized_vol_from_the_champion(service):
    url, _ = service
    response = httpx.post(f"{url}/predict", json={"symbols": ["BTC", "ETH"]}, timeout=30)
    assert response.status_code == 200
    ISSUED.append(response.json()["request_id"])
    predictions = response.json()["predictions"]
    assert [p["symbol"] for p in predictions] == ["BTC", "ETH"]
    for p in predictions:
        assert p["model_version"] == "1"  # the champion, not the newer v2
        assert p["horizon_bars"] == 7 and p["bar"] == "1d"
        assert p["as_of"] == "2021-07-07T00:00:00Z"  # close of the last demo day
        assert 0.05 < p["predicted_vol"] < 5.0  # annualized, a plausible crypto range
        assert p["predicted_vol"] == pytest.approx(p["predicted_vol_per_bar"] * 365**0.5)


def _shape(value):
    """The structure of a JSON value: keys, list items and the kind of each leaf."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return type(value).__name__


def test_the_readme_shows_the_answer_the_service_gives(service):
    url, _ = service
    block = (REPO_ROOT / "README.md").read_text().split("```json", 1)[1].split("```", 1)[0]
    documented = json.loads(block)
    answer = httpx.post(f"{url}/predict", json={"symbols": ["BTC"]}, timeout=30).json()
    ISSUED.append(answer["request_id"])
    assert _shape(documented) == _shape(answer)
    mine, theirs = documented["predictions"][0], answer["predictions"][0]
    for key in ("symbol", "as_of", "stale", "bar", "horizon_bars", "vol_unit", "model_name"):
        assert mine[key] == theirs[key], key


def test_unknown_symbol_is_a_404_that_names_it(service):
    url, _ = service
    response = httpx.post(f"{url}/predict", json={"symbols": ["BTC", "NOTACOIN"]}, timeout=30)
    assert response.status_code == 404
    assert "NOTACOIN" in response.json()["error"]
    assert response.json()["unknown_symbols"] == ["NOTACOIN"]


def test_malformed_request_is_a_400(service):
    url, _ = service
    assert httpx.post(f"{url}/predict", json={"symbols": []}, timeout=30).status_code == 400
    assert httpx.post(f"{url}/predict", json={"coins": ["BTC"]}, timeout=30).status_code == 400


def test_predict_command_prints_a_table_and_fails_cleanly(service):
    url, home = service
    ok = subprocess.run([CLI, "predict", "btc", "--url", url], env=_env(home),
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "BTC" in ok.stdout and "7 x 1d" in ok.stdout
    bad = subprocess.run([CLI, "predict", "NOTACOIN", "--url", url], env=_env(home),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "404" in bad.stderr and "NOTACOIN" in bad.stderr and "Traceback" not in bad.stderr


def _load_until(url: str, version: str, budget_s: float,
                started: threading.Event | None = None) -> tuple[list[int], list[str]]:
    """Bounded load (sequential requests, at most ``budget_s`` seconds) until ``version`` answers."""
    statuses, versions = [], []
    deadline = time.monotonic() + budget_s * SLOW
    while time.monotonic() < deadline and len(statuses) < 5000:
        response = httpx.post(f"{url}/predict", json={"symbols": ["BTC", "ETH"]}, timeout=30)
        statuses.append(response.status_code)
        if started is not None:
            started.set()
        if response.status_code == 200:
            ISSUED.append(response.json()["request_id"])
            answered = {p["model_version"] for p in response.json()["predictions"]}
            assert len(answered) == 1, f"one request mixed versions: {answered}"
            versions.append(answered.pop())
            if versions[-1] == version:
                break
    return statuses, versions


def _load_while(url: str, version: str, command: list[str], home: Path) -> tuple[list[int], list[str]]:
    """Keep requesting from before ``command`` runs until ``version`` answers (load and change overlap)."""
    result: dict[str, object] = {}
    started = threading.Event()

    def run() -> None:
        try:
            result["load"] = _load_until(url, version, budget_s=120, started=started)
        except BaseException as exc:  # reported in the test's thread below
            result["error"] = exc
            started.set()

    load = threading.Thread(target=run)
    load.start()
    assert started.wait(timeout=60 * SLOW), "the service did not answer the first request"
    done = subprocess.run([CLI, *command], env=_env(home), capture_output=True, text=True,
                          timeout=120 * SLOW)
    load.join(timeout=180 * SLOW)
    assert done.returncode == 0, done.stderr
    assert not load.is_alive(), "load still running"
    if "error" in result:
        raise result["error"]
    return result["load"]


def test_running_service_follows_promotion_and_rollback_without_a_failed_request(service):
    url, home = service
    statuses, versions = _load_while(url, "2", ["models", "promote", "2"], home)
    assert versions[-1] == "2", f"still answering v{versions[-1]} after {len(statuses)} requests"
    assert set(statuses) == {200} and versions[0] == "1" and len(statuses) > 1
    statuses, versions = _load_while(url, "1", ["models", "rollback"], home)
    assert versions[-1] == "1" and set(statuses) == {200} and versions[0] == "2"
    assert "now serving crypto-vol-forecaster-1d-h7 v2 (was v1)" in (home / "serve.log").read_text()


def test_the_monitor_on_the_static_demo_data_says_nothing_new_arrived(service):
    _, home = service
    out = subprocess.run([CLI, "monitor"], env=_env(home), capture_output=True, text=True,
                         timeout=600 * SLOW)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "nothing to judge: no bar after the champion's training data" in out.stdout
    assert "no forecast scored yet" in out.stdout
    assert "KEEP: " in out.stdout and "RETRAIN" not in out.stdout


def _load_during(url: str, command: list[str], home: Path
                 ) -> tuple[list[int], list[str], subprocess.CompletedProcess]:
    """Sequential requests for as long as ``command`` runs; returns statuses, answers' as_of and
    what the command printed."""
    statuses, as_of, done = [], [], threading.Event()

    def run() -> None:
        while not done.is_set() and len(statuses) < 20000:
            response = httpx.post(f"{url}/predict", json={"symbols": ["BTC", "ETH"]}, timeout=30)
            statuses.append(response.status_code)
            if response.status_code == 200:
                ISSUED.append(response.json()["request_id"])
                as_of.append(response.json()["predictions"][0]["as_of"])

    load = threading.Thread(target=run)
    load.start()
    try:
        out = subprocess.run([CLI, *command], env=_env(home), capture_output=True, text=True,
                             timeout=600 * SLOW)
    finally:
        done.set()
        load.join(timeout=60 * SLOW)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return statuses, as_of, out


def test_a_refresh_and_a_full_rematerialize_under_load_keep_every_answer_200(service):
    import pandas as pd

    from feature_repo.candle_store import read_candles
    from feature_repo.offline_table import feature_table

    url, home = service
    last = read_candles(home, "1d")
    last = last[last["ts"] == last["ts"].max()]
    nxt = last.assign(ts=last["ts"] + pd.Timedelta(days=1), close=last["close"] * 1.02,
                      high=last[["high", "close"]].max(axis=1) * 1.03, open=last["close"])
    (home / "inbox").mkdir(exist_ok=True)
    nxt.to_parquet(home / "inbox" / "next_day.parquet")
    statuses, as_of, out = _load_during(url, ["refresh"], home)
    assert len(statuses) > 1 and set(statuses) == {200}
    assert "for flow 'refresh'" not in out.stdout  # by hand: no Prefect API, no flow run
    after = httpx.post(f"{url}/predict", json={"symbols": ["BTC", "ETH"]}, timeout=30).json()
    ISSUED.append(after["request_id"])
    assert {p["as_of"] for p in after["predictions"]} == {"2021-07-08T00:00:00Z"}
    assert as_of[0] == "2021-07-07T00:00:00Z"
    offline = feature_table(_settings(home)).read()
    assert offline["event_timestamp"].max() == pd.Timestamp("2021-07-08", tz="UTC")

    statuses, _, _ = _load_during(url, ["refresh", "--rebuild"], home)  # a full Feast materialize
    assert len(statuses) > 1 and set(statuses) == {200}


def _settings(home: Path):
    from cryptovol.settings import Settings

    return Settings(home=home, redis_url=None, mlflow_tracking_uri=None)
