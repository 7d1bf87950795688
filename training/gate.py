"""The promotion gate: may a new version replace the champion? Pure functions: the inputs it
compares (:func:`gate_inputs`) and the decision (:func:`decide`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from training.metrics import qlike


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reasons: list[str]

    def as_tag(self) -> str:
        return ("PROMOTE: " if self.promote else "KEEP CHAMPION: ") + "; ".join(self.reasons)


def decide(challenger_qlike: float, best_baseline_qlike: float, champion_qlike: float | None,
           margin: float = 0.02, leakage_suspected: bool = False,
           has_champion: bool | None = None) -> GateDecision:
    """Promote only a challenger that is not worse than the best baseline and beats the champion's
    QLIKE on the same holdout by ``margin`` (relative); never one flagged by the leakage audit.

    Bootstrap: when the registry has no champion at all (``has_champion`` False), a first
    version that is worse than the baseline is still crowned, so that something can be served;
    the reasons say so. A champion that merely cannot be scored on this holdout (another
    feature set) is never replaced automatically: promote by hand after reading the report.
    """
    has_champion = champion_qlike is not None if has_champion is None else has_champion
    reasons, ok = [], True
    if leakage_suspected:
        ok = False
        reasons.append("the leakage audit flagged this run")
    if challenger_qlike > best_baseline_qlike:
        reasons.append(f"QLIKE {challenger_qlike:.4f} is worse than the best baseline's "
                       f"{best_baseline_qlike:.4f}")
        if has_champion:
            ok = False
        else:
            reasons.append("bootstrap: no champion yet, so this version is served anyway")
    else:
        reasons.append(f"QLIKE {challenger_qlike:.4f} <= best baseline {best_baseline_qlike:.4f}")
    if not has_champion:
        reasons.append("there is no champion yet")
    elif champion_qlike is None:
        ok = False
        reasons.append("the champion cannot be scored on this holdout (other features): "
                       "promote by hand if wanted")
    elif challenger_qlike <= champion_qlike * (1 - margin):
        reasons.append(f"beats the champion's {champion_qlike:.4f} by "
                       f"{1 - challenger_qlike / champion_qlike:.1%} (margin {margin:.0%})")
    else:
        ok = False
        reasons.append(f"does not beat the champion's {champion_qlike:.4f} by the {margin:.0%} margin")
    return GateDecision(promote=ok, reasons=reasons)


MIN_COMMON_ROWS = 30  # fewer common holdout rows with the champion: not comparable


@dataclass(frozen=True)
class GateInputs:
    """The QLIKEs the gate compares, all on one set of rows."""

    challenger_qlike: float
    best_baseline_qlike: float
    champion_qlike: float | None  # None: the champion cannot be scored on these rows
    rows: int


def gate_inputs(holdout: pd.DataFrame, family: str, baseline: str,
                champion: pd.Series | None) -> GateInputs:
    """``holdout``: the latest test block's rows (``target_rv``, the family's and the best
    baseline's forecasts) where both forecast. ``champion``: the champion's out-of-sample
    forecasts indexed by (symbol, event_timestamp) — its own OOF rows and what it forecast
    after its training data. When at least :data:`MIN_COMMON_ROWS` of the holdout rows have a
    positive champion forecast, every QLIKE is taken on those rows only, so the three are
    compared on the same sample; otherwise the champion cannot be judged here."""
    rows, champion_q = holdout, None
    if champion is not None:
        common = holdout.join(champion.rename("champion"), on=["symbol", "event_timestamp"],
                              how="inner")
        common = common[common["champion"] > 0]
        if len(common) >= MIN_COMMON_ROWS:
            rows, champion_q = common, qlike(common["target_rv"], common["champion"])
    return GateInputs(qlike(rows["target_rv"], rows[family]), qlike(rows["target_rv"], rows[baseline]),
                      champion_q, len(rows))
