"""Champion against the shadow-scored challenger, on realized outcomes.

The service logs the ``@challenger``'s forecasts of the rows the champion answered
(``serving.shadow``, ``role=challenger`` in the prediction log). Once those bars' horizons have
passed, both are scored on the same realized vols: live, out-of-sample evidence the monitor
records and the retrain's gate cites. Pure functions.
"""

from __future__ import annotations

import pandas as pd

from cryptovol.prediction_log import CHALLENGER
from monitoring.performance import logged_forecasts
from training.metrics import qlike


def shadow_comparison(predictions: pd.DataFrame, scored_rows: pd.DataFrame,
                      champion_version: str, model_name: str | None = None) -> dict | None:
    """QLIKE of the most recently shadow-scored challenger of ``model_name`` and of the champion
    on the rows both forecast whose outcome is known (``scored_rows``: symbol, as_of,
    target_rv, champion); None when nothing was shadow-scored."""
    if predictions.empty or "role" not in predictions:
        return None
    mine = predictions["role"] == CHALLENGER
    if model_name and "model_name" in predictions:  # versions are numbered per model
        mine &= predictions["model_name"].astype(str) == model_name
    shadow = predictions[mine & (predictions["model_version"].astype(str) != str(champion_version))]
    if shadow.empty:
        return None
    version = str(shadow.sort_values("logged_at")["model_version"].iloc[-1])
    theirs = logged_forecasts(shadow, version, model_name).rename(columns={"champion": "challenger"})
    common = scored_rows.merge(theirs, on=["symbol", "as_of"], how="inner")
    common = common[common["challenger"] > 0]
    out = {"challenger": version, "champion": str(champion_version), "rows": len(common)}
    if len(common):
        out.update(challenger_qlike=qlike(common["target_rv"], common["challenger"]),
                   champion_qlike=qlike(common["target_rv"], common["champion"]))
    return out


def evidence(comparison: dict | None) -> str | None:
    """The comparison in one line, as the gate's reasons and the alerts cite it."""
    if not comparison or not comparison["rows"]:
        return None
    return (f"live shadow scoring: challenger v{comparison['challenger']} QLIKE "
            f"{comparison['challenger_qlike']:.4f} vs champion v{comparison['champion']} "
            f"{comparison['champion_qlike']:.4f} on {comparison['rows']:,} realized forecasts")
