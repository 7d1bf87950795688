"""`cryptovol stack up` failures name the component and why, in one line, and leave nothing
running that `stack down` would not stop."""

from __future__ import annotations

import socket
import uuid

import pytest

from cryptovol.redis_runtime import free_port
from cryptovol.settings import Settings
from cryptovol.stack.config import Stack, StackSettings
from cryptovol.stack.databases import drop_databases
from tests.flows.processes import clean_env, processes_of, run
from tests.flows.test_loop_production import postgres_admin  # noqa: F401 - a fixture

pytestmark = pytest.mark.integration


def _one_line(out) -> str:
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def test_unreachable_postgres_is_named_with_the_password_masked(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "home"
    env = clean_env(home, CRYPTOVOL_STACK_POSTGRES=f"postgresql://admin:hunter2@127.0.0.1:{port}/postgres")
    line = _one_line(run(["stack", "up"], env, timeout=120))
    assert f"CRYPTOVOL_STACK_POSTGRES=postgresql://admin:***@127.0.0.1:{port}/postgres" in line
    assert "Connection refused" in line and "hunter2" not in line


def test_a_component_that_cannot_start_is_named_with_its_log(tmp_path, postgres_admin):  # noqa: F811
    home = tmp_path / "home"
    prefix = f"cvfail_{uuid.uuid4().hex[:8]}"
    ports = {name: free_port() for name in ("redis", "mlflow", "prefect", "service", "ui")}
    env = clean_env(home, CRYPTOVOL_STACK_POSTGRES=postgres_admin,
                    CRYPTOVOL_STACK_DATABASE_PREFIX=prefix,
                    **{f"CRYPTOVOL_STACK_{k.upper()}_PORT": str(v) for k, v in ports.items()})
    stack = Stack(Settings(home=home, redis_url=None),
                  StackSettings(postgres=postgres_admin, database_prefix=prefix))
    taken = socket.socket()
    taken.bind(("127.0.0.1", ports["mlflow"]))  # another server holds MLflow's port
    taken.listen()
    try:
        line = _one_line(run(["stack", "up"], env, timeout=600))
        assert line.startswith(f"error: stack up: mlflow cannot start: 127.0.0.1:{ports['mlflow']} is "
                               "already in use by another process — stop it or set "
                               "CRYPTOVOL_STACK_MLFLOW_PORT")
        assert "cryptovol stack down" in line  # what started keeps running, and how to stop it
        status = run(["stack", "status", "--json"], env, timeout=120)
        assert status.returncode == 1 and '"name": "redis"' in status.stdout
        down = run(["stack", "down"], env, timeout=300)
        assert down.returncode == 0 and "stopped" in down.stdout, down.stdout + down.stderr
        assert not processes_of(home)
    finally:
        taken.close()
        run(["stack", "down"], env, timeout=300)
        drop_databases(stack)
