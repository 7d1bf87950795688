"""The promotion gate's decisions."""

from __future__ import annotations

from training.gate import decide


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
