"""The one way to write a file: atomic replace, unique temporaries, a lock, clear read errors."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from cryptovol import files


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "store.parquet"
    files.write_parquet(pd.DataFrame({"x": [1, 2]}), path)

    def broken(tmp):
        tmp.write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.atomic_write(path, broken)
    assert pd.read_parquet(path)["x"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["store.parquet"]


def test_written_files_get_the_usual_mode_not_0600(tmp_path):
    path = files.write_text(tmp_path / "report.json", "{}")
    assert path.stat().st_mode & 0o777 == 0o644  # umask 022 here


def test_an_empty_or_damaged_store_file_is_named_with_the_way_out(tmp_path):
    empty = tmp_path / "quarantine_1h.parquet"
    empty.write_bytes(b"")
    with pytest.raises(files.StoreError, match="quarantine_1h.parquet: empty file .* move it away"):
        files.read_parquet(empty)
    damaged = tmp_path / "candles_1h.parquet"
    damaged.write_bytes(b"PAR1" + b"\0" * 100)
    with pytest.raises(files.StoreError, match="candles_1h.parquet: not a readable parquet file"):
        files.read_parquet(damaged)


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    path = tmp_path / "candles_1d.parquet"
    (tmp_path / ".candles_1d.parquet.abc123.tmp").write_bytes(b"partial")
    (tmp_path / ".other.parquet.abc123.tmp").write_bytes(b"someone else's")
    with files.store_lock(path):
        assert files.remove_stale_temporaries(path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".candles_1d.parquet.lock",
                                                           ".other.parquet.abc123.tmp"]


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    path = tmp_path / "candles_1d.parquet"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from cryptovol import files
        with files.store_lock(__import__("pathlib").Path({str(path)!r})):
            print("locked", flush=True)
            time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(files.StoreError, match="another cryptovol command has held its lock"), \
            files.store_lock(path, timeout=0.5):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with files.store_lock(path, timeout=30):  # the kernel released the dead holder's flock
        pass


def test_a_writer_killed_at_random_moments_leaves_one_complete_version(tmp_path):
    """A child rewrites a 2-million-row parquet over and over, alternating two versions; it is
    SIGKILLed at 10 moments. Each time the file reads back whole, as one of the versions."""
    path = tmp_path / "big.parquet"
    script = textwrap.dedent(f"""
        import itertools, pathlib, sys
        import numpy as np, pandas as pd
        from cryptovol import files
        path = pathlib.Path({str(path)!r})
        frames = [pd.DataFrame({{"v": np.full(2_000_000, k), "r": np.arange(2_000_000)}}) for k in (1, 2)]
        for i in itertools.count():
            files.write_parquet(frames[i % 2], path)
            print(i, flush=True)
        """)
    kills = 0
    for attempt in range(10):
        writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip().isdigit()  # at least one complete version exists
        time.sleep(0.05 + 0.13 * attempt)  # spread over the write cycle
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        kills += 1
        frame = pd.read_parquet(path)
        assert len(frame) == 2_000_000 and frame["v"].nunique() == 1 and frame["v"].iloc[0] in (1, 2)
    assert kills == 10
    temporaries = list(tmp_path.glob(".big.parquet.*.tmp"))  # left by SIGKILL mid-write
    with files.store_lock(path):
        assert files.remove_stale_temporaries(path) == len(temporaries)
