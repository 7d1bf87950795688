"""Risk backtest: volatility targeting with the forecasts, on the out-of-fold test rows.

At each bar t a coin's position is ``min(target_vol / forecast_vol_t, leverage_cap)`` (both
annualized), held over bar t+1; turnover pays ``fee`` per unit traded. Compared with buy-and-
hold (position 1) and with targeting on the trailing realized vol (persistence). Pure functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BacktestConfig:
    target_vol: float = 0.5  # annualized
    leverage_cap: float = 2.0
    fee: float = 0.001  # per unit of position traded (10 bp)
    vol_window: int = 30  # bars, for the vol-of-vol


def strategy_returns(next_return: np.ndarray, forecast_ann: np.ndarray | None,
                     cfg: BacktestConfig) -> tuple[np.ndarray, np.ndarray]:
    """Net simple returns and positions of one coin; ``forecast_ann`` None = buy-and-hold."""
    if forecast_ann is None:
        position = np.ones(len(next_return))
    else:
        position = np.minimum(cfg.target_vol / forecast_ann, cfg.leverage_cap)
    position = np.nan_to_num(position, nan=0.0)
    traded = np.abs(np.diff(position, prepend=0.0))
    gross = position * np.expm1(np.nan_to_num(next_return, nan=0.0))
    return gross - cfg.fee * traded, position


def max_drawdown(returns: np.ndarray) -> float:
    wealth = np.cumprod(1 + returns)
    peak = np.maximum.accumulate(wealth)
    return float((wealth / peak - 1).min()) if len(wealth) else float("nan")


def sharpe_with_ci(returns: np.ndarray, bars_per_year: float, z: float = 1.96) -> dict[str, float]:
    """Annualized Sharpe ratio (no risk-free rate) with Lo's (2002) iid standard error."""
    n = len(returns)
    sd = returns.std(ddof=1)
    if n < 3 or sd == 0:
        return {"sharpe": float("nan"), "sharpe_low": float("nan"), "sharpe_high": float("nan")}
    per_bar = returns.mean() / sd
    se = math.sqrt((1 + 0.5 * per_bar**2) / n)
    scale = math.sqrt(bars_per_year)
    return {"sharpe": per_bar * scale, "sharpe_low": (per_bar - z * se) * scale,
            "sharpe_high": (per_bar + z * se) * scale}


def summarize(returns: np.ndarray, cfg: BacktestConfig, bars_per_year: float) -> dict[str, float]:
    realized = float(returns.std(ddof=1) * math.sqrt(bars_per_year))
    rolling = pd.Series(returns).rolling(cfg.vol_window).std() * math.sqrt(bars_per_year)
    return {"realized_vol": realized,
            "tracking_error": abs(realized - cfg.target_vol) / cfg.target_vol,
            "max_drawdown": max_drawdown(returns), "vol_of_vol": float(rolling.std()),
            "total_return": float(np.prod(1 + returns) - 1),
            **sharpe_with_ci(returns, bars_per_year)}


def backtest(oof: pd.DataFrame, next_returns: pd.DataFrame, forecasters: list[str],
             bars_per_year: float, cfg: BacktestConfig = BacktestConfig()) -> dict:
    """Equal-weight portfolio of the per-coin strategies for buy-and-hold and each forecaster.

    ``next_returns``: ``symbol, event_timestamp, next_return`` (log return of bar t+1).
    Returns summaries per strategy and the portfolio equity curves.
    """
    data = oof.merge(next_returns, on=["symbol", "event_timestamp"], how="inner")
    data = data.sort_values(["symbol", "event_timestamp"])
    annualize = math.sqrt(bars_per_year)
    curves, summary = {}, {}
    for name in ["buy_and_hold", *forecasters]:
        per_coin, tracking = [], []
        for _, g in data.groupby("symbol"):
            forecast = None if name == "buy_and_hold" else g[name].to_numpy() * annualize
            net, _ = strategy_returns(g["next_return"].to_numpy(), forecast, cfg)
            per_coin.append(pd.Series(net, index=g["event_timestamp"].to_numpy()))
            if len(net) > 2:
                tracking.append(abs(net.std(ddof=1) * annualize - cfg.target_vol) / cfg.target_vol)
        portfolio = pd.concat(per_coin, axis=1).mean(axis=1).sort_index()
        summary[name] = {**summarize(portfolio.to_numpy(), cfg, bars_per_year),
                         "coin_tracking_error": float(np.mean(tracking)) if tracking else float("nan")}
        curves[name] = (1 + portfolio).cumprod()
    return {"config": cfg.__dict__, "summary": summary, "curves": curves}
