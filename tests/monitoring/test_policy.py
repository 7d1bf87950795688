"""The retrain policy on hand-made observations: each rule, the cooldown, the thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitoring.policy import Observation, PolicyConfig, decide

NOW = datetime(2024, 6, 1)
FRESH = NOW - timedelta(days=10)


def test_nothing_fires_on_a_fresh_healthy_champion():
    d = decide(Observation(NOW, FRESH, drift_failed=[False, False], recent_qlike=0.70,
                           har_qlike=0.72, eval_qlike=0.67, scored=100))
    assert not d.retrain and d.triggers == []
    assert d.as_text().startswith("KEEP")


def test_drift_needs_k_consecutive_failed_checks():
    config = PolicyConfig(drift_checks=2)
    once = decide(Observation(NOW, FRESH, drift_failed=[True, False, True]), config)
    assert not once.retrain and "drift on 1 of the last checks in a row (needs 2)" in once.reasons
    twice = decide(Observation(NOW, FRESH, drift_failed=[False, True, True]), config)
    assert twice.retrain and twice.triggers == ["drift"]
    assert twice.reasons[0] == "data drift on the last 2 checks (threshold 2)"


def test_degradation_against_the_evaluation_qlike():
    # 0.85 / 0.70 - 1 = 21.4% > 20%
    d = decide(Observation(NOW, FRESH, recent_qlike=0.85, eval_qlike=0.70, scored=50))
    assert d.retrain and d.triggers == ["degradation"]
    assert "recent QLIKE 0.8500 is 21% worse than at evaluation (0.7000; limit 20%)" in d.reasons
    # 0.84 / 0.70 - 1 = 20.0%: not more than the limit
    assert not decide(Observation(NOW, FRESH, recent_qlike=0.84, eval_qlike=0.70, scored=50)).retrain


def test_behind_har_on_the_same_rows():
    # 0.80 > 0.75 x 1.05 = 0.7875
    d = decide(Observation(NOW, FRESH, recent_qlike=0.80, har_qlike=0.75, eval_qlike=0.79, scored=40))
    assert d.retrain and d.triggers == ["behind_har"]
    assert not decide(Observation(NOW, FRESH, recent_qlike=0.78, har_qlike=0.75, eval_qlike=0.79,
                                  scored=40)).retrain


def test_performance_is_not_judged_on_too_few_forecasts():
    d = decide(Observation(NOW, FRESH, recent_qlike=2.0, har_qlike=0.5, eval_qlike=0.5, scored=12))
    assert not d.retrain
    assert "12 forecasts scored so far (needs 30): performance not judged" in d.reasons


def test_age_and_cooldown():
    old = NOW - timedelta(days=91)
    d = decide(Observation(NOW, old))
    assert d.retrain and d.triggers == ["age"] and "champion trained 91 days ago (max 90)" in d.reasons
    cooled = decide(Observation(NOW, old, last_retrain=NOW - timedelta(days=3)))
    assert not cooled.retrain and cooled.triggers == ["age"]
    assert cooled.reasons[-1] == "cooldown: last retrain 3 days ago (min 7)"
    after = decide(Observation(NOW, old, last_retrain=NOW - timedelta(days=8)))
    assert after.retrain


def test_the_policy_reads_its_settings(monkeypatch, tmp_path):
    from cryptovol.settings import Settings
    from monitoring.policy import config_from

    assert config_from(Settings(home=tmp_path)) == PolicyConfig()  # the documented defaults
    monkeypatch.setenv("CRYPTOVOL_RETRAIN_DRIFT_CHECKS", "3")
    monkeypatch.setenv("CRYPTOVOL_RETRAIN_COOLDOWN_DAYS", "1.5")
    config = config_from(Settings(home=tmp_path))
    assert config.drift_checks == 3 and config.cooldown == timedelta(days=1.5)
