"""Benchmark: the per-coin GARCH baseline stage (flows/scale.py) on each task runner, same run.

    uv run python benchmarks/scale.py                   # 10 coins of the bundled daily demo data
    uv run python benchmarks/scale.py --bar 1h --years 2  # 10 simulated coins x 2 years of 1h bars

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
    parser.add_argument("--bar", choices=["1d", "1h"], default="1d",
                        help="1d: the demo data's coins; 1h: simulated GARCH coins (benchmarks/simulate.py)")
    parser.add_argument("--years", type=float, default=2.0, help="Years of simulated 1h bars.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    import numpy as np
    import pandas as pd

    from cryptovol.prefect_api import prefect_api
    from cryptovol.settings import DEMO_DATA, Settings
    from feature_repo.loaders.reader import read_file
    from flows.scale import combined, run_garch_baselines, task_runner
    from training.folds import walk_forward

    if args.bar == "1d":
        candles, _ = read_file(DEMO_DATA)
    else:
        from benchmarks.simulate import simulate_candles

        candles = simulate_candles(args.coins, args.years, bar="1h")
    step = pd.Timedelta("1D" if args.bar == "1d" else "1h")
    horizon = 7 if args.bar == "1d" else 24
    longest = candles.groupby("symbol").size().sort_values(ascending=False).index[: args.coins]
    returns = {}
    for symbol in longest:
        close = candles[candles["symbol"] == symbol].set_index("ts")["close"].sort_index()
        returns[symbol] = np.log(close).diff().asfreq(step).iloc[1:]
    stamps = pd.Series(sorted(set().union(*(r.index for r in returns.values()))))
    folds = walk_forward(stamps, step, horizon=horizon, folds=args.folds)
    bars = sum(len(r) for r in returns.values())
    print(f"{len(returns)} coins, {bars:,} {args.bar} returns, {len(folds)} folds, H = {horizon}")

    runs = [("1 thread (sequential)", "threads", 1), (f"{args.workers} threads", "threads", args.workers),
            (f"Dask local, {args.workers} processes", "dask", args.workers)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp, prefect_api(None, Path(tmp) / "prefect", 300):
        for label, kind, workers in runs:
            runner = task_runner(Settings(home=Path(tmp), task_runner=kind), workers=workers)
            started = time.perf_counter()
            coins = run_garch_baselines(returns, folds, horizon, runner)
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
    dask_s = results[runs[2][0]][0]
    overhead = max(0.0, dask_s - reference_s / args.workers)
    print(f"Dask fixed cost (cluster start, shipping the data): ~{overhead:.0f} s in this run")
    for n in (500, 5000):
        print(f"{n} coins: ~{n * per_coin / 60:.1f} min on 1 worker; "
              f"~{n * per_coin / 60 / 32 + overhead / 60:.1f} min on 32 Dask workers")


if __name__ == "__main__":
    main()
