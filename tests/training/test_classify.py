"""Regime thresholds, labels and the classification metrics on hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.classify import (
    calibration_error,
    classification_metrics,
    f1_threshold,
    regime_labels,
    regime_thresholds,
)


def test_thresholds_are_training_terciles_per_coin_and_labels_use_them():
    train = pd.DataFrame({"symbol": ["A"] * 30 + ["B"] * 5,
                          "target_rv": list(np.arange(1, 31, dtype=float)) + [1.0] * 5})
    cuts = regime_thresholds(train)
    assert set(cuts) == {"A"}  # B: too few rows (and no spread) to fit cut points
    assert cuts["A"] == pytest.approx((np.quantile(np.arange(1, 31), 1 / 3),
                                       np.quantile(np.arange(1, 31), 2 / 3)))
    test = pd.DataFrame({"symbol": ["A", "A", "A", "B"], "target_rv": [2.0, 15.0, 29.0, 3.0]})
    labels = regime_labels(test, test["target_rv"], cuts)
    np.testing.assert_array_equal(labels[:3], [0, 1, 2])
    assert np.isnan(labels[3])


def test_calibration_error_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.05, 0.05, 0.95, 0.55])
    # bin [0, .1): p .05 .05 vs y 0 0 -> .05, weight .5; bin [.9, 1]: .95 vs 1 -> .05, weight .25;
    # bin [.5, .6): .55 vs 1 -> .45, weight .25
    assert calibration_error(y, p) == pytest.approx(0.5 * 0.05 + 0.25 * 0.05 + 0.25 * 0.45)


def test_classification_metrics_by_hand():
    y = np.array([0, 1, 2, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.1, 0.2, 0.7]])
    m = classification_metrics(y, proba)
    assert m["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    # F1 per class: 1.0, 2/3 (precision .5, recall 1), 2/3 (precision 1, recall .5)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert m["roc_auc"][0] == pytest.approx(1.0)
    brier0 = np.mean((np.array([1, 0, 0, 0]) - proba[:, 0]) ** 2)
    brier1 = np.mean((np.array([0, 1, 0, 0]) - proba[:, 1]) ** 2)
    brier2 = np.mean((np.array([0, 0, 1, 1]) - proba[:, 2]) ** 2)
    assert m["brier"] == pytest.approx((brier0 + brier1 + brier2) / 3)


def test_the_spike_cut_maximizes_f1_on_validation_and_decides_the_reported_f1():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.4, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05, 0.02, 0.01])
    # cut 0.9: P=1 R=.5 F1=.667; cut 0.4: 1/2, .5 -> .5; cut 0.3: P=2/3 R=1 F1=.8 (best)
    assert f1_threshold(y, p) == 0.3
    assert f1_threshold(np.zeros(4), np.full(4, 0.2)) == 0.5  # nothing to learn from
    proba = np.c_[1 - p, p]
    at_half = classification_metrics(y, proba)  # argmax: only the 0.9 row is flagged
    at_cut = classification_metrics(y, proba, np.full(len(y), 0.3))
    assert at_half["f1"] == pytest.approx(2 / 3) and at_half["recall"] == 0.5
    assert at_cut["f1"] == pytest.approx(0.8) and at_cut["precision"] == pytest.approx(2 / 3)
    assert at_cut["roc_auc"] == at_half["roc_auc"]  # ranking metrics do not move


def test_classifiers_of_the_fast_profile_fit_every_kth_bar_of_every_coin():
    from training.classify import thinned
    from training.profiles import FAST, REFERENCE

    strides = (FAST.classifier_stride(24), FAST.classifier_stride(7), REFERENCE.classifier_stride(24))
    assert strides == (3, 1, 1)
    ts = pd.date_range("2024-01-01", periods=9, freq="h", tz="UTC")
    frame = pd.DataFrame({"symbol": ["A", "B"] * 9, "event_timestamp": ts.repeat(2)})
    kept = thinned(frame, 3)
    assert list(kept["event_timestamp"].unique()) == [ts[2], ts[5], ts[8]]  # bars 3, 6, 9
    assert (kept.groupby("event_timestamp").size() == 2).all()  # both coins at each kept bar
    assert thinned(frame, 1) is frame


def test_the_fast_profile_keeps_the_reference_trees_on_a_small_frame():
    from training.profiles import FAST, REFERENCE

    small, large = FAST.sized(40_000), FAST.sized(262_560)
    assert small.lightgbm == REFERENCE.lightgbm and small.catboost == REFERENCE.catboost
    assert small.early_stopping_rounds == REFERENCE.early_stopping_rounds
    assert small.garch_closed_form and small.classifier_families == ("lightgbm",)  # the rest stays
    assert large is FAST and REFERENCE.sized(10) is REFERENCE
