"""The expensive worlds of the suite, built once per session and shared (see CONTRIBUTING.md).

A test that only reads a world uses it as it is; a test that changes one works on a copy made
by :func:`copy_home`, which is a home of its own: its MLflow store points at its own artifacts
and its Feast registry at its own tables, and no server of the original is shared.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

# what a copy must not take over: running servers' records, locks, the Prefect API's database
# and BentoML's per-process folders
NOT_COPIED = shutil.ignore_patterns("server.json", ".*.lock", "prefect", "bentoml", "*.db-shm",
                                    "*.db-wal", "schedule.log", "serve.log")


@dataclass(frozen=True)
class TrainedHome:
    """A home after a command that trained and registered a model, with what it printed."""

    home: Path
    stdout: str


def copy_home(src: Path, dst: Path, redis_url: str) -> Path:
    """A copy of the home ``src`` at ``dst`` that is a home of its own.

    MLflow's SQLite store holds absolute paths (artifact locations, model sources): they are
    rewritten to ``dst``. Feast's registry names the offline tables by path: the objects are
    applied again for ``dst`` (``redis_url``: any Redis; apply writes no online row)."""
    shutil.copytree(src, dst, ignore=NOT_COPIED)
    _rewrite_paths(dst / "mlflow" / "mlflow.db", str(src), str(dst))
    if (dst / "feast" / "registry.db").exists():
        from cryptovol.settings import Settings
        from feature_repo.store import apply, open_store

        for bar in {p.name.removeprefix("features_") for p in (dst / "features").glob("features_*")}:
            settings = Settings(home=dst, bar=bar, redis_url=redis_url, mlflow_tracking_uri=None)
            apply(open_store(settings, redis_url), settings)
    return dst


def _rewrite_paths(db: Path, old: str, new: str) -> None:
    if not db.exists():
        return
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for _, column, kind, *_ in conn.execute(f'PRAGMA table_info("{table}")').fetchall():
                if kind.upper().startswith(("VARCHAR", "TEXT", "CHAR")):
                    conn.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                                 f'WHERE "{column}" LIKE ?', (old, new, f"%{old}%"))
