"""Cut small real-data fixtures out of ../shared/data (run by a maintainer, not by the tests).

    uv run python tests/data/make_fixtures.py ../shared/data

Each excerpt keeps the provider's bytes line for line and holds every quirk the loaders must
handle (see tests/data/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent


def excerpt(src: Path, dst: Path, keep) -> None:
    lines = src.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    chosen = [row for i, row in enumerate(rows) if keep(i, row, len(rows))]
    dst.write_text(header + "".join(chosen))
    print(f"{dst.name}: {len(chosen)} of {len(rows)} rows")


def main(shared: Path) -> None:
    hourly = shared / "hourly-binance-cdd"

    def btc_keep(i: int, row: str, n: int) -> bool:
        stamp = row.split(",")[1]
        return (
            i < 30  # newest rows: the partial candle
            or stamp.startswith(("2020-11-20", "2020-11-19 2"))  # the splice: duplicated hours
            or stamp.startswith(("2020-12-21 1", "2021-04-25 0"))  # missing hours
            or stamp.startswith("2017-09-26")  # date strings 4 h away from unix
            or i >= n - 30  # oldest rows: the 2017-08-17 04:00 bad print
        )

    excerpt(hourly / "Binance_BTCUSDT_1h.csv", HERE / "cdd_btcusdt_1h_excerpt.csv", btc_keep)
    excerpt(hourly / "Binance_BTCUSDT_d.csv", HERE / "cdd_btcusdt_d_excerpt.csv",
            lambda i, row, n: i < 20 or row.split(",")[1].startswith("2017-12-1") or i >= n - 10)
    excerpt(shared / "daily-cmc-23coins" / "coin_Monero.csv", HERE / "coin_Monero_excerpt.csv",
            lambda i, row, n: row.split(",")[3].startswith(("2014-05", "2014-06", "2014-08")))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
