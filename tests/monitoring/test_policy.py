"""The retrain policy on hand-made observations: each rule, the cooldown, the thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitoring.policy import Observation, PolicyConfig, decide
from monitoring.significance import LossTest

NOW = datetime(2024, 6, 1)
FRESH = NOW - timedelta(days=10)


def _test(champion: float, reference: float, pvalue: float, margin: float, against: str = "HAR"
          ) -> LossTest:
    return LossTest(against, 40, champion, reference, 2.0, pvalue,
                    pvalue < 0.05 and champion > reference * (1 + margin), 0.05, margin)


def test_nothing_fires_on_a_fresh_healthy_champion():
    d = decide(Observation(NOW, FRESH, drift_failed=[False, False], recent_qlike=0.70,
                           har_qlike=0.72, eval_qlike=0.67, scored=100,
                           degraded=_test(0.70, 0.67, 0.3, 0.2, "its evaluation"),
                           behind_har=_test(0.70, 0.72, 0.8, 0.05)))
    assert not d.retrain and d.triggers == []
    assert d.as_text().startswith("KEEP")


def test_drift_needs_k_consecutive_failed_checks():
    config = PolicyConfig(drift_checks=2)
    once = decide(Observation(NOW, FRESH, drift_failed=[True, False, True]), config)
    assert not once.retrain and "drift on 1 of the last checks in a row (needs 2)" in once.reasons
    twice = decide(Observation(NOW, FRESH, drift_failed=[False, True, True]), config)
    assert twice.retrain and twice.triggers == ["drift"]
    assert twice.reasons[0] == "data drift on the last 2 checks (threshold 2)"


def test_degradation_must_be_significant_and_larger_than_its_margin():
    # 0.85 / 0.70 - 1 = 21.4% > 20%, p = 0.01: fires
    worse = _test(0.85, 0.70, 0.01, 0.2, "its evaluation")
    d = decide(Observation(NOW, FRESH, recent_qlike=0.85, eval_qlike=0.70, scored=50, degraded=worse))
    assert d.retrain and d.triggers == ["degradation"]
    assert d.reasons[0] == ("degraded vs evaluation: QLIKE 0.8500 vs its evaluation 0.7000 (+21.4%; "
                            "one-sided DM p=0.01 over 40 closes): significantly worse (alpha 0.05, "
                            "margin 20%)")
    # as large, but noise (p = 0.2); or significant but within the margin: no retrain
    for test in (_test(0.85, 0.70, 0.2, 0.2, "its evaluation"), _test(0.84, 0.70, 0.001, 0.2)):
        assert not decide(Observation(NOW, FRESH, recent_qlike=0.85, eval_qlike=0.70, scored=50,
                                      degraded=test)).retrain


def test_behind_har_on_the_same_rows():
    behind = _test(0.80, 0.75, 0.03, 0.05)  # 0.80 > 0.75 x 1.05 = 0.7875, p < 0.05
    d = decide(Observation(NOW, FRESH, recent_qlike=0.80, har_qlike=0.75, scored=40, behind_har=behind))
    assert d.retrain and d.triggers == ["behind_har"] and d.reasons[0].startswith("behind HAR: ")
    assert not decide(Observation(NOW, FRESH, recent_qlike=0.80, har_qlike=0.75, scored=40,
                                  behind_har=_test(0.80, 0.75, 0.06, 0.05))).retrain


def test_performance_is_not_judged_on_too_few_forecasts_or_closes():
    d = decide(Observation(NOW, FRESH, recent_qlike=2.0, har_qlike=0.5, eval_qlike=0.5, scored=12,
                           behind_har=_test(2.0, 0.5, 0.0, 0.05)))
    assert not d.retrain
    assert "12 forecasts scored so far (needs 30): performance not judged" in d.reasons
    few = decide(Observation(NOW, FRESH, recent_qlike=2.0, har_qlike=0.5, eval_qlike=0.5, scored=40))
    assert not few.retrain and "behind HAR: too few bar closes to test" in few.reasons


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
