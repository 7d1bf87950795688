"""The stock `feast` CLI works on feature_repo/ given the environment `cryptovol env` prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cryptovol.settings import FEATURE_REPO_DIR, Settings
from feature_repo import ingest, jobs
from feature_repo import store as feast_store

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def test_feastignore_leaves_only_the_definitions_module():
    from feast.repo_operations import get_repo_files

    assert [p.name for p in get_repo_files(FEATURE_REPO_DIR)] == ["definitions.py"]


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_env_then_feast_plan_apply_materialize(tmp_path, redis_url):
    home = tmp_path / "home"
    settings = Settings(home=home, redis_url=redis_url, mlflow_tracking_uri=None)
    ingest.seed_demo(settings)
    jobs.build_features(settings)

    base_env = {**os.environ, "CRYPTOVOL_HOME": str(home), "REDIS_URL": redis_url}
    exports = _run([str(BIN / "cryptovol"), "env"], base_env, tmp_path)
    env = dict(base_env)
    for line in exports.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    assert env["CRYPTOVOL_HOME"] == str(home)

    feast = str(BIN / "feast")
    plan = _run([feast, "plan"], env, FEATURE_REPO_DIR)
    assert "vol_features_1d" in plan
    _run([feast, "apply"], env, FEATURE_REPO_DIR)
    # the last weeks are enough to put each coin's newest row online (the whole history is
    # what `cryptovol pipeline` materializes)
    _run([feast, "materialize", "2021-06-01T00:00:00", "2021-07-08T00:00:00"], env, FEATURE_REPO_DIR)

    store = feast_store.open_store(settings, redis_url)
    assert {fv.name for fv in store.list_feature_views()} == {"vol_features_1d"}
    online = feast_store.online_features(store, "vol_forecast_1d", ["ETH"])
    assert online["as_of"].iloc[0] == pd.Timestamp("2021-07-07", tz="UTC")
