"""Feature windows (in bars) per bar size, and the catalog of feature names and descriptions.

Defaults: realized vol over 3 / 14 / 90 days of bars (daily bars) or 6 bars / 3 days / 90
days (intraday), next to the HAR components over 1 / 7 / 30 days; the other windowed
estimators use ``mid`` (30 daily bars, or 7 days of intraday bars). Technical indicators keep
their customary bar counts (ATR 14, Bollinger 20, RSI 14, MACD 12/26/9). All can be overridden.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptovol.bars import bars_per_day


@dataclass(frozen=True)
class FeatureConfig:
    bar: str = "1d"
    short: int = 3
    medium: int = 14
    long: int = 90
    mid: int = 30  # window of the range, moment, liquidity and co-movement estimators
    day: int = 1  # bars in a day: HAR daily component / per-day realized variance
    ewma_lambda: float = 0.94
    atr: int = 14
    bollinger: int = 20
    rsi: int = 14
    macd: tuple[int, int, int] = (12, 26, 9)
    garch: bool = False  # GARCH(1,1) conditional vol: slow, off unless asked for

    @classmethod
    def for_bar(cls, bar: str, **overrides) -> FeatureConfig:
        per_day = int(bars_per_day(bar))
        if per_day <= 1:
            base = cls(bar=bar)
        else:
            base = cls(bar=bar, short=6, medium=3 * per_day, long=90 * per_day, mid=7 * per_day,
                       day=per_day)
        return cls(**{**base.__dict__, **overrides})

    @property
    def intraday(self) -> bool:
        return self.day > 1

    def rv_windows(self) -> dict[str, int]:
        """Every realized-vol feature and its window in bars (for persistence baselines)."""
        return {f"rv_{self.short}": self.short, f"rv_{self.medium}": self.medium,
                f"rv_{self.long}": self.long, "har_rv_d": self.day, "har_rv_w": 7 * self.day,
                "har_rv_m": 30 * self.day}

    @property
    def max_window(self) -> int:
        return max(self.long, self.mid, 30 * self.day, self.macd[1] + self.macd[2], self.bollinger,
                   self.atr, self.rsi)


def catalog(c: FeatureConfig) -> dict[str, str]:
    """Feature name → one-line description, in output order. Vols are per bar unless stated."""
    s, md, lg, m = c.short, c.medium, c.long, c.mid
    out = {
        # returns
        "log_return": "Log close-to-close return of the bar ending at t.",
        "abs_return": "Absolute log return of the bar ending at t.",
        "ret_lag_1": "Log return of the bar before t's bar.",
        "ret_lag_2": "Log return two bars before t's bar.",
        f"ret_mean_{m}": f"Mean log return over the {m} bars ending at t.",
        f"ret_skew_{m}": f"Skewness of log returns over the {m} bars ending at t.",
        f"ret_kurt_{m}": f"Excess kurtosis of log returns over the {m} bars ending at t.",
        # realized volatility
        f"rv_{s}": f"Realized vol: root mean squared log return over the {s} bars ending at t.",
        f"rv_{md}": f"Realized vol over the {md} bars ending at t.",
        f"rv_{lg}": f"Realized vol over the {lg} bars ending at t.",
        f"rv_ratio_{s}_{lg}": f"rv_{s} / rv_{lg}: short-term vol relative to long-term.",
        "ewma_vol": f"RiskMetrics EWMA vol (lambda {c.ewma_lambda}) of log returns up to t.",
        "har_rv_d": f"HAR daily component: realized vol over the last day ({c.day} bar(s)).",
        "har_rv_w": f"HAR weekly component: realized vol over the last 7 days ({7 * c.day} bars).",
        "har_rv_m": f"HAR monthly component: realized vol over the last 30 days ({30 * c.day} bars).",
        # range-based
        "range_pct": "High minus low of the bar ending at t, as a fraction of its close.",
        f"parkinson_{m}": f"Parkinson high-low vol over the {m} bars ending at t.",
        f"garman_klass_{m}": f"Garman-Klass OHLC vol over the {m} bars ending at t.",
        f"rogers_satchell_{m}": f"Rogers-Satchell (drift-robust) OHLC vol over the {m} bars ending at t.",
        f"yang_zhang_{m}": f"Yang-Zhang vol (overnight + open-close + Rogers-Satchell) over {m} bars.",
        f"atr_{c.atr}": f"Average true range over {c.atr} bars, as a fraction of the close.",
        f"bollinger_width_{c.bollinger}": f"Bollinger band width (4 std / mean) of {c.bollinger} closes.",
        f"rsi_{c.rsi}": f"Relative strength index ({c.rsi} bars, Wilder smoothing), 0-100.",
        "macd": f"MACD line (EMA {c.macd[0]} - EMA {c.macd[1]} of closes) / close.",
        "macd_signal": f"EMA {c.macd[2]} of the MACD line (both / close).",
        "macd_hist": "MACD line minus its signal line (/ close).",
        # liquidity
        f"log_volume_ratio_{m}": f"Log of quote volume over its mean across the {m} bars ending at t.",
        "turnover": "Quote (USD) volume of the bar divided by market cap; missing if either is.",
        f"log_amihud_{m}": f"Log Amihud illiquidity: mean |return| per million quote volume, {m} bars.",
        f"corwin_schultz_{m}": f"Corwin-Schultz high-low bid-ask spread estimate, mean over {m} bars.",
        # cross-section
        "market_return": "Cap-weighted (equal-weighted without caps) log return of all coins at t.",
        f"corr_btc_{m}": f"Correlation of log returns with BTC over the {m} bars ending at t.",
        f"beta_btc_{m}": f"Beta of log returns to BTC over the {m} bars ending at t.",
        f"vol_minus_market_{m}": f"rv_{m} minus the realized vol of the market return over {m} bars.",
        "mcap_rank": "Rank of the coin's market cap among the coins at t (1 = largest).",
        # calendar
        "dow_sin": "Day of week of the bar close, sine encoding.",
        "dow_cos": "Day of week of the bar close, cosine encoding.",
    }
    if c.intraday:
        out["realized_var_day"] = (f"Per-day realized variance: sum of squared returns of the last "
                                   f"{c.day} bars.")
        out["hour_sin"] = "Hour of day of the bar close (UTC), sine encoding."
        out["hour_cos"] = "Hour of day of the bar close (UTC), cosine encoding."
    if c.garch:
        out["garch_vol"] = "GARCH(1,1) one-bar-ahead conditional vol, refitted on expanding windows."
    return out


def config_for(settings) -> FeatureConfig:
    """The feature configuration a :class:`~cryptovol.settings.Settings` asks for."""
    return FeatureConfig.for_bar(settings.bar, garch=settings.garch)


def feature_names(settings) -> list[str]:
    """The names of the features built for ``settings``, in table order."""
    return list(catalog(config_for(settings)))
