"""Benchmark: `refresh` of one new bar for 100 coins against a full rebuild, in one warm process.

    uv run python benchmarks/refresh.py                  # 100 coins x 5 years of daily bars
    uv run python benchmarks/refresh.py --symbols 20 --years 2

Builds a home of simulated daily candles (the last bar held back) with a private redis-server,
warms the process with one refresh, then times, in this run: the refresh of a file holding the
next bar of every coin (upsert, recompute the changed rows, append, write to Redis), and a full
rebuild of the same home (every feature and target row, Feast apply + materialize). Reports the
median of ``--repeat`` runs of each and their ratio. Goal: refresh <= 2 s and >= 20x faster.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import pandas as pd

    from benchmarks.simulate import simulate_candles
    from cryptovol.redis_runtime import RedisServer
    from cryptovol.settings import Settings
    from feature_repo import candle_store, jobs

    candles = simulate_candles(args.symbols, args.years, bar="1D")
    candles["ts"] = candles["ts"].dt.floor("D")
    days = sorted(candles["ts"].unique())
    held = days[-(args.repeat + 1):]  # one new bar per timed refresh, plus one to warm up
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = RedisServer(root / "redis", persist=False).start()
        try:
            settings = Settings(home=root / "home", redis_url=server.url, mlflow_tracking_uri=None)
            settings.ensure_dirs()
            candle_store.store(settings.home, "1d", candles[candles["ts"] < held[0]])
            jobs.refresh(settings, server.url, rebuild=True)
            refresh_s = []
            for i, day in enumerate(held):
                path = root / f"bar_{i}.parquet"
                candles[candles["ts"] == day].astype({"symbol": str, "source": str}).to_parquet(path)
                start = time.perf_counter()
                result = jobs.refresh(settings, server.url, [str(path)])
                if i:  # the first one warms the process (imports, Feast registry cache)
                    refresh_s.append(time.perf_counter() - start)
                assert result.new_bars == args.symbols and len(result.online) == args.symbols
            rebuild_s = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                jobs.refresh(settings, server.url, rebuild=True)
                rebuild_s.append(time.perf_counter() - start)
        finally:
            server.stop()
    rows = len(candles)
    fresh, full = statistics.median(refresh_s), statistics.median(rebuild_s)
    print(f"data: {args.symbols} coins x {len(days):,} daily bars = {rows:,} candles "
          f"(first {pd.Timestamp(days[0]):%Y-%m-%d})")
    print(f"refresh, 1 new bar x {args.symbols} coins: {fresh:.3f} s "
          f"(median of {len(refresh_s)}: {', '.join(f'{s:.3f}' for s in refresh_s)})  "
          f"[goal <= 2 s]")
    print(f"full rebuild (features + targets + materialize): {full:.2f} s "
          f"(median of {len(rebuild_s)})")
    print(f"ratio: refresh is {full / fresh:.1f}x faster than a rebuild  [goal >= 20x]")


if __name__ == "__main__":
    main()
