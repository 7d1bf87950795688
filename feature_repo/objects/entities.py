"""Feast entities: a coin, keyed by its ticker (``BTC``, ``ETH`` ...)."""

from feast import Entity, ValueType

symbol = Entity(
    name="symbol",
    join_keys=["symbol"],
    value_type=ValueType.STRING,
    description="Coin ticker as in the canonical candles, e.g. BTC.",
)
