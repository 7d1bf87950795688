"""Alert content: the figures the on-call person needs, in the text and as fields."""

from __future__ import annotations

from monitoring.alerting import failure_alert, retrain_alert

RECORD = {
    "champion": "3", "drift_judged": True, "drift_share": 0.62, "drifted_columns": 23,
    "drift_top": {"rv_3": 1.2e-9, "har_rv_w": 3.4e-6},
    "recent_qlike": {"champion": 0.5903, "har": 0.4172, "ewma": 0.5099}, "recent_scored": 676,
    "eval_qlike": 0.2,
}
METRICS = {"holdout_qlike": 0.41, "holdout_best_baseline_qlike": 0.45, "holdout_champion_qlike": 0.47,
           "holdout_rows": 690.0, "qlike_lightgbm": 0.5}


def test_the_alert_says_whether_the_performance_tests_were_significant():
    tests = {"degradation": {"against": "its evaluation", "significant": True, "pvalue": 0.0109,
                             "closes": 30},
             "behind_har": {"against": "HAR", "significant": False, "pvalue": 0.203, "closes": 30}}
    alert = retrain_alert({**RECORD, "performance_tests": tests}, "degraded", "1d", "m", "4",
                          "KEEP CHAMPION", False, "3", METRICS, {})
    assert ("(evaluation: 0.2000); vs its evaluation: significantly worse (p=0.0109, 30 closes), "
            "vs HAR: not significantly worse (p=0.203, 30 closes)") in alert.text
    assert alert.fields["champion_performance"]["tests"] == tests


def test_a_promoting_retrain_alert_names_trigger_drift_performance_gate_and_serving_version():
    alert = retrain_alert(RECORD, "data drift on the last 2 checks", "1d", "crypto-vol-forecaster",
                          "4", "PROMOTE: beats the champion's 0.4700 by 12.8%", True, "4", METRICS,
                          {"evaluation report": "/h/reports/evaluation.html", "drift report": ""})
    assert alert.kind == "retrain" and alert.severity == "info"
    assert alert.title == "crypto-vol-forecaster (1d) retrained: v4 promoted: now serving"
    assert alert.text.splitlines() == [
        "*crypto-vol-forecaster (1d) retrained*: v4 promoted: now serving",
        "why: data drift on the last 2 checks",
        "drift: 23 features drifted (share 62%); top: rv_3 (1.2e-09), har_rv_w (3.4e-06)",
        "champion v3: recent QLIKE champion 0.5903 vs HAR 0.4172, EWMA 0.5099 on 676 forecasts "
        "(evaluation: 0.2000)",
        "gate: PROMOTE: beats the champion's 0.4700 by 12.8%",
        "evaluation report: /h/reports/evaluation.html",
    ]
    assert alert.fields["gate_numbers"] == {"holdout_qlike": 0.41, "holdout_best_baseline_qlike": 0.45,
                                            "holdout_champion_qlike": 0.47, "holdout_rows": 690.0}
    assert alert.fields["serving_version"] == "4" and alert.fields["drift"]["share"] == 0.62
    assert alert.fields["champion_performance"]["recent_scored"] == 676


def test_a_kept_champion_is_a_warning_and_a_scheduled_retrain_has_no_monitor_part():
    alert = retrain_alert(None, "champion trained 95 days ago (max 90)", "1h", "m-1h", "7",
                          "KEEP CHAMPION: does not beat the champion", False, "5", {}, {})
    assert alert.severity == "warning" and "v7 kept as challenger; v5 still serving" in alert.title
    assert alert.fields["drift"] is None and not any(line.startswith("drift:")
                                                     for line in alert.text.splitlines())


def test_a_failed_flow_alert_is_an_error_with_the_message():
    alert = failure_alert("monitor", "1d", "redis://127.0.0.1:6390/0 does not answer PING")
    assert alert.severity == "error" and alert.fields["error"].endswith("does not answer PING")
    assert alert.title == "scheduled flow monitor (1d) failed"
