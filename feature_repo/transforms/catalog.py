"""Every feature the platform serves, with the one-line description Feast and the docs show.

Volatilities are per bar (standard deviation of one bar's log return); multiply by
``sqrt(bars per year)`` to annualize.
"""

from __future__ import annotations

RV_WINDOWS = (7, 14, 30)
PARKINSON_WINDOW = 14
VOLUME_WINDOW = 30

FEATURES: dict[str, str] = {
    "log_return": "Log close-to-close return of the bar ending at t.",
    **{
        f"rv_{w}": f"Realized vol, per bar: root mean squared log return over the {w} bars ending at t."
        for w in RV_WINDOWS
    },
    f"parkinson_vol_{PARKINSON_WINDOW}": (
        f"Parkinson high-low vol, per bar, over the {PARKINSON_WINDOW} bars ending at t."
    ),
    "range_pct": "High minus low of the bar ending at t, as a fraction of its close.",
    "turnover": "Quote (USD) volume of the bar ending at t divided by market cap; missing if either is.",
    f"log_volume_ratio_{VOLUME_WINDOW}": (
        f"Log of the bar's quote volume over its mean across the {VOLUME_WINDOW} bars ending at t."
    ),
}

FEATURE_NAMES: list[str] = list(FEATURES)

TARGET = "target_log_rv"
TARGET_DESCRIPTIONS = {
    "target_rv": "Realized vol, per bar, of the H log returns after t: bars in (t, t+H].",
    "target_log_rv": "Natural log of target_rv; what the regressors learn.",
}
