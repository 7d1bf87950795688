"""Bar sizes: names, durations, and inference from timestamps. Pure functions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where it is used: `cryptovol --help` needs none of it
    import pandas as pd

BAR_SECONDS: dict[str, int] = {
    "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400, "1d": 86400,
}


def bar_delta(bar: str) -> timedelta:
    try:
        return timedelta(seconds=BAR_SECONDS[bar])
    except KeyError:
        raise ValueError(f"unknown bar size {bar!r}; use one of {list(BAR_SECONDS)}") from None


def bars_per_year(bar: str) -> float:
    """Bars in a 365-day year (crypto trades every day, around the clock)."""
    return 365 * 86400 / BAR_SECONDS[bar]


def bars_per_day(bar: str) -> float:
    return 86400 / BAR_SECONDS[bar]


_EXPECTED: ContextVar[str | None] = ContextVar("expected_bar", default=None)


@contextlib.contextmanager
def expecting(bar: str | None) -> Iterator[None]:
    """Within the block, :func:`infer_bar` answers ``bar`` for data with a single bar per
    symbol (e.g. a file holding just the newest bar of each coin, as a refresh receives)."""
    token = _EXPECTED.set(bar)
    try:
        yield
    finally:
        _EXPECTED.reset(token)


def infer_bar(ts: pd.Series, symbols: pd.Series | None = None) -> str:
    """The bar size whose duration is the most common step between consecutive bars.

    Steps are taken within each symbol; raises ``ValueError`` if the common step is not a
    known bar size, or if there are fewer than two bars and no bar is expected (:func:`expecting`).
    """
    import pandas as pd

    frame = pd.DataFrame({"ts": ts.to_numpy(), "symbol": "" if symbols is None else symbols.to_numpy()})
    frame = frame.drop_duplicates().sort_values(["symbol", "ts"])
    steps = frame.groupby("symbol")["ts"].diff().dropna()
    steps = steps[steps > pd.Timedelta(0)]
    if steps.empty and _EXPECTED.get() is not None:
        return _EXPECTED.get()
    if steps.empty:
        raise ValueError("cannot infer the bar size from fewer than two distinct timestamps")
    seconds = int(steps.mode().iloc[0].total_seconds())
    for name, size in BAR_SECONDS.items():
        if size == seconds:
            return name
    raise ValueError(f"bars are {seconds} s apart, which is not a supported bar size "
                     f"({', '.join(BAR_SECONDS)})")
