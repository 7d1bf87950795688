"""The canonical candle schema (docs/architecture.md, "Data contracts") and the checks every loader applies.

Every row a loader reads ends up either in the kept candles or in the quarantine with a
reason, so the load report proves ``read = kept + quarantined`` per symbol. The checks, in
order (a row gets the first reason that applies):

``missing_price``       no close, or some but not all of open/high/low (close-only rows are fine)
``non_finite_price``    a price written as ``inf`` / ``-inf``
``non_positive_price``  a price <= 0
``ohlc_inconsistent``   high below open/close/low, or low above open/close/high
``future_bar``          a bar closing later than now plus one bar (a clock or unit error)
``ancient_bar``         a bar closing before 2009-01-03, the first Bitcoin block (a unit error
                        such as an epoch in the wrong unit, or a truncated number)
``partial_bar``         the loader knows the bar was still open when exported
``duplicate_bar``       another row has the same (symbol, ts); the loader's ``priority`` column
                        decides which copy is kept (highest wins, then the last one read).
                        Duplicates whose copies disagree are counted (``duplicate_conflicts``),
                        and a note says how many were settled by read order alone
``bad_print``           a price far from the neighbouring closes on both sides (a spike that
                        reverts); see :func:`bad_prints`

Values a provider writes as 0 for "not recorded" (volume, market cap) become missing and are
counted in the report, not quarantined; so do non-finite volumes (``non_finite_volume``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptovol.errors import UserError

PRICE_COLUMNS = ["open", "high", "low", "close"]
OPTIONAL_COLUMNS = ["volume", "quote_volume", "market_cap"]
CANDLE_COLUMNS = ["symbol", "ts", *PRICE_COLUMNS, *OPTIONAL_COLUMNS, "source"]
# Microsecond UTC timestamps: what parquet, DuckDB (Feast's offline store) and Feast agree on.
TS_DTYPE = "datetime64[us, UTC]"
REASONS = ["missing_price", "non_finite_price", "non_positive_price", "ohlc_inconsistent",
           "future_bar", "ancient_bar", "partial_bar", "duplicate_bar", "bad_print"]
EARLIEST_BAR = pd.Timestamp("2009-01-03", tz="UTC")

# bad prints: a price more than max(BAD_PRINT_MIN_LOG, BAD_PRINT_SCALES x typical bar move)
# away (in log terms) from the median close of the BAD_PRINT_NEIGHBOURS bars on *each* side
BAD_PRINT_NEIGHBOURS = 3
BAD_PRINT_MIN_LOG = 0.5
BAD_PRINT_SCALES = 20.0


class CandleError(UserError, ValueError):
    """Input that cannot be read as candles; the message names the file, field and reason."""


@dataclass
class LoadReport:
    """What a load did: per-symbol counts, the quarantined rows, the gaps, and notes."""

    per_symbol: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    bar: str | None = None

    @property
    def balanced(self) -> bool:
        t = self.per_symbol
        return bool((t["read"] == t["kept"] + t["quarantined"]).all())

    def totals(self) -> dict[str, int]:
        numeric = self.per_symbol.select_dtypes("number")
        return {k: int(v) for k, v in numeric.sum().items()}

    @staticmethod
    def combine(reports: list[LoadReport]) -> LoadReport:
        frames = [r.per_symbol for r in reports if len(r.per_symbol)]
        per = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return LoadReport(
            per_symbol=per,
            quarantine=pd.concat([r.quarantine for r in reports], ignore_index=True),
            gaps=pd.concat([r.gaps for r in reports], ignore_index=True),
            notes=[n for r in reports for n in r.notes],
            bar=reports[0].bar if reports else None,
        )


def positive_or_missing(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Providers write 0 for 'not recorded': turn those into NaN and return the mask."""
    values = pd.to_numeric(values, errors="coerce").astype(float)
    zero = values == 0
    return values.mask(zero, np.nan), zero


def _row_checks(df: pd.DataFrame, latest: pd.Timestamp) -> list[tuple[str, pd.Series]]:
    prices = df[PRICE_COLUMNS]
    ohl = prices[["open", "high", "low"]]
    some_ohl_missing = ohl.isna().any(axis=1) & ~ohl.isna().all(axis=1)
    hi_bad = df["high"] < prices[["open", "close", "low"]].max(axis=1)
    lo_bad = df["low"] > prices[["open", "close", "high"]].min(axis=1)
    return [
        ("missing_price", df["close"].isna() | some_ohl_missing),
        ("non_finite_price", pd.DataFrame(np.isinf(prices.to_numpy()), index=df.index).any(axis=1)),
        ("non_positive_price", (prices <= 0).any(axis=1)),
        ("ohlc_inconsistent", (hi_bad | lo_bad) & ohl.notna().all(axis=1)),
        ("future_bar", df["ts"] > latest),
        ("ancient_bar", df["ts"] < EARLIEST_BAR),
    ]


