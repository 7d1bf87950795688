"""The living loop end to end on the production profile, started natively by `cryptovol stack up`:
MLflow server, Feast SQL registry, Prefect server and the monitoring log in PostgreSQL, the
stack's own Redis, the schedule runner, the Bento service and the Evidently UI under supervisord.

The same scenario as the embedded test (tests/flows/loop_scenario.py); afterwards `stack down`
stops exactly what it started, and every store still holds what happened."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from cryptovol.redis_runtime import free_port
from cryptovol.settings import Settings
from cryptovol.stack import supervisor
from cryptovol.stack.config import Stack, StackSettings
from cryptovol.stack.databases import drop_databases
from monitoring import record_log
from tests.flows.loop_scenario import MODEL, Load, check_records, cli, drive, loop_env, start_receiver
from tests.flows.processes import processes_of
from tests.flows.regime import simulate

pytestmark = pytest.mark.integration
LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"  # this machine's server (trust auth)


@pytest.fixture(scope="module")
def postgres_admin(tmp_path_factory):
    """A PostgreSQL where the stack may create databases: CRYPTOVOL_TEST_POSTGRES, else the
    machine's server on 127.0.0.1:5432, else a private one from the pgserver wheel."""
    for url in filter(None, (os.environ.get("CRYPTOVOL_TEST_POSTGRES"), LOCAL)):
        try:
            psycopg.connect(url, connect_timeout=5).close()
            yield url
            return
        except psycopg.Error:
            continue
    import pgserver

    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


def _read_env_file(path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line
             and not line.startswith("#"))
    return {key: value.strip("'") for key, value in pairs}


def test_the_loop_runs_on_the_natively_started_production_stack(tmp_path, postgres_admin):
    home = tmp_path / "home"
    history, new = simulate()
    history.to_parquet(tmp_path / "history.parquet")
    ports = {name: free_port() for name in ("redis", "mlflow", "prefect", "service", "ui")}
    stack_settings = StackSettings(postgres=postgres_admin,
                                   database_prefix=f"cvtest_{uuid.uuid4().hex[:8]}",
                                   **{f"{name}_port": port for name, port in ports.items()})
    stack = Stack(Settings(home=home, redis_url=None, mlflow_tracking_uri=None), stack_settings)
    receiver = start_receiver()
    env = loop_env(home, receiver, CRYPTOVOL_STACK_POSTGRES=postgres_admin,
                   CRYPTOVOL_STACK_DATABASE_PREFIX=stack_settings.database_prefix,
                   **{f"CRYPTOVOL_STACK_{name.upper()}_PORT": str(p) for name, p in ports.items()})
    cli(["ingest", str(tmp_path / "history.parquet")], env)  # the candle store is files: no server
    load = Load(f"http://127.0.0.1:{ports['service']}")
    try:
        up = cli(["stack", "up"], env, timeout=2400)
        assert "pipeline: no @champion yet" in up.stderr and "ui: healthy" in up.stderr, up.stderr
        assert (stack.env_file.stat().st_mode & 0o777) == 0o600
        clients = {**env, **_read_env_file(stack.env_file)}
        assert clients["MLFLOW_TRACKING_URI"] == f"http://127.0.0.1:{ports['mlflow']}"
        status = cli(["stack", "status", "--json"], env)
        assert status.stdout.count('"healthy": true') == 6, status.stdout

        def schedule_alive():
            state = supervisor.processes(stack)["scheduler"]["statename"]
            assert state == "RUNNING", (stack.logs / "scheduler.log").read_text()[-3000:]

        drive(clients["PREFECT_API_URL"], load.url, home, new, clients, load, schedule_alive,
              stack.logs / "scheduler.log", receiver)
    finally:
        load.finish()
        down = cli(["stack", "down"], env, timeout=300)
        receiver.shutdown()
    try:
        assert "stopped mlflow, prefect, redis, scheduler, service, ui" in down.stdout, down.stdout
        assert not processes_of(home), "a process outlived `stack down`"
        load.assert_clean()
        assert f"now serving {MODEL} v2 (was v1)" in (stack.logs / "service.log").read_text()
        # what happened is in PostgreSQL, with every server stopped
        platform = Settings(home=home, database_url=stack.db_url("platform"))
        check_records(record_log.history(platform), stack.db_url("mlflow", "postgresql+psycopg"))
        assert not (home / "monitoring" / "monitor_1d.jsonl").exists()
        with psycopg.connect(stack.db_url("platform")) as conn:
            views = conn.execute("SELECT count(*) FROM feature_views").fetchone()[0]
            logged = conn.execute("SELECT count(*) FROM cryptovol_predictions").fetchone()[0]
        assert views >= 1 and logged >= len(load.statuses)  # Feast registry, prediction log
        with psycopg.connect(stack.db_url("prefect")) as conn:
            runs = conn.execute("SELECT d.name, f.state_type FROM flow_run f JOIN deployment d "
                                "ON f.deployment_id = d.id").fetchall()
        assert {"refresh-1d", "monitor-1d"} <= {name for name, state in runs if state == "COMPLETED"}
    finally:
        drop_databases(stack)
