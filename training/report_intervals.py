"""The evaluation report's interval section: empirical coverage of the prediction intervals,
pooled, per coin and per fold, with a chart of the per-coin coverage against the nominal level."""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from training.intervals import LEVELS, coverage, level_name  # noqa: E402


def interval_section(oof: pd.DataFrame, family: str, png, table) -> tuple[str, dict]:
    """HTML and JSON of the coverage of ``family``'s intervals on the test blocks (``png`` and
    ``table`` render a figure and a frame, as the rest of the report does)."""
    if f"{family}_lo{level_name(LEVELS[0])}" not in oof.columns:
        return "", {}
    pooled = coverage(oof, family)
    per_coin = coverage(oof, family, ["symbol"])
    per_fold = coverage(oof, family, ["fold"])
    per_coin_fold = coverage(oof, family, ["symbol", "fold"])
    fig, ax = plt.subplots(figsize=(10, 3.2))
    coins = per_coin.sort_values(f"coverage_{level_name(LEVELS[0])}")
    for offset, level in zip((-0.2, 0.2), LEVELS, strict=False):
        name = level_name(level)
        ax.bar([i + offset for i in range(len(coins))], coins[f"coverage_{name}"], width=0.4,
               label=f"{name}% interval")
        ax.axhline(level, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(coins)), coins.index, rotation=90, fontsize=7)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("share of realized vols inside")
    ax.set_title(f"Interval coverage per coin ({family}, test blocks; dashed: nominal)", fontsize=9)
    ax.legend(fontsize=7)
    data = {"family": family, "pooled": pooled.iloc[0].to_dict(),
            "per_symbol": per_coin.round(4).to_dict(orient="index"),
            "per_fold": {str(k): v for k, v in per_fold.round(4).to_dict(orient="index").items()},
            "per_symbol_fold": {f"{s}|{f}": v for (s, f), v in
                                per_coin_fold.round(4).to_dict(orient="index").items()}}
    page = (f"<h2>Prediction intervals ({html.escape(family)})</h2>"
            "<p class=\"note\">Split-conformal: each fold's intervals are the quantiles of the log "
            "residuals on its validation block (per coin with enough rows, else pooled), applied "
            "to its test block; the share of realized vols inside should be near the nominal "
            "level.</p>"
            f"{table(pooled, 3)}<h3>per fold</h3>{table(per_fold, 3)}"
            f'<img src="data:image/png;base64,{png(fig)}">'
            f"<h3>per coin and fold</h3>{table(per_coin_fold.unstack('fold'), 3)}")
    return page, data
