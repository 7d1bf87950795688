"""The expensive worlds of the suite, built once per session and shared (see CONTRIBUTING.md).

A test that only reads a world uses it as it is; a test that changes one works on a copy made
by :func:`copy_home`, which is a home of its own: its MLflow store points at its own artifacts
and its Feast registry at its own tables, and no server of the original is shared.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.flows.processes import CLI, SLOW, clean_env, family, run, wait_until_gone

# what a copy must not take over: running servers' records, locks, the Prefect API's database
# and BentoML's per-process folders
NOT_COPIED = shutil.ignore_patterns("server.json", ".*.lock", "prefect", "bentoml", "*.db-shm",
                                    "*.db-wal", "schedule.log", "serve.log")


TRAINING_STARTED = "for flow 'train'"  # the log line of the training flow's start
# a world is about plumbing, not model quality: the smallest walk-forward that still has a
# test block per fold and a gate
PLUMBING = {"CRYPTOVOL_FOLDS": "2"}


@dataclass(frozen=True)
class Stop:
    """A pipeline stopped in the middle of its training, and what the stop left behind."""

    signal: str
    returncode: int
    seconds: float  # from the signal to the exit
    output: str
    servers: list[str]  # the servers it had started (redis-server, the Prefect API)
    left: list[tuple[int, str]]  # processes still alive after the stop (should be none)


@dataclass(frozen=True)
class DemoWorld:
    """`cryptovol pipeline` on the bundled demo data, as on a bad day: stopped by SIGTERM in the
    middle of training, started again and killed by SIGKILL there, then run to the end in the
    same home (the embedded Redis and the SQLite registry, as `make run`)."""

    home: Path
    stdout: str  # what the completed run printed
    stops: list[Stop] = field(default_factory=list)
    left: list[tuple[int, str]] = field(default_factory=list)  # alive after the completed run


def build_demo_world(home: Path) -> DemoWorld:
    env = clean_env(home, **PLUMBING)
    stops = [_stop_in_training(home, env, sig) for sig in (signal.SIGTERM, signal.SIGKILL)]
    done = run(["pipeline"], env, timeout=900)
    assert done.returncode == 0, f"pipeline failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return DemoWorld(home, done.stdout, stops, wait_until_gone(home, 15))


def _stop_in_training(home: Path, env: dict[str, str], sig: signal.Signals) -> Stop:
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"pipeline-{sig.name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([CLI, "pipeline"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                text=True)
    deadline = time.monotonic() + 300 * SLOW
    while TRAINING_STARTED not in log.read_text():
        assert proc.poll() is None, f"pipeline ended before training:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, "training did not start in time"
        time.sleep(0.5)
    time.sleep(3)  # inside the walk-forward (LightGBM/CatBoost fits, GARCH baselines)
    running = family(home)
    proc.send_signal(sig)
    sent = time.monotonic()
    proc.wait(timeout=120 * SLOW)
    seconds = time.monotonic() - sent
    left = wait_until_gone(home, 20, running)
    return Stop(sig.name, proc.returncode, seconds, log.read_text(), list(running.values()), left)


def shared_world(name: str, tmp_path_factory, build):
    """``build(home)`` once for the whole session, whichever pytest-xdist worker asks first; the
    others wait on the lock and load what it returned. Without xdist: built here."""
    from filelock import FileLock

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.mktemp(name) / "home")
    root = tmp_path_factory.getbasetemp().parent  # shared by the session's workers
    done = root / f"{name}.pickle"
    with FileLock(str(root / f"{name}.lock")):
        if done.exists():
            return pickle.loads(done.read_bytes())
        world = build(root / name / "home")
        done.write_bytes(pickle.dumps(world))
        return world


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
