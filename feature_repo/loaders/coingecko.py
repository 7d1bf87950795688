"""CoinGecko close-only series, in two shapes:

- the "export" CSV ``snapped_at,price,market_cap,total_volume`` (``btc-usd-max.csv``): the
  symbol comes from the file name unless ``--symbol`` is given;
- the per-coin history ``timestamp,readableTimestamp,coinId,price,marketCap,totalVolume``
  (``timestamp`` in epoch ms): the symbol comes from the CoinGecko id through
  :data:`COINGECKO_IDS` (``bitcoin`` → BTC), and ``--symbol`` overrides it (an id not in the
  map needs ``--symbol``).

Rules: ``ts`` = the snapshot time (a snapshot at the bar boundary is that bar's close; an
offset such as ``+02:00`` is converted to UTC); open/high/low are left missing, never faked, so
OHLC features come out missing; a snapshot off the bar grid (the export-time one at the end)
is ``partial_bar``; zero market cap or volume means "not recorded".
"""

from __future__ import annotations

import pandas as pd

from cryptovol.bars import bar_delta, infer_bar
from feature_repo.loaders.candles import CandleError, LoadReport, finalize, positive_or_missing
from feature_repo.loaders.common import numeric, parse_times

# CoinGecko ids of the coins most often seen, to their tickers; --symbol covers the rest
COINGECKO_IDS = {
    "bitcoin": "BTC", "ethereum": "ETH", "tether": "USDT", "binancecoin": "BNB", "ripple": "XRP",
    "usd-coin": "USDC", "solana": "SOL", "cardano": "ADA", "dogecoin": "DOGE", "tron": "TRX",
    "polkadot": "DOT", "litecoin": "LTC", "chainlink": "LINK", "stellar": "XLM", "monero": "XMR",
    "eos": "EOS", "cosmos": "ATOM", "crypto-com-chain": "CRO", "wrapped-bitcoin": "WBTC",
    "iota": "MIOTA", "nem": "XEM", "avalanche-2": "AVAX", "matic-network": "MATIC",
    "shiba-inu": "SHIB", "bitcoin-cash": "BCH", "uniswap": "UNI", "aave": "AAVE",
    "ethereum-classic": "ETC", "near": "NEAR", "dai": "DAI", "the-open-network": "TON",
    "staked-ether": "STETH", "toncoin": "TON",
}


def _close_only(ts: pd.Series, symbol, price: pd.Series, market_cap: pd.Series,
                volume: pd.Series, origin: str) -> tuple[pd.DataFrame, LoadReport]:
    bar = infer_bar(ts)
    step = pd.Timedelta(bar_delta(bar))
    off_grid = (ts - ts.dt.floor(step)) != pd.Timedelta(0)
    market_cap, zero_cap = positive_or_missing(market_cap)
    volume, zero_volume = positive_or_missing(volume)
    candles = pd.DataFrame({
        "symbol": symbol, "ts": ts, "open": float("nan"), "high": float("nan"), "low": float("nan"),
        "close": price, "volume": float("nan"),
        "quote_volume": volume, "market_cap": market_cap, "source": "coingecko",
    })
    kept, report = finalize(candles, {"zero_volume": zero_volume, "zero_market_cap": zero_cap},
                            bar=step, partial=off_grid, origin=origin)
    report.bar = bar
    report.notes = ["close-only series: open/high/low missing, OHLC features will be missing",
                    *report.notes]
    return kept, report


def parse_coingecko(raw: pd.DataFrame, symbol: str, origin: str = "<frame>", first_line: int = 2
                    ) -> tuple[pd.DataFrame, LoadReport]:
    raw = raw.reset_index(drop=True)
    ts = parse_times(raw["snapped_at"], origin, "snapped_at", first_line)
    return _close_only(ts, symbol, numeric(raw, "price", origin, first_line),
                       numeric(raw, "market_cap", origin, first_line),
                       numeric(raw, "total_volume", origin, first_line), origin)


def _column(raw: pd.DataFrame, name: str) -> str:
    """The file's spelling of a column (CoinGecko exports vary in case)."""
    return next((c for c in raw.columns if c.lower() == name.lower()), name)


def history_symbols(ids: pd.Series, symbol: str | None, origin: str) -> pd.Series:
    """Tickers for CoinGecko ids; ``symbol`` (``--symbol``) overrides the map."""
    if symbol:
        return pd.Series(symbol.strip().upper(), index=ids.index)
    ids = ids.astype(str).str.strip().str.lower()
    unknown = sorted(set(ids) - set(COINGECKO_IDS))
    if unknown:
        raise CandleError(f"{origin}: CoinGecko id {unknown[0]!r} has no known ticker; "
                          "name the coin with --symbol")
    return ids.map(COINGECKO_IDS)


def parse_coingecko_history(raw: pd.DataFrame, symbol: str | None, origin: str = "<frame>",
                            first_line: int = 2) -> tuple[pd.DataFrame, LoadReport]:
    raw = raw.reset_index(drop=True)
    symbols = history_symbols(raw[_column(raw, "coinId")], symbol, origin)
    if symbols.nunique() > 1:
        raise CandleError(f"{origin}: several coins in one CoinGecko history "
                          f"({', '.join(sorted(symbols.unique())[:5])}); split the file per coin")
    ts = parse_times(raw[_column(raw, "timestamp")], origin, "timestamp", first_line)
    return _close_only(ts, symbols, numeric(raw, _column(raw, "price"), origin, first_line),
                       numeric(raw, _column(raw, "marketCap"), origin, first_line),
                       numeric(raw, _column(raw, "totalVolume"), origin, first_line), origin)
