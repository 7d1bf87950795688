"""A user's mistake or a hostile environment is one line naming the file and the fix: a home
under a file, a read-only home (where a no-op ingest still succeeds), a damaged store file;
the traceback only with --verbose."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.flows.processes import CLI, clean_env, run

pytestmark = pytest.mark.integration
CANDLES = DATA / "bad" / "btc_1h.csv.gz"


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def test_home_under_a_file_is_named(tmp_path):
    (tmp_path / "afile").write_text("")
    line = _one_error_line(run(["ingest", str(CANDLES)], clean_env(tmp_path / "afile" / "home")))
    assert "afile/home: a file stands where a folder is needed; choose another CRYPTOVOL_HOME" in line


def _read_only(home: Path, args: list[str]) -> subprocess.CompletedProcess:
    """Run cryptovol with ``home`` mounted read-only (a private mount namespace, as root)."""
    script = (f"mount --bind {home} {home} && mount -o remount,bind,ro {home} && "
              f"exec {CLI} {' '.join(args)}")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], env=clean_env(home),
                          capture_output=True, text=True, timeout=300)


def test_read_only_home_no_op_ingest_succeeds_and_a_change_is_refused_by_name(tmp_path):
    home = tmp_path / "home"
    assert run(["ingest", str(CANDLES)], clean_env(home)).returncode == 0
    again = _read_only(home, ["ingest", str(CANDLES)])
    assert again.returncode == 0 and "Traceback" not in again.stderr
    assert "0 new, 0 updated, 12 unchanged" in again.stdout
    assert "note: load report not saved: " in again.stdout and "read-only file system" in again.stdout
    assert ".tmp" not in again.stdout  # names the report, not a temporary file
    change = _read_only(home, ["ingest", str(DATA / "bad" / "negative_price.csv")])
    line = _one_error_line(change)
    assert "candles" in line and "read-only file system; point CRYPTOVOL_HOME at a writable folder" in line
    report = _read_only(home, ["data", "report", "--bar", "1h"])
    assert report.returncode == 0 and "BTC" in report.stdout


def test_an_empty_store_file_left_by_an_old_version_is_named_with_the_fix(tmp_path):
    home = tmp_path / "home"
    assert run(["ingest", str(CANDLES)], clean_env(home)).returncode == 0
    (home / "candles" / "quarantine_1h.parquet").write_bytes(b"")
    for args in (["data", "report", "--bar", "1h"], ["ingest", str(DATA / "bad" / "future_bar.csv")]):
        line = _one_error_line(run(args, clean_env(home)))
        assert "quarantine_1h.parquet: empty file (0 bytes)" in line and "move it away" in line


def test_traceback_only_with_verbose(tmp_path):
    home = tmp_path / "home"
    assert run(["ingest", str(CANDLES)], clean_env(home)).returncode == 0
    (home / "candles" / "candles_1h.parquet").write_bytes(b"PAR1 damaged")
    quiet = run(["ingest", str(CANDLES)], clean_env(home))
    assert "not a readable parquet file" in _one_error_line(quiet)
    loud = run(["ingest", str(CANDLES), "--verbose"], clean_env(home))
    assert loud.returncode == 1 and "Traceback" in loud.stderr
    assert "not a readable parquet file" in loud.stderr


def test_piped_tables_are_not_cut(tmp_path):
    home = tmp_path / "home"
    long_name = tmp_path / ("a_rather_long_export_name_from_some_exchange_" * 2 + "BTCUSDT_1h.csv.gz")
    shutil.copy(CANDLES, long_name)
    out = run(["ingest", str(long_name), "--symbol", "BTC"], {**clean_env(home), "COLUMNS": "80"})
    assert out.returncode == 0
    assert long_name.name in out.stdout  # the whole file name, in a table wider than 80 columns
    assert "2024-01-01 01:00 → 2024-01-01 12:00" in out.stdout
