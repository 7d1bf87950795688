"""Replay on the demo data: only what is visible at the clock is used; policies serve the same rows."""

from __future__ import annotations

import pandas as pd
import pytest

from feature_repo.offline_table import feature_table, target_table
from feature_repo.transforms.config import feature_names
from monitoring.policy import PolicyConfig
from monitoring.replay import Replay, compare


@pytest.fixture(scope="module")
def replay(built):
    settings = built
    features, targets = feature_table(settings).read(), target_table(settings).read()
    return Replay(features, targets, feature_names(settings), pd.Timedelta(days=1), 7,
                  PolicyConfig()), targets


def test_only_targets_whose_horizon_has_closed_are_known_at_the_clock(replay):
    engine, _ = replay
    clock = pd.Timestamp("2020-06-01", tz="UTC")
    known = engine.known(clock)
    assert known["event_timestamp"].max() == clock - pd.Timedelta(days=7)
    assert known["target_rv"].notna().all()


def test_policies_start_from_one_champion_and_serve_the_same_rows(replay):
    engine, targets = replay
    clocks = list(pd.date_range("2020-06-01", "2020-08-03", freq="7D", tz="UTC"))
    first, numbers = engine.champion(clocks[0], 1)
    assert first.model.trained_until == clocks[0] and numbers["rows"] > 0
    never = engine.run("never", first, clocks)
    calendar = engine.run("every-30d", first, clocks)
    assert never.retrains == 0 and calendar.retrains == 1  # 07-06: the first tick 30+ days on
    served = pd.concat(never.served)
    assert served["as_of"].min() > clocks[0] and served["as_of"].max() == clocks[-1]
    assert set(served["version"]) == {1}
    for event in calendar.events:  # a retrain at the clock sees no target past it
        assert event["clock"] in clocks and event["gate"]
    weekly = engine.run("every-7d", first, clocks)
    assert weekly.retrains == len(clocks) - 1  # every tick is 7 days after the last retrain
    table, rows = compare([never, calendar, weekly], targets)
    assert list(table.index) == ["never", "every-30d", "every-7d"]
    assert table.loc["never", "scored"] == table.loc["every-30d", "scored"] == len(rows) > 1000
    assert (table["realized_qlike"] > 0).all()


def test_a_rule_only_policy_retrains_on_that_rules_triggers_alone():
    from monitoring.replay import RULES, calendar_days, known_policy

    assert [calendar_days(n) for n in ("every-7d", "every-30d", "every-xd", "policy")] == [7, 30, None, None]
    assert known_policy("every-90d") and known_policy("drift-only") and not known_policy("often")
    assert RULES["drift-only"] == {"drift"} and RULES["performance-only"] == {"degradation", "behind_har"}


def test_the_default_window_is_the_last_two_years_of_the_stored_bars():
    from monitoring.replay_report import replay_window

    day = pd.Timestamp("2021-07-07", tz="UTC")
    first = pd.Timestamp("2013-04-29", tz="UTC")
    assert replay_window(first, day, None, None) == (day - pd.Timedelta(days=730), day)
    short = day - pd.Timedelta(days=300)  # a short history starts after the 180-day warm-up
    assert replay_window(short, day, None, None) == (short + pd.Timedelta(days=180), day)
    given = pd.Timestamp("2020-01-01", tz="UTC")
    assert replay_window(first, day, given, None) == (given, day)
    with pytest.raises(ValueError, match="must lie within the stored bars"):
        replay_window(first, day, None, day + pd.Timedelta(days=1))


def test_drift_only_retrains_on_drift_alone(replay):
    engine, _ = replay
    clocks = list(pd.date_range("2020-06-01", "2020-06-29", freq="7D", tz="UTC"))
    first, _ = engine.champion(clocks[0], 1)
    drift_only = engine.run("drift-only", first, clocks)
    assert drift_only.events, "no retrain: the demo's 2020 summer drifts at these ticks"
    assert all("data drift on the last" in e["why"] for e in drift_only.events)
