"""Benchmark: the whole walk-forward training on a simulated intraday panel, `fast` profile
against `reference` (the settings of earlier releases), measured in the same run.

    uv run python benchmarks/train.py                        # 10 coins x 3 years of 1h bars, H=24
    uv run python benchmarks/train.py --coins 10 --years 8   # the desk-sized panel (~25 min here)

Each profile runs in a fresh process (so that its peak RSS is its own) over the same data:
simulated candles (``benchmarks/simulate.py``) → features and targets (the platform's
transforms) → walk-forward evaluation of LightGBM, CatBoost, the classifiers and the baselines
on the same folds → scoring → the final package's refits (regressor and classifiers). The
training frame joins features and targets on the same stamp, which is what Feast's
point-in-time join returns for them; Feast, MLflow and the report are left out (the same for
both profiles, and a few seconds). Prints wall time, peak memory and QLIKE per profile; the
last line reads ``speed-up: N.Nx, QLIKE change: +X.X%`` (positive: the fast profile's best
model has the higher, i.e. worse, QLIKE). Goal: >= 4x with a change within 1%.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fresh_process import in_fresh_process  # noqa: E402


def _measure(profile_name: str, coins: int, years: float, horizon: int, folds: int, queue) -> None:
    import logging

    import numpy as np
    import pandas as pd

    from benchmarks.simulate import simulate_candles
    from feature_repo.transforms.config import FeatureConfig
    from feature_repo.transforms.features import compute_features
    from feature_repo.transforms.targets import compute_targets
    from training.classify import final_classifiers
    from training.evaluate import walk_forward_evaluation
    from training.folds import walk_forward
    from training.jobs import final_model
    from training.profiles import profile
    from training.scoring import score

    logging.basicConfig(level=logging.WARNING)
    prof = profile(profile_name)
    candles = simulate_candles(coins, years, "1h")
    config = FeatureConfig.for_bar("1h")
    features = compute_features(candles, config)
    targets = compute_targets(candles, "1h", horizon)
    names = [c for c in features.columns if c not in ("symbol", "event_timestamp")]
    frame = targets.merge(features, on=["symbol", "event_timestamp"], how="left")
    frame["symbol"] = frame["symbol"].astype(str)
    frame = frame.sort_values(["event_timestamp", "symbol"], ignore_index=True)
    returns = features[["symbol", "event_timestamp", "log_return"]].assign(
        symbol=lambda f: f["symbol"].astype(str))
    bar = pd.Timedelta("1h")
    fold_list = walk_forward(frame["event_timestamp"], bar, horizon, folds=folds, test_fraction=0.4)
    del candles, features, targets
    start = time.perf_counter()
    evaluation = walk_forward_evaluation(frame, returns, names, fold_list, bar, horizon,
                                         stale_window=config.long, profile=prof)
    scores = score(evaluation.oof, horizon, np.sqrt(24 * 365))
    family = scores.best_model
    final_model(family, frame, names, evaluation.iterations[family],
                evaluation.params[family][-1], prof)
    final_classifiers(frame, names, horizon, prof)
    seconds = time.perf_counter() - start
    queue.put({"profile": prof.name, "rows": len(frame), "seconds": seconds,
               "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
               "best_model": family, "qlike": float(scores.pooled.loc[family, "qlike"]),
               "qlike_by_forecaster": {k: float(v) for k, v in scores.pooled["qlike"].items()},
               "trees": {k: [int(i) for i in v] for k, v in evaluation.iterations.items()}})


def measure(profile_name: str, coins: int, years: float, horizon: int, folds: int) -> dict:
    return in_fresh_process(_measure, profile_name, coins, years, horizon, folds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coins", type=int, default=10)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args()

    runs = {}
    for name in ("reference", "fast"):
        print(f"measuring the {name} profile ...", flush=True)
        runs[name] = measure(name, args.coins, args.years, args.horizon, args.folds)
    ref, fast = runs["reference"], runs["fast"]
    print(f"data: {args.coins} coins x {args.years:g} years of 1h bars = {ref['rows']:,} training "
          f"rows, H={args.horizon}, {args.folds} folds")
    for r in (ref, fast):
        print(f"{r['profile']:>9}: {r['seconds']:7.1f} s wall, peak RSS {r['peak_gb']:.2f} GB, "
              f"best {r['best_model']} QLIKE {r['qlike']:.4f} (trees per fold {r['trees']})")
    print(json.dumps(runs))
    change = 100 * (fast["qlike"] / ref["qlike"] - 1)
    print(f"speed-up: {ref['seconds'] / fast['seconds']:.1f}x, QLIKE change: {change:+.1f}%")


if __name__ == "__main__":
    main()