def duplicate_conflicts(df: pd.DataFrame, priority: pd.Series) -> tuple[pd.Series, list[str]]:
    """Per symbol, the duplicated bars whose copies disagree; a note on those settled by order.

    ``df`` holds the rows that passed the row checks. A group is "settled by read order" when
    more than one copy has the highest priority, so the last one read wins.
    """
    key = ["symbol", "ts"]
    dup = df.duplicated(key, keep=False)
    if not dup.any():
        return pd.Series(dtype=int), []
    sub = df[dup].assign(_p=priority[dup])
    values = [*PRICE_COLUMNS, *OPTIONAL_COLUMNS]
    groups = sub.groupby(key, sort=False)
    differs = groups[values].nunique(dropna=False).gt(1).any(axis=1)
    tied = (sub["_p"] == groups["_p"].transform("max")).groupby([sub["symbol"], sub["ts"]]).sum() > 1
    by_order = differs & tied.reindex(differs.index, fill_value=False)
    per_symbol = differs.groupby(level="symbol").sum().astype(int)
    notes = []
    if by_order.any():
        symbol, ts = by_order[by_order].index[0]
        closes = sub.loc[(sub["symbol"] == symbol) & (sub["ts"] == ts), "close"].tolist()
        notes.append(f"{int(by_order.sum())} duplicated bars have copies that disagree with nothing "
                     f"to choose between them: the last copy read was kept (e.g. {symbol} "
                     f"{ts:%Y-%m-%d %H:%M}: closes {', '.join(f'{c:g}' for c in closes)})")
    return per_symbol, notes


def _first_reason(checks: list[tuple[str, pd.Series]], index: pd.Index) -> pd.Series:
    reason = pd.Series(pd.NA, index=index, dtype="string")
    for name, failed in reversed(checks):  # the earliest check in the list wins
        reason = reason.mask(failed.reindex(index, fill_value=False).fillna(False).to_numpy(), name)
    return reason


def duplicates_to_drop(df: pd.DataFrame, priority: pd.Series) -> pd.Series:
    """True for every copy of a (symbol, ts) but the best: highest priority, then last read."""
    order = pd.DataFrame({"symbol": df["symbol"], "ts": df["ts"], "p": priority,
                          "pos": np.arange(len(df))}, index=df.index)
    order = order.sort_values(["symbol", "ts", "p", "pos"])
    keep = ~order.duplicated(["symbol", "ts"], keep="last")
    return ~keep.reindex(df.index)


def bad_prints(df: pd.DataFrame) -> pd.Series:
    """Rows with a price far from the closes on *both* sides: a spike that reverts.

    ``df`` must be one row per (symbol, ts), sorted. For each bar, the reference before is the
    median close of the ``BAD_PRINT_NEIGHBOURS`` previous bars and the reference after that of
    the following ones; a price's distance is its absolute log distance to the nearer of the
    two (the one that exists, at the ends of a series). A bar is a bad print when its open,
    high or low is further than the tolerance while its close is within half of it (a wick
    that reverts within the bar), or when its close is further than twice the tolerance (a
    close that reverts at once). A genuine crash is not flagged: the closes after it stay near
    its low. The tolerance is ``max(BAD_PRINT_MIN_LOG, BAD_PRINT_SCALES x the symbol's median
    absolute log return)``.
    """
    g = df.groupby("symbol", sort=False)["close"]
    k = BAD_PRINT_NEIGHBOURS

    def side(shifts: range) -> np.ndarray:
        stacked = np.column_stack([g.shift(j).to_numpy() for j in shifts])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: first or last bar
            return np.nanmedian(stacked, axis=1)

    prices = np.log(df[PRICE_COLUMNS].to_numpy())
    before = np.abs(prices - np.log(side(range(1, k + 1)))[:, None])
    after = np.abs(prices - np.log(side(range(-k, 0)))[:, None])
    # each price's distance to the nearer side (a missing side is ignored)
    distance = np.nan_to_num(np.fmin(before, after), nan=0.0)
    wick, close = distance[:, :3].max(axis=1), distance[:, 3]
    typical = np.log(df["close"]).groupby(df["symbol"]).diff().abs()
    scale = typical.groupby(df["symbol"]).transform("median").fillna(0).to_numpy()
    tolerance = np.maximum(BAD_PRINT_MIN_LOG, BAD_PRINT_SCALES * scale)
    # an open/high/low spike in a bar that closes back among its neighbours, or a close that
    # jumps twice as far and comes straight back; a bar that moves with its market is kept
    bad = ((wick > tolerance) & (close <= tolerance / 2)) | (close > 2 * tolerance)
    return pd.Series(bad, index=df.index)


