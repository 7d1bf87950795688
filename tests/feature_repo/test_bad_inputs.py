"""The bad-input corpus (tests/data/bad, written by tests/data/make_bad_corpus.py).

Every malformed file ends in a named error (one line naming the file, no traceback, exit 1)
or is read with every bad row counted: ``read = kept + quarantined``, with the expected reasons.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptovol.cli.app import main
from feature_repo.loaders.reader import read_file
from tests.conftest import DATA

BAD = DATA / "bad"

# file -> the words its one-line error must contain
ERRORS = {
    "empty.csv": "empty file",
    "header_only.csv": "no data rows",
    "binary.csv": "binary content",
    "truncated.csv.gz": "damaged or truncated compressed file",
    "two_members.zip": "zip archive of 2 files",
    "zstd.csv.zst": "zstd-compressed",
    "latin1_symbol.csv": "line 2: field Symbol has bytes that are not UTF-8 (byte 0xc9",
    "decimal_comma.csv": "line 2: field open='99,5' is not a number; decimal commas",
    "not_a_number.csv": "line 5: field close='abc' is not a number",
    "bad_timestamp.csv": "line 5: field ts='yesterday' is not a timestamp",
    "unknown_columns.csv": "unrecognised columns ['when', 'price', 'amount']",
    "extra_fields.csv": "Expected 7 fields in line 5, saw 9",
    "truncated.parquet": "cannot be read as parquet",
    "text_named.parquet": "cannot be read as parquet (no PAR1",
    "one_bar.csv": "cannot infer the bar size",
    "canonical_without_symbol.csv": "name the coin with --symbol",
}

# file -> (rows read, {quarantine reason: rows}, words a note must contain or None)
READ = {
    "gzip_named_csv.csv": (12, {}, "read through gzip"),
    "btc_1h.csv.gz": (12, {}, "read through gzip"),
    "btc_1h.csv.bz2": (12, {}, "read through bzip2"),
    "one_member.zip": (12, {}, "read through zip (btc_1h.csv)"),
    "utf16.csv": (12, {}, None),
    "semicolon.csv": (12, {}, "delimiter ';'"),
    "tab.tsv": (12, {}, "delimiter '\\t'"),
    "latin1_name.csv": (6, {}, "not UTF-8 (byte 0xe9 on line 2) in columns the platform does not use: "
                               "Name (6 rows)"),
    "repeated_header.csv": (12, {}, "2 repeated header lines skipped"),
    "truncated_row.csv": (12, {"missing_price": 1}, None),
    "future_bar.csv": (13, {"future_bar": 1}, None),
    "nan_inf.csv": (12, {"non_finite_price": 1, "missing_price": 1}, None),
    "conflicting_duplicates.csv": (13, {"duplicate_bar": 1},
                                   "1 duplicated bars have copies that disagree"),
    "negative_price.csv": (13, {"non_positive_price": 1}, None),
    "ohlc_inconsistent.csv": (13, {"ohlc_inconsistent": 1}, None),
    "unix_wrong_unit.csv": (11, {"ancient_bar": 1, "partial_bar": 1}, None),
    "mixed_offsets.csv": (12, {}, None),
}


def test_the_corpus_has_every_file_and_at_least_25():
    on_disk = {p.name for p in BAD.iterdir()}
    assert on_disk == set(ERRORS) | set(READ)
    assert len(on_disk) >= 25


def _cli(args: list[str], home: Path, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("CRYPTOVOL_SUPERVISED", "1")  # in-process: no supervisor child
    monkeypatch.setenv("CRYPTOVOL_HOME", str(home))
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out = capsys.readouterr()
    return exit_info.value.code, out.out + out.err


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_file_is_one_named_error_line(name, tmp_path, monkeypatch, capsys):
    code, output = _cli(["ingest", str(BAD / name)], tmp_path / "home", monkeypatch, capsys)
    assert code == 1
    assert "Traceback" not in output
    error_lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, output
    assert name in error_lines[0] and ERRORS[name] in error_lines[0], error_lines[0]


@pytest.mark.parametrize("name", sorted(READ))
def test_readable_file_counts_every_row(name, tmp_path, monkeypatch, capsys):
    read, reasons, note = READ[name]
    candles, report = read_file(BAD / name)
    totals = report.totals()
    assert report.balanced and totals["read"] == read
    assert totals["kept"] == len(candles) == read - sum(reasons.values())
    got = {k[2:]: v for k, v in totals.items() if k.startswith("q_") and v}
    assert got == reasons
    if note:
        assert any(note in n for n in report.notes), report.notes
    code, output = _cli(["ingest", str(BAD / name)], tmp_path / "home", monkeypatch, capsys)
    assert code == 0 and "Traceback" not in output and f"read {read:,} = kept" in output


def test_utc_offsets_are_converted_to_the_same_instants():
    candles, _ = read_file(BAD / "mixed_offsets.csv")
    expected = read_file(BAD / "btc_1h.csv.gz")[0]
    assert candles["ts"].tolist() == expected["ts"].tolist()
    assert candles["close"].tolist() == expected["close"].tolist()


def test_conflicting_duplicates_are_counted_per_symbol():
    _, report = read_file(BAD / "conflicting_duplicates.csv")
    assert report.per_symbol.loc[0, "duplicate_conflicts"] == 1
    assert "e.g. BTC 2024-01-01 04:00: closes 103, 103.7" in " ".join(report.notes)


def test_non_finite_volume_becomes_missing_and_is_counted():
    candles, report = read_file(BAD / "nan_inf.csv")
    assert report.totals()["non_finite_volume"] == 1
    assert candles["volume"].isna().sum() == 1


def test_canonical_file_without_symbol_takes_the_symbol_option():
    candles, report = read_file(BAD / "canonical_without_symbol.csv", symbol="ETH")
    assert set(candles["symbol"]) == {"ETH"} and report.totals()["kept"] == 12
