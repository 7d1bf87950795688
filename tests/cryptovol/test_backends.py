"""Fail fast: a configured backend that does not answer stops the command at once, in one line
that names the setting, masks the password and says the server's own reason — before anything is
written. Real servers: a private PostgreSQL with password auth, closed ports on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest

from cryptovol.backends import BackendUnavailable, configured, first_reason, libpq_url, mask, preflight
from cryptovol.settings import Settings
from tests.flows.processes import clean_env, run

SECRET = "s3cr3t-Pw"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_mask_hides_only_the_password():
    assert mask(f"postgresql://cv:{SECRET}@db:5432/mlflow?sslmode=require") == \
        "postgresql://cv:***@db:5432/mlflow?sslmode=require"
    assert mask("redis://:hunter2@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert mask("postgresql://postgres@127.0.0.1/x") == "postgresql://postgres@127.0.0.1/x"
    assert mask("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert libpq_url("postgresql+psycopg://u:p@h/d") == "postgresql://u:p@h/d"


def test_libpq_preamble_is_reduced_to_the_reason():
    refused = ('connection failed: connection to server at "127.0.0.1", port 1 failed: '
               "Connection refused\n\tIs the server running on that host?")
    assert first_reason(refused) == "Connection refused"
    assert first_reason('connection failed: ... failed: FATAL:  database "nope" does not exist') == \
        'database "nope" does not exist'


def test_only_configured_backends_are_checked(tmp_path):
    embedded = Settings(home=tmp_path, redis_url=None, mlflow_tracking_uri=None, prefect_api_url=None)
    assert configured(embedded) == []
    preflight(embedded)  # nothing to check, nothing raised
    s = Settings(home=tmp_path, mlflow_tracking_uri="http://127.0.0.1:5000/", redis_url="redis://h:1",
                 prefect_api_url="http://127.0.0.1:4200/api", database_url="postgresql://u@h/d")
    assert [(b.setting, b.kind, b.url) for b in configured(s)] == [
        ("MLFLOW_TRACKING_URI", "http", "http://127.0.0.1:5000/health"),
        ("CRYPTOVOL_DATABASE_URL", "postgresql", "postgresql://u@h/d"),
        ("REDIS_URL", "redis", "redis://h:1"),
        ("PREFECT_API_URL", "http", "http://127.0.0.1:4200/api/health")]


@pytest.fixture(scope="module")
def password_postgres(tmp_path_factory):
    """A private PostgreSQL that checks passwords (scram-sha-256) on its socket."""
    import pgserver

    folder = tmp_path_factory.mktemp("pgauth")
    server = pgserver.get_server(str(folder), cleanup_mode="stop")
    server.psql(f"ALTER USER postgres PASSWORD '{SECRET}';")
    hba = folder / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("trust", "scram-sha-256"))
    server.psql("SELECT pg_reload_conf();")
    socket_dir = server.get_uri().split("host=", 1)[1]
    yield lambda password, db="postgres": f"postgresql://postgres:{password}@/{db}?host={socket_dir}"
    server.cleanup()


@pytest.mark.integration
def test_right_password_passes_and_wrong_one_is_named_masked(password_postgres, tmp_path):
    preflight(Settings(home=tmp_path, mlflow_tracking_uri=password_postgres(SECRET)))
    with pytest.raises(BackendUnavailable) as wrong:
        preflight(Settings(home=tmp_path, mlflow_tracking_uri=password_postgres("wrong-pw")))
    message = str(wrong.value)
    assert message.startswith("MLFLOW_TRACKING_URI=postgresql://postgres:***@/postgres?host=")
    assert 'password authentication failed for user "postgres"' in message
    assert "wrong-pw" not in message and "\n" not in message


def _fails_fast(env: dict[str, str], home, setting: str, reason: str) -> str:
    started = time.monotonic()
    out = run(["pipeline"], env, timeout=300)
    took = time.monotonic() - started
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"error: {setting}=") and reason in lines[0], lines[0]
    assert SECRET not in out.stdout + out.stderr and "Traceback" not in out.stderr
    assert not home.exists(), "nothing may be written before the backends answer"
    assert took < 120, f"{setting}: {took:.0f} s is not failing fast"  # generous: a busy machine
    return lines[0]


@pytest.mark.integration
def test_pipeline_with_a_wrong_password_fails_at_start_writing_nothing(password_postgres, tmp_path):
    home = tmp_path / "home"
    env = clean_env(home, MLFLOW_TRACKING_URI=password_postgres(SECRET, db="mlflow"))
    _fails_fast(env, home, "MLFLOW_TRACKING_URI", 'database "mlflow" does not exist')
    env = clean_env(home, MLFLOW_TRACKING_URI=password_postgres("nope" + SECRET))
    line = _fails_fast(env, home, "MLFLOW_TRACKING_URI", "password authentication failed")
    assert "postgres:***@" in line
    env = clean_env(home, CRYPTOVOL_DATABASE_URL=password_postgres("nope" + SECRET))
    _fails_fast(env, home, "CRYPTOVOL_DATABASE_URL", "password authentication failed")
    env = clean_env(home, CRYPTOVOL_DATABASE_URL=password_postgres(SECRET, db="platform"))
    _fails_fast(env, home, "CRYPTOVOL_DATABASE_URL", 'database "platform" does not exist')


@pytest.mark.integration
@pytest.mark.parametrize("setting,url,reason", [
    ("REDIS_URL", "redis://:{secret}@127.0.0.1:{port}/0", "Connection refused"),
    ("PREFECT_API_URL", "http://127.0.0.1:{port}/api", "refused"),
    ("MLFLOW_TRACKING_URI", "http://127.0.0.1:{port}", "refused"),
    ("CRYPTOVOL_PREDICTION_LOG_URL", "postgresql://cv:{secret}@127.0.0.1:{port}/logs", "refused"),
])
def test_each_unreachable_backend_is_named(tmp_path, setting, url, reason):
    home = tmp_path / "home"
    env = clean_env(home, **{setting: url.format(secret=SECRET, port=_closed_port())})
    _fails_fast(env, home, setting, reason)
