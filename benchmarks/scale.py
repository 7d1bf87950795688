"""Benchmark: the per-coin GARCH baseline stage (flows/scale.py) on each task runner, same run.

    uv run python benchmarks/scale.py                 # 10 coins of the bundled daily demo data
    uv run python benchmarks/scale.py --coins 23 --folds 4 --workers 2

Times the walk-forward GARCH(1,1)-t fits of ``--coins`` coins (every fold, horizon 7) through
Prefect on: one thread (the sequential reference), a pool of ``--workers`` threads, and a Dask
local cluster of ``--workers`` processes; checks the three give the same forecasts; reports wall
time, the ratio to the sequential run, and the per-coin cost that docs/scaling.md extrapolates
from (coins x per-coin seconds / workers: the stage has no shared state to contend on).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coins", type=int, default=10)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import numpy as np
    import pandas as pd

    from cryptovol.prefect_api import prefect_api
    from cryptovol.settings import DEMO_DATA, Settings
    from feature_repo.loaders.reader import read_file
    from flows.scale import combined, run_garch_baselines, task_runner
    from training.folds import walk_forward

    candles, _ = read_file(DEMO_DATA)
    longest = candles.groupby("symbol").size().sort_values(ascending=False).index[: args.coins]
    returns = {}
    for symbol in longest:
        close = candles[candles["symbol"] == symbol].set_index("ts")["close"].sort_index()
        returns[symbol] = np.log(close).diff().asfreq("1D").iloc[1:]
    stamps = pd.Series(sorted(set().union(*(r.index for r in returns.values()))))
    folds = walk_forward(stamps, pd.Timedelta("1D"), horizon=7, folds=args.folds)
    bars = sum(len(r) for r in returns.values())
    print(f"{len(returns)} coins, {bars:,} daily returns, {len(folds)} folds")

    runs = [("1 thread (sequential)", "threads", 1), (f"{args.workers} threads", "threads", args.workers),
            (f"Dask local, {args.workers} processes", "dask", args.workers)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp, prefect_api(None, Path(tmp) / "prefect", 300):
        for label, kind, workers in runs:
            runner = task_runner(Settings(home=Path(tmp), task_runner=kind), workers=workers)
            started = time.perf_counter()
            coins = run_garch_baselines(returns, folds, 7, runner)
            results[label] = (time.perf_counter() - started, coins)
    reference_s, reference = results[runs[0][0]]
    expected = combined(reference)
    per_coin = np.mean([c.seconds for c in reference])
    print(f"{'runner':<32}{'wall s':>9}{'x sequential':>14}  same forecasts")
    for label, (seconds, coins) in results.items():
        same = combined(coins).equals(expected)
        print(f"{label:<32}{seconds:>9.1f}{reference_s / seconds:>14.2f}  {same}")
    print(f"per coin: {per_coin:.2f} s of fits ({len(folds)} folds); "
          f"failures: {sum(len(c.failures) for c in reference)}")
    for n in (500, 5000):
        print(f"{n} coins: ~{n * per_coin / 60:.0f} min on 1 worker, "
              f"~{n * per_coin / 60 / 32:.1f} min on 32 Dask workers")


if __name__ == "__main__":
    main()
