"""The promotion gate's decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.gate import MIN_COMMON_ROWS, decide, gate_inputs
from training.metrics import qlike


def test_better_challenger_is_promoted():
    d = decide(challenger_qlike=0.70, best_baseline_qlike=0.72, champion_qlike=0.75, margin=0.02)
    assert d.promote and "beats the champion's 0.7500 by 6.7%" in d.as_tag()


def test_challenger_within_the_margin_is_not_promoted():
    d = decide(0.74, 0.80, 0.75, margin=0.02)  # 1.3% better: not enough
    assert not d.promote and "does not beat the champion" in d.as_tag()


def test_challenger_worse_than_the_best_baseline_is_not_promoted_over_a_champion():
    d = decide(0.70, 0.69, 0.90, margin=0.02)
    assert not d.promote and "worse than the best baseline" in d.as_tag()


def test_leakage_flag_blocks_promotion_even_without_a_champion():
    d = decide(0.50, 0.70, None, leakage_suspected=True, has_champion=False)
    assert not d.promote and d.reasons[0] == "the leakage audit flagged this run"


def test_first_version_is_crowned_and_says_why():
    good = decide(0.70, 0.72, None, has_champion=False)
    assert good.promote and "there is no champion yet" in good.reasons
    weak = decide(0.75, 0.72, None, has_champion=False)
    assert weak.promote and any(r.startswith("bootstrap") for r in weak.reasons)


def test_a_champion_on_other_features_is_not_replaced_automatically():
    d = decide(0.60, 0.72, None, has_champion=True)
    assert not d.promote and "promote by hand" in d.as_tag()


def holdout(rows: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    target = np.exp(rng.normal(-3, 0.3, rows))
    return pd.DataFrame({
        "symbol": np.where(np.arange(rows) % 2, "A", "B"),
        "event_timestamp": pd.date_range("2024-01-01", periods=rows, freq="D", tz="UTC"),
        "target_rv": target, "lightgbm": target * 1.1, "har": target * 1.3})


def test_gate_inputs_compare_all_three_on_the_rows_the_champion_forecast():
    h = holdout()
    champ = h.set_index(["symbol", "event_timestamp"])["target_rv"].iloc[:35] * 0.8
    champ.iloc[0] = 0.0  # a non-positive forecast is no forecast
    g = gate_inputs(h, "lightgbm", "har", champ)
    rows = h.iloc[1:35]
    assert g.rows == 34
    assert g.challenger_qlike == pytest.approx(qlike(rows["target_rv"], rows["lightgbm"]))
    assert g.best_baseline_qlike == pytest.approx(qlike(rows["target_rv"], rows["har"]))
    assert g.champion_qlike == pytest.approx(qlike(rows["target_rv"], rows["target_rv"] * 0.8))


def test_too_few_common_rows_leave_the_champion_unjudged_on_the_whole_holdout():
    h = holdout()
    champ = h.set_index(["symbol", "event_timestamp"])["target_rv"].iloc[:MIN_COMMON_ROWS - 1]
    g = gate_inputs(h, "lightgbm", "har", champ)
    assert g.champion_qlike is None and g.rows == 40
    assert g.challenger_qlike == pytest.approx(qlike(h["target_rv"], h["lightgbm"]))
    assert gate_inputs(h, "lightgbm", "har", None).champion_qlike is None
