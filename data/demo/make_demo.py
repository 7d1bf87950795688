"""Rebuild the bundled demo parquet from the CoinMarketCap CSV export.

Run once by a maintainer (the platform itself never reads the CSVs):

    uv run python data/demo/make_demo.py ../shared/data/daily-cmc-23coins

The parquet keeps the provider's own columns and values untouched (only the
running row number `SNo` is dropped); turning them into canonical candles is
the loader's job (`feature_repo.loaders`), so the demo exercises the real loader.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).with_name("cmc_daily_23coins.parquet")


def main(src: str) -> None:
    files = sorted(Path(src).glob("coin_*.csv"))
    if not files:
        raise SystemExit(f"no coin_*.csv files in {src}")
    frames = [pd.read_csv(f).drop(columns=["SNo"]) for f in files]
    raw = pd.concat(frames, ignore_index=True)
    raw.to_parquet(OUT, index=False, compression="zstd", compression_level=19)
    print(f"wrote {OUT} ({len(raw)} rows, {raw['Symbol'].nunique()} symbols, {len(files)} files)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/daily-cmc-23coins")
