"""Repeated alarms of one cause are grouped: by hand, and through the flows' failure hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from cryptovol.alert_groups import record, resolve
from cryptovol.alerts import read_alerts
from cryptovol.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(hours=24)


def test_the_first_alarm_goes_out_the_next_ones_are_counted_until_the_repeat_time(tmp_path):
    assert record(tmp_path, "failure:a", T0, DAY).send
    quiet = [record(tmp_path, "failure:a", T0 + timedelta(minutes=15 * i), DAY) for i in range(1, 5)]
    assert [v.send for v in quiet] == [False] * 4 and quiet[-1].grouped == 4
    assert record(tmp_path, "failure:b", T0, DAY).send  # another cause: its own alert
    again = record(tmp_path, "failure:a", T0 + DAY, DAY)
    assert again.send and again.grouped == 4 and again.first == T0.isoformat()
    assert not record(tmp_path, "failure:a", T0 + DAY + timedelta(minutes=1), DAY).send
    closed = resolve(tmp_path, "failure:a")
    assert [k for k, _ in closed] == ["failure:a"]
    assert record(tmp_path, "failure:a", T0 + 2 * DAY, DAY).send  # over: a new failure alerts
    assert resolve(tmp_path, "failure:zzz") == []


def test_a_flow_failing_every_run_alerts_once_then_its_recovery(tmp_path):
    from flows.loop import alert_on_failure, alert_on_recovery

    settings = Settings(home=tmp_path, alert_webhook=None)
    flow = SimpleNamespace(name="scheduled-refresh")
    failed = SimpleNamespace(result=lambda raise_on_failure: RuntimeError("boom"), message="boom")
    for _ in range(5):  # every 15 minutes, the same cause
        alert_on_failure(settings)(flow, None, failed)
    alert_on_recovery(settings)(flow, None, SimpleNamespace())
    alert_on_recovery(settings)(flow, None, SimpleNamespace())  # nothing more to recover from
    alerts, _ = read_alerts(tmp_path / "alerts.jsonl")
    assert [a["kind"] for a in alerts] == ["failure", "recovery"]
    assert alerts[1]["title"] == "scheduled flow scheduled-refresh (1d) recovered"
