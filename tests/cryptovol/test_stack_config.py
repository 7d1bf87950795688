"""What `cryptovol stack up` would run: the order, the ports, and no credential in any file but
the clients' 0600 stack.env."""

from __future__ import annotations

from cryptovol.settings import Settings
from cryptovol.stack.config import Stack, StackSettings
from cryptovol.stack.supervisor import render_config, socket_path

PASSWORD = "pg-Secret-42"


def _stack(tmp_path, **settings) -> Stack:
    stack = StackSettings(postgres=f"postgresql://admin:{PASSWORD}@db.internal:5433/postgres",
                          database_prefix="cvx", mlflow_port=15000, prefect_port=14200,
                          service_port=13000, ui_port=18000, redis_port=16380)
    settings = {"redis_url": None, "mlflow_tracking_uri": None, **settings}
    return Stack(Settings(home=tmp_path / "home", **settings), stack)


def test_components_start_in_dependency_order_on_the_configured_ports(tmp_path):
    stack = _stack(tmp_path)
    components = stack.components()
    assert [c.name for c in components] == ["redis", "mlflow", "prefect", "scheduler", "service", "ui"]
    assert [c.url for c in components] == [
        "redis://127.0.0.1:16380/0", "http://127.0.0.1:15000", "http://127.0.0.1:14200",
        "http://127.0.0.1:14200/deployments", "http://127.0.0.1:13000", "http://127.0.0.1:18000"]
    env = stack.client_environment()
    assert env["CRYPTOVOL_DATABASE_URL"] == f"postgresql://admin:{PASSWORD}@db.internal:5433/cvx"
    assert env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:15000"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:14200/api"
    assert env["CRYPTOVOL_SERVICE_URL"] == "http://127.0.0.1:13000"  # `cryptovol predict` finds it
    server = stack.server_environment()
    assert server["CRYPTOVOL_STACK_MLFLOW_BACKEND"].startswith("postgresql+psycopg://admin:")
    assert server["CRYPTOVOL_STACK_MLFLOW_BACKEND"].endswith("@db.internal:5433/cvx_mlflow")
    assert server["PREFECT_SERVER_DATABASE_CONNECTION_URL"].endswith("/cvx_prefect")


def test_an_external_redis_is_used_not_started(tmp_path):
    stack = _stack(tmp_path, redis_url="redis://127.0.0.1:6399/2")
    assert [c.name for c in stack.components()][0] == "mlflow"
    assert stack.client_environment()["REDIS_URL"] == "redis://127.0.0.1:6399/2"


def test_supervisor_config_holds_no_credential(tmp_path):
    stack = _stack(tmp_path)
    config = render_config(stack, stack.components())
    assert PASSWORD not in config and "admin:" not in config
    assert "[program:mlflow]" in config and '"$CRYPTOVOL_STACK_MLFLOW_BACKEND"' in config
    assert config.count("stopasgroup=true") == 6 and config.count("autorestart=true") == 6
    assert f"file={socket_path(stack)}" in config


def test_a_long_home_gets_a_socket_path_that_fits(tmp_path):
    deep = tmp_path / ("d" * 120)
    stack = Stack(Settings(home=deep, redis_url=None), StackSettings())
    assert len(str(socket_path(stack))) < 100 and str(socket_path(stack)).startswith("/tmp/cryptovol-")


def test_exchange_sources_add_the_streamer_and_the_pull_deployment(tmp_path):
    stack = _stack(tmp_path)
    stack.settings.home.mkdir(parents=True)
    stack.settings.sources_path.write_text(
        "sources:\n  - {name: binance, exchange: binance, bar: 1d, pairs: [BTC/USDT]}\n"
        "  - {name: okx, exchange: okx, bar: 1h, pairs: [ETH/USDT]}\n")
    components = {c.name: c for c in stack.components()}
    assert list(components) == ["redis", "mlflow", "prefect", "scheduler", "streamer", "service", "ui"]
    assert components["streamer"].command[-1] == "stream"
    assert components["streamer"].url == "redis://127.0.0.1:16380/0 stream cryptovol:bars:1d"
    assert components["scheduler"].health.args[-1] is True  # expects pull-1d too
    hourly = _stack(tmp_path, bar="1h")
    assert "streamer" in [c.name for c in hourly.components()]
    stack.settings.sources_path.write_text(
        "sources:\n  - {name: binance, exchange: binance, bar: 1d, pairs: [BTC/USDT], stream: false}\n")
    assert "streamer" not in [c.name for c in stack.components()]
    assert stack.components()[3].health.args[-1] is True  # pulled on schedule, not streamed
