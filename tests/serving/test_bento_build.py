"""`bentoml build` from the repository, as the README shows it: the Bento carries the service's
code, the project's dependencies from pyproject.toml (no requirements file by hand), and the
typed OpenAPI schema of /predict."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cryptovol.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def _uv_dir() -> str:
    """BentoML's build calls `uv`: the one on PATH, uv's own (`uv run` sets UV), or make's copy."""
    for candidate in (shutil.which("uv"), os.environ.get("UV"), REPO_ROOT / ".uv-bootstrap/bin/uv"):
        if candidate and Path(candidate).exists():
            return str(Path(candidate).parent)
    pytest.fail("no uv found (make env installs it into .uv-bootstrap/)")


def test_bentoml_build_packages_the_service(tmp_path):
    env = {**os.environ, "BENTOML_HOME": str(tmp_path), "BENTOML_DO_NOT_TRACK": "true",
           "PATH": f"{_uv_dir()}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run([str(Path(sys.executable).parent / "bentoml"), "build", "--output", "tag", "."],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    tag = out.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    name, version = tag.split(":")
    bento = tmp_path / "bentos" / name / version
    assert name == "cryptovol"
    assert (bento / "src" / "serving" / "service.py").exists()
    assert (bento / "src" / "training" / "package.py").exists()
    assert not (bento / "src" / "tests").exists()
    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    for package in ("feast[duckdb,redis]", "mlflow", "lightgbm", "catboost", "bentoml"):
        assert package in requirements
    spec = yaml.safe_load((bento / "bento.yaml").read_text())
    assert spec["service"] == "serving.service:VolatilityService"
    schema = str(spec["schema"])
    for field in ("intervals", "spike_probability", "feature_age_bars", "refuse_stale", "horizon"):
        assert field in schema