def find_gaps(kept: pd.DataFrame, bar: pd.Timedelta) -> pd.DataFrame:
    """Missing bars between each symbol's first and last: ``symbol, after, before, missing_bars``."""
    step = kept.groupby("symbol")["ts"].diff()
    gap = step > bar
    out = pd.DataFrame({
        "symbol": kept.loc[gap, "symbol"],
        "after": kept["ts"].shift(1)[gap],
        "before": kept.loc[gap, "ts"],
        "missing_bars": (step[gap] / bar - 1).round().astype(int),
    })
    return out.reset_index(drop=True)


def finalize(
    df: pd.DataFrame,
    marked_missing: dict[str, pd.Series],
    *,
    bar: pd.Timedelta | None = None,
    priority: pd.Series | None = None,
    partial: pd.Series | None = None,
    origin: str = "<frame>",
    now: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, LoadReport]:
    """Validate canonical rows, split kept/quarantined, and count everything per symbol.

    ``marked_missing`` maps a label (e.g. ``zero_volume``) to a mask of rows where a
    placeholder value became missing; ``priority`` ranks duplicate copies; ``partial`` marks
    bars the loader knows were incomplete; ``bar`` enables the gap listing; ``now`` (default:
    the clock) dates the ``future_bar`` check.
    """
    missing = [c for c in CANDLE_COLUMNS if c not in df.columns]
    if missing:
        raise CandleError(f"{origin}: canonical candles lack columns {missing}")
    df = df[CANDLE_COLUMNS].astype({"ts": TS_DTYPE})
    marked_missing = dict(marked_missing)
    volumes = df[OPTIONAL_COLUMNS].apply(pd.to_numeric, errors="coerce").astype(float)
    infinite = pd.DataFrame(np.isinf(volumes.to_numpy()), index=df.index, columns=OPTIONAL_COLUMNS)
    if infinite.any().any():
        df[OPTIONAL_COLUMNS] = volumes.mask(infinite)
        marked_missing["non_finite_volume"] = infinite.any(axis=1)
    latest = (now if now is not None else pd.Timestamp.now(tz="UTC")) + (bar or pd.Timedelta(days=1))
    checks = _row_checks(df, latest)
    if partial is not None:
        checks.append(("partial_bar", partial))
    reason = _first_reason(checks, df.index)

    clean = reason.isna()
    if priority is None:
        priority = pd.Series(0, index=df.index)
    dup = duplicates_to_drop(df[clean], priority[clean])
    conflicts, conflict_notes = duplicate_conflicts(df[clean], priority[clean])
    reason = reason.mask(dup.reindex(df.index, fill_value=False), "duplicate_bar")

    clean = reason.isna()
    ordered = df[clean].sort_values(["symbol", "ts"])
    bad = bad_prints(ordered)
    reason = reason.mask(bad.reindex(df.index, fill_value=False), "bad_print")

    bad_rows = reason.notna()
    kept = df[~bad_rows].sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
    quarantine = df[bad_rows].assign(reason=reason[bad_rows].astype(str), origin=origin)

    counts = pd.DataFrame({"symbol": df["symbol"], "read": 1, "kept": (~bad_rows).astype(int),
                           "quarantined": bad_rows.astype(int)})
    for label in REASONS:
        counts[f"q_{label}"] = reason.eq(label).fillna(False).astype(int)
    for label, mask in marked_missing.items():
        counts[label] = mask.reindex(df.index, fill_value=False).fillna(False).astype(int)
    per_symbol = counts.groupby("symbol", as_index=False).sum()
    per_symbol["duplicate_conflicts"] = per_symbol["symbol"].map(conflicts).fillna(0).astype(int)
    span = kept.groupby("symbol")["ts"].agg(first="min", last="max")
    per_symbol = per_symbol.merge(span, on="symbol", how="left")
    gaps = find_gaps(kept, bar) if bar is not None else pd.DataFrame()
    if bar is not None:
        missing_bars = gaps.groupby("symbol")["missing_bars"].sum() if len(gaps) else pd.Series()
        per_symbol["missing_bars"] = (per_symbol["symbol"].map(missing_bars).fillna(0).astype(int))
    per_symbol.insert(1, "origin", origin)
    return kept, LoadReport(per_symbol=per_symbol, quarantine=quarantine.reset_index(drop=True),
                            gaps=gaps, notes=conflict_notes)
