"""The candle file formats the loaders read (no imports: the CLI's help lists them cheaply)."""

FORMATS = ("cmc", "cdd", "binance", "bybit", "coingecko", "coingecko-history", "canonical")
