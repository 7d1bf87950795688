"""The level maps side by side: what each would have given, on the same out-of-fold rows. Pure."""

from __future__ import annotations

import pandas as pd

from training.backtest import backtest
from training.calibration import LEVEL_MAPS
from training.metrics import mincer_zarnowitz, qlike
from training.scoring import scored_rows


def level_comparison(oof: pd.DataFrame, family: str, baseline: str, next_returns: pd.DataFrame,
                     bars_per_year: float) -> pd.DataFrame:
    """Per level map of ``family`` (and the best baseline, for scale): pooled QLIKE, MZ slope,
    and the per-coin tracking error of the vol-targeting backtest, on the rows every one of
    them forecasts."""
    columns = {f"{family} ({name})": f"{family}_level_{name}" for name in LEVEL_MAPS
               if f"{family}_level_{name}" in oof.columns}
    if not columns:
        return pd.DataFrame()
    columns[f"{baseline} (baseline)"] = baseline
    rows = oof[scored_rows(oof, list(columns.values()))]
    risk = backtest(rows, next_returns, list(dict.fromkeys(columns.values())), bars_per_year)
    out = {}
    for label, column in columns.items():
        mz = mincer_zarnowitz(rows["target_rv"], rows[column])
        out[label] = {"qlike": qlike(rows["target_rv"], rows[column]), "mz_slope": mz["mz_slope"],
                      "coin_tracking_error": risk["summary"][column]["coin_tracking_error"],
                      "portfolio_tracking_error": risk["summary"][column]["tracking_error"],
                      "rows": len(rows)}
    return pd.DataFrame(out).T
