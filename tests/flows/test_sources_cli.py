"""`cryptovol sources` as a user meets it: adding checks the exchange, listing shows each pair's
state, and every mistake is one line naming the field or the fix."""

from __future__ import annotations

import pytest

from cryptovol.redis_runtime import free_port
from tests.flows.processes import clean_env, run

pytestmark = pytest.mark.integration


def _error(out) -> str:
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and sum(x.startswith("error: ") for x in lines) == 1
    return lines[-1]


@pytest.mark.parametrize(("args", "message"), [
    (["sources", "add", "nosuch", "--pairs", "BTC/USDT", "--bar", "1h"],
     "error: source nosuch: 'nosuch' is not a ccxt exchange"),
    (["sources", "add", "binance", "--pairs", "BTCUSDT", "--bar", "1h"],
     "error: --pairs: Value error, 'BTCUSDT' is not a pair like BTC/USDT"),
    (["sources", "add", "binance", "--pairs", "BTC/USDT", "--bar", "2h"],
     "error: --bar: Value error, unknown bar size '2h'"),
    (["sources", "remove", "binance"], "error: no source named 'binance' in "),
    (["sources", "list"], "error: no source in "),
    (["pull", "--bar", "1h"], "error: no 1h source in "),
    (["stream", "--bar", "1h"], "error: no 1h source to stream in "),
])
def test_mistakes_are_one_line(tmp_path, args, message):
    assert _error(run(args, clean_env(tmp_path / "home"))).startswith(message)


def test_an_exchange_that_cannot_be_reached_is_named_with_the_way_out(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    line = _error(run(["sources", "add", "binance", "--pairs", "BTC/USDT", "--bar", "1h",
                       "--url", closed], clean_env(tmp_path / "home")))
    assert line.startswith("error: could not reach binance (NetworkError") and "--no-check" in line
    assert not (tmp_path / "home" / "sources.yaml").exists()
    saved = run(["sources", "add", "binance", "--pairs", "BTC/USDT", "--bar", "1h", "--url", closed,
                 "--no-check"], clean_env(tmp_path / "home"))
    assert saved.returncode == 0 and "source binance: binance BTC/USDT on 1h bars" in saved.stdout


def test_add_checks_markets_and_list_shows_which_source_features_use(tmp_path, fake):
    env = clean_env(tmp_path / "home")
    missing = run(["sources", "add", "binance", "--pairs", "BTC/USDT,XYZ/USDT", "--bar", "1h",
                   "--url", fake.url], env)
    assert "error: binance has no market XYZ/USDT (e.g. BNB/USDT, BTC/USDT" in _error(missing)
    assert run(["sources", "add", "binance", "--pairs", "BTC/USDT,ETH/USDT", "--bar", "1h",
                "--url", fake.url], env).returncode == 0
    second = run(["sources", "add", "binance", "--name", "mirror", "--pairs", "ETH/USDT,BNB/USDT",
                  "--bar", "1h", "--url", fake.url], env)
    assert second.returncode == 0
    assert "kept apart, not used for features: ETH (primary: binance)" in second.stdout
    listed = run(["sources", "list"], env)
    assert listed.returncode == 0
    rows = {tuple(cell.strip() for cell in line.split("│")[1:6]) for line in listed.stdout.splitlines()
            if line.startswith("│")}
    assert ("binance", "binance", "1h", "ETH/USDT", "ETH") in rows
    assert any(r[0] == "mirror" and r[3] == "ETH/USDT" for r in rows)
    assert "no (binance)" in listed.stdout and "not pulled yet" in listed.stdout
    made_primary = run(["sources", "add", "binance", "--name", "mirror", "--pairs", "ETH/USDT",
                        "--bar", "1h", "--url", fake.url, "--primary", "--replace"], env)
    assert made_primary.returncode == 0 and "kept apart" not in made_primary.stdout
