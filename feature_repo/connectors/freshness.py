"""Is each pair still delivering? Lags in bars, silent pairs, and the alert state between pulls.

A pair's lag is the number of closed bars the exchange should have (by its own clock) that
its newest landed bar is behind: 0 when current. Past ``CRYPTOVOL_SOURCE_SILENT_BARS`` it is
*silent*. An alert goes out when a pair turns silent and when it delivers again — not at every
pull in between: the state is kept in ``sources/<name>/<bar>/health.json``.
The judgement is pure (:func:`assess`, :func:`transitions`); the state file is the edge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from cryptovol import files
from feature_repo.connectors.landing import landing_dir


@dataclass(frozen=True)
class PairHealth:
    source: str
    pair: str
    newest: pd.Timestamp | None  # close of the newest landed bar
    expected: pd.Timestamp  # close of the newest bar the exchange's clock says has closed
    lag_bars: float | None  # None: nothing ever landed
    silent: bool
    error: str | None = None

    def as_dict(self) -> dict:
        body = asdict(self)
        for key in ("newest", "expected"):
            body[key] = body[key].isoformat() if body[key] is not None else None
        return body


def assess(source: str, newest: dict[str, pd.Timestamp | None], cutoff: pd.Timestamp,
           bar: pd.Timedelta, silent_bars: float, errors: dict[str, str] | None = None
           ) -> list[PairHealth]:
    """Each pair's lag behind the exchange's clock ``cutoff``, and whether it is silent. Pure."""
    expected = cutoff.floor(bar)
    out = []
    for pair, last in newest.items():
        lag = None if last is None or pd.isna(last) else max((expected - last) / bar, 0.0)
        out.append(PairHealth(source, pair, last, expected, lag,
                              silent=lag is None or lag > silent_bars,
                              error=(errors or {}).get(pair)))
    return out


def transitions(previous: dict[str, str], health: list[PairHealth], now: pd.Timestamp
                ) -> tuple[dict[str, str], list[PairHealth], list[PairHealth]]:
    """``previous``: pair → when it turned silent. Returns the new state, the pairs that turned
    silent now and those delivering again. Pure."""
    state, went, back = {}, [], []
    for h in health:
        if h.silent:
            state[h.pair] = previous.get(h.pair, now.isoformat())
            if h.pair not in previous:
                went.append(h)
        elif h.pair in previous:
            back.append(h)
    return state, went, back


def state_path(home: Path, source: str, bar: str) -> Path:
    return landing_dir(home, source, bar) / "health.json"


def read_state(home: Path, source: str, bar: str) -> dict:
    import json  # noqa: PLC0415

    path = state_path(home, source, bar)
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}  # a damaged state only repeats an alert


def write_state(home: Path, source: str, bar: str, silent: dict[str, str],
                health: list[PairHealth]) -> None:
    files.write_json(state_path(home, source, bar),
                     {"silent": silent, "pairs": [h.as_dict() for h in health],
                      "checked": pd.Timestamp.now(tz="UTC").isoformat()})
