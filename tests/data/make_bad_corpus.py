"""Writes tests/data/bad/: malformed candle files, one per way real exports go wrong.

Run from the repo root: ``uv run python tests/data/make_bad_corpus.py``. What each file must
give (a named error, or counted quarantines) is in tests/feature_repo/test_bad_inputs.py.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd

OUT = Path(__file__).parent / "bad"
HEADER = "symbol,ts,open,high,low,close,volume"


def rows(n: int = 12, start: str = "2024-01-01T01:00:00Z", symbol: str = "BTC") -> list[str]:
    times = pd.date_range(start, periods=n, freq="1h")
    out = []
    for i, t in enumerate(times):
        c = 100 + i
        out.append(f"{symbol},{t:%Y-%m-%dT%H:%M:%SZ},{c - 0.5},{c + 1},{c - 1},{c},{10 + i}")
    return out


def shifted(row: str, hours: int) -> str:
    """``row`` with its UTC time written as local time at UTC+hours."""
    symbol, ts, rest = row.split(",", 2)
    local = pd.Timestamp(ts) + pd.Timedelta(hours=hours)
    return f"{symbol},{local:%Y-%m-%dT%H:%M:%S}+{hours:02d}:00,{rest}"


def text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


GOOD = text([HEADER, *rows()])
CMC_HEADER = "SNo,Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap"


def cmc(name: str, symbol: str = "XMR", n: int = 6) -> bytes:
    lines = [CMC_HEADER]
    for i, day in enumerate(pd.date_range("2021-01-01", periods=n, freq="D")):
        c = 150 + i
        lines.append(f"{i + 1},{name},{symbol},{day:%Y-%m-%d} 23:59:59,{c + 2},{c - 2},{c - 1},{c},"
                     f"{1e6 + i},{2e9 + i}")
    return ("\n".join(lines) + "\n").encode("latin-1")


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def parquet_bytes() -> bytes:
    frame = pd.read_csv(io.BytesIO(GOOD))
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def build() -> dict[str, bytes]:
    good_rows = rows()
    return {
        "empty.csv": b"",
        "header_only.csv": text([HEADER]),
        "binary.csv": bytes(range(256)) * 4,
        "gzip_named_csv.csv": gzip.compress(GOOD),
        "btc_1h.csv.gz": gzip.compress(GOOD),
        "truncated.csv.gz": gzip.compress(GOOD)[:60],
        "btc_1h.csv.bz2": bz2.compress(GOOD),
        "one_member.zip": zipped({"btc_1h.csv": GOOD}),
        "two_members.zip": zipped({"btc_1h.csv": GOOD, "eth_1h.csv": GOOD}),
        "zstd.csv.zst": b"\x28\xb5\x2f\xfd" + b"\x00" * 40,
        "latin1_name.csv": cmc("Monéro"),
        "latin1_symbol.csv": cmc("Monero", symbol="XM\xc9"),
        "utf16.csv": GOOD.decode().encode("utf-16"),
        "semicolon.csv": GOOD.replace(b",", b";"),
        "tab.tsv": GOOD.replace(b",", b"\t"),
        "decimal_comma.csv": text([HEADER.replace(",", ";"),
                                   *[r.replace(",", ";").replace(".5", ",5") for r in good_rows]]),
        "repeated_header.csv": text([HEADER, *good_rows[:6], HEADER, *good_rows[6:], HEADER]),
        "truncated_row.csv": GOOD[:-12],
        "future_bar.csv": text([HEADER, *good_rows, "BTC,2099-01-01T00:00:00Z,100,101,99,100,10"]),
        "nan_inf.csv": text([HEADER, *good_rows[:4], "BTC,2024-01-01T05:00:00Z,104,inf,103,104,14",
                             "BTC,2024-01-01T06:00:00Z,105,106,104,NaN,15",
                             "BTC,2024-01-01T07:00:00Z,106,107,105,106,inf", *good_rows[7:]]),
        "conflicting_duplicates.csv": text([HEADER, *good_rows,
                                            good_rows[3].replace(",103,13", ",103.7,13")]),
        "negative_price.csv": text([HEADER, *good_rows, "BTC,2024-01-01T13:00:00Z,112,113,-1,112,22"]),
        "ohlc_inconsistent.csv": text([HEADER, *good_rows, "BTC,2024-01-01T13:00:00Z,112,90,95,112,22"]),
        "not_a_number.csv": text([HEADER, *good_rows[:3], "BTC,2024-01-01T04:00:00Z,103,104,102,abc,13"]),
        "bad_timestamp.csv": text([HEADER, *good_rows[:3], "BTC,yesterday,103,104,102,103,13"]),
        "unknown_columns.csv": text(["when,price,amount", "2024-01-01,1,2", "2024-01-02,1,2"]),
        "extra_fields.csv": text([HEADER, *good_rows[:3], "BTC,2024-01-01T04:00:00Z,1,2,3,4,5,6,7"]),
        "truncated.parquet": parquet_bytes()[:200],
        "text_named.parquet": GOOD,
        "one_bar.csv": text([HEADER, good_rows[0]]),
        "unix_wrong_unit.csv": text(["unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT",
                                     *[f"{1704070800 + 3600 * i},2024-01-01,BTC/USDT,{100 + i},"
                                       f"{101 + i},{99 + i},{100 + i},1,100" for i in range(10)],
                                     "17040,1970-01-01,BTC/USDT,100,101,99,100,1,100"]),
        "canonical_without_symbol.csv": text(["ts,open,high,low,close,volume",
                                              *[r.split(",", 1)[1] for r in good_rows]]),
        # the same instants written three ways: Z, +00:00 with a space, and +02:00 local time
        "mixed_offsets.csv": text([HEADER, *good_rows[:4],
                                   *[r.replace("-01T", "-01 ").replace(":00:00Z", ":00:00+00:00")
                                     for r in good_rows[4:8]],
                                   *[shifted(r, 2) for r in good_rows[8:]]]),
    }


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name, data in build().items():
        (OUT / name).write_bytes(data)
    print(f"{len(build())} files in {OUT}")
