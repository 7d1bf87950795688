"""The canonical candle schema (DESIGN.md) and the checks every loader applies.

Every row a loader reads ends up either in the kept candles or in the quarantine with a
reason, so a load report can show ``read = kept + quarantined`` per symbol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PRICE_COLUMNS = ["open", "high", "low", "close"]
OPTIONAL_COLUMNS = ["volume", "quote_volume", "market_cap"]
CANDLE_COLUMNS = ["symbol", "ts", *PRICE_COLUMNS, *OPTIONAL_COLUMNS, "source"]
# Microsecond UTC timestamps: what parquet, DuckDB (Feast's offline store) and Feast agree on.
TS_DTYPE = "datetime64[us, UTC]"


class CandleError(ValueError):
    """Input that cannot be read as candles; the message names the file, field and reason."""


@dataclass
class LoadReport:
    """What a load did, per symbol: rows read, kept, quarantined (by reason), values marked missing."""

    per_symbol: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def balanced(self) -> bool:
        t = self.per_symbol
        return bool((t["read"] == t["kept"] + t["quarantined"]).all())

    def totals(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.per_symbol.drop(columns="symbol").sum().items()}


def _quarantine_reasons(df: pd.DataFrame) -> pd.Series:
    """The first failed check of each row, or NA when the row is fine."""
    prices = df[PRICE_COLUMNS]
    checks = [
        ("missing_price", prices.isna().any(axis=1)),
        ("non_positive_price", (prices <= 0).any(axis=1)),
        ("ohlc_inconsistent", (df["high"] < prices[["open", "close", "low"]].max(axis=1))
         | (df["low"] > prices[["open", "close", "high"]].min(axis=1))),
        ("duplicate_bar", df.duplicated(["symbol", "ts"], keep="first")),
    ]
    reason = pd.Series(pd.NA, index=df.index, dtype="string")
    for name, failed in reversed(checks):  # the earliest check in the list wins
        reason = reason.mask(failed.fillna(False).to_numpy(), name)
    return reason


def finalize(df: pd.DataFrame, marked_missing: dict[str, pd.Series]) -> tuple[pd.DataFrame, LoadReport]:
    """Validate canonical rows, split kept/quarantined, and count everything per symbol.

    ``marked_missing`` maps a label (e.g. ``zero_volume``) to a boolean mask of rows where a
    provider's placeholder value was turned into a missing value.
    """
    missing = [c for c in CANDLE_COLUMNS if c not in df.columns]
    if missing:
        raise CandleError(f"canonical candles lack columns {missing}")
    df = df[CANDLE_COLUMNS].astype({"ts": TS_DTYPE}).sort_values(["symbol", "ts"], kind="stable")
    reason = _quarantine_reasons(df)
    bad = reason.notna()
    kept = df[~bad].reset_index(drop=True)
    quarantine = df[bad].assign(reason=reason[bad]).reset_index(drop=True)

    counts = pd.DataFrame({"symbol": df["symbol"], "read": 1, "kept": (~bad).astype(int),
                           "quarantined": bad.astype(int)})
    for label, mask in marked_missing.items():
        counts[label] = mask.reindex(df.index, fill_value=False).astype(int)
    for label in quarantine["reason"].unique():
        counts[f"q_{label}"] = reason.eq(label).fillna(False).astype(int)
    per_symbol = counts.groupby("symbol", as_index=False).sum()
    return kept, LoadReport(per_symbol=per_symbol, quarantine=quarantine)


def positive_or_missing(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Providers write 0 for 'not recorded': turn those into NaN and return the mask."""
    values = pd.to_numeric(values, errors="coerce").astype(float)
    zero = values == 0
    return values.mask(zero, np.nan), zero
