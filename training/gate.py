"""The promotion gate: may a new version replace the champion? A pure function."""

from __future__ import annotations

from dataclasses import dataclass


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
