"""Exchange sources: which exchange, which pairs, which bar — ``CRYPTOVOL_HOME/sources.yaml``.

``cryptovol sources add binance --pairs BTC/USDT,ETH/USDT --bar 1h`` writes an entry; the file
is plain YAML a person may edit too (``CRYPTOVOL_SOURCES_FILE`` points elsewhere, e.g. at a
file under version control). Each entry is checked when read: a mistake is one line naming the
file, the source and the field.

**Which source a coin's features use.** Several exchanges may carry the same coin; each stays
a distinct source (its own ``source`` column value and its own landing tables under
``sources/<name>/``). A coin's features use its *primary* source: the first source in the file
that lists a pair of that coin, for that bar size. The others are kept and compared (``cryptovol
sources list``), never spliced into the coin's series — a return across two venues would be
their price difference, not a move. Put a source first (``sources add --primary``, or edit
the file) to make it the primary of its coins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cryptovol import files
from cryptovol.bars import BAR_SECONDS
from cryptovol.errors import UserError

HEADER = """\
# cryptovol exchange sources (`cryptovol sources --help`). Public market data needs no key.
# A coin's features use the first source below that lists it, for its bar size (its primary);
# the other sources are kept apart under sources/<name>/ and compared, never mixed in.
"""


class SourceError(UserError, ValueError):
    """A sources file or source definition that cannot be used; the message says why."""


class Source(BaseModel):
    """One exchange feed: closed candles of ``pairs`` on ``bar`` bars from ``exchange`` (a ccxt id)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="Unique name; the "
                      "`source` column of its candles.")
    exchange: str = Field(description="ccxt exchange id, e.g. binance, kraken, okx.")
    bar: str
    pairs: list[str] = Field(min_length=1, description="ccxt unified symbols, e.g. BTC/USDT.")
    url: str | None = Field(default=None, description="Send every request to this host instead "
                            "(a proxy, or the tests' fake exchange); the real host stays in the path.")
    backfill_days: float = Field(default=90, gt=0, description="History fetched the first time.")
    options: dict[str, Any] = Field(default_factory=dict, description="ccxt options.")
    stream: bool = Field(default=True, description="Part of `cryptovol stream`.")

    @field_validator("bar")
    @classmethod
    def _bar(cls, value: str) -> str:
        if value not in BAR_SECONDS:
            raise ValueError(f"unknown bar size {value!r}; use one of {list(BAR_SECONDS)}")
        return value

    @field_validator("pairs")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        pairs = [p.strip().upper() for p in value if p.strip()]
        for pair in pairs:
            if not re.fullmatch(r"[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?", pair):
                raise ValueError(f"{pair!r} is not a pair like BTC/USDT")
        return list(dict.fromkeys(pairs))

    @model_validator(mode="after")
    def _one_pair_per_coin(self) -> Source:
        seen: dict[str, str] = {}
        for pair in self.pairs:
            coin = coin_of(pair)
            if coin in seen:
                raise ValueError(f"{seen[coin]} and {pair} are the same coin: one pair per coin "
                                 "and source (add another source for the other quote)")
            seen[coin] = pair
        return self

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/]+", value):
            raise ValueError(f"{value!r} is not an http(s):// URL")
        return value.rstrip("/") if value else None

    def symbol(self, pair: str) -> str:
        return coin_of(pair)


def coin_of(pair: str) -> str:
    """``BTC/USDT`` → ``BTC`` (the coin's ticker in the candle store)."""
    return pair.split("/")[0].upper()


def primaries(sources: Iterable[Source], bar: str) -> dict[str, str]:
    """coin → the name of its primary source on ``bar`` bars (the first that lists it). Pure."""
    out: dict[str, str] = {}
    for source in sources:
        if source.bar == bar:
            for pair in source.pairs:
                out.setdefault(coin_of(pair), source.name)
    return out


def load(path: Path) -> list[Source]:
    """The sources in ``path`` (none if it does not exist), checked."""
    if not path.exists():
        return []
    try:
        body = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SourceError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except OSError as exc:
        raise SourceError(files.describe_os_error(exc, path)) from None
    entries = body.get("sources") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected a `sources:` list")
    sources = []
    for i, entry in enumerate(entries):
        try:
            sources.append(Source.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("name", f"#{i + 1}") if isinstance(entry, dict) else f"#{i + 1}"
            e = exc.errors()[0]
            field = ".".join(str(p) for p in e["loc"]) or "entry"
            raise SourceError(f"{path}: source {name}: {field}: {e['msg']}") from None
    names = [s.name for s in sources]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise SourceError(f"{path}: source name(s) {', '.join(dupes)} used twice")
    return sources


def save(path: Path, sources: list[Source]) -> Path:
    body = {"sources": [s.model_dump(exclude_defaults=True) for s in sources]}
    return files.write_text(path, HEADER + yaml.safe_dump(body, sort_keys=False))


def add(path: Path, source: Source, primary: bool = False, replace: bool = False) -> list[Source]:
    """Add ``source`` (first when ``primary``); an existing name needs ``replace``."""
    with files.store_lock(path):
        sources = load(path)
        existing = [s for s in sources if s.name == source.name]
        if existing and not replace:
            raise SourceError(f"a source named {source.name!r} exists in {path}: remove it, use "
                              "--replace, or choose --name")
        position = next((i for i, s in enumerate(sources) if s.name == source.name), len(sources))
        sources = [s for s in sources if s.name != source.name]
        sources.insert(0 if primary else min(position, len(sources)), source)
        save(path, sources)
        return sources


def remove(path: Path, name: str) -> list[Source]:
    with files.store_lock(path):
        sources = load(path)
        if name not in {s.name for s in sources}:
            known = ", ".join(s.name for s in sources) or "none"
            raise SourceError(f"no source named {name!r} in {path} (sources: {known})")
        sources = [s for s in sources if s.name != name]
        save(path, sources)
        return sources


def for_bar(sources: list[Source], bar: str, names: list[str] | None = None) -> list[Source]:
    """The sources of ``bar`` (only ``names`` if given: an unknown name is an error)."""
    if names:
        unknown = sorted(set(names) - {s.name for s in sources})
        if unknown:
            raise SourceError(f"unknown source(s) {', '.join(unknown)}; known: "
                              f"{', '.join(s.name for s in sources) or 'none'}")
    return [s for s in sources if s.bar == bar and (not names or s.name in names)]
