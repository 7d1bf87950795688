"""The embedded Prefect API: started with a generous timeout, retried once, stopped after the
block, and a clear one-line error when it cannot start."""

from __future__ import annotations

import os

import httpx
import pytest

from cryptovol.prefect_api import PrefectUnavailable, prefect_api
from cryptovol.redis_runtime import free_port
from tests.flows.processes import SLOW

pytestmark = pytest.mark.integration


def test_embedded_api_answers_inside_the_block_and_is_gone_after(tmp_path):
    with prefect_api(None, tmp_path / "prefect", timeout=180 * SLOW) as url:
        assert os.environ["PREFECT_API_URL"] == url
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    assert "PREFECT_API_URL" not in os.environ or os.environ["PREFECT_API_URL"] != url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=5)
    assert (tmp_path / "prefect" / "prefect.db").exists()


def test_a_start_that_times_out_is_retried_then_named(tmp_path, caplog):
    with pytest.raises(PrefectUnavailable) as failure, \
            prefect_api(None, tmp_path / "prefect", timeout=0.01, attempts=2):
        pass
    message = str(failure.value)
    assert "did not answer within 0 s" in message and "CRYPTOVOL_PREFECT_STARTUP_TIMEOUT" in message
    assert str(tmp_path / "prefect" / "server.log") in message
    assert "Prefect API start 1 of 2 failed" in caplog.text


def test_a_configured_api_is_used_as_is_and_a_dead_one_is_named(tmp_path):
    with prefect_api(None, tmp_path / "embedded", timeout=180 * SLOW) as running, \
            prefect_api(running, tmp_path / "prefect") as url:
        assert url == running
    assert not (tmp_path / "prefect").exists()  # nothing started, nothing written
    dead = f"http://127.0.0.1:{free_port()}/api"
    with pytest.raises(PrefectUnavailable, match=f"PREFECT_API_URL={dead} does not answer; start"), \
            prefect_api(dead, tmp_path / "prefect"):
        pass
