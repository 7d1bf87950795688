"""Commands a user runs first, in process: settings that travel (the bar, the service URL), the
test alert through a real webhook, and the spike column of `predict`."""

from __future__ import annotations

import json

import pytest

from cryptovol.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, read_alerts, sign
from cryptovol.cli.app import main
from cryptovol.cli.serving import forecast_table
from cryptovol.redis_runtime import free_port
from feature_repo import candle_store
from tests.conftest import make_candles
from tests.flows.loop_scenario import start_receiver


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(args)
    return done.value.code


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("CRYPTOVOL_HOME", str(home))
    for name in ("REDIS_URL", "MLFLOW_TRACKING_URI", "PREFECT_API_URL", "CRYPTOVOL_BAR",
                 "CRYPTOVOL_SERVICE_URL", "CRYPTOVOL_ALERT_WEBHOOK", "CRYPTOVOL_ALERT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return home


def test_data_report_follows_cryptovol_bar(home, monkeypatch, capsys):
    candle_store.store(home, "1h", make_candles([100, 101, 102, 101], symbol="SOL", bar="1h"))
    monkeypatch.setenv("CRYPTOVOL_BAR", "1h")
    assert _run(["data", "report"]) == 0
    out = capsys.readouterr().out
    assert "candle store: 1h bars" in out and "SOL" in out
    assert _run(["data", "report", "--bar", "1d"]) == 1  # the option wins: no daily candles
    assert "no 1d candles" in capsys.readouterr().err


def test_predict_asks_the_configured_service_url(home, monkeypatch, capsys):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("CRYPTOVOL_SERVICE_URL", f"http://127.0.0.1:{port}")
    assert _run(["predict", "BTC"]) == 1
    assert f"http://127.0.0.1:{port}" in capsys.readouterr().err
    assert _run(["predict", "BTC", "--url", "http://127.0.0.1:1"]) == 1  # the option wins
    assert "http://127.0.0.1:1" in capsys.readouterr().err


def test_the_spike_column_is_the_decision_with_its_numbers():
    from rich.console import Console

    base = {"symbol": "BTC", "as_of": "2021-07-07T00:00:00Z", "horizon_bars": 7, "bar": "1d",
            "predicted_vol": 0.9, "intervals": [], "model_version": "3"}
    rows = [{**base, "spike_probability": 0.31, "spike_cut": 0.2, "spike": True},
            {**base, "symbol": "ETH", "spike_probability": 0.1, "spike_cut": 0.2, "spike": False}]
    console = Console(width=200, record=True)
    console.print(forecast_table(rows, "http://x"))
    text = console.export_text()
    assert "SPIKE (31% >= 20%)" in text and "no (10% < 20%)" in text


def test_alerts_test_sends_a_signed_alert_and_records_it(home, monkeypatch, capsys):
    receiver = start_receiver()  # the on-call webhook of the loop's tests
    try:
        monkeypatch.setenv("CRYPTOVOL_ALERT_WEBHOOK", f"http://127.0.0.1:{receiver.server_port}/hook")
        monkeypatch.setenv("CRYPTOVOL_ALERT_WEBHOOK_SECRET", "s3cret")
        assert _run(["alerts", "test"]) == 0
    finally:
        receiver.shutdown()
    out = capsys.readouterr().out
    assert "delivered (HTTP 204, signed)" in out and "s3cret" not in out and "/hook" not in out
    [(headers, body)] = receiver.received
    assert headers[SIGNATURE_HEADER] == sign(body, "s3cret", headers[TIMESTAMP_HEADER])
    assert json.loads(body)["kind"] == "test"
    records, torn = read_alerts(home / "alerts.jsonl")
    assert torn == 0 and records[-1]["kind"] == "test" and records[-1]["webhook"]["delivered"]


def test_alerts_test_says_when_the_webhook_does_not_take_it(home, monkeypatch, capsys):
    monkeypatch.setenv("CRYPTOVOL_ALERT_WEBHOOK", f"http://127.0.0.1:{free_port()}/hook")
    assert _run(["alerts", "test"]) == 1
    assert "not delivered after 4 attempt(s) (ConnectError)" in capsys.readouterr().err


def test_models_list_says_which_qlike_is_which():
    from rich.console import Console

    from cryptovol.cli.models import _versions_table

    row = {"version": "2", "aliases": "champion", "created": "2026-12-07 23:13", "family": "lightgbm",
           "bar": "1d", "horizon": "7", "qlike": 0.6954, "gain": 0.091, "holdout_qlike": 0.6847,
           "leakage": "false", "gate": "PROMOTED BY HAND (...); the gate had said: KEEP CHAMPION"}
    console = Console(width=250, record=True)
    console.print(_versions_table("crypto-vol-forecaster-1d-h7", [row]))
    text = console.export_text()
    assert "QLIKE (walk-forward)" in text and "QLIKE (gate's block)" in text
    assert "0.6954" in text and "0.6847" in text and "PROMOTED BY HAND" in text
