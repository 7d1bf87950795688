"""Benchmark: build every feature for many synthetic coins of hourly bars.

    uv run python benchmarks/features.py            # 100 coins x 5 years of 1h bars (GARCH off)
    uv run python benchmarks/features.py --symbols 20 --years 1   # a quick look

Prints wall time and peak memory of the vectorized build on the full data, and the speed-up
over a naive per-symbol ``groupby().apply`` + ``rolling().apply`` implementation. The naive one
takes minutes per coin-decade, so both are timed on the same subset of the data (the first
``--naive-symbols`` coins) in this run, and the full-data naive time is extrapolated linearly
(cost is linear in coins). Targets on a 2-core machine: <= 30 s, <= 4 GB, >= 10x.
Each measurement runs in a fresh process, so peak RSS is the measurement's own.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fresh_process import in_fresh_process  # noqa: E402


def _measure(kind: str, symbols: int, years: float, queue) -> None:
    from benchmarks.naive_features import naive_features
    from benchmarks.simulate import simulate_candles
    from feature_repo.transforms.config import FeatureConfig
    from feature_repo.transforms.features import compute_features

    candles = simulate_candles(symbols, years)
    config = FeatureConfig.for_bar("1h")
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand the simulator's scratch memory back
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out = (compute_features if kind == "vectorized" else naive_features)(candles, config)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"kind": kind, "symbols": symbols, "rows": len(candles), "features": out.shape[1] - 2,
               "seconds": seconds, "peak_gb": peak_kb / 1e6, "input_gb": before / 1e6})


def measure(kind: str, symbols: int, years: float) -> dict:
    return in_fresh_process(_measure, kind, symbols, years)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--naive-symbols", type=int, default=3)
    args = parser.parse_args()

    full = measure("vectorized", args.symbols, args.years)
    small = measure("vectorized", args.naive_symbols, args.years)
    naive = measure("naive", args.naive_symbols, args.years)
    naive_full = naive["seconds"] * args.symbols / args.naive_symbols
    print(f"data: {args.symbols} coins x {args.years:g} years of 1h bars = {full['rows']:,} rows")
    print(f"vectorized, all features ({full['features']}): {full['seconds']:.1f} s wall, "
          f"peak RSS {full['peak_gb']:.2f} GB (input alone {full['input_gb']:.2f} GB)  "
          f"[targets: <= 30 s, <= 4 GB]")
    print(f"same {args.naive_symbols} coins: vectorized {small['seconds']:.2f} s "
          f"({small['features']} features) vs naive {naive['seconds']:.1f} s ({naive['features']} "
          f"features) -> {naive['seconds'] / small['seconds']:.0f}x faster")
    print(f"naive extrapolated to {args.symbols} coins: {naive_full:.0f} s -> "
          f"{naive_full / full['seconds']:.0f}x faster  [target: >= 10x]")
    print(json.dumps({"full": full, "subset": small, "naive": naive}))


if __name__ == "__main__":
    main()
